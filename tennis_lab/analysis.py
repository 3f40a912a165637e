"""The results table of a search: best and top-k runs, patterns, trade-offs, importance.

A results table has one row per combination, as the search writes it to
``output/grid_search_results_<timestamp>.csv`` (see ``docs/grids.md``) or as
:func:`load_results_mlflow` rebuilds it from MLflow: bookkeeping columns
(:data:`BOOKKEEPING`), the parameters (lists as JSON text) and the metrics.

Only :func:`load_results` and :func:`load_results_mlflow` do I/O; everything else is a
pure function of a DataFrame. Runs that are not COMPLETED are counted
(:func:`search_overview`) but never ranked, and a completed run without a value for
the metric in question is left out of that ranking. A table where nothing completed
gives empty results, never an exception.

Model selection uses :data:`tennis_lab.results.SELECTION_METRIC`, the validation macro
F1 over annotated strokes (``val_stroke_macro_f1``); the test figures are only
reported. Results written before stroke-level scores existed have no such column: for
them every ranking falls back to the window-level ``val_macro_f1_score``
(:func:`selection_metric` says which one a table uses). A cross-validated run's scores
are means over its folds, with ``<metric>_std`` beside them.

A finished search writes its verdict into the table (:data:`VERDICT_COLUMNS`): each
configuration's ``rank`` (equal scores, equal ranks), the one ``winner`` (the
registered champion), ``tied_with_best`` and the paired-bootstrap ``diff_to_best``,
and each run's ``warnings``. :func:`winner_row`, :func:`leaderboard`,
:func:`undecided_runs`, :func:`tied_with_best` and :func:`report_header` follow it,
so the report names the run the console and the registry name; tables without it
(older searches, MLflow's children) fall back to the ranking by the metric.

A search run by a strategy (``strategy``: grid, random, halving, hyperband, tpe) adds
bookkeeping columns (:data:`SEARCH_COLUMNS`): ``trial``, ``rung`` (an adaptive search
runs a trial once per rung, continuing from the previous rung's checkpoint),
``epochs_budget``, ``initial_epoch`` and ``phase`` (``search``, or ``repeat`` for the
re-runs of the finalists with other seeds). Only a trial's verdict is ranked
(:func:`completed`): its last rung's row, when COMPLETED, of the search phase.
:func:`finalists_table` and :func:`verdict_sentence` read the repeats: each
finalist's mean over seeds, its 95 % Student-t interval and whether a one-sided
Welch's t-test at the 5 % level finds it worse than the best.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from tennis_lab import paths, tracking
from tennis_lab.errors import TennisLabError
from tennis_lab.evaluation import (
    BOOTSTRAP_TEST,
    CEILING,
    INTERVAL_LEVEL,
    TIE_LEVEL,
    TIE_TEST,
    tie_method,
    verdict,
)
from tennis_lab.evaluation import (
    new_group_text as _new_group_text,
)
from tennis_lab.results import (  # noqa: F401 - the verdict's levels, also analysis' names
    ADAPTIVE_STRATEGIES,
    FINALIST_COLUMNS,
    PHASE_REPEAT,
    RUN_COLUMNS,
    SELECTION_METRIC,
    SEPARATE_FIX,
    STANDING_COLUMNS,
    STATUS_COMPLETED,
    STATUS_PRUNED,
    STATUSES,
    TIMING_METRICS,
    WARNINGS_SEPARATOR,
)

# What a strategy's runner writes beside a run's parameters: which trial and rung it
# is, its epoch budget, and whether it is a search run or a finalist's repeat.
SEARCH_COLUMNS = ("strategy", "trial", "rung", "epochs_budget", "initial_epoch", "phase",
                  "checkpoint_path")  # fmt: skip
# The search's verdict on each run (rank, winner, ties, the difference to the best) and
# its warnings: neither parameters nor metrics.
VERDICT_COLUMNS = (*STANDING_COLUMNS, "warnings")
BOOKKEEPING = tuple(dict.fromkeys((
    "run_number", "run_id", "config_id", "status", "error", "notebook", "run_seconds",
    *SEARCH_COLUMNS, *FINALIST_COLUMNS, *VERDICT_COLUMNS,
)))  # fmt: skip
STRATEGY_WORDS = {
    "grid": "grid search",
    "random": "random search",
    "halving": "successive halving",
    "hyperband": "Hyperband",
    "tpe": "TPE (Optuna)",
}
_TEXT_COLUMNS = ("run_id", "config_id", "error")
_FIRST_COLUMNS = RUN_COLUMNS  # the results CSV starts with these (see tennis_lab.results)
# Results written before stroke-level scores rank by this (see selection_metric).
VAL_WINDOW_METRIC = "val_macro_f1_score"  # validation macro F1 over windows
LEGACY_SELECTION_METRIC = VAL_WINDOW_METRIC
STD_SUFFIX = "_std"  # <metric>_std: the sample std over a cross-validated run's folds
TEST_STROKE_METRIC = "test_stroke_macro_f1"
WORST_GROUP_METRIC = "worst_group_macro_f1"
# The score to expect on a new group (player): the mean over held-out groups (grouped
# cross-validation), with its _min, _max and the number of groups, new_groups.
NEW_GROUP_METRIC = "new_group_macro_f1"
_PLAIN_METRICS = {
    SELECTION_METRIC, TEST_STROKE_METRIC, WORST_GROUP_METRIC, "val_stroke_accuracy",
    "test_stroke_accuracy", "val_strokes", "test_strokes", "test_strokes_unreached",
    "val_macro_f1_score", "train_macro_f1_score", "test_accuracy", "test_loss",
    "macro_f1_score", "epochs_trained", "epochs_trained_this_run", *TIMING_METRICS,
    "trainable_params",
    # detected strokes on whole test videos (runs that keep idle windows)
    "test_event_precision", "test_event_recall", "test_event_f1", "test_event_macro_f1",
    # the validation split's size; with grouped cross-validation, the score on a new group
    "val_groups", NEW_GROUP_METRIC, f"{NEW_GROUP_METRIC}_min", f"{NEW_GROUP_METRIC}_max",
    "new_groups",
}  # fmt: skip
# What a run resolved (split_by=auto -> player, session or video): a fact of the run,
# neither a parameter one chose nor a score.
_FACTS = ("split_by_resolved",)
_GROUP_WORDS = ("player", "session", "video")
_METRIC_WORDS = {
    SELECTION_METRIC: "validation macro F1 over strokes",
    LEGACY_SELECTION_METRIC: "validation macro F1 over windows",
}
_AVERAGE_METRIC = re.compile(r"^(macro|weighted)_avg_(precision|recall|f1_score|support)$")
_CLASS_METRIC = re.compile(r"^(.+)_(precision|recall|f1_score|support)$")
_MLFLOW_STATUS = {
    "FINISHED": "COMPLETED",
    "FAILED": "FAILED",
    "RUNNING": "RUNNING",
    "KILLED": "KILLED",
}
# Facts of the data that training logs as MLflow params; the CSV does not hold them.
_DATA_PARAMS = re.compile(r"^(num_classes|classes|input_shape|uses_batch_normalization|"
                          r"(train|val|test)_samples|(train|val|test)_count_.+)$")  # fmt: skip
# A run's number in its name: "r007 lstm128-64 · grid_search_small", "r007.1 ..." (a
# later rung); older searches: "..._run_007", "..._run_007_rung1".
_RUN_NAME_NUMBER = re.compile(r"^r(\d+)(?:\.\d+)? |_run_(\d+)(?:_rung\d+)?$")
# Tags of a strategy's child runs, read into the columns of the same names.
_RUN_TAGS = ("strategy", "trial", "rung", "epochs_budget", "initial_epoch", "phase",
             "finalist", "finalist_trial", "tied_with_best")  # fmt: skip
_MAX_UNBINNED = 10  # a numeric parameter with more distinct values is binned for importance
_BINS = 5
_MIN_RUNS = 10
_MIN_RUNS_PER_VALUE = 3
_HOW_TO_RUN = "Run a search first: `make grid` (or `tennis-lab grid --grid minimal`)."


class AnalysisError(TennisLabError, ValueError):
    """Results that cannot be found or read, or a column that is not in the table."""


# --------------------------------------------------------------------------- column roles


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
    return [c for c in df.columns if c not in BOOKKEEPING and c not in _FACTS and _is_metric(c)]


def _is_metric(column: str) -> bool:
    if column.endswith(STD_SUFFIX):
        column = column[: -len(STD_SUFFIX)]
    return bool(
        column in _PLAIN_METRICS or _AVERAGE_METRIC.match(column) or _CLASS_METRIC.match(column)
    )


def parameter_columns(df: pd.DataFrame) -> list[str]:
    """The parameter columns: every column neither bookkeeping, a metric nor a resolved
    fact (``split_by_resolved``), in table order."""
    metrics = set(metric_columns(df))
    return [c for c in df.columns if c not in BOOKKEEPING and c not in _FACTS and c not in metrics]


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
        if c.endswith("_recall") and not _AVERAGE_METRIC.match(c) and c not in _PLAIN_METRICS
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


# --------------------------------------------------------------------------- loading


def _project_path(path: Path) -> Path:
    """``path`` as given when it exists or is absolute, else relative to the project root."""
    if path.is_absolute() or path.exists():
        return path
    anchored = paths.project_root() / path
    return anchored if anchored.exists() else path


def _read_state(file: Path) -> dict[str, Any]:
    try:
        state = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AnalysisError(f"cannot read search state {file}: {exc}") from exc
    if not isinstance(state, dict) or not state.get("csv_path"):
        raise AnalysisError(f"search state {file} has no csv_path; is it a search state file?")
    return state


def _state_csv(state: dict[str, Any], file: Path, output_dir: Path) -> Path:
    """The state's CSV; when it was moved with the output folder, the same name beside it."""
    csv = Path(state["csv_path"])
    if csv.is_file():
        return csv
    moved = output_dir / csv.name
    if moved.is_file():
        return moved
    raise AnalysisError(
        f"search {state.get('search_id', file.stem)!r} has no results yet: {csv} does not "
        f"exist (state: {file}). Its first run may not have finished; wait for it, or "
        "resume the search: `make grid RESUME=1`."
    )


