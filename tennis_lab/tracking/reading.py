"""Reading runs back: an experiment's runs as a DataFrame, a run's status, and a logged
run's confusion matrix, classes, per-group and per-fold scores and learning curves.

The MLflow reading itself is :mod:`tennis_lab.results.mlflow_runs` (the analysis reads
through it too); this module resolves the tracking URI and speaks in
:class:`TrackingError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tennis_lab.results.mlflow_runs import RUN_FRAME_COLUMNS, runs_frame
from tennis_lab.results.mlflow_runs import run_details as _read_details
from tennis_lab.results.schema import TableError
from tennis_lab.tracking.store import (
    DEFAULT_EXPERIMENT,
    TrackingError,
    resolve_tracking_uri,
    sqlite_path,
)
from tennis_lab.tracking.store import client as _client

if TYPE_CHECKING:
    import pandas

BASE_COLUMNS = RUN_FRAME_COLUMNS


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
    uri = resolve_tracking_uri(tracking_uri)
    try:
        return runs_frame(experiment, uri, parent_run_id, filter_string)
    except TableError as error:
        raise TrackingError(str(error)) from None


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


def run_details(run_id: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """A logged run's confusion matrix, classes and per-epoch curves, read back from MLflow
    (:func:`tennis_lab.results.run_details` at the resolved tracking URI)."""
    return _read_details(run_id, resolve_tracking_uri(tracking_uri))
