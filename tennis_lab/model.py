"""The LSTM stroke classifier: ``build_lstm(params, input_shape, n_classes)``.

A pure function: parameters in, compiled Keras model out; no I/O, no training.

Architecture, in order::

    Input (window_size, features)        raw windows, as tennis_lab.windows prepares them
    Normalization                        (x - mean) / std per feature, the training split's
    for each units in lstm_layers:       LSTM(units)  (all but the last return sequences)
                                         wrapped in Bidirectional when use_bidirectional
                                         BatchNormalization when use_batch_norm
                                         Dropout(dropout_rates[i])
    Dense(dense_units, relu)             BatchNormalization when use_batch_norm
                                         Dropout(dropout_rates[-1])
    Dense(n_classes, softmax)

compiled with Adam(learning_rate), sparse categorical cross-entropy and accuracy.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from tennis_lab import params as contract
from tennis_lab.errors import TennisLabError

# What build_lstm takes: the contract's model group (architecture and learning rate).
MODEL_DEFAULTS: dict[str, Any] = contract.defaults("model")
MODEL_PARAMS = contract.names("model")


class ModelParamError(TennisLabError, ValueError):
    """An architecture parameter that cannot build a model; ``key`` names it."""


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_model_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate architecture parameters and fill in defaults.

    Parameters
    ----------
    values : mapping
        Any of :data:`MODEL_PARAMS`; a missing one takes its value from
        :data:`MODEL_DEFAULTS`.

    Returns
    -------
    dict
        Every model parameter, validated.

    Raises
    ------
    ModelParamError
        Naming the parameter (``key``), its value and the fix: unknown name, empty or
        non-positive layers, dropout rates whose count does not match the layers or
        outside [0, 1), learning rate <= 0, non-boolean switches.
    """
    unknown = sorted(set(values) - set(MODEL_PARAMS))
    if unknown:
        raise ModelParamError(
            f"unknown model parameter(s) {unknown}; build_lstm takes {list(MODEL_PARAMS)}.",
            key=unknown[0],
            value=values[unknown[0]],
        )
    p = {**MODEL_DEFAULTS, **values}
    with contract.reported_as(ModelParamError):
        contract.check(p)
    p["lstm_layers"] = [int(u) for u in p["lstm_layers"]]
    p["dropout_rates"] = [float(r) for r in p["dropout_rates"]]
    p["dense_units"] = int(p["dense_units"])
    p["learning_rate"] = float(p["learning_rate"])
    return p


def build_lstm(
    params: Mapping[str, Any],
    input_shape: tuple[int, int],
    n_classes: int,
    standardizer: tuple[Any, Any] | None = None,
):
    """Build and compile the LSTM classifier.

    Parameters
    ----------
    params : mapping
        Architecture parameters (see :func:`check_model_params`).
    input_shape : (window_size, features)
    n_classes : int
        At least 2.
    standardizer : (mean, std), optional
        Per-feature mean and standard deviation of the training windows: the
        model's first layer standardises its input with them, so the saved model
        takes raw windows. Default: mean 0, std 1 (for a summary before training).

    Returns
    -------
    keras.Model
        Compiled; named ``stroke_lstm``.
    """
    p = check_model_params(params)
    if len(input_shape) != 2 or not all(_is_int(d) and d > 0 for d in input_shape):
        raise ModelParamError(
            f"input_shape must be (window_size, features), positive; got {input_shape!r}."
        )
    if not _is_int(n_classes) or n_classes < 2:
        raise ModelParamError(f"n_classes must be at least 2; got {n_classes!r}.")

    import keras
    import numpy as np
    from keras import layers

    features = int(input_shape[1])
    if standardizer is None:
        mean, std = np.zeros(features), np.ones(features)
    else:
        mean, std = (np.asarray(a, dtype=np.float64).reshape(-1) for a in standardizer)
        if mean.shape != (features,) or std.shape != (features,) or not (std > 0).all():
            raise ModelParamError(
                f"standardizer must be a mean and a positive std of {features} features each; "
                f"got shapes {mean.shape} and {std.shape}."
            )
    inputs = keras.Input(shape=tuple(int(d) for d in input_shape), name="poses")
    x = layers.Normalization(axis=-1, mean=mean, variance=std**2, name="standardize")(inputs)
    last = len(p["lstm_layers"]) - 1
    for i, units in enumerate(p["lstm_layers"]):
        lstm = layers.LSTM(units, return_sequences=i < last, name=f"lstm_{i + 1}")
        if p["use_bidirectional"]:
            lstm = layers.Bidirectional(lstm, name=f"bidirectional_{i + 1}")
        x = lstm(x)
        if p["use_batch_norm"]:
            x = layers.BatchNormalization(name=f"batch_norm_{i + 1}")(x)
        x = layers.Dropout(p["dropout_rates"][i], name=f"dropout_{i + 1}")(x)
    x = layers.Dense(p["dense_units"], activation="relu", name="dense")(x)
    if p["use_batch_norm"]:
        x = layers.BatchNormalization(name="batch_norm_dense")(x)
    x = layers.Dropout(p["dropout_rates"][-1], name="dropout_dense")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="stroke")(x)
    model = keras.Model(inputs, outputs, name="stroke_lstm")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=p["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
