"""The stroke classifier: ``build_model(params, input_shape, n_classes)`` builds the model
family ``params["model_family"]`` names (default ``lstm``: the LSTM below, unchanged).

A pure function: parameters in, compiled Keras model out; no I/O, no training.

The LSTM, in order::

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

The other families (:mod:`tennis_lab.model.families`) replace the LSTM layers with a
GRU, a temporal convolution network, a transformer encoder or a spatial-temporal graph
convolution (over the skeleton of :mod:`tennis_lab.model.skeleton`), and end in the same
dense head with ``dropout`` instead of ``dropout_rates``. With ``features`` other than
``positions``, a :class:`~tennis_lab.model.layers.FrameFeatures` layer on the raw input
adds velocities or bone vectors before the standardisation, so the model still takes raw
windows. The model is named ``stroke_<family>`` (``stroke_lstm`` by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tennis_lab.model.checks import (
    FEATURES,
    MODEL_DEFAULTS,
    MODEL_FAMILIES,
    MODEL_PARAMS,
    ModelParamError,
    check_model_params,
)
from tennis_lab.model.checks import is_int as _is_int
from tennis_lab.model.skeleton import normalized_adjacency, parents, required_edges

Layout = tuple[Sequence[str], Sequence[str]]  # (landmark_names, channel_names)

__all__ = [
    "FEATURES",
    "MODEL_DEFAULTS",
    "MODEL_FAMILIES",
    "MODEL_PARAMS",
    "ModelParamError",
    "build_lstm",
    "build_model",
    "check_layout",
    "check_model_params",
    "feature_windows",
    "register_layers",
]


def register_layers() -> None:
    """Register the model's own Keras layers (before loading a saved model)."""
    import tennis_lab.model.layers  # noqa: F401  (registers on import)


def _landmarks(features: int, layout: Layout | None) -> tuple[int, int, list[str]]:
    """(landmarks, channels per landmark, names) of ``features`` inputs; without a
    layout, each feature is a landmark of one channel."""
    if layout is None:
        return features, 1, []
    names, channels = list(layout[0]), list(layout[1])
    if len(names) * len(channels) != features:
        raise ModelParamError(
            f"layout has {len(names)} landmarks x {len(channels)} channels = "
            f"{len(names) * len(channels)} features, but the windows have {features}.",
            key="layout",
            fix="pass the WindowSet's (landmark_names, channel_names).",
        )
    return len(names), len(channels), names


def _feature_layer(p: dict[str, Any], features: int, layout: Layout | None):
    """The FrameFeatures layer ``p["features"]`` asks for, or None for positions."""
    if p["features"] == "positions":
        return None
    from tennis_lab.model.layers import FrameFeatures

    n, channels, names = _landmarks(features, layout)
    parent = None
    if p["features"] == "positions+bones":
        parent = parents(n, required_edges(names, "features='positions+bones'"))
    return FrameFeatures(p["features"], n, channels, parent, name="frame_features")


def check_layout(params: Mapping[str, Any], layout: Layout | None) -> None:
    """The skeleton check of :func:`build_model`, without building: ``stgcn`` and
    ``features='positions+bones'`` need landmark names with known edges.

    Raises
    ------
    ModelParamError
        ``key`` ``landmark_names``: the names give no known skeleton edge.
    """
    p = check_model_params(params)
    names = list(layout[0]) if layout is not None else None
    if p["model_family"] == "stgcn":
        required_edges(names, "model_family='stgcn'")
    if p["features"] == "positions+bones":
        required_edges(names, "features='positions+bones'")


def feature_windows(X, params: Mapping[str, Any], layout: Layout | None = None):
    """``X`` (windows, frames, features) as the model's features see it: unchanged for
    ``positions``, else with velocities or bones (for the standardisation's statistics)."""
    import numpy as np

    p = check_model_params(params)
    layer = _feature_layer(p, int(X.shape[-1]), layout)
    if layer is None:
        return X
    from keras import ops

    return np.asarray(ops.convert_to_numpy(layer(ops.convert_to_tensor(X))))


