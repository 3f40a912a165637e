"""The roles of a results table's columns and the rows that rank.

Which columns are metrics, parameters or bookkeeping (:mod:`tennis_lab.results`
names them), the metric a table is ranked by (:func:`selection_metric`), and which
rows stand for a search trial (:func:`verdict_rows`) and rank (:func:`completed`).
The other modules of :mod:`tennis_lab.analysis` build on these.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from tennis_lab.results import (
    AVERAGE_METRIC,
    BOOKKEEPING,
    CLASS_METRIC,
    FACTS,
    LEGACY_SELECTION_METRIC,
    PHASE_REPEAT,
    PLAIN_METRICS,
    SELECTION_METRIC,
    STATUS_COMPLETED,
    STD_SUFFIX,
    TableError,
)

# Results that cannot be found or read, or a column that is not in the table.
AnalysisError = TableError
_GROUP_WORDS = ("player", "session", "video")


def metric_columns(df: pd.DataFrame) -> list[str]:
    """The metric columns of a results table, in table order.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table.

    Returns
    -------
    list of str
        The known metric names present: stroke-level scores (validation and test
        macro F1 and accuracy, the worst group's macro F1, stroke counts), window-level
        validation/train/test macro F1, test accuracy and loss, macro and weighted
        averages, ``<class>_precision/_recall/_f1_score/_support``, epochs trained,
        training time, trainable params, inference time; and ``<metric>_std`` of any
        of these (spread over folds).
    """
    return [c for c in df.columns if c not in BOOKKEEPING and c not in FACTS and _is_metric(c)]


def _is_metric(column: str) -> bool:
    if column.endswith(STD_SUFFIX):
        column = column[: -len(STD_SUFFIX)]
    return bool(
        column in PLAIN_METRICS or AVERAGE_METRIC.match(column) or CLASS_METRIC.match(column)
    )


def parameter_columns(df: pd.DataFrame) -> list[str]:
    """The parameter columns: every column neither bookkeeping, a metric nor a resolved
    fact (``split_by_resolved``), in table order."""
    metrics = set(metric_columns(df))
    return [c for c in df.columns if c not in BOOKKEEPING and c not in FACTS and c not in metrics]


def varied_parameters(df: pd.DataFrame) -> list[str]:
    """The parameters with more than one distinct value among the COMPLETED runs.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    list of str
        In table order; a missing value counts as a value of its own.
    """
    done = completed(df)
    return [p for p in parameter_columns(done) if _keys(done[p]).nunique(dropna=False) > 1]


def class_names(df: pd.DataFrame) -> list[str]:
    """The classes of a results table, from its ``<class>_recall`` columns (not averages,
    not the named metrics, not spreads over folds)."""
    return [
        c[: -len("_recall")]
        for c in metric_columns(df)
        if c.endswith("_recall") and not AVERAGE_METRIC.match(c) and c not in PLAIN_METRICS
    ]


def selection_metric(df: pd.DataFrame) -> str:
    """The metric a results table is ranked by when none is named.

    :data:`SELECTION_METRIC` (``val_stroke_macro_f1``) when a completed run has a value
    of it. Otherwise, for results written before stroke-level scores existed,
    ``val_macro_f1_score`` (the window-level figure) when a completed run has a value
    of that. Otherwise (nothing completed) :data:`SELECTION_METRIC`. In a table where
    only some runs have the stroke-level score, the others are not ranked.
    """
    done = completed(df)
    for name in (SELECTION_METRIC, LEGACY_SELECTION_METRIC):
        if name in done.columns and pd.to_numeric(done[name], errors="coerce").notna().any():
            return name
    return SELECTION_METRIC


def _metric(df: pd.DataFrame, metric: str | None) -> str:
    return metric or selection_metric(df)


def std_column(metric: str) -> str:
    """The column holding ``metric``'s sample std over folds: ``<metric>_std``."""
    return f"{metric}{STD_SUFFIX}"


def cross_validated(df: pd.DataFrame) -> pd.Series:
    """Which rows are COMPLETED cross-validated runs (``cv_folds`` above 1 or ``"loo"``,
    or a std of the selection metric), aligned with ``df``."""
    return _folded(df) & df.index.isin(completed(df).index)


def _folded(df: pd.DataFrame) -> pd.Series:
    """Which rows have folds, whatever their status (see :func:`cross_validated`)."""
    flags = pd.Series(False, index=df.index)
    if "cv_folds" in df.columns:
        flags |= pd.to_numeric(df["cv_folds"], errors="coerce").fillna(0) > 1
        flags |= df["cv_folds"].astype(str).str.strip().str.lower() == "loo"
    for name in (SELECTION_METRIC, LEGACY_SELECTION_METRIC):
        if std_column(name) in df.columns:
            flags |= pd.to_numeric(df[std_column(name)], errors="coerce").notna()
    return flags


def _is_repeat(df: pd.DataFrame) -> pd.Series:
    """Which rows are repeats of finalists (``phase`` is ``repeat``), aligned with ``df``."""
    if "phase" not in df.columns:
        return pd.Series(False, index=df.index)
    return df["phase"].astype(object) == PHASE_REPEAT


def _trial_keys(df: pd.DataFrame) -> pd.Series:
    """Each row's trial: ``trial``, else (older rows) ``run_number``; NaN when neither."""
    number = pd.to_numeric(df.get("run_number", pd.Series(np.nan, index=df.index)),
                           errors="coerce")  # fmt: skip
    if "trial" not in df.columns:
        return number
    return pd.to_numeric(df["trial"], errors="coerce").fillna(number)


def _rungs(df: pd.DataFrame) -> pd.Series:
    """Each row's rung (0 where there is none: older rows, non-adaptive searches)."""
    if "rung" not in df.columns:
        return pd.Series(0.0, index=df.index)
    return pd.to_numeric(df["rung"], errors="coerce").fillna(0.0)


def verdict_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The row that holds each search trial's outcome, whatever its status.

    A finalist's repeats (phase ``repeat``) are left out: they re-run a configuration
    the search already scored. Of a trial an adaptive search ran at several rungs, only
    the highest rung's row is kept: the earlier ones are partial-budget runs of a
    trial that was promoted (they are COMPLETED, its last one may be PRUNED, FAILED or
    still RUNNING). A table without ``phase``, ``trial`` and ``rung`` columns (an
    older search) is returned as it is.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table.

    Returns
    -------
    pandas.DataFrame
        A subset of ``df``'s rows, in its order, with its index.
    """
    out = df[~_is_repeat(df)]
    if "trial" not in out.columns and "rung" not in out.columns:
        return out
    trials, rungs = _trial_keys(out), _rungs(out)
    last = rungs.groupby(trials, dropna=True).transform("max")
    keep = trials.isna() | (rungs >= last)  # a row without a trial number stays
    return out[keep.to_numpy()]


def completed(df: pd.DataFrame) -> pd.DataFrame:
    """The rows that rank: each search trial's outcome, when COMPLETED.

    :func:`verdict_rows` (no repeats of finalists, a promoted trial once: its last
    rung's row) whose status is COMPLETED; a trial whose last rung is PRUNED is left
    out. A table without a ``status`` column keeps all its verdict rows; an older
    table (no ``phase``, ``trial``, ``rung``) is only filtered by status.
    """
    rows = verdict_rows(df)
    if "status" not in rows.columns:
        return rows
    return rows[rows["status"].astype("object") == STATUS_COMPLETED]


def repeat_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The repeats of finalists: rows whose ``phase`` is ``repeat`` (none in older tables)."""
    return df[_is_repeat(df)]


def _keys(values: pd.Series) -> pd.Series:
    """Values usable as group keys: lists as JSON text (as in the CSV)."""
    if values.dtype == object:
        return values.map(lambda v: json.dumps(list(v)) if isinstance(v, list | tuple) else v)
    return values


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _require(df: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise AnalysisError(
            f"no column {missing[0]!r} in the results table; parameters: "
            f"{parameter_columns(df)}, metrics: {metric_columns(df)}."
        )


def _ranked(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Completed runs with a value for ``metric``, best first, ties by run number.

    A table where nothing completed may lack the metric column: then no rows.
    """
    done = completed(df)
    if metric not in df.columns:
        if done.empty:
            return done
        _require(df, metric)
    values = pd.to_numeric(done[metric], errors="coerce")
    done = done[values.notna()].assign(**{metric: values[values.notna()]})
    by = [metric] + (["run_number"] if "run_number" in done.columns else [])
    return done.sort_values(by, ascending=[False] + [True] * (len(by) - 1), kind="stable")


def _flag(value: Any) -> bool | None:
    """A True/False cell (a bool, or the text the CSV and MLflow tags hold); None if missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        return {"true": True, "false": False, "1": True, "0": False}.get(text)
    return bool(value)


def _flags(df: pd.DataFrame, column: str) -> pd.Series:
    """Which rows a True/False ``column`` (``winner``, ``tied_with_best``) marks, aligned
    with ``df``; all False without the column."""
    if column not in df.columns:
        return pd.Series(False, index=df.index)
    return df[column].map(lambda v: _flag(v) is True).astype(bool)


def _winner_flags(df: pd.DataFrame) -> pd.Series:
    return _flags(df, "winner")


def _number(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def group_word(row: pd.Series | None) -> str:
    """What a group is in a run: player, session or video (from split_by_resolved or
    split_by), else "group"."""
    if row is None:
        return "group"
    for column in ("split_by_resolved", "split_by"):
        value = row.get(column)
        if isinstance(value, str) and value in _GROUP_WORDS:
            return value
    return "group"
