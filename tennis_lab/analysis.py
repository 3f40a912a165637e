"""The results table of a search: best and top-k runs, patterns, trade-offs, importance.

A results table has one row per combination, as the search writes it to
``output/grid_search_results_<timestamp>.csv`` (see ``docs/grids.md``) or as
:func:`load_results_mlflow` rebuilds it from MLflow: bookkeeping columns
(:data:`BOOKKEEPING`), the parameters (lists as JSON text) and the metrics.

Only :func:`load_results` and :func:`load_results_mlflow` do I/O; everything else is a
pure function of a DataFrame. Runs that are not COMPLETED are counted
(:func:`search_overview`) but never ranked, and a completed run without a value for
the metric in question is left out of that ranking. A table where nothing completed
gives empty results, never an exception. Model selection uses the validation macro F1
(``val_macro_f1_score``); the test figures are only reported.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tennis_lab import paths, tracking
from tennis_lab.search import RUN_COLUMNS, STATUS_COMPLETED
from tennis_lab.training import SELECTION_METRIC

BOOKKEEPING = ("run_number", "run_id", "config_id", "status", "error", "notebook", "run_seconds")
_TEXT_COLUMNS = ("run_id", "config_id", "error")
_FIRST_COLUMNS = RUN_COLUMNS  # the results CSV starts with these (see tennis_lab.search)
_PLAIN_METRICS = {
    "val_macro_f1_score", "train_macro_f1_score", "test_accuracy", "test_loss",
    "macro_f1_score", "epochs_trained", "training_time_seconds", "training_time_minutes",
    "trainable_params", "inference_ms_per_window",
}  # fmt: skip
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
_RUN_NAME_NUMBER = re.compile(r"_run_(\d+)$")
_MAX_UNBINNED = 10  # a numeric parameter with more distinct values is binned for importance
_BINS = 5
_MIN_RUNS = 10
_MIN_RUNS_PER_VALUE = 3
_HOW_TO_RUN = "Run a search first: `make grid` (or `tennis-lab grid --grid minimal`)."


class AnalysisError(ValueError):
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
        The known metric names present: validation/train/test macro F1, test accuracy
        and loss, macro and weighted averages, ``<class>_precision/_recall/_f1_score/
        _support``, epochs trained, training time, trainable params, inference time.
    """
    return [
        c
        for c in df.columns
        if c not in BOOKKEEPING
        and (c in _PLAIN_METRICS or _AVERAGE_METRIC.match(c) or _CLASS_METRIC.match(c))
    ]


def parameter_columns(df: pd.DataFrame) -> list[str]:
    """The parameter columns: every column neither bookkeeping nor a metric, in table order."""
    metrics = set(metric_columns(df))
    return [c for c in df.columns if c not in BOOKKEEPING and c not in metrics]


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
    """The classes of a results table, from its ``<class>_recall`` columns (not averages)."""
    return [
        c[: -len("_recall")]
        for c in metric_columns(df)
        if c.endswith("_recall") and not _AVERAGE_METRIC.match(c)
    ]


