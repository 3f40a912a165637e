"""Scores that mean what they say: grouped splits and folds, stroke-level scoring,
one macro-F1 rule, per-group results. Arrays in, arrays out: no I/O, no training.

Groups
    A split never puts one group in two parts. The group of a video is its player
    (``split_by="player"``), its session (``"session"``) or the video itself
    (``"video"``); ``"auto"`` means player when the metadata (``videos.csv``) names
    players, else video. A video whose player (or session) is unknown is a group
    of its own. Splits and folds are made from the *annotated strokes* of each
    group, never from windows, so every windowing configuration gets the same
    parts for the same seed.

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

This module imports nothing else of the package; :func:`make_split` and
:func:`make_folds` take any object with the attributes of
:class:`tennis_lab.windows.WindowSet` they use (``groups``, ``strokes``, ``videos``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tennis_lab.errors import TennisLabError

SPLIT_BY = ("auto", "video", "player", "session")
PARTS = ("train", "val", "test")
LEAVE_ONE_OUT = "loo"


class EvaluationError(TennisLabError, ValueError):
    """A split, fold or scoring request that cannot work; the message says why and the fix."""


@dataclass(frozen=True)
class Split:
    """Window indices of one train / validation / test split, and what is in each part.

    Attributes
    ----------
    train, val, test : ndarray of int64
        Indices of labelled windows.
    train_groups, val_groups, test_groups : tuple of str
        The groups (players, sessions or videos) of each part.
    train_videos, val_videos, test_videos : tuple of str
        The videos of each part (those without windows included).
    by : str
        What a group is: ``video``, ``player`` or ``session``.
    fold : int or None
        1-based fold number in cross-validation; None for a single split.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    train_groups: tuple[str, ...]
    val_groups: tuple[str, ...]
    test_groups: tuple[str, ...]
    train_videos: tuple[str, ...] = ()
    val_videos: tuple[str, ...] = ()
    test_videos: tuple[str, ...] = ()
    by: str = "video"
    fold: int | None = None

    def describe(self) -> str:
        """One line: the groups of each part."""
        name = {"video": "videos", "player": "players", "session": "sessions"}[self.by]
        head = f"fold {self.fold}: " if self.fold else ""
        return head + "; ".join(
            f"{part} {len(groups)} {name} ({_short(groups)})"
            for part, groups in zip(
                ("train", "validation", "test"),
                (self.train_groups, self.val_groups, self.test_groups),
                strict=True,
            )
        )


def _short(names: Sequence[str], n: int = 6) -> str:
    names = list(names)
    return ", ".join(names[:n]) + (f", ... ({len(names) - n} more)" if len(names) > n else "")


# --------------------------------------------------------------------------- groups


def check_split_by(split_by: str) -> str:
    """Validate ``split_by`` (one of :data:`SPLIT_BY`) before any data is loaded."""
    if split_by not in SPLIT_BY:
        raise EvaluationError(
            f"split_by={split_by!r} is not one of {list(SPLIT_BY)}: split by video, by player "
            "or by session (both from videos.csv), or auto (player when known, else video)."
        )
    return split_by


def resolve_split_by(split_by: str, videos: Mapping[str, Mapping[str, Any]]) -> str:
    """``split_by`` with ``auto`` resolved: player when any video names a player, else video."""
    check_split_by(split_by)
    if split_by != "auto":
        if split_by != "video" and not any((m or {}).get(split_by) for m in videos.values()):
            raise EvaluationError(
                f"split_by={split_by!r}, but no video has a {split_by}: add a {split_by!r} "
                "column to the dataset's videos.csv (see docs/data-format.md), or use "
                "split_by='video'."
            )
        return split_by
    return "player" if any((m or {}).get("player") for m in videos.values()) else "video"


def video_groups(
    video_ids: Sequence[str], videos: Mapping[str, Mapping[str, Any]], by: str
) -> dict[str, str]:
    """Video id -> group name; a video whose ``by`` is unknown is its own group."""
    if by == "video":
        return {v: str(v) for v in video_ids}
    out = {}
    for v in video_ids:
        value = (videos.get(v) or {}).get(by)
        out[v] = str(value) if value not in (None, "") else f"video {v}"
    return out


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < frac < 1:
            raise EvaluationError(f"{name} must be between 0 and 1; got {frac}.")
    if val_fraction + test_fraction >= 1:
        raise EvaluationError(
            f"val_fraction + test_fraction must be below 1; got {val_fraction + test_fraction}."
        )


