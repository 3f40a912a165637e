"""MLflow tracking: the experiment, parent and child runs, parameter and metric names.

Everything goes through :class:`mlflow.MlflowClient` with explicit run ids, never the
fluent global active run, so that logging is safe inside notebooks, threads and
worker processes. ``mlflow`` is imported inside the functions: importing this module
is cheap. Nothing here trains a model (see :mod:`tennis_lab.training`).

Names in MLflow (see the grid search guide)::

    params    every parameter as given (lists as JSON text "[128, 64]", booleans
              "True"/"False"), uses_batch_normalization (alias of use_batch_norm),
              num_classes, classes, input_shape, train/val/test_samples,
              <split>_count_<class>
    metrics   every RunResult metric (val_macro_f1_score, macro_avg_f1_score,
              test_accuracy, <class>_recall, ...); per-epoch curves as epoch_<name>
              (epoch_loss, epoch_val_loss, epoch_learning_rate, ...) with step = epoch
              (0-based, as Keras counts); with cross-validation each fold's headline
              metrics as fold_<name> with step = fold (1-based)
    artifacts model/ (an MLflow Keras model: MLmodel with signature, input example and
              the preprocessing as metadata "tennis_lab", data/model.keras, and a
              copy model/model.keras), plots/<name>.png, classification_report.txt,
              label_classes.json, confusion_matrix.json, data.json, per_group.json
              (test strokes scored per player/session/video), folds.json
    tags      the caller's tags (search_id, config_id, grid, status, ...),
              mlflow.parentRunId for a child run, error for a failed one
    registry  registered model "tennis_strokes" (by default); the alias "champion"
              points at the version of the best run of the latest search

The default store is SQLite at the project root (``mlflow.db``, see
:func:`tennis_lab.paths.default_tracking_uri`); its artifacts go to ``mlartifacts/``
beside the database. A parent process calls :func:`ensure_experiment` before any
worker starts: concurrent first use of a new SQLite store loses runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tennis_lab import paths
from tennis_lab.errors import TennisLabError

if TYPE_CHECKING:
    import pandas

    from tennis_lab.training import RunResult

DEFAULT_EXPERIMENT = "tennis_stroke_recognition"
# MLflow 3's UI opens an experiment without this tag in its GenAI view (traces, token
# usage); with it, as model training (runs, metrics, charts).
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}
# Newer MLflow UIs (3.5+) choose the view from a switch kept in the browser; this URL
# parameter sets it to model training.
UI_TRAINING_VIEW = "workflowType=machine_learning"
DEFAULT_UI = "http://127.0.0.1:5000"


def ui_url(experiment_id: str | None = None, base: str = DEFAULT_UI) -> str:
    """The MLflow UI's page of an experiment's runs, opened as model training."""
    page = f"#/experiments/{experiment_id}" if experiment_id else "#/experiments"
    return f"{base.rstrip('/')}/{page}?{UI_TRAINING_VIEW}"


ARTIFACTS_DIRNAME = "mlartifacts"
RUN_STATUSES = ("FINISHED", "FAILED", "KILLED")
SPLITS = ("train", "val", "test")
DEFAULT_MODEL_NAME = "tennis_strokes"
CHAMPION_ALIAS = "champion"
MODEL_ARTIFACT = "model"  # a run's MLflow model: runs:/<run id>/model
MODEL_METADATA_KEY = "tennis_lab"  # the preprocessing, in the MLflow model's metadata
HISTORY_PREFIX = "epoch_"
FOLD_PREFIX = "fold_"
SERIES_PREFIXES = (HISTORY_PREFIX, FOLD_PREFIX)  # metrics that are series, not one figure
BASE_COLUMNS = (
    "run_id",
    "run_name",
    "experiment_id",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
)
# MLflow's limits per log_batch call.
_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000


class TrackingError(TennisLabError, RuntimeError):
    """An MLflow store, experiment or run that cannot be used; the message says which."""


def resolve_tracking_uri(uri: str | None = None) -> str:
    """Return the tracking URI to use.

    Parameters
    ----------
    uri : str, optional
        Used when given.

    Returns
    -------
    str
        ``uri``, else ``$MLFLOW_TRACKING_URI``, else SQLite ``<project root>/mlflow.db``.
    """
    if uri:
        return str(uri)
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return paths.default_tracking_uri()


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, absolute; None for other stores."""
    return _sqlite_path(uri)


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores and in-memory)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser().resolve()


