"""Seaborn figures shared by the notebooks and the report.

Every function takes results that were already computed (a confusion matrix, a
training history, counts, flat metrics) and returns a :class:`matplotlib.figure.Figure`;
nothing here computes a metric beyond normalising what it is given for display.

Figures are made without pyplot (``Figure`` and ``fig.subplots``): nothing is
registered globally, so a long search never accumulates open figures, and a notebook
shows a figure exactly once, with ``display(fig)`` or as a cell's last value.
:func:`render_png` draws a figure once for a notebook that both shows it and logs it.
"""

from __future__ import annotations

import io
import json
import math
import struct
import textwrap
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import colors as matplotlib_colors
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text

PER_CLASS_METRICS = ("precision", "recall", "f1_score")
_METRIC_LABELS = {"precision": "precision", "recall": "recall", "f1_score": "F1"}
BEST_EPOCH_GID = "best_epoch"


class RenderedFigure:
    """A figure drawn once, as PNG bytes (``png``), as Jupyter draws a figure it shows.

    ``display`` shows it (``_repr_png_``) and :func:`tennis_lab.tracking.log_training_run`
    logs the same bytes: drawing a figure costs 0.15-0.3 s, which a run would otherwise
    pay twice for every figure it both shows and logs.
    """

    def __init__(self, png: bytes, size: tuple[int, int]) -> None:
        self.png = png
        self.size = size  # pixels: width, height

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return f"<figure: {self.size[0]}x{self.size[1]} PNG>"


def render_png(figure: Figure) -> RenderedFigure:
    """Draw ``figure`` as Jupyter's inline backend does (PNG at the figure's dpi, the
    bounding box tight around what is drawn, its face and edge colours)."""
    buffer = io.BytesIO()
    figure.savefig(
        buffer, format="png", dpi=figure.dpi, bbox_inches="tight",
        facecolor=figure.get_facecolor(), edgecolor=figure.get_edgecolor(),
    )  # fmt: skip
    png = buffer.getvalue()
    width, height = struct.unpack(">II", png[16:24])  # the PNG header's IHDR chunk
    return RenderedFigure(png, (width, height))


def _crowded(labels: Sequence[str]) -> bool:
    """Whether x tick labels need rotating to stay readable."""
    return len(labels) > 6 or sum(len(str(s)) for s in labels) > 48


def _rotate_xticks(ax: Axes, labels: Sequence[str]) -> None:
    if _crowded(labels):
        ax.tick_params(axis="x", labelrotation=40)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")


def confusion_matrix_figure(
    confusion: np.ndarray,
    classes: Sequence[str],
    normalize: bool = True,
    title: str | None = None,
) -> Figure:
    """Heatmap of a confusion matrix, true classes on y and predictions on x.

    Parameters
    ----------
    confusion : array-like of int, shape (n_classes, n_classes)
        Counts; rows are true classes, columns predictions (as
        ``RunResult.confusion``).
    classes : sequence of str
        Class names in row/column order.
    normalize : bool
        True: colour each cell by its share of the true class (recall along the
        diagonal) and annotate it with that percentage and the raw count. A class
        without support shows 0 % in its row. False: colour and annotate raw counts.
    title : str, optional
        Defaults to "Confusion matrix".

    Returns
    -------
    matplotlib.figure.Figure
        One heatmap axes and its colour bar.
    """
    counts = np.asarray(confusion)
    classes = [str(c) for c in classes]
    n = len(classes)
    if counts.ndim != 2 or counts.shape != (n, n):
        raise ValueError(
            f"confusion must be square with one row and column per class; got shape "
            f"{counts.shape} for {n} classes {classes}."
        )
    if normalize:
        support = counts.sum(axis=1, keepdims=True)
        values = np.divide(
            counts, support, out=np.zeros(counts.shape, dtype=float), where=support > 0
        )
        annot = np.array(
            [
                [f"{100 * values[i, j]:.0f}%\n({int(counts[i, j])})" for j in range(n)]
                for i in range(n)
            ]
        )
        vmax, cbar_label = 1.0, "share of true class (recall on the diagonal)"
    else:
        values = counts.astype(float)
        annot = np.array([[f"{int(counts[i, j])}" for j in range(n)] for i in range(n)])
        vmax, cbar_label = max(float(values.max(initial=0.0)), 1.0), "windows"

    size = (max(6.0, 1.1 * n + 2.5), max(5.0, 0.9 * n + 2.0))
    with sns.axes_style("white"):
        fig = Figure(figsize=size)
        ax = fig.subplots()
    sns.heatmap(
        values,
        annot=annot,
        fmt="",
        cmap="Blues",
        vmin=0.0,
        vmax=vmax,
        square=True,
        linewidths=0.5,
        xticklabels=classes,
        yticklabels=classes,
        cbar_kws={"label": cbar_label},
        ax=ax,
    )
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.tick_params(axis="y", labelrotation=0)
    _rotate_xticks(ax, classes)
    ax.set_title(title or "Confusion matrix")
    fig.tight_layout()
    return fig


def learning_curves_figure(
    history: Mapping[str, Sequence[float]], title: str | None = None, first_epoch: int = 0
) -> Figure:
    """Per-epoch training curves, one panel per quantity, epochs counted from 1.

    Parameters
    ----------
    history : mapping of str to sequence of float
        Keras-style history (as ``RunResult.history``): any of ``loss``,
        ``val_loss``, ``accuracy``, ``val_accuracy``, ``learning_rate``; other keys
        are ignored. A panel is drawn for loss (``loss``/``val_loss``), accuracy
        (``accuracy``/``val_accuracy``) and, on a log scale, ``learning_rate``, each
        only when one of its keys is present. The epoch of the lowest ``val_loss``
        (whose weights early stopping restores) is marked by a vertical line in
        every panel.
    title : str, optional
        Figure title; defaults to "Learning curves".
    first_epoch : int
        Epochs trained before this history (a run continued from a checkpoint): its
        first value is epoch ``first_epoch + 1``.

    Returns
    -------
    matplotlib.figure.Figure
        One to three axes, sharing the epoch axis, titled "Loss", "Accuracy" and
        "Learning rate".

    Raises
    ------
    ValueError
        When ``history`` holds none of those keys.
    """
    panels = [
        (name, [(key, label) for key, label in keys if len(history.get(key, ()))])
        for name, keys in (
            ("Loss", (("loss", "train"), ("val_loss", "validation"))),
            ("Accuracy", (("accuracy", "train"), ("val_accuracy", "validation"))),
            ("Learning rate", (("learning_rate", "learning rate"),)),
        )
    ]
    panels = [(name, keys) for name, keys in panels if keys]
    if not panels:
        raise ValueError(
            "history has no loss, val_loss, accuracy, val_accuracy or learning_rate values; "
            f"got keys {sorted(history)}."
        )
    ratios = [1.5 if name == "Learning rate" else 2.5 for name, _ in panels]
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(8.5, 1.2 + 1.8 * sum(ratios) / 2.5))
        axes = fig.subplots(
            len(panels),
            1,
            sharex=True,
            squeeze=False,
            gridspec_kw={"height_ratios": ratios},
        )
    axes = axes[:, 0]

    best = None
    val_loss = np.asarray(history.get("val_loss", ()), dtype=float)
    if val_loss.size and not np.isnan(val_loss).all():
        i = int(np.nanargmin(val_loss))
        best = (first_epoch + i + 1, float(val_loss[i]))

    palette = sns.color_palette()
    for ax, (name, keys) in zip(axes, panels, strict=True):
        for k, (key, label) in enumerate(keys):
            values = np.asarray(history[key], dtype=float)
            epochs = np.arange(first_epoch + 1, first_epoch + values.size + 1)
            style = {"drawstyle": "steps-post"} if key == "learning_rate" else {"marker": "."}
            color = palette[2] if key == "learning_rate" else palette[k]
            ax.plot(epochs, values, label=label, color=color, **style)
        if name == "Learning rate":
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0), numticks=4))
            ax.yaxis.set_minor_locator(ticker.NullLocator())
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.0e}"))
            ax.margins(y=0.25)
        elif name == "Accuracy":
            ax.set_ylim(0.0, 1.02)
        if best is not None:
            ax.axvline(
                best[0],
                color="0.3",
                linestyle="--",
                linewidth=1,
                gid=BEST_EPOCH_GID,
                label=(
                    f"best epoch {best[0]} (val_loss {best[1]:.3g})"
                    if ax is axes[0]
                    else "_nolegend_"
                ),
            )
        ax.set_title(name)
        ax.set_ylabel(name.lower())
        if name != "Learning rate":  # beside the axes: a legend inside hides the curves
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    axes[-1].set_xlabel("epoch")
    axes[-1].xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title or "Learning curves")
    fig.tight_layout()
    return fig