def _counts(groups: np.ndarray, y: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(groups, classes) number of samples of each class in each group."""
    index = {g: i for i, g in enumerate(names)}
    n_classes = int(y.max()) + 1 if len(y) else 1
    counts = np.zeros((len(names), n_classes), dtype=np.int64)
    np.add.at(counts, (np.array([index[g] for g in groups], dtype=np.int64), y), 1)
    return counts


def _assign(
    counts: np.ndarray, fractions: Sequence[float], seed: int, free: np.ndarray
) -> np.ndarray:
    """Part of each free group (row of ``counts``): balanced per class, every part non-empty.

    Groups are taken in a seeded random order and each goes to the part whose
    per-class counts are furthest below their targets (``fraction * total``);
    when only as many groups are left as parts without one, those parts get them.
    """
    fractions = np.asarray(fractions, dtype=float)
    free = np.asarray(free, dtype=np.int64)
    totals = counts[free].sum(axis=0).astype(float)
    target = fractions[:, None] * totals[None, :]
    current = np.zeros_like(target)
    part_of = np.full(len(counts), -1, dtype=np.int64)
    empty = set(range(len(fractions)))
    order = free[np.random.default_rng(seed).permutation(len(free))]
    for k, g in enumerate(order):
        remaining = len(order) - k
        candidates = sorted(empty) if remaining <= len(empty) else range(len(fractions))
        need = (target - current) / np.maximum(totals, 1)[None, :]
        scores = (need * counts[g][None, :]).sum(axis=1)
        part = max(candidates, key=lambda p: (scores[p], -p))
        part_of[g] = part
        current[part] += counts[g]
        empty.discard(part)
    return part_of


def _named(by: str, n: int) -> str:
    word = {"video": "video", "player": "player", "session": "session"}.get(by, "group")
    return f"{n} {word}{'' if n == 1 else 's'}"


def split_by_group(
    groups: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    test_groups: Sequence[str] = (),
    by: str = "video",
) -> dict[str, str]:
    """Assign groups to train / val / test from their labelled samples.

    Parameters
    ----------
    groups : array of str (samples,)
        The group of each sample (e.g. each annotated stroke).
    y : array of int (samples,)
        The class of each sample: every part gets a share of every class as far
        as the groups allow.
    val_fraction, test_fraction : float
    seed : int
        Same seed and samples, same split.
    test_groups : sequence of str
        Pin these groups to the test part; the test part is then exactly them,
        and the others are shared between train and validation.
    by : str
        What a group is (for messages).

    Returns
    -------
    dict of str to str
        Group -> ``"train"``, ``"val"`` or ``"test"``.

    Raises
    ------
    EvaluationError
        Fewer than three groups (two besides pinned test groups), an unknown
        pinned group, or fractions out of range.
    """
    _check_fractions(val_fraction, test_fraction)
    groups = np.asarray(groups).astype(str)
    y = np.asarray(y, dtype=np.int64)
    names = sorted(set(groups.tolist()))
    pinned = [str(g) for g in test_groups]
    unknown = [g for g in pinned if g not in names]
    if unknown:
        raise EvaluationError(
            f"test_groups {unknown} are not {by}s with annotated strokes; the {by}s are "
            f"{_short(names, 12)}. Correct the names (see videos.csv), or leave test_groups empty."
        )
    counts = _counts(groups, y, names)
    if pinned:
        free = np.array([i for i, g in enumerate(names) if g not in pinned], dtype=np.int64)
        if len(free) < 2:
            raise EvaluationError(
                f"with test_groups {pinned}, {_named(by, len(free))} remain for train and "
                f"validation; at least 2 are needed. Pin fewer test groups or add recordings."
            )
        val_share = val_fraction / (1 - test_fraction)
        part_of = _assign(counts, [1 - val_share, val_share], seed, free)
        for g in pinned:
            part_of[names.index(g)] = 2
    else:
        if len(names) < 3:
            raise EvaluationError(
                f"a split by {by} needs at least 3 {by}s with annotated strokes (train, "
                f"validation, test); got {_named(by, len(names))} ({', '.join(names)}). "
                + (
                    "Use split_by='video' (or 'session'), or add recordings of more players."
                    if by != "video"
                    else "Add recordings, or check that their strokes are annotated."
                )
            )
        fractions = [1 - val_fraction - test_fraction, val_fraction, test_fraction]
        part_of = _assign(counts, fractions, seed, np.arange(len(names)))
    return {g: PARTS[p] for g, p in zip(names, part_of, strict=True)}


def group_folds(
    groups: np.ndarray,
    y: np.ndarray,
    folds: int | str,
    val_fraction: float = 0.15,
    seed: int = 42,
    by: str = "video",
) -> list[dict[str, str]]:
    """Grouped k-fold (or leave-one-group-out) assignments of groups to parts.

    Each group is in the test part of exactly one fold. The test folds come from
    scikit-learn's ``StratifiedGroupKFold`` (class shares kept as far as the groups
    allow) or ``LeaveOneGroupOut`` (``folds="loo"``); in each fold the remaining
    groups are shared between train and validation as in :func:`split_by_group`.

    Returns
    -------
    list of dict of str to str
        One assignment (group -> part) per fold.
    """
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold

    groups = np.asarray(groups).astype(str)
    y = np.asarray(y, dtype=np.int64)
    names = sorted(set(groups.tolist()))
    k = check_folds(folds)
    if k == 1:
        raise EvaluationError("group_folds needs cv_folds >= 2 or 'loo'; use split_by_group.")
    n = len(names)
    if k == 0:  # leave one group out
        if n < 3:
            raise EvaluationError(
                f"leave-one-{by}-out needs at least 3 {by}s with annotated strokes (one to test, "
                f"two for train and validation); got {_named(by, n)}."
            )
        splitter = LeaveOneGroupOut()
    else:
        if k > n:
            raise EvaluationError(
                f"cv_folds={k} needs at least {k} {by}s with annotated strokes (each fold tests "
                f"other {by}s); got {_named(by, n)}. Lower cv_folds, or use cv_folds='loo'."
            )
        if n - int(np.ceil(n / k)) < 2:
            raise EvaluationError(
                f"cv_folds={k} over {_named(by, n)} leaves fewer than 2 {by}s for train and "
                "validation in some fold. Lower cv_folds or add recordings."
            )
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    counts = _counts(groups, y, names)
    test_share = 1 / (k if k else n)
    val_share = min(0.5, val_fraction / (1 - test_share))
    out = []
    with warnings.catch_warnings():
        # a class with fewer strokes than folds: the split does what it can, which is fine
        warnings.filterwarnings("ignore", message="The least populated class")
        folds_iter = list(splitter.split(np.zeros(len(y)), y, groups))
    for i, (_, test_index) in enumerate(folds_iter):
        test = set(groups[test_index].tolist())
        free = np.array([j for j, g in enumerate(names) if g not in test], dtype=np.int64)
        if len(free) < 2:
            raise EvaluationError(
                f"fold {i + 1} leaves {_named(by, len(free))} for train and validation; lower "
                "cv_folds or add recordings."
            )
        part_of = _assign(counts, [1 - val_share, val_share], seed + i, free)
        for g in test:
            part_of[names.index(g)] = 2
        out.append({g: PARTS[p] for g, p in zip(names, part_of, strict=True)})
    return out


def check_folds(folds: int | str) -> int:
    """Validate ``cv_folds``: a whole number >= 1 or ``"loo"``; return k (0 for ``"loo"``)."""
    if isinstance(folds, str) and folds.strip().lower() == LEAVE_ONE_OUT:
        return 0
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 1:
        raise EvaluationError(
            f"cv_folds must be a whole number >= 1 (1: one train/validation/test split; k > 1: "
            f"grouped k-fold cross-validation) or 'loo' (leave one group out); got {folds!r}."
        )
    return int(folds)


def check_evaluation_params(
    split_by: str, cv_folds: int | str, test_groups: Sequence[str] = ()
) -> int:
    """Validate the evaluation settings together; return k (1: one split, 0: ``"loo"``)."""
    check_split_by(split_by)
    k = check_folds(cv_folds)
    if isinstance(test_groups, str) or not all(isinstance(g, str) for g in test_groups):
        raise EvaluationError(
            f"test_groups must be a list of group names, e.g. ['bruno']; got {test_groups!r}."
        )
    if k != 1 and test_groups:
        raise EvaluationError(
            f"test_groups={list(test_groups)} pins groups to the one test split, but with "
            f"cv_folds={cv_folds!r} every group is tested once. Use cv_folds=1 or test_groups=[]."
        )
    return k


def _split_from(windows: Any, part_of_group: Mapping[str, str], group_of: Mapping[str, str],
                by: str, fold: int | None) -> Split:  # fmt: skip
    window_group = np.array([group_of[v] for v in windows.groups], dtype=object)
    # groups without annotated strokes only ever train
    part = np.array([part_of_group.get(g, "train") for g in window_group], dtype=object)
    index = [np.flatnonzero(part == p).astype(np.int64) for p in PARTS]
    videos_of = {p: [] for p in PARTS}
    for v in sorted(group_of):
        videos_of[part_of_group.get(group_of[v], "train")].append(v)
    groups_of = {p: sorted({g for g, q in part_of_group.items() if q == p}) for p in PARTS}
    for g in group_of.values():  # groups without strokes, listed under train
        if g not in part_of_group and g not in groups_of["train"]:
            groups_of["train"].append(g)
    return Split(
        *index,
        *(tuple(groups_of[p]) for p in PARTS),
        *(tuple(videos_of[p]) for p in PARTS),
        by=by,
        fold=fold,
    )


def make_split(
    windows: Any,
    split_by: str = "auto",
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    test_groups: Sequence[str] = (),
) -> Split:
    """One grouped train / validation / test split of a window set.

    The groups are assigned from the annotated strokes (``windows.strokes``), so
    the split does not depend on the windowing. See :func:`split_by_group`.
    """
    by = resolve_split_by(split_by, windows.videos)
    group_of = video_groups(list(windows.videos), windows.videos, by)
    stroke_groups = np.array([group_of[v] for v in windows.strokes["video"]], dtype=object)
    assignment = split_by_group(
        stroke_groups, windows.strokes["y"], val_fraction, test_fraction, seed,
        test_groups=test_groups, by=by,
    )  # fmt: skip
    split = _split_from(windows, assignment, group_of, by, None)
    for part in PARTS:
        if len(getattr(split, part)) == 0:
            raise EvaluationError(
                f"the {part} part of the split by {by} has no labelled windows (its {by}s: "
                f"{_short(getattr(split, f'{part}_groups'))}). Use a smaller window_size, a "
                "larger overlap, another seed, or add recordings."
            )
    return split


def make_folds(
    windows: Any,
    folds: int | str,
    split_by: str = "auto",
    val_fraction: float = 0.15,
    seed: int = 42,
) -> list[Split]:
    """Grouped cross-validation folds of a window set (see :func:`group_folds`)."""
    by = resolve_split_by(split_by, windows.videos)
    group_of = video_groups(list(windows.videos), windows.videos, by)
    stroke_groups = np.array([group_of[v] for v in windows.strokes["video"]], dtype=object)
    assignments = group_folds(stroke_groups, windows.strokes["y"], folds, val_fraction, seed, by)
    splits = [_split_from(windows, a, group_of, by, i + 1) for i, a in enumerate(assignments)]
    for split in splits:
        for part in ("train", "val"):
            if len(getattr(split, part)) == 0:
                raise EvaluationError(
                    f"fold {split.fold}: its {part} part has no labelled windows. Use a smaller "
                    "window_size, fewer folds, or add recordings."
                )
    return splits


def make_splits(
    windows: Any,
    cv_folds: int | str = 1,
    split_by: str = "auto",
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    test_groups: Sequence[str] = (),
) -> list[Split]:
    """The splits a run trains on: ``[make_split(...)]`` for ``cv_folds=1``, else the folds."""
    if check_evaluation_params(split_by, cv_folds, test_groups) == 1:
        return [make_split(windows, split_by, val_fraction, test_fraction, seed, test_groups)]
    return make_folds(windows, cv_folds, split_by, val_fraction, seed)


# --------------------------------------------------------------------------- scoring


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


# ----------------------------------------------------------------- events on continuous recordings


def _whole(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int, or EvaluationError when it is not a whole number >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise EvaluationError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
    return int(value)


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
    window_size = _whole(window_size, "window_size", 1)
    n_frames = _whole(n_frames, "n_frames", 0)
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
    min_frames = _whole(min_frames, "min_frames", 1)
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
    tolerance = _whole(tolerance, "tolerance", 0)
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


# --------------------------------------------------------------------------- intervals and ties


def _scores(values: Any, name: str) -> np.ndarray:
    """A non-empty 1-D array of finite scores, or an error naming ``name``."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.size == 0:
        raise EvaluationError(f"{name} must be a non-empty list of numbers; got {values!r}.")
    if not np.isfinite(arr).all():
        raise EvaluationError(
            f"{name} holds {float(arr[~np.isfinite(arr)][0])}; every score must be a finite "
            "number. Leave failed runs out (their score is missing, not 0)."
        )
    return arr


