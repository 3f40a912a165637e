"""A run's figures: learning curves, confusion matrix, scores per class and per group, and
the windows per class in each split (the training notebook shows them, tracking logs them).

Every function takes results that were already computed (``RunResult``'s confusion
matrix, history, counts, flat metrics, groups) and returns a
:class:`matplotlib.figure.Figure`; nothing here computes a metric beyond normalising
what it is given for display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tennis_lab.plots.style import rotate_xticks

PER_CLASS_METRICS = ("precision", "recall", "f1_score")
_METRIC_LABELS = {"precision": "precision", "recall": "recall", "f1_score": "F1"}
BEST_EPOCH_GID = "best_epoch"


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
    rotate_xticks(ax, classes)
    ax.set_title(title or "Confusion matrix")
    fig.tight_layout()
    return fig


def _best_epoch(history: Mapping[str, Sequence[float]], first_epoch: int) -> tuple | None:
    """(epoch counted from 1, val_loss) of the lowest ``val_loss``, or None without one."""
    val_loss = np.asarray(history.get("val_loss", ()), dtype=float)
    if not val_loss.size or np.isnan(val_loss).all():
        return None
    i = int(np.nanargmin(val_loss))
    return first_epoch + i + 1, float(val_loss[i])


def _scale_panel(ax: Axes, name: str) -> None:
    """The learning rate on a log scale; accuracy from 0 to 1."""
    if name == "Learning rate":
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0), numticks=4))
        ax.yaxis.set_minor_locator(ticker.NullLocator())
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.0e}"))
        ax.margins(y=0.25)
    elif name == "Accuracy":
        ax.set_ylim(0.0, 1.02)


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

    best = _best_epoch(history, first_epoch)
    palette = sns.color_palette()
    for ax, (name, keys) in zip(axes, panels, strict=True):
        for k, (key, label) in enumerate(keys):
            values = np.asarray(history[key], dtype=float)
            epochs = np.arange(first_epoch + 1, first_epoch + values.size + 1)
            style = {"drawstyle": "steps-post"} if key == "learning_rate" else {"marker": "."}
            color = palette[2] if key == "learning_rate" else palette[k]
            ax.plot(epochs, values, label=label, color=color, **style)
        _scale_panel(ax, name)
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
    rotate_xticks(ax, order)
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
