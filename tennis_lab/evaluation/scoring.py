"""Stroke-level scoring, the one macro-F1 rule and per-group scores.

Stroke-level scoring
    Each annotated stroke of a video gets one prediction: the class probabilities
    of every window that overlaps it, weighted by the frames they share
    (:func:`aggregate_strokes`). Windows of any size and overlap are thereby
    scored on the same strokes. A stroke no window reaches (its video is shorter
    than one window) is counted as missed, never left out.

The macro-F1 rule
    Macro F1 averages the F1 of the classes present in that split's true labels
    (:func:`macro_f1`), in every split alike: a class absent from a split neither
    scores 0 nor counts. A prediction of another class (or no prediction) is an
    error for the true class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro F1 over the classes present in ``y_true`` (the rule of every split).

    A prediction of any other value (another class, or -1 for no prediction) is
    an error for the true class. NaN when ``y_true`` is empty.
    """
    from sklearn.metrics import f1_score

    y_true = np.asarray(y_true)
    if len(y_true) == 0:
        return float("nan")
    present = np.unique(y_true)
    return float(
        f1_score(y_true, np.asarray(y_pred), labels=present, average="macro", zero_division=0)
    )


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of correct predictions; NaN when empty."""
    y_true = np.asarray(y_true)
    return float(np.mean(y_true == np.asarray(y_pred))) if len(y_true) else float("nan")


def aggregate_strokes(
    probs: np.ndarray,
    window_video: np.ndarray,
    window_start: np.ndarray,
    window_size: int,
    stroke_video: np.ndarray,
    stroke_start: np.ndarray,
    stroke_end: np.ndarray,
) -> np.ndarray:
    """Class probabilities of each stroke from the windows that overlap it.

    Parameters
    ----------
    probs : ndarray (windows, classes)
        Predicted probabilities of each window.
    window_video, window_start : arrays (windows,)
        The video and first frame of each window.
    window_size : int
    stroke_video, stroke_start, stroke_end : arrays (strokes,)
        Each stroke's video and frame range (end exclusive), on the windows' timeline.

    Returns
    -------
    ndarray (strokes, classes)
        The mean of the overlapping windows' probabilities, each weighted by the
        frames it shares with the stroke; a row of NaN where no window overlaps.
    """
    probs = np.asarray(probs, dtype=np.float64)
    window_video = np.asarray(window_video).astype(str)
    stroke_video = np.asarray(stroke_video).astype(str)
    window_start = np.asarray(window_start, dtype=np.int64)
    out = np.full((len(stroke_video), probs.shape[1]), np.nan)
    for video in np.unique(stroke_video):
        s_idx = np.flatnonzero(stroke_video == video)
        w_idx = np.flatnonzero(window_video == video)
        if len(w_idx) == 0:
            continue
        w0 = window_start[w_idx][None, :]
        s0 = np.asarray(stroke_start, dtype=np.int64)[s_idx][:, None]
        s1 = np.asarray(stroke_end, dtype=np.int64)[s_idx][:, None]
        shared = np.clip(np.minimum(w0 + window_size, s1) - np.maximum(w0, s0), 0, None)
        weight = shared.sum(axis=1)
        agg = shared.astype(np.float64) @ probs[w_idx]
        reached = weight > 0
        out[s_idx[reached]] = agg[reached] / weight[reached, None]
    return out


def predict_strokes(stroke_probs: np.ndarray) -> np.ndarray:
    """The predicted class of each stroke; -1 where no window reached it."""
    stroke_probs = np.asarray(stroke_probs)
    pred = np.nan_to_num(stroke_probs, nan=-1.0).argmax(axis=1).astype(np.int64)
    pred[np.isnan(stroke_probs).any(axis=1)] = -1
    return pred


def group_scores(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Macro F1 (by :func:`macro_f1`) and accuracy of each group's strokes.

    Parameters
    ----------
    y_true, y_pred, groups : arrays (strokes,)
    extra : mapping, optional
        Group -> further fields for its row (e.g. handedness, fold).

    Returns
    -------
    list of dict
        ``group``, ``strokes``, ``macro_f1``, ``accuracy`` and the extra fields,
        worst macro F1 first.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    groups = np.asarray(groups).astype(str)
    rows = []
    for g in sorted(set(groups.tolist())):
        mask = groups == g
        rows.append(
            {
                "group": g,
                "strokes": int(mask.sum()),
                "macro_f1": macro_f1(y_true[mask], y_pred[mask]),
                "accuracy": accuracy(y_true[mask], y_pred[mask]),
                **dict((extra or {}).get(g, {})),
            }
        )
    return sorted(rows, key=lambda r: (r["macro_f1"], r["group"]))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value), ignoring NaN."""
    arr = np.asarray([v for v in values if v == v], dtype=float)
    if not len(arr):
        return float("nan"), float("nan")
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