def _grouped_bars(
    df: pd.DataFrame,
    x: str,
    y: str,
    hue: str,
    order: Sequence[str],
    hue_order: Sequence[str],
    fmt: str,
) -> tuple[Figure, Axes]:
    """A seaborn grouped bar chart of a tidy frame, one bar per (x, hue), values on top."""
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(max(6.0, 0.35 * len(order) * len(hue_order) + 3.0), 4.5))
        ax = fig.subplots()
    sns.barplot(
        data=df,
        x=x,
        y=y,
        hue=hue,
        order=list(order),
        hue_order=list(hue_order),
        errorbar=None,
        ax=ax,
    )
    for container in ax.containers:
        ax.bar_label(container, fmt=fmt, fontsize="x-small", padding=1)
    _rotate_xticks(ax, order)
    ax.legend(title=hue, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig, ax


def class_counts_figure(
    counts_by_split: Mapping[str, Mapping[str, int]], title: str | None = None
) -> Figure:
    """Grouped bar chart of windows per class in each split, to show class balance.

    Parameters
    ----------
    counts_by_split : mapping of str to mapping of str to int
        Split name (e.g. ``train``, ``val``, ``test``) to class name to window count,
        as ``RunResult.data["train_class_counts"]`` and friends. Splits keep their
        order; classes appear in first-seen order; a class missing from a split
        counts 0 there.
    title : str, optional
        Defaults to "Windows per class".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: classes on x, one bar per split (in split order) per class, each
        labelled with its count.
    """
    if not counts_by_split:
        raise ValueError("counts_by_split is empty; pass at least one split's class counts.")
    splits = [str(s) for s in counts_by_split]
    classes = list(dict.fromkeys(str(c) for counts in counts_by_split.values() for c in counts))
    if not classes:
        raise ValueError("counts_by_split has no classes in any split.")
    df = pd.DataFrame(
        [
            {"split": str(split), "class": c, "windows": int(counts.get(c, 0))}
            for split, counts in counts_by_split.items()
            for c in classes
        ]
    )
    fig, ax = _grouped_bars(df, "class", "windows", "split", classes, splits, "%d")
    ax.set_xlabel("class")
    ax.set_ylabel("windows")
    ax.set_title(title or "Windows per class")
    fig.tight_layout()
    return fig


def per_class_figure(
    metrics: Mapping[str, float], classes: Sequence[str], title: str | None = None
) -> Figure:
    """Bars of precision, recall and F1 for each class.

    Parameters
    ----------
    metrics : mapping of str to float
        Flat metric names (as ``RunResult.metrics``): ``<class>_precision``,
        ``<class>_recall`` and ``<class>_f1_score`` for every class; other keys are
        ignored.
    classes : sequence of str
        Class names, in the order drawn.
    title : str, optional
        Defaults to "Precision, recall and F1 per class".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: classes on x, three bars per class (precision, recall, F1, in that
        order), each labelled with its value; y from 0 to 1.

    Raises
    ------
    ValueError
        When a class lacks one of the three metrics; the message lists them.
    """
    classes = [str(c) for c in classes]
    if not classes:
        raise ValueError("classes is empty; pass the class names whose metrics to draw.")
    missing = [f"{c}_{m}" for c in classes for m in PER_CLASS_METRICS if f"{c}_{m}" not in metrics]
    if missing:
        raise ValueError(f"metrics lacks {missing}; expected <class>_precision/_recall/_f1_score.")
    df = pd.DataFrame(
        [
            {"class": c, "metric": _METRIC_LABELS[m], "score": float(metrics[f"{c}_{m}"])}
            for c in classes
            for m in PER_CLASS_METRICS
        ]
    )
    hue_order = [_METRIC_LABELS[m] for m in PER_CLASS_METRICS]
    fig, ax = _grouped_bars(df, "class", "score", "metric", classes, hue_order, "%.2f")
    ax.set_ylim(0.0, 1.1)
    ax.set_xlabel("class")
    ax.set_ylabel("score")
    ax.set_title(title or "Precision, recall and F1 per class")
    fig.tight_layout()
    return fig


HANDEDNESS_COLORS = {"right": "tab:blue", "left": "tab:orange", "mixed": "tab:purple"}
UNKNOWN_COLOR = "tab:gray"


def group_scores_figure(groups: Sequence[Mapping], title: str | None = None) -> Figure:
    """Horizontal bars of each group's macro F1 on its test strokes, worst at the top.

    Parameters
    ----------
    groups : sequence of mapping
        As ``RunResult.groups``: ``group``, ``macro_f1``, ``strokes`` and optionally
        ``handedness`` (bars are coloured by it) and ``fold``.
    title : str, optional
        Defaults to "Macro F1 per group (test strokes)".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: a bar per group labelled with its score and stroke count, a
        dashed line at the mean over groups; x from 0 to 1.
    """
    rows = [dict(g) for g in groups]
    if not rows:
        raise ValueError("groups is empty; there are no test strokes to draw.")
    for row in rows:
        for key in ("group", "macro_f1", "strokes"):
            if key not in row:
                raise ValueError(f"every group needs 'group', 'macro_f1' and 'strokes'; got {row}.")
    rows.sort(key=lambda r: (float(r["macro_f1"]), str(r["group"])))
    names = [str(r["group"]) + (f" (fold {r['fold']})" if r.get("fold") else "") for r in rows]
    scores = np.array([float(r["macro_f1"]) for r in rows])
    colors = [HANDEDNESS_COLORS.get(str(r.get("handedness")), UNKNOWN_COLOR) for r in rows]
    fig = Figure(figsize=(8.5, max(2.2, 0.38 * len(rows) + 1.2)))
    ax = fig.subplots()
    positions = np.arange(len(rows))
    ax.barh(positions, scores, color=colors)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    for y, (score, row) in enumerate(zip(scores, rows, strict=True)):
        ax.text(min(score, 0.86) + 0.01, y, f"{score:.2f}  ({row['strokes']} strokes)",
                va="center", fontsize=8)  # fmt: skip
    mean = float(np.nanmean(scores))
    ax.axvline(mean, color="black", linestyle="--", linewidth=1)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("macro F1 (test strokes)")
    handles = [
        Patch(color=c, label=h) for h, c in HANDEDNESS_COLORS.items()
        if any(str(r.get("handedness")) == h for r in rows)
    ]  # fmt: skip
    if any(str(r.get("handedness")) not in HANDEDNESS_COLORS for r in rows):
        handles.append(Patch(color=UNKNOWN_COLOR, label="handedness unknown"))
    handles.append(ax.lines[-1])
    ax.lines[-1].set_label(f"mean {mean:.2f}")
    # beside the bars, not over them (the best groups' bars reach 1.0)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(title or "Macro F1 per group (test strokes)")
    fig.tight_layout()
    return fig


# --- timeline of a recording ------------------------------------------------------------

DETECTED_GID = "detected"
ANNOTATED_GID = "annotated"
UNCOVERED_GID = "uncovered"
NOTE_GID = "note"  # a caveat about the model, above the plot
CAPTION_GID = "caption"  # what the probabilities and percentages are, below it
NOTE_COLOR = "#a50f15"
IDLE_COLOR = "0.6"
TIMELINE_MAX_WIDTH = 16.0  # inches: a long recording is compressed, not ever wider
_SPAN_ALPHA = 0.75
_TEXT_LINE_INCHES = 0.15  # one line of fontsize "small" text, with its spacing
_CHARS_PER_INCH = 14  # of fontsize "small" text: where long notes wrap
PROBABILITY_CAPTION = (
    "Lines: each frame's class probabilities, the model's softmax output averaged over "
    "the windows that cover the frame."
)
CONFIDENCE_CAPTION = (
    "Percentages: a detected stroke's confidence, the mean probability of its class over "
    "its frames."
)
SCORES_CAPTION = "Both are the model's own scores, not calibrated probabilities."


def _class_colors(classes: Sequence[str], idle: str | None) -> dict[str, tuple]:
    """One colour per class, the same in every panel; the idle class grey."""
    strokes = [c for c in classes if c != idle]
    palette = (
        sns.color_palette(n_colors=len(strokes))
        if len(strokes) <= 10
        else sns.color_palette("husl", len(strokes))
    )
    colors = dict(zip(strokes, palette, strict=True))
    return {c: matplotlib_colors.to_rgb(IDLE_COLOR) if c == idle else colors[c] for c in classes}


def _check_events(events: object, name: str, n_classes: int, n_frames: int) -> dict:
    """``events`` (``start``, ``end``, ``label``, optional ``confidence``) as checked arrays."""
    if not isinstance(events, Mapping) or not {"start", "end", "label"} <= set(events):
        keys = sorted(events) if isinstance(events, Mapping) else type(events).__name__
        raise ValueError(
            f"{name} must be a mapping with arrays 'start', 'end' and 'label' (as "
            f"detect_strokes returns); got {keys}."
        )
    out = {k: np.asarray(events[k]).reshape(-1) for k in ("start", "end", "label")}
    if "confidence" in events and events["confidence"] is not None:
        out["confidence"] = np.asarray(events["confidence"], dtype=float).reshape(-1)
    sizes = {k: len(v) for k, v in out.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"{name} arrays must have one entry per stroke; got lengths {sizes}.")
    for key in ("start", "end", "label"):
        if len(out[key]) and not np.issubdtype(out[key].dtype, np.integer):
            raise ValueError(f"{name}[{key!r}] must hold whole numbers; got {out[key].dtype}.")
        out[key] = out[key].astype(np.int64)
    bad = np.flatnonzero((out["label"] < 0) | (out["label"] >= n_classes))
    if len(bad):
        raise ValueError(
            f"{name}['label'][{bad[0]}] = {out['label'][bad[0]]} is not a class code "
            f"0..{n_classes - 1}; pass codes indexing classes."
        )
    bad = np.flatnonzero((out["start"] < 0) | (out["end"] <= out["start"]))
    bad = bad if len(bad) else np.flatnonzero(out["end"] > n_frames)
    if len(bad):
        i = bad[0]
        raise ValueError(
            f"{name} stroke {i} spans frames [{out['start'][i]}, {out['end'][i]}), not a "
            f"non-empty range within the {n_frames} frames of frame_probs; pass the same "
            "recording's strokes."
        )
    return out


def _runs(mask: np.ndarray) -> np.ndarray:
    """(n, 2) half-open index ranges of the runs of True in ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.column_stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)])


def _stroke_band(
    ax: Axes, events: dict, name: str, gid: str, classes: Sequence[str], colors: dict, fps: float
) -> list[tuple]:
    """Draw one band of stroke spans; return the labels to place once the layout is known.

    Each label may use its span plus half the gap to each neighbouring span (to the
    axes' edge for the first and last), so neighbouring labels never collide.
    """
    n = len(events["start"])
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([0.5], [f"{name}\n{n} stroke{'' if n == 1 else 's'}"])
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)
    if not n:
        ax.text(0.5, 0.5, "no strokes", transform=ax.transAxes, ha="center", va="center",
                fontsize="small", color="0.4", gid=gid)  # fmt: skip
        return []
    order = np.argsort(events["start"], kind="stable")
    x0 = events["start"][order] / fps
    x1 = events["end"][order] / fps
    gaps = (x0[1:] + x1[:-1]) / 2
    lo = np.minimum(x0, np.concatenate(([-np.inf], gaps)))
    hi = np.maximum(x1, np.concatenate((gaps, [np.inf])))
    confidence = events.get("confidence")
    labels = []
    for k, i in enumerate(order):
        label = classes[events["label"][i]]
        ax.add_patch(
            Rectangle(
                (x0[k], 0.1),
                x1[k] - x0[k],
                0.8,
                facecolor=colors[label],
                alpha=_SPAN_ALPHA,
                linewidth=0,
                gid=gid,
            )
        )
        texts = [label]
        if confidence is not None and np.isfinite(confidence[i]):
            texts.insert(0, f"{label}\n{confidence[i]:.0%}")
        labels.append((ax, x0[k], x1[k], lo[k], hi[k], texts, gid))
    return labels


def _place_labels(labels: Sequence[tuple]) -> None:
    """Label each span with the first of its texts that fits its room, or not at all."""
    for ax, x0, x1, lo, hi, texts, gid in labels:
        box = ax.get_window_extent()
        centre = ax.transData.transform([((x0 + x1) / 2, 0.5)])[0, 0]
        edges = ax.transData.transform([(lo, 0.5), (hi, 0.5)])[:, 0]
        half = min(centre - max(edges[0], box.x0), min(edges[1], box.x1) - centre) - 2
        if half < 6:  # too narrow for any text: skip the measuring
            continue
        text = ax.text((x0 + x1) / 2, 0.5, texts[0], ha="center", va="center",
                       fontsize="x-small", linespacing=1.0, gid=gid)  # fmt: skip
        text.set_in_layout(False)
        for candidate in texts:
            text.set_text(candidate)
            extent = text.get_window_extent()
            if extent.width / 2 <= half and extent.height <= 0.95 * box.height:
                break
        else:
            text.remove()


def _wrap(text: str, width_inches: float) -> str:
    """``text`` wrapped to the figure's width, each paragraph (line) on its own."""
    width = max(40, int(width_inches * _CHARS_PER_INCH))
    return "\n".join(textwrap.fill(p, width) for p in text.splitlines() if p.strip())


def _timeline_caption(bands: Sequence[tuple]) -> str:
    """What the lines (and the percentages, when any band shows them) are."""
    shown = any("confidence" in events for _, events, _ in bands)
    return " ".join([PROBABILITY_CAPTION, *([CONFIDENCE_CAPTION] if shown else []), SCORES_CAPTION])


def _add_texts(fig: Figure, note: str | None, caption: str) -> tuple[float, float]:
    """Grow ``fig`` for the note (top) and the caption (bottom); return their fractions."""
    width = fig.get_figwidth()
    note = _wrap(note, width) if note else ""
    caption = _wrap(caption, width)
    top = (note.count("\n") + 1) * _TEXT_LINE_INCHES + 0.05 if note else 0.0
    bottom = (caption.count("\n") + 1) * _TEXT_LINE_INCHES + 0.05
    height = fig.get_figheight() + top + bottom
    fig.set_figheight(height)
    if note:
        fig.text(0.01, 1 - 0.05 / height, note, ha="left", va="top", fontsize="small",
                 color=NOTE_COLOR, fontweight="bold", gid=NOTE_GID)  # fmt: skip
    fig.text(0.01, 0.03 / height, caption, ha="left", va="bottom", fontsize="small",
             color="0.3", gid=CAPTION_GID)  # fmt: skip
    return top / height, bottom / height


def timeline_figure(
    frame_probs: np.ndarray,
    classes: Sequence[str],
    fps: float,
    detected: Mapping[str, np.ndarray] | None = None,
    annotated: Mapping[str, np.ndarray] | None = None,
    title: str | None = None,
    idle: str | None = "idle",
    note: str | None = None,
) -> Figure:
    """A recording's class probabilities over time, with its detected and annotated strokes.

    Parameters
    ----------
    frame_probs : array-like (frames, classes)
        Each frame's class probabilities (as ``evaluation.frame_probabilities``); NaN
        rows (frames no window covers) are gaps in the lines.
    classes : sequence of str
        Class names in column order.
    fps : float
        Frames per second: frame i is drawn at ``i / fps`` seconds.
    detected, annotated : mapping, optional
        Strokes as ``evaluation.detect_strokes`` returns them: int arrays ``start``,
        ``end`` (half-open frame range) and ``label`` (class code), and optionally
        ``confidence``. Each one given gets a band of coloured spans (gid
        ``"detected"`` / ``"annotated"``), each labelled with its class name (and
        confidence, as a percentage, underneath) only where the label fits between
        the neighbouring spans: on a long recording most stay unlabelled, the
        colours (as in the legend) still tell the classes.
    title : str, optional
        Defaults to "Stroke timeline".
    idle : str or None
        The class meaning "no stroke", drawn in grey.
    note : str, optional
        A caveat shown above the plot in dark red (gid ``"note"``), e.g. that the
        model cannot say "no stroke"; one paragraph per line.

    Returns
    -------
    matplotlib.figure.Figure
        Axes sharing the time axis (seconds): "probability" (a line per class, in
        its colour; frames with NaN shaded grey, gid ``"uncovered"``) and a band for
        each of ``detected`` and ``annotated`` given, in that order, the spans in
        their class's colour. A caption under the axes (gid ``"caption"``) says what
        the probabilities and percentages are: softmax scores, not calibrated. The
        width grows with the recording, up to :data:`TIMELINE_MAX_WIDTH` inches.

    Raises
    ------
    ValueError
        When ``frame_probs`` does not have one column per class, ``fps`` is not
        positive, or a stroke mapping is incomplete or outside the recording.
    """
    classes = [str(c) for c in classes]
    probs = np.asarray(frame_probs, dtype=float)
    if not classes:
        raise ValueError("classes is empty; pass the class names of frame_probs' columns.")
    if probs.ndim != 2 or probs.shape[1] != len(classes) or not len(probs):
        raise ValueError(
            f"frame_probs must be (frames, classes) with at least one frame and one column per "
            f"class of {classes}; got shape {probs.shape}."
        )
    if isinstance(fps, bool) or not isinstance(fps, int | float | np.number) or not fps > 0:
        raise ValueError(f"fps must be a positive number of frames per second; got {fps!r}.")
    n_frames, fps = len(probs), float(fps)
    if not math.isfinite(fps):
        raise ValueError(f"fps must be a positive number of frames per second; got {fps!r}.")
    bands = [
        (name, _check_events(events, name, len(classes), n_frames), gid)
        for name, events, gid in (
            ("detected", detected, DETECTED_GID),
            ("annotated", annotated, ANNOTATED_GID),
        )
        if events is not None
    ]
    colors = _class_colors(classes, idle)
    duration = n_frames / fps

    width = float(np.clip(4.0 + duration / 5.0, 8.0, TIMELINE_MAX_WIDTH))
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(width, 3.4 + 0.75 * len(bands)))
        axes = fig.subplots(
            1 + len(bands),
            1,
            sharex=True,
            squeeze=False,
            gridspec_kw={"height_ratios": [4.0] + [1.0] * len(bands)},
        )
    axes = axes[:, 0]
    top = axes[0]
    seconds = np.arange(n_frames) / fps
    for k, name in enumerate(classes):
        top.plot(seconds, probs[:, k], color=colors[name], linewidth=1.2, label=name)
    top.set_ylim(0.0, 1.02)
    top.set_ylabel("class probability\n(softmax)")
    top.set_title(title or "Stroke timeline")

    uncovered = _runs(np.isnan(probs).any(axis=1))
    for k, (a, b) in enumerate(uncovered):
        top.axvspan(a / fps, b / fps, color="0.9", linewidth=0, zorder=0, gid=UNCOVERED_GID,
                    label="no window" if k == 0 else "_nolegend_")  # fmt: skip
    top.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.005, 1.0))
    labels = [
        label
        for ax, (name, events, gid) in zip(axes[1:], bands, strict=True)
        for label in _stroke_band(ax, events, name, gid, classes, colors, fps)
    ]
    axes[-1].set_xlim(0.0, duration)
    axes[-1].set_xlabel("time (s)")
    above, below = _add_texts(fig, note, _timeline_caption(bands))
    fig.tight_layout(rect=(0.0, below, 1.0, 1.0 - above))
    _place_labels(labels)  # after the layout: whether a label fits depends on it
    return fig