def completed(df: pd.DataFrame) -> pd.DataFrame:
    """Only the COMPLETED rows (all rows of a table without a ``status`` column)."""
    if "status" not in df.columns:
        return df
    return df[df["status"].astype("object") == STATUS_COMPLETED]


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
    source: str | Path | None = None, output_dir: str | Path | None = None
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
        The CSV's shape: run_number (from the run name's ``_run_NNN``), run_id,
        config_id (tag), status (FINISHED -> COMPLETED; FAILED, RUNNING, KILLED as
        they are), error (tag), the parameters (typed as in the CSV, without the
        data facts training adds), the final metrics (no per-epoch curves), notebook.
        One row per config id: its completed run, else its newest. ``df.attrs`` holds
        experiment, tracking_uri, parent_run_id and the search_id and grid tags.

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
    numbers = names.str.extract(_RUN_NAME_NUMBER, expand=False)
    df = pd.DataFrame(
        {
            "run_number": pd.to_numeric(numbers, errors="coerce").astype("Int64"),
            "run_id": raw["run_id"].astype(str),
            "config_id": tag("config_id").astype(str),
            "status": raw["status"].map(lambda s: _MLFLOW_STATUS.get(s, s)),
            "error": tag("error").astype(str),
        },
        index=raw.index,
    )
    params = [c for c in raw.columns if c.startswith("params.") and not _DATA_PARAMS.match(c[7:])]
    for column in params:
        df[column[len("params.") :]] = _typed(raw[column].astype(object))
    metrics = [
        c
        for c in raw.columns
        if c.startswith("metrics.") and not c[8:].startswith(tracking.SERIES_PREFIXES)
    ]
    for column in metrics:
        df[column[len("metrics.") :]] = pd.to_numeric(raw[column], errors="coerce")
    if "macro_avg_f1_score" in df.columns and "macro_f1_score" not in df.columns:
        df["macro_f1_score"] = df["macro_avg_f1_score"]
    search_ids = tag("search_id")
    df["notebook"] = [
        _notebook_path(s, n, c)
        for s, n, c in zip(search_ids, df["run_number"], df["config_id"], strict=True)
    ]
    # One row per combination: its completed run, else its newest (raw is newest first).
    df["_order"] = np.arange(len(df))
    df["_done"] = df["status"] != STATUS_COMPLETED
    df = df.sort_values(["_done", "_order"], kind="stable")
    keyed = df["config_id"] != ""
    df = pd.concat([df[keyed].drop_duplicates("config_id"), df[~keyed]])
    df = df.sort_values(["run_number", "_order"], kind="stable", na_position="last")
    df = df.drop(columns=["_order", "_done"]).reset_index(drop=True)
    first = [c for c in _FIRST_COLUMNS if c in df.columns]
    rest = [c for c in df.columns if c not in first and c != "notebook"]
    df = df[first + rest + ["notebook"]]
    for key, values in (("search_id", search_ids), ("grid", tag("grid"))):
        found = sorted(set(values) - {""})
        if len(found) == 1:
            attrs[key] = found[0]
    df.attrs = attrs
    return df


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


def leaderboard(df: pd.DataFrame, k: int = 10, metric: str = SELECTION_METRIC) -> pd.DataFrame:
    """The best ``k`` completed runs by ``metric``.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table.
    k : int
        How many runs.
    metric : str
        Column to rank by, higher is better; ties go to the lower run number.

    Returns
    -------
    pandas.DataFrame
        Index ``rank`` (1 = best); columns run_number, ``metric``, macro_f1_score (test),
        test_accuracy, training_time_minutes, the varied parameters, notebook (those
        present). No rows when nothing completed.
    """
    ranked = _ranked(df, metric)
    wanted = ["run_number", metric, "macro_f1_score", "test_accuracy", "training_time_minutes"]
    wanted += varied_parameters(df) + ["notebook"]
    columns = [c for c in dict.fromkeys(wanted) if c in df.columns or c == metric]
    top = ranked.head(max(int(k), 0)).reindex(columns=columns).reset_index(drop=True)
    top.index = pd.RangeIndex(1, len(top) + 1, name="rank")
    return top


