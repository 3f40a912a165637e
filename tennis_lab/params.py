"""The run parameters of ``notebooks/train.ipynb``, each declared once.

Every parameter a training run takes is one :class:`Parameter` in :data:`PARAMETERS`:
its name, its group, its default (the value in the notebook's ``parameters`` cell),
its type, what it means (the cell's comment), the check a value must pass, the fix
for a value that fails it, and its owner:

- ``user``: a grid, a ranges file or a person running the notebook sets it;
- ``runner``: the search runner sets it for every run (where the data is, where the
  run is tracked, its name, where its result goes); a grid may not.

The groups are what a run hands to each part of the package:

- ``data``: how recordings become windows (:func:`tennis_lab.windows.make_windows`);
- ``evaluation``: the split or folds (:func:`tennis_lab.evaluation.make_splits`);
- ``model``: what :func:`tennis_lab.model.build_model` builds and compiles;
- ``training``: how it is fitted (:func:`tennis_lab.training.check_training_params`);
- ``runtime``: where the data and caches are, seeds, threads, backend, console;
- ``tracking``: the MLflow run and the result file.

:func:`check` raises :class:`ParameterError`, which names the parameter (``key``), its
``value`` and the ``fix``; the windows, model, evaluation and training checks report
it as their own error type. :func:`split` sorts a flat mapping of values into the
groups; :func:`differences` compares a notebook's parameters cell with the defaults.

This module imports nothing of the package but :mod:`tennis_lab.errors`.
"""

from __future__ import annotations

import ast
import math
import numbers
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tennis_lab.errors import TennisLabError

GROUPS = ("data", "evaluation", "model", "training", "runtime", "tracking")
OWNERS = ("user", "runner")

NORMALIZATIONS = ("none", "body")
MISSING_FRAME_METHODS = ("interpolate", "zero")
SPLIT_BY = ("auto", "video", "player", "session")
LEAVE_ONE_OUT = "loo"
CLASS_WEIGHTS = ("balanced", None)
CHECKPOINT_SUFFIX = ".keras"


class ParameterError(TennisLabError, ValueError):
    """A run parameter its run would reject; ``key``, ``value`` and ``fix`` say which and why."""


# A check: (name, value, every value being checked) -> what is wrong, or None.
Check = Callable[[str, Any, Mapping[str, Any]], "str | None"]


@dataclass(frozen=True)
class Parameter:
    """One run parameter.

    Attributes
    ----------
    name : str
        As in the notebook's parameters cell.
    group : str
        One of :data:`GROUPS`.
    default
        The notebook's default.
    type : tuple of type
        The types a value may have (documentation; :attr:`check` decides).
    help : str
        What it means, in a line.
    check : callable or None
        ``check(name, value, values)``: what is wrong with ``value``, as a sentence
        naming the parameter (``values``: every value being checked, for a check that
        depends on another parameter), or None.
    fix : str or None
        What to do about a value that fails :attr:`check`.
    owner : str
        ``user`` or ``runner`` (:data:`OWNERS`).
    family : tuple of str
        The model families (:data:`MODEL_FAMILIES`) the parameter acts on; empty: every
        family, or not a model parameter. A grid may set it only in a sub-grid whose
        ``model_family`` values are all among these.
    """

    name: str
    group: str
    default: Any
    type: tuple[type, ...]
    help: str
    check: Check | None = field(default=None, repr=False, compare=False)
    fix: str | None = None
    owner: str = "user"
    family: tuple[str, ...] = ()


