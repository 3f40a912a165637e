"""Tables of a search's completed runs: how a metric varies with a parameter, pairs of
parameters, parameter importance, the Pareto front, class balance, overfitting; a
run's groups and folds; scores with their spread as text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tennis_lab.analysis.columns import (
    _float,
    _is_numeric,
    _keys,
    _metric,
    _ranked,
    _require,
    class_names,
    completed,
    std_column,
    varied_parameters,
)
from tennis_lab.analysis.prose import plural, score_text
from tennis_lab.results import VAL_WINDOW_METRIC, ordered_values

_MAX_UNBINNED = 10  # a numeric parameter with more distinct values is binned for importance
_BINS = 5
_MIN_RUNS = 10
_MIN_RUNS_PER_VALUE = 3
_GROUP_COLUMNS = ("group", "handedness", "strokes", "macro_f1", "accuracy", "fold", "videos")


def value_table(
    df: pd.DataFrame, param: str, metric: str | None = None, k: int = 5
) -> pd.DataFrame:
    """How ``metric`` varies with the values of one parameter.

    Parameters
    ----------
    df : pandas.DataFrame
    param : str
        A parameter column.
    metric : str, optional
        Default: :func:`selection_metric`.
    k : int
        Size of the top group the shares compare.

    Returns
    -------
    pandas.DataFrame
        Index: the parameter's values (in value order). Columns runs, mean, median,
        min, max of ``metric``; share_top_k (share of the top ``k`` runs with this
        value) and share_all (share of all ranked runs).
    """
    _require(df, param)
    metric = _metric(df, metric)
    columns = ["runs", "mean", "median", "min", "max", "share_top_k", "share_all"]
    ranked = _ranked(df, metric)
    if ranked.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name=param))
    keys = _keys(ranked[param])
    top = keys.head(max(int(k), 0))
    stats = (
        ranked[metric]
        .groupby(keys, dropna=False, sort=False)
        .agg(["count", "mean", "median", "min", "max"])
    )
    stats = stats.rename(columns={"count": "runs"})
    stats["share_top_k"] = [float((top == v).sum() / max(len(top), 1)) for v in stats.index]
    stats["share_all"] = stats["runs"] / len(ranked)
    stats = stats.loc[ordered_values(stats.index)]
    stats.index.name = param
    return stats[columns]


def interaction_table(df: pd.DataFrame, a: str, b: str, metric: str | None = None) -> pd.DataFrame:
    """Mean ``metric`` for each pair of values of parameters ``a`` (rows) and ``b`` (columns).

    Returns
    -------
    pandas.DataFrame
        NaN where no completed run has the pair; empty when nothing completed.
    """
    _require(df, a, b)
    metric = _metric(df, metric)
    ranked = _ranked(df, metric)
    if ranked.empty:
        return pd.DataFrame(index=pd.Index([], name=a), columns=pd.Index([], name=b))
    table = ranked.assign(**{a: _keys(ranked[a]), b: _keys(ranked[b])}).pivot_table(
        index=a, columns=b, values=metric, aggfunc="mean", dropna=False
    )
    return table.reindex(index=ordered_values(table.index), columns=ordered_values(table.columns))


def _groups(values: pd.Series) -> tuple[pd.Series, bool]:
    """Group keys for importance: numeric parameters with many values in quantile bins."""
    if _is_numeric(values) and values.nunique() > _MAX_UNBINNED:
        return pd.qcut(values, _BINS, duplicates="drop").astype(str), True
    return _keys(values).astype(object).where(values.notna(), "None"), False


def parameter_importance(
    df: pd.DataFrame, metric: str | None = None
) -> tuple[pd.DataFrame, str | None]:
    """How much of the variance of ``metric`` each varied parameter explains.

    For each varied parameter, eta squared: the between-group sum of squares over the
    total sum of squares when the completed runs are grouped by its value. A numeric
    parameter with more than 10 distinct values (random search draws) is grouped into
    5 quantile bins, or every run would be a group of its own.

    Parameters
    ----------
    df : pandas.DataFrame
    metric : str, optional
        Default: :func:`selection_metric`.

    Returns
    -------
    importance : pandas.DataFrame
        Columns parameter, eta_squared (0 to 1; NaN when the metric does not vary),
        groups, runs_per_group, binned; sorted by eta_squared, highest first.
    caution : str or None
        Why the numbers are rough: fewer than 10 completed runs, or fewer than 3 runs
        per value of a parameter on average; None otherwise.
    """
    columns = ["parameter", "eta_squared", "groups", "runs_per_group", "binned"]
    metric = _metric(df, metric)
    ranked = _ranked(df, metric)
    n = len(ranked)
    if n == 0:
        return pd.DataFrame(columns=columns), f"No completed runs with {metric}: no importances."
    y = ranked[metric].astype(float)
    total = float(((y - y.mean()) ** 2).sum())
    rows = []
    for param in varied_parameters(ranked):
        keys, binned = _groups(ranked[param])
        grouped = y.groupby(keys.to_numpy(), dropna=False)
        between = float((grouped.count() * (grouped.mean() - y.mean()) ** 2).sum())
        eta = between / total if total > 0 else float("nan")
        groups = int(grouped.ngroups)
        rows.append([param, eta, groups, n / groups, binned])
    table = pd.DataFrame(rows, columns=columns)
    table = table.sort_values("eta_squared", ascending=False, kind="stable", na_position="last")
    table = table.reset_index(drop=True)

    reasons = []
    if n < _MIN_RUNS:
        reasons.append(f"fewer than {_MIN_RUNS} completed runs")
    thin = table.loc[table["runs_per_group"] < _MIN_RUNS_PER_VALUE, "parameter"].tolist()
    if thin:
        reasons.append(
            f"under {_MIN_RUNS_PER_VALUE} runs per value on average for {', '.join(thin)}"
        )
    if table.empty:
        reasons.append("no parameter varies")
    caution = None
    if reasons:
        caution = (
            f"With {plural(n, 'run')}, importances are rough: {'; '.join(reasons)}. "
            "A parameter can look important by chance; run more combinations to be sure."
        )
    return table, caution


def pareto_front(
    df: pd.DataFrame,
    maximize: str | None = None,
    minimize: str = "training_time_minutes",
) -> pd.Series:
    """Which completed runs are on the trade-off front of two metrics.

    A run is on the front when no other run is at least as good on both (``maximize``
    higher, ``minimize`` lower) and strictly better on one. Runs with the same values
    are all on the front or none is. ``maximize`` defaults to :func:`selection_metric`.

    Returns
    -------
    pandas.Series of bool
        Aligned with ``df``; False for runs that are not COMPLETED or lack a value.
    """
    front = pd.Series(False, index=df.index, name="pareto")
    done = completed(df)
    if done.empty:
        return front
    maximize = _metric(df, maximize)
    _require(df, maximize, minimize)
    good = pd.to_numeric(done[maximize], errors="coerce").to_numpy(dtype=float)
    cost = pd.to_numeric(done[minimize], errors="coerce").to_numpy(dtype=float)
    ok = ~(np.isnan(good) | np.isnan(cost))
    good, cost, index = good[ok], cost[ok], done.index[ok]
    if len(index) == 0:
        return front
    # dominated[i, j]: run j dominates run i.
    at_least = (good[None, :] >= good[:, None]) & (cost[None, :] <= cost[:, None])
    strictly = (good[None, :] > good[:, None]) | (cost[None, :] < cost[:, None])
    dominated = (at_least & strictly).any(axis=1)
    front.loc[index] = ~dominated
    return front


def class_balance(
    df: pd.DataFrame, k: int = 5, metric: str | None = None, threshold: float = 0.15
) -> pd.DataFrame:
    """Per-class recall (test windows) of the best ``k`` runs by ``metric`` (default:
    :func:`selection_metric`), and whether it is unbalanced.

    A run is unbalanced when its weakest class falls more than ``threshold`` below
    the run's own mean recall over classes: one class left behind. The gap between
    the highest and lowest recall alone would flag nearly every run of an easy class
    (serves are recalled at ~1.0), which says nothing about the weak one.

    Returns
    -------
    pandas.DataFrame
        Index ``rank``; columns run_number, ``metric``, ``<class>_recall`` per class,
        spread (highest minus lowest recall), shortfall (mean minus lowest recall),
        weakest_class, unbalanced (shortfall > ``threshold``).
    """
    recalls = [f"{c}_recall" for c in class_names(df)]
    metric = _metric(df, metric)
    top = _ranked(df, metric).head(max(int(k), 0))
    columns = [c for c in ("run_number", metric) if c in df.columns or c == metric]
    table = top.reindex(columns=columns + recalls).reset_index(drop=True)
    values = table[recalls].apply(pd.to_numeric, errors="coerce")
    table["spread"] = values.max(axis=1) - values.min(axis=1) if recalls else np.nan
    table["shortfall"] = values.mean(axis=1) - values.min(axis=1) if recalls else np.nan
    names = [r[: -len("_recall")] for r in recalls]
    table["weakest_class"] = [_weakest(row, names) for row in values.to_numpy(dtype=float)]
    table["unbalanced"] = (table["shortfall"] > threshold).astype(bool)
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table


def _weakest(recalls: np.ndarray, names: list[str]) -> str:
    """The class of the lowest recall in one row ("" when no recall is known)."""
    known = [(v, name) for v, name in zip(recalls, names, strict=True) if not np.isnan(v)]
    return min(known)[1] if known else ""


def overfitting(
    df: pd.DataFrame, k: int | None = None, gap: float = 0.10, metric: str | None = None
) -> pd.DataFrame:
    """Train against validation macro F1 of the completed runs, best run first.

    Train macro F1 is only scored on windows, so the gap compares like with like: train
    minus validation macro F1 over windows (``val_macro_f1_score``). The runs are
    still ranked by ``metric``.

    Parameters
    ----------
    df : pandas.DataFrame
    k : int, optional
        Only the best ``k`` runs; all when None.
    gap : float
        A train minus validation macro F1 above this flags overfitting.
    metric : str, optional
        The ranking; default :func:`selection_metric`.

    Returns
    -------
    pandas.DataFrame
        Index ``rank``; columns run_number, ``metric``, train_macro_f1_score,
        val_macro_f1_score, macro_f1_score (test windows), train_val_gap,
        overfitting; ``val_macro_f1_score_std`` and ``macro_f1_score_std`` (from
        ``macro_avg_f1_score_std``) when the table has spreads over folds.
    """
    metric = _metric(df, metric)
    ranked = _ranked(df, metric)
    if k is not None:
        ranked = ranked.head(max(int(k), 0))
    if std_column("macro_avg_f1_score") in ranked.columns:
        ranked = ranked.assign(macro_f1_score_std=ranked[std_column("macro_avg_f1_score")])
    scores = ["train_macro_f1_score", VAL_WINDOW_METRIC, "macro_f1_score"]
    spreads = [std_column(c) for c in scores[1:] if std_column(c) in ranked.columns]
    columns = list(dict.fromkeys(["run_number", metric, *scores]))
    table = ranked.reindex(columns=columns).reset_index(drop=True)
    train = pd.to_numeric(table["train_macro_f1_score"], errors="coerce")
    val = pd.to_numeric(table[VAL_WINDOW_METRIC], errors="coerce")
    table["train_val_gap"] = train - val
    table["overfitting"] = (table["train_val_gap"] > gap).astype(bool)
    for column in spreads:
        table[column] = pd.to_numeric(ranked[column], errors="coerce").to_numpy()
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table


def groups_table(groups: list[dict[str, Any]]) -> pd.DataFrame:
    """Per-group test scores (as ``per_group.json`` / ``run_details()["groups"]``) as
    a table, worst macro F1 first.

    Returns
    -------
    pandas.DataFrame
        Index ``group``; columns handedness, strokes, macro_f1, accuracy, fold,
        videos (those present), then any others. Empty without groups.
    """
    table = pd.DataFrame(list(groups))
    if table.empty or "group" not in table.columns:
        return pd.DataFrame(index=pd.Index([], name="group"))
    if "macro_f1" in table.columns:
        table = table.assign(_score=pd.to_numeric(table["macro_f1"], errors="coerce"))
        table = table.sort_values(["_score", "group"], kind="stable", na_position="last")
        table = table.drop(columns="_score")
    first = [c for c in _GROUP_COLUMNS if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first]]
    return table.set_index("group")


def folds_table(folds: list[dict[str, Any]]) -> pd.DataFrame:
    """Per-fold headline metrics (as ``folds.json`` / ``run_details()["folds"]``),
    index ``fold``; empty without folds."""
    table = pd.DataFrame(list(folds))
    if table.empty:
        return pd.DataFrame(index=pd.Index([], name="fold"))
    if "fold" not in table.columns:
        table["fold"] = range(1, len(table) + 1)
    return table.sort_values("fold", kind="stable").set_index("fold")


def format_scores(board: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """``board`` with each ``<metric>`` that has a ``<metric>_std`` column as text
    ``"0.8123 ± 0.0400"`` (the value alone where the std is missing, ``""`` without a
    value) and the ``_std`` columns dropped; ``diff_to_best`` with its interval as
    ``"0.0200 [-0.0100, 0.0500]"`` and ``diff_ci_low``/``_high`` dropped. Other
    columns are left as they are."""
    out = board.copy()
    if {"diff_to_best", "diff_ci_low", "diff_ci_high"} <= set(out.columns):
        out["diff_to_best"] = [
            _diff_text(d, lo, hi, digits)
            for d, lo, hi in zip(out["diff_to_best"], out["diff_ci_low"], out["diff_ci_high"],
                                 strict=True)
        ]  # fmt: skip
        out = out.drop(columns=["diff_ci_low", "diff_ci_high"])
    for column in list(out.columns):
        spread = std_column(column)
        if spread in out.columns:
            out[column] = [
                "" if _float(v) is None else score_text(v, s, digits)
                for v, s in zip(out[column], out[spread], strict=True)
            ]
            out = out.drop(columns=spread)
    return out


def _diff_text(diff: Any, low: Any, high: Any, digits: int = 4) -> str:
    """``0.0200 [-0.0100, 0.0500]``; the difference alone without an interval; ``""``."""
    diff, low, high = (_float(pd.to_numeric(v, errors="coerce")) for v in (diff, low, high))
    if diff is None:
        return ""
    if low is None or high is None:
        return f"{diff:.{digits}f}"
    return f"{diff:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
