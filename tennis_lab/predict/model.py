"""A logged stroke model and how it is named and loaded: a registered model and alias, a
run, or a local folder holding an MLflow model, with the preprocessing from its metadata;
and the videos its run held out (``data.json``)."""

from __future__ import annotations

import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tennis_lab.errors import TennisLabError
from tennis_lab.model import register_layers
from tennis_lab.tracking import (
    CHAMPION_ALIAS,
    DEFAULT_MODEL_NAME,
    MODEL_ARTIFACT,
    MODEL_METADATA_KEY,
    resolve_tracking_uri,
)
from tennis_lab.tracking import client as tracking_client
from tennis_lab.windows import IDLE

DEFAULT_MODEL = f"models:/{DEFAULT_MODEL_NAME}@{CHAMPION_ALIAS}"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class PredictError(TennisLabError, ValueError):
    """A model or recording that cannot be used; the message says why and the fix."""


@dataclass
class StrokeModel:
    """A trained classifier with what it needs to read a raw recording.

    Attributes
    ----------
    keras_model : keras.Model
        Takes raw windows (frames x features, as :func:`prepare_frames` makes them)
        and returns class probabilities; the standardisation is inside.
    spec : dict
        The preprocessing (see :meth:`tennis_lab.windows.WindowSet.preprocessing`).
    source : str
        Where the model was loaded from.
    run_id : str, optional
        The MLflow run that logged it (None for a model folder).
    tracking_uri : str, optional
        The MLflow store of ``run_id``.
    """

    keras_model: Any
    spec: dict[str, Any]
    source: str = ""
    run_id: str | None = None
    tracking_uri: str | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.spec["classes"])

    @property
    def window_size(self) -> int:
        return int(self.spec["window_size"])

    @property
    def stride(self) -> int:
        return int(self.spec["window_size"]) - int(self.spec["overlap"])

    @property
    def has_idle(self) -> bool:
        return IDLE in self.classes

    @property
    def mirrors(self) -> bool:
        """Whether left-handed players are mirrored into a right-handed frame."""
        return bool(self.spec.get("mirror_left_handed", False))

    @property
    def timeline_fps(self) -> float | None:
        """Frame rate of the windows' timeline; None: each recording's own."""
        return float(self.spec["reference_fps"]) if self.spec["enable_fps_scaling"] else None

    def predict_windows(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of windows ``X`` (windows, frames, features)."""
        from tennis_lab.training import predict_probabilities

        return predict_probabilities(self.keras_model, X)


def resolve_model_uri(model: str | Path | None) -> str:
    """The MLflow URI or local folder of ``model`` (None: the registry's champion).

    Raises
    ------
    PredictError
        For a value that is none of the accepted forms (the message lists them).
    """
    if model is None or str(model).strip() == "":
        return DEFAULT_MODEL
    text = str(model).strip()
    if text.startswith(("models:/", "runs:/")):
        return text
    if _RUN_ID.match(text):
        return f"runs:/{text}/{MODEL_ARTIFACT}"
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "MLmodel").is_file():
            if (path / "model" / "MLmodel").is_file():
                return str((path / "model").resolve())
            raise PredictError(
                f"model folder {path} has no MLmodel file: give the folder of an MLflow "
                "model (a run's 'model' artifact), a run id, or a models:/NAME@ALIAS URI."
            )
        return str(path.resolve())
    raise PredictError(
        f"model {text!r} is not a run id, a runs:/ or models:/ URI, or an existing folder. "
        f"Examples: {DEFAULT_MODEL}, runs:/<run id>/model, a 32-character run id, "
        "or the folder of a downloaded model."
    )


def _run_and_path(client, uri: str) -> tuple[str, str]:
    """The run id and artifact path of a ``runs:/`` or ``models:/`` URI."""
    if uri.startswith("models:/"):
        name, _, ref = uri[len("models:/") :].partition("@")
        if ref:
            version = client.get_model_version_by_alias(name, ref)
        else:
            name, _, number = name.partition("/")
            version = client.get_model_version(name, number)
        return version.run_id, MODEL_ARTIFACT
    run_id, _, path = uri[len("runs:/") :].partition("/")
    return run_id, path or MODEL_ARTIFACT


def _download(uri: str, tracking_uri: str | None) -> tuple[Path, str, str]:
    """A local copy of the MLflow model at ``uri``, its run id and the store."""
    from mlflow.exceptions import MlflowException

    store = resolve_tracking_uri(tracking_uri)
    client = tracking_client(store)
    target = tempfile.mkdtemp(prefix="tennis_lab_model_")
    try:
        run_id, path = _run_and_path(client, uri)
        return Path(client.download_artifacts(run_id, path, target)), run_id, store
    except MlflowException as error:
        if uri == DEFAULT_MODEL:
            fix = (
                f"no champion yet in {store}: run a search (make grid), name a model with "
                "--model (e.g. a run id), or set one with `tennis-lab promote RUN_ID`."
            )
        elif uri.startswith("models:/"):
            fix = (
                "check the name and the alias (models:/NAME@ALIAS) or version "
                "(models:/NAME/VERSION); the MLflow UI's Models page lists them."
            )
        else:
            fix = "check the run id and --tracking-uri (the MLflow UI lists runs and their ids)."
        message = str(error).splitlines()[0][:300]
        raise PredictError(f"cannot load model {uri} from {store}: {fix} ({message})") from None


def load_model(model: str | Path | None = None, tracking_uri: str | None = None) -> StrokeModel:
    """Load a logged stroke model with its preprocessing.

    Parameters
    ----------
    model : str or path, optional
        See :func:`resolve_model_uri`; default the registry's champion.
    tracking_uri : str, optional
        MLflow store for run ids and ``runs:/`` / ``models:/`` URIs (default as
        :func:`tennis_lab.tracking.resolve_tracking_uri`).

    Returns
    -------
    StrokeModel

    Raises
    ------
    PredictError
        Unknown model, or a model logged without its preprocessing.
    """
    uri = resolve_model_uri(model)
    local, run_id, store = (
        (Path(uri), None, None) if Path(uri).is_dir() else _download(uri, tracking_uri)
    )
    from mlflow.models import Model

    try:
        info = Model.load(str(local))
    except Exception as error:  # noqa: BLE001 - any unreadable MLmodel
        raise PredictError(f"model {uri}: cannot read its MLmodel file ({error}).") from None
    spec = (info.metadata or {}).get(MODEL_METADATA_KEY)
    if not spec:
        raise PredictError(
            f"model {uri} has no '{MODEL_METADATA_KEY}' preprocessing in its metadata: it was not "
            "logged by tennis-lab's training notebook (or by an older version); train it again."
        )
    keras_file = local / "data" / "model.keras"
    if not keras_file.is_file():
        raise PredictError(f"model {uri}: {keras_file} is missing; log the model again.")
    import keras

    from tennis_lab.backends import keras_spares_tensorflow

    keras_spares_tensorflow()  # loading a model would import TensorFlow on JAX too
    register_layers()  # the model families' own layers (tennis_lab>FrameFeatures, ...)
    with warnings.catch_warnings():  # the optimizer's state is not needed to predict
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        keras_model = keras.models.load_model(keras_file, compile=False)
    return StrokeModel(
        keras_model=keras_model, spec=dict(spec), source=uri, run_id=run_id, tracking_uri=store
    )


SPLITS = ("train", "val", "test")


def split_videos(model: StrokeModel, split: str = "test") -> list[str]:
    """The videos of ``split`` in the run that trained ``model`` (its ``data.json``).

    With cross-validation these are the split of the fold whose model was kept.

    Raises
    ------
    PredictError
        A model folder (no run), or a run whose ``data.json`` lacks ``<split>_videos``.
    """
    if split not in SPLITS:
        raise PredictError(f"split must be one of {list(SPLITS)}; got {split!r}.")
    if model.run_id is None:
        raise PredictError(
            f"model {model.source} is a model folder, which does not record the run that "
            f"trained it, so its {split} videos are unknown: name the run (--model RUN_ID) "
            "or a registered model (models:/NAME@ALIAS), or choose videos with --video."
        )
    videos = _run_data(model).get(f"{split}_videos")
    if not videos:
        why = (
            f"its data.json artifact has no '{split}_videos' (logged by an older tennis-lab)"
            if videos is None
            else f"its {split} split was empty"
        )
        raise PredictError(
            f"run {model.run_id} (model {model.source}) records no {split} videos: {why}; "
            "choose videos with --video."
        )
    return [str(v) for v in videos]


def _run_data(model: StrokeModel) -> dict[str, Any]:
    """The ``data.json`` artifact of ``model``'s run ({} when it has none)."""
    import json

    client = tracking_client(model.tracking_uri)
    if "data.json" not in {a.path for a in client.list_artifacts(model.run_id)}:
        return {}
    with tempfile.TemporaryDirectory(prefix="tennis_lab_run_") as tmp:
        local = client.download_artifacts(model.run_id, "data.json", tmp)
        return json.loads(Path(local).read_text(encoding="utf-8"))