ACCEPTED_URIS = (
    "sqlite:///PATH.db (a database file; a relative PATH is from the current folder)",
    "http(s)://HOST:PORT (an mlflow server)",
    "postgresql://, mysql://, mssql:// (a database server)",
    "databricks",
)
_SERVER_SCHEMES = ("http", "https")
_DATABASE_SCHEMES = ("postgresql", "mysql", "mssql", "databricks", "databricks-uc", "uc")


def absolute_tracking_uri(uri: str) -> str:
    """``uri`` with a relative SQLite path made absolute from the current working directory.

    ``sqlite:///rel.db`` names ``rel.db`` relative to where the command runs; a run's
    kernel runs elsewhere, so it gets ``sqlite:////<cwd>/rel.db``. Other URIs as given.
    """
    db = _sqlite_path(uri)
    if db is None:
        return uri
    query = uri.split("?", 1)[1] if "?" in uri else ""
    return f"sqlite:///{db}" + (f"?{query}" if query else "")


def check_tracking_uri(uri: str, timeout: float = 5.0) -> None:
    """Raise :class:`TrackingError` unless ``uri`` names a store MLflow can use.

    Only the form is checked, and for an mlflow server that it answers within
    ``timeout`` seconds (one GET of ``/health``, no retries); nothing is created.

    Raises
    ------
    TrackingError
        Naming the URI, what is wrong and the accepted forms (:data:`ACCEPTED_URIS`).
    """
    from urllib.parse import urlparse

    scheme = urlparse(uri).scheme.lower().split("+", 1)[0]
    if scheme == "sqlite":
        db = _sqlite_path(uri)
        if db is None:
            _bad_uri(
                uri, "an in-memory database (or one without sqlite:/// before its path) is "
                "not shared with the runs' kernels; name a file: sqlite:///mlflow.db",
            )  # fmt: skip
        if db is not None and db.is_dir():
            _bad_uri(uri, f"{db} is a folder; name a database file in it, e.g. {db}/mlflow.db")
    elif scheme in _SERVER_SCHEMES:
        _check_server(uri, timeout)
    elif scheme not in _DATABASE_SCHEMES:
        folder = Path(uri).expanduser()
        if not scheme and folder.is_dir():
            _bad_uri(
                uri, "it is a folder (MLflow's file store, which this version no longer "
                f"supports); use sqlite:///{folder.resolve()}/mlflow.db",
            )  # fmt: skip
        _bad_uri(
            uri,
            f"unknown scheme {scheme!r}"
            if scheme
            else f"it has no scheme (a file: sqlite:///{uri})",
        )


def _bad_uri(uri: str, reason: str) -> None:
    raise TrackingError(
        f"tracking URI {uri!r} cannot be used: {reason}. Accepted forms: "
        + "; ".join(ACCEPTED_URIS)
        + " (--tracking-uri or $MLFLOW_TRACKING_URI)."
    )


def _check_server(uri: str, timeout: float) -> None:
    """An mlflow server answers at ``uri`` (any HTTP answer counts: it may ask for a login)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return  # something answers; MLflow reports what it says
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(
            f"no MLflow server answers at tracking URI {uri!r} within {timeout:g} s "
            f"({reason}). Start it (mlflow server --host 127.0.0.1 --port PORT "
            "--backend-store-uri sqlite:///mlflow.db) or fix the address."
        ) from None


def _artifact_location(uri: str, experiment: str) -> str | None:
    """``file://`` URI of ``<db dir>/mlartifacts/<experiment>`` for a SQLite store, else None."""
    db = _sqlite_path(uri)
    if db is None:
        return None
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment).strip("._") or "experiment"
    return (db.parent / ARTIFACTS_DIRNAME / folder).as_uri()


def client(tracking_uri: str | None = None):
    """An MLflow client of the store (:func:`resolve_tracking_uri`), its registry too."""
    from mlflow import MlflowClient

    # a run's artifacts are a few small files: no progress bars (in a notebook or a
    # report they would be widgets)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    store = resolve_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=store, registry_uri=store)


_client = client