def _level(level: Any, name: str) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise EvaluationError(f"{name} must be a number between 0 and 1; got {level!r}.")
    return float(level)


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """The mean of ``values`` and its two-sided Student-t confidence interval.

    ``mean -+ t(n - 1, (1 + level) / 2) * s / sqrt(n)``, with ``s`` the sample
    standard deviation (``ddof=1``).

    Parameters
    ----------
    values : sequence of float
        Finite scores, e.g. a finalist's selection metric over seeds.
    level : float
        The confidence level, between 0 and 1.

    Returns
    -------
    (float, float, float)
        ``(mean, low, high)``; ``low`` and ``high`` are NaN for one value (no spread
        to estimate), and equal the mean when every value is the same.
    """
    from scipy import stats

    level = _level(level, "level")
    arr = _scores(values, "values")
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf((1 + level) / 2, arr.size - 1) * arr.std(ddof=1) / np.sqrt(arr.size))
    return mean, mean - half, mean + half


def _same(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=1e-12, atol=1e-12))


def worse_than_best_p(best: Sequence[float], other: Sequence[float]) -> float:
    """One-sided Welch's t-test p-value that ``other``'s mean is below ``best``'s.

    ``scipy.stats.ttest_ind(best, other, equal_var=False, alternative="greater")``.
    Degenerate cases: with fewer than 2 values on either side the test cannot run:
    1.0 when ``other``'s mean is not below (equal within 1e-12 counts), else NaN;
    with no spread on both sides, 1.0 when it is not below, else 0.0 (a difference
    without noise).
    """
    from scipy import stats

    a, b = _scores(best, "best"), _scores(other, "other")
    not_below = _same(a.mean(), b.mean()) or b.mean() > a.mean()
    if a.size < 2 or b.size < 2:
        return 1.0 if not_below else float("nan")
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 1.0 if not_below else 0.0
    with warnings.catch_warnings():  # one side without spread is fine for Welch's test
        warnings.filterwarnings(
            "ignore", message="Precision loss occurred", category=RuntimeWarning
        )
        return float(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)


