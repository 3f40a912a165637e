"""Train and evaluate one configuration; return a :class:`RunResult`.

No MLflow calls and no file layout here (see ``tracking``): windows and a split in,
a result object out. Model selection uses the validation split; the test split is
only reported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tennis_lab import evaluation
from tennis_lab.errors import TennisLabError
from tennis_lab.evaluation import Split
from tennis_lab.model import MODEL_PARAMS, build_lstm
from tennis_lab.results import SELECTION_METRIC, SUMMED_METRICS, TIMING_METRICS  # noqa: F401
from tennis_lab.windows import IDLE, WindowSet, class_weights, cut_windows

TRAINING_DEFAULTS: dict[str, Any] = {
    "batch_size": 32,
    "epochs": 150,
    "early_stopping_patience": 15,
    "reduce_lr_patience": 5,
    "reduce_lr_factor": 0.5,
    "min_learning_rate": 1e-6,
    "class_weight": "balanced",
    "augment_mirror": False,
    # Continuing a run (successive halving gives a trial more epochs rung by rung):
    # initial_epoch epochs are already trained; > 0 loads the model, with its optimizer
    # state, from checkpoint_path first. A non-empty checkpoint_path is where the run
    # saves its trained model at the end (with cross-validation one file per fold,
    # see fold_checkpoint).
    "initial_epoch": 0,
    "checkpoint_path": "",
}
CHECKPOINT_SUFFIX = ".keras"
# Metrics whose spread over cross-validation folds is logged as <name>_std.
# (Not the worst group's: it is the lowest over every fold's groups, not a mean; the
# range of the held-out groups is new_group_macro_f1_min/_max.)
SPREAD_METRICS = (
    SELECTION_METRIC, "test_stroke_macro_f1", "val_macro_f1_score", "macro_avg_f1_score",
    "test_accuracy",
)  # fmt: skip
# Event matching of runs that keep idle windows: detections this close count as found.
EVENT_TOLERANCE_SECONDS = 0.25


class TrainingError(TennisLabError, ValueError):
    """Training parameters or data that cannot train a model."""


@dataclass
class RunResult:
    """Everything one training run produced.

    Attributes
    ----------
    metrics : dict of str to float
        Flat metric names as logged to MLflow. Stroke level (every annotated stroke
        of the part, see :mod:`tennis_lab.evaluation`): ``val_stroke_macro_f1``
        (the selection metric), ``test_stroke_macro_f1``, ``val_stroke_accuracy``,
        ``test_stroke_accuracy``, ``worst_group_macro_f1`` (the test group, e.g.
        player, scored worst), ``val_strokes``, ``test_strokes``,
        ``test_strokes_unreached`` (strokes of videos shorter than a window).
        Window level: ``val_macro_f1_score``, ``train_macro_f1_score``,
        ``test_accuracy``, ``test_loss``, ``macro_avg_*`` and ``weighted_avg_*``,
        ``<class>_precision/_recall/_f1_score/_support`` on the test windows. Costs:
        ``epochs_trained`` (every epoch the model has had, those of the checkpoint it
        continued included), ``epochs_trained_this_run``, ``training_time_seconds``
        and ``_minutes`` (this run's), ``first_epoch_seconds`` (with the backend's
        compilation) and ``epoch_seconds`` (the median of the others), ``trainable_params``,
        ``inference_ms_per_window``, ``val_groups`` (groups in the validation split).
        Cross-validated runs add ``cv_folds`` (the number of folds), ``<metric>_std`` for
        :data:`SPREAD_METRICS` and the score to expect on a new group
        (:func:`tennis_lab.evaluation.new_group_estimate`: ``new_group_macro_f1``,
        its ``_min`` and ``_max`` over the held-out groups, ``new_groups``).
    history : dict of str to list of float
        Per-epoch loss, accuracy, val_loss, val_accuracy, learning_rate of the epochs
        this run trained (a continued run: only the new ones).
    confusion : ndarray (classes, classes)
        Test split; rows are true classes, columns predictions.
    classes : tuple of str
    report : str
        The test split's per-class report as text.
    data : dict
        Facts of the data: samples per split, class counts, input shape.
    model : keras.Model
        The trained model (best validation weights; with folds, the fold that
        scored best on validation).
    groups : list of dict
        Test strokes per group (player, session or video): ``group``, ``strokes``,
        ``macro_f1``, ``accuracy``, ``handedness``, ``videos`` (and ``fold``),
        worst first.
    folds : list of dict
        With cross-validation, the headline metrics of each fold.
    test_true, test_pred : ndarray
        Test windows' classes and predictions (pooled over folds).
    preprocessing : dict
        What turns a raw recording into the model's input
        (:meth:`tennis_lab.windows.WindowSet.preprocessing`); the model
        standardises its input itself, so the two make a self-contained predictor.
    first_epoch : int
        The 0-based number of the first epoch in ``history``: 0, or the
        ``initial_epoch`` a continued run started from (``history[k][i]`` is epoch
        ``first_epoch + i``).
    val_strokes : dict of str to list
        Every validation stroke's ``video``, ``start``, ``fold`` (None without folds),
        ``true`` class and ``pred`` (-1: not reached): a search compares runs on
        these same strokes (:func:`tennis_lab.evaluation.paired_bootstrap`).
    warnings : list of str
        What must not be missed in these scores
        (:func:`tennis_lab.evaluation.split_warnings`): weak groups, a
        validation-test gap, a thin validation split, a class missing from a split.
    """

    metrics: dict[str, float]
    history: dict[str, list[float]]
    confusion: np.ndarray
    classes: tuple[str, ...]
    report: str
    data: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    groups: list[dict[str, Any]] = field(default_factory=list)
    folds: list[dict[str, Any]] = field(default_factory=list)
    test_true: np.ndarray | None = None
    test_pred: np.ndarray | None = None
    preprocessing: dict[str, Any] = field(default_factory=dict)
    first_epoch: int = 0
    val_strokes: dict[str, list] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# Windows per prediction batch. Every batch has this size (the last one padded), so
# the backend compiles its prediction step once for a whole evaluation: JAX compiles
# one per input shape, TensorFlow traces one.
PREDICT_BATCH = 256


def predict_probabilities(model, X: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Class probabilities of the windows ``X`` (n, frames, features): (n, classes).

    The windows go through ``model`` in batches of ``batch_size``; the last partial
    batch is padded with zeros and the padding's outputs dropped.
    """
    n = len(X)
    classes = int(model.outputs[0].shape[-1])
    if n == 0:
        return np.zeros((0, classes), dtype=np.float32)
    full = n - n % batch_size
    parts = []
    if full:
        parts.append(np.asarray(model.predict(X[:full], batch_size=batch_size, verbose=0)))
    if n > full:
        tail = np.zeros((batch_size, *X.shape[1:]), dtype=X.dtype)
        tail[: n - full] = X[full:]
        parts.append(np.asarray(model.predict(tail, batch_size=batch_size, verbose=0))[: n - full])
    return np.concatenate(parts)