def ensure_experiment(name: str = DEFAULT_EXPERIMENT, tracking_uri: str | None = None) -> str:
    """Create the store and the experiment when missing; return the experiment id.

    For a SQLite store this creates the database file, its folder and its schema, and
    the experiment's artifacts go to ``<db dir>/mlartifacts/<name>``. Safe to call
    again; call it in the parent process before any worker starts.

    Parameters
    ----------
    name : str
        Experiment name.
    tracking_uri : str, optional
        See :func:`resolve_tracking_uri`.

    Returns
    -------
    str
        The experiment id.

    Raises
    ------
    TrackingError
        When the experiment exists but is deleted.
    """
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri)
    db = _sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    client = _client(uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(
                name, artifact_location=_artifact_location(uri, name), tags=EXPERIMENT_TAGS
            )
        except MlflowException:
            # Another process may have created it in between.
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage != "active":
        raise TrackingError(
            f"MLflow experiment {name!r} at {uri} is deleted; restore it "
            f"(mlflow experiments restore --experiment-id {experiment.experiment_id}) "
            "or use another name."
        )
    for key, value in EXPERIMENT_TAGS.items():  # experiments made before the tag
        if experiment.tags.get(key) is None:
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


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


def _data_params(result: RunResult) -> dict[str, str]:
    """Facts of the data as params: samples and class counts per split, classes, shape."""
    data = dict(result.data or {})
    classes = list(data.get("classes") or result.classes)
    out: dict[str, Any] = {"num_classes": data.get("num_classes", len(classes))}
    for split in SPLITS:
        if f"{split}_samples" in data:
            out[f"{split}_samples"] = data[f"{split}_samples"]
    if "input_shape" in data:
        out["input_shape"] = list(data["input_shape"])
    out["classes"] = classes
    for split in SPLITS:
        for cls, count in (data.get(f"{split}_class_counts") or {}).items():
            out[f"{split}_count_{cls}"] = count
    return {k: _param_value(v) for k, v in out.items()}


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


def _log_artifacts(client, run_id: str, result: RunResult, figures, extra_artifacts) -> None:
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="tennis_lab_run_") as tmp:
        if result.model is not None and result.preprocessing:
            model_dir = save_model(result, Path(tmp) / MODEL_ARTIFACT)
            client.log_artifacts(run_id, str(model_dir), MODEL_ARTIFACT)
        elif result.model is not None:  # a model without its data parameters
            model_dir = Path(tmp) / MODEL_ARTIFACT
            model_dir.mkdir()
            result.model.save(model_dir / "model.keras")
            client.log_artifact(run_id, str(model_dir / "model.keras"), MODEL_ARTIFACT)
    for name, figure in (figures or {}).items():
        from matplotlib.figure import Figure

        from tennis_lab.plots import RenderedFigure

        if isinstance(figure, RenderedFigure):  # drawn once already: logged as it is
            with tempfile.TemporaryDirectory(prefix="tennis_lab_plot_") as tmp:
                path = Path(tmp) / f"{name}.png"
                path.write_bytes(figure.png)
                client.log_artifact(run_id, str(path), "plots")
        elif isinstance(figure, Figure):
            client.log_figure(run_id, figure, f"plots/{name}.png")
        else:
            raise TypeError(
                f"figures[{name!r}] must be a matplotlib Figure or a RenderedFigure "
                f"(tennis_lab.plots.render_png); got {type(figure).__name__}."
            )
    classes = [str(c) for c in result.classes]
    client.log_text(run_id, result.report or "", "classification_report.txt")
    client.log_dict(run_id, classes, "label_classes.json")
    if result.confusion is not None:
        matrix = np.asarray(result.confusion).tolist()
        confusion = {"classes": classes, "rows": "true", "columns": "predicted", "matrix": matrix}
        client.log_dict(run_id, confusion, "confusion_matrix.json")
    if result.data:
        client.log_text(
            run_id, json.dumps(result.data, indent=2, default=_json_default), "data.json"
        )
    if result.groups:  # test strokes scored per player (session, video), worst first
        client.log_text(
            run_id, json.dumps(result.groups, indent=2, default=_json_default), "per_group.json"
        )
    if result.folds:
        client.log_text(
            run_id, json.dumps(result.folds, indent=2, default=_json_default), "folds.json"
        )
    for subdir, local in (extra_artifacts or {}).items():
        local = Path(local)
        if not local.exists():
            raise FileNotFoundError(f"extra artifact {subdir!r}: {local} does not exist.")
        if local.is_dir():
            client.log_artifacts(run_id, str(local), subdir or None)
        else:
            client.log_artifact(run_id, str(local), subdir or None)


