"""The finalists of a search: its best configurations re-run with other seeds, and the
verdict over their repeats (mean, Student-t interval, Welch's t-test against the best).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tennis_lab.analysis.columns import (
    _flag,
    _float,
    _keys,
    _number,
    _trial_keys,
    parameter_columns,
    repeat_rows,
    verdict_rows,
)
from tennis_lab.evaluation import INTERVAL_LEVEL, TIE_LEVEL, verdict
from tennis_lab.results import SELECTION_METRIC, STATUS_COMPLETED

_FINALIST_TABLE_COLUMNS = ("trial", "config_id", "mean", "ci_low", "ci_high", "repeats",
                           "tied", "best_run")  # fmt: skip


def _first_value(values: pd.Series) -> Any:
    """The first value of ``values`` that is not missing (None when there is none)."""
    present = values[values.notna()]
    return present.iloc[0] if len(present) else None


def _recorded(rows: pd.DataFrame, column: str) -> float | None:
    """The first number in ``rows[column]`` (None without the column or a number)."""
    if column not in rows.columns:
        return None
    return _float(_first_value(pd.to_numeric(rows[column], errors="coerce")))


def _finalist_trial(df: pd.DataFrame, config: str, recorded: Any) -> int | None:
    """The search trial a finalist came from: ``finalist_trial`` on its repeats, else the
    search trial with its config id (its verdict row)."""
    if recorded is not None:
        return int(recorded)
    rows = verdict_rows(df)
    if "config_id" not in rows.columns:
        return None
    trials = _trial_keys(rows)[rows["config_id"].astype(str) == config].dropna()
    return int(trials.iloc[0]) if len(trials) else None


def finalists_table(df: pd.DataFrame) -> pd.DataFrame:
    """The finalists of a search and the verdict over their repeats, by rank.

    A search run with finalists re-runs its top configurations from scratch with other
    seeds (rows of phase ``repeat``, with the finalist's config id). The verdict on
    those rows is used as the runner recorded it (``finalist`` rank by mean,
    ``finalist_mean``, ``finalist_ci_low``/``_high``, ``finalist_repeats``,
    ``tied_with_best``). While the repeats still run, the runner has not recorded it
    yet: then it is worked out here the runner's way from the repeats that completed
    with a score of :data:`SELECTION_METRIC` (mean and :data:`INTERVAL_LEVEL`
    Student-t interval, :func:`tennis_lab.evaluation.mean_interval`; tie with the best
    by a :data:`TIE_TEST` at :data:`TIE_LEVEL`,
    :func:`tennis_lab.evaluation.tied_with_best`) and ``attrs["provisional"]`` is True.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table.

    Returns
    -------
    pandas.DataFrame
        Index ``finalist`` (rank 1 = the best mean); columns trial (the search trial
        the finalist came from, None where unknown), config_id, the varied parameters
        (those the search varied, or that differ among the finalists; not those that
        differ between one finalist's repeats, the seed), mean, ci_low, ci_high
        (NaN with a single score), repeats (scored repeats), tied (bool: not found
        worse than the best; the best itself is True), best_run (run number of its
        best-scoring repeat, lower run number among equals; None without a score).
        A finalist none of whose repeats has a score comes last, with NaN mean and
        tied False. ``attrs``: ``provisional`` (bool), ``runs`` and ``done`` (repeat
        runs in all, and finished: COMPLETED or FAILED), ``metric``, ``level``,
        ``interval``. No rows when there are no repeats.
    """
    repeats = repeat_rows(df)
    params = _finalist_parameters(df, repeats)
    columns = ["trial", "config_id", *params, *_FINALIST_TABLE_COLUMNS[2:]]
    attrs = {"provisional": False, "runs": len(repeats), "metric": SELECTION_METRIC,
             "level": TIE_LEVEL, "interval": INTERVAL_LEVEL}  # fmt: skip
    status = repeats.get("status", pd.Series(STATUS_COMPLETED, index=repeats.index))
    attrs["done"] = int(status.astype(object).isin([STATUS_COMPLETED, "FAILED"]).sum())
    if repeats.empty or "config_id" not in repeats.columns:
        table = pd.DataFrame(columns=columns, index=pd.Index([], name="finalist"))
        table.attrs = attrs
        return table
    score = pd.to_numeric(
        repeats.get(SELECTION_METRIC, pd.Series(np.nan, index=repeats.index)), errors="coerce"
    )
    scored = (status.astype(object) == STATUS_COMPLETED) & score.notna()
    entries = []
    for config, rows in repeats.groupby(repeats["config_id"].astype(str), sort=False):
        mine = scored[rows.index]
        values = score[rows.index][mine]
        best_run = None
        if len(values):
            best = rows[mine].assign(_score=values)
            by = ["_score"] + (["run_number"] if "run_number" in best.columns else [])
            best = best.sort_values(by, ascending=[False] + [True] * (len(by) - 1)).iloc[0]
            best_run = _number(best.get("run_number"))

        entry = {
            "trial": _finalist_trial(df, config, _recorded(rows, "finalist_trial")),
            "config_id": config,
            **{p: _first_value(rows[p]) for p in params},
            "scores": values.tolist(),
            "best_run": best_run,
            "rank": _recorded(rows, "finalist"),
            "mean": _recorded(rows, "finalist_mean"),
            "ci_low": _recorded(rows, "finalist_ci_low"),
            "ci_high": _recorded(rows, "finalist_ci_high"),
            "repeats": _recorded(rows, "finalist_repeats"),
            "tied": _flag(_first_value(rows["tied_with_best"]))
            if "tied_with_best" in rows.columns
            else None,
        }
        entries.append(entry)
    with_scores = [e for e in entries if e["scores"]]
    if any(e["mean"] is None or e["rank"] is None or e["tied"] is None for e in with_scores):
        _work_out_verdict(with_scores)
        attrs["provisional"] = True
    for entry in entries:
        if entry["repeats"] is None:
            entry["repeats"] = len(entry["scores"])
        if not entry["scores"]:  # no repeat scored: no verdict
            entry.update(rank=None, mean=None, ci_low=None, ci_high=None, tied=False,
                         repeats=0)  # fmt: skip
    ranked = sorted(with_scores, key=lambda e: e["rank"])
    ranked += [e for e in entries if not e["scores"]]
    table = pd.DataFrame([{c: e.get(c) for c in columns} for e in ranked], columns=columns).astype(
        {"mean": float, "ci_low": float, "ci_high": float, "repeats": int, "tied": bool}
    )
    table["trial"] = table["trial"].astype("Int64")
    table["best_run"] = table["best_run"].astype("Int64")
    table.index = pd.RangeIndex(1, len(table) + 1, name="finalist")
    table.attrs = attrs
    return table


def _finalist_parameters(df: pd.DataFrame, repeats: pd.DataFrame) -> list[str]:
    """The parameters that tell finalists apart: those varied by the search (over its
    trials, whatever their outcome) or among the finalists, less those that vary
    within one finalist's repeats (the seed)."""
    if repeats.empty or "config_id" not in repeats.columns:
        return []
    trials = verdict_rows(df)
    keys = repeats["config_id"].astype(str)
    out = []
    for param in parameter_columns(repeats):
        values = _keys(repeats[param]).astype(object).where(repeats[param].notna(), "None")
        if values.groupby(keys).nunique().max() > 1:
            continue  # differs between repeats of one configuration: not a configuration's
        searched = param in trials.columns and _keys(trials[param]).nunique(dropna=False) > 1
        if searched or values.nunique() > 1:
            out.append(param)
    return out


def _work_out_verdict(entries: list[dict[str, Any]]) -> None:
    """Rank, mean, interval and tie of each scored finalist, as the runner records them
    (:func:`tennis_lab.evaluation.verdict`)."""
    found = verdict({e["config_id"]: e["scores"] for e in entries})
    by_config = {v["config_id"]: (rank, v) for rank, v in enumerate(found, 1)}
    for entry in entries:
        rank, v = by_config[entry["config_id"]]
        entry.update(rank=rank, mean=v["mean"], ci_low=_float(v["low"]),
                     ci_high=_float(v["high"]), tied=v["tied"],
                     repeats=len(entry["scores"]))  # fmt: skip
