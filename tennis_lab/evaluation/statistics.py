"""Statistics of scores: Student-t intervals, ties with the best (Welch's t-test),
the paired bootstrap over strokes, and the finalists' verdict."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tennis_lab.evaluation.inputs import EvaluationError, whole_number
from tennis_lab.evaluation.scoring import macro_f1


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
    resamples = whole_number(resamples, "resamples", 1)
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