def build_model(
    params: Mapping[str, Any],
    input_shape: tuple[int, int],
    n_classes: int,
    standardizer: tuple[Any, Any] | None = None,
    layout: Layout | None = None,
):
    """Build and compile the classifier of ``params["model_family"]`` (default: the LSTM).

    Parameters
    ----------
    params : mapping
        Architecture parameters (see :func:`check_model_params`).
    input_shape : (window_size, features)
    n_classes : int
        At least 2.
    standardizer : (mean, std), optional
        Per-feature mean and standard deviation of the training windows, as the
        model's features see them (:func:`feature_windows`): the model standardises
        its input with them, so the saved model takes raw windows. Default: mean 0,
        std 1 (for a summary before training).
    layout : (landmark_names, channel_names), optional
        The windows' landmarks and channels (features = landmarks x channels, in that
        order): needed by ``stgcn`` and by ``features='positions+bones'``.

    Returns
    -------
    keras.Model
        Compiled; named ``stroke_<family>`` (``stroke_lstm``).

    Raises
    ------
    ModelParamError
        A bad parameter, shape or standardizer; ``stgcn`` or bones with a layout whose
        names give no known skeleton edge.
    """
    p = check_model_params(params)
    if len(input_shape) != 2 or not all(_is_int(d) and d > 0 for d in input_shape):
        raise ModelParamError(
            f"input_shape must be (window_size, features), positive; got {input_shape!r}."
        )
    if not _is_int(n_classes) or n_classes < 2:
        raise ModelParamError(f"n_classes must be at least 2; got {n_classes!r}.")
    family, features = p["model_family"], int(input_shape[1])
    graph = None
    if family == "stgcn":  # before anything is built: a layout without edges says so here
        n, _, names = _landmarks(features, layout)
        graph = (n, normalized_adjacency(n, required_edges(names, "model_family='stgcn'")))

    import keras
    from keras import layers

    inputs = keras.Input(shape=tuple(int(d) for d in input_shape), name="poses")
    x = inputs
    extra = _feature_layer(p, features, layout)
    if extra is not None:
        x = extra(x)
        features *= 2
    mean, std = _standardizer_arrays(standardizer, features)
    x = layers.Normalization(axis=-1, mean=mean, variance=std**2, name="standardize")(x)
    if family == "lstm":
        x = _lstm_body(x, p)
        rate = p["dropout_rates"][-1]
    else:
        from tennis_lab.model import families

        body = getattr(families, f"{family}_body")
        x = body(x, p, *graph) if graph else body(x, p)
        rate = p["dropout"]
    x = layers.Dense(p["dense_units"], activation="relu", name="dense")(x)
    if p["use_batch_norm"]:
        x = layers.BatchNormalization(name="batch_norm_dense")(x)
    x = layers.Dropout(rate, name="dropout_dense")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="stroke")(x)
    model = keras.Model(inputs, outputs, name=f"stroke_{family}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=p["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


build_lstm = build_model  # the LSTM's own name for it (the default family)


def _standardizer_arrays(standardizer: tuple[Any, Any] | None, features: int):
    import numpy as np

    if standardizer is None:
        return np.zeros(features), np.ones(features)
    mean, std = (np.asarray(a, dtype=np.float64).reshape(-1) for a in standardizer)
    if mean.shape != (features,) or std.shape != (features,) or not (std > 0).all():
        raise ModelParamError(
            f"standardizer must be a mean and a positive std of {features} features each; "
            f"got shapes {mean.shape} and {std.shape}."
        )
    return mean, std


def _lstm_body(x, p: dict[str, Any]):
    """The LSTM layers (today's model, layer for layer)."""
    from keras import layers

    last = len(p["lstm_layers"]) - 1
    for i, units in enumerate(p["lstm_layers"]):
        lstm = layers.LSTM(units, return_sequences=i < last, name=f"lstm_{i + 1}")
        if p["use_bidirectional"]:
            lstm = layers.Bidirectional(lstm, name=f"bidirectional_{i + 1}")
        x = lstm(x)
        if p["use_batch_norm"]:
            x = layers.BatchNormalization(name=f"batch_norm_{i + 1}")(x)
        x = layers.Dropout(p["dropout_rates"][i], name=f"dropout_{i + 1}")(x)
    return x
