"""Standings of a search's runs: the leaderboard, the one winner, the runs the data
cannot separate from it, and the runs' warnings.

A finished search writes its verdict into the table (:data:`VERDICT_COLUMNS`): each
configuration's ``rank`` (equal scores, equal ranks), the one ``winner`` (the
registered champion), ``tied_with_best`` and the paired-bootstrap ``diff_to_best``,
and each run's ``warnings``. The functions here follow it, so the report names the
run the console and the registry name; tables without it (older searches, MLflow's
children) fall back to the ranking by the metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tennis_lab.analysis.columns import (
    _flags,
    _is_repeat,
    _metric,
    _number,
    _ranked,
    _winner_flags,
    std_column,
    varied_parameters,
)
from tennis_lab.results import (
    NEW_GROUP_METRIC,
    SELECTION_METRIC,
    STATUS_COMPLETED,
    TEST_STROKE_METRIC,
    WARNINGS_SEPARATOR,
    WORST_GROUP_METRIC,
)


def leaderboard(df: pd.DataFrame, k: int = 10, metric: str | None = None) -> pd.DataFrame:
    """The best ``k`` runs by ``metric``, with equal ranks for equal scores.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table.
    k : int
        How many runs.
    metric : str, optional
        Column to rank by, higher is better. Default: :func:`selection_metric`.

    Returns
    -------
    pandas.DataFrame
        Index ``rank``: the search's own ``rank`` column where the table has one and
        ``metric`` is the selection metric (the rows it ranked: each completed
        trial's last rung, a finalist's best repeat in place of its trial; the
        winner first); else the completed runs ranked by ``metric`` (ties by run
        number). Either way equal scores share a rank (1, 2, 2, 4), as
        scikit-learn's ``rank_test_score``. Columns run_number, verdict (from the
        search's verdict, where the table has one: ``winner``, ``tied`` (the data
        cannot separate it from the winner), ``behind``, or ``""`` where it was not
        compared), ``metric`` and ``<metric>_std``, diff_to_best with diff_ci_low
        and diff_ci_high, new_group_macro_f1, test_stroke_macro_f1 and its ``_std``,
        worst_group_macro_f1, macro_f1_score (test windows), test_accuracy,
        training_time_minutes, warnings (how many: :func:`warnings_table` lists
        them), the varied parameters, notebook (those present; a ``_std`` only
        where the table has it). worst_group_macro_f1 comes without a std: in a
        cross-validated run it is the worst group over all folds, a minimum rather
        than a mean. No rows when nothing completed.
    """
    metric = _metric(df, metric)
    ranked, ranks = _board_rows(df, metric)
    wanted = ["run_number", "verdict", metric, std_column(metric), "diff_to_best",
              "diff_ci_low", "diff_ci_high", NEW_GROUP_METRIC, TEST_STROKE_METRIC,
              std_column(TEST_STROKE_METRIC), WORST_GROUP_METRIC, "macro_f1_score",
              "test_accuracy", "training_time_minutes", "warnings"]  # fmt: skip
    wanted += varied_parameters(df) + ["notebook"]
    if has_verdict(df, metric) or _winner_flags(df).any():
        ranked = ranked.assign(verdict=_verdicts(ranked))
    if "warnings" in ranked.columns:
        ranked = ranked.assign(warnings=[len(warning_lines(v)) for v in ranked["warnings"]])
    present = set(df.columns) | set(ranked.columns) | {metric}
    columns = [c for c in dict.fromkeys(wanted) if c in present]
    top = ranked.head(max(int(k), 0)).reindex(columns=columns)
    top.index = pd.Index(ranks.head(max(int(k), 0)).to_numpy(dtype=int), name="rank")
    return top


def _board_rows(df: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, pd.Series]:
    """The leaderboard's rows, best first, and their ranks (equal scores, equal ranks)."""
    rows = _standing_rows(df, metric)
    if rows is not None:
        return rows, pd.to_numeric(rows["rank"], errors="coerce").astype(int)
    rows = _ranked(df, metric)
    if rows.empty:
        return rows, pd.Series(dtype=int)
    ranks = rows[metric].astype(float).round(12).rank(method="min", ascending=False)
    return rows, ranks.astype(int)