def tied_with_best(groups: Mapping[str, Sequence[float]], level: float = 0.05) -> dict[str, bool]:
    """Which configurations are statistically tied with the best.

    The best is the configuration with the highest mean score (the first given
    among equal means). Another is tied with it unless a one-sided Welch's t-test
    (:func:`worse_than_best_p`: unequal variances; the alternative is "its mean is
    below the best's") rejects at ``level``. One-sided, because only "worse than the
    best" is in question. A configuration with a single value (or a best with one)
    cannot be tested: it is tied only if its mean equals the best's. Each test is at
    ``level``, without a correction for testing several configurations, and the best
    is picked from the same data, so "not tied" is a little optimistic.

    Parameters
    ----------
    groups : mapping of str to sequence of float
        Configuration name -> its finite scores (e.g. over seeds).
    level : float
        The significance level, between 0 and 1.

    Returns
    -------
    dict of str to bool
        Every configuration, by mean score (best first, ties in the order given);
        True: tied with the best (the best itself included).
    """
    level = _level(level, "level")
    if not isinstance(groups, Mapping) or not groups:
        raise EvaluationError(
            f"groups must be a non-empty mapping of configuration name -> scores; got {groups!r}."
        )
    scores = {name: _scores(values, f"groups[{name!r}]") for name, values in groups.items()}
    order = sorted(scores, key=lambda name: -scores[name].mean())  # stable: ties keep order
    best = scores[order[0]]
    out = {}
    for name in order:
        p = 1.0 if name == order[0] else worse_than_best_p(best, scores[name])
        out[name] = bool(p >= level)  # NaN (untestable, unequal): not tied
    return out