def _state_for_csv(csv: Path, output_dir: Path) -> dict[str, Any] | None:
    """The search state whose csv_path is ``csv``, looked for beside it and in output_dir."""
    for folder in dict.fromkeys([csv.parent / "searches", output_dir / "searches"]):
        for file in sorted(folder.glob("*.json")):
            try:
                state = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(state, dict) and Path(str(state.get("csv_path", ""))).name == csv.name:
                return state
    return None


def _read_csv(csv: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(csv, dtype={c: str for c in _TEXT_COLUMNS})
    except pd.errors.EmptyDataError:  # a search whose first row is not written yet
        return pd.DataFrame(columns=list(_FIRST_COLUMNS))
    except (OSError, ValueError) as exc:
        raise AnalysisError(f"cannot read results CSV {csv}: {exc}") from exc
    for column in _TEXT_COLUMNS:
        if column in df.columns:
            df[column] = df[column].fillna("").astype(str)
    return df


def load_results(
    source: str | Path | None = None,
    output_dir: str | Path | None = None,
    tracking_uri: str | None = None,
) -> pd.DataFrame:
    """Read a search's results CSV.

    Parameters
    ----------
    source : str or Path, optional
        A CSV path; a search id (``<output>/searches/<id>.json`` names its CSV); or
        None / ``"latest"``: the newest search state, else the newest
        ``<output>/grid_search_results_*.csv``.
    output_dir : str or Path, optional
        The output folder (default: ``<project root>/output``).
    tracking_uri : str, optional
        Where the search's MLflow runs are now, when the store moved (default: the
        one its search state records).

    Returns
    -------
    pandas.DataFrame
        One row per combination; run_id, config_id and error as text (``""`` when
        empty). ``df.attrs`` holds ``csv_path`` and, when its search state is found,
        ``search_id``, ``grid``, ``experiment``, ``tracking_uri``, ``parent_run_id``.

    Raises
    ------
    AnalysisError
        When nothing is found (the message says what was looked for, where, and how to
        make results), or the file cannot be read.
    """
    out = Path(output_dir) if output_dir is not None else paths.output_dir()
    states_dir = out / "searches"
    state: dict[str, Any] | None = None
    if source is None or str(source) == "latest":
        state_files = sorted(states_dir.glob("*.json"))
        if state_files:
            state = _read_state(state_files[-1])
            csv = _state_csv(state, state_files[-1], out)
        else:
            tables = sorted(out.glob("grid_search_results_*.csv"))
            if not tables:
                raise AnalysisError(
                    f"no search results in {out}: looked for search states "
                    f"{states_dir / '*.json'} and tables {out / 'grid_search_results_*.csv'}. "
                    + _HOW_TO_RUN
                )
            csv = tables[-1]
            state = _state_for_csv(csv, out)
    else:
        path = Path(source)
        state_file = states_dir / f"{source}.json"
        if path.suffix.lower() == ".csv" or (path.is_file() and not state_file.is_file()):
            csv = _project_path(path)
            if not csv.is_file():
                raise AnalysisError(
                    f"no results CSV {csv}: the file does not exist. Give an existing "
                    f"grid_search_results_*.csv (in {out}), a search id, or 'latest'. "
                    + _HOW_TO_RUN
                )
            state = _state_for_csv(csv, out)
        elif state_file.is_file():
            state = _read_state(state_file)
            csv = _state_csv(state, state_file, out)
        else:
            known = sorted(p.stem for p in states_dir.glob("*.json"))
            raise AnalysisError(
                f"no search {str(source)!r}: neither a CSV file nor a search state "
                f"{state_file} (searches in {states_dir}: {known or 'none'}). "
                "Give a CSV path, a search id, or 'latest'. " + _HOW_TO_RUN
            )
    df = _read_csv(csv)
    df.attrs = {"source": "csv", "csv_path": str(csv)}
    for key in ("search_id", "grid", "experiment", "tracking_uri", "parent_run_id"):
        if state and state.get(key):
            df.attrs[key] = state[key]
    if tracking_uri:
        df.attrs["tracking_uri"] = tracking_uri
    return df


def _typed(values: pd.Series) -> pd.Series:
    """MLflow's text params as the CSV holds them: booleans, numbers, else text."""
    present = values.dropna()
    present = present[present != "None"]
    values = values.where(values != "None")
    if present.empty:
        return values
    if present.isin(["True", "False"]).all():
        flags = values.map({"True": True, "False": False})
        return flags.astype(bool) if flags.notna().all() else flags.astype(object)
    if pd.to_numeric(present, errors="coerce").notna().all():
        numeric = pd.to_numeric(values, errors="coerce")
        whole = present.astype(str).str.fullmatch(r"-?\d+").all()
        return numeric.astype("int64") if whole and numeric.notna().all() else numeric
    return values


def _as_param_text(value: Any) -> str | None:
    """A value as MLflow writes a param (whole floats as integers), None when missing."""
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _notebook_path(search_id: Any, number: Any, config_id: str) -> str:
    """The executed notebook the search kept for this run, when it is where the search puts it."""
    if not isinstance(search_id, str) or not search_id or pd.isna(number) or not config_id:
        return ""
    nb = paths.reports_dir() / "runs" / search_id / f"{int(number):03d}-{config_id}.ipynb"
    return str(nb) if nb.is_file() else ""


def load_results_mlflow(
    experiment: str = tracking.DEFAULT_EXPERIMENT,
    parent_run_id: str | None = None,
    tracking_uri: str | None = None,
) -> pd.DataFrame:
    """A search's results table rebuilt from its MLflow child runs (also while it runs).

    Parameters
    ----------
    experiment : str
        Experiment name.
    parent_run_id : str, optional
        The search's parent run (in ``<output>/searches/<id>.json`` and in
        ``load_results().attrs``); None: every run of the experiment except parents.
    tracking_uri : str, optional
        See :func:`tennis_lab.tracking.resolve_tracking_uri`.

    Returns
    -------
    pandas.DataFrame
        The CSV's shape: run_number (from the run name's ``_run_NNN``, else the
        ``trial`` tag), run_id, config_id (tag), status (the ``status`` tag the
        runner sets, such as PRUNED, when it is one of
        :data:`tennis_lab.results.STATUSES`; else FINISHED -> COMPLETED and FAILED,
        RUNNING, KILLED as they are), error (tag), the strategy's tags where a run has
        them (strategy, trial, rung, epochs_budget, initial_epoch, phase and, on
        repeats, finalist, finalist_trial, tied_with_best), warnings (the ``warnings``
        tag, ``""`` without), the parameters (typed as in the CSV, without the data
        facts training adds), the final metrics (no per-epoch or per-fold series; a
        name that is both, such as ``cv_folds``, keeps the parameter, as the CSV
        does: ``"loo"`` stays ``"loo"``; the metric fills in where a run has no such
        parameter; a repeat's finalist_mean, finalist_ci_low, finalist_ci_high),
        winner (only when the parent run's ``best_run_id`` tag names one of the
        rows: True on that row), notebook.
        One row per config id and trial and rung (a retried run once): its completed
        run, else its newest; rows in run number and rung order. ``df.attrs`` holds
        experiment, tracking_uri, parent_run_id and the search_id and grid tags;
        with a parent run, its ``best_run_id`` and ``verdict`` tags where it has them.

    Raises
    ------
    AnalysisError
        When the experiment does not exist at the tracking URI.
    """
    try:
        raw = tracking.runs_dataframe(
            experiment, tracking_uri=tracking_uri, parent_run_id=parent_run_id
        )
    except tracking.TrackingError as exc:
        raise AnalysisError(f"{exc} {_HOW_TO_RUN}") from exc
    uri = tracking.resolve_tracking_uri(tracking_uri)
    attrs: dict[str, Any] = {
        "source": "mlflow",
        "experiment": experiment,
        "tracking_uri": uri,
        "parent_run_id": parent_run_id or "",
    }
    if "tags.mlflow.parentRunId" in raw.columns and parent_run_id is None:
        parents = set(raw["tags.mlflow.parentRunId"].dropna())
        raw = raw[~raw["run_id"].isin(parents)]
    if raw.empty:
        df = pd.DataFrame(columns=list(_FIRST_COLUMNS))
        df.attrs = attrs
        return df

    def tag(name: str) -> pd.Series:
        column = f"tags.{name}"
        if column not in raw.columns:
            return pd.Series("", index=raw.index, dtype=object)
        return raw[column].astype(object).where(raw[column].notna(), "")

    names = raw["run_name"].fillna("").astype(str)
    found = names.str.extract(_RUN_NAME_NUMBER)
    numbers = pd.to_numeric(found[0].fillna(found[1]), errors="coerce")
    numbers = numbers.fillna(pd.to_numeric(tag("trial"), errors="coerce"))
    status = raw["status"].map(lambda s: _MLFLOW_STATUS.get(s, s))
    told = tag("status").astype(str)
    df = pd.DataFrame(
        {
            "run_number": numbers.round().astype("Int64"),
            "run_id": raw["run_id"].astype(str),
            "config_id": tag("config_id").astype(str),
            "status": told.where(told.isin(STATUSES), status),
            "error": tag("error").astype(str),
        },
        index=raw.index,
    )
    for name in _RUN_TAGS:
        if f"tags.{name}" in raw.columns:
            values = tag(name).astype(object)
            df[name] = _typed(values.where(values != "", None))
    if "tags.warnings" in raw.columns:
        df["warnings"] = tag("warnings").astype(str)
    params = [c for c in raw.columns if c.startswith("params.") and not _DATA_PARAMS.match(c[7:])]
    for column in params:
        df[column[len("params.") :]] = _typed(raw[column].astype(object))
    metrics = [
        c
        for c in raw.columns
        if c.startswith("metrics.") and not c[8:].startswith(tracking.SERIES_PREFIXES)
    ]
    for column in metrics:
        name, values = column[len("metrics.") :], pd.to_numeric(raw[column], errors="coerce")
        if f"params.{name}" in params:  # a parameter the run also logs as a metric
            values = _param_first(raw[f"params.{name}"], values)  # (cv_folds), as the CSV
        elif name in df.columns:  # a tag: the metric where the run logged one
            values = _typed(values.astype(object).where(values.notna(), df[name]).map(
                _as_param_text))  # fmt: skip
        df[name] = values
    if "macro_avg_f1_score" in df.columns and "macro_f1_score" not in df.columns:
        df["macro_f1_score"] = df["macro_avg_f1_score"]
    search_ids = tag("search_id")
    df["notebook"] = [
        _notebook_path(s, n, c)
        for s, n, c in zip(search_ids, df["run_number"], df["config_id"], strict=True)
    ]
    # One row per combination and trial and rung: its completed run, else its newest
    # (raw is newest first). Runs without trial tags (older searches): per combination.
    df["_order"] = np.arange(len(df))
    df["_done"] = ~df["status"].isin([STATUS_COMPLETED, STATUS_PRUNED])
    df["_key"] = df["config_id"] + "|" + tag("trial").astype(str) + "|" + tag("rung").astype(str)
    df["_rung"] = _rungs(df)
    df = df.sort_values(["_done", "_order"], kind="stable")
    keyed = df["config_id"] != ""
    df = pd.concat([df[keyed].drop_duplicates("_key"), df[~keyed]])
    df = df.sort_values(["run_number", "_rung", "_order"], kind="stable", na_position="last")
    df = df.drop(columns=["_order", "_done", "_key", "_rung"]).reset_index(drop=True)
    first = [c for c in _FIRST_COLUMNS if c in df.columns]
    rest = [c for c in df.columns if c not in first and c != "notebook"]
    df = df[first + rest + ["notebook"]]
    for key, values in (("search_id", search_ids), ("grid", tag("grid"))):
        found = sorted(set(values) - {""})
        if len(found) == 1:
            attrs[key] = found[0]
    if parent_run_id:
        attrs.update(_parent_tags(experiment, parent_run_id, uri))
        df = _mark_winner(df, attrs.get("best_run_id"))
    df.attrs = attrs
    return df


def _param_first(param: pd.Series, metric: pd.Series) -> pd.Series:
    """A parameter that a run also logs as a metric (``cv_folds``: ``"loo"`` and the
    number of folds): the parameter where the run has it, else the metric; typed."""
    text = param.astype(object).where(param.notna() & (param != "None"), None)
    return _typed(text.where(text.notna(), metric.map(_as_param_text)))


def _parent_tags(experiment: str, parent_run_id: str, uri: str) -> dict[str, str]:
    """The parent run's ``best_run_id`` and ``verdict`` tags (those it has; none when
    the run cannot be read: the winner then falls back to the ranking)."""
    try:
        parent = tracking.runs_dataframe(
            experiment, tracking_uri=uri, filter_string=f"attributes.run_id = '{parent_run_id}'"
        )
    except Exception:  # noqa: BLE001 - a table without the parent's word is still a table
        return {}
    out = {}
    for key in ("best_run_id", "verdict"):
        column = f"tags.{key}"
        if column in parent.columns and len(parent) and isinstance(parent[column].iloc[0], str):
            out[key] = parent[column].iloc[0]
    return out


def _mark_winner(df: pd.DataFrame, run_id: str | None) -> pd.DataFrame:
    """``df`` with a ``winner`` column, True on the row of ``run_id``, when a row has it."""
    if not run_id or "run_id" not in df.columns or not (df["run_id"] == run_id).any():
        return df
    df = df.assign(winner=df["run_id"] == run_id)
    first = [c for c in _FIRST_COLUMNS if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]]