# --------------------------------------------------------------------------- checks


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _whole(minimum: int) -> Check:
    def check(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
        if _is_int(value) and value >= minimum:
            return None
        return f"{name} must be a whole number >= {minimum}; got {value!r}."

    return check


def _switch(words: str) -> Check:
    def check(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
        return None if isinstance(value, bool) else f"{name} must be {words}; got {value!r}."

    return check


def _one_of(choices: Sequence[str]) -> Check:
    def check(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
        return None if value in choices else f"{name}={value!r} is not one of {list(choices)}."

    return check


def _frames(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if not _is_int(value):
        return f"{name} must be a whole number of frames; got {value!r}."
    if name == "window_size" and value < 2:
        return f"window_size must be at least 2 frames; got {value}."
    if name == "overlap" and value < 0:
        return f"overlap must be >= 0 frames; got {value}."
    size = values.get("window_size")
    if name == "overlap" and _is_int(size) and value >= size:
        return (
            f"overlap ({value}) must be smaller than window_size ({size}): the stride "
            f"window_size - overlap would be {size - value}. Lower overlap or raise window_size."
        )
    return None


def _positive(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    return None if _is_number(value) and value > 0 else f"{name} must be positive; got {value}."


def _share(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if _is_number(value) and 0 < value <= 1:
        return None
    return f"{name} must be in (0, 1]; got {value}."


def _true_or_false(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    return None if _is_bool(value) else f"{name} must be True or False; got {value!r}."


def _split_by(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if value in SPLIT_BY:
        return None
    return (
        f"split_by={value!r} is not one of {list(SPLIT_BY)}: split by video, by player or by "
        "session (both from videos.csv), or auto (player when known, else video)."
    )


def folds_of(cv_folds: Any) -> int | None:
    """``cv_folds`` as k: 1 for one split, k > 1 folds, 0 for ``"loo"``; None when invalid."""
    if isinstance(cv_folds, str) and cv_folds.strip().lower() == LEAVE_ONE_OUT:
        return 0
    return int(cv_folds) if _is_int(cv_folds) and cv_folds >= 1 else None


def _cv_folds(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if folds_of(value) is not None:
        return None
    return (
        "cv_folds must be a whole number >= 1 (1: one train/validation/test split; k > 1: "
        f"grouped k-fold cross-validation) or 'loo' (leave one group out); got {value!r}."
    )


def _test_groups(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if isinstance(value, str) or not isinstance(value, Iterable):
        return f"test_groups must be a list of group names, e.g. ['bruno']; got {value!r}."
    if not all(isinstance(g, str) for g in value):
        return f"test_groups must be a list of group names, e.g. ['bruno']; got {value!r}."
    folds = values.get("cv_folds", 1)
    if len(list(value)) and folds_of(folds) not in (1, None):
        return (
            f"test_groups={list(value)} pins groups to the one test split, but with "
            f"cv_folds={folds!r} every group is tested once. Use cv_folds=1 or test_groups=[]."
        )
    return None


def _fraction(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if not (_is_number(value) and 0 < value < 1):
        return f"{name} must be between 0 and 1; got {value}."
    val = values.get("val_fraction")
    if name == "test_fraction" and _is_number(val) and 0 < val < 1 and val + value >= 1:
        return f"val_fraction + test_fraction must be below 1; got {val + value}."
    return None


def _lstm_layers(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if _is_list(value) and value and all(_is_int(u) and u > 0 for u in value):
        return None
    return (
        f"lstm_layers must be a non-empty list of positive whole numbers of units; got {value!r}."
    )


def _dense_units(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if _is_int(value) and value > 0:
        return None
    return f"dense_units must be a positive whole number; got {value!r}."


def _dropout_rates(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if not _is_list(value):
        return f"dropout_rates must be a list of rates; got {value!r}."
    layers = values.get("lstm_layers")
    if _lstm_layers("lstm_layers", layers, values) is None and len(value) != len(layers) + 1:
        return (
            f"dropout_rates has {len(value)} rates {list(value)} but lstm_layers has "
            f"{len(layers)} layers {list(layers)}: give one rate per LSTM layer plus one for "
            f"the dense layer ({len(layers) + 1} rates)."
        )
    for rate in value:
        if not _is_number(rate) or not 0 <= rate < 1:
            return f"dropout_rates must each be in [0, 1); got {rate!r} in {list(value)}."
    return None


def _learning_rate(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if _is_number(value) and math.isfinite(value) and value > 0:
        return None
    return f"learning_rate must be a positive number; got {value!r}."


def _class_weight(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if value in CLASS_WEIGHTS:
        return None
    return f"class_weight must be 'balanced' or None; got {value!r}."


def _initial_epoch(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if not _is_int(value) or value < 0:
        return (
            "initial_epoch must be a whole number >= 0 (the epochs already trained); got "
            f"{value!r}. Use 0 to train from scratch."
        )
    epochs = values.get("epochs")
    if _is_int(epochs) and value >= epochs:
        return (
            f"initial_epoch={value!r} must be less than epochs={epochs!r}: epochs is the total "
            "to reach (initial_epoch=3 with epochs=9 trains 6 more). Raise epochs above "
            f"{value!r} or lower initial_epoch."
        )
    return None


def _augment(limit: float) -> Check:
    """An augmentation's strength: a number from 0 (off) to ``limit``."""

    def check(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
        if _is_number(value) and math.isfinite(value) and 0 <= value <= limit:
            return None
        return f"{name} must be a number from 0 (off) to {limit}; got {value!r}."

    return check


def _checkpoint_path(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str | os.PathLike):
        return f"checkpoint_path must be a file path or ''; got {value!r}."
    path = os.fspath(value)
    if path and not path.endswith(CHECKPOINT_SUFFIX):
        stem = os.path.splitext(path)[0]
        return (
            f"checkpoint_path must end in {CHECKPOINT_SUFFIX!r} (a Keras model file); got "
            f"{path!r}. Use e.g. {stem + CHECKPOINT_SUFFIX!r}."
        )
    start = values.get("initial_epoch", 0)
    if not path and _is_int(start) and start > 0:
        return (
            f"initial_epoch={start} continues a run from its checkpoint, but checkpoint_path "
            "is empty. Set checkpoint_path to the file an earlier run saved, or use "
            "initial_epoch=0."
        )
    return None


# --------------------------------------------------------------------------- model families

MODEL_FAMILIES = ("lstm", "gru", "tcn", "transformer", "stgcn")
FEATURES = ("positions", "positions+velocity", "positions+bones")


def _units(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if _is_list(value) and value and all(_is_int(u) and u > 0 for u in value):
        return None
    return f"{name} must be a non-empty list of positive whole numbers; got {value!r}."


def _unit_rate(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if _is_number(value) and 0 <= value < 1:
        return None
    return f"{name} must be a rate in [0, 1); got {value!r}."


def _heads(name: str, value: Any, values: Mapping[str, Any]) -> str | None:
    if not (_is_int(value) and value >= 1):
        return f"{name} must be a whole number >= 1; got {value!r}."
    width = values.get("transformer_width")
    if _is_int(width) and width >= 1 and width % value:
        return (
            f"transformer_heads={value} must divide transformer_width={width}: each head "
            "attends over width / heads channels."
        )
    return None


# --------------------------------------------------------------------------- the contract


def _p(
    name, group, default, kinds, help, check=None, fix=None, owner="user", family=()
) -> Parameter:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    family = (family,) if isinstance(family, str) else tuple(family)
    return Parameter(name, group, default, kinds, help, check, fix, owner, family)


_RUNNER = "runner"
_SWITCH_FIX = "use true or false."
_NONE = type(None)

# --- model families and input features (tennis_lab.model builds them)
_OTHERS = ("gru", "tcn", "transformer", "stgcn")
_FAMILY_PARAMETERS: tuple[Parameter, ...] = (
    _p("model_family", "model", "lstm", str,
       '"lstm", "gru", "tcn", "transformer" or "stgcn" (graph over the landmarks)',
       _one_of(MODEL_FAMILIES), "use one of " + ", ".join(MODEL_FAMILIES) + "."),
    _p("features", "model", "positions", str,
       '"positions", "positions+velocity" or "positions+bones", computed inside the model',
       _one_of(FEATURES), "use one of " + ", ".join(FEATURES) + "."),
    _p("dropout", "model", 0.2, float,
       "dropout after each block and before the output (every family but lstm)", _unit_rate,
       "use a rate from 0 up to (not including) 1, e.g. 0.2.", family=_OTHERS),
    _p("gru_layers", "model", [128, 64], list, "units of each GRU layer", _units,
       "give at least one layer of a positive number of units, e.g. [128, 64].",
       family="gru"),
    _p("tcn_filters", "model", 64, int, "filters of each temporal convolution", _whole(1),
       "use a whole number of at least 1, e.g. 64.", family="tcn"),
    _p("tcn_kernel_size", "model", 3, int, "frames each temporal convolution sees",
       _whole(2), "use a whole number of at least 2, e.g. 3.", family="tcn"),
    _p("tcn_dilations", "model", [1, 2, 4, 8], list,
       "one residual block per dilation (frames between the taps)", _units,
       "give positive whole numbers, e.g. [1, 2, 4, 8].", family="tcn"),
    _p("transformer_width", "model", 64, int, "the encoder's model width", _whole(1),
       "use a whole number of at least 1 that transformer_heads divides, e.g. 64.",
       family="transformer"),
    _p("transformer_heads", "model", 4, int, "attention heads of each block", _heads,
       "use a whole number of at least 1 that divides transformer_width, e.g. 4.",
       family="transformer"),
    _p("transformer_blocks", "model", 2, int, "encoder blocks", _whole(1),
       "use a whole number of at least 1, e.g. 2.", family="transformer"),
    _p("stgcn_channels", "model", [32, 32, 64], list,
       "channels of each spatial-temporal graph block", _units,
       "give positive whole numbers, e.g. [32, 32, 64].", family="stgcn"),
    _p("stgcn_kernel_size", "model", 9, int, "frames of each block's temporal convolution",
       _whole(1), "use a whole number of at least 1, e.g. 9.", family="stgcn"),
)  # fmt: skip

PARAMETERS: tuple[Parameter, ...] = (
    # --- data: how recordings become windows
    _p("window_size", "data", 45, int, "frames at reference_fps", _frames),
    _p("overlap", "data", 30, int,
       "frames shared by consecutive windows (stride: window_size - overlap)", _frames),
    _p("enable_fps_scaling", "data", True, bool, "resample every video to reference_fps first"),
    _p("reference_fps", "data", 30.0, float, "the frame rate windows are cut at",
       _positive, "use a positive frame rate, e.g. 30."),
    _p("min_stroke_coverage", "data", 0.5, float,
       "share of a window (or of a shorter stroke) a stroke must cover", _share,
       "use a share in (0, 1], e.g. 0.5."),
    _p("include_idle", "data", True, bool,
       'keep windows without a stroke as class "idle": the model can say "no stroke"'),
    _p("normalization", "data", "body", str,
       '"body": centre on the hips, scale by the torso; "none"', _one_of(NORMALIZATIONS),
       "use 'body' or 'none'."),
    _p("missing_frames", "data", "interpolate", str, 'or "zero"',
       _one_of(MISSING_FRAME_METHODS), "use 'interpolate' or 'zero'."),
    _p("mirror_left_handed", "data", True, bool,
       "mirror left-handed players (videos.csv) into a right-handed frame", _true_or_false),
    # --- evaluation: the split or folds
    _p("split_by", "evaluation", "auto", str,
       '"player", "session", "video"; auto: player when videos.csv names players', _split_by),
    _p("cv_folds", "evaluation", 1, (int, str),
       '1: one train/validation/test split; k > 1: grouped k-fold; "loo": leave one group out',
       _cv_folds, "lower cv_folds, use 'loo', or add recordings of more groups."),
    _p("test_groups", "evaluation", [], list,
       'groups (e.g. players) pinned to the test split, e.g. ["bruno"]', _test_groups),
    _p("val_fraction", "evaluation", 0.15, float, "share of the groups for validation",
       _fraction),
    _p("test_fraction", "evaluation", 0.15, float, "share of the groups for testing",
       _fraction),
    # --- model: what build_model builds and compiles
    _p("lstm_layers", "model", [128, 64], list, "units of each LSTM layer", _lstm_layers,
       "give at least one layer of a positive number of units; in a grid each value is "
       "itself a list, e.g. lstm_layers: [[64], [128, 64]].", family="lstm"),
    _p("dense_units", "model", 64, int, "units of the dense layer", _dense_units,
       "use a whole number of at least 1, e.g. 64."),
    _p("dropout_rates", "model", [0.3, 0.3, 0.2], list,
       "one per LSTM layer, then the dense layer", _dropout_rates,
       "use rates from 0 up to (not including) 1, one per LSTM layer plus one for the dense "
       "layer, e.g. [0.3, 0.3, 0.2].", family="lstm"),
    _p("use_batch_norm", "model", False, bool, "batch normalisation after each layer",
       _switch("true or false"), _SWITCH_FIX),
    _p("use_bidirectional", "model", False, bool, "bidirectional LSTM layers",
       _switch("true or false"), _SWITCH_FIX, family=("lstm", "gru")),
    _p("learning_rate", "model", 0.001, float, "Adam's learning rate", _learning_rate,
       "use a positive learning rate, e.g. 0.001 (in a random search: a log range such as "
       "[0.0001, 0.01, log])."),
    *_FAMILY_PARAMETERS,
    # --- training: how the model is fitted
    _p("batch_size", "training", 32, int, "windows per step", _whole(1),
       "use a whole number of at least 1, e.g. 32."),
    _p("epochs", "training", 150, int, "the most; early stopping usually ends sooner",
       _whole(1), "use a whole number of at least 1, or leave epochs to the notebook's default."),
    _p("early_stopping_patience", "training", 15, int,
       "epochs without a better validation loss before training stops", _whole(1),
       "use a whole number of at least 1, e.g. 15."),
    _p("class_weight", "training", "balanced", (str, _NONE), "or None", _class_weight,
       "use 'balanced' or null."),
    _p("augment_mirror", "training", False, bool,
       "also train on mirrored copies of the training windows", _switch("True or False"),
       _SWITCH_FIX),
    # --- training: augmentation (any of these > 0 adds one augmented copy of each
    # training window, made once before fitting from the seed; see training/augment.py)
    _p("augment_scale", "training", 0.0, float,
       "augmented copy: size x (1 +- up to this) about the centre, e.g. 0.1; 0: off",
       _augment(0.5), "use a number from 0 (off) to 0.5, e.g. 0.1."),
    _p("augment_rotate", "training", 0.0, float,
       "augmented copy: turned up to this many degrees in the image plane; 0: off",
       _augment(45), "use degrees from 0 (off) to 45, e.g. 10."),
    _p("augment_time_stretch", "training", 0.0, float,
       "augmented copy: speed x (1 +- up to this), resampled to the window; 0: off",
       _augment(0.5), "use a number from 0 (off) to 0.5, e.g. 0.2."),
    _p("augment_jitter", "training", 0.0, float,
       "augmented copy: std of Gaussian noise on positions (window units); 0: off",
       _augment(0.5), "use a number from 0 (off) to 0.5, e.g. 0.02."),
    _p("augment_drop", "training", 0.0, float,
       "augmented copy: share of landmarks lost, filled as missing_frames; 0: off",
       _augment(0.5), "use a share from 0 (off) to 0.5, e.g. 0.1."),
    _p("initial_epoch", "training", 0, int,
       "epochs already trained; > 0: continue from checkpoint_path up to epochs",
       _initial_epoch, owner=_RUNNER),
    _p("checkpoint_path", "training", "", str,
       ".keras file the trained model is saved to (initial_epoch > 0: read first)",
       _checkpoint_path, owner=_RUNNER),
    # --- runtime: data and caches, seeds, threads, backend, console
    _p("data_dir", "runtime", "", str,
       "dataset folder; empty: the built-in demo dataset (made on first use)", owner=_RUNNER),
    _p("cache_windows", "runtime", True, bool,
       "reuse windows prepared by an earlier run with the same data settings"),
    _p("cache_dir", "runtime", "", str,
       "where cached windows go; empty: $TENNIS_LAB_CACHE, else <project>/.cache",
       owner=_RUNNER),
    _p("split_seed", "runtime", None, (int, _NONE),
       "seed of the split (and folds); None: the same as seed"),
    _p("seed", "runtime", 42, int, "seed of the model's weights and the training order"),
    _p("log_every", "runtime", 5, int,
       "one console line per N epochs (and the last); 0: Keras' own, two per epoch",
       owner=_RUNNER),
    _p("cpu_threads", "runtime", 0, int,
       "CPU cores the run may use; 0: all (the search sets a share per worker)"),
    _p("keras_backend", "runtime", "", str,
       '"jax" or "tensorflow"; empty: $KERAS_BACKEND, else jax', owner=_RUNNER),
    # --- tracking: the MLflow run and the result file (the search runner fills these in)
    _p("tracking_uri", "tracking", "", str,
       "empty: $MLFLOW_TRACKING_URI, else sqlite:///<project>/mlflow.db", owner=_RUNNER),
    _p("experiment", "tracking", "tennis_stroke_recognition", str, "the MLflow experiment",
       owner=_RUNNER),
    _p("parent_run_id", "tracking", "", str,
       "MLflow run id of the search this run belongs to", owner=_RUNNER),
    _p("search_id", "tracking", "", str, "the search this run belongs to", owner=_RUNNER),
    _p("config_id", "tracking", "", str, "the configuration's id in its search", owner=_RUNNER),
    _p("run_name", "tracking", "", str, "the MLflow run's name", owner=_RUNNER),
    _p("log_to_mlflow", "tracking", True, bool, "record the run in MLflow", owner=_RUNNER),
    _p("result_path", "tracking", "", str,
       "where to write this run's metrics as JSON (for the search runner)", owner=_RUNNER),
)  # fmt: skip

BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
# Parameter name -> the model families it acts on (only parameters of some families).
FAMILY_OF: dict[str, tuple[str, ...]] = {p.name: p.family for p in PARAMETERS if p.family}


def names(group: str | None = None, owner: str | None = None) -> tuple[str, ...]:
    """The parameters' names, in declaration order, of one group and/or owner."""
    return tuple(
        p.name
        for p in PARAMETERS
        if (group is None or p.group == group) and (owner is None or p.owner == owner)
    )


def defaults(group: str | None = None, owner: str | None = None) -> dict[str, Any]:
    """Name -> default (a fresh copy of a list) of one group and/or owner."""
    return {name: _copy(BY_NAME[name].default) for name in names(group, owner)}


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def unknown_error(name: str, value: Any = None) -> ParameterError:
    """The error for a name that is no run parameter."""
    return ParameterError(
        f"{name!r} is not a parameter of the training notebook; its parameters are "
        f"{list(names())}.",
        key=name,
        value=value,
        fix="correct the name (see docs/grids.md), or remove it.",
    )


def check(values: Mapping[str, Any]) -> None:
    """Check ``values`` (any run parameters) in declaration order; unknown names are refused.

    Raises
    ------
    ParameterError
        The first parameter whose value fails its check (or that is unknown), with
        ``key``, ``value`` and ``fix`` set.
    """
    for name, value in values.items():
        if name not in BY_NAME:
            raise unknown_error(name, value)
    for param in PARAMETERS:
        if param.check is None or param.name not in values:
            continue
        value = values[param.name]
        problem = param.check(param.name, value, values)
        if problem is not None:
            raise ParameterError(problem, key=param.name, value=value, fix=param.fix)


@contextmanager
def reported_as(error_type: type[TennisLabError]) -> Iterator[None]:
    """Raise a :class:`ParameterError` of the block as ``error_type``, same fields."""
    try:
        yield
    except ParameterError as exc:
        raise error_type(exc.problem, key=exc.key, value=exc.value, fix=exc.fix) from None


@dataclass(frozen=True)
class Groups:
    """A run's parameter values, one mapping per group (:data:`GROUPS`)."""

    data: dict[str, Any]
    evaluation: dict[str, Any]
    model: dict[str, Any]
    training: dict[str, Any]
    runtime: dict[str, Any]
    tracking: dict[str, Any]

    def check(self) -> Groups:
        """Check every group (:func:`check`); return self."""
        check(self.flat())
        return self

    def flat(self) -> dict[str, Any]:
        """Every value in one mapping."""
        return {k: v for group in GROUPS for k, v in getattr(self, group).items()}


def split(values: Mapping[str, Any], fill: bool = False) -> Groups:
    """Sort a flat mapping of parameter values into the groups.

    Parameters
    ----------
    values : mapping
        Parameter name -> value; names that are not run parameters are refused.
    fill : bool
        Give every parameter ``values`` leaves out its default.

    Raises
    ------
    ParameterError
        A name that is no run parameter (``key`` is that name).
    """
    for name, value in values.items():
        if name not in BY_NAME:
            raise unknown_error(name, value)
    full = {**defaults(), **values} if fill else dict(values)
    groups: dict[str, dict[str, Any]] = {g: {} for g in GROUPS}
    for param in PARAMETERS:
        if param.name in full:
            groups[param.group][param.name] = full[param.name]
    return Groups(**groups)


def pick(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The run parameters of ``namespace`` (e.g. a notebook's ``globals()``), other names left."""
    return {name: namespace[name] for name in names() if name in namespace}


def cell_values(source: str) -> dict[str, Any]:
    """The literal assignments of a notebook's parameters cell: name -> value."""
    found: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = ast.literal_eval(node.value)
    return found


def differences(values: Mapping[str, Any]) -> list[str]:
    """How a notebook's parameters (name -> default) differ from :data:`PARAMETERS`.

    Returns
    -------
    list of str
        One line per name missing from either side or with another default; empty
        when they agree.
    """
    out = [f"{name}: not in the notebook" for name in names() if name not in values]
    out += [f"{name}: not a declared parameter" for name in values if name not in BY_NAME]
    for name, value in values.items():
        if name in BY_NAME:
            default = BY_NAME[name].default
            if value != default or type(value) is not type(default):
                out.append(f"{name}: the notebook says {value!r}, the contract {default!r}")
    return out
