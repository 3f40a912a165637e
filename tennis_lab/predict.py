"""Apply a trained stroke model to recordings: stroke timelines and event scores.

A run logs its model as an MLflow Keras model (see :mod:`tennis_lab.tracking`). The
model's first layer standardises its input with the training split's mean and
deviation, and the MLflow model's metadata (key ``tennis_lab``) holds everything else
that turns a raw recording into the model's windows: the windowing and normalisation
parameters, the landmark layout and the classes (:meth:`WindowSet.preprocessing`).
So a loaded model needs nothing from the run that trained it.

A model is named by (see :func:`resolve_model_uri`):

- a registered model and alias, ``models:/tennis_strokes@champion`` (the default: the
  champion of the latest search), or a version ``models:/tennis_strokes/3``;
- a run, by id or as ``runs:/<run id>/model``;
- a local folder holding an MLflow model (``MLmodel``).

From a recording to strokes (:func:`predict_recording`): the recording is prepared as
in training (missing frames filled, mirrored when the player is left-handed, body
normalisation, resampled to the model's frame rate), cut into windows (by default
with the training stride), and each frame gets the mean class probabilities of the
windows that cover it. A stroke is a run of frames whose most likely class is the same
stroke class (not ``idle``), at least ``min_frames`` long and, with ``threshold``, at
least that probable (:func:`tennis_lab.evaluation.detect_strokes`).

A stroke's ``confidence`` is the mean probability of its class over its frames, from
the model's softmax output: the model's own score, not a calibrated probability
(:data:`CONFIDENCE_MEANING`). The timeline CSV also says how each recording was read
(``handedness``: ``left``, ``right``, ``right (assumed)`` when nobody said) and
carries a ``note`` for a model that cannot say "no stroke"; a sidecar
``<name>_about.json`` beside it describes the columns (:func:`timeline_about`).

A model trained without the idle class (``include_idle: false``) cannot say "no
stroke": every frame gets some stroke class. Detection wants ``include_idle: true``;
for such a model, a confidence ``threshold`` keeps only the confident stretches.
"""

from __future__ import annotations

import math
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tennis_lab import evaluation
from tennis_lab.errors import TennisLabError
from tennis_lab.poses import (
    Recording,
    load_dataset,
    read_annotations_csv,
    read_recording,
    read_videos_csv,
)
from tennis_lab.tracking import (
    CHAMPION_ALIAS,
    DEFAULT_MODEL_NAME,
    MODEL_ARTIFACT,
    MODEL_METADATA_KEY,
    resolve_tracking_uri,
)
from tennis_lab.tracking import client as tracking_client
from tennis_lab.windows import (
    IDLE,
    covering_starts,
    cut_windows,
    prepare_frames,
    stroke_frames,
)

DEFAULT_MODEL = f"models:/{DEFAULT_MODEL_NAME}@{CHAMPION_ALIAS}"
# Columns of a stroke timeline, one row per detected stroke.
TIMELINE_COLUMNS = (
    "video_id", "start_frame", "end_frame", "start_seconds", "end_seconds", "label",
    "confidence", "handedness", "note",
)  # fmt: skip
CONFIDENCE_MEANING = (
    "the mean probability of the stroke's class over its frames, from the model's softmax "
    "output: the model's own score, not a calibrated probability (0.8 does not mean right "
    "8 times in 10)"
)
TIMELINE_COLUMN_MEANINGS = {
    "video_id": "the recording",
    "start_frame": "first frame of the stroke, in the recording's own frame numbering",
    "end_frame": "frame after the stroke's last (end exclusive)",
    "start_seconds": "start of the stroke, seconds from the recording's start",
    "end_seconds": "end of the stroke, seconds from the recording's start",
    "label": "the stroke class",
    "confidence": CONFIDENCE_MEANING,
    "handedness": "how the player was read: left (mirrored when the model was trained so), "
    "right, 'right (assumed)' when the handedness was not given, unknown when the model "
    "reads every player as recorded",
    "note": "empty, or a caveat about the model that applies to this row",
}
# Handedness column values when nobody said (see handedness_label).
ASSUMED_RIGHT = "right (assumed)"
UNKNOWN_HANDEDNESS = "unknown"
NO_IDLE_SHORT = "model has no idle class: cannot say 'no stroke'"
# Default tolerance of event matching, in seconds (see evaluation.match_events).
DEFAULT_TOLERANCE_SECONDS = 0.25
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