# --------------------------------------------------------------------------- helpers


def _keys(values: pd.Series) -> pd.Series:
    """Values usable as group keys: lists as JSON text (as in the CSV)."""
    if values.dtype == object:
        return values.map(lambda v: json.dumps(list(v)) if isinstance(v, list | tuple) else v)
    return values


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _sort_key(value: Any) -> tuple:
    """Order values: missing last, numbers and JSON lists by value, the rest as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (3, 0)
    if isinstance(value, bool | np.bool_):
        return (0, int(value))
    if isinstance(value, int | float | np.number):
        return (0, float(value))
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            try:
                return (1, tuple(float(x) for x in parsed), value)
            except (TypeError, ValueError):
                pass
    return (2, str(value))


def _ordered(values) -> list:
    return sorted(values, key=_sort_key)


def _fmt(value: Any) -> str:
    """A parameter value as the sentences show it."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "None"
        return f"{float(value):g}"
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --------------------------------------------------------------------------- tables


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


def _flags(df: pd.DataFrame, column: str) -> pd.Series:
    """Which rows a True/False ``column`` (``winner``, ``tied_with_best``) marks, aligned
    with ``df``; all False without the column."""
    if column not in df.columns:
        return pd.Series(False, index=df.index)
    return df[column].map(lambda v: _flag(v) is True).astype(bool)