def value_table(
    df: pd.DataFrame, param: str, metric: str = SELECTION_METRIC, k: int = 5
) -> pd.DataFrame:
    """How ``metric`` varies with the values of one parameter.

    Parameters
    ----------
    df : pandas.DataFrame
    param : str
        A parameter column.
    metric : str
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


def interaction_table(
    df: pd.DataFrame, a: str, b: str, metric: str = SELECTION_METRIC
) -> pd.DataFrame:
    """Mean ``metric`` for each pair of values of parameters ``a`` (rows) and ``b`` (columns).

    Returns
    -------
    pandas.DataFrame
        NaN where no completed run has the pair; empty when nothing completed.
    """
    _require(df, a, b)
    ranked = _ranked(df, metric)
    if ranked.empty:
        return pd.DataFrame(index=pd.Index([], name=a), columns=pd.Index([], name=b))
    table = ranked.assign(**{a: _keys(ranked[a]), b: _keys(ranked[b])}).pivot_table(
        index=a, columns=b, values=metric, aggfunc="mean", dropna=False
    )
    return table.reindex(index=_ordered(table.index), columns=_ordered(table.columns))


def pattern_sentences(df: pd.DataFrame, k: int = 5, metric: str = SELECTION_METRIC) -> list[str]:
    """What the best ``k`` runs have in common, as plain sentences.

    One sentence per varied parameter: for a numeric one, its range in the top ``k``
    against its range over all runs; for any other (booleans, lists, text), its most
    frequent value in the top ``k`` (ties: the better run's value) and that value's
    share of all runs. "All runs" are the completed runs with a value for ``metric``.

    Parameters
    ----------
    df : pandas.DataFrame
    k : int
    metric : str

    Returns
    -------
    list of str
        E.g. ``"All of the top 5 use use_batch_norm = True (50% of all runs)."``. With
        no more than ``k`` completed runs, one sentence saying so instead.
    """
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
    df: pd.DataFrame, metric: str = SELECTION_METRIC
) -> tuple[pd.DataFrame, str | None]:
    """How much of the variance of ``metric`` each varied parameter explains.

    For each varied parameter, eta squared: the between-group sum of squares over the
    total sum of squares when the completed runs are grouped by its value. A numeric
    parameter with more than 10 distinct values (random search draws) is grouped into
    5 quantile bins, or every run would be a group of its own.

    Parameters
    ----------
    df : pandas.DataFrame
    metric : str

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
    maximize: str = SELECTION_METRIC,
    minimize: str = "training_time_minutes",
) -> pd.Series:
    """Which completed runs are on the trade-off front of two metrics.

    A run is on the front when no other run is at least as good on both (``maximize``
    higher, ``minimize`` lower) and strictly better on one. Runs with the same values
    are all on the front or none is.

    Returns
    -------
    pandas.Series of bool
        Aligned with ``df``; False for runs that are not COMPLETED or lack a value.
    """
    front = pd.Series(False, index=df.index, name="pareto")
    done = completed(df)
    if done.empty:
        return front
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
    df: pd.DataFrame, k: int = 5, metric: str = SELECTION_METRIC, threshold: float = 0.15
) -> pd.DataFrame:
    """Per-class recall of the best ``k`` runs, and whether it is unbalanced.

    Returns
    -------
    pandas.DataFrame
        Index ``rank``; columns run_number, ``metric``, ``<class>_recall`` per class,
        spread (highest minus lowest recall), weakest_class, unbalanced (spread >
        ``threshold``).
    """
    recalls = [f"{c}_recall" for c in class_names(df)]
    top = _ranked(df, metric).head(max(int(k), 0))
    columns = [c for c in ("run_number", metric) if c in df.columns or c == metric]
    table = top.reindex(columns=columns + recalls).reset_index(drop=True)
    values = table[recalls].apply(pd.to_numeric, errors="coerce")
    table["spread"] = values.max(axis=1) - values.min(axis=1) if recalls else np.nan
    names = [r[: -len("_recall")] for r in recalls]
    table["weakest_class"] = [_weakest(row, names) for row in values.to_numpy(dtype=float)]
    table["unbalanced"] = (table["spread"] > threshold).astype(bool)
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table


def _weakest(recalls: np.ndarray, names: list[str]) -> str:
    """The class of the lowest recall in one row ("" when no recall is known)."""
    known = [(v, name) for v, name in zip(recalls, names, strict=True) if not np.isnan(v)]
    return min(known)[1] if known else ""


def overfitting(df: pd.DataFrame, k: int | None = None, gap: float = 0.10) -> pd.DataFrame:
    """Train against validation macro F1 of the completed runs, best validation F1 first.

    Parameters
    ----------
    df : pandas.DataFrame
    k : int, optional
        Only the best ``k`` runs; all when None.
    gap : float
        A train minus validation macro F1 above this flags overfitting.

    Returns
    -------
    pandas.DataFrame
        Index ``rank``; columns run_number, train_macro_f1_score, val_macro_f1_score,
        macro_f1_score (test), train_val_gap, overfitting.
    """
    ranked = _ranked(df, SELECTION_METRIC)
    if k is not None:
        ranked = ranked.head(max(int(k), 0))
    columns = ["run_number", "train_macro_f1_score", SELECTION_METRIC, "macro_f1_score"]
    table = ranked.reindex(columns=columns).reset_index(drop=True)
    train = pd.to_numeric(table["train_macro_f1_score"], errors="coerce")
    table["train_val_gap"] = train - pd.to_numeric(table[SELECTION_METRIC], errors="coerce")
    table["overfitting"] = (table["train_val_gap"] > gap).astype(bool)
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table


