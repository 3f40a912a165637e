"""Fit one configuration on one split: checked settings, a seeded model, ``model.fit``.

The training settings (:data:`TRAINING_DEFAULTS`: the contract's training group and
the fixed learning-rate schedule), the continuation of a run from its checkpoint,
the console's epoch lines, and :func:`fit_split`, which returns a
:class:`FittedSplit` for :mod:`tennis_lab.training.scoring`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tennis_lab import params as contract
from tennis_lab.errors import TennisLabError
from tennis_lab.evaluation import Split
from tennis_lab.model import MODEL_PARAMS, build_model, feature_windows, register_layers
from tennis_lab.training.augment import augmented_training_set
from tennis_lab.windows import WindowSet, class_weights

# The learning-rate schedule every run uses (ReduceLROnPlateau); no run parameter sets it.
SCHEDULE_DEFAULTS: dict[str, Any] = {
    "reduce_lr_patience": 5,
    "reduce_lr_factor": 0.5,
    "min_learning_rate": 1e-6,
}
# The contract's training group (initial_epoch > 0 continues a run from checkpoint_path:
# successive halving gives a trial more epochs rung by rung), and the schedule.
TRAINING_DEFAULTS: dict[str, Any] = {**contract.defaults("training"), **SCHEDULE_DEFAULTS}
CHECKPOINT_SUFFIX = contract.CHECKPOINT_SUFFIX


class TrainingError(TennisLabError, ValueError):
    """Training parameters or data that cannot train a model."""


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
        Naming the parameter (``key``), its value and the fix; ``initial_epoch`` > 0
        without its checkpoint file(s) included.
    """
    p = {**TRAINING_DEFAULTS, **{k: params[k] for k in TRAINING_DEFAULTS if k in params}}
    with contract.reported_as(TrainingError):
        contract.check({k: p[k] for k in contract.names("training")})
    patience, factor = p["reduce_lr_patience"], p["reduce_lr_factor"]
    if isinstance(patience, bool) or not isinstance(patience, int | np.integer) or patience < 1:
        raise TrainingError(
            f"reduce_lr_patience must be a whole number >= 1; got {patience!r}.",
            key="reduce_lr_patience",
            value=patience,
        )
    if not 0 < float(factor) < 1:
        raise TrainingError(
            f"reduce_lr_factor must be in (0, 1); got {factor!r}.",
            key="reduce_lr_factor",
            value=factor,
        )
    p["checkpoint_path"] = os.fspath(p["checkpoint_path"] or "")
    _check_checkpoints(p, folds)
    return p


def _check_checkpoints(p: dict[str, Any], folds: int) -> None:
    """The checkpoint file(s) a continued run (``initial_epoch`` > 0) reads exist."""
    start, path = p["initial_epoch"], p["checkpoint_path"]
    if start == 0:
        return
    fold_numbers = [None] if folds == 1 else range(1, (folds or 1) + 1)
    for fold in fold_numbers:
        wanted = fold_checkpoint(path, fold)
        if not wanted.is_file():
            what = "" if fold is None else f" (fold {fold} of checkpoint_path={path!r})"
            raise TrainingError(
                f"initial_epoch={start} continues from checkpoint {str(wanted)!r}{what}, but "
                "there is no such file. Run first with initial_epoch=0 and this checkpoint_path "
                "(it saves the model there), or use initial_epoch=0 to train from scratch.",
                key="checkpoint_path",
                value=path,
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
    register_layers()  # the model families' own layers
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
    # augmented copies (scale, rotation, time stretch, jitter, drops): training windows only
    X_train, y_train = augmented_training_set(X_train, y_train, windows, train_params, seed)
    X_val, y_val = windows.windows(split.val), windows.y[split.val]
    if initial_epoch > 0:  # continue: the checkpoint's standardisation, weights, optimizer
        model = _load_checkpoint(checkpoint, X_train.shape[1:], n_classes)
    else:
        # The model's first layer standardises with the training split's statistics,
        # so it takes raw windows, here and wherever it is used later.
        # The layout (landmark and channel names) is what stgcn and bone features need.
        layout = (windows.landmark_names, windows.channel_names) if windows.landmark_names else None
        model = build_model(
            model_params, X_train.shape[1:], n_classes, layout=layout,
            standardizer=fit_standardizer(feature_windows(X_train, model_params, layout)),
        )  # fmt: skip
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