# --- figures of a search's results table ------------------------------------------------

# The selection metric, as tennis_lab.results.SELECTION_METRIC names it (this module
# imports no other module of the package; a test checks that the two agree).
SELECTION_METRIC = "val_stroke_macro_f1"
STD_SUFFIX = "_std"  # <metric>_std: the spread over a cross-validated run's folds
HIGHLIGHT_GID = "highlight"
PARETO_FRONT_GID = "pareto_front"
CAUTION_GID = "caution"
FLAGGED_GID = "flagged"
ERRORBAR_GID = "std"
TIED_GID = "tied"
FLAG_COLOR = "tab:red"
# Train macro F1 is only scored on windows: the three bars compare like with like.
_SPLIT_F1_COLUMNS = (
    ("train", "train_macro_f1_score"),
    ("validation", "val_macro_f1_score"),
    ("test", "macro_f1_score"),
)
_COLUMN_LABELS = {
    "val_stroke_macro_f1": "validation macro F1 (strokes)",
    "test_stroke_macro_f1": "test macro F1 (strokes)",
    "worst_group_macro_f1": "worst group macro F1",
    "val_stroke_accuracy": "validation accuracy (strokes)",
    "test_stroke_accuracy": "test accuracy (strokes)",
    "val_macro_f1_score": "validation macro F1 (windows)",
    "macro_f1_score": "test macro F1 (windows)",
    "train_macro_f1_score": "train macro F1 (windows)",
    "test_accuracy": "test accuracy (windows)",
    "training_time_minutes": "training time (minutes)",
    "trainable_params": "trainable parameters",
    "inference_ms_per_window": "inference (ms per window)",
}