def _number(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def search_overview(df: pd.DataFrame) -> dict[str, Any]:
    """The state of a search in numbers.

    Returns
    -------
    dict
        runs, completed, failed, running, killed (counts); best_run (run number by
        validation macro F1, None when nothing completed) with its
        best_val_macro_f1_score, best_macro_f1_score (test) and best_test_accuracy;
        errors: ``[{"error", "count", "runs"}]`` of the failed runs, most common first.
    """
    status = df["status"].astype(object) if "status" in df.columns else pd.Series(dtype=object)
    count = lambda s: int((status == s).sum())  # noqa: E731
    ranked = _ranked(df, SELECTION_METRIC)
    best = ranked.iloc[0] if not ranked.empty else None

    def best_value(column: str) -> float | None:
        return _float(best.get(column)) if best is not None else None

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
    return {
        "runs": int(len(df)),
        "completed": len(completed(df)) if "status" in df.columns else int(len(df)),
        "failed": count("FAILED"),
        "running": count("RUNNING"),
        "killed": count("KILLED"),
        "best_run": _number(best.get("run_number")) if best is not None else None,
        "best_val_macro_f1_score": best_value(SELECTION_METRIC),
        "best_macro_f1_score": best_value("macro_f1_score"),
        "best_test_accuracy": best_value("test_accuracy"),
        "errors": grouped,
    }


def report_header(df: pd.DataFrame, overview: dict[str, Any] | None = None) -> str:
    """Markdown header of a search's report: search, grid, data, date, runs completed/failed."""
    overview = overview or search_overview(df)
    attrs = df.attrs
    search = attrs.get("search_id") or Path(str(attrs.get("csv_path", "results"))).stem
    data = ", ".join(sorted({str(v) for v in df["data_dir"].dropna()})) if "data_dir" in df else ""
    date = ""
    if attrs.get("csv_path") and Path(attrs["csv_path"]).is_file():
        stamp = Path(attrs["csv_path"]).stat().st_mtime
        date = pd.Timestamp(stamp, unit="s").strftime("%Y-%m-%d %H:%M")
    lines = [
        f"# Search {search}",
        "",
        f"- **Grid:** {attrs.get('grid', 'unknown')}",
        f"- **Data:** {data or 'the built-in demo dataset'}",
        f"- **Results:** {attrs.get('csv_path', attrs.get('source', ''))}"
        + (f" ({date})" if date else ""),
        f"- **Runs:** {overview['runs']}: {overview['completed']} completed, "
        f"{overview['failed']} failed"
        + (f", {overview['running']} running" if overview.get("running") else ""),
    ]
    if overview.get("best_run") is not None:
        lines.append(
            f"- **Best (validation macro F1):** run {overview['best_run']}, "
            f"validation {overview['best_val_macro_f1_score']:.4f}, "
            f"test macro F1 {overview['best_macro_f1_score']:.4f}, "
            f"test accuracy {overview['best_test_accuracy']:.4f}"
        )
    return "\n".join(lines)


def link_notebooks(board: pd.DataFrame, relative_to: str | Path) -> pd.DataFrame:
    """``board`` with its ``notebook`` column as HTML links, relative to ``relative_to``."""
    import html
    import os

    out = board.copy()
    if "notebook" not in out:
        return out

    def link(path: Any) -> str:
        if not isinstance(path, str) or not path:
            return ""
        target = os.path.relpath(path, relative_to)
        return f'<a href="{html.escape(target)}">{html.escape(Path(path).name)}</a>'

    out["notebook"] = out["notebook"].map(link)
    return out