# --------------------------------------------------------------------------- loading


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
    with warnings.catch_warnings():  # the optimizer's state is not needed to predict
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        keras_model = keras.models.load_model(keras_file, compile=False)
    return StrokeModel(
        keras_model=keras_model, spec=dict(spec), source=uri, run_id=run_id, tracking_uri=store
    )


# --------------------------------------------------------------------------- predicting


@dataclass
class Timeline:
    """The model's reading of one recording.

    Attributes
    ----------
    video_id : str
    fps : float
        The recording's frame rate (``strokes`` frames count in it).
    timeline_fps : float
        Frame rate of ``frame_probs`` (the model's, or the recording's own).
    frame_probs : ndarray, (frames, classes)
        Mean class probabilities of the windows over each frame (NaN: no window).
    classes : tuple of str
    strokes : DataFrame
        One row per detected stroke, :data:`TIMELINE_COLUMNS`.
    detected : dict of ndarray
        The detected strokes on the model's timeline (``start``, ``end``, ``label``,
        ``confidence``), as :func:`tennis_lab.evaluation.detect_strokes` gives them.
    starts : ndarray
        First frame of each window, on the model's timeline.
    window_probs : ndarray, (windows, classes)
    window_size : int
        Frames per window, on the model's timeline.
    mirrored : bool
        Whether the recording was mirrored (a left-handed player).
    handedness : str
        How the player was read (:func:`handedness_label`).
    annotated : dict of ndarray, optional
        Annotated strokes on the model's timeline, when known (``start``, ``end``,
        ``label``).
    """

    video_id: str
    fps: float
    timeline_fps: float
    frame_probs: np.ndarray
    classes: tuple[str, ...]
    strokes: pd.DataFrame
    detected: dict[str, np.ndarray]
    starts: np.ndarray
    window_probs: np.ndarray
    window_size: int = 0
    mirrored: bool = False
    handedness: str = ASSUMED_RIGHT
    annotated: dict[str, np.ndarray] | None = field(default=None)

    def window_table(self) -> pd.DataFrame:
        """Per-window class probabilities: video, start and end frame (recording's), seconds."""
        scale = self.timeline_fps / self.fps
        start = np.round(self.starts / scale).astype(int)
        end = np.round((self.starts + self.window_size) / scale).astype(int)
        table = pd.DataFrame(
            {
                "video_id": self.video_id,
                "start_frame": start,
                "end_frame": end,
                "start_seconds": np.round(self.starts / self.timeline_fps, 3),
            }
        )
        for i, name in enumerate(self.classes):
            table[f"p_{name}"] = np.round(self.window_probs[:, i], 4)
        return table


def check_layout(model: StrokeModel, recording: Recording, source: str | Path = "") -> None:
    """Raise :class:`PredictError` when ``recording``'s landmarks differ from the model's."""
    want = (tuple(model.spec["landmark_names"]), tuple(model.spec["channel_names"]))
    have = (tuple(recording.landmark_names), tuple(recording.channel_names))
    if want == have:
        return
    where = f"{source}: " if source else f"recording {recording.video_id}: "
    missing = [n for n in want[0] if n not in have[0]]
    if missing:
        detail = f"missing landmarks {missing[:6]}"
    elif want[1] != have[1]:
        detail = f"channels {list(have[1])} instead of {list(want[1])}"
    else:
        detail = "the landmarks are in another order or there are extra ones"
    raise PredictError(
        f"{where}its landmark layout ({len(have[0])} landmarks x {list(have[1])}) differs from "
        f"the model's ({len(want[0])} landmarks x {list(want[1])}): {detail}. Extract the poses "
        "with the same pose estimator (and importer) as the training data."
    )