def warnings_tag(lines: Sequence[str]) -> str:
    """A run's warning lines as one tag value (MLflow keeps up to 8000 characters)."""
    from tennis_lab.results import WARNINGS_SEPARATOR

    text = WARNINGS_SEPARATOR.join(lines)
    return text if len(text) <= 8000 else text[:7999] + "…"


def log_training_run(
    result: RunResult,
    params: Mapping[str, Any],
    *,
    experiment: str = DEFAULT_EXPERIMENT,
    experiment_id: str | None = None,
    tracking_uri: str | None = None,
    parent_run_id: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    figures: Mapping[str, Any] | None = None,
    extra_artifacts: Mapping[str, str | os.PathLike] | None = None,
    started_at: float | None = None,
) -> str:
    """Log one training run to MLflow as one (child) run.

    Parameters
    ----------
    result : RunResult
        From :func:`tennis_lab.training.train_and_evaluate`.
    params : mapping
        The run's parameters, logged through :func:`run_params`.
    experiment : str
        Experiment name, created when missing (ignored with ``experiment_id`` or
        ``parent_run_id``).
    experiment_id : str, optional
    tracking_uri : str, optional
    parent_run_id : str, optional
        Nest under this run (tag ``mlflow.parentRunId``), in the parent's experiment.
    run_name : str, optional
    tags : mapping, optional
        E.g. search_id, config_id, grid, status.
    figures : mapping of str to matplotlib Figure or RenderedFigure, optional
        Logged as ``plots/<name>.png`` (a :class:`tennis_lab.plots.RenderedFigure` as
        the notebook showed it, not drawn again).
    extra_artifacts : mapping of str to path, optional
        Artifact folder (``""`` for the root) to a local file or folder.
    started_at : float, optional
        When the run's work began (``time.time()`` at the notebook's start): the run's
        start time, so its Duration is the time it took; default now.

    Returns
    -------
    str
        The run id, FINISHED. When logging fails midway, the run is ended FAILED
        (KILLED on KeyboardInterrupt), tagged ``error``, and the error re-raised.
    """
    from mlflow.entities import Metric

    client = _client(tracking_uri)
    if parent_run_id:
        parent_experiment = client.get_run(parent_run_id).info.experiment_id
        if experiment_id is not None and str(experiment_id) != parent_experiment:
            raise ValueError(
                f"experiment_id {experiment_id!r} differs from the experiment "
                f"{parent_experiment!r} of parent run {parent_run_id}; omit experiment_id."
            )
        experiment_id = parent_experiment
    elif experiment_id is None:
        experiment_id = ensure_experiment(experiment, tracking_uri)

    run_tags = dict(tags or {})
    if parent_run_id:
        run_tags["mlflow.parentRunId"] = parent_run_id
    if getattr(result, "warnings", None):  # weak players, gaps, thin splits: in the UI
        run_tags["warnings"] = warnings_tag(result.warnings)
    run_id = _create_run(client, experiment_id, run_name, run_tags, started_at).info.run_id
    try:
        all_params = run_params(params)
        for key, value in _data_params(result).items():
            all_params.setdefault(key, value)
        _log_params(client, run_id, all_params)

        now = int(time.time() * 1000)
        metrics = [Metric(str(k), float(v), now, 0) for k, v in result.metrics.items()]
        for name, values in (result.history or {}).items():
            metrics += [
                Metric(f"{HISTORY_PREFIX}{name}", float(v), now, epoch)
                for epoch, v in enumerate(values, start=int(getattr(result, "first_epoch", 0)))
            ]
        for fold in result.folds or []:  # each fold's figures as a series over fold numbers
            metrics += [
                Metric(f"{FOLD_PREFIX}{name}", float(value), now, int(fold["fold"]))
                for name, value in fold.items()
                if name != "fold" and isinstance(value, int | float)
            ]
        _log_metrics(client, run_id, metrics)

        _log_artifacts(client, run_id, result, figures, extra_artifacts)
    except BaseException as error:
        status = "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED"
        try:
            client.set_tag(run_id, "error", f"{type(error).__name__}: {error}"[:8000])
            client.set_terminated(run_id, status)
        except Exception:  # noqa: BLE001 - keep the original error
            pass
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id


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


