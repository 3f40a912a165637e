"""The prediction timeline: a recording's class probabilities over time, with its detected
and annotated strokes (``tennis-lab predict`` and ``evaluate`` draw it)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import seaborn as sns
from matplotlib import colors as matplotlib_colors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

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


def _check_probabilities(
    frame_probs: np.ndarray, classes: Sequence[str], fps: float
) -> tuple[np.ndarray, float]:
    """``frame_probs`` as a (frames, classes) float array and ``fps`` as a float, checked."""
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
    fps = float(fps)
    if not math.isfinite(fps):
        raise ValueError(f"fps must be a positive number of frames per second; got {fps!r}.")
    return probs, fps


def _probability_panel(
    ax: Axes, probs: np.ndarray, classes: Sequence[str], colors: dict, fps: float
) -> None:
    """A line per class over time; the frames no window covers shaded grey."""
    seconds = np.arange(len(probs)) / fps
    for k, name in enumerate(classes):
        ax.plot(seconds, probs[:, k], color=colors[name], linewidth=1.2, label=name)
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel("class probability\n(softmax)")
    uncovered = _runs(np.isnan(probs).any(axis=1))
    for k, (a, b) in enumerate(uncovered):
        ax.axvspan(a / fps, b / fps, color="0.9", linewidth=0, zorder=0, gid=UNCOVERED_GID,
                   label="no window" if k == 0 else "_nolegend_")  # fmt: skip
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.005, 1.0))


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
    probs, fps = _check_probabilities(frame_probs, classes, fps)
    n_frames = len(probs)
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
    _probability_panel(axes[0], probs, classes, colors, fps)
    axes[0].set_title(title or "Stroke timeline")
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