def predict_recording(
    model: StrokeModel,
    recording: Recording,
    *,
    left_handed: bool = False,
    stride: int | None = None,
    threshold: float = 0.0,
    min_frames: int | None = None,
    source: str | Path = "",
    handedness: str | None = None,
) -> Timeline:
    """Detect the strokes of one recording.

    Parameters
    ----------
    model : StrokeModel
    recording : Recording
        At any frame rate (resampled as in training when the model does).
    left_handed : bool
        Mirror the recording into a right-handed frame first (only when the model
        was trained with ``mirror_left_handed``; otherwise an error).
    stride : int, optional
        Frames between windows on the model's timeline; default the training stride.
    threshold : float in [0, 1]
        A frame is a stroke only when its class is at least this probable.
    min_frames : int, optional
        Shortest stroke, in the model's frames; default
        :func:`tennis_lab.evaluation.default_min_frames`.
    source : str or path
        Named in errors (e.g. the file).
    handedness : {"left", "right", None}
        The player's handedness as known (None: nobody said), for the timeline's
        ``handedness`` column; ``left_handed`` alone decides the mirroring.

    Returns
    -------
    Timeline

    Raises
    ------
    PredictError
        A different landmark layout, a recording shorter than one window, bad options.
    """
    spec = model.spec
    check_layout(model, recording, source)
    name = f"{source}: " if source else f"recording {recording.video_id}: "
    if left_handed and not spec.get("mirror_left_handed", False):
        raise PredictError(
            f"{name}left_handed was asked for, but the model was trained without "
            "mirror_left_handed: it saw left-handed players as they are; drop --left-handed."
        )
    step = model.stride if stride is None else int(stride)
    if step < 1:
        raise PredictError(f"stride must be a positive number of frames; got {stride!r}.")
    frames, scale = prepare_frames(
        recording.landmarks,
        recording.fps,
        recording.landmark_names,
        recording.channel_names,
        mirror=left_handed,
        normalization=spec["normalization"],
        missing_frames=spec["missing_frames"],
        enable_fps_scaling=bool(spec["enable_fps_scaling"]),
        reference_fps=float(spec["reference_fps"]),
    )
    w = model.window_size
    if len(frames) < w:
        fps_model = model.timeline_fps or recording.fps
        raise PredictError(
            f"{name}it has {len(frames)} frames at {fps_model:g} fps "
            f"({len(frames) / fps_model:.2f} s), shorter than one window of {w} frames "
            f"({w / fps_model:.2f} s); give a longer recording."
        )
    starts = covering_starts(len(frames), w, step)
    window_probs = model.predict_windows(cut_windows(frames, starts, w))
    frame_probs = evaluation.frame_probabilities(window_probs, starts, w, len(frames))
    detected = evaluation.detect_strokes(
        frame_probs,
        model.classes,
        idle=IDLE if model.has_idle else None,
        threshold=threshold,
        min_frames=(
            evaluation.default_min_frames(w, model.stride) if min_frames is None else min_frames
        ),
    )
    timeline_fps = recording.fps * scale
    hand = handedness_label(model, "left" if left_handed else handedness)
    rows = _stroke_rows(recording, detected, scale, model.classes)
    rows["handedness"] = hand
    rows["note"] = "" if model.has_idle else NO_IDLE_SHORT
    timeline = Timeline(
        video_id=recording.video_id,
        fps=float(recording.fps),
        timeline_fps=float(timeline_fps),
        frame_probs=frame_probs,
        classes=model.classes,
        strokes=rows[list(TIMELINE_COLUMNS)],
        detected=detected,
        starts=starts,
        window_probs=window_probs,
        window_size=w,
        mirrored=left_handed,
        handedness=hand,
    )
    return timeline


def _stroke_rows(
    recording: Recording, detected: Mapping[str, np.ndarray], scale: float, classes
) -> pd.DataFrame:
    """Detected strokes in the recording's own frames and in seconds."""
    start = np.round(np.asarray(detected["start"]) / scale).astype(int)
    end = np.minimum(np.round(np.asarray(detected["end"]) / scale).astype(int), recording.n_frames)
    return pd.DataFrame(
        {
            "video_id": recording.video_id,
            "start_frame": start,
            "end_frame": end,
            "start_seconds": np.round(start / recording.fps, 3),
            "end_seconds": np.round(end / recording.fps, 3),
            "label": [classes[int(c)] for c in detected["label"]],
            "confidence": np.round(np.asarray(detected["confidence"], dtype=float), 3),
        },
    )


def read_recordings(paths: Sequence[str | Path]) -> list[tuple[Path, Recording]]:
    """Read every recording file, all before any prediction (errors name the file)."""
    if not paths:
        raise PredictError("no recording given: name one or more .npz files.")
    read = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise PredictError(f"recording {path} does not exist.")
        read.append((path, read_recording(path)))
    return read