def _column_label(column: str) -> str:
    """A readable axis label for a results column (the name itself when unknown)."""
    if column.endswith(STD_SUFFIX) and column[: -len(STD_SUFFIX)] in _COLUMN_LABELS:
        return f"{_COLUMN_LABELS[column[: -len(STD_SUFFIX)]]} (std over folds)"
    return _COLUMN_LABELS.get(column, column)


def _spread(df: pd.DataFrame, column: str) -> np.ndarray | None:
    """``<column>_std`` as floats, or None when ``df`` has no finite one."""
    name = column + STD_SUFFIX
    if name not in df.columns:
        return None
    values = _numeric(df[name])
    return values if np.isfinite(values).any() else None


def _sentence(text: str) -> str:
    """``text`` with its first letter capitalised, for a default title."""
    return text[:1].upper() + text[1:]


def _parse_value(value: object) -> object:
    """A parameter value as data: JSON text parsed (``"[128, 64]"``), NaN and None as None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, tuple | np.ndarray):
        value = list(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _value_label(value: object) -> str:
    """The category label of a parameter value: ``45`` for 45.0, ``[128, 64]``, ``n/a``."""
    parsed = _parse_value(value)
    if parsed is None:
        return "n/a"
    if isinstance(parsed, float) and parsed.is_integer():
        return str(int(parsed))
    if isinstance(parsed, list | dict):
        return json.dumps(parsed, sort_keys=True)
    return str(parsed)


def _value_key(value: object) -> tuple:
    """Sort key of a parameter value: numbers by size, then lists (shorter first,
    then element by element), then text; missing values last."""
    parsed = _parse_value(value)
    if parsed is None:
        return (3,)
    if isinstance(parsed, bool | int | float):
        return (0, float(parsed))
    if isinstance(parsed, list):
        return (1, len(parsed), tuple(_value_key(item) for item in parsed))
    return (2, str(parsed))


def _sorted_positions(values: Sequence[object]) -> list[int]:
    """Positions of ``values`` in their stable sorted order (see ``_value_key``)."""
    return sorted(
        range(len(values)), key=lambda i: (_value_key(values[i]), _value_label(values[i]))
    )


def _check_table(df: pd.DataFrame, name: str, columns: Sequence[str], hint: str) -> None:
    """Raise ValueError when ``df`` has no rows or lacks one of ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame; got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {missing}; {hint} Its columns: {list(df.columns)}."
        )
    if df.empty:
        raise ValueError(f"{name} is empty; {hint}")


