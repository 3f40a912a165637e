"""Tests of tennis_lab.model: layer structure for each option, and every bad parameter."""

from __future__ import annotations

import pytest

from tennis_lab.model import MODEL_DEFAULTS, ModelParamError, build_lstm, check_model_params

keras = pytest.importorskip("keras")


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("units", [[64, 32], [64, 32, 16], [32, 32, 16, 8]])
def test_one_lstm_per_entry_all_but_last_return_sequences(units):
    params = {"lstm_layers": units, "dropout_rates": [0.2] * (len(units) + 1)}
    model = build_lstm(params, (45, 132), 4)
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.units for layer in lstms] == units
    assert [layer.return_sequences for layer in lstms] == [True] * (len(units) - 1) + [False]
    assert model.output_shape == (None, 4)
    assert model.input_shape == (None, 45, 132)
    dropouts = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == pytest.approx([0.2] * (len(units) + 1))


def test_plain_model_layer_order_and_compile_settings():
    model = build_lstm(
        {"lstm_layers": [16, 8], "dense_units": 12, "dropout_rates": [0.1, 0.2, 0.3]}, (10, 4), 3
    )
    assert layer_types(model) == [
        "InputLayer", "Normalization", "LSTM", "Dropout", "LSTM", "Dropout", "Dense", "Dropout",
        "Dense",
    ]  # fmt: skip
    dense, out = model.get_layer("dense"), model.get_layer("stroke")
    assert dense.units == 12 and dense.activation.__name__ == "relu"
    assert out.units == 3 and out.activation.__name__ == "softmax"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(MODEL_DEFAULTS["learning_rate"])
    assert model.loss == "sparse_categorical_crossentropy"


def test_the_first_layer_standardises_raw_windows_with_the_given_mean_and_std():
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(6, 10, 4)).astype("float32")
    mean, std = X.reshape(-1, 4).mean(axis=0), X.reshape(-1, 4).std(axis=0)
    model = build_lstm(
        {"lstm_layers": [8], "dropout_rates": [0.1, 0.1]}, (10, 4), 3, standardizer=(mean, std)
    )
    standardize = keras.Model(model.input, model.get_layer("standardize").output)
    np.testing.assert_allclose(standardize.predict(X, verbose=0), (X - mean) / std, atol=1e-4)
    plain = build_lstm(
        {"lstm_layers": [8], "dropout_rates": [0.1, 0.1]}, (10, 4), 3
    )  # no standardizer: the identity
    identity = keras.Model(plain.input, plain.get_layer("standardize").output)
    np.testing.assert_allclose(identity.predict(X, verbose=0), X, atol=1e-5)
    with pytest.raises(ModelParamError, match="standardizer must be a mean and a positive std"):
        build_lstm(
            {"lstm_layers": [8], "dropout_rates": [0.1, 0.1]},
            (10, 4),
            3,
            standardizer=(mean[:3], std[:3]),
        )


def test_bidirectional_wraps_every_lstm():
    model = build_lstm(
        {"lstm_layers": [16, 8], "use_bidirectional": True, "learning_rate": 0.005}, (10, 4), 3
    )
    wrapped = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert [w.forward_layer.units for w in wrapped] == [16, 8]
    assert not any(isinstance(layer, keras.layers.LSTM) for layer in model.layers)
    assert model.get_layer("bidirectional_2").output.shape == (None, 16)  # both directions
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)


def test_batch_norm_after_each_lstm_and_after_the_dense_layer():
    model = build_lstm(
        {"lstm_layers": [16, 8, 4], "dropout_rates": [0.1] * 4, "use_batch_norm": True}, (10, 4), 2
    )
    types = layer_types(model)
    assert types.count("BatchNormalization") == 4
    for i, name in enumerate(types):
        if name in ("LSTM",) or model.layers[i].name == "dense":
            assert types[i + 1] == "BatchNormalization"


def test_defaults_are_the_documented_architecture():
    model = build_lstm({}, (45, 132), 4)
    lstms = [layer.units for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert lstms == MODEL_DEFAULTS["lstm_layers"] == [128, 64]
    assert model.get_layer("dense").units == MODEL_DEFAULTS["dense_units"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"lstm_layers": [128, 64], "dropout_rates": [0.3, 0.2]},
            r"dropout_rates has 2 rates .* lstm_layers has 2 layers .* \(3 rates\)",
        ),
        (
            {"lstm_layers": [64], "dropout_rates": [0.3, 0.3, 0.2]},
            r"dropout_rates has 3 rates .* lstm_layers has 1 layers",
        ),
        ({"lstm_layers": []}, r"lstm_layers must be a non-empty list .* got \[\]"),
        ({"lstm_layers": [64, 0]}, r"lstm_layers .* positive .* got \[64, 0\]"),
        ({"lstm_layers": "128,64"}, r"lstm_layers .* got '128,64'"),
        ({"dense_units": 0}, r"dense_units must be a positive whole number; got 0"),
        ({"dense_units": 32.5}, r"dense_units .* got 32.5"),
        ({"dropout_rates": [0.3, 1.0, 0.2]}, r"dropout_rates must each be in \[0, 1\); got 1.0"),
        ({"dropout_rates": [0.3, -0.1, 0.2]}, r"got -0.1"),
        ({"learning_rate": 0}, r"learning_rate must be a positive number; got 0"),
        ({"learning_rate": -1e-3}, r"learning_rate .* got -0.001"),
        ({"use_batch_norm": "yes"}, r"use_batch_norm must be true or false; got 'yes'"),
        ({"lstm_units": [64]}, r"unknown model parameter\(s\) \['lstm_units'\]"),
    ],
)
def test_bad_parameters_name_the_parameter_and_value(params, message):
    with pytest.raises(ModelParamError, match=message):
        check_model_params(params)
    with pytest.raises(ModelParamError, match=message):
        build_lstm(params, (10, 4), 3)


def test_bad_shapes_and_class_counts():
    with pytest.raises(ModelParamError, match="n_classes must be at least 2; got 1"):
        build_lstm({}, (10, 4), 1)
    with pytest.raises(ModelParamError, match=r"input_shape must be \(window_size, features\)"):
        build_lstm({}, (10,), 3)