# --------------------------------------------------------------------------- paired comparisons

# The paired bootstrap over strokes: resamples and the interval's level.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_LEVEL = 0.95
BOOTSTRAP_TEST = "paired bootstrap over the validation strokes"


def _macro_f1_weighted(
    weights: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray
) -> np.ndarray:
    """Macro F1 (the rule of :func:`macro_f1`) of each resample: (resamples, strokes)
    weights -> (resamples,). A class counts in a resample when one of its strokes is in it."""
    f1 = np.zeros((weights.shape[0], len(classes)))
    present = np.zeros_like(f1, dtype=bool)
    for j, c in enumerate(classes):
        is_true, is_pred = y_true == c, y_pred == c
        tp = weights @ (is_true & is_pred)
        support = weights @ is_true
        predicted = weights @ is_pred
        denom = support + predicted
        f1[:, j] = np.divide(2 * tp, denom, out=np.zeros_like(tp, dtype=float), where=denom > 0)
        present[:, j] = support > 0
    n = present.sum(axis=1)
    return np.where(n > 0, (f1 * present).sum(axis=1) / np.maximum(n, 1), np.nan)


def paired_bootstrap(
    y_true: Sequence[int],
    pred_a: Sequence[int],
    pred_b: Sequence[int],
    folds: Sequence[Any] | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> tuple[float, float, float]:
    """How much better ``pred_a`` scores than ``pred_b`` on the same strokes, with an interval.

    Both predict the same strokes (``y_true``). Each resample draws strokes with
    replacement (within each fold, so a cross-validated score stays the mean of its
    folds' macro F1) and scores both on the same draw: the percentile interval of
    the differences says what the strokes cannot tell apart, without re-training.

    Parameters
    ----------
    y_true, pred_a, pred_b : sequences of int (strokes,)
        True classes and the two runs' predictions (-1: no prediction).
    folds : sequence, optional
        Each stroke's fold (its macro F1 is taken per fold, then averaged).
    resamples : int
    level : float
        The interval's level, between 0 and 1.
    seed : int
        The resampling's seed: the same inputs give the same interval.

    Returns
    -------
    (float, float, float)
        ``(difference, low, high)``: macro F1 of ``a`` minus that of ``b`` on the
        strokes as they are, and the interval. An interval that holds 0 means the
        strokes do not separate the two.
    """
    level = _level(level, "level")
    resamples = _whole(resamples, "resamples", 1)
    y = np.asarray(y_true, dtype=np.int64)
    a, b = np.asarray(pred_a, dtype=np.int64), np.asarray(pred_b, dtype=np.int64)
    if y.ndim != 1 or not len(y) or a.shape != y.shape or b.shape != y.shape:
        raise EvaluationError(
            f"y_true, pred_a and pred_b must be non-empty and of one length; got {len(y)}, "
            f"{len(a)} and {len(b)} strokes."
        )
    fold = np.zeros(len(y), dtype=object) if folds is None else np.asarray(folds, dtype=object)
    if fold.shape != y.shape:
        raise EvaluationError(f"folds must give one fold per stroke; got {len(fold)} for {len(y)}.")
    rng = np.random.default_rng(seed)
    diffs, point = np.zeros(resamples), 0.0
    names = list(dict.fromkeys(fold.tolist()))
    for name in names:
        idx = np.flatnonzero(fold == name)
        yt, pa, pb = y[idx], a[idx], b[idx]
        classes = np.unique(yt)
        # how often each stroke is drawn, per resample (n draws with replacement)
        n = len(idx)
        draws = rng.integers(0, n, size=(resamples, n)) + np.arange(resamples)[:, None] * n
        weights = np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n)
        weights = weights.astype(np.float64)
        diffs += _macro_f1_weighted(weights, yt, pa, classes) - _macro_f1_weighted(
            weights, yt, pb, classes
        )
        point += macro_f1(yt, pa) - macro_f1(yt, pb)
    diffs /= len(names)
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(diffs, [tail, 100 - tail])
    return float(point / len(names)), float(low), float(high)