def _numeric(column: pd.Series) -> np.ndarray:
    """A column as floats, anything that is not a number as NaN."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def _run_set(runs: Iterable[object] | None) -> set[float]:
    """Run numbers to emphasise, as floats (missing ones skipped)."""
    return {float(r) for r in runs if pd.notna(r)} if runs is not None else set()


def _run_labels(table: pd.DataFrame) -> list[str]:
    """``run N`` per row, from ``run_number`` (or the index when there is none)."""
    numbers = table["run_number"] if "run_number" in table.columns else table.index
    return [f"run {_value_label(n)}" for n in numbers]


def _flags(table: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean flag column as an array; missing column or values count as False."""
    if column not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return np.array([bool(v) if pd.notna(v) else False for v in table[column]], dtype=bool)


def _flagged_labels(
    labels: Sequence[str], flags: np.ndarray, suffix: str, sep: str = " "
) -> list[str]:
    """``labels`` with ``sep`` and ``suffix`` appended to the flagged ones."""
    return [f"{t}{sep}{suffix}" if f else t for t, f in zip(labels, flags, strict=True)]


def _colour_flagged(labels: Sequence[Text], flags: np.ndarray) -> None:
    """Draw the flagged tick labels in bold red."""
    for label, flagged in zip(labels, flags, strict=True):
        if flagged:
            label.set_color(FLAG_COLOR)
            label.set_fontweight("bold")


def metric_by_value_figure(
    df: pd.DataFrame,
    param: str,
    metric: str = SELECTION_METRIC,
    top_runs: Iterable[int] | None = None,
    title: str | None = None,
) -> Figure:
    """Box plot and individual runs of a metric for each value of one parameter.

    Parameters
    ----------
    df : pandas.DataFrame
        Results table (as the search's CSV): columns ``param`` and ``metric``, and
        ``run_number`` when ``top_runs`` is given. Rows whose metric is NaN (failed
        runs) are left out.
    param : str
        Parameter column. Its values become category labels (``45``, ``0.001``,
        ``[128, 64]``; JSON text is parsed, so equal values group together), in a
        stable sorted order: numbers by size, then lists (shorter first, then element
        by element), then text, missing values (``n/a``) last.
    metric : str
        Metric column; defaults to the selection metric (validation macro F1 over
        strokes).
    top_runs : iterable of int, optional
        Run numbers to emphasise: drawn as labelled stars (gid ``"highlight"``) instead
        of plain points. Run numbers not in ``df`` are ignored.
    title : str, optional
        Defaults to "<metric label> by <param>".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: parameter values on x, the metric on y; a box per value (no
        fliers: every run is drawn as a point, jittered reproducibly).

    Raises
    ------
    ValueError
        When ``df`` is empty, lacks a column, or no row has a value of ``metric``.
    """
    needed = [param, metric] + (["run_number"] if top_runs is not None else [])
    _check_table(df, "df", needed, "pass the results table of a search.")
    data = pd.DataFrame(
        {
            "value": [_value_label(v) for v in df[param]],
            "key": [_value_key(v) for v in df[param]],
            "metric": _numeric(df[metric]),
            "run": df["run_number"].to_numpy() if "run_number" in df.columns else df.index,
        }
    )
    data = data[np.isfinite(data["metric"])]
    if data.empty:
        raise ValueError(f"no run in df has a value of {metric!r}; all {len(df)} are NaN.")
    keys: dict[str, tuple] = {}
    for label, key in zip(data["value"], data["key"], strict=True):
        keys[label] = min(keys.get(label, key), key)
    order = sorted(keys, key=lambda label: (keys[label], label))
    data["x"] = data["value"].map({v: i for i, v in enumerate(order)}).astype(float)
    top = _run_set(top_runs)
    highlighted = np.array([pd.notna(r) and float(r) in top for r in data["run"]], dtype=bool)

    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(max(6.0, 0.9 * len(order) + 2.5), 4.8))
        ax = fig.subplots()
    palette = sns.color_palette()
    # Matplotlib's own box plot: seaborn 0.13's passes the deprecated ``vert`` argument.
    ax.boxplot(
        [data.loc[data["value"] == v, "metric"].to_numpy() for v in order],
        positions=np.arange(len(order)),
        widths=0.6,
        showfliers=False,
        manage_ticks=False,
        boxprops={"color": palette[0]},
        whiskerprops={"color": palette[0]},
        capprops={"color": palette[0]},
        medianprops={"color": palette[0], "linewidth": 2},
    )
    ax.set_xticks(np.arange(len(order)), order)
    ax.set_xlim(-0.5, len(order) - 0.5)
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.15, 0.15, size=len(data))
    plain = data[~highlighted]
    ax.scatter(
        plain["x"] + jitter[~highlighted],
        plain["metric"],
        s=18,
        color="0.25",
        alpha=0.7,
        linewidths=0,
        zorder=3,
        label="run",
    )
    if highlighted.any():
        top_data = data[highlighted]
        ax.scatter(
            top_data["x"],
            top_data["metric"],
            s=150,
            marker="*",
            color=palette[3],
            edgecolors="black",
            linewidths=0.6,
            zorder=4,
            gid=HIGHLIGHT_GID,
            label="top runs",
        )
        # Labels alternate right and left within a value, so runs with equal scores stay legible.
        side = top_data.sort_values("metric", ascending=False).groupby("x").cumcount() % 2
        for x, y, run, left in zip(
            top_data["x"],
            top_data["metric"],
            top_data["run"],
            side.loc[top_data.index],
            strict=True,
        ):
            ax.annotate(
                f"run {_value_label(run)}",
                (x, y),
                xytext=(-7 if left else 7, 0),
                textcoords="offset points",
                ha="right" if left else "left",
                va="center",
                fontsize="x-small",
                gid=HIGHLIGHT_GID,
                zorder=5,
                # a box of the background's colour: whiskers and caps do not cross it
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
            )
        ax.legend(fontsize="small", loc="best")
    _rotate_xticks(ax, order)
    ax.set_xlabel(param)
    ax.set_ylabel(_column_label(metric))
    ax.set_title(title or _sentence(f"{_column_label(metric)} by {param}"))
    fig.tight_layout()
    return fig