def _winner_flags(df: pd.DataFrame) -> pd.Series:
    return _flags(df, "winner")


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
        Index run_number; column warning (not escaped: :func:`table_html` does it).
        The rows of the leaderboard's runs in rank order, the winner first (also
        when it is not on the leaderboard). No rows without warnings.
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
    stats = stats.loc[_ordered(stats.index)]
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
    return table.reindex(index=_ordered(table.index), columns=_ordered(table.columns))


def pattern_sentences(df: pd.DataFrame, k: int = 5, metric: str | None = None) -> list[str]:
    """What the best ``k`` runs have in common, as plain sentences.

    One sentence per varied parameter: for a numeric one, its range in the top ``k``
    against its range over all runs; for any other (booleans, lists, text), its most
    frequent value in the top ``k`` (ties: the better run's value) and that value's
    share of all runs. "All runs" are the completed runs with a value for ``metric``.

    Parameters
    ----------
    df : pandas.DataFrame
    k : int
    metric : str, optional
        Default: :func:`selection_metric`.

    Returns
    -------
    list of str
        E.g. ``"All of the top 5 use use_batch_norm = True (50% of all runs)."``. With
        no more than ``k`` completed runs, one sentence saying so instead.
    """
    metric = _metric(df, metric)
    ranked = _ranked(df, metric)
    n, k = len(ranked), max(int(k), 1)
    if n == 0:
        return [f"No completed runs with {metric} yet: nothing to compare."]
    if n <= k:
        return [
            f"Only {_plural(n, 'completed run')}: the top {k} would be all of them, so "
            "there is nothing to compare; use a smaller k or run more combinations."
        ]
    varied = varied_parameters(ranked)
    if not varied:
        return [f"No parameter varies across the {n} completed runs."]
    top = ranked.head(k)
    sentences = []
    for param in varied:
        if _is_numeric(ranked[param]):
            sentences.append(
                f"{param} in the top {k}: {_span(top[param])} (all runs: {_span(ranked[param])})."
            )
            continue
        top_keys, all_keys = _keys(top[param]), _keys(ranked[param])
        counts = top_keys.value_counts(dropna=False, sort=False)
        best = max(counts.index, key=lambda v: (counts[v], -_first(top_keys, v)))
        share = _share(all_keys, best)
        if counts[best] == k:
            sentences.append(
                f"All of the top {k} use {param} = {_fmt(best)} ({share:.0%} of all runs)."
            )
        else:
            sentences.append(
                f"{param} {_fmt(best)} in {counts[best]} of the top {k} ({share:.0%} of all runs)."
            )
    return sentences


