"""MLflow tracking: the experiment, parent and child runs, parameter and metric names.

- :mod:`.store`: the tracking URI, a client of the store, the experiment;
- :mod:`.runs`: writing runs (parameters, parent runs, tags, metrics, failed runs);
- :mod:`.training_run`: logging one training run with its model, figures and files;
- :mod:`.reading`: runs as a DataFrame, a run's status and details read back;
- :mod:`.models`: a run's MLflow model and the registry's versions and aliases.

Everything goes through :class:`mlflow.MlflowClient` with explicit run ids, never the
fluent global active run, so that logging is safe inside notebooks, threads and
worker processes. ``mlflow`` is imported inside the functions: importing this package
is cheap. Nothing here trains a model (see :mod:`tennis_lab.training`) or draws a
figure (see :mod:`tennis_lab.plots`).

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

from tennis_lab.tracking.models import (
    CHAMPION_ALIAS,
    DEFAULT_MODEL_NAME,
    MODEL_ARTIFACT,
    MODEL_METADATA_KEY,
    model_version_by_alias,
    register_model,
    save_model,
)
from tennis_lab.tracking.reading import BASE_COLUMNS, run_details, run_status, runs_dataframe
from tennis_lab.tracking.runs import (
    FOLD_PREFIX,
    HISTORY_PREFIX,
    RUN_STATUSES,
    SERIES_PREFIXES,
    end_run,
    log_artifact,
    log_metrics,
    record_failed_run,
    reopen_run,
    run_params,
    set_tags,
    start_parent_run,
    warnings_tag,
)
from tennis_lab.tracking.store import (
    ACCEPTED_URIS,
    ARTIFACTS_DIRNAME,
    DEFAULT_EXPERIMENT,
    DEFAULT_UI,
    EXPERIMENT_TAGS,
    UI_TRAINING_VIEW,
    TrackingError,
    absolute_tracking_uri,
    check_tracking_uri,
    client,
    ensure_experiment,
    resolve_tracking_uri,
    sqlite_path,
    ui_url,
)
from tennis_lab.tracking.training_run import SPLITS, log_training_run

__all__ = [
    "ACCEPTED_URIS",
    "ARTIFACTS_DIRNAME",
    "BASE_COLUMNS",
    "CHAMPION_ALIAS",
    "DEFAULT_EXPERIMENT",
    "DEFAULT_MODEL_NAME",
    "DEFAULT_UI",
    "EXPERIMENT_TAGS",
    "FOLD_PREFIX",
    "HISTORY_PREFIX",
    "MODEL_ARTIFACT",
    "MODEL_METADATA_KEY",
    "RUN_STATUSES",
    "SERIES_PREFIXES",
    "SPLITS",
    "TrackingError",
    "UI_TRAINING_VIEW",
    "absolute_tracking_uri",
    "check_tracking_uri",
    "client",
    "end_run",
    "ensure_experiment",
    "log_artifact",
    "log_metrics",
    "log_training_run",
    "model_version_by_alias",
    "record_failed_run",
    "register_model",
    "reopen_run",
    "resolve_tracking_uri",
    "run_details",
    "run_params",
    "run_status",
    "runs_dataframe",
    "save_model",
    "set_tags",
    "sqlite_path",
    "start_parent_run",
    "ui_url",
    "warnings_tag",
]