def interaction_heatmap(table: pd.DataFrame, metric_label: str, title: str | None = None) -> Figure:
    """Heatmap of a metric's mean over the combinations of two parameters.

    Parameters
    ----------
    table : pandas.DataFrame
        Pivot table: index = values of parameter a, columns = values of parameter b,
        cells = the mean metric (NaN where no run had that pair). The index and
        column names, when set, label the axes. Rows and columns are drawn in the
        stable sorted order of their values (as ``metric_by_value_figure``).
    metric_label : str
        What the cells are, for the colour bar (e.g. "mean validation macro F1").
    title : str, optional
        Defaults to "<metric_label> by <a> and <b>".

    Returns
    -------
    matplotlib.figure.Figure
        One heatmap axes and its colour bar; each cell annotated with its value to 3
        decimals, NaN cells blank and unannotated.

    Raises
    ------
    ValueError
        When ``table`` has no rows, no columns, or no value.
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame; got {type(table).__name__}.")
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise ValueError(
            f"table is empty (shape {table.shape}); pass a pivot table of means with "
            "one row per value of one parameter and one column per value of another."
        )
    rows = _sorted_positions(list(table.index))
    cols = _sorted_positions(list(table.columns))
    values = table.iloc[rows, cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).any():
        raise ValueError(f"table has no values: all {values.size} cells are NaN.")
    row_labels = [_value_label(table.index[i]) for i in rows]
    col_labels = [_value_label(table.columns[j]) for j in cols]
    annot = np.array([[f"{v:.3f}" if np.isfinite(v) else "" for v in row] for row in values])
    a = str(table.index.name) if table.index.name is not None else ""
    b = str(table.columns.name) if table.columns.name is not None else ""

    n_rows, n_cols = values.shape
    size = (max(5.5, 0.95 * n_cols + 3.0), max(3.5, 0.55 * n_rows + 2.0))
    with sns.axes_style("white"):
        fig = Figure(figsize=size)
        ax = fig.subplots()
    sns.heatmap(
        values,
        annot=annot,
        fmt="",
        cmap="viridis",
        linewidths=0.5,
        xticklabels=col_labels,
        yticklabels=row_labels,
        cbar_kws={"label": metric_label},
        ax=ax,
    )
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    ax.tick_params(axis="y", labelrotation=0)
    _rotate_xticks(ax, col_labels)
    by = " and ".join(name for name in (a, b) if name)
    ax.set_title(title or _sentence(f"{metric_label} by {by}" if by else metric_label))
    fig.tight_layout()
    return fig


def importance_figure(
    importance: pd.DataFrame, caution: str | None = None, title: str | None = None
) -> Figure:
    """Horizontal bars of parameter importance, most important on top.

    Parameters
    ----------
    importance : pandas.DataFrame
        Columns ``parameter`` and ``importance`` (0 to 1), one row per parameter.
        Rows are sorted by importance, largest first; a NaN importance is drawn last,
        without a bar, labelled "n/a".
    caution : str, optional
        A note on how far to trust the ranking (few runs, correlated parameters),
        shown under the axes (gid ``"caution"``).
    title : str, optional
        Defaults to "Parameter importance".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: one bar per parameter, labelled with its value; x from 0 to 1.1.

    Raises
    ------
    ValueError
        When ``importance`` is empty or lacks a column.
    """
    _check_table(
        importance,
        "importance",
        ["parameter", "importance"],
        "pass one row per parameter with its importance.",
    )
    names = [str(p) for p in importance["parameter"]]
    scores = _numeric(importance["importance"])
    order = sorted(
        range(len(names)), key=lambda i: (np.isnan(scores[i]), -np.nan_to_num(scores[i]))
    )
    names = [names[i] for i in order]
    scores = scores[order]

    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7.0, max(2.5, 0.45 * len(names) + 1.6)))
        ax = fig.subplots()
    bars = ax.barh(
        np.arange(len(names)),
        np.nan_to_num(scores, nan=0.0),
        color=sns.color_palette()[0],
        height=0.7,
        tick_label=names,
    )
    ax.bar_label(
        bars,
        labels=[f"{s:.2f}" if np.isfinite(s) else "n/a" for s in scores],
        fontsize="small",
        padding=2,
    )
    ax.invert_yaxis()
    ax.set_xlim(0.0, max(1.1, float(np.nanmax(scores, initial=0.0)) * 1.1))
    ax.set_xlabel("importance")
    ax.set_ylabel("")
    ax.grid(axis="y", visible=False)
    ax.set_title(title or "Parameter importance")
    if caution:
        width = max(40, int(fig.get_figwidth() * 13))
        ax.annotate(
            "\n".join(textwrap.wrap(str(caution), width)),
            xy=(0.0, 0.0),
            xycoords=("axes fraction", ax.xaxis.label),
            xytext=(0, -8),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize="small",
            fontstyle="italic",
            color="0.3",
            gid=CAUTION_GID,
        )
    fig.tight_layout()
    return fig


def _finite_rows(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The rows of ``df`` whose ``columns`` are all finite numbers, those columns as floats."""
    data = pd.DataFrame({c: _numeric(df[c]) for c in columns}, index=df.index)
    return data[np.isfinite(data.to_numpy(dtype=float)).all(axis=1)]


def pareto_figure(
    df: pd.DataFrame,
    on_front: pd.Series | Sequence[bool],
    x: str = "training_time_minutes",
    y: str = SELECTION_METRIC,
    label: str = "run_number",
    title: str | None = None,
) -> Figure:
    """Scatter of every run with its Pareto front (lower ``x``, higher ``y``) as a step line.

    Parameters
    ----------
    df : pandas.DataFrame
        Results table with columns ``x``, ``y`` and ``label``; rows with NaN ``x`` or
        ``y`` are left out. With a ``<y>_std`` column (cross-validated runs), each run
        with a std gets a vertical error bar of ± one std (gid ``"std"``).
    on_front : pandas.Series of bool, or sequence of bool
        Which rows are on the front (as computed by the analysis). A Series is
        aligned with ``df`` by index (missing or NaN counts as False); a sequence
        must have one flag per row.
    x, y : str
        Columns for the axes; by default training time and the selection metric.
    label : str
        Column whose values label the front's points (run numbers by default).
    title : str, optional
        Defaults to "Pareto front: <y label> against <x label>".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: all runs as points, front points emphasised and labelled, joined in
        order of ``x`` by a step line (gid ``"pareto_front"``, ``steps-post``).

    Raises
    ------
    ValueError
        When ``df`` is empty, lacks a column, has no row with both values, or
        ``on_front`` has the wrong length.
    """
    _check_table(df, "df", [x, y, label], "pass the results table of a search.")
    if isinstance(on_front, pd.Series):
        flags = on_front if on_front.index.equals(df.index) else on_front.reindex(df.index)
    else:
        flags = pd.Series(list(on_front), dtype=object)
        if len(flags) != len(df):
            raise ValueError(
                f"on_front has {len(flags)} flags for {len(df)} rows of df; pass one per row "
                "or a boolean Series with df's index."
            )
        flags.index = df.index
    front_mask = _flags(pd.DataFrame({"f": flags.to_numpy()}), "f")
    df = df.reset_index(drop=True)
    data = _finite_rows(df, x, y)
    if data.empty:
        raise ValueError(f"no run in df has values of both {x!r} and {y!r}.")
    data["label"] = [_value_label(v) for v in df.loc[data.index, label]]
    data["front"] = front_mask[data.index]
    front = data[data["front"]].sort_values([x, y], ascending=[True, False], kind="stable")
    others = data[~data["front"]]
    spread = _spread(df, y)

    palette = sns.color_palette()
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7.5, 5.0))
        ax = fig.subplots()
    if spread is not None:
        std = spread[data.index]
        known = np.isfinite(std)
        ax.errorbar(
            data[x][known], data[y][known], yerr=std[known], fmt="none", ecolor="0.6",
            elinewidth=1, capsize=2, zorder=1, gid=ERRORBAR_GID, label="± std over folds",
        )  # fmt: skip
    ax.scatter(others[x], others[y], s=22, color="0.55", alpha=0.8, linewidths=0, label="runs")
    if not front.empty:
        ax.plot(
            front[x],
            front[y],
            drawstyle="steps-post",
            color=palette[3],
            linewidth=1.5,
            gid=PARETO_FRONT_GID,
            label="Pareto front",
        )
        ax.scatter(
            front[x],
            front[y],
            s=45,
            color=palette[3],
            edgecolors="black",
            linewidths=0.5,
            zorder=3,
            gid=HIGHLIGHT_GID,
            label="_nolegend_",
        )
        # Labels alternate right and left along the front, so close points stay legible.
        for k, (px, py, text) in enumerate(zip(front[x], front[y], front["label"], strict=True)):
            ax.annotate(
                text,
                (px, py),
                xytext=(-5, 5) if k % 2 else (5, 5),
                textcoords="offset points",
                ha="right" if k % 2 else "left",
                fontsize="small",
                gid=PARETO_FRONT_GID,
            )
    ax.legend(fontsize="small", loc="lower right")
    ax.set_xlabel(_column_label(x))
    ax.set_ylabel(_column_label(y))
    ax.set_title(title or f"Pareto front: {_column_label(y)} against {_column_label(x)}")
    fig.tight_layout()
    return fig


def _spans_decades(values: pd.Series, decades: float = 1.0) -> bool:
    """Whether positive ``values`` span more than ``decades`` powers of ten (a log axis)."""
    x = pd.to_numeric(values, errors="coerce")
    x = x[x > 0]
    return bool(len(x)) and float(np.log10(x.max() / x.min())) > decades


