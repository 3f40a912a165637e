"""Writing runs: parameters as MLflow text, parent runs, tags, metrics and artifacts of a
run, and a FAILED run for a combination whose notebook raised.

Everything goes through :class:`mlflow.MlflowClient` with explicit run ids, never the
fluent global active run, so that logging is safe inside notebooks, threads and
worker processes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tennis_lab.results.mlflow_runs import FOLD_PREFIX, HISTORY_PREFIX, SERIES_PREFIXES  # noqa: F401
from tennis_lab.tracking.store import client as _client

RUN_STATUSES = ("FINISHED", "FAILED", "KILLED")
# MLflow's limits per log_batch call.
_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000


def _json_default(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


def _param_value(value: Any) -> str:
    """One parameter as MLflow text: lists as JSON, booleans ``True``/``False``."""
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        value = value.tolist()  # numpy scalar or array
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=_json_default)
    return str(value)


def run_params(params: Mapping[str, Any]) -> dict[str, str]:
    """The parameters as MLflow params.

    Parameters
    ----------
    params : mapping
        Parameter name to value.

    Returns
    -------
    dict of str to str
        Every name as given; lists as JSON text (``"[128, 64]"``), booleans as
        ``"True"``/``"False"``; plus ``uses_batch_normalization`` (the guide's name) when
        ``use_batch_norm`` is present.
    """
    out = {str(k): _param_value(v) for k, v in params.items()}
    if "use_batch_norm" in params:
        out.setdefault("uses_batch_normalization", str(params["use_batch_norm"]))
    return out


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _log_params(client, run_id: str, params: Mapping[str, str]) -> None:
    from mlflow.entities import Param

    entities = [Param(k, v) for k, v in params.items()]
    for chunk in _chunks(entities, _PARAMS_PER_BATCH):
        client.log_batch(run_id, params=chunk, synchronous=True)


def _log_tags(client, run_id: str, tags: Mapping[str, Any]) -> None:
    from mlflow.entities import RunTag

    entities = [RunTag(str(k), str(v)) for k, v in tags.items()]
    for chunk in _chunks(entities, _PARAMS_PER_BATCH):
        client.log_batch(run_id, tags=chunk, synchronous=True)


def _log_metrics(client, run_id: str, metrics: list) -> None:
    for chunk in _chunks(metrics, _METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=chunk, synchronous=True)


def _create_run(
    client,
    experiment_id: str,
    run_name: str | None,
    tags: Mapping[str, Any],
    started_at: float | None = None,
):
    """A new RUNNING run with the context tags (user, source) fluent runs also get.

    ``started_at`` (seconds since the epoch): when the work the run records began, so
    that its Duration in the MLflow UI is that work's time; default now.
    """
    from mlflow.tracking.context.registry import resolve_tags

    all_tags = resolve_tags({str(k): str(v) for k, v in tags.items()})
    start = int(started_at * 1000) if started_at is not None else None
    return client.create_run(experiment_id, start_time=start, tags=all_tags, run_name=run_name)


def start_parent_run(
    experiment_id: str,
    run_name: str,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Start a parent run (e.g. one search) that child runs nest under.

    Parameters
    ----------
    experiment_id : str
        From :func:`ensure_experiment`.
    run_name : str
    tags : mapping, optional
    params : mapping, optional
        Logged through :func:`run_params`.
    tracking_uri : str, optional

    Returns
    -------
    str
        The run id; the run stays RUNNING until :func:`end_run`.
    """
    client = _client(tracking_uri)
    run = _create_run(client, experiment_id, run_name, tags or {})
    run_id = run.info.run_id
    if params:
        try:
            _log_params(client, run_id, run_params(params))
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
    return run_id


def end_run(run_id: str, status: str = "FINISHED", tracking_uri: str | None = None) -> None:
    """End a run started with :func:`start_parent_run`.

    Parameters
    ----------
    run_id : str
    status : {"FINISHED", "FAILED", "KILLED"}
    tracking_uri : str, optional
    """
    if status not in RUN_STATUSES:
        raise ValueError(f"status must be one of {list(RUN_STATUSES)}; got {status!r}.")
    _client(tracking_uri).set_terminated(run_id, status)


def warnings_tag(lines: Sequence[str]) -> str:
    """A run's warning lines as one tag value (MLflow keeps up to 8000 characters)."""
    from tennis_lab.results import WARNINGS_SEPARATOR

    text = WARNINGS_SEPARATOR.join(lines)
    return text if len(text) <= 8000 else text[:7999] + "…"


def reopen_run(run_id: str, tracking_uri: str | None = None) -> None:
    """Set an ended run back to RUNNING (a resumed search continues its parent run)."""
    _client(tracking_uri).update_run(run_id, status="RUNNING")


def set_tags(run_id: str, tags: Mapping[str, Any], tracking_uri: str | None = None) -> None:
    """Add or replace tags of a run."""
    _log_tags(_client(tracking_uri), run_id, tags)


def log_metrics(run_id: str, metrics: Mapping[str, float], tracking_uri: str | None = None) -> None:
    """Log metrics (name -> value, at step 0 and the current time) to a run."""
    import math

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    entities = [
        Metric(str(k), float(v), now, 0) for k, v in metrics.items() if math.isfinite(float(v))
    ]
    _log_metrics(_client(tracking_uri), run_id, entities)


def log_artifact(
    run_id: str, path: str | Path, artifact_path: str | None = None, tracking_uri: str | None = None
) -> None:
    """Log a local file (e.g. the executed notebook) to a run, under ``artifact_path``."""
    _client(tracking_uri).log_artifact(run_id, str(path), artifact_path)


def record_failed_run(
    experiment_id: str,
    parent_run_id: str | None,
    run_name: str,
    params: Mapping[str, Any],
    error: str,
    tags: Mapping[str, Any] | None = None,
    notebook: str | Path | None = None,
    tracking_uri: str | None = None,
) -> str:
    """A FAILED run for a combination whose notebook raised or whose kernel died.

    Its params, tags (plus ``status`` FAILED and ``error``) and, when given, the
    executed notebook are logged, so that every combination of a search has a run.
    If the notebook had already opened a run for it, that run is left as it is.

    Returns
    -------
    str
        The run id.
    """
    client = _client(tracking_uri)
    all_tags = {**(tags or {}), "status": "FAILED", "error": error[:4000]}
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run = _create_run(client, experiment_id, run_name, all_tags)
    run_id = run.info.run_id
    try:
        _log_params(client, run_id, run_params(params))
        if notebook is not None:
            client.log_artifact(run_id, str(notebook), "notebook")
    finally:
        client.set_terminated(run_id, "FAILED")
    return run_id
