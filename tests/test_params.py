"""Tests of tennis_lab.params: the one declaration of every run parameter."""

from __future__ import annotations

import ast

import nbformat
import pytest

from tennis_lab import params
from tennis_lab.errors import TennisLabError
from tennis_lab.params import ParameterError
from tennis_lab.paths import notebooks_dir

NOTEBOOK = notebooks_dir() / "train.ipynb"


def parameters_cell() -> str:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    return cell.source


# --------------------------------------------------------------------------- the notebook


def test_the_notebooks_parameters_cell_is_the_contracts_defaults():
    source = parameters_cell()
    cell = {}
    for node in ast.parse(source).body:  # read here with ast, independently of params
        assert isinstance(node, ast.Assign), ast.dump(node)
        cell[node.targets[0].id] = ast.literal_eval(node.value)
    assert set(cell) == set(params.names())
    for name, value in cell.items():
        default = params.BY_NAME[name].default
        assert value == default and type(value) is type(default), name
    assert params.cell_values(source) == cell
    assert params.differences(cell) == []


def test_differences_name_every_drift():
    cell = params.defaults()
    cell["window_size"] = 60
    cell["reference_fps"] = 30  # an int where the contract says 30.0
    del cell["seed"]
    cell["momentum"] = 0.9
    found = params.differences(cell)
    assert "seed: not in the notebook" in found
    assert "momentum: not a declared parameter" in found
    assert "window_size: the notebook says 60, the contract 45" in found
    assert any(line.startswith("reference_fps:") for line in found)
    assert len(found) == 4


def test_the_notebooks_help_is_the_contracts():
    """Each comment of the parameters cell is the parameter's help (where it has one)."""
    for line in parameters_cell().splitlines():
        if "=" in line and "  # " in line and not line.startswith("#"):
            name = line.split("=", 1)[0].strip()
            assert line.split("  # ", 1)[1] == params.BY_NAME[name].help, name


# --------------------------------------------------------------------------- declarations


def test_every_parameter_has_a_group_owner_default_type_and_help():
    assert len(params.PARAMETERS) == len(params.BY_NAME)  # every name declared once
    for p in params.PARAMETERS:
        assert p.group in params.GROUPS, p.name
        assert p.owner in params.OWNERS, p.name
        assert p.help.strip(), p.name
        assert isinstance(p.default, p.type), p.name
        if p.check is not None:  # the default passes its own check
            assert p.check(p.name, p.default, params.defaults()) is None, p.name
    assert params.check(params.defaults()) is None
    assert {p.group for p in params.PARAMETERS} == set(params.GROUPS)


def test_the_runner_owns_where_a_run_reads_writes_and_is_tracked():
    assert set(params.names(owner="runner")) == {
        "data_dir", "tracking_uri", "experiment", "parent_run_id", "search_id", "config_id",
        "run_name", "log_to_mlflow", "result_path", "initial_epoch", "checkpoint_path",
        "cache_dir", "log_every", "keras_backend",
    }  # fmt: skip
    assert set(params.names()) == set(params.names(owner="user")) | set(
        params.names(owner="runner")
    )


def test_learning_rate_and_epochs_are_declared_once_and_used_from_there():
    from tennis_lab.model import MODEL_DEFAULTS, MODEL_PARAMS
    from tennis_lab.training import TRAINING_DEFAULTS
    from tennis_lab.windows import DATA_PARAMS

    assert MODEL_PARAMS == params.names("model")
    assert MODEL_DEFAULTS["learning_rate"] == params.BY_NAME["learning_rate"].default
    assert TRAINING_DEFAULTS["epochs"] == params.BY_NAME["epochs"].default
    assert "learning_rate" not in TRAINING_DEFAULTS and "epochs" not in MODEL_DEFAULTS
    assert DATA_PARAMS == params.names("data")


def test_defaults_are_fresh_copies():
    first = params.defaults("model")
    first["lstm_layers"].append(1)
    assert params.defaults("model")["lstm_layers"] == [128, 64]
    assert params.BY_NAME["lstm_layers"].default == [128, 64]


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("group", "key", "value", "message", "fix"),
    [
        ("data", "window_size", 1, "window_size must be at least 2 frames; got 1.", None),
        ("data", "overlap", 50, "overlap (50) must be smaller than window_size (45)", None),
        ("data", "normalization", "hips", "normalization='hips' is not one of ['none', 'body']",
         "use 'body' or 'none'."),
        ("data", "min_stroke_coverage", 0, "min_stroke_coverage must be in (0, 1]; got 0.",
         "use a share in (0, 1], e.g. 0.5."),
        ("evaluation", "split_by", "team", "split_by='team' is not one of", None),
        ("evaluation", "cv_folds", 0, "cv_folds must be a whole number >= 1",
         "lower cv_folds, use 'loo', or add recordings of more groups."),
        ("evaluation", "test_fraction", 0.9, "val_fraction + test_fraction must be below 1", None),
        ("model", "learning_rate", -0.1, "learning_rate must be a positive number; got -0.1.",
         "use a positive learning rate, e.g. 0.001 (in a random search: a log range such as "
         "[0.0001, 0.01, log])."),
        ("model", "dropout_rates", [0.1], "dropout_rates has 1 rates [0.1] but lstm_layers has 2",
         "use rates from 0 up to (not including) 1, one per LSTM layer plus one for the dense "
         "layer, e.g. [0.3, 0.3, 0.2]."),
        ("training", "batch_size", 0, "batch_size must be a whole number >= 1; got 0.",
         "use a whole number of at least 1, e.g. 32."),
        ("training", "class_weight", "auto", "class_weight must be 'balanced' or None",
         "use 'balanced' or null."),
        ("training", "checkpoint_path", "model.h5", "checkpoint_path must end in '.keras'", None),
    ],
)  # fmt: skip
def test_each_group_rejects_a_bad_value_naming_key_value_and_fix(group, key, value, message, fix):
    values = {**params.defaults(group), key: value}
    with pytest.raises(ParameterError) as info:
        params.check(values)
    error = info.value
    assert (error.key, error.value, error.fix) == (key, value, fix)
    assert message in error.problem
    assert isinstance(error, TennisLabError) and isinstance(error, ValueError)
    if fix:
        assert str(error).endswith(f" Fix: {fix}")
    # the group's own values, split from a flat mapping, fail the same way
    groups = params.split({**params.defaults(), key: value})
    assert getattr(groups, group)[key] == value
    with pytest.raises(ParameterError, match=key):
        groups.check()


