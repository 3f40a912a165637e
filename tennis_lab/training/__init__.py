"""Train and evaluate one configuration; return a :class:`RunResult`.

No MLflow calls and no file layout here (see ``tracking``): windows and a split in,
a result object out. Model selection uses the validation split; the test split is
only reported.

- :mod:`~tennis_lab.training.parameters`: a run's parameters, checked before any data
  is loaded (:func:`check_run_params`);
- :mod:`~tennis_lab.training.fitting`: the training settings, checkpoints and
  :func:`fit_split`;
- :mod:`~tennis_lab.training.scoring`: :func:`evaluate_split` and :class:`RunResult`;
- :mod:`~tennis_lab.training.folds`: one split or the folds of a cross-validation;
- :mod:`~tennis_lab.training.records`: tables for the notebook, the result file.
"""

from tennis_lab.results import SELECTION_METRIC, SUMMED_METRICS, TIMING_METRICS
from tennis_lab.training.fitting import (
    CHECKPOINT_SUFFIX,
    SCHEDULE_DEFAULTS,
    TRAINING_DEFAULTS,
    FittedSplit,
    PreparedFit,
    TrainingError,
    check_training_params,
    epoch_line,
    epoch_log,
    fit_split,
    fit_standardizer,
    fold_checkpoint,
    set_seed,
)
from tennis_lab.training.folds import (
    FOLD_COLUMNS,
    cross_validate,
    evaluate_folds,
    fit_folds,
    prepare_fit,
    train_and_evaluate,
)
from tennis_lab.training.parameters import RunParams, check_run_params
from tennis_lab.training.records import (
    folds_table,
    groups_table,
    metrics_table,
    read_result,
    write_result,
)
from tennis_lab.training.scoring import (
    EVENT_TOLERANCE_SECONDS,
    PREDICT_BATCH,
    SPREAD_METRICS,
    RunResult,
    crossentropy,
    evaluate_split,
    event_metrics,
    predict_probabilities,
    verdict_notes,
    window_report,
)

__all__ = [
    "CHECKPOINT_SUFFIX", "EVENT_TOLERANCE_SECONDS", "FOLD_COLUMNS", "PREDICT_BATCH",
    "SCHEDULE_DEFAULTS", "SELECTION_METRIC", "SPREAD_METRICS", "SUMMED_METRICS",
    "TIMING_METRICS", "TRAINING_DEFAULTS", "FittedSplit", "PreparedFit", "RunParams",
    "RunResult", "TrainingError", "check_run_params", "check_training_params",
    "cross_validate", "crossentropy", "epoch_line", "epoch_log", "evaluate_folds",
    "evaluate_split", "event_metrics", "fit_folds", "fit_split", "fit_standardizer",
    "fold_checkpoint", "folds_table", "groups_table", "metrics_table",
    "predict_probabilities", "prepare_fit", "read_result", "set_seed",
    "train_and_evaluate", "verdict_notes", "window_report", "write_result",
]  # fmt: skip