def has_verdict(df: pd.DataFrame, metric: str | None = None) -> bool:
    """Whether the table holds the search's verdict (its ``rank`` column, with the
    winner and the ties) for ``metric`` (default :func:`selection_metric`)."""
    return _standing_rows(df, _metric(df, metric)) is not None


def _standing_rows(df: pd.DataFrame, metric: str) -> pd.DataFrame | None:
    """The rows the search ranked (its ``rank`` column), completed, best first.

    None when the table has no ranks, or ``metric`` is not the selection metric
    (the search ranks by that one alone). Equal ranks: the winner first, then by run
    number.
    """
    if metric != SELECTION_METRIC or "rank" not in df.columns:
        return None
    ranks = pd.to_numeric(df["rank"], errors="coerce")
    if ranks.isna().all():
        return None
    keep = ranks.notna()
    if "status" in df.columns:
        keep &= df["status"].astype(object) == STATUS_COMPLETED
    values = pd.to_numeric(df.get(metric, pd.Series(np.nan, index=df.index)), errors="coerce")
    keep &= values.notna()
    rows = df[keep].assign(**{metric: values[keep]})
    order = pd.DataFrame({
        "rank": ranks[keep], "winner": ~_winner_flags(rows),
        "number": pd.to_numeric(rows.get("run_number", ranks[keep]), errors="coerce"),
    })  # fmt: skip
    return rows.loc[order.sort_values(["rank", "winner", "number"], kind="stable").index]


def _verdicts(rows: pd.DataFrame) -> list[str]:
    """Each ranked row against the winner: winner, tied, behind, or "" (not compared).

    With finalists, only their repeats were compared with the winner (over seeds); a
    search row's ``tied_with_best`` compares it with the best search run instead.
    """
    winner, tied, repeat = _winner_flags(rows), _flags(rows, "tied_with_best"), _is_repeat(rows)
    finalists = bool(repeat.any())
    low = pd.to_numeric(rows.get("diff_ci_low", pd.Series(np.nan, index=rows.index)),
                        errors="coerce")  # fmt: skip
    out = []
    for i in rows.index:
        if winner[i]:
            out.append("winner")
        elif finalists and not repeat[i]:
            out.append("")
        elif tied[i]:
            out.append("tied")
        else:
            out.append("behind" if repeat[i] or not pd.isna(low[i]) else "")
    return out


def winner_row(df: pd.DataFrame, metric: str | None = None) -> pd.Series | None:
    """The one winner: the run the search registered as the champion.

    The completed row the ``winner`` column marks, when ``metric`` is the selection
    metric (the search's console and the model registry name the same run; with
    finalists it is a repeat). Otherwise (older tables, another metric, a table
    without a winner) the top of :func:`leaderboard`. None when nothing ranks.
    """
    metric = _metric(df, metric)
    if metric == SELECTION_METRIC:
        flags = _winner_flags(df)
        if "status" in df.columns:
            flags &= df["status"].astype(object) == STATUS_COMPLETED
        if flags.any():
            return df[flags].iloc[0]
    rows, _ = _board_rows(df, metric)
    return rows.iloc[0] if len(rows) else None