def handedness_of(recordings: Sequence[Recording], videos_csv: str | Path | None) -> dict:
    """Video id -> ``left`` / ``right`` / None, from a videos.csv (None: unknown)."""
    if videos_csv is None:
        return {}
    path = Path(videos_csv)
    if not path.is_file():
        raise PredictError(f"videos file {path} does not exist.")
    import csv

    with open(path, newline="", encoding="utf-8-sig") as handle:  # it may list other videos
        listed = {(row.get("video_id") or "").strip() for row in csv.DictReader(handle)}
    table = read_videos_csv(path, (listed - {""}) | {r.video_id for r in recordings})
    if "handedness" not in table.columns:
        return {}
    return {
        str(v): (h if isinstance(h, str) else None)
        for v, h in zip(table["video_id"], table["handedness"], strict=True)
    }


def handedness_label(model: StrokeModel, handedness: str | None) -> str:
    """The ``handedness`` column's value: as given, else ``right (assumed)``.

    A model trained without ``mirror_left_handed`` reads every player as recorded,
    so nothing is assumed: ``unknown``.
    """
    if handedness in ("left", "right"):
        return handedness
    return ASSUMED_RIGHT if model.mirrors else UNKNOWN_HANDEDNESS


def handedness_warning(video_id: str, videos_csv: str | Path | None) -> str:
    """What to tell a user whose recording was read as right-handed for want of better."""
    fix = (
        f"write left or right in the handedness column of {videos_csv} for it"
        if videos_csv
        else "pass --left-handed or --videos videos.csv"
    )
    return f"handedness unknown for {video_id}: assumed right-handed; {fix}"


def no_idle_note(model: StrokeModel, threshold: float) -> str | None:
    """What to tell a user whose model cannot say "no stroke" (None when it can)."""
    if model.has_idle:
        return None
    note = (
        "this model was trained without the idle class (include_idle: false), so it "
        "cannot say 'no stroke': every stretch of the recording gets some stroke class. "
        "For detection, train with include_idle: true."
    )
    if threshold <= 0:
        note += " Meanwhile --threshold 0.8 keeps only the stretches it is confident about."
    return note


# --------------------------------------------------------------------------- events


def annotated_strokes(
    rows: pd.DataFrame, classes: Sequence[str], scale: float, n_frames: int
) -> dict[str, np.ndarray]:
    """Annotation rows of one recording on the model's timeline (as training places them).

    ``scale`` is the model's frames per recording frame and ``n_frames`` the length of
    that timeline; labels must be in ``classes``.
    """
    start, end = stroke_frames(rows["start_frame"], rows["end_frame"], scale, n_frames)
    labels = [list(classes).index(c) for c in rows["label"]]
    return {"start": start, "end": end, "label": np.array(labels, dtype=np.int64)}


def event_evaluation(
    model: StrokeModel,
    data_dir: str | Path,
    *,
    videos: Sequence[str] | None = None,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    threshold: float = 0.0,
    min_frames: int | None = None,
    stride: int | None = None,
    progress=None,
) -> dict[str, Any]:
    """Detected strokes of a dataset's recordings matched to its annotations.

    Parameters
    ----------
    model : StrokeModel
    data_dir : path
        A dataset folder (see :func:`tennis_lab.poses.load_dataset`); left-handed
        players (its videos.csv) are mirrored when the model was trained so.
    videos : sequence of str, optional
        Only these video ids (default every recording).
    tolerance_seconds : float
        A detection and an annotated stroke match when they overlap or lie at most
        this far apart (see :func:`tennis_lab.evaluation.match_events`).
    threshold, min_frames, stride
        As :func:`predict_recording`.
    progress : callable, optional
        Called with (done, total, video_id) after each recording.

    Returns
    -------
    dict
        :func:`tennis_lab.evaluation.event_scores` (``per_class``, ``overall``,
        ``macro_f1``, ``confusion``) plus ``classes``, ``videos``, ``tolerance_frames``,
        ``timelines`` (video id -> :class:`Timeline`, with ``annotated``).
    """
    dataset = load_dataset(data_dir)
    wanted = list(dataset.video_ids) if videos is None else list(videos)
    unknown = sorted(set(wanted) - set(dataset.video_ids))
    if unknown:
        raise PredictError(f"{data_dir}: no recordings for video ids {unknown[:6]}.")
    classes = model.classes
    unknown_labels = sorted(set(dataset.annotations["label"]) - set(classes))
    if unknown_labels:
        raise PredictError(
            f"{data_dir}: annotated classes {unknown_labels} are not among the model's "
            f"{list(classes)}; map them in dataset.yaml or evaluate another model."
        )
    mirror = bool(model.spec.get("mirror_left_handed", False))
    timelines: dict[str, Timeline] = {}
    tolerance_frames = 0
    for i, video_id in enumerate(wanted):
        rec = dataset.recordings[video_id]
        hand = dataset.handedness.get(video_id)
        timeline = predict_recording(
            model, rec, left_handed=mirror and hand == "left", stride=stride,
            threshold=threshold, min_frames=min_frames, source=f"{data_dir}/poses/{video_id}.npz",
            handedness=hand,
        )  # fmt: skip
        rows = dataset.annotations[dataset.annotations["video_id"] == video_id]
        timeline.annotated = annotated_strokes(
            rows, classes, timeline.timeline_fps / rec.fps, len(timeline.frame_probs)
        )
        timelines[video_id] = timeline
        tolerance_frames = int(round(tolerance_seconds * timeline.timeline_fps))
        if progress is not None:
            progress(i + 1, len(wanted), video_id)
    scores = evaluation.score_detections(
        ((t.detected, t.annotated) for t in timelines.values()),
        classes,
        tolerance=tolerance_frames,
        idle=IDLE,
    )
    scores.update(
        videos=wanted,
        tolerance_frames=tolerance_frames,
        tolerance_seconds=tolerance_seconds,
        timelines=timelines,
    )
    return scores


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


