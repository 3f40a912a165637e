"""The MLflow store and experiment: the tracking URI (resolved, checked, made absolute), a
client of the store and registry, the experiment created once with its artifacts folder,
and the UI's address of an experiment.

The default store is SQLite at the project root (``mlflow.db``, see
:func:`tennis_lab.paths.default_tracking_uri`); its artifacts go to ``mlartifacts/``
beside the database. A parent process calls :func:`ensure_experiment` before any
worker starts: concurrent first use of a new SQLite store loses runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tennis_lab import paths
from tennis_lab.errors import TennisLabError
from tennis_lab.results import DEFAULT_EXPERIMENT

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
