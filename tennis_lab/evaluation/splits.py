"""Grouped train / validation / test splits and cross-validation folds.

Groups
    A split never puts one group in two parts. The group of a video is its player
    (``split_by="player"``), its session (``"session"``) or the video itself
    (``"video"``); ``"auto"`` means player when the metadata (``videos.csv``) names
    players, else video. A video whose player (or session) is unknown is a group
    of its own. Splits and folds are made from the *annotated strokes* of each
    group, never from windows, so every windowing configuration gets the same
    parts for the same seed.

:func:`make_split` and :func:`make_folds` take any object with the attributes of
:class:`tennis_lab.windows.WindowSet` they use (``groups``, ``strokes``, ``videos``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tennis_lab.evaluation.inputs import EvaluationError

SPLIT_BY = ("auto", "video", "player", "session")
PARTS = ("train", "val", "test")
LEAVE_ONE_OUT = "loo"


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


def check_split_by(split_by: str) -> str:
    """Validate ``split_by`` (one of :data:`SPLIT_BY`) before any data is loaded."""
    if split_by not in SPLIT_BY:
        raise EvaluationError(
            f"split_by={split_by!r} is not one of {list(SPLIT_BY)}: split by video, by player "
            "or by session (both from videos.csv), or auto (player when known, else video).",
            key="split_by",
            value=split_by,
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
                "split_by='video'.",
                key="split_by",
                value=split_by,
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
            raise EvaluationError(
                f"{name} must be between 0 and 1; got {frac}.", key=name, value=frac
            )
    if val_fraction + test_fraction >= 1:
        raise EvaluationError(
            f"val_fraction + test_fraction must be below 1; got {val_fraction + test_fraction}.",
            key="val_fraction",
            value=val_fraction,
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
            f"{_short(names, 12)}. Correct the names (see videos.csv), or leave test_groups empty.",
            key="test_groups",
            value=list(test_groups),
        )
    counts = _counts(groups, y, names)
    if pinned:
        free = np.array([i for i, g in enumerate(names) if g not in pinned], dtype=np.int64)
        if len(free) < 2:
            raise EvaluationError(
                f"with test_groups {pinned}, {_named(by, len(free))} remain for train and "
                f"validation; at least 2 are needed. Pin fewer test groups or add recordings.",
                key="test_groups",
                value=list(test_groups),
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
                ),
                key="split_by",
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
        raise EvaluationError(
            "group_folds needs cv_folds >= 2 or 'loo'; use split_by_group.",
            key="cv_folds",
            value=folds,
        )
    n = len(names)
    if k == 0:  # leave one group out
        if n < 3:
            raise EvaluationError(
                f"leave-one-{by}-out needs at least 3 {by}s with annotated strokes (one to test, "
                f"two for train and validation); got {_named(by, n)}.",
                key="cv_folds",
                value=folds,
            )
        splitter = LeaveOneGroupOut()
    else:
        if k > n:
            raise EvaluationError(
                f"cv_folds={k} needs at least {k} {by}s with annotated strokes (each fold tests "
                f"other {by}s); got {_named(by, n)}. Lower cv_folds, or use cv_folds='loo'.",
                key="cv_folds",
                value=folds,
            )
        if n - int(np.ceil(n / k)) < 2:
            raise EvaluationError(
                f"cv_folds={k} over {_named(by, n)} leaves fewer than 2 {by}s for train and "
                "validation in some fold. Lower cv_folds or add recordings.",
                key="cv_folds",
                value=folds,
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
                "cv_folds or add recordings.",
                key="cv_folds",
                value=folds,
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
            f"grouped k-fold cross-validation) or 'loo' (leave one group out); got {folds!r}.",
            key="cv_folds",
            value=folds,
        )
    return int(folds)


def check_evaluation_params(
    split_by: str, cv_folds: int | str, test_groups: Sequence[str] = ()
) -> int:
    """Validate the evaluation settings together; return k (1: one split, 0: ``"loo"``).

    The checks are the run parameters' own (:mod:`tennis_lab.params`); an error names
    the parameter in ``key``.
    """
    from tennis_lab import params as contract

    with contract.reported_as(EvaluationError):
        contract.check({"split_by": split_by, "cv_folds": cv_folds, "test_groups": test_groups})
    return contract.folds_of(cv_folds)


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
                "larger overlap, another seed, or add recordings.",
                key="window_size",
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
                    "window_size, fewer folds, or add recordings.",
                    key="window_size",
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