def tradeoff_figure(
    df: pd.DataFrame,
    y: str = SELECTION_METRIC,
    title: str | None = None,
    highlight: Iterable[int] | None = None,
) -> Figure:
    """A metric against model size and against inference time, side by side.

    Parameters
    ----------
    df : pandas.DataFrame
        Results table with columns ``y``, ``trainable_params`` and
        ``inference_ms_per_window`` (and ``run_number`` when ``highlight`` is given).
        Each panel leaves out the rows whose values it needs are NaN (or, on the log
        axis, not positive); a panel without any says "no data".
    y : str
        Metric column; defaults to the selection metric.
    title : str, optional
        Figure title; defaults to "Trade-offs of <y label>".
    highlight : iterable of int, optional
        Run numbers to emphasise as stars (gid ``"highlight"``).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes sharing y: "Model size" (trainable parameters, log x) and
        "Inference time" (ms per window).

    Raises
    ------
    ValueError
        When ``df`` is empty, lacks a column, or no row has a value of ``y``.
    """
    panels = (("Model size", "trainable_params"), ("Inference time", "inference_ms_per_window"))
    needed = [y] + [c for _, c in panels] + (["run_number"] if highlight is not None else [])
    _check_table(df, "df", needed, "pass the results table of a search.")
    if not np.isfinite(_numeric(df[y])).any():
        raise ValueError(f"no run in df has a value of {y!r}; all {len(df)} are NaN.")
    df = df.reset_index(drop=True)
    top = _run_set(highlight)
    runs = _numeric(df["run_number"]) if "run_number" in df.columns else np.full(len(df), np.nan)
    emphasised = np.isin(runs, list(top))

    palette = sns.color_palette()
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(11.0, 4.6))
        axes = fig.subplots(1, 2, sharey=True)
    for ax, (name, column) in zip(axes, panels, strict=True):
        data = _finite_rows(df, column, y)
        if column == "trainable_params":
            data = data[data[column] > 0]
        star = emphasised[data.index]
        logged = False
        if data.empty:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center")
        else:
            plain = data[~star]
            ax.scatter(plain[column], plain[y], s=24, color=palette[0], alpha=0.75, linewidths=0)
            if star.any():
                ax.scatter(
                    data[column][star],
                    data[y][star],
                    s=150,
                    marker="*",
                    color=palette[3],
                    edgecolors="black",
                    linewidths=0.6,
                    zorder=3,
                    gid=HIGHLIGHT_GID,
                    label="highlighted runs",
                )
                ax.legend(fontsize="small", loc="lower right")
            logged = column == "trainable_params" and _spans_decades(data[column])
            if logged:
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.xaxis.set_minor_locator(ticker.NullLocator())
            if column == "trainable_params":  # 12k, 150k, 1.2M
                if not logged:  # within one decade a log axis shows a single tick
                    ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
                ax.xaxis.set_major_formatter(ticker.EngFormatter(sep=""))
        ax.set_title(name)
        ax.set_xlabel(_column_label(column) + (" (log scale)" if logged else ""))
    axes[0].set_ylabel(_column_label(y))
    fig.suptitle(title or f"Trade-offs of {_column_label(y)}")
    fig.tight_layout()
    return fig


def class_recall_figure(
    balance: pd.DataFrame, classes: Sequence[str], title: str | None = None
) -> Figure:
    """Heatmap of each run's recall per class, runs flagged as unbalanced marked.

    Parameters
    ----------
    balance : pandas.DataFrame
        One row per run, in the order drawn: ``<class>_recall`` for every class,
        ``run_number`` (else the index numbers the runs) and optionally a boolean
        ``unbalanced`` (missing or NaN counts as False). NaN recalls are blank.
    classes : sequence of str
        Class names, in column order.
    title : str, optional
        Defaults to "Recall per class".

    Returns
    -------
    matplotlib.figure.Figure
        One heatmap axes (rows "run N", columns classes, cells annotated to 2
        decimals, colours from 0 to 1) and its colour bar. Unbalanced rows have the
        tick label "run N (unbalanced)" in red.

    Raises
    ------
    ValueError
        When ``balance`` is empty, ``classes`` is empty, or a recall column is missing.
    """
    classes = [str(c) for c in classes]
    if not classes:
        raise ValueError("classes is empty; pass the class names whose recall to draw.")
    _check_table(
        balance,
        "balance",
        [f"{c}_recall" for c in classes],
        "pass one row per run with its <class>_recall columns.",
    )
    values = np.column_stack([_numeric(balance[f"{c}_recall"]) for c in classes])
    annot = np.array([[f"{v:.2f}" if np.isfinite(v) else "" for v in row] for row in values])
    flags = _flags(balance, "unbalanced")
    rows = _flagged_labels(_run_labels(balance), flags, "(unbalanced)")

    n_rows, n_cols = values.shape
    size = (max(5.5, 1.1 * n_cols + 3.5), max(3.0, 0.42 * n_rows + 1.8))
    with sns.axes_style("white"):
        fig = Figure(figsize=size)
        ax = fig.subplots()
    sns.heatmap(
        values,
        annot=annot,
        fmt="",
        cmap="Blues",
        vmin=0.0,
        vmax=1.0,
        linewidths=0.5,
        xticklabels=classes,
        yticklabels=rows,
        cbar_kws={"label": "recall"},
        ax=ax,
    )
    ax.tick_params(axis="y", labelrotation=0)
    _colour_flagged(ax.get_yticklabels(), flags)
    _rotate_xticks(ax, classes)
    ax.set_xlabel("class")
    ax.set_ylabel("")
    ax.set_title(title or "Recall per class")
    fig.tight_layout()
    return fig