def scores_table(scores: Mapping[str, Any]) -> pd.DataFrame:
    """Per-class precision, recall and F1 of :func:`event_evaluation`, with the overall row."""
    rows = [{"class": name, **values} for name, values in scores["per_class"].items()]
    overall = scores["overall"]
    rows.append(
        {
            "class": "all strokes",
            "precision": overall["precision"],
            "recall": overall["recall"],
            "f1": overall["f1"],
            "detected": sum(r["detected"] for r in rows),
            "annotated": sum(r["annotated"] for r in rows),
            "matched": sum(r["matched"] for r in rows),
        }
    )
    return pd.DataFrame(rows).set_index("class")


def format_scores(scores: Mapping[str, Any]) -> str:
    """A console rendering of :func:`event_evaluation`: per class, overall, confusion."""

    def num(v: float) -> str:
        return "  n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:5.3f}"

    table = scores_table(scores)
    width = max(12, *(len(c) for c in table.index))
    lines = [
        f"Strokes of {len(scores['videos'])} recordings, matched within "
        f"{scores['tolerance_seconds']:g} s ({scores['tolerance_frames']} frames):",
        f"  {'class':<{width}} precision  recall     f1  detected  annotated",
    ]
    for name, row in table.iterrows():
        lines.append(
            f"  {name:<{width}}     {num(row['precision'])}   {num(row['recall'])}  "
            f"{num(row['f1'])}  {int(row['detected']):8d}  {int(row['annotated']):9d}"
        )
    lines.append(f"  macro F1 over annotated classes: {num(scores['macro_f1'])}")
    names = [*scores["classes"], "none"]
    cw = max(6, *(len(n) for n in names))
    lines.append("Confusion (rows: annotated, columns: detected; none: missed / spurious):")
    lines.append("  " + " " * width + "".join(f"{n:>{cw + 1}}" for n in names))
    for name, row in zip(names, np.asarray(scores["confusion"]), strict=True):
        lines.append(f"  {name:<{width}}" + "".join(f"{int(v):>{cw + 1}d}" for v in row))
    return "\n".join(lines)


__all__ = [
    "CHAMPION_ALIAS",
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_NAME",
    "PredictError",
    "StrokeModel",
    "Timeline",
    "TIMELINE_COLUMNS",
    "CONFIDENCE_MEANING",
    "event_evaluation",
    "format_scores",
    "load_model",
    "predict_recording",
    "resolve_model_uri",
    "split_videos",
    "timeline_about",
]


# --------------------------------------------------------------------------- commands


def _model_arguments(parser) -> None:
    parser.add_argument(
        "--model", default=None, metavar="MODEL",
        help=f"a run id, runs:/RUN_ID/model, models:/NAME@ALIAS or a model folder "
        f"(default {DEFAULT_MODEL})",
    )  # fmt: skip
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow store (default: sqlite mlflow.db)"
    )


def _detection_arguments(parser) -> None:
    parser.add_argument(
        "--threshold", type=float, default=0.0,
        help="a frame is a stroke only when its class is at least this probable (0-1)",
    )  # fmt: skip
    parser.add_argument(
        "--min-frames", type=int, default=None,
        help="shortest stroke in the model's frames (default: a third of a window)",
    )  # fmt: skip
    parser.add_argument(
        "--stride", type=int, default=None,
        help="frames between windows (default: the model's training stride)",
    )  # fmt: skip


