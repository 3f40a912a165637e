"""A run's model and the model registry: an MLflow Keras model with its preprocessing,
registered versions and the alias (``champion``) that names the best."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tennis_lab.tracking.runs import _json_default
from tennis_lab.tracking.store import TrackingError, resolve_tracking_uri
from tennis_lab.tracking.store import client as _client

if TYPE_CHECKING:
    from tennis_lab.training import RunResult

DEFAULT_MODEL_NAME = "tennis_strokes"
CHAMPION_ALIAS = "champion"
MODEL_ARTIFACT = "model"  # a run's MLflow model: runs:/<run id>/model
MODEL_METADATA_KEY = "tennis_lab"  # the preprocessing, in the MLflow model's metadata


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
