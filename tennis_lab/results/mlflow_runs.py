"""Reading a search's MLflow runs: its children as a results table, a run's details.

MLflow is imported when a function here is called, never on import. The table has
the results CSV's shape (:func:`read_results_mlflow`), so a search can be analysed
while it runs, or when its CSV is gone.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tennis_lab.results.names import trial_file
from tennis_lab.results.schema import (
    RUN_COLUMNS,
    STATUS_COMPLETED,
    STATUS_PRUNED,
    STATUSES,
    TableError,
)
from tennis_lab.results.table import HOW_TO_RUN

# Metrics a run logs as series (per epoch, per fold), not as one figure.
HISTORY_PREFIX = "epoch_"
FOLD_PREFIX = "fold_"
SERIES_PREFIXES = (HISTORY_PREFIX, FOLD_PREFIX)
# The columns of every run, before its metrics.*, params.* and tags.*.
RUN_FRAME_COLUMNS = (
    "run_id", "run_name", "experiment_id", "status", "artifact_uri", "start_time", "end_time",
)  # fmt: skip
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
_PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


# --------------------------------------------------------------------------- runs


def _client(uri: str):
    """An MLflow client of the store ``uri`` (no artifact progress bars: in a notebook
    or a report they would be widgets)."""
    from mlflow import MlflowClient

    os.environ.setdefault(_PROGRESS_BAR, "false")
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _run_rows(runs: list) -> list[dict[str, Any]]:
    rows = []
    for run in runs:
        info, data = run.info, run.data
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment_id": info.experiment_id,
            "status": info.status,
            "artifact_uri": info.artifact_uri,
            "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True)
            if info.end_time
            else pd.NaT,
        }
        row.update({f"metrics.{k}": v for k, v in data.metrics.items()})
        row.update({f"params.{k}": v for k, v in data.params.items()})
        row.update({f"tags.{k}": v for k, v in data.tags.items()})
        rows.append(row)
    return rows


def runs_frame(
    experiment: str, uri: str, parent_run_id: str | None = None, filter_string: str = ""
) -> pd.DataFrame:
    """The experiment's runs at ``uri`` as MLflow records them, newest first.

    Parameters
    ----------
    experiment : str
        Experiment name.
    uri : str
        The tracking URI.
    parent_run_id : str, optional
        Only the children of this run.
    filter_string : str
        An MLflow search filter.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RUN_FRAME_COLUMNS`, then ``metrics.*``, ``params.*``,
        ``tags.*`` (each group by name); no rows when nothing matches.

    Raises
    ------
    TableError
        When the experiment does not exist, naming it and the tracking URI.
    """
    client = _client(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise TableError(
            f"no MLflow experiment {experiment!r} at tracking URI {uri}; "
            f"check the name and the URI, or log a run first. {HOW_TO_RUN}"
        )
    filters = [f"tags.mlflow.parentRunId = '{parent_run_id}'"] if parent_run_id else []
    if filter_string.strip():
        filters.append(filter_string.strip())
    runs: list = []
    page_token = None
    while True:
        page = client.search_runs(
            [found.experiment_id], filter_string=" AND ".join(filters), max_results=1000,
            order_by=["attributes.start_time DESC"], page_token=page_token,
        )  # fmt: skip
        runs.extend(page)
        page_token = page.token
        if not page_token:
            break
    rows = _run_rows(runs)
    df = pd.DataFrame(rows, columns=None if rows else list(RUN_FRAME_COLUMNS))
    if rows:
        grouped = [c for c in df.columns if c not in RUN_FRAME_COLUMNS]
        order = {"metrics.": 0, "params.": 1, "tags.": 2}
        grouped.sort(key=lambda c: (order[c.split(".", 1)[0] + "."], c))
        df = df[list(RUN_FRAME_COLUMNS) + grouped]
    return df


# --------------------------------------------------------------------------- cells


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


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


def _param_first(param: pd.Series, metric: pd.Series) -> pd.Series:
    """A parameter that a run also logs as a metric (``cv_folds``: ``"loo"`` and the
    number of folds): the parameter where the run has it, else the metric; typed."""
    text = param.astype(object).where(param.notna() & (param != "None"), None)
    return _typed(text.where(text.notna(), metric.map(_as_param_text)))


def _tag(raw: pd.DataFrame, name: str) -> pd.Series:
    """The tag ``name`` of each run, ``""`` where it has none."""
    column = f"tags.{name}"
    if column not in raw.columns:
        return pd.Series("", index=raw.index, dtype=object)
    return raw[column].astype(object).where(raw[column].notna(), "")


# --------------------------------------------------------------------------- the table


def _identity(raw: pd.DataFrame) -> pd.DataFrame:
    """run_number (the run name's, else the ``trial`` tag), run_id, config_id, status
    (the ``status`` tag when it is one of :data:`STATUSES`, else MLflow's, as the CSV
    words it) and error of each run."""
    found = raw["run_name"].fillna("").astype(str).str.extract(_RUN_NAME_NUMBER)
    numbers = pd.to_numeric(found[0].fillna(found[1]), errors="coerce")
    numbers = numbers.fillna(pd.to_numeric(_tag(raw, "trial"), errors="coerce"))
    status = raw["status"].map(lambda s: _MLFLOW_STATUS.get(s, s))
    told = _tag(raw, "status").astype(str)
    return pd.DataFrame(
        {
            "run_number": numbers.round().astype("Int64"),
            "run_id": raw["run_id"].astype(str),
            "config_id": _tag(raw, "config_id").astype(str),
            "status": told.where(told.isin(STATUSES), status),
            "error": _tag(raw, "error").astype(str),
        },
        index=raw.index,
    )


def _add_values(df: pd.DataFrame, raw: pd.DataFrame) -> None:
    """Add the strategy's tags, the warnings, the parameters and the final metrics."""
    for name in _RUN_TAGS:
        if f"tags.{name}" in raw.columns:
            values = _tag(raw, name).astype(object)
            df[name] = _typed(values.where(values != "", None))
    if "tags.warnings" in raw.columns:
        df["warnings"] = _tag(raw, "warnings").astype(str)
    params = [c for c in raw.columns if c.startswith("params.") and not _DATA_PARAMS.match(c[7:])]
    for column in params:
        df[column[len("params.") :]] = _typed(raw[column].astype(object))
    metrics = [
        c for c in raw.columns
        if c.startswith("metrics.") and not c[8:].startswith(SERIES_PREFIXES)
    ]  # fmt: skip
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


def _notebooks(
    df: pd.DataFrame, search_ids: pd.Series, notebooks_dir: Any, runs_dir: Any
) -> list[str]:
    """Each run's executed notebook where the search keeps it (``""`` where it is not
    there): in ``notebooks_dir``, else ``<runs_dir>/<search id>``, named by
    :func:`tennis_lab.results.trial_file` (with its rung)."""
    rungs = pd.to_numeric(df.get("rung", pd.Series(0, index=df.index)), errors="coerce")
    out = []
    for search_id, number, config_id, rung in zip(
        search_ids, df["run_number"], df["config_id"], rungs.fillna(0), strict=True
    ):
        folder = notebooks_dir
        if not folder and runs_dir and isinstance(search_id, str) and search_id:
            folder = Path(runs_dir) / search_id
        if not folder or pd.isna(number) or not config_id:
            out.append("")
            continue
        nb = trial_file(folder, int(number), config_id, ".ipynb", int(rung))
        out.append(str(nb) if nb.is_file() else "")
    return out


def _one_row_per_run(df: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """One row per config id and trial and rung: its completed run, else its newest
    (``raw`` is newest first); runs without trial tags (older searches) per config id.
    Rows in run number and rung order; the CSV's first columns first, notebook last."""
    df = df.copy()  # one block of columns again after adding them one by one
    df["_order"] = np.arange(len(df))
    df["_done"] = ~df["status"].isin([STATUS_COMPLETED, STATUS_PRUNED])
    trial, rung = _tag(raw, "trial").astype(str), _tag(raw, "rung").astype(str)
    df["_key"] = df["config_id"] + "|" + trial + "|" + rung
    rungs = df["rung"] if "rung" in df.columns else pd.Series(0.0, index=df.index)
    df["_rung"] = pd.to_numeric(rungs, errors="coerce").fillna(0.0)
    df = df.sort_values(["_done", "_order"], kind="stable")
    keyed = df["config_id"] != ""
    df = pd.concat([df[keyed].drop_duplicates("_key"), df[~keyed]])
    df = df.sort_values(["run_number", "_rung", "_order"], kind="stable", na_position="last")
    df = df.drop(columns=["_order", "_done", "_key", "_rung"]).reset_index(drop=True)
    first = [c for c in RUN_COLUMNS if c in df.columns]
    rest = [c for c in df.columns if c not in first and c != "notebook"]
    return df[first + rest + ["notebook"]]


def read_results_mlflow(
    experiment: str,
    parent_run_id: str | None,
    uri: str,
    notebooks_dir: str | os.PathLike | None = None,
    runs_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """A search's results table rebuilt from its MLflow child runs (also while it runs).

    Parameters
    ----------
    experiment : str
        Experiment name.
    parent_run_id : str, optional
        The search's parent run; None: every run of the experiment except parents.
    uri : str
        The tracking URI.
    notebooks_dir : path, optional
        The folder of the search's run notebooks (its state's ``notebooks_dir``).
    runs_dir : path, optional
        Else the folder holding one such folder per search id.

    Returns
    -------
    pandas.DataFrame
        The CSV's shape; see :func:`tennis_lab.analysis.load_results_mlflow`.

    Raises
    ------
    TableError
        When the experiment does not exist at the tracking URI.
    """
    raw = runs_frame(experiment, uri, parent_run_id=parent_run_id)
    attrs: dict[str, Any] = {"source": "mlflow", "experiment": experiment, "tracking_uri": uri,
                             "parent_run_id": parent_run_id or ""}  # fmt: skip
    if "tags.mlflow.parentRunId" in raw.columns and parent_run_id is None:
        parents = set(raw["tags.mlflow.parentRunId"].dropna())
        raw = raw[~raw["run_id"].isin(parents)]
    if raw.empty:
        df = pd.DataFrame(columns=list(RUN_COLUMNS))
        df.attrs = attrs
        return df
    df = _identity(raw)
    _add_values(df, raw)
    search_ids = _tag(raw, "search_id")
    df["notebook"] = _notebooks(df, search_ids, notebooks_dir, runs_dir)
    df = _one_row_per_run(df, raw)
    for key, values in (("search_id", search_ids), ("grid", _tag(raw, "grid"))):
        found = sorted(set(values) - {""})
        if len(found) == 1:
            attrs[key] = found[0]
    if parent_run_id:
        attrs.update(_parent_tags(experiment, parent_run_id, uri))
        df = _mark_winner(df, attrs.get("best_run_id"))
    df.attrs = attrs
    return df


def _parent_tags(experiment: str, parent_run_id: str, uri: str) -> dict[str, str]:
    """The parent run's ``best_run_id`` and ``verdict`` tags (those it has; none when
    the run cannot be read: the winner then falls back to the ranking)."""
    try:
        parent = runs_frame(experiment, uri, filter_string=f"attributes.run_id = '{parent_run_id}'")
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
    first = [c for c in RUN_COLUMNS if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]]


# --------------------------------------------------------------------------- one run


def _history(client, run) -> dict[str, list[float]]:
    """A run's per-epoch metrics: name (without ``epoch_``) -> values by step."""
    history: dict[str, list[float]] = {}
    for key in run.data.metrics:
        if key.startswith(HISTORY_PREFIX):
            points = sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)
            history[key[len(HISTORY_PREFIX) :]] = [m.value for m in points]
    return history


def run_details(run_id: str, uri: str) -> dict[str, Any]:
    """A logged run's confusion matrix, classes and per-epoch curves, read back from MLflow.

    Returns
    -------
    dict
        ``confusion`` (list of rows, or None), ``classes`` (list), ``groups`` (test
        strokes scored per group, worst first; empty for older runs), ``folds``
        (per-fold metrics; empty without cross-validation), ``history`` (name -> list
        of values per epoch, without the ``epoch_`` prefix), ``params`` and
        ``metrics`` of the run.
    """
    client = _client(uri)
    run = client.get_run(run_id)
    history = _history(client, run)
    confusion, classes = None, []
    found: dict[str, Any] = {"per_group.json": [], "folds.json": []}
    before = os.environ.get(_PROGRESS_BAR)
    os.environ[_PROGRESS_BAR] = "false"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                local = client.download_artifacts(run_id, "confusion_matrix.json", tmp)
                payload = json.loads(Path(local).read_text(encoding="utf-8"))
                confusion, classes = payload["matrix"], payload["classes"]
            except Exception:  # noqa: BLE001 - a failed run has no confusion matrix
                pass
            names = {a.path for a in client.list_artifacts(run_id)}
            for name in found:
                if name in names:
                    local = client.download_artifacts(run_id, name, tmp)
                    found[name] = json.loads(Path(local).read_text(encoding="utf-8"))
    finally:
        if before is None:
            os.environ.pop(_PROGRESS_BAR, None)
        else:
            os.environ[_PROGRESS_BAR] = before
    return {
        "confusion": confusion, "classes": classes, "groups": found["per_group.json"],
        "folds": found["folds.json"], "history": history,
        "params": dict(run.data.params), "metrics": dict(run.data.metrics),
    }  # fmt: skip