def add_predict_arguments(parser) -> None:
    """Flags of ``tennis-lab predict``."""
    parser.add_argument("recordings", nargs="+", metavar="RECORDING", help="pose .npz files")
    _model_arguments(parser)
    parser.add_argument(
        "--output", default=None,
        help="stroke timeline CSV (default output/predictions/timeline_<time>.csv)",
    )  # fmt: skip
    parser.add_argument(
        "--windows", default=None, metavar="CSV", help="also write per-window probabilities"
    )
    parser.add_argument(
        "--plot", default=None, metavar="PNG",
        help="timeline figure; with several recordings one file each (<name>_<video>.png)",
    )  # fmt: skip
    parser.add_argument(
        "--annotations", default=None, metavar="CSV",
        help="annotations.csv of these recordings: drawn under the detections in --plot",
    )  # fmt: skip
    hands = parser.add_mutually_exclusive_group()
    hands.add_argument(
        "--left-handed", action="store_true", help="the player is left-handed: mirror first"
    )
    hands.add_argument(
        "--videos", default=None, metavar="CSV",
        help="videos.csv naming each recording's handedness",
    )  # fmt: skip
    _detection_arguments(parser)


def _check_detection_args(args) -> None:
    if not 0 <= args.threshold <= 1:
        raise PredictError(f"--threshold must be in [0, 1]; got {args.threshold:g}.")
    if args.min_frames is not None and args.min_frames < 1:
        raise PredictError(f"--min-frames must be at least 1; got {args.min_frames}.")
    if args.stride is not None and args.stride < 1:
        raise PredictError(f"--stride must be at least 1; got {args.stride}.")


def _plot_paths(plot: str, video_ids: Sequence[str]) -> list[Path]:
    path = Path(plot)
    if len(video_ids) == 1:
        return [path]
    return [path.with_name(f"{path.stem}_{v}{path.suffix or '.png'}") for v in video_ids]


def timeline_about(model: StrokeModel, notes: Sequence[str]) -> dict[str, Any]:
    """The sidecar of a timeline CSV: the model, what each column means, the caveats."""
    return {
        "model": model.source,
        "run_id": model.run_id,
        "classes": list(model.classes),
        "columns": dict(TIMELINE_COLUMN_MEANINGS),
        "notes": list(notes),
    }


def about_path(output: str | Path) -> Path:
    """Where the sidecar of the timeline CSV ``output`` goes: ``<name>_about.json``."""
    output = Path(output)
    return output.with_name(f"{output.stem}_about.json")


def _handedness_notes(model: StrokeModel, args, recordings, hands: Mapping) -> dict[str, str]:
    """Video id -> the warning for each recording read as right-handed for want of better."""
    if args.left_handed or not model.mirrors:
        return {}
    return {
        rec.video_id: handedness_warning(rec.video_id, args.videos)
        for _, rec in recordings
        if hands.get(rec.video_id) not in ("left", "right")
    }


def _predict_one(model: StrokeModel, args, path: Path, rec: Recording, hand, annotations, out):
    """One recording's :class:`Timeline`, with its annotations when given."""
    timeline = predict_recording(
        model, rec, left_handed=hand == "left" and model.mirrors, stride=args.stride,
        threshold=args.threshold, min_frames=args.min_frames, source=path, handedness=hand,
    )  # fmt: skip
    if annotations is not None:
        rows = annotations[annotations["video_id"] == rec.video_id]
        known = rows["label"].isin(model.classes)
        if not known.all():
            print(
                f"Note: {int((~known).sum())} annotations of {rec.video_id} have labels the "
                f"model does not know ({sorted(set(rows['label'][~known]))}); not drawn.",
                file=out,
            )
        timeline.annotated = annotated_strokes(
            rows[known], model.classes, timeline.timeline_fps / rec.fps,
            len(timeline.frame_probs),
        )  # fmt: skip
    return timeline


