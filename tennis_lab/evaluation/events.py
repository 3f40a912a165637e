"""Strokes on continuous recordings: frame probabilities from sliding windows, the
detected strokes, their matching to the annotated ones, and event scores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tennis_lab.evaluation.inputs import EvaluationError, whole_number


def default_min_frames(window_size: int, stride: int) -> int:
    """The shortest stroke reported by default: a third of a window, at least one stride."""
    return max(1, min(int(window_size), max(int(window_size) // 3, int(stride))))


def frame_probabilities(
    window_probs: np.ndarray, starts: np.ndarray, window_size: int, n_frames: int
) -> np.ndarray:
    """Class probabilities of every frame of a recording from its sliding windows.

    Parameters
    ----------
    window_probs : array-like (windows, classes)
        Predicted probabilities of each window.
    starts : array-like of int (windows,)
        First frame of each window; window i covers frames
        ``[starts[i], starts[i] + window_size)``, which must lie in the recording.
    window_size : int
    n_frames : int
        Frames of the recording.

    Returns
    -------
    ndarray of float (n_frames, classes)
        Each frame's mean of the probabilities of the windows covering it; a row of
        NaN for a frame no window covers.
    """
    probs = np.asarray(window_probs, dtype=np.float64)
    window_size = whole_number(window_size, "window_size", 1)
    n_frames = whole_number(n_frames, "n_frames", 0)
    if probs.ndim != 2:
        raise EvaluationError(
            f"window_probs must be 2-D (windows, classes); got shape {probs.shape}. Pass the "
            "model's predictions for one recording's windows."
        )
    raw = np.asarray(starts)
    if raw.shape != (len(probs),) or (raw.size and not np.issubdtype(raw.dtype, np.integer)):
        raise EvaluationError(
            f"starts must be {len(probs)} whole frame numbers, one per row of window_probs; "
            f"got shape {raw.shape} of {raw.dtype}."
        )
    starts = raw.astype(np.int64)
    outside = (starts < 0) | (starts + window_size > n_frames)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise EvaluationError(
            f"window {i} (starts[{i}]={int(starts[i])}, window_size={window_size}) does not lie "
            f"within the n_frames={n_frames} frames of the recording; pass the recording's "
            "frame count and the starts of its own windows."
        )
    # every (window, frame) it covers, summed per frame: exact sums (no running-sum drift),
    # in time and memory of the order of the windows themselves
    frames = (starts[:, None] + np.arange(window_size)).ravel()
    covered = np.bincount(frames, minlength=n_frames)
    out = np.full((n_frames, probs.shape[1]), np.nan)
    seen = covered > 0
    for k in range(probs.shape[1]):
        sums = np.bincount(frames, weights=np.repeat(probs[:, k], window_size), minlength=n_frames)
        out[seen, k] = sums[seen] / covered[seen]
    return out


def detect_strokes(
    frame_probs: np.ndarray,
    classes: Sequence[str],
    idle: str | None = "idle",
    threshold: float = 0.0,
    min_frames: int = 1,
) -> dict[str, np.ndarray]:
    """Strokes of a recording: runs of frames whose most likely class is the same stroke.

    A frame's class is its most probable one. A frame is *no stroke* when its row
    has a NaN (no window covers it), when its highest probability is below
    ``threshold``, or when its class is ``idle``. Each maximal run of consecutive
    frames of one stroke class is a stroke; runs shorter than ``min_frames`` are
    dropped (their frames count as no stroke, neighbours are not merged).

    Parameters
    ----------
    frame_probs : array-like (frames, classes)
        As :func:`frame_probabilities`.
    classes : sequence of str
        Class names in column order.
    idle : str or None
        The class meaning "no stroke", when it is one of ``classes``; None: no such class.
    threshold : float
        In [0, 1]; 0 keeps every frame.
    min_frames : int
        Shortest stroke kept, >= 1.

    Returns
    -------
    dict of str to ndarray
        ``start``, ``end`` (int64, half-open frame range), ``label`` (int64 class
        code) and ``confidence`` (float, the mean over the stroke's frames of its
        class's probability), one entry per stroke in time order.
    """
    probs = np.asarray(frame_probs, dtype=np.float64)
    classes = [str(c) for c in classes]
    if not classes:
        raise EvaluationError("classes is empty; pass the class names of frame_probs' columns.")
    if probs.ndim != 2 or probs.shape[1] != len(classes):
        raise EvaluationError(
            f"frame_probs must be (frames, classes) with one column per class of {classes}; "
            f"got shape {probs.shape}."
        )
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float | np.number)
        or not 0.0 <= threshold <= 1.0
    ):
        raise EvaluationError(f"threshold must be between 0 and 1 (0: none); got {threshold!r}.")
    min_frames = whole_number(min_frames, "min_frames", 1)
    missing = np.isnan(probs).any(axis=1)
    filled = np.where(missing[:, None], -1.0, probs)
    code = filled.argmax(axis=1).astype(np.int64)
    best = filled.max(axis=1)
    none = missing | (best < threshold)
    if idle is not None and idle in classes:
        none |= code == classes.index(idle)
    code = np.where(none, -1, code)
    # run boundaries: where the code changes
    change = np.flatnonzero(np.diff(code)) + 1
    run_start = np.concatenate(([0], change))[: len(code)]
    run_end = np.concatenate((change, [len(code)]))[: len(code)]
    run_code = code[run_start]
    keep = (run_code >= 0) & (run_end - run_start >= min_frames)
    start, end, label = run_start[keep], run_end[keep], run_code[keep]
    won = np.concatenate(([0.0], np.cumsum(np.where(none, 0.0, best))))
    return {
        "start": start.astype(np.int64),
        "end": end.astype(np.int64),
        "label": label.astype(np.int64),
        "confidence": (won[end] - won[start]) / np.maximum(end - start, 1),
    }


def _intervals(events: Any, name: str) -> np.ndarray:
    """(n, 2) int64 half-open frame intervals from pairs, an array or a ``start``/``end`` dict."""
    if isinstance(events, Mapping):
        if "start" not in events or "end" not in events:
            raise EvaluationError(
                f"{name} is a mapping without 'start' and 'end' (keys {sorted(events)}); pass "
                "detect_strokes' output or a list of (start, end) pairs."
            )
        events = np.column_stack([np.asarray(events["start"]), np.asarray(events["end"])])
    arr = np.asarray(events)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise EvaluationError(
            f"{name} must be (start, end) pairs of whole frame numbers, shape (n, 2); got "
            f"shape {arr.shape} of {arr.dtype}."
        )
    arr = arr.astype(np.int64)
    bad = np.flatnonzero(arr[:, 1] <= arr[:, 0])
    if len(bad):
        i = int(bad[0])
        raise EvaluationError(
            f"{name}[{i}] = ({arr[i, 0]}, {arr[i, 1]}) is empty: an interval is [start, end) "
            "with end > start."
        )
    return arr


def match_events(detected: Any, annotated: Any, tolerance: int = 0) -> list[tuple[int, int]]:
    """One-to-one matching of detected to annotated strokes of one recording, by time only.

    Rule: a (detected, annotated) pair is a candidate when the two intervals share
    at least one frame, or when the gap between them (the frames strictly between
    the earlier one's end and the later one's start: 0 for ``[0, 5)`` and
    ``[5, 9)``) is at most ``tolerance``. Candidates are taken greedily, each
    stroke at most once: larger overlap (frames shared) first, then the smaller
    distance between the centres, then the earlier annotated stroke, then the
    earlier detected one. Classes play no part (see :func:`event_scores`).

    Parameters
    ----------
    detected, annotated : sequence of (start, end), array (n, 2) or mapping
        Half-open frame intervals; a mapping with ``start`` and ``end`` arrays (as
        :func:`detect_strokes` returns) also works.
    tolerance : int
        Frames of gap still matched, >= 0.

    Returns
    -------
    list of (int, int)
        (detected index, annotated index) pairs, sorted by annotated index.
    """
    tolerance = whole_number(tolerance, "tolerance", 0)
    det, ann = _intervals(detected, "detected"), _intervals(annotated, "annotated")
    if not len(det) or not len(ann):
        return []
    d0, d1 = det[:, 0][:, None], det[:, 1][:, None]
    a0, a1 = ann[:, 0][None, :], ann[:, 1][None, :]
    shared = np.minimum(d1, a1) - np.maximum(d0, a0)  # negative: minus the gap
    centres = np.abs((d0 + d1) - (a0 + a1))  # twice the distance, in whole frames
    di, ai = np.nonzero((shared > 0) | (-shared <= tolerance))
    order = np.lexsort((di, ai, centres[di, ai], -np.maximum(shared[di, ai], 0)))
    used_d, used_a, pairs = set(), set(), []
    for d, a in zip(di[order].tolist(), ai[order].tolist(), strict=True):
        if d not in used_d and a not in used_a:
            used_d.add(d)
            used_a.add(a)
            pairs.append((d, a))
    return sorted(pairs, key=lambda p: p[1])


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


def _event_f1(matched: int, detected: int, annotated: int) -> float:
    if annotated and not detected:
        return 0.0
    return 2 * matched / (detected + annotated) if detected and annotated else float("nan")


def _labels(labels: Any, name: str, n: int) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise EvaluationError(
            f"{name} must be a 1-D array of int class codes; got shape {arr.shape} of {arr.dtype}."
        )
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        raise EvaluationError(
            f"{name} has class code {int(bad[0])}, outside 0..{n - 1} for the {n} classes; "
            "pass codes indexing classes."
        )
    return arr.astype(np.int64)


def event_scores(
    detected_labels: np.ndarray,
    annotated_labels: np.ndarray,
    pairs: Sequence[tuple[int, int]],
    classes: Sequence[str],
) -> dict[str, Any]:
    """Stroke detection scores: per class, overall (micro), macro F1 and a confusion matrix.

    A matched pair with equal labels is a true positive of its class; one with
    different labels is a false positive of the detected class and a false
    negative of the annotated class. An unmatched detection is a false positive,
    an unmatched annotation a false negative. Precision (recall) is NaN without
    detections (annotations) to divide by; F1 is NaN when either is, except that a
    class with annotated strokes and no detections has F1 0.

    Parameters
    ----------
    detected_labels, annotated_labels : array-like of int
        Class codes of the detected and annotated strokes (of one recording, or
        concatenated over several).
    pairs : sequence of (int, int)
        Matched (detected index, annotated index) pairs, as :func:`match_events`
        (offset by the strokes of earlier recordings when concatenated).
    classes : sequence of str

    Returns
    -------
    dict
        ``per_class``: class name -> ``precision``, ``recall``, ``f1``, ``detected``,
        ``annotated`` and ``matched`` (true positives); ``overall``: ``precision``,
        ``recall``, ``f1`` over all strokes; ``macro_f1``: the mean F1 of the
        classes with annotated strokes (NaN if none); ``confusion``: int array
        (n + 1, n + 1), rows annotated class, columns detected class, the last row
        spurious detections and the last column missed strokes.
    """
    classes = [str(c) for c in classes]
    n = len(classes)
    if not n:
        raise EvaluationError("classes is empty; pass the class names the codes index.")
    det = _labels(detected_labels, "detected_labels", n)
    ann = _labels(annotated_labels, "annotated_labels", n)
    arr = np.asarray(pairs)
    if arr.size == 0:
        arr = np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise EvaluationError(
            f"pairs must be (detected index, annotated index) pairs of int; got shape {arr.shape}."
        )
    d, a = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
    for name, idx, size in (("detected", d, len(det)), ("annotated", a, len(ann))):
        if ((idx < 0) | (idx >= size)).any():
            raise EvaluationError(
                f"pairs has {name} index {int(idx[(idx < 0) | (idx >= size)][0])}, outside "
                f"0..{size - 1} for the {size} {name} strokes; offset indices per recording."
            )
        if len(np.unique(idx)) != len(idx):
            raise EvaluationError(
                f"pairs uses a {name} stroke more than once; matching is one-to-one "
                "(see match_events)."
            )
    confusion = np.zeros((n + 1, n + 1), dtype=np.int64)
    np.add.at(confusion, (ann[a], det[d]), 1)
    missed = np.setdiff1d(np.arange(len(ann)), a)
    spurious = np.setdiff1d(np.arange(len(det)), d)
    np.add.at(confusion, (ann[missed], n), 1)
    np.add.at(confusion, (n, det[spurious]), 1)
    per_class = {}
    for k, name in enumerate(classes):
        tp = int(confusion[k, k])
        n_det, n_ann = int(confusion[:, k].sum()), int(confusion[k, :].sum())
        per_class[name] = {
            "precision": _ratio(tp, n_det),
            "recall": _ratio(tp, n_ann),
            "f1": _event_f1(tp, n_det, n_ann),
            "detected": n_det,
            "annotated": n_ann,
            "matched": tp,
        }
    tp = int(np.trace(confusion[:n, :n]))
    present = [s["f1"] for s in per_class.values() if s["annotated"]]
    return {
        "per_class": per_class,
        "overall": {
            "precision": _ratio(tp, len(det)),
            "recall": _ratio(tp, len(ann)),
            "f1": _event_f1(tp, len(det), len(ann)),
        },
        "macro_f1": float(np.mean(present)) if present else float("nan"),
        "confusion": confusion,
    }


def score_detections(
    recordings: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    classes: Sequence[str],
    tolerance: int = 0,
    idle: str | None = "idle",
) -> dict[str, Any]:
    """Event scores of the detected strokes of several recordings.

    Parameters
    ----------
    recordings : iterable of (detected, annotated)
        Per recording, dicts with arrays ``start``, ``end`` and ``label`` (codes into
        ``classes``): :func:`detect_strokes`' output and the annotated strokes.
    classes : sequence of str
    tolerance : int
        Frames, as :func:`match_events` (matched within each recording).
    idle : str or None
        The class that is not a stroke: left out of the scored classes.

    Returns
    -------
    dict
        :func:`event_scores` over the stroke classes, plus ``classes`` (those).
    """
    strokes = tuple(c for c in classes if c != idle)
    code = np.array([strokes.index(c) if c != idle else -1 for c in classes], dtype=np.int64)
    detected, annotated, pairs = [], [], []
    n_det = n_ann = 0
    for found, truth in recordings:
        matched = match_events(found, truth, tolerance=tolerance)
        pairs += [(d + n_det, a + n_ann) for d, a in matched]
        detected.append(code[np.asarray(found["label"], dtype=np.int64)])
        annotated.append(code[np.asarray(truth["label"], dtype=np.int64)])
        n_det += len(detected[-1])
        n_ann += len(annotated[-1])
    empty = np.zeros(0, dtype=np.int64)
    scores = event_scores(
        np.concatenate(detected) if detected else empty,
        np.concatenate(annotated) if annotated else empty,
        pairs,
        strokes,
    )
    scores["classes"] = strokes
    return scores