# --------------------------------------------------------------------------- warnings

# A held-out group this far below the mean of the others is flagged as weak, and a
# split whose validation and test scores differ by more than this, as a gap.
WEAK_GROUP_MARGIN = 0.10
VAL_TEST_GAP = 0.10
CEILING = 0.999  # a validation score this high cannot rank the runs above it
THIN_VALIDATION = 2  # validation splits of this many groups or fewer are thin


def weak_groups(
    groups: Sequence[Mapping[str, Any]], margin: float = WEAK_GROUP_MARGIN,
    threshold: float | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The groups (e.g. players) a model fails, from per-group scores.

    A group is weak when its macro F1 is more than ``margin`` below the mean of the
    *other* groups (with at least two groups), or below ``threshold`` when one is
    given. Groups come as :func:`group_scores` returns them (``group``,
    ``macro_f1``, ...); the weak ones come back worst first, with ``others``: the
    other groups' mean.
    """
    scored = [g for g in groups if g.get("macro_f1") is not None and g["macro_f1"] == g["macro_f1"]]
    out = []
    for g in scored:
        rest = [o["macro_f1"] for o in scored if o is not g]
        others = float(np.mean(rest)) if rest else float("nan")
        below = bool(rest) and g["macro_f1"] < others - margin
        if below or (threshold is not None and g["macro_f1"] < threshold):
            out.append({**g, "others": others})
    return sorted(out, key=lambda g: (g["macro_f1"], str(g["group"])))


def new_group_estimate(groups: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The score to expect on a new group (player), from held-out groups' scores.

    With grouped cross-validation every group is tested once by a model that never
    saw it: the mean of those scores estimates a new group's, and their range shows
    how far one group can fall from it.

    Returns
    -------
    dict
        ``new_group_macro_f1`` (mean), ``new_group_macro_f1_min``,
        ``new_group_macro_f1_max`` and ``new_groups`` (how many); empty without groups.
    """
    values = [float(g["macro_f1"]) for g in groups if g.get("macro_f1") == g.get("macro_f1")]
    if not values:
        return {}
    return {
        "new_group_macro_f1": float(np.mean(values)),
        "new_group_macro_f1_min": float(min(values)),
        "new_group_macro_f1_max": float(max(values)),
        "new_groups": float(len(values)),
    }


def weak_group_lines(
    by: str, groups: Sequence[Mapping[str, Any]], margin: float = WEAK_GROUP_MARGIN,
    threshold: float | None = None,
) -> list[str]:  # fmt: skip
    """One warning line per weak group (:func:`weak_groups`), saying which rule it failed."""
    lines = []
    for g in weak_groups(groups, margin, threshold):
        gap = g["others"] - g["macro_f1"]
        why = (
            f"{gap:.2f} below the other {by}s' mean {g['others']:.3f}"
            if gap == gap and gap > margin
            else f"below the threshold {threshold:.2f}"
        )
        lines.append(f"weak {by} {g['group']}: test macro F1 {g['macro_f1']:.3f}, {why}")
    return lines


def new_group_text(values: Mapping[str, Any], word: str = "player") -> str | None:
    """The score to expect on a new ``word`` (player) in words, or None without one.

    ``values`` holds :func:`new_group_estimate`'s names (a run's metrics, or a results
    row), e.g. ``"to expect on a new player: 0.937 (held-out players 0.77–0.99, 6
    players)"``: the mean over the held-out groups, their range and how many.
    """

    def number(name: str) -> float | None:
        value = values.get(name)
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return value if np.isfinite(value) else None

    mean = number("new_group_macro_f1")
    if mean is None:
        return None
    low, high = number("new_group_macro_f1_min"), number("new_group_macro_f1_max")
    count = number("new_groups")
    parts = []
    if low is not None and high is not None:
        parts.append(f"held-out {word}s {low:.2f}–{high:.2f}")
    if count:
        parts.append(f"{int(count)} {word}{'s' if int(count) != 1 else ''}")
    return f"to expect on a new {word}: {mean:.3f}" + (f" ({', '.join(parts)})" if parts else "")


def split_warnings(
    by: str,
    val_score: float,
    test_score: float,
    groups: Sequence[Mapping[str, Any]],
    val_groups: Sequence[str] = (),
    missing: Mapping[str, Sequence[str]] | None = None,
    fold: int | None = None,
    gap: float = VAL_TEST_GAP,
    margin: float | None = WEAK_GROUP_MARGIN,
) -> list[str]:
    """One line per thing a researcher must not miss in one split's scores.

    Parameters
    ----------
    by : str
        What a group is (player, session, video).
    val_score, test_score : float
        The split's validation and test stroke macro F1.
    groups : sequence of mapping
        Its test groups' scores (:func:`group_scores`).
    val_groups : sequence of str
        Its validation groups.
    missing : mapping of str to sequence of str, optional
        Part ("validation", "test") -> the classes that part has no stroke of.
    fold : int, optional
        The fold, named in each line.
    gap, margin : float
        The validation-test gap and the weak-group margin (:func:`weak_groups`) to
        flag; ``margin=None`` leaves weak groups to the caller (folds are compared
        over every held-out group: :func:`weak_group_lines`).

    Returns
    -------
    list of str
        Weak groups, a validation-test gap, a thin validation split, missing classes.
    """
    where = f"fold {fold}: " if fold is not None else ""
    lines = [] if margin is None else weak_group_lines(by, groups, margin)
    if val_score == val_score and test_score == test_score and abs(val_score - test_score) > gap:
        tested = ", ".join(str(g["group"]) for g in groups) or "the test split"
        lines.append(
            f"{where}validation {val_score:.3f} against test {test_score:.3f} on {tested}: "
            f"validation does not predict the held-out {by}s here (gap above {gap:.2f})"
        )
    if val_groups and len(val_groups) <= THIN_VALIDATION:
        lines.append(
            f"{where}the validation split holds {len(val_groups)} {by}"
            f"{'s' if len(val_groups) > 1 else ''} ({', '.join(map(str, val_groups))}): its "
            "ranking reflects them; use cv_folds (e.g. 'loo') or record more players"
        )
    for part, classes in (missing or {}).items():
        if classes:
            lines.append(
                f"{where}no {', '.join(classes)} stroke in the {part} split: that class is "
                "not scored there; use cv_folds or annotate more of it"
            )
    return lines


# --------------------------------------------------------------------------- the verdict
# The finalists' verdict: a Student-t interval of each mean at INTERVAL_LEVEL, and a
# one-sided Welch's t-test against the best at TIE_LEVEL.
INTERVAL_LEVEL = 0.95
TIE_LEVEL = 0.05
TIE_TEST = "one-sided Welch's t-test"


def tie_method(finalists: bool) -> str:
    """How a search decides which runs the data cannot separate from its winner: over
    the finalists' seeds, else over the validation strokes."""
    if finalists:
        return f"{TIE_TEST} over the finalists' seeds at the {TIE_LEVEL:.0%} level"
    return f"{BOOTSTRAP_TEST}, {BOOTSTRAP_LEVEL:.0%} interval of the difference"


def verdict(groups: Mapping[str, list[float]]) -> list[dict[str, Any]]:
    """Each finalist's mean, interval and tie with the best, from its scores over seeds.

    Parameters
    ----------
    groups : mapping of str to list of float
        Config id -> the finite selection-metric scores of its repeats (non-empty).

    Returns
    -------
    list of dict
        Best mean first: ``config_id``, ``scores``, ``mean``, ``low``, ``high`` (the
        :data:`INTERVAL_LEVEL` Student-t interval; NaN with one score), ``tied`` (a
        :data:`TIE_TEST` at :data:`TIE_LEVEL` does not find it worse than the best;
        :func:`tennis_lab.evaluation.tied_with_best`) and ``p`` (that test's p-value;
        1 for the best).
    """
    if not groups:
        return []
    tied = tied_with_best(groups, level=TIE_LEVEL)
    best = next(iter(tied))
    out = []
    for cid, is_tied in tied.items():
        mean, low, high = mean_interval(groups[cid], INTERVAL_LEVEL)
        p = 1.0 if cid == best else worse_than_best_p(groups[best], groups[cid])
        out.append({
            "config_id": cid, "scores": list(groups[cid]), "mean": mean, "low": low,
            "high": high, "tied": is_tied, "p": p,
        })  # fmt: skip
    return out


def run_warnings(result: Mapping[str, Any], weak_group: float | None = None) -> list[str]:
    """A run's warning lines (what its notebook wrote), and with ``weak_group`` also each
    held-out group scoring below that macro F1 that the run did not flag already."""
    lines = list(result.get("warnings") or [])
    if weak_group is not None:
        by = (result.get("data") or {}).get("split_by") or "group"
        groups = result.get("groups") or []
        lines += [
            line for line in weak_group_lines(by, groups, threshold=weak_group) if line not in lines
        ]
    return lines
