"""The state of a search in numbers: runs by status, trials, rungs, repeats, the
winner and its scores, errors of the failed runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tennis_lab.analysis.columns import (
    _float,
    _metric,
    _number,
    _ranked,
    _rungs,
    completed,
    cross_validated,
    group_word,
    repeat_rows,
    std_column,
    verdict_rows,
)
from tennis_lab.analysis.prose import new_group_text
from tennis_lab.analysis.standings import undecided_runs, winner_row
from tennis_lab.results import (
    SELECTION_METRIC,
    STATUS_COMPLETED,
    STATUS_PRUNED,
    TEST_STROKE_METRIC,
    VAL_WINDOW_METRIC,
    WORST_GROUP_METRIC,
)


def search_overview(df: pd.DataFrame, metric: str | None = None) -> dict[str, Any]:
    """The state of a search in numbers.

    Parameters
    ----------
    df : pandas.DataFrame
    metric : str, optional
        The ranking; default :func:`selection_metric`.

    Returns
    -------
    dict
        runs, completed, failed, running, killed (counts); metric (the ranking used);
        best_run (run number of :func:`winner_row`, the one winner; None when
        nothing completed) with best_run_id, best_phase (``repeat`` for a
        finalist's repeat, else None or ``search``), best_finalist_trial,
        best_score and best_score_std (its ``metric`` and spread),
        best_val_stroke_macro_f1, best_test_stroke_macro_f1,
        best_worst_group_macro_f1, best_val_macro_f1_score (windows),
        best_macro_f1_score (test windows), best_test_accuracy, best_new_group
        (:func:`new_group_text`) (None where the table has no such value);
        undecided (run numbers the data cannot separate from the winner, the winner
        first; empty when separated or unknown); group_word (player, session, video
        or group, of the best run); cross_validated (completed runs with folds);
        unranked (run numbers of completed runs without a value of ``metric``); errors:
        ``[{"error", "count", "runs"}]`` of the failed runs, most common first.
        For a strategy's search also: strategy (its name, None for an older
        table; several joined by ", "), trials (search trials, each counted once
        however many rungs it ran), pruned (trials stopped by the strategy: their
        last rung is PRUNED), rungs (the highest rung + 1, 1 without rungs),
        repeats and repeats_completed (runs of finalists with other seeds),
        finalists (configurations re-run) and epochs_trained (every epoch trained
        by every run: ``epochs_trained_this_run``, else ``epochs_trained`` less
        ``initial_epoch``; None when the table has neither). ``runs`` counts every
        row (each rung and repeat), ``completed`` the trials that rank
        (:func:`completed`), failed, running, killed the rows with that status.
    """
    metric = _metric(df, metric)
    status = df["status"].astype(object) if "status" in df.columns else pd.Series(dtype=object)
    count = lambda s: int((status == s).sum())  # noqa: E731
    done = completed(df)
    unranked = done.drop(index=_ranked(df, metric).index)
    return {
        "runs": int(len(df)),
        "completed": len(done),
        **_strategy_counts(df),
        "failed": count("FAILED"),
        "running": count("RUNNING"),
        "killed": count("KILLED"),
        "metric": metric,
        **_best_values(df, metric),
        "cross_validated": int(cross_validated(df).sum()),
        "unranked": [_number(n) for n in unranked.get("run_number", pd.Series(dtype=float))],
        "errors": _errors(df),
    }


def _strategy_counts(df: pd.DataFrame) -> dict[str, Any]:
    """strategy, trials, pruned, rungs, repeats, repeats_completed, finalists and
    epochs_trained of :func:`search_overview`."""
    verdicts = verdict_rows(df)
    verdict_status = verdicts["status"].astype(object) if "status" in verdicts else None
    repeats = repeat_rows(df)
    repeat_status = repeats["status"].astype(object) if "status" in repeats else None
    strategies = []
    if "strategy" in df.columns:
        strategies = list(dict.fromkeys(str(v) for v in df["strategy"].dropna() if str(v)))
    return {
        "strategy": ", ".join(strategies) or None,
        "trials": int(len(verdicts)),
        "pruned": int((verdict_status == STATUS_PRUNED).sum()) if verdict_status is not None else 0,
        "rungs": int(_rungs(df).max()) + 1 if len(df) else 1,
        "repeats": int(len(repeats)),
        "repeats_completed": int((repeat_status == STATUS_COMPLETED).sum())
        if repeat_status is not None
        else 0,
        "finalists": int(repeats["config_id"].nunique()) if "config_id" in repeats else 0,
        "epochs_trained": _epochs_trained(df),
    }


def _best_values(df: pd.DataFrame, metric: str) -> dict[str, Any]:
    """The winner's entries of :func:`search_overview` (best_run to group_word)."""
    best = winner_row(df, metric)

    def best_value(column: str) -> float | None:
        return _float(best.get(column)) if best is not None else None

    return {
        "best_run": _number(best.get("run_number")) if best is not None else None,
        "best_run_id": str(best.get("run_id", "")) if best is not None else "",
        "best_phase": best.get("phase") if best is not None else None,
        "best_finalist_trial": best_value("finalist_trial"),
        "best_new_group": new_group_text(best),
        "undecided": [_number(n) for n in undecided_runs(df, metric).get("run_number", [])],
        "best_score": best_value(metric),
        "best_score_std": best_value(std_column(metric)),
        "best_val_stroke_macro_f1": best_value(SELECTION_METRIC),
        "best_test_stroke_macro_f1": best_value(TEST_STROKE_METRIC),
        "best_worst_group_macro_f1": best_value(WORST_GROUP_METRIC),
        "best_val_macro_f1_score": best_value(VAL_WINDOW_METRIC),
        "best_macro_f1_score": best_value("macro_f1_score"),
        "best_test_accuracy": best_value("test_accuracy"),
        "group_word": group_word(best),
    }


def _errors(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The failed runs' errors: ``{"error", "count", "runs"}``, most common first."""
    failed = df[df["status"].astype(object) == "FAILED"] if "status" in df.columns else df.iloc[0:0]
    errors: dict[str, list] = {}
    for _, row in failed.iterrows():
        text = row.get("error")
        text = text if isinstance(text, str) and text.strip() else "unknown error"
        errors.setdefault(text, []).append(_number(row.get("run_number")))
    return [
        {"error": text, "count": len(numbers), "runs": numbers}
        for text, numbers in sorted(errors.items(), key=lambda item: -len(item[1]))
    ]


def _epochs_trained(df: pd.DataFrame) -> float | int | None:
    """Every epoch the runs of ``df`` trained: ``epochs_trained_this_run`` where a row has
    it, else ``epochs_trained`` (which counts a continued run's earlier epochs too) less
    ``initial_epoch``; None when the table has neither column."""
    if "epochs_trained_this_run" not in df.columns and "epochs_trained" not in df.columns:
        return None
    nan = pd.Series(np.nan, index=df.index)
    this_run = pd.to_numeric(df.get("epochs_trained_this_run", nan), errors="coerce")
    start = pd.to_numeric(df.get("initial_epoch", nan), errors="coerce").fillna(0.0)
    total = pd.to_numeric(df.get("epochs_trained", nan), errors="coerce") - start
    epochs = float(this_run.fillna(total).clip(lower=0).sum())
    return int(epochs) if epochs.is_integer() else epochs