def test_a_check_across_two_parameters_sees_both():
    params.check({"window_size": 45, "overlap": 44})
    with pytest.raises(ParameterError) as info:
        params.check({"test_groups": ["bruno"], "cv_folds": 3})
    assert info.value.key == "test_groups"
    params.check({"test_groups": ["bruno"], "cv_folds": 1})
    with pytest.raises(ParameterError, match="initial_epoch=5 must be less than epochs=5"):
        params.check({"initial_epoch": 5, "epochs": 5})


def test_the_modules_report_a_bad_value_as_their_own_error_with_the_key():
    from tennis_lab.evaluation import EvaluationError, check_evaluation_params
    from tennis_lab.model import ModelParamError, check_model_params
    from tennis_lab.training import TrainingError, check_training_params
    from tennis_lab.windows import WindowingError, check_window_params

    cases = [
        (WindowingError, lambda: check_window_params(45, -1), "overlap"),
        (ModelParamError, lambda: check_model_params({"dense_units": 0}), "dense_units"),
        (ModelParamError, lambda: check_model_params({"units": 3}), "units"),
        (EvaluationError, lambda: check_evaluation_params("auto", "all"), "cv_folds"),
        (TrainingError, lambda: check_training_params({"epochs": 0}), "epochs"),
    ]
    for error_type, call, key in cases:
        with pytest.raises(error_type) as info:
            call()
        assert info.value.key == key


# --------------------------------------------------------------------------- groups


def test_a_flat_mapping_splits_into_the_groups():
    flat = params.defaults()
    groups = params.split(flat)
    assert groups.data == {name: flat[name] for name in params.names("data")}
    assert set(groups.model) == {
        "lstm_layers", "dense_units", "dropout_rates", "use_batch_norm", "use_bidirectional",
        "learning_rate", "model_family", "features", "dropout", "gru_layers", "tcn_filters",
        "tcn_kernel_size", "tcn_dilations", "transformer_width", "transformer_heads",
        "transformer_blocks", "stgcn_channels", "stgcn_kernel_size",
    }  # fmt: skip
    assert set(groups.training) >= {"batch_size", "epochs", "initial_epoch", "checkpoint_path"}
    assert set(groups.evaluation) == {
        "split_by", "test_groups", "cv_folds", "val_fraction", "test_fraction",
    }  # fmt: skip
    assert "seed" in groups.runtime and "tracking_uri" in groups.tracking
    assert groups.flat() == flat
    partial = params.split({"window_size": 30, "seed": 1})
    assert partial.data == {"window_size": 30} and partial.runtime == {"seed": 1}
    assert params.split({"window_size": 30}, fill=True).data["overlap"] == 30


def test_an_unknown_name_is_an_error_naming_it():
    for call in (params.split, params.check):
        with pytest.raises(ParameterError, match=r"'momentum' is not a parameter") as info:
            call({"window_size": 30, "momentum": 0.9})
        assert info.value.key == "momentum" and info.value.value == 0.9
    # a namespace (a notebook's globals) keeps only the run parameters
    assert params.pick({"window_size": 30, "np": object()}) == {"window_size": 30}


def test_check_run_params_builds_the_notebooks_groups():
    from tennis_lab.training import check_run_params
    from tennis_lab.windows import WindowingError

    run = check_run_params({**params.defaults(), "learning_rate": 1, "In": [], "test_groups": ()})
    assert run.model["learning_rate"] == 1.0 and type(run.model["learning_rate"]) is float
    assert run.evaluation["test_groups"] == [] and run.folds == 1
    assert run.training["reduce_lr_factor"] == 0.5  # the fixed schedule, filled in
    assert set(run.data) == set(params.names("data"))
    with pytest.raises(WindowingError) as info:
        check_run_params({"window_size": 10, "overlap": 10})
    assert info.value.key == "overlap" and info.value.value == 10
