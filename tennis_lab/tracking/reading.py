"""Reading runs back: an experiment's runs as a DataFrame, a run's status, and a logged
run's confusion matrix, classes, per-group and per-fold scores and learning curves."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tennis_lab.tracking.runs import HISTORY_PREFIX
from tennis_lab.tracking.store import (
    DEFAULT_EXPERIMENT,
    TrackingError,
    resolve_tracking_uri,
    sqlite_path,
)
from tennis_lab.tracking.store import client as _client

if TYPE_CHECKING:
    import pandas

BASE_COLUMNS = (
    "run_id",
    "run_name",
    "experiment_id",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
)


def _run_rows(runs: list) -> list[dict[str, Any]]:
    import pandas as pd

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


def runs_dataframe(
    experiment: str = DEFAULT_EXPERIMENT,
    tracking_uri: str | None = None,
    parent_run_id: str | None = None,
    filter_string: str = "",
) -> pandas.DataFrame:
    """The experiment's runs as a DataFrame, newest first.

    Parameters
    ----------
    experiment : str
        Experiment name.
    tracking_uri : str, optional
    parent_run_id : str, optional
        Only the children of this run.
    filter_string : str
        An MLflow search filter, e.g. ``"metrics.macro_avg_f1_score > 0.75"``.

    Returns
    -------
    pandas.DataFrame
        Columns run_id, run_name, experiment_id, status, artifact_uri, start_time,
        end_time, then ``metrics.*``, ``params.*``, ``tags.*`` as
        :func:`mlflow.search_runs` names them; no rows when nothing matches.

    Raises
    ------
    TrackingError
        When the experiment does not exist, naming it and the tracking URI.
    """
    import pandas as pd

    uri = resolve_tracking_uri(tracking_uri)
    client = _client(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise TrackingError(
            f"no MLflow experiment {experiment!r} at tracking URI {uri}; "
            "check the name and the URI, or log a run first."
        )
    filters = [f"tags.mlflow.parentRunId = '{parent_run_id}'"] if parent_run_id else []
    if filter_string.strip():
        filters.append(filter_string.strip())
    runs: list = []
    page_token = None
    while True:
        page = client.search_runs(
            [found.experiment_id],
            filter_string=" AND ".join(filters),
            max_results=1000,
            order_by=["attributes.start_time DESC"],
            page_token=page_token,
        )
        runs.extend(page)
        page_token = page.token
        if not page_token:
            break
    rows = _run_rows(runs)
    df = pd.DataFrame(rows, columns=None if rows else list(BASE_COLUMNS))
    if rows:
        grouped = [c for c in df.columns if c not in BASE_COLUMNS]
        order = {"metrics.": 0, "params.": 1, "tags.": 2}
        grouped.sort(key=lambda c: (order[c.split(".", 1)[0] + "."], c))
        df = df[list(BASE_COLUMNS) + grouped]
    return df


def run_status(run_id: str, tracking_uri: str | None = None) -> str | None:
    """A run's status (RUNNING, FINISHED, ...), or None when the store has no such live run.

    A SQLite store whose file is missing has no runs: it is not created.

    Raises
    ------
    TrackingError
        When the store cannot say (unreachable, no permission).
    """
    from mlflow.exceptions import MlflowException

    db = sqlite_path(resolve_tracking_uri(tracking_uri))
    if db is not None and not db.is_file():
        return None
    try:
        run = _client(tracking_uri).get_run(run_id)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise TrackingError(
            f"cannot read run {run_id} from {resolve_tracking_uri(tracking_uri)}: {error}"
        ) from None
    return None if run.info.lifecycle_stage != "active" else run.info.status


@contextlib.contextmanager
def _no_progress_bars():
    """No "Downloading artifacts" bar: in a notebook it is a widget, dead in a report."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(key)
    os.environ[key] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def run_details(run_id: str, tracking_uri: str | None = None) -> dict[str, Any]:
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
    client = _client(tracking_uri)
    run = client.get_run(run_id)
    history: dict[str, list[float]] = {}
    for key in run.data.metrics:
        if key.startswith(HISTORY_PREFIX):
            points = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
            history[key[len(HISTORY_PREFIX) :]] = [m.value for m in points]
    confusion, classes = None, []
    found: dict[str, Any] = {"per_group.json": [], "folds.json": []}
    with tempfile.TemporaryDirectory() as tmp, _no_progress_bars():
        try:
            local = client.download_artifacts(run_id, "confusion_matrix.json", tmp)
            payload = json.loads(Path(local).read_text(encoding="utf-8"))
            confusion, classes = payload["matrix"], payload["classes"]
        except Exception:  # a failed run has no confusion matrix
            pass
        names = {a.path for a in client.list_artifacts(run_id)}
        for name in found:
            if name in names:
                local = client.download_artifacts(run_id, name, tmp)
                found[name] = json.loads(Path(local).read_text(encoding="utf-8"))
    return {
        "confusion": confusion,
        "classes": classes,
        "groups": found["per_group.json"],
        "folds": found["folds.json"],
        "history": history,
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
    }