def _write_timeline(timelines, model, notes: Sequence[str], output: Path, out) -> None:
    """The stroke timeline CSV and its ``_about.json`` sidecar."""
    import json

    strokes = pd.concat([t.strokes for t in timelines], ignore_index=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    strokes.to_csv(output, index=False)
    about = about_path(output)
    about.write_text(json.dumps(timeline_about(model, notes), indent=2) + "\n", encoding="utf-8")
    print(f"Stroke timeline ({len(strokes)} strokes): {output}", file=out)
    print(f"  confidence: {CONFIDENCE_MEANING}; every column explained in {about}", file=out)


def _figure_note(*notes: str | None) -> str | None:
    """The notes that apply to one figure, one paragraph each (None: none)."""
    return "\n".join(n[0].upper() + n[1:] for n in notes if n) or None


def predict_command(args, out=None) -> int:
    """``tennis-lab predict``: stroke timelines of recordings; returns the exit status."""
    import sys
    import time

    from tennis_lab import paths

    out = out or sys.stdout
    try:
        _check_detection_args(args)
        recordings = read_recordings(args.recordings)  # every file read before the model
        hands = handedness_of([r for _, r in recordings], args.videos)
        annotations = read_annotations_csv(args.annotations) if args.annotations else None
        model = load_model(args.model, args.tracking_uri)
        for path, rec in recordings:  # every layout checked before any prediction
            check_layout(model, rec, path)
    except TennisLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"Model: {model.source}  ({', '.join(model.classes)}; windows of {model.window_size} "
        f"frames{f' at {model.timeline_fps:g} fps' if model.timeline_fps else ''})",
        file=out,
    )
    note = no_idle_note(model, args.threshold)
    if note:
        print(f"Note: {note}", file=out)
    unsure = _handedness_notes(model, args, recordings, hands)
    for warning in unsure.values():
        print(f"Warning: {warning}", file=out)
    timelines, seconds, started = [], 0.0, time.perf_counter()
    for path, rec in recordings:
        hand = "left" if args.left_handed else hands.get(rec.video_id)
        try:
            timeline = _predict_one(model, args, path, rec, hand, annotations, out)
        except PredictError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        timelines.append(timeline)
        seconds += rec.duration_seconds
        counts = timeline.strokes["label"].value_counts()
        found = ", ".join(f"{n} {label}" for label, n in counts.items()) or "no strokes"
        print(
            f"{path.name}: {rec.duration_seconds:.1f} s at {rec.fps:g} fps"
            f"{' (mirrored: left-handed)' if timeline.mirrored else ''}: {found}",
            file=out,
        )
    wall = time.perf_counter() - started
    output = (
        Path(args.output)
        if args.output
        else paths.output_dir() / "predictions" / f"timeline_{time.strftime('%Y%m%d_%H%M%S')}.csv"
    )
    _write_timeline(timelines, model, [n for n in (note, *unsure.values()) if n], output, out)
    if args.windows:
        table = pd.concat([t.window_table() for t in timelines], ignore_index=True)
        Path(args.windows).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.windows, index=False)
        print(f"Window probabilities ({len(table)} windows): {args.windows}", file=out)
    if args.plot:
        from tennis_lab.plots import timeline_figure

        for timeline, target in zip(
            timelines, _plot_paths(args.plot, [t.video_id for t in timelines]), strict=True
        ):
            figure = timeline_figure(
                timeline.frame_probs, timeline.classes, timeline.timeline_fps,
                detected=timeline.detected, annotated=timeline.annotated,
                title=f"{timeline.video_id}: strokes detected",
                note=_figure_note(note, unsure.get(timeline.video_id)),
            )  # fmt: skip
            target.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(target, dpi=110, bbox_inches="tight")
            print(f"Timeline figure: {target}", file=out)
    print(
        f"{seconds:.1f} s of recordings in {wall:.1f} s ({seconds / wall:.0f}x real time)", file=out
    )
    return 0


def add_evaluate_arguments(parser) -> None:
    """Flags of ``tennis-lab evaluate``."""
    parser.add_argument("dataset", help="dataset folder with annotations (and videos.csv)")
    _model_arguments(parser)
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--video", action="append", default=None, metavar="VIDEO_ID",
        help="evaluate only this video (repeatable; default every recording)",
    )  # fmt: skip
    which.add_argument(
        "--split", choices=("test", "val"), default=None,
        help="evaluate only the videos the model's run held out for this split "
        "(test: never seen in training or selection)",
    )  # fmt: skip
    parser.add_argument(
        "--tolerance", type=float, default=DEFAULT_TOLERANCE_SECONDS,
        help="seconds a detection may lie beside an annotated stroke and still match "
        f"(default {DEFAULT_TOLERANCE_SECONDS:g}; overlapping ones always match)",
    )  # fmt: skip
    parser.add_argument("--output", default=None, help="write the scores as JSON here")
    parser.add_argument(
        "--plots", default=None, metavar="DIR",
        help="write each recording's timeline figure (detected and annotated) here",
    )  # fmt: skip
    _detection_arguments(parser)


