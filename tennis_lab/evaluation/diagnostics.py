"""Warnings a researcher must not miss: weak groups, the score to expect on a new
group (player), one split's warning lines and a run's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

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