def overfitting_figure(table: pd.DataFrame, title: str | None = None) -> Figure:
    """Grouped bars of train, validation and test macro F1 per run, flagged runs marked.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per run, in the order drawn: ``train_macro_f1_score``,
        ``val_macro_f1_score`` and ``macro_f1_score`` (test), all over windows (train
        is only scored on windows), ``run_number`` (else the index numbers the runs)
        and optionally a boolean ``overfitting`` (missing or NaN counts as False). A
        NaN score has no bar and is labelled "n/a". A ``<score>_std`` column (spread
        over folds) gives that score's bars error bars of ± one std.
    title : str, optional
        Defaults to "Train, validation and test macro F1 (windows)".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: runs on x, three bars per run (train, validation, test, in that
        order, one container each) labelled with their values; y from 0 to 1.1.
        Flagged runs have a red band (gid ``"flagged"``) and the tick label
        "run N" and "(overfitting)" on a second line, in red.

    Raises
    ------
    ValueError
        When ``table`` is empty or lacks a score column.
    """
    _check_table(
        table,
        "table",
        [c for _, c in _SPLIT_F1_COLUMNS],
        "pass one row per run with its train, validation and test macro F1.",
    )
    flags = _flags(table, "overfitting")
    plain_runs = _run_labels(table)
    runs = _flagged_labels(plain_runs, flags, "(overfitting)", sep="\n")
    n = len(runs)
    width = 0.8 / len(_SPLIT_F1_COLUMNS)
    positions = np.arange(n, dtype=float)

    palette = sns.color_palette()
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(max(6.0, 1.1 * n + 3.0), 4.8))
        ax = fig.subplots()
    for k, (split, column) in enumerate(_SPLIT_F1_COLUMNS):
        scores = _numeric(table[column])
        bars = ax.bar(
            positions + (k - 1) * width,
            np.nan_to_num(scores, nan=0.0),
            width=width,
            color=palette[k],
            label=split,
        )
        spread = _spread(table, column)
        if spread is not None:  # only the runs with a std (and a score) get a bar
            known = np.isfinite(spread) & np.isfinite(scores)
            ax.errorbar(positions[known] + (k - 1) * width, scores[known], yerr=spread[known],
                        fmt="none", ecolor="0.25", elinewidth=1, capsize=2, zorder=3,
                        gid=ERRORBAR_GID)  # fmt: skip
        ax.bar_label(
            bars,
            labels=[f"{s:.2f}" if np.isfinite(s) else "n/a" for s in scores],
            fontsize="x-small",
            padding=1,
        )
    for i in np.flatnonzero(flags):
        ax.axvspan(
            i - 0.47, i + 0.47, color=FLAG_COLOR, alpha=0.1, linewidth=0, zorder=0, gid=FLAGGED_GID
        )
    ax.set_xticks(positions, runs)
    _colour_flagged(ax.get_xticklabels(), flags)
    _rotate_xticks(ax, plain_runs)
    handles, labels = ax.get_legend_handles_labels()
    if flags.any():
        handles.append(Patch(color=FLAG_COLOR, alpha=0.15, label="flagged: overfitting"))
        labels.append("flagged: overfitting")
    ax.legend(handles, labels, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(0.0, 1.1)
    ax.set_xlabel("")
    ax.set_ylabel("macro F1")
    ax.set_title(title or "Train, validation and test macro F1 (windows)")
    fig.tight_layout()
    return fig


def ranking_figure(
    board: pd.DataFrame,
    metric: str = SELECTION_METRIC,
    tied: Iterable[int] | None = None,
    title: str | None = None,
) -> Figure:
    """The ranked runs' scores as points with ± one std, best at the top.

    Parameters
    ----------
    board : pandas.DataFrame
        One row per run, in rank order (as the leaderboard): ``run_number`` (else
        the index numbers the runs), ``metric`` and optionally ``<metric>_std``
        (missing or NaN: no error bar). Rows without a value of ``metric`` are left out.
    metric : str
        Defaults to the selection metric.
    tied : iterable of int, optional
        Run numbers the best is tied with (computed by the analysis): drawn in red
        (gid ``"tied"``), their tick labels "run N (tied)".
    title : str, optional
        Defaults to "Ranking by <metric label>".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: a row per run, the first at the top; each score a point with a
        horizontal error bar of its std (gid ``"std"``; none without a std); the best
        run's interval shaded.

    Raises
    ------
    ValueError
        When ``board`` is empty, lacks ``metric``, or no row has a value of it.
    """
    _check_table(board, "board", [metric], "pass the leaderboard of a search.")
    scores = _numeric(board[metric])
    keep = np.isfinite(scores)
    if not keep.any():
        raise ValueError(f"no run in board has a value of {metric!r}; all {len(board)} are NaN.")
    table = board[keep]
    scores = scores[keep]
    spread = _spread(table, metric)
    labels = _run_labels(table)
    runs = _numeric(table["run_number"]) if "run_number" in table.columns else np.full(
        len(table), np.nan
    )  # fmt: skip
    flags = np.isin(runs, list(_run_set(tied)))
    labels = _flagged_labels(labels, flags, "(tied)")
    positions = np.arange(len(table))

    palette = sns.color_palette()
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7.0, max(2.4, 0.42 * len(table) + 1.5)))
        ax = fig.subplots()
    if spread is not None:
        best_std = spread[0] if np.isfinite(spread[0]) else 0.0
        ax.axvspan(scores[0] - best_std, scores[0] + best_std, color=palette[0], alpha=0.12,
                   linewidth=0, zorder=0, label="best ± std")  # fmt: skip
        known = np.isfinite(spread)
        ax.errorbar(
            scores[known], positions[known], xerr=spread[known], fmt="none",
            ecolor="0.35", elinewidth=1.2, capsize=3, zorder=2, gid=ERRORBAR_GID,
        )  # fmt: skip
    plain = ~flags
    ax.scatter(scores[plain], positions[plain], s=40, color=palette[0], zorder=3, label="run")
    if flags.any():
        ax.scatter(scores[flags], positions[flags], s=55, color=FLAG_COLOR, zorder=4,
                   gid=TIED_GID, label="tied with the best")  # fmt: skip
    ax.set_yticks(positions, labels)
    _colour_flagged(ax.get_yticklabels(), flags)
    ax.invert_yaxis()
    ax.set_xlabel(_column_label(metric) + (" (± std over folds)" if spread is not None else ""))
    ax.set_ylabel("")
    ax.legend(fontsize="small", loc="best")
    ax.set_title(title or f"Ranking by {_column_label(metric)}")
    fig.tight_layout()
    return fig


INTERVAL_GID = "interval"  # a finalist's confidence interval of the mean
BEHIND_GID = "behind"  # finalists found worse than the best
_FINALIST_COLUMNS = ("mean", "ci_low", "ci_high")


def _finalist_labels(table: pd.DataFrame) -> list[str]:
    """``trial 3 (5 seeds)`` per finalist (``config <id>`` where no trial is known)."""
    labels = []
    for i, (_, row) in enumerate(table.iterrows()):
        trial = row.get("trial")
        if trial is not None and pd.notna(trial):
            name = f"trial {_value_label(trial)}"
        elif pd.notna(row.get("config_id")):
            name = f"config {row['config_id']}"
        else:
            name = f"finalist {_value_label(table.index[i])}"
        seeds = row.get("repeats")
        if seeds is not None and pd.notna(seeds):
            name += f" ({int(seeds)} seed{'' if int(seeds) == 1 else 's'})"
        labels.append(name)
    return labels


def finalists_figure(
    table: pd.DataFrame,
    metric: str = SELECTION_METRIC,
    level: float = 0.05,
    interval: float = 0.95,
    title: str | None = None,
) -> Figure:
    """Each finalist's mean score over its repeats with its confidence interval.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per finalist, best first (as ``analysis.finalists_table``): ``mean``,
        ``ci_low``, ``ci_high`` (NaN: no interval, e.g. a single repeat), ``tied``
        (True: not found worse than the best; missing or NaN counts as False),
        optionally ``trial`` (names the row; else ``config_id``, else the index) and
        ``repeats`` (seeds, shown in the label). Rows without a mean are left out.
    metric : str
        The score the means are of (its label names the x axis).
    level : float
        The significance level of the tie test, for the legend.
    interval : float
        The confidence level of the intervals, for the axis label and legend.
    title : str, optional
        Defaults to "Finalists over seeds: mean and <interval> interval".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: a row per finalist, the best at the top; each mean a point with a
        horizontal error bar from ci_low to ci_high (gid ``"interval"``; none where
        the interval is unknown); tied finalists (the best included) drawn in red
        (gid ``"tied"``, their tick labels in bold red), the others in blue (gid
        ``"behind"``); the best's interval shaded; a legend below the axes saying
        what the colours mean and which test decided.

    Raises
    ------
    ValueError
        When ``table`` is empty, lacks ``mean``, ``ci_low`` or ``ci_high``, or no row
        has a mean.
    """
    _check_table(table, "table", list(_FINALIST_COLUMNS), "pass analysis.finalists_table(results).")
    means = _numeric(table["mean"])
    keep = np.isfinite(means)
    if not keep.any():
        raise ValueError(f"no finalist in table has a mean; all {len(table)} are NaN.")
    table = table[keep]
    means = means[keep]
    low, high = _numeric(table["ci_low"]), _numeric(table["ci_high"])
    tied = _flags(table, "tied")
    labels = _finalist_labels(table)
    positions = np.arange(len(table), dtype=float)

    palette = sns.color_palette()
    percent = f"{100 * interval:g} %"
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7.5, max(2.4, 0.5 * len(table) + 1.6)))
        ax = fig.subplots()
    if np.isfinite(low[0]) and np.isfinite(high[0]):
        ax.axvspan(low[0], high[0], color=FLAG_COLOR if tied[0] else palette[0], alpha=0.1,
                   linewidth=0, zorder=0, label=f"the best's {percent} interval")  # fmt: skip
    known = np.isfinite(low) & np.isfinite(high)
    if known.any():
        below = np.clip(means[known] - low[known], 0.0, None)
        above = np.clip(high[known] - means[known], 0.0, None)
        ax.errorbar(means[known], positions[known], xerr=np.vstack([below, above]), fmt="none",
                    ecolor="0.35", elinewidth=1.2, capsize=4, zorder=2,
                    gid=INTERVAL_GID)  # fmt: skip
    test = f"one-sided Welch's t-test, {100 * level:g} % level"
    if tied.any():
        ax.scatter(means[tied], positions[tied], s=60, color=FLAG_COLOR, zorder=4, gid=TIED_GID,
                   label=f"the best and those tied with it ({test})")  # fmt: skip
    if (~tied).any():
        ax.scatter(means[~tied], positions[~tied], s=45, color=palette[0], zorder=3,
                   gid=BEHIND_GID, label="worse than the best")  # fmt: skip
    ax.set_yticks(positions, labels)
    _colour_flagged(ax.get_yticklabels(), tied)
    ax.set_ylim(len(table) - 0.5, -0.5)  # the best at the top
    ax.set_xlabel(f"{_column_label(metric)}: mean over seeds with its {percent} interval")
    ax.set_ylabel("")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    ax.set_title(title or f"Finalists over seeds: mean and {percent} interval")
    fig.tight_layout()
    return fig