def _span(values: pd.Series) -> str:
    lo, hi = values.min(), values.max()
    if pd.isna(lo):
        return "None"
    return _fmt(lo) if lo == hi else f"{_fmt(lo)} to {_fmt(hi)}"


def _first(values: pd.Series, value: Hashable) -> int:
    matches = values.isna() if _missing(value) else values == value
    return int(np.argmax(matches.to_numpy()))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _share(values: pd.Series, value: Hashable) -> float:
    matches = values.isna() if _missing(value) else values == value
    return float(matches.mean())


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
            f"With {_plural(n, 'run')}, importances are rough: {'; '.join(reasons)}. "
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


def _number(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _pm(value: Any, std: Any = None, digits: int = 4) -> str:
    """``0.8123 ± 0.0400``; the value alone without a std; ``n/a`` without a value."""
    value, std = _float(value), _float(std)
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


# --------------------------------------------------------------------------- uncertainty


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


def tie_sentence(df: pd.DataFrame, metric: str | None = None) -> str | None:
    """A plain sentence on whether the scores decide the top of the ranking.

    Returns
    -------
    str or None
        Where the table holds the search's verdict: :func:`winner_sentence` (the
        same words as the report's header). Otherwise, when the table has
        ``<metric>_std`` for a ranked run and at least two runs are ranked: which
        runs the best is tied with by the mean ± std rule (see
        :func:`tied_with_best`), or that it is ahead of the next by more than their
        stds combined. None otherwise (no uncertainty known, or nothing to compare).
    """
    metric = _metric(df, metric)
    if has_verdict(df, metric):
        return winner_sentence(df, metric)
    spread = std_column(metric)
    ranked = _ranked(df, metric)
    if len(ranked) < 2 or spread not in ranked.columns:
        return None
    if pd.to_numeric(ranked[spread], errors="coerce").isna().all():
        return None

    def describe(row: pd.Series) -> str:
        number = _number(row.get("run_number"))
        name = f"run {number}" if number is not None else "a run"
        return f"{name} ({_pm(row[metric], row.get(spread))})"

    best = describe(ranked.iloc[0])
    best = best[:1].upper() + best[1:]
    tied = tied_with_best(ranked, metric)
    if tied.empty:
        return (
            f"{best} is ahead of every other run by {metric} by more than their "
            f"stds combined; the next is {describe(ranked.iloc[1])}."
        )
    others = [describe(row) for _, row in tied.iterrows()]
    listed = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
    return (
        f"{best} is not clearly better than {listed}: their mean ± std intervals of "
        f"{metric} overlap, so the ranking between them is not decided by these scores."
    )


# --------------------------------------------------------------------------- the winner

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


def _tie_method(df: pd.DataFrame) -> str:
    """How the search decided which runs the data cannot separate (as its console says)."""
    rows = _standing_rows(df, SELECTION_METRIC)
    return tie_method(rows is not None and bool(_is_repeat(rows).any()))


def winner_sentence(df: pd.DataFrame, metric: str | None = None) -> str | None:
    """Whether the data separates the winner, as one plain sentence (not escaped).

    Returns
    -------
    str or None
        ``"Undecided between runs 2, 3 and 4: these scores cannot separate them
        (<method>). Run 2 is registered as the champion, the first by the search's
        rule; to separate them: ..."``; or ``"Run 2 is ahead of the runs below it
        (<method>)."`` (with how many runs could not be compared). None without the
        search's verdict or with fewer than two ranked runs.
    """
    metric = _metric(df, metric)
    rows = _standing_rows(df, metric)
    best = winner_row(df, metric)
    if rows is None or best is None or len(rows) < 2:
        return None
    number, method = _number(best.get("run_number")), _tie_method(df)
    tied = undecided_runs(df, metric)
    if len(tied):
        names = _listed([str(_number(n)) for n in tied["run_number"]])
        trials = _trials_of(tied)
        return (
            f"Undecided between runs {names}{trials}: these scores cannot separate them "
            f"({method}). Run {number} is registered as the champion, the first by the "
            f"search's rule; {SEPARATE_FIX}."
        )
    verdicts = _verdicts(rows)
    unpaired = 0 if _is_repeat(rows).any() else verdicts.count("")
    why = "no validation strokes in common, or fewer epochs trained"
    if unpaired and not verdicts.count("behind"):
        return (
            f"Run {number} ranks first by the score; the {BOOTSTRAP_TEST} could not "
            f"compare it with the {_plural(unpaired, 'run')} below it ({why})."
        )
    text = f"Run {number} is ahead of the runs below it ({method})."
    if unpaired:
        text += f" {_plural(unpaired, 'run')} could not be compared with it ({why})."
    return text


def _trials_of(rows: pd.DataFrame) -> str:
    """`` (finalist trials 1 and 4)`` for repeats that stand for finalists, else ``""``."""
    if not _is_repeat(rows).all() or "finalist_trial" not in rows.columns:
        return ""
    trials = pd.to_numeric(rows["finalist_trial"], errors="coerce")
    if trials.isna().any():
        return ""
    return f" (finalist trials {_listed([str(int(t)) for t in trials])})"


def limit_lines(df: pd.DataFrame, metric: str | None = None) -> list[tuple[str, str]]:
    """What limits the winner's ranking beyond its own warnings, one ``(label, sentence)``
    each (not escaped): a validation score at its ceiling (:data:`CEILING`: it cannot
    rank the runs that reach it) when more than one run ranks, with the fix. A thin
    validation split and a class missing from a split are among the run's warnings
    (:func:`winner_warnings`), each with its fix.
    """
    metric = _metric(df, metric)
    best = winner_row(df, metric)
    if best is None:
        return []
    rows, _ = _board_rows(df, metric)
    score, strokes = _float(best.get(metric)), _float(best.get("val_strokes"))
    if metric not in _METRIC_WORDS or score is None or score < CEILING or len(rows) < 2:
        return []
    on = f"its {int(strokes)} validation strokes" if strokes else "validation"
    return [("At its ceiling", (
        f"run {_number(best.get('run_number'))} scores {score:.4f} on {on}: validation "
        f"cannot rank the runs that reach it; {SEPARATE_FIX}."
    ))]  # fmt: skip


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


def new_group_text(row: pd.Series | None) -> str | None:
    """The score to expect on a new group (grouped cross-validation), or None.

    E.g. ``"to expect on a new player: 0.937 (held-out players 0.77–0.99, 6 players)"``
    (:func:`tennis_lab.evaluation.new_group_text`, in the group's word). Not escaped.
    """
    return None if row is None else _new_group_text(row, _group_word(row))


# --------------------------------------------------------------------------- finalists


def repeat_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The repeats of finalists: rows whose ``phase`` is ``repeat`` (none in older tables)."""
    return df[_is_repeat(df)]


_FINALIST_TABLE_COLUMNS = ("trial", "config_id", "mean", "ci_low", "ci_high", "repeats",
                           "tied", "best_run")  # fmt: skip


def _first_value(values: pd.Series) -> Any:
    """The first value of ``values`` that is not missing (None when there is none)."""
    present = values[values.notna()]
    return present.iloc[0] if len(present) else None


def _flag(value: Any) -> bool | None:
    """A True/False cell (a bool, or the text the CSV and MLflow tags hold); None if missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        return {"true": True, "false": False, "1": True, "0": False}.get(text)
    return bool(value)


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


def _finalist_name(row: pd.Series) -> str:
    trial = row.get("trial")
    return f"trial {int(trial)}" if not pd.isna(trial) else f"configuration {row['config_id']}"


def _names(rows: pd.DataFrame) -> str:
    """``trials 3, 7 and 1``; each named alone when a trial is not known."""
    if rows["trial"].notna().all():
        numbers = [str(int(t)) for t in rows["trial"]]
        return ("trial " if len(numbers) == 1 else "trials ") + _listed(numbers)
    return _listed([_finalist_name(row) for _, row in rows.iterrows()])


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _interval_text(row: pd.Series) -> str:
    """``0.9100 [0.8900, 0.9300]``; ``0.9100 (one score, no interval)``."""
    if _float(row.get("ci_low")) is None or _float(row.get("ci_high")) is None:
        return f"{_pm(row['mean'])} (one score, no interval)"
    return f"{_pm(row['mean'])} [{_pm(row['ci_low'])}, {_pm(row['ci_high'])}]"


def _seeds(rows: pd.DataFrame) -> str:
    """``5 seeds each``; ``5, 5 and 4 seeds``; ``1 seed``."""
    counts = [int(n) for n in rows["repeats"]]
    if len(set(counts)) == 1:
        return _plural(counts[0], "seed") + (" each" if len(counts) > 1 else "")
    return f"{_listed([str(n) for n in counts])} seeds"


def _percent(level: float) -> str:
    return f"{100 * level:g} %"


def verdict_sentence(df: pd.DataFrame) -> str | None:
    """The finalists' verdict as a plain sentence.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table.

    Returns
    -------
    str or None
        None when the table has no finalist with a scored repeat. With several tied
        with the best (:func:`finalists_table`'s ``tied``): ``"No single winner:
        trials 3, 7 and 1 are statistically tied (one-sided Welch's t-test at the 5 %
        level over 5 seeds each; 95 % intervals of val_stroke_macro_f1: ...)."``,
        followed by the finalists found worse. When only the best is tied with
        itself: ``"Trial 3 is ahead of the other finalists: ..."``, naming the test,
        its level and each interval. With one finalist, that there is nothing to
        compare it with. While the repeats run (a provisional verdict), the sentence
        starts with how many of them are done.
    """
    table = finalists_table(df)
    table = table[table["mean"].notna()]
    if table.empty:
        return None
    attrs = table.attrs
    test = f"{TIE_TEST} at the {_percent(attrs.get('level', TIE_LEVEL))} level"
    what = f"{_percent(attrs.get('interval', INTERVAL_LEVEL))} interval"
    metric = attrs.get("metric", SELECTION_METRIC)

    def intervals(rows: pd.DataFrame) -> str:
        return "; ".join(f"{_finalist_name(r)} {_interval_text(r)}" for _, r in rows.iterrows())

    best = table.iloc[0]
    tied = table[table["tied"].astype(bool)]
    others = table[~table.index.isin(tied.index)]
    if len(table) == 1:
        text = (
            f"One finalist, {_finalist_name(best)}: {_interval_text(best)} ({what} of "
            f"{metric} over {_seeds(table)}); there is no other finalist to compare it with."
        )
    elif len(tied) > 1:
        text = (
            f"No single winner: {_names(tied)} are statistically tied ({test} over "
            f"{_seeds(tied)}; {what}s of {metric}: {intervals(tied)}); these scores do "
            "not separate them."
        )
        if len(others):
            text += (
                f" {_sentence_start(_names(others))} "
                f"{'is' if len(others) == 1 else 'are'} worse than the best: "
                f"{intervals(others)}."
            )
    else:
        text = (
            f"{_sentence_start(_finalist_name(best))} is ahead of the other finalists: "
            f"{_interval_text(best)} ({what} of {metric} over {_seeds(table.iloc[[0]])}); "
            f"a {test} finds each of the others worse ({intervals(others)})."
        )
    if attrs.get("provisional"):
        done, runs = attrs.get("done", 0), attrs.get("runs", 0)
        why = (
            f"the finalists' repeats are still running ({done} of {runs} done)"
            if done < runs
            else f"the runner has not recorded its verdict ({done} of {runs} repeats done)"
        )
        text = f"Provisional, worked out from the repeats' scores so far: {why}. {text}"
    return text


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- overview


def _group_word(row: pd.Series | None) -> str:
    """What a group is in a run: player, session or video (from split_by_resolved or
    split_by), else "group"."""
    if row is None:
        return "group"
    for column in ("split_by_resolved", "split_by"):
        value = row.get(column)
        if isinstance(value, str) and value in _GROUP_WORDS:
            return value
    return "group"


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
    ranked = _ranked(df, metric)
    best = winner_row(df, metric)

    def best_value(column: str) -> float | None:
        return _float(best.get(column)) if best is not None else None

    done = completed(df)
    unranked = done.drop(index=ranked.index)
    failed = df[status == "FAILED"] if "status" in df.columns else df.iloc[0:0]
    errors: dict[str, list] = {}
    for _, row in failed.iterrows():
        text = row.get("error")
        text = text if isinstance(text, str) and text.strip() else "unknown error"
        errors.setdefault(text, []).append(_number(row.get("run_number")))
    grouped = [
        {"error": text, "count": len(numbers), "runs": numbers}
        for text, numbers in sorted(errors.items(), key=lambda item: -len(item[1]))
    ]
    verdicts = verdict_rows(df)
    verdict_status = verdicts["status"].astype(object) if "status" in verdicts else None
    repeats = repeat_rows(df)
    repeat_status = repeats["status"].astype(object) if "status" in repeats else None
    strategies = []
    if "strategy" in df.columns:
        strategies = list(dict.fromkeys(str(v) for v in df["strategy"].dropna() if str(v)))
    return {
        "runs": int(len(df)),
        "completed": len(done),
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
        "failed": count("FAILED"),
        "running": count("RUNNING"),
        "killed": count("KILLED"),
        "metric": metric,
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
        "group_word": _group_word(best),
        "cross_validated": int(cross_validated(df).sum()),
        "unranked": [_number(n) for n in unranked.get("run_number", pd.Series(dtype=float))],
        "errors": grouped,
    }


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


def strategy_words(strategy: Any) -> str:
    """What a strategy is called in sentences: ``halving`` -> ``successive halving``."""
    return STRATEGY_WORDS.get(str(strategy), str(strategy))


def strategy_summary(overview: dict[str, Any]) -> str | None:
    """One line on how a strategy searched, from :func:`search_overview`.

    Returns
    -------
    str or None
        E.g. ``"successive halving: 6 trials, 4 pruned, 22 epochs trained"`` (pruned
        trials are named for the adaptive strategies, halving and Hyperband, or when
        there are some); then the finalists' repeats when there are some (``"; 3
        finalists re-run with other seeds: 15 runs, 14 completed"``). None for a
        table without a strategy (an older search). Not escaped.
    """
    strategy = overview.get("strategy")
    if not strategy:
        return None
    parts = [_plural(overview.get("trials", 0), "trial")]
    if strategy in ADAPTIVE_STRATEGIES or overview.get("pruned"):
        parts.append(f"{overview.get('pruned', 0)} pruned")
    if overview.get("epochs_trained") is not None:
        parts.append(f"{_fmt(overview['epochs_trained'])} epochs trained")
    names = ", ".join(strategy_words(s) for s in str(strategy).split(", "))
    text = f"{names}: {', '.join(parts)}"
    if overview.get("repeats"):
        text += (
            f"; {_plural(overview.get('finalists', 0), 'finalist')} re-run with other "
            f"seeds: {_plural(overview['repeats'], 'run')}, "
            f"{overview.get('repeats_completed', 0)} completed"
        )
    return text


def _md(text: Any) -> str:
    """Text for a Markdown cell: HTML escaped, Markdown's emphasis and link marks escaped
    (a ``#`` too, but not the one of an entity such as ``&#x27;``: a nested list item
    would show it as text)."""
    return re.sub(r"([\\`*_\[\]|]|(?<!&)#)", r"\\\1", html.escape(str(text)))


def report_header(df: pd.DataFrame, overview: dict[str, Any] | None = None) -> str:
    """Markdown header of a search's report: search, grid, data, date, the strategy
    (:func:`strategy_summary`: trials, pruned, epochs trained, finalists' repeats),
    runs completed/pruned/failed, the best run and its scores. Every value from the
    table is escaped (HTML and Markdown)."""
    overview = overview or search_overview(df)
    attrs = df.attrs
    search = attrs.get("search_id") or Path(str(attrs.get("csv_path", "results"))).stem
    data = ", ".join(sorted({str(v) for v in df["data_dir"].dropna()})) if "data_dir" in df else ""
    date = ""
    if attrs.get("csv_path") and Path(attrs["csv_path"]).is_file():
        stamp = Path(attrs["csv_path"]).stat().st_mtime
        date = pd.Timestamp(stamp, unit="s").strftime("%Y-%m-%d %H:%M")
    running = f", {overview['running']} running" if overview.get("running") else ""
    if overview.get("runs", 0) > overview.get("trials", overview.get("runs", 0)):
        # Rungs and repeats: more rows than trials. Trials rank; runs fail or run.
        runs = (
            f"- **Runs:** {overview['runs']} (every rung of a trial and every repeat): "
            f"{_plural(overview['completed'], 'trial')} completed"
            + (f", {overview['pruned']} pruned" if overview.get("pruned") else "")
            + f"; {_plural(overview['failed'], 'run')} failed{running}"
        )
    else:
        runs = (
            f"- **Runs:** {overview['runs']}: {overview['completed']} completed"
            + (f", {overview['pruned']} pruned" if overview.get("pruned") else "")
            + f", {overview['failed']} failed{running}"
        )
    lines = [
        f"# Search {_md(search)}",
        "",
        f"- **Grid:** {_md(attrs.get('grid', 'unknown'))}",
        f"- **Data:** {_md(data) if data else 'the built-in demo dataset'}",
        f"- **Results:** {_md(attrs.get('csv_path', attrs.get('source', '')))}"
        + (f" ({date})" if date else ""),
    ]
    summary = strategy_summary(overview)
    if summary:
        lines.append(f"- **Strategy:** {_md(summary)}")
    lines.append(runs)
    metric = overview.get("metric", SELECTION_METRIC)
    if overview.get("best_run") is not None:
        verdict, undecided = _verdict(df, metric)
        if verdict and undecided:  # said instead of crowning one
            lines.append(f"- **Verdict:** {_md(verdict)}")
        lines.append(_best_line(overview, metric, undecided))
        if verdict and not undecided:
            lines.append(f"- **Verdict:** {_md(verdict)}")
        lines += _limits_and_warnings(df, overview, metric)
        if metric == LEGACY_SELECTION_METRIC:
            lines.append(
                f"- **Note:** these results have no {_md(SELECTION_METRIC)} (they predate "
                "stroke-level scores), so runs are ranked by the window-level "
                f"{_md(LEGACY_SELECTION_METRIC)}."
            )
    if overview.get("cross_validated"):
        lines.append(
            f"- **Cross-validation:** {overview['cross_validated']} of "
            f"{overview['completed']} completed runs; their scores are means over folds "
            "± the std over folds."
        )
    if overview.get("unranked"):
        numbers = ", ".join(str(n) for n in overview["unranked"] if n is not None)
        lines.append(
            f"- **Not ranked:** {len(overview['unranked'])} completed run(s) without "
            f"{_md(metric)}" + (f" (runs {numbers})" if numbers else "")
        )
    return "\n".join(lines)


def _best_line(overview: dict[str, Any], metric: str, undecided: bool) -> str:
    """The header's line on the winner: its scores and the score to expect on a new group."""
    words = _METRIC_WORDS.get(metric, f"by {_md(metric)}")
    what = "validation" if metric in _METRIC_WORDS else _md(metric)
    label = "Registered as the champion" if undecided else "Best"
    how = ""
    if overview.get("best_phase") == PHASE_REPEAT:
        trial = overview.get("best_finalist_trial")
        finalist = f"finalist trial {int(trial)}" if trial is not None else "a finalist"
        how = f" (the best-scoring repeat of {finalist}, the finalist with the best mean)"
    best = f"- **{label} ({words}):** run {overview['best_run']}{how}, {what} " + _pm(
        overview["best_score"], overview.get("best_score_std")
    )
    if overview.get("best_new_group"):
        best += f"; {_md(overview['best_new_group'])}"
    if metric == SELECTION_METRIC or overview.get("best_test_stroke_macro_f1") is not None:
        best += (
            f"; test macro F1 over strokes {_pm(overview.get('best_test_stroke_macro_f1'))}"
            f"; worst {overview.get('group_word', 'group')} "
            f"{_pm(overview.get('best_worst_group_macro_f1'))}"
            f"; test windows: macro F1 {_pm(overview.get('best_macro_f1_score'))}, "
            f"accuracy {_pm(overview.get('best_test_accuracy'))}"
        )
    else:
        best += (
            f"; test macro F1 {_pm(overview.get('best_macro_f1_score'))}"
            f"; test accuracy {_pm(overview.get('best_test_accuracy'))}"
        )
    return best


def _verdict(df: pd.DataFrame, metric: str) -> tuple[str | None, bool]:
    """The verdict sentence for the header and whether it is undecided: the table's
    (:func:`winner_sentence`), else the parent run's ``verdict`` tag as the search wrote
    it (MLflow source)."""
    sentence = winner_sentence(df, metric)
    if sentence is not None:
        return sentence, sentence.startswith("Undecided")
    tag = df.attrs.get("verdict")
    if not isinstance(tag, str) or not tag.strip() or metric != SELECTION_METRIC:
        return None, False
    if has_verdict(df):
        return None, False
    tag = tag.strip()
    return f"{tag} (the search's parent run).", tag.startswith(("undecided", "tied"))


def _limits_and_warnings(df: pd.DataFrame, overview: dict[str, Any], metric: str) -> list[str]:
    """The header's lines on what limits the winner (ceiling, thin validation, a class
    missing), its warnings, and how many other runs have warnings; escaped."""
    lines = [f"- **{label}:** {_md(text)}" for label, text in limit_lines(df, metric)]
    warnings = winner_warnings(df, metric)
    if warnings:
        lines.append(f"- **Warnings of run {overview['best_run']}:**")
        lines += [f"    - {_md(line)}" for line in warnings]
    others = warned_runs(df, metric)
    if others:
        numbers = ", ".join(str(n) for n in others if n is not None)
        lines.append(
            f"- **Other runs with warnings:** {len(others)} (runs {numbers}); the "
            "Warnings section lists them."
        )
    return lines


# --------------------------------------------------------------------------- display


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
                "" if _float(v) is None else _pm(v, s, digits)
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


def link_notebooks(board: pd.DataFrame, relative_to: str | Path) -> pd.DataFrame:
    """``board`` with its ``notebook`` column as HTML links, relative to ``relative_to``.

    Each run links to the HTML rendering of its executed notebook when one lies beside
    it (``tennis-lab report`` writes them), else to the notebook itself (JupyterLab
    opens it). ``relative_to`` is the folder of the page the links are in: the
    report's, or ``notebooks/`` in JupyterLab.
    """
    out = board.copy()
    if "notebook" not in out:
        return out

    def link(path: Any) -> str:
        if not isinstance(path, str) or not path:
            return ""
        rendered = Path(path).with_suffix(".html")
        shown = rendered if rendered.is_file() else Path(path)
        target = quote(Path(os.path.relpath(shown, relative_to)).as_posix())
        return f'<a href="{html.escape(target)}">{html.escape(shown.name)}</a>'

    out["notebook"] = out["notebook"].map(link)
    return out


# Metrics that count things: shown as numbers, not to four decimals.
_COUNTS = {"epochs_trained", "epochs_trained_this_run", "val_strokes", "test_strokes",
           "test_strokes_unreached", "trainable_params", "strokes", "cv_folds",
           "val_groups", "new_groups"}  # fmt: skip


def table_html(table: pd.DataFrame, relative_to: str | Path | None = None, digits: int = 4) -> str:
    """A results table (a leaderboard, a groups or folds table) as an HTML table.

    Scores with a ``_std`` column are shown as mean ± std (:func:`format_scores`),
    metric values to ``digits`` decimals, parameter values as the sentences show them;
    every cell, column name and index label is HTML-escaped, except the ``notebook``
    links (made by :func:`link_notebooks` when ``relative_to`` is given).
    """
    shown = format_scores(table, digits)
    scores = (set(metric_columns(shown)) | {"macro_f1", "accuracy", "mean", "ci_low",
                                             "ci_high", "diff_to_best"}) - _COUNTS  # fmt: skip

    def cell(value: Any, column: str) -> str:
        if isinstance(value, str):
            return html.escape(value)
        if _missing(value) or value is pd.NA:
            return ""
        if column in scores and isinstance(value, float | np.floating):
            return f"{float(value):.{digits}f}"
        return html.escape(_fmt(value))

    out = pd.DataFrame(index=shown.index)
    for column in shown.columns:
        if column == "notebook" and relative_to is not None:
            out[column] = link_notebooks(shown[[column]], relative_to)[column]
        else:
            out[column] = [cell(v, column) for v in shown[column]]
    # a header may break after an underscore: wide tables fit the page
    out.columns = [html.escape(str(c)).replace("_", "_<wbr/>") for c in shown.columns]
    out.index = [html.escape(_fmt(i)) for i in shown.index]
    out.index.name = html.escape(str(shown.index.name)) if shown.index.name else None
    return out.to_html(escape=False)


# --------------------------------------------------------------------------- the best run


def best_run_details(df: pd.DataFrame, metric: str | None = None) -> dict[str, Any]:
    """The best run's details from MLflow (confusion matrix, curves, groups, folds).

    The best run is :func:`winner_row`: the search's one winner, the champion.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table; ``df.attrs["tracking_uri"]`` says where its runs are.
    metric : str, optional
        The ranking; default :func:`selection_metric`.

    Returns
    -------
    dict
        ``run`` (run number or None), ``run_id``, ``group_word`` (player, session,
        video or group), ``details`` (:func:`tennis_lab.tracking.run_details`, or
        None when unavailable) and ``note`` (one line saying why it is unavailable,
        else None).
    """
    metric = _metric(df, metric)
    best = winner_row(df, metric)
    info: dict[str, Any] = {"run": None, "run_id": "", "group_word": "group",
                            "details": None, "note": None}  # fmt: skip
    if best is None:
        info["note"] = f"No completed run with {metric}: no best run to show."
        return info
    info.update(run=_number(best.get("run_number")), group_word=_group_word(best))
    run_id = best.get("run_id")
    info["run_id"] = run_id if isinstance(run_id, str) else ""
    uri = df.attrs.get("tracking_uri")
    if not info["run_id"]:
        info["note"] = f"Run {info['run']} has no MLflow run id: it was not logged to MLflow."
    elif not uri:
        info["note"] = (
            f"Run {info['run']}'s MLflow store is not known (no search state names its "
            "tracking URI): its details are not shown."
        )
    else:
        try:
            info["details"] = tracking.run_details(info["run_id"], tracking_uri=uri)
        except Exception as exc:  # noqa: BLE001 - a report shows what it can
            info["note"] = (
                f"Run {info['run']}'s details could not be read from MLflow at {uri} "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})."
            )
    return info


_GROUP_COLUMNS = ("group", "handedness", "strokes", "macro_f1", "accuracy", "fold", "videos")


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