def crossentropy(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean sparse categorical cross-entropy of class probabilities, as Keras computes it.

    Keras rescales each row to sum to 1 and clips probabilities to [1e-7, 1 - 1e-7].
    """
    if len(y) == 0:
        return float("nan")
    eps = 1e-7
    p = np.asarray(probs, dtype=np.float64)
    p = np.clip(p / p.sum(axis=1, keepdims=True), eps, 1 - eps)
    return float(-np.mean(np.log(p[np.arange(len(y)), np.asarray(y, dtype=int)])))


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the Keras backend; on TensorFlow, ask for deterministic ops.

    JAX on the CPU is deterministic for a given seed as it is. On JAX, Keras is first
    told not to import TensorFlow where it is not used
    (:func:`tennis_lab.backends.keras_spares_tensorflow`): seeding it, or else saving
    the model, imported it, 3-4 s of every JAX run.
    """
    import keras

    from tennis_lab.backends import keras_spares_tensorflow

    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    keras_spares_tensorflow()
    keras.utils.set_random_seed(int(seed))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


# Logged at the end of each reported epoch, in this order, when the history has them.
_EPOCH_FIGURES = ("loss", "accuracy", "val_loss", "val_accuracy")


def epoch_line(epoch: int, total: int, logs: Mapping[str, float], seconds: float) -> str:
    """One epoch's console line: ``epoch  5/27  loss 0.512  val_loss 0.498 ...  3.1 s/epoch``."""
    width = len(str(total))
    figures = "  ".join(f"{k} {float(logs[k]):.3f}" for k in _EPOCH_FIGURES if k in logs)
    return f"epoch {epoch:>{width}}/{total}  {figures}  {seconds:.1f} s/epoch"


def epoch_log(every: int, write=print):
    """A Keras callback writing :func:`epoch_line` every ``every`` epochs and at the last.

    Two lines per epoch (Keras' ``verbose=2``) over 150 epochs and dozens of runs
    bury a search's console; this keeps one line per ``every`` epochs, with the
    epoch's mean time, and always the last epoch trained (early stopping included).
    """
    import keras

    if every < 1:
        raise ValueError(f"log_every must be at least 1; got {every}.")

    class EpochLog(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.total = int(self.params.get("epochs") or 0)
            self.last: tuple[int, dict] | None = None
            self.since, self.counted = time.perf_counter(), 0

        def on_epoch_end(self, epoch, logs=None):
            self.counted += 1
            number = epoch + 1
            self.last = (number, dict(logs or {}))
            if number % every == 0 or number == self.total:
                self._write()

        def on_train_end(self, logs=None):
            if self.counted:  # early stopping ended it between two lines
                self._write()

        def _write(self):
            seconds = (time.perf_counter() - self.since) / max(self.counted, 1)
            write(epoch_line(self.last[0], self.total, self.last[1], seconds))
            self.since, self.counted = time.perf_counter(), 0

    return EpochLog()


def fit_standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation over all frames of ``X``.

    ``X`` is (windows, time, features); a constant feature gets a deviation of 1.
    """
    flat = X.reshape(-1, X.shape[-1])
    mean = flat.mean(axis=0)
    std = flat.std(axis=0)
    std[std < 1e-6] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def _report_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Averages over the classes present in ``y_true`` (the macro-F1 rule); every class."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = np.arange(len(classes))
    present = np.unique(y_true)
    out: dict[str, float] = {}
    for avg in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=present, average=avg, zero_division=0
        )
        out[f"{avg}_avg_precision"], out[f"{avg}_avg_recall"], out[f"{avg}_avg_f1_score"] = p, r, f
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    for i, name in enumerate(classes):
        out[f"{name}_precision"] = float(p[i])
        out[f"{name}_recall"] = float(r[i])
        out[f"{name}_f1_score"] = float(f[i])
        out[f"{name}_support"] = int(s[i])
    return {k: float(v) for k, v in out.items()}


def fold_checkpoint(checkpoint_path: str | os.PathLike, fold: int | None) -> Path:
    """The checkpoint file of one fold: ``runs/t3.keras`` -> ``runs/t3.fold2.keras``.

    Parameters
    ----------
    checkpoint_path : str or path
        The run's ``checkpoint_path`` (ending in ``.keras``).
    fold : int or None
        1-based fold number; None (a single split): the path itself.

    Returns
    -------
    pathlib.Path
    """
    path = Path(checkpoint_path)
    if fold is None:
        return path
    return path.with_name(
        f"{path.name[: -len(CHECKPOINT_SUFFIX)]}.fold{int(fold)}{CHECKPOINT_SUFFIX}"
    )


def check_training_params(params: Mapping[str, Any], folds: int = 1) -> dict[str, Any]:
    """Training settings from ``params`` (other keys ignored), defaults filled in, validated.

    Parameters
    ----------
    params : mapping
        Any of :data:`TRAINING_DEFAULTS`.
    folds : int
        What :func:`tennis_lab.evaluation.check_evaluation_params` returns (1: one
        split, k > 1: k folds, 0: leave one group out): which checkpoint files a
        continued run reads (one per fold, :func:`fold_checkpoint`; with 0 the
        first fold's is checked here, the others when their fold starts).

    Returns
    -------
    dict
        Every training setting.

    Raises
    ------
    TrainingError
        Naming the parameter, its value and the fix; ``initial_epoch`` > 0 without
        its checkpoint file(s) included.
    """
    p = {**TRAINING_DEFAULTS, **{k: params[k] for k in TRAINING_DEFAULTS if k in params}}
    for name in ("batch_size", "epochs", "early_stopping_patience", "reduce_lr_patience"):
        value = p[name]
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise TrainingError(f"{name} must be a whole number >= 1; got {value!r}.")
    if not 0 < float(p["reduce_lr_factor"]) < 1:
        raise TrainingError(f"reduce_lr_factor must be in (0, 1); got {p['reduce_lr_factor']!r}.")
    if p["class_weight"] not in ("balanced", None):
        raise TrainingError(f"class_weight must be 'balanced' or None; got {p['class_weight']!r}.")
    if not isinstance(p["augment_mirror"], bool):
        raise TrainingError(f"augment_mirror must be True or False; got {p['augment_mirror']!r}.")
    _check_continuation(p, folds)
    return p


def _check_continuation(p: dict[str, Any], folds: int) -> None:
    """``initial_epoch`` and ``checkpoint_path`` of checked training settings ``p``."""
    start, epochs, path = p["initial_epoch"], p["epochs"], p["checkpoint_path"]
    if isinstance(start, bool) or not isinstance(start, int | np.integer) or start < 0:
        raise TrainingError(
            f"initial_epoch must be a whole number >= 0 (the epochs already trained); got "
            f"{start!r}. Use 0 to train from scratch."
        )
    if start >= epochs:
        raise TrainingError(
            f"initial_epoch={start!r} must be less than epochs={epochs!r}: epochs is the total "
            "to reach (initial_epoch=3 with epochs=9 trains 6 more). Raise epochs above "
            f"{start!r} or lower initial_epoch."
        )
    if path is None:
        path = p["checkpoint_path"] = ""
    if not isinstance(path, str | os.PathLike):
        raise TrainingError(f"checkpoint_path must be a file path or ''; got {path!r}.")
    path = p["checkpoint_path"] = os.fspath(path)
    if path and not path.endswith(CHECKPOINT_SUFFIX):
        raise TrainingError(
            f"checkpoint_path must end in {CHECKPOINT_SUFFIX!r} (a Keras model file); got "
            f"{path!r}. Use e.g. {str(Path(path).with_suffix(CHECKPOINT_SUFFIX))!r}."
        )
    if start == 0:
        return
    if not path:
        raise TrainingError(
            f"initial_epoch={start} continues a run from its checkpoint, but checkpoint_path is "
            "empty. Set checkpoint_path to the file an earlier run saved, or use initial_epoch=0."
        )
    fold_numbers = [None] if folds == 1 else range(1, (folds or 1) + 1)
    for fold in fold_numbers:
        wanted = fold_checkpoint(path, fold)
        if not wanted.is_file():
            what = "" if fold is None else f" (fold {fold} of checkpoint_path={path!r})"
            raise TrainingError(
                f"initial_epoch={start} continues from checkpoint {str(wanted)!r}{what}, but "
                "there is no such file. Run first with initial_epoch=0 and this checkpoint_path "
                "(it saves the model there), or use initial_epoch=0 to train from scratch."
            )


def _load_checkpoint(path: Path, input_shape: tuple[int, ...], n_classes: int):
    """The compiled model (optimizer state included) saved at ``path``, checked against
    the windows it is to continue on."""
    import keras

    if not path.is_file():
        raise TrainingError(
            f"no checkpoint at {str(path)!r} to continue from; run first with initial_epoch=0 "
            "and this checkpoint_path, or use initial_epoch=0."
        )
    try:
        model = keras.models.load_model(str(path), compile=True)
    except Exception as exc:  # a truncated or foreign file: say which
        raise TrainingError(
            f"cannot read checkpoint {str(path)!r} as a Keras model ({exc}); train it again "
            "with initial_epoch=0."
        ) from exc
    saved_shape = tuple(model.input_shape[1:])
    saved_classes = int(model.output_shape[-1])
    if saved_shape != tuple(input_shape) or saved_classes != n_classes:
        raise TrainingError(
            f"checkpoint {str(path)!r} takes windows of shape {saved_shape} and predicts "
            f"{saved_classes} classes, but this run's windows are {tuple(input_shape)} with "
            f"{n_classes} classes: continue with the data parameters (window_size, ...) and "
            "dataset the checkpoint was trained with, or use initial_epoch=0."
        )
    return model


def _save_checkpoint(model, path: Path) -> None:
    """Save ``model`` (with its optimizer state) to ``path``, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name[: -len(CHECKPOINT_SUFFIX)]}.partial{CHECKPOINT_SUFFIX}")
    model.save(str(partial))
    os.replace(partial, path)


@dataclass
class FittedSplit:
    """A model trained on one split, not yet evaluated (see :func:`fit_split`).

    Attributes
    ----------
    model : keras.Model
        Best validation weights (early stopping restored them).
    history : dict of str to list of float
        Per-epoch values of the epochs this run trained.
    training_seconds : float
        Wall time of ``model.fit``.
    epoch_times : list of float
        Seconds of each epoch, validation included.
    initial_epoch : int
        The epoch it continued from (0: trained from scratch).
    checkpoint : Path or None
        Where the trained model was saved.
    augment_mirror : bool
        Whether the training windows had mirrored copies.
    """

    model: Any
    history: dict[str, list[float]]
    training_seconds: float
    epoch_times: list[float]
    initial_epoch: int = 0
    checkpoint: Path | None = None
    augment_mirror: bool = False


def _training_windows(
    windows: WindowSet, split: Split, augment_mirror: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The training windows and classes of ``split`` (with mirrored copies when asked)."""
    X_train, y_train = windows.windows(split.train), windows.y[split.train]
    if augment_mirror:
        # mirrored copies of the training windows: a left-handed version of every stroke
        X_train = np.concatenate([X_train, windows.mirror(X_train)])
        y_train = np.concatenate([y_train, y_train])
    return X_train, y_train


def train_and_evaluate(
    windows: WindowSet,
    split: Split,
    params: Mapping[str, Any],
    seed: int = 42,
    verbose: int = 0,
    callbacks: list | None = None,
) -> RunResult:
    """Train on ``split.train``, select on ``split.val``, report on ``split.test``.

    :func:`fit_split` then :func:`evaluate_split`; the parameters are theirs.

    Returns
    -------
    RunResult
        Window-level and stroke-level metrics (see :class:`RunResult`), with the
        test strokes scored per group.
    """
    fitted = fit_split(windows, split, params, seed, verbose, callbacks)
    return evaluate_split(windows, split, fitted)


def fit_split(
    windows: WindowSet,
    split: Split,
    params: Mapping[str, Any],
    seed: int = 42,
    verbose: int = 0,
    callbacks: list | None = None,
) -> FittedSplit:
    """Train on ``split.train``, early stopping on ``split.val``; nothing is scored yet.

    Parameters
    ----------
    windows : WindowSet
    split : Split
        From :func:`tennis_lab.evaluation.make_split` (or one of
        :func:`tennis_lab.evaluation.make_folds`).
    params : mapping
        Model parameters (see :mod:`tennis_lab.model`) and training settings
        (:data:`TRAINING_DEFAULTS`); other keys (data parameters, ids) are ignored.
        With ``checkpoint_path``, the trained model (best validation weights) and
        its optimizer state are saved there at the end. With ``initial_epoch`` > 0
        the run continues that checkpoint instead of building a model: its
        architecture, standardisation layer (not refitted), weights and optimizer
        state (Adam moments, the learning rate ReduceLROnPlateau left) carry on,
        and it trains epochs ``initial_epoch + 1`` to ``epochs``. Early stopping
        and ReduceLROnPlateau start their patience afresh in every run. The path
        is used as given (:func:`fit_folds` gives each fold its own).
    seed : int
        Same seed, same parameters and data: same model (on CPU).
    verbose : int
        Keras verbosity for ``fit`` (0 silent, 2 one line per epoch).
    callbacks : list, optional
        Extra Keras callbacks.

    Returns
    -------
    FittedSplit
        For :func:`evaluate_split`.

    Raises
    ------
    TrainingError
        Bad training settings; an empty split; a checkpoint that is missing, not
        a Keras model, or of other windows (shape) or classes.
    """
    return _fit_prepared(_prepare_split(windows, split, params, seed), verbose, callbacks)


@dataclass
class PreparedFit:
    """A split ready for ``model.fit``: checked, seeded, its model built (or its checkpoint
    loaded). See :func:`prepare_fit`."""

    model: Any
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    weights: dict[int, float] | None
    train_params: dict[str, Any]
    checkpoint: Path | None
    split: Split | None = None


def _prepare_split(
    windows: WindowSet, split: Split, params: Mapping[str, Any], seed: int
) -> PreparedFit:
    """What :func:`fit_split` does before ``model.fit``."""
    train_params = check_training_params(params)
    initial_epoch = int(train_params["initial_epoch"])
    checkpoint = Path(train_params["checkpoint_path"]) if train_params["checkpoint_path"] else None
    model_params = {k: params[k] for k in MODEL_PARAMS if k in params}
    n_classes = len(windows.classes)
    for part in ("train", "val", "test"):
        if len(getattr(split, part)) == 0:
            raise TrainingError(f"the {part} split has no windows; add videos or change the split.")
    train_classes = np.unique(windows.y[split.train])
    if len(train_classes) < 2:
        raise TrainingError(
            f"the train split holds only class {windows.classes[train_classes[0]]!r}; "
            "a classifier needs at least two."
        )

    set_seed(seed)
    augment = bool(train_params["augment_mirror"])
    X_train, y_train = _training_windows(windows, split, augment)
    X_val, y_val = windows.windows(split.val), windows.y[split.val]
    if initial_epoch > 0:  # continue: the checkpoint's standardisation, weights, optimizer
        model = _load_checkpoint(checkpoint, X_train.shape[1:], n_classes)
    else:
        # The model's first layer standardises with the training split's statistics,
        # so it takes raw windows, here and wherever it is used later.
        model = build_lstm(
            model_params, X_train.shape[1:], n_classes, standardizer=fit_standardizer(X_train)
        )
    weights = (
        class_weights(y_train, n_classes, "balanced")
        if train_params["class_weight"] == "balanced"
        else None
    )
    return PreparedFit(
        model, X_train, y_train, X_val, y_val, weights, train_params, checkpoint, split
    )


def _fit_prepared(
    prepared: PreparedFit, verbose: int = 0, callbacks: list | None = None
) -> FittedSplit:
    """``model.fit`` of a prepared split (early stopping on validation), then its checkpoint."""
    import keras

    model, train_params, checkpoint = prepared.model, prepared.train_params, prepared.checkpoint
    X_train, y_train, weights = prepared.X_train, prepared.y_train, prepared.weights
    X_val, y_val = prepared.X_val, prepared.y_val
    initial_epoch = int(train_params["initial_epoch"])
    fit_callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=train_params["early_stopping_patience"],
            restore_best_weights=True,
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=float(train_params["reduce_lr_factor"]),
            patience=train_params["reduce_lr_patience"],
            min_lr=float(train_params["min_learning_rate"]),
        ),
        *(callbacks or []),
    ]
    epoch_times: list[float] = []  # seconds of each epoch, validation included
    epoch_began = [0.0]
    fit_callbacks.append(
        keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: epoch_began.__setitem__(0, time.perf_counter()),
            on_epoch_end=lambda epoch, logs: epoch_times.append(
                time.perf_counter() - epoch_began[0]
            ),
        )
    )
    started = time.perf_counter()
    fitted = model.fit(
        X_train,
        y_train,
        validation_data=(X_val, y_val),
        initial_epoch=initial_epoch,
        epochs=int(train_params["epochs"]),
        batch_size=int(train_params["batch_size"]),
        class_weight=weights,
        shuffle=True,
        verbose=verbose,
        callbacks=fit_callbacks,
    )
    training_seconds = time.perf_counter() - started
    history = {k: [float(v) for v in vals] for k, vals in fitted.history.items()}
    if checkpoint is not None:  # after EarlyStopping restored the best weights
        _save_checkpoint(model, checkpoint)
    return FittedSplit(
        model=model, history=history, training_seconds=training_seconds,
        epoch_times=epoch_times, initial_epoch=initial_epoch, checkpoint=checkpoint,
        augment_mirror=bool(train_params["augment_mirror"]),
    )  # fmt: skip


def evaluate_split(windows: WindowSet, split: Split, fitted: FittedSplit) -> RunResult:
    """Score a model :func:`fit_split` trained on ``split``: windows and strokes, per group.

    Returns
    -------
    RunResult
        Window-level and stroke-level metrics (see :class:`RunResult`), with the
        test strokes scored per group.
    """
    model, initial_epoch, checkpoint = fitted.model, fitted.initial_epoch, fitted.checkpoint
    n_classes = len(windows.classes)
    X_train, y_train = _training_windows(windows, split, fitted.augment_mirror)
    X_val, X_test = windows.windows(split.val), windows.windows(split.test)
    y_val, y_test = windows.y[split.val], windows.y[split.test]
    history, epoch_times = fitted.history, fitted.epoch_times
    training_seconds = fitted.training_seconds
    epochs_this_run = len(history.get("loss", []))

    predict = lambda X: predict_probabilities(model, X)  # noqa: E731
    p_train, p_val = predict(X_train).argmax(axis=1), predict(X_val).argmax(axis=1)
    started = time.perf_counter()
    probs_test = predict(X_test)
    inference_ms = (time.perf_counter() - started) * 1000 / max(len(X_test), 1)
    p_test = probs_test.argmax(axis=1)
    test_loss, test_accuracy = crossentropy(probs_test, y_test), float(np.mean(p_test == y_test))

    def score_strokes(videos: tuple[str, ...]) -> tuple:
        """True classes and predictions of every annotated stroke of ``videos``, which
        strokes those are (a mask over ``windows.strokes``); the probabilities, videos
        and starts of the windows that scored them."""
        offsets, starts, owner = windows.scoring_windows(videos)
        X = cut_windows(windows.frames, offsets, windows.window_size)
        probs = predict(X)
        strokes = windows.strokes
        mask = np.isin(strokes["video"], list(videos))
        agg = evaluation.aggregate_strokes(
            probs, owner, starts, windows.window_size,
            strokes["video"][mask], strokes["start"][mask], strokes["end"][mask],
        )  # fmt: skip
        windows_used = (probs, owner, starts)
        return strokes["y"][mask], evaluation.predict_strokes(agg), mask, windows_used

    sv_true, sv_pred, val_mask, _ = score_strokes(split.val_videos)
    st_true, st_pred, test_mask, test_windows = score_strokes(split.test_videos)
    st_video = windows.strokes["video"][test_mask]
    group_of = evaluation.video_groups(windows.video_ids, windows.videos, split.by)
    groups = evaluation.group_scores(
        st_true, st_pred, np.array([group_of[v] for v in st_video], dtype=object),
        extra=_group_facts(windows, group_of, split.fold),
    )  # fmt: skip

    from sklearn.metrics import confusion_matrix

    has_idle = IDLE in windows.classes  # whole videos can be read: score detected strokes
    metrics = {
        SELECTION_METRIC: evaluation.macro_f1(sv_true, sv_pred),
        "test_stroke_macro_f1": evaluation.macro_f1(st_true, st_pred),
        "val_stroke_accuracy": evaluation.accuracy(sv_true, sv_pred),
        "test_stroke_accuracy": evaluation.accuracy(st_true, st_pred),
        "worst_group_macro_f1": min((g["macro_f1"] for g in groups), default=float("nan")),
        "val_strokes": float(len(sv_true)),
        "test_strokes": float(len(st_true)),
        "test_strokes_unreached": float((st_pred < 0).sum()),
        "val_macro_f1_score": evaluation.macro_f1(y_val, p_val),
        "train_macro_f1_score": evaluation.macro_f1(y_train, p_train),
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        **_report_metrics(y_test, p_test, windows.classes),
        "epochs_trained": float(initial_epoch + epochs_this_run),
        "epochs_trained_this_run": float(epochs_this_run),
        "training_time_seconds": training_seconds,
        "training_time_minutes": training_seconds / 60,
        # The first epoch compiles the training step; the others show the backend's pace.
        "first_epoch_seconds": epoch_times[0] if epoch_times else float("nan"),
        "epoch_seconds": float(np.median(epoch_times[1:] or epoch_times or [float("nan")])),
        "trainable_params": float(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
        "inference_ms_per_window": inference_ms,
        "val_groups": float(len(split.val_groups)),
        **(event_metrics(windows, split.test_videos, *test_windows) if has_idle else {}),
    }
    labels = np.arange(n_classes)
    report = window_report(y_test, p_test, windows.classes)
    missing = {
        part: [c for i, c in enumerate(windows.classes) if c != IDLE and i not in set(truth)]
        for part, truth in (("validation", sv_true.tolist()), ("test", st_true.tolist()))
    }
    warnings = evaluation.split_warnings(
        split.by, metrics[SELECTION_METRIC], metrics["test_stroke_macro_f1"], groups,
        split.val_groups, missing, split.fold,
        margin=None if split.fold is not None else evaluation.WEAK_GROUP_MARGIN,
    )  # fmt: skip
    data = {
        "num_classes": n_classes,
        "classes": list(windows.classes),
        "train_samples": len(y_train),
        "val_samples": len(y_val),
        "test_samples": len(y_test),
        "input_shape": list(X_train.shape[1:]),
        "train_class_counts": windows.class_counts(split.train),
        "val_class_counts": windows.class_counts(split.val),
        "test_class_counts": windows.class_counts(split.test),
        "split_by": split.by,
        "train_groups": list(split.train_groups),
        "val_groups": list(split.val_groups),
        "test_groups": list(split.test_groups),
        "train_videos": list(split.train_videos),
        "val_videos": list(split.val_videos),
        "test_videos": list(split.test_videos),
        "mirrored_videos": sorted(v for v, m in windows.videos.items() if m.get("mirrored")),
        "augment_mirror": bool(fitted.augment_mirror),
        "initial_epoch": initial_epoch,
        "checkpoint_path": str(checkpoint) if checkpoint is not None else "",
    }
    return RunResult(
        metrics=metrics,
        history=history,
        confusion=confusion_matrix(y_test, p_test, labels=labels),
        classes=windows.classes,
        report=report,
        data=data,
        model=model,
        groups=groups,
        test_true=np.asarray(y_test),
        test_pred=np.asarray(p_test),
        preprocessing=windows.preprocessing(),
        first_epoch=initial_epoch,
        val_strokes={
            "video": [str(v) for v in windows.strokes["video"][val_mask]],
            "start": [int(v) for v in windows.strokes["start"][val_mask]],
            "fold": [split.fold] * len(sv_true),
            "true": [int(v) for v in sv_true],
            "pred": [int(v) for v in sv_pred],
        },
        warnings=warnings,
    )


def verdict_notes(result: RunResult) -> list[str]:
    """What a run's reader must not miss, one line each: the score to expect on a new
    group (grouped cross-validation) and the run's warnings (weak groups, gaps, ...)."""
    word = result.data.get("split_by") or "group"
    new_group = evaluation.new_group_text(result.metrics, word)
    lines = [new_group[0].upper() + new_group[1:]] if new_group else []
    return lines + [f"⚠️ {line}" for line in result.warnings]


def window_report(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> str:
    """The test windows' per-class report (scikit-learn's text), by the macro-F1 rule.

    Only the classes present in ``y_true`` are listed and averaged, as
    :func:`tennis_lab.evaluation.macro_f1` counts them, so its macro average is the
    run's ``macro_avg_f1_score``; a last line names the classes left out.
    """
    from sklearn.metrics import classification_report

    present = [int(c) for c in np.unique(y_true)]
    if not present:
        return "no test windows"
    report = classification_report(
        y_true, y_pred, labels=present, target_names=[classes[i] for i in present],
        zero_division=0,
    )  # fmt: skip
    absent = [c for i, c in enumerate(classes) if i not in present]
    if absent:
        report += (
            f"\nNot in the test windows, so not averaged (the macro-F1 rule): {', '.join(absent)}\n"
        )
    return report


def event_metrics(
    windows: WindowSet,
    videos: Sequence[str],
    probs: np.ndarray,
    owner: np.ndarray,
    starts: np.ndarray,
    tolerance_seconds: float = EVENT_TOLERANCE_SECONDS,
) -> dict[str, float]:
    """Strokes detected on whole videos, matched to the annotated ones.

    For a run that keeps idle windows: each video's frames get the mean class
    probabilities of the windows over them, strokes are runs of one stroke class
    (:func:`tennis_lab.evaluation.detect_strokes`, the defaults of
    :mod:`tennis_lab.predict`), matched to the annotations within
    ``tolerance_seconds`` (:func:`tennis_lab.evaluation.match_events`).

    Returns
    -------
    dict
        ``test_event_precision``, ``test_event_recall``, ``test_event_f1`` (over all
        strokes) and ``test_event_macro_f1`` (mean over the annotated classes).
    """
    w = windows.window_size
    stride = int(windows.params.get("stride", w))
    fps = float(windows.params.get("reference_fps", 30.0))
    tolerance = int(round(tolerance_seconds * fps))
    index = {v: i for i, v in enumerate(windows.video_ids)}
    recordings = []
    for video in videos:
        mine = owner == video
        if not mine.any():
            continue
        length = int(windows.video_lengths[index[video]])
        frame_probs = evaluation.frame_probabilities(probs[mine], starts[mine], w, length)
        found = evaluation.detect_strokes(
            frame_probs, windows.classes, idle=IDLE,
            min_frames=evaluation.default_min_frames(w, stride),
        )  # fmt: skip
        ours = windows.strokes["video"] == video
        truth = {k: windows.strokes[k][ours] for k in ("start", "end")}
        truth["label"] = windows.strokes["y"][ours]
        recordings.append((found, truth))
    if not recordings:
        return {}
    scores = evaluation.score_detections(recordings, windows.classes, tolerance, idle=IDLE)
    return {
        "test_event_precision": float(scores["overall"]["precision"]),
        "test_event_recall": float(scores["overall"]["recall"]),
        "test_event_f1": float(scores["overall"]["f1"]),
        "test_event_macro_f1": float(scores["macro_f1"]),
    }


def _group_facts(
    windows: WindowSet, group_of: Mapping[str, str], fold: int | None
) -> dict[str, dict[str, Any]]:
    """Group -> its videos, handedness (left, right, mixed or unknown) and fold."""
    facts: dict[str, dict[str, Any]] = {}
    for video, group in sorted(group_of.items()):
        entry = facts.setdefault(group, {"videos": [], "_hands": set()})
        entry["videos"].append(video)
        entry["_hands"].add((windows.videos.get(video) or {}).get("handedness") or "unknown")
    for entry in facts.values():
        hands = entry.pop("_hands")
        entry["handedness"] = hands.pop() if len(hands) == 1 else "mixed"
        entry["videos"] = " ".join(entry["videos"])
        if fold is not None:
            entry["fold"] = fold
    return facts


FOLD_COLUMNS = (
    SELECTION_METRIC, "test_stroke_macro_f1", "worst_group_macro_f1", "val_macro_f1_score",
    "macro_avg_f1_score", "test_accuracy", "epochs_trained", "training_time_minutes",
)  # fmt: skip


def cross_validate(
    windows: WindowSet,
    splits: list[Split],
    params: Mapping[str, Any],
    seed: int = 42,
    verbose: int = 0,
    callbacks: list | None = None,
) -> RunResult:
    """Train and evaluate one configuration on every fold; combine the results.

    :func:`fit_folds` then :func:`evaluate_folds` (the notebook runs them in two
    cells, so that a search can start its next run once the training is done).

    Parameters
    ----------
    windows : WindowSet
    splits : list of Split
        From :func:`tennis_lab.evaluation.make_splits`: the folds (each group is
        tested once), or one split, which is :func:`train_and_evaluate` itself.
    params, seed, verbose, callbacks
        As :func:`fit_split` (the same seed on every fold). With folds,
        each fold saves (and, with ``initial_epoch`` > 0, continues) its own
        checkpoint, :func:`fold_checkpoint` of ``checkpoint_path``
        (``t3.keras`` -> ``t3.fold1.keras``, ``t3.fold2.keras``, ...).

    Returns
    -------
    RunResult
        ``metrics``: the mean over folds (training times: the sum), ``<metric>_std``
        for :data:`SPREAD_METRICS`, ``cv_folds``; ``worst_group_macro_f1`` is the
        worst group over all folds. ``groups``: every group, from the fold that
        tested it. ``folds``: each fold's headline metrics. The model, history and
        report of the fold that scored best on validation; the confusion matrix
        and test predictions pooled over folds.
    """
    fitted = fit_folds(windows, splits, params, seed, verbose, callbacks)
    return evaluate_folds(windows, splits, fitted)


def fit_folds(
    windows: WindowSet,
    splits: list[Split],
    params: Mapping[str, Any],
    seed: int = 42,
    verbose: int = 0,
    callbacks: list | None = None,
    prepared: PreparedFit | None = None,
) -> list[FittedSplit]:
    """Train one configuration on every split of ``splits`` (:func:`fit_split` each).

    Parameters as :func:`cross_validate`; ``prepared``: the first split made ready by
    :func:`prepare_fit` with the same arguments. Returns the models, one per split,
    for :func:`evaluate_folds`.
    """
    if not splits:
        raise TrainingError("cross_validate needs at least one fold.")
    if prepared is not None and prepared.split is not splits[0]:
        raise TrainingError("prepared is not of these splits: call prepare_fit with them.")
    fitted = []
    for i, split in enumerate(splits):
        if verbose and not _one_split(splits):
            print(f"\n--- {split.describe()}")
        ready = prepared if i == 0 and prepared is not None else None
        ready = ready or _prepare_split(windows, split, _fold_params(params, splits, i), seed)
        fitted.append(_fit_prepared(ready, verbose, callbacks))
    return fitted


def prepare_fit(
    windows: WindowSet, splits: list[Split], params: Mapping[str, Any], seed: int = 42
) -> PreparedFit:
    """The first split of ``splits`` ready for ``model.fit``: checked, seeded, its model
    built or its checkpoint loaded; pass it to :func:`fit_folds` (same arguments).

    Done apart, it takes the model's build out of the training (a search's next run
    prepares while the current one trains); the scores are those of :func:`fit_folds`
    alone, as nothing draws random numbers in between.
    """
    if not splits:
        raise TrainingError("cross_validate needs at least one fold.")
    return _prepare_split(windows, splits[0], _fold_params(params, splits, 0), seed)


def _one_split(splits: list[Split]) -> bool:
    return len(splits) == 1 and splits[0].fold is None


def _fold_params(params: Mapping[str, Any], splits: list[Split], index: int) -> Mapping[str, Any]:
    """The parameters of split ``index``: with folds, its own checkpoint file."""
    if _one_split(splits) or not params.get("checkpoint_path"):
        return params
    path = fold_checkpoint(params["checkpoint_path"], splits[index].fold or index + 1)
    return {**params, "checkpoint_path": str(path)}


def evaluate_folds(windows: WindowSet, splits: list[Split], fitted: list[FittedSplit]) -> RunResult:
    """Score the models :func:`fit_folds` trained, one per split; combine the folds.

    Returns
    -------
    RunResult
        As :func:`cross_validate`.
    """
    if len(fitted) != len(splits):
        raise TrainingError(f"{len(fitted)} trained models for {len(splits)} splits.")
    if _one_split(splits):
        return evaluate_split(windows, splits[0], fitted[0])
    results = [
        evaluate_split(windows, split, model) for split, model in zip(splits, fitted, strict=True)
    ]
    names = list(results[0].metrics)
    metrics: dict[str, float] = {}
    for name in names:
        values = [r.metrics[name] for r in results]
        if name in SUMMED_METRICS:
            metrics[name] = float(np.nansum(values))
        else:
            metrics[name] = evaluation.mean_std(values)[0]
        if name in SPREAD_METRICS:
            metrics[f"{name}_std"] = evaluation.mean_std(values)[1]
    groups = sorted(
        (g for r in results for g in r.groups), key=lambda g: (g["macro_f1"], g["group"])
    )
    metrics["worst_group_macro_f1"] = min((g["macro_f1"] for g in groups), default=float("nan"))
    metrics["val_groups"] = float(min(r.metrics["val_groups"] for r in results))
    metrics["cv_folds"] = float(len(splits))
    metrics.update(evaluation.new_group_estimate(groups))
    folds = [
        {"fold": split.fold or i + 1, "test_groups": " ".join(split.test_groups),
         **{k: r.metrics[k] for k in FOLD_COLUMNS}}
        for i, (split, r) in enumerate(zip(splits, results, strict=True))
    ]  # fmt: skip
    best = max(range(len(results)), key=lambda i: results[i].metrics[SELECTION_METRIC])
    test_true = np.concatenate([r.test_true for r in results])
    test_pred = np.concatenate([r.test_pred for r in results])
    data = dict(results[best].data)
    data.update(
        cv_folds=len(splits),
        model_fold=best + 1,
        checkpoint_paths=[r.data["checkpoint_path"] for r in results],
        test_groups=sorted({g for s in splits for g in s.test_groups}),
        test_samples=int(len(test_true)),
    )
    return RunResult(
        metrics=metrics,
        history=results[best].history,
        confusion=sum(r.confusion for r in results),
        classes=windows.classes,
        report=window_report(test_true, test_pred, windows.classes),
        data=data,
        model=results[best].model,
        groups=groups,
        folds=folds,
        test_true=test_true,
        test_pred=test_pred,
        preprocessing=results[best].preprocessing,
        first_epoch=results[best].first_epoch,
        val_strokes={
            key: [v for r in results for v in r.val_strokes[key]] for key in results[0].val_strokes
        },
        warnings=evaluation.weak_group_lines(splits[0].by, groups)
        + [line for r in results for line in r.warnings],
    )


def metrics_table(result: RunResult):
    """The headline metrics of ``result`` as a one-column DataFrame (for display).

    Counts (epochs, parameters) are integers and scores rounded to 4 decimals, so the
    table reads ``65220`` and ``0.9866``, not ``65220.000000``.
    """
    import pandas as pd

    names = [
        SELECTION_METRIC, "test_stroke_macro_f1", "worst_group_macro_f1", "val_macro_f1_score",
        "train_macro_f1_score", "macro_avg_f1_score", "test_accuracy", "test_loss",
        "macro_avg_precision", "macro_avg_recall", "weighted_avg_f1_score", "epochs_trained",
        "epochs_trained_this_run", "training_time_minutes", "trainable_params",
        "inference_ms_per_window",
    ]  # fmt: skip
    counts = {"epochs_trained", "epochs_trained_this_run", "trainable_params"}

    def shown(name: str, value: Any) -> Any:  # counts as integers, scores to 4 decimals
        if value is None or not np.isfinite(float(value)):
            return None
        return int(round(float(value))) if name in counts else round(float(value), 4)

    rows = {
        n: [shown(n, result.metrics[n]), shown(n, result.metrics.get(f"{n}_std"))] for n in names
    }
    table = pd.DataFrame.from_dict(
        rows, orient="index", columns=["value", "std over folds"], dtype=object
    )
    return table if result.folds else table[["value"]]


def groups_table(result: RunResult):
    """Per-group test scores of ``result`` as a DataFrame, worst first (for display)."""
    import pandas as pd

    return pd.DataFrame(result.groups).set_index("group") if result.groups else pd.DataFrame()


def folds_table(result: RunResult):
    """Per-fold headline metrics of ``result`` as a DataFrame (empty without folds)."""
    import pandas as pd

    return pd.DataFrame(result.folds).set_index("fold") if result.folds else pd.DataFrame()


def write_result(result: RunResult, path, run_id: str | None = None) -> None:
    """Write the metrics, data facts and run id of ``result`` as JSON (atomically)."""
    import json
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "run_id": run_id,
        "metrics": result.metrics,
        "warnings": result.warnings,
        "val_strokes": result.val_strokes,
        "data": result.data,
        "classes": list(result.classes),
        "confusion": result.confusion.tolist(),
        "groups": result.groups,
        "folds": result.folds,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def read_result(path) -> dict:
    """Read what :func:`write_result` wrote."""
    import json
    from pathlib import Path

    return json.loads(Path(path).read_text(encoding="utf-8"))