def _split_in_dataset(model: StrokeModel, split: str, data_dir, video_ids) -> list[str]:
    """The run's ``split`` videos, every one of them a recording of the dataset."""
    videos = split_videos(model, split)
    missing = sorted(set(videos) - set(video_ids))
    if missing:
        raise PredictError(
            f"{data_dir} has no recordings for {len(missing)} of the {len(videos)} {split} "
            f"videos of run {model.run_id} ({missing[:6]}): evaluate on the dataset the model "
            "was trained on, or choose videos with --video."
        )
    return videos


def evaluate_command(args, out=None) -> int:
    """``tennis-lab evaluate``: event-level scores of a model on a dataset."""
    import json
    import sys


    out = out or sys.stdout
    try:
        _check_detection_args(args)
        if args.tolerance < 0:
            raise PredictError(f"--tolerance must be >= 0 seconds; got {args.tolerance:g}.")
        if not Path(args.dataset).is_dir():
            raise PredictError(f"dataset folder {args.dataset} does not exist.")
        dataset = load_dataset(args.dataset)  # a bad dataset fails before the model is fetched
        model = load_model(args.model, args.tracking_uri)
        print(f"Model: {model.source}", file=out)
        note = no_idle_note(model, args.threshold)
        if note:
            print(f"Note: {note}", file=out)
        videos = args.video
        if args.split:
            videos = _split_in_dataset(model, args.split, args.dataset, dataset.video_ids)
            print(f"The {args.split} videos of run {model.run_id}: {', '.join(videos)}", file=out)
        scores = event_evaluation(
            model, args.dataset, videos=videos, tolerance_seconds=args.tolerance,
            threshold=args.threshold, min_frames=args.min_frames, stride=args.stride,
        )  # fmt: skip
    except TennisLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_scores(scores), file=out)
    if args.output:
        plain = {k: v for k, v in scores.items() if k != "timelines"}
        plain["confusion"] = np.asarray(plain["confusion"]).tolist()
        plain["model"] = model.source
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(
            json.dumps(plain, indent=2, default=lambda v: None if v is None else float(v))
        )
        print(f"Scores: {args.output}", file=out)
    if args.plots:
        from tennis_lab.plots import timeline_figure

        folder = Path(args.plots)
        folder.mkdir(parents=True, exist_ok=True)
        for video_id, timeline in scores["timelines"].items():
            figure = timeline_figure(
                timeline.frame_probs, timeline.classes, timeline.timeline_fps,
                detected=timeline.detected, annotated=timeline.annotated,
                title=f"{video_id}: detected and annotated strokes", note=_figure_note(note),
            )  # fmt: skip
            figure.savefig(folder / f"{video_id}.png", dpi=110, bbox_inches="tight")
        print(f"Timeline figures: {folder}/<video id>.png", file=out)
    return 0


def add_promote_arguments(parser) -> None:
    """Flags of ``tennis-lab promote``."""
    parser.add_argument("run_id", help="the run whose model becomes the champion")
    parser.add_argument(
        "--name", default=DEFAULT_MODEL_NAME,
        help=f"registered model name (default {DEFAULT_MODEL_NAME})",
    )  # fmt: skip
    parser.add_argument(
        "--alias", default=CHAMPION_ALIAS, help=f"alias to set (default {CHAMPION_ALIAS})"
    )
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow store (default: sqlite mlflow.db)"
    )


def promote_command(args, out=None) -> int:
    """``tennis-lab promote``: point the alias at a run's model (registered if needed)."""
    import sys

    from tennis_lab.tracking import TrackingError, model_version_by_alias, register_model

    out = out or sys.stdout
    before = model_version_by_alias(args.name, args.alias, args.tracking_uri)
    try:
        version = register_model(
            args.run_id, args.name, args.alias, tags={"promoted_by": "tennis-lab promote"},
            tracking_uri=args.tracking_uri,
        )  # fmt: skip
    except TrackingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    was = f" (was version {before.version}, run {before.run_id})" if before else ""
    print(
        f"models:/{args.name}@{args.alias} -> version {version.version} (run {args.run_id}){was}",
        file=out,
    )
    return 0
