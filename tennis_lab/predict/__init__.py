"""Apply a trained stroke model to recordings: stroke timelines and event scores.

- :mod:`.model`: naming and loading a logged model with its preprocessing;
- :mod:`.recording`: predicting one recording (a :class:`Timeline` of its strokes);
- :mod:`.events`: detections of a dataset matched to its annotations, and their scores;
- :mod:`.output`: the timeline CSV, its ``_about.json`` sidecar and figure names;
- :mod:`.commands`: ``tennis-lab predict``, ``evaluate`` and ``promote``.


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

from tennis_lab.predict.commands import (
    add_evaluate_arguments,
    add_predict_arguments,
    add_promote_arguments,
    evaluate_command,
    predict_command,
    promote_command,
)
from tennis_lab.predict.events import (
    DEFAULT_TOLERANCE_SECONDS,
    annotated_strokes,
    event_evaluation,
    format_scores,
    scores_table,
)
from tennis_lab.predict.model import (
    DEFAULT_MODEL,
    SPLITS,
    PredictError,
    StrokeModel,
    load_model,
    resolve_model_uri,
    split_videos,
)
from tennis_lab.predict.output import (
    CONFIDENCE_MEANING,
    TIMELINE_COLUMN_MEANINGS,
    about_path,
    timeline_about,
)
from tennis_lab.predict.recording import (
    ASSUMED_RIGHT,
    NO_IDLE_SHORT,
    TIMELINE_COLUMNS,
    UNKNOWN_HANDEDNESS,
    Timeline,
    check_layout,
    handedness_label,
    handedness_of,
    handedness_warning,
    no_idle_note,
    predict_recording,
    read_recordings,
)
from tennis_lab.tracking import CHAMPION_ALIAS, DEFAULT_MODEL_NAME

__all__ = [
    "ASSUMED_RIGHT",
    "CHAMPION_ALIAS",
    "CONFIDENCE_MEANING",
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_NAME",
    "DEFAULT_TOLERANCE_SECONDS",
    "NO_IDLE_SHORT",
    "PredictError",
    "SPLITS",
    "StrokeModel",
    "TIMELINE_COLUMNS",
    "TIMELINE_COLUMN_MEANINGS",
    "Timeline",
    "UNKNOWN_HANDEDNESS",
    "about_path",
    "add_evaluate_arguments",
    "add_predict_arguments",
    "add_promote_arguments",
    "annotated_strokes",
    "check_layout",
    "evaluate_command",
    "event_evaluation",
    "format_scores",
    "handedness_label",
    "handedness_of",
    "handedness_warning",
    "load_model",
    "no_idle_note",
    "predict_command",
    "predict_recording",
    "promote_command",
    "read_recordings",
    "resolve_model_uri",
    "scores_table",
    "split_videos",
    "timeline_about",
]