def undecided_runs(df: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """The ranked runs the data cannot separate from the winner, the winner first.

    From the search's verdict (``tied_with_best`` on the rows it ranked; with
    finalists, only the finalists count: they were compared over seeds). No rows
    when the winner is separated from every other run, or the table has no verdict.
    """
    metric = _metric(df, metric)
    rows = _standing_rows(df, metric)
    if rows is None:
        return df.iloc[0:0]
    repeat = _is_repeat(rows)
    pool = rows[repeat] if repeat.any() else rows
    tied = pool[_flags(pool, "tied_with_best") | _winner_flags(pool)]
    tied = tied.loc[(~_winner_flags(tied)).sort_values(kind="stable").index]
    return tied if len(tied) > 1 else tied.iloc[0:0]


def tied_with_best(df: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """The runs the best run is not clearly ahead of, by ``metric``.

    Where the table holds the search's verdict (:func:`has_verdict`), these are the
    runs it found the data cannot separate from the winner (:func:`undecided_runs`:
    a paired bootstrap over the validation strokes, or with finalists a Welch's
    t-test over their seeds). Otherwise (older tables, another metric) a rough rule:
    a run is tied with the best when their intervals of mean ± one std
    (``<metric>_std``, the sample std over a cross-validated run's folds) overlap,
    i.e. ``best - mean <= best_std + std``; a run without a std counts as std 0, so
    two single-split runs are tied only when their scores are equal.

    Parameters
    ----------
    df : pandas.DataFrame
    metric : str, optional
        Default: :func:`selection_metric`.

    Returns
    -------
    pandas.DataFrame
        The tied runs, best first, without the best itself: index ``rank`` (as in
        :func:`leaderboard`), columns run_number, ``metric``, ``<metric>_std``. No rows
        when nothing is tied or nothing completed.
    """
    metric = _metric(df, metric)
    spread = std_column(metric)
    columns = ["run_number", metric, spread]
    if has_verdict(df, metric):
        _, ranks = _board_rows(df, metric)
        tied = undecided_runs(df, metric)
        tied = tied[~_winner_flags(tied)]
        table = tied.reindex(columns=columns)
        table.index = pd.Index(ranks[tied.index].to_numpy(dtype=int), name="rank")
        return table
    ranked, ranks = _board_rows(df, metric)
    table = ranked.reindex(columns=columns)
    table.index = pd.Index(ranks.to_numpy(dtype=int), name="rank")
    if len(table) < 2:
        return table.iloc[0:0]
    means = table[metric].astype(float)
    stds = pd.to_numeric(table[spread], errors="coerce").fillna(0.0).clip(lower=0.0)
    best, best_std = float(means.iloc[0]), float(stds.iloc[0])
    tied = (best - means) <= (best_std + stds) + 1e-12
    tied.iloc[0] = False
    return table[tied.to_numpy()]


def warning_lines(value: Any) -> list[str]:
    """A ``warnings`` cell as its lines (split at :data:`WARNINGS_SEPARATOR`); none if empty."""
    if not isinstance(value, str):
        return []
    return [line.strip() for line in value.split(WARNINGS_SEPARATOR) if line.strip()]


def warnings_table(df: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Every warning of the ranked runs, one row per line: the winner's first.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table (its ``warnings`` column: weak players, validation-test gaps,
        a thin validation split, a class missing from a split).
    metric : str, optional
        The ranking; default :func:`selection_metric`.

    Returns
    -------
    pandas.DataFrame
        Index run_number; column warning (not escaped:
        :func:`tennis_lab.report.markup.table_html` does it). The rows of the
        leaderboard's runs in rank order, the winner first (also when it is not on
        the leaderboard). No rows without warnings.
    """
    metric = _metric(df, metric)
    rows, _ = _board_rows(df, metric)
    best = winner_row(df, metric)
    ordered = [row for i, row in rows.iterrows() if best is None or i != best.name]
    entries = [
        (_number(row.get("run_number")), line)
        for row in ([best] if best is not None else []) + ordered
        for line in warning_lines(row.get("warnings"))
    ]
    table = pd.DataFrame(entries, columns=["run_number", "warning"])
    table["run_number"] = table["run_number"].astype("Int64")
    return table.set_index("run_number")


def winner_warnings(df: pd.DataFrame, metric: str | None = None) -> list[str]:
    """The winner's warnings as the run wrote them (weak players, validation-test gaps,
    a thin validation split, a class missing from a split; not escaped)."""
    best = winner_row(df, metric)
    return [] if best is None else warning_lines(best.get("warnings"))


def warned_runs(df: pd.DataFrame, metric: str | None = None) -> list[int]:
    """Run numbers of the ranked runs other than the winner that have warnings."""
    metric = _metric(df, metric)
    rows, _ = _board_rows(df, metric)
    best = winner_row(df, metric)
    others = rows.drop(index=best.name) if best is not None and best.name in rows.index else rows
    return [
        _number(row.get("run_number")) for _, row in others.iterrows()
        if warning_lines(row.get("warnings"))
    ]  # fmt: skip