# --------------------------------------------------------------------------- models


def _pip_requirements() -> list[str]:
    """What a logged model needs installed (given, so MLflow does not probe for it):
    Keras, the backend it was trained on (either loads it), NumPy."""
    from importlib.metadata import PackageNotFoundError, version

    import keras

    backend = ("jax", "jaxlib") if keras.backend.backend() == "jax" else ("tensorflow",)
    pins = []
    for package in ("keras", *backend, "numpy"):
        try:
            pins.append(f"{package}=={version(package)}")
        except PackageNotFoundError:  # pragma: no cover - keras needs both
            pins.append(package)
    return pins


def save_model(result: RunResult, path: str | os.PathLike) -> Path:
    """Write ``result.model`` as an MLflow Keras model folder with its preprocessing.

    The folder holds ``MLmodel`` (with a tensor signature, an input example and the
    preprocessing as metadata ``tennis_lab``), ``data/model.keras`` and a copy at
    ``model.keras``. :func:`tennis_lab.predict.load_model` reads it back.

    Parameters
    ----------
    result : RunResult
        With ``model`` and ``preprocessing`` (from :mod:`tennis_lab.training`).
    path : path
        A folder that does not exist yet.

    Returns
    -------
    Path
        ``path``.
    """
    import shutil

    import mlflow.keras
    import numpy as np
    from mlflow.models import infer_signature

    if result.model is None or not result.preprocessing:
        raise ValueError("save_model needs a result with a model and its preprocessing.")
    path = Path(path)
    path.mkdir(parents=True)
    shape = result.preprocessing["input_shape"]
    example = np.zeros((2, *shape), dtype=np.float32)
    # The output's type and shape, without a prediction (it would compile a new step)
    outputs = np.zeros((2, int(result.model.outputs[0].shape[-1])), dtype=np.float32)
    signature = infer_signature(example, outputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's notes on the example's dtype
        mlflow.keras.save_model(
            result.model,
            str(path),
            signature=signature,
            input_example=example[:1],
            pip_requirements=_pip_requirements(),
            metadata={MODEL_METADATA_KEY: _plain(result.preprocessing)},
        )
    shutil.copy2(path / "data" / "model.keras", path / "model.keras")
    return path


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready Python data (numpy scalars and arrays converted)."""
    return json.loads(json.dumps(value, default=_json_default))


def _registry_error(error: Exception, what: str, fix: str) -> TrackingError:
    return TrackingError(f"{what}: {fix} ({type(error).__name__}: {error})")


def register_model(
    run_id: str,
    name: str = DEFAULT_MODEL_NAME,
    alias: str | None = CHAMPION_ALIAS,
    tags: Mapping[str, Any] | None = None,
    tracking_uri: str | None = None,
):
    """Register a run's logged model as a new version of ``name`` and point ``alias`` at it.

    A run already registered under ``name`` keeps its version (no duplicate).

    Returns
    -------
    mlflow.entities.model_registry.ModelVersion
    """
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        raise _registry_error(
            error, f"run {run_id} not found in {resolve_tracking_uri(tracking_uri)}",
            "check the id (the results CSV's run_id column, or the MLflow UI)",
        ) from None  # fmt: skip
    logged = {Path(f.path).name for f in client.list_artifacts(run_id, MODEL_ARTIFACT)}
    if "MLmodel" not in logged:
        raise TrackingError(
            f"run {run_id} has no MLflow model under 'model' (logged by an older tennis-lab, "
            "or it failed before logging): train it again or promote another run."
        )
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description="tennis-lab stroke classifiers; alias 'champion': the best."
        )
    existing = client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
    version = existing[0] if existing else client.create_model_version(
        name, f"{run.info.artifact_uri}/{MODEL_ARTIFACT}", run_id=run_id,
        tags={str(k): str(v) for k, v in (tags or {}).items()},
    )  # fmt: skip
    for key, value in (tags or {}).items():
        client.set_model_version_tag(name, version.version, str(key), str(value))
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    return client.get_model_version(name, version.version)


def model_version_by_alias(
    name: str = DEFAULT_MODEL_NAME, alias: str = CHAMPION_ALIAS, tracking_uri: str | None = None
):
    """The version ``alias`` points to, or None (no such model or alias)."""
    from mlflow.exceptions import MlflowException

    try:
        return _client(tracking_uri).get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
