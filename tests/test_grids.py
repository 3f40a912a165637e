"""Tests for tennis_lab.grids: predefined grids, validation, expansion, ids, random search."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tennis_lab import grids, params
from tennis_lab.grids import Expansion, Grid, GridError, Range

ROOT = Path(__file__).resolve().parents[1]
TRAIN_NOTEBOOK = ROOT / "notebooks" / "train.ipynb"

# The guide's table ("View All Available Grids"), in the guide's order.
GUIDE_COUNTS = {
    "minimal": 4,
    "small": 24,
    "medium": 108,
    "large": 432,
    "architecture": 96,
    "hyperparameter": 150,
    "data": 66,
    "families": 20,
}

# A stand-in for the notebook's parameters (the contract's defaults of some of them), for
# tests that need no notebook.
DEFAULTS = {
    name: params.BY_NAME[name].default
    for name in (
        "lstm_layers", "dropout_rates", "dense_units", "use_batch_norm", "use_bidirectional",
        "learning_rate", "batch_size", "window_size", "overlap", "enable_fps_scaling",
        "reference_fps", "class_weight",
    )
}  # fmt: skip


@pytest.fixture(scope="module")
def notebook_defaults() -> dict:
    """The real tunable parameters of notebooks/train.ipynb (papermill inspection, once)."""
    from tennis_lab.search import tunable_defaults

    found = tunable_defaults(TRAIN_NOTEBOOK)
    assert found == params.defaults(owner="user")  # what a grid may set: the user's own
    return found


def write_grid(tmp_path: Path, body: object, name: str = "mine") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def load_body(tmp_path: Path, grid: object, **extra: object) -> Grid:
    return grids.load_grid(write_grid(tmp_path, {"grid": grid, **extra}))


def write_ranges(tmp_path: Path, ranges: dict, name: str = "ranges") -> Path:
    return write_grid(tmp_path, {"ranges": ranges}, name=name)


# --------------------------------------------------------------------------- predefined grids


def test_available_grids_in_guide_order_without_random():
    assert grids.available_grids() == list(GUIDE_COUNTS)
    assert "random" not in grids.available_grids()


@pytest.mark.parametrize("name", list(GUIDE_COUNTS))
def test_predefined_grid_count_matches_guide_and_validates(name, notebook_defaults):
    grid = grids.load_grid(name)
    grids.validate_grid(grid, notebook_defaults)  # names exist, types fit, dropout lengths fit
    expansion = grids.expand(grid, notebook_defaults)
    assert len(expansion) == GUIDE_COUNTS[name]
    assert len(expansion.combinations) == GUIDE_COUNTS[name]
    ids = [grids.config_id(c) for c in expansion.combinations]
    assert len(set(ids)) == len(ids)
    for combo in expansion.combinations:
        merged = {**notebook_defaults, **combo}
        assert merged["overlap"] < merged["window_size"]
        assert len(merged["dropout_rates"]) == len(merged["lstm_layers"]) + 1


def test_grid_counts_matches_guide():
    assert grids.grid_counts() == GUIDE_COUNTS


def test_minimal_varies_only_lstm_layers_and_learning_rate():
    grid = grids.load_grid("minimal")
    assert grid.fixed == {}
    assert grid.values() == {
        "learning_rate": [0.0005, 0.001],
        "lstm_layers": [[64, 32], [128, 64]],
    }
    combos = grids.expand(grid).combinations
    assert {(tuple(c["lstm_layers"]), c["learning_rate"]) for c in combos} == {
        ((64, 32), 0.001),
        ((64, 32), 0.0005),
        ((128, 64), 0.001),
        ((128, 64), 0.0005),
    }


def test_small_varies_key_parameters_with_batch_size_fixed():
    grid = grids.load_grid("small")
    values = grid.values()
    for name in ("lstm_layers", "dense_units", "dropout_rates", "learning_rate"):
        assert len(values[name]) == 2, name
    assert values["dense_units"] == [32, 64]
    assert values["learning_rate"] == [0.0005, 0.001]
    assert sorted(values["lstm_layers"]) == [[64, 32], [128, 64]]
    assert grid.fixed["batch_size"] == 32
    assert {"window_size", "overlap"} <= set(grid.fixed)
    assert all("batch_size" not in sub for sub in grid.subgrids)
    assert {c["batch_size"] for c in grids.expand(grid).combinations} == {32}


def test_data_grid_windows_overlaps_and_dropped_pairs():
    grid = grids.load_grid("data")
    main = grid.subgrids[0]
    assert len(main["window_size"]) == 11
    assert len(main["overlap"]) == 6
    assert grid.values()["overlap"] == [5, 10, 15, 20, 25, 30]
    assert grid.values()["enable_fps_scaling"] == [False, True]
    expected_dropped = sum(1 for w in main["window_size"] for o in main["overlap"] if o >= w)
    assert expected_dropped == 10
    expansion = grids.expand(grid, DEFAULTS)
    assert expansion.dropped_overlap == 10
    assert len(expansion) == 66
    assert all(c["overlap"] < c["window_size"] for c in expansion.combinations)
    # architecture and training fixed
    assert {"lstm_layers", "dense_units", "learning_rate", "batch_size"} <= set(grid.fixed)


def test_architecture_fixes_training_and_windowing():
    grid = grids.load_grid("architecture")
    fixed = ("learning_rate", "batch_size", "window_size", "overlap")
    assert set(fixed) <= set(grid.fixed)
    assert all(not set(fixed) & set(sub) for sub in grid.subgrids)
    for name in ("lstm_layers", "dense_units", "use_batch_norm", "use_bidirectional"):
        assert len(grid.values()[name]) > 1, name
    for name in fixed:
        assert len({c[name] for c in grids.expand(grid).combinations}) == 1, name


def test_python_m_grids_lists_every_grid_in_guide_format():
    result = subprocess.run(
        [sys.executable, "-m", "tennis_lab.grids"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "Available grid configurations:"
    listed = [line for line in lines if line.endswith("combinations")]
    assert listed == [f"  {name:<15} - {n:4d} combinations" for name, n in GUIDE_COUNTS.items()]
    assert "  minimal         -    4 combinations" in lines
    assert "  hyperparameter  -  150 combinations" in lines


# --------------------------------------------------------------------------- expansion and ids


def test_expansion_order_is_deterministic():
    for name in GUIDE_COUNTS:
        first = grids.expand(grids.load_grid(name)).combinations
        second = grids.expand(grids.load_grid(name)).combinations
        assert [grids.canonical(c) for c in first] == [grids.canonical(c) for c in second]


def test_expansion_order_sorted_keys_values_as_given(tmp_path):
    grid = load_body(tmp_path, {"learning_rate": [0.01, 0.001], "dense_units": [64, 32]})
    combos = grids.expand(grid).combinations
    # keys sorted: dense_units is the outer loop, values in the order given
    assert combos == [
        {"dense_units": 64, "learning_rate": 0.01},
        {"dense_units": 64, "learning_rate": 0.001},
        {"dense_units": 32, "learning_rate": 0.01},
        {"dense_units": 32, "learning_rate": 0.001},
    ]


def test_fixed_values_are_added_to_every_combination(tmp_path):
    grid = load_body(tmp_path, {"dense_units": [32, 64]}, fixed={"batch_size": 16})
    combos = grids.expand(grid).combinations
    assert combos == [{"batch_size": 16, "dense_units": 32}, {"batch_size": 16, "dense_units": 64}]


def test_config_id_is_stable_and_canonical():
    params = {"lstm_layers": [128, 64], "learning_rate": 0.001, "batch_size": 32}
    cid = grids.config_id(params)
    assert cid == "b17a6b831222"  # a hash of canonical JSON: must not change between releases
    assert len(cid) == 12 and all(ch in "0123456789abcdef" for ch in cid)
    # key order irrelevant
    assert grids.config_id(dict(reversed(list(params.items())))) == cid
    # integral floats are ints, at top level and inside lists
    assert grids.config_id({**params, "batch_size": 32.0}) == cid
    assert grids.config_id({**params, "lstm_layers": [128.0, 64.0]}) == cid
    # different values, extra keys, bool vs int: different ids
    assert grids.config_id({**params, "learning_rate": 0.0005}) != cid
    assert grids.config_id({**params, "lstm_layers": [64, 128]}) != cid
    assert grids.config_id({**params, "dense_units": 64}) != cid
    assert grids.config_id({"use_batch_norm": True}) != grids.config_id({"use_batch_norm": 1})
    assert grids.canonical({"b": 1.0, "a": [2.0, 0.5]}) == '{"a":[2,0.5],"b":1}'


def test_union_keeps_duplicates_across_subgrids_once(tmp_path):
    grid = load_body(
        tmp_path,
        [
            {"dense_units": [32, 64], "learning_rate": [0.001]},
            {"dense_units": [64.0, 128], "learning_rate": [0.001]},  # 64.0 == 64
            {"learning_rate": [0.001], "dense_units": [32]},  # key order irrelevant
        ],
    )
    expansion = grids.expand(grid)
    assert expansion.duplicates == 2
    assert [c["dense_units"] for c in expansion.combinations] == [32, 64, 128]
    assert len(expansion) == 3


def test_medium_union_drops_its_two_duplicates():
    expansion = grids.expand(grids.load_grid("medium"))
    assert expansion.duplicates == 2
    assert len(expansion) == 108


def test_some_overlap_at_or_above_window_dropped_and_counted(tmp_path):
    grid = load_body(tmp_path, {"window_size": [20, 40], "overlap": [10, 20, 30]})
    expansion = grids.expand(grid, DEFAULTS)
    assert expansion.dropped_overlap == 2  # (20, 20) and (20, 30)
    assert [(c["window_size"], c["overlap"]) for c in expansion.combinations] == [
        (20, 10),
        (40, 10),
        (40, 20),
        (40, 30),
    ]


def test_overlap_checked_against_notebook_default_window(tmp_path):
    grid = load_body(tmp_path, {"overlap": [10, 45, 60]})
    expansion = grids.expand(grid, DEFAULTS)  # default window_size 45
    assert [c["overlap"] for c in expansion.combinations] == [10]
    assert expansion.dropped_overlap == 2


def test_all_overlap_at_or_above_window_is_an_error(tmp_path):
    grid = load_body(tmp_path, {"window_size": [20, 30], "overlap": [30, 40]})
    with pytest.raises(GridError, match=r"grid 'mine': all 4 combinations have overlap >= wi") as e:
        grids.expand(grid, DEFAULTS)
    assert e.value.key == "overlap"
    assert "Fix: give overlaps smaller than the window sizes" in str(e.value)


# --------------------------------------------------------------------------- load errors


def test_unknown_grid_name_lists_available_grids():
    with pytest.raises(GridError, match=r"grid 'tiny': no such grid") as e:
        grids.load_grid("tiny")
    listing = ", ".join(GUIDE_COUNTS)
    assert f"Fix: use one of {listing}, or give the path of a grid file" in str(e.value)


def test_random_is_not_a_grid():
    with pytest.raises(GridError, match=r"grid 'random': no such grid\. Fix: use one of minimal"):
        grids.load_grid("random")


def test_missing_grid_file(tmp_path):
    missing = tmp_path / "nothere.yaml"
    with pytest.raises(GridError, match=r"nothere\.yaml does not exist"):
        grids.load_grid(missing)
    with pytest.raises(GridError, match=r"does not exist"):
        grids.load_grid(str(tmp_path / "sub" / "grid"))


def test_grid_file_without_grid_key(tmp_path):
    path = write_grid(tmp_path, {"description": "x", "ranges": {"a": [1]}}, name="nogrid")
    with pytest.raises(
        GridError,
        match=r"grid 'nogrid': .*has keys \['description', 'ranges'\]; a grid file has 'g",
    ):
        grids.load_grid(path)


def test_grid_file_not_a_mapping(tmp_path):
    path = write_grid(tmp_path, [{"dense_units": [32]}], name="alist")
    with pytest.raises(GridError, match=r"grid 'alist': .*must hold a mapping with a 'grid' key"):
        grids.load_grid(path)


def test_json_grid_file(tmp_path):
    path = tmp_path / "j.json"
    path.write_text(json.dumps({"grid": {"dense_units": [32, 64]}}), encoding="utf-8")
    grid = grids.load_grid(path)
    assert grid.name == "j"
    assert len(grids.expand(grid)) == 2


def test_empty_list_of_values(tmp_path):
    with pytest.raises(
        GridError, match=r"grid 'mine': grid: dense_units is \[\] \(list\); expected a non-empty"
    ) as e:
        load_body(tmp_path, {"dense_units": [], "learning_rate": [0.001]})
    assert e.value.key == "dense_units"
    assert "Fix: give dense_units at least one value" in str(e.value)


def test_scalar_instead_of_list_suggests_brackets(tmp_path):
    with pytest.raises(
        GridError, match=r"learning_rate is 0\.001 \(float\); expected a non-empty list"
    ) as e:
        load_body(tmp_path, {"learning_rate": 0.001})
    assert "Fix: write learning_rate: [0.001] for a single value" in str(e.value)
    assert e.value.grid == "mine" and e.value.key == "learning_rate"


def test_value_that_is_a_dict(tmp_path):
    with pytest.raises(
        GridError, match=r"grid 'mine': lstm_layers has value \{'units': 64\} \(dict\); values mus"
    ) as e:
        load_body(tmp_path, {"lstm_layers": [[64, 32], {"units": 64}]})
    assert e.value.key == "lstm_layers"
    assert "Fix: write the value as a number, string, true/false, null or a flat list" in str(
        e.value
    )


def test_dict_instead_of_list_of_values(tmp_path):
    with pytest.raises(GridError, match=r"lstm_layers.*\(dict\)") as e:
        load_body(tmp_path, {"lstm_layers": {"min": 1, "max": 2}})
    assert e.value.key == "lstm_layers"
    assert "Fix: give lstm_layers a list of values; ranges are for random search" in str(e.value)
    assert "[{" not in str(e.value)  # wrapping a mapping in a list would not fix it


def test_nested_list_value_rejected(tmp_path):
    with pytest.raises(GridError, match=r"lstm_layers has value \[\[64\]\] \(list\)"):
        load_body(tmp_path, {"lstm_layers": [[[64]]]})


def test_empty_subgrid_rejected(tmp_path):
    with pytest.raises(GridError, match=r"sub-grid 2 must be a non-empty mapping"):
        load_body(tmp_path, [{"dense_units": [32]}, {}])


# --------------------------------------------------------------------------- validation


def test_unknown_key_suggests_close_name(tmp_path):
    grid = load_body(tmp_path, {"learning_rat": [0.001]})
    with pytest.raises(
        GridError,
        match=r"grid 'mine': grid: 'learning_rat' is not a parameter of notebooks/train\.ipynb\."
        r" Fix: did you mean \['learning_rate'\]\?",
    ) as e:
        grids.validate_grid(grid, DEFAULTS)
    assert e.value.key == "learning_rat"


def test_unknown_fixed_key_without_close_name(tmp_path):
    grid = load_body(tmp_path, {"dense_units": [32]}, fixed={"zzz": 1})
    with pytest.raises(GridError, match=r"fixed: 'zzz' is not a parameter.*see its parameters"):
        grids.validate_grid(grid, DEFAULTS)


def test_unknown_key_against_real_notebook(tmp_path, notebook_defaults):
    grid = load_body(tmp_path, {"learning_rat": [0.001]})
    with pytest.raises(GridError, match=r"did you mean \['learning_rate'\]"):
        grids.validate_grid(grid, notebook_defaults)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("learning_rate", "fast", r"learning_rate = 'fast' is str; the notebook's default 0\.001"),
        ("use_batch_norm", 1, r"use_batch_norm = 1 is number; the notebook's default False is b"),
        ("learning_rate", True, r"learning_rate = True is bool; the notebook's default 0\.001 is"),
        ("dense_units", [64], r"dense_units = \[64\] is list; the notebook's default 64 is numb"),
    ],
)
def test_value_of_wrong_type(tmp_path, key, value, problem):
    grid = load_body(tmp_path, {key: [value]})
    with pytest.raises(GridError, match=r"grid 'mine': grid: " + problem) as e:
        grids.validate_grid(grid, DEFAULTS)
    assert e.value.key == key
    assert f"Fix: give {key} values like {json.dumps(DEFAULTS[key])}." in str(e.value)


def test_a_fraction_for_a_whole_number_says_it_must_be_whole(tmp_path):
    grid = load_body(tmp_path, {"window_size": [45.5]})
    with pytest.raises(
        GridError,
        match=r"grid 'mine': grid: window_size = 45\.5 is not a whole number; the notebook's "
        r"default 45 is\. Fix: give window_size whole numbers, e\.g\. 45 or 46\.",
    ) as e:
        grids.validate_grid(grid, DEFAULTS)
    assert e.value.key == "window_size"
    with pytest.raises(GridError, match=r"lstm_layers = \[64\.5, 32\] holds 64\.5, not whole"):
        grids.validate_grid(load_body(tmp_path, {"lstm_layers": [[64.5, 32]]}), DEFAULTS)


def test_a_number_for_a_list_parameter_suggests_a_list_of_lists(tmp_path):
    grid = load_body(tmp_path, {"lstm_layers": [64]})
    with pytest.raises(
        GridError,
        match=r"lstm_layers = 64 is number; the notebook's default \[128, 64\] is list\. Fix: "
        r"each value of lstm_layers is itself a list \(like \[128, 64\]\): write lstm_layers: "
        r"\[\[64\]\] for that one value\.",
    ):
        grids.validate_grid(grid, DEFAULTS)
    two = load_body(tmp_path, {"lstm_layers": [64, 32]})
    with pytest.raises(
        GridError,
        match=r"write lstm_layers: \[\[64, 32\]\] for the one value \[64, 32\], or "
        r"\[\[64\], \[32\]\] for 2\.",
    ):
        grids.validate_grid(two, DEFAULTS)
    fixed = load_body(tmp_path, {"dense_units": [32]}, fixed={"lstm_layers": 64})
    with pytest.raises(GridError, match=r"write lstm_layers: \[64\] under fixed"):
        grids.validate_grid(fixed, DEFAULTS)


def test_a_bare_number_for_a_list_parameter_suggests_double_brackets(tmp_path):
    path = write_grid(tmp_path, {"grid": {"lstm_layers": 64}})
    with pytest.raises(
        GridError,
        match=r"lstm_layers is 64 \(int\); expected a non-empty list of values\. Fix: write "
        r"lstm_layers: \[\[64\]\] for a single value: each value of lstm_layers is itself a "
        r"list, like the notebook's default \[128, 64\]\.",
    ):
        grids.load_grid(path, DEFAULTS)
    with pytest.raises(GridError, match=r"Fix: write dense_units: \[64\] for a single value\."):
        grids.load_grid(write_grid(tmp_path, {"grid": {"dense_units": 64}}), DEFAULTS)


def test_wrong_type_in_fixed(tmp_path):
    grid = load_body(tmp_path, {"dense_units": [32]}, fixed={"use_bidirectional": "yes"})
    with pytest.raises(GridError, match=r"fixed: use_bidirectional = 'yes' is str"):
        grids.validate_grid(grid, DEFAULTS)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (["128", "64"], r"lstm_layers = \['128', '64'\]"),
        ([64.5, 32], r"lstm_layers = \[64\.5, 32\]"),
        ([True, 32], r"lstm_layers = \[True, 32\]"),
    ],
)
def test_list_elements_of_wrong_type(tmp_path, value, problem):
    grid = load_body(tmp_path, {"lstm_layers": [value]})
    with pytest.raises(GridError, match=problem) as e:
        grids.validate_grid(grid, DEFAULTS)
    assert e.value.key == "lstm_layers"


def test_compatible_values_accepted(tmp_path):
    grid = load_body(
        tmp_path,
        {
            "window_size": [45.0, 60],  # integral float for an int parameter
            "reference_fps": [30, 25.0],  # int for a float parameter
            "class_weight": [None, "balanced"],  # null for a string parameter
            "dropout_rates": [[0, 0, 0]],  # ints in a list of floats
            "lstm_layers": [[64.0, 32]],
            "use_batch_norm": [False, True],
        },
    )
    grids.validate_grid(grid, DEFAULTS)


def test_dropout_length_mismatch_names_both(tmp_path):
    grid = load_body(
        tmp_path,
        {"lstm_layers": [[64, 32], [128, 64, 32]], "dropout_rates": [[0.3, 0.3, 0.2]]},
    )
    with pytest.raises(
        GridError,
        match=r"grid 'mine': grid: dropout_rates \[0\.3, 0\.3, 0\.2\] has 3 rates but lstm_layers "
        r"\[128, 64, 32\] has 3 layers; .* Fix: put layer configurations of different depths in "
        r"separate sub-grids",
    ) as e:
        grids.validate_grid(grid, DEFAULTS)
    assert e.value.key == "dropout_rates"


def test_dropout_length_checked_against_notebook_default(tmp_path):
    grid = load_body(tmp_path, {"lstm_layers": [[64, 32, 16]]})  # default dropout has 3 rates
    with pytest.raises(GridError, match=r"dropout_rates \[0\.3, 0\.3, 0\.2\] has 3 rates but lst"):
        grids.validate_grid(grid, DEFAULTS)


def test_dropout_length_per_subgrid(tmp_path):
    ok = [
        {"lstm_layers": [[64, 32]], "dropout_rates": [[0.3, 0.3, 0.2]]},
        {"lstm_layers": [[64, 32, 16]], "dropout_rates": [[0.3, 0.3, 0.3, 0.2]]},
    ]
    grids.validate_grid(load_body(tmp_path, ok), DEFAULTS)
    bad = [ok[0], {"lstm_layers": [[64, 32, 16]], "dropout_rates": [[0.3, 0.3, 0.2]]}]
    with pytest.raises(GridError, match=r"sub-grid 2: dropout_rates \[0\.3, 0\.3, 0\.2\] has 3"):
        grids.validate_grid(load_body(tmp_path, bad), DEFAULTS)


def test_dropout_length_with_fixed_layers(tmp_path):
    grid = load_body(
        tmp_path, {"dropout_rates": [[0.3, 0.3, 0.2]]}, fixed={"lstm_layers": [64, 32, 16]}
    )
    with pytest.raises(GridError, match=r"lstm_layers \[64, 32, 16\] has 3 layers"):
        grids.validate_grid(grid, DEFAULTS)


# --------------------------------------------------------------------------- display


def test_format_grid_medium():
    grid = grids.load_grid("medium")
    text = grids.format_grid(grid, grids.expand(grid))
    lines = text.splitlines()
    assert lines[0] == "=" * 70 and lines[-1] == "=" * 70
    assert "GRID CONFIGURATION: MEDIUM" in lines
    assert "Total combinations: 108" in lines
    assert "Parameters:" in lines
    assert "  lstm_layers: 4 values" in lines
    assert "  dense_units: 3 values" in lines
    assert "    → [32, 64, 128]" in lines
    # one dropout list per depth: 3 for the 2-layer and 3 for the 3-layer LSTMs
    assert "  dropout_rates: 6 values" in lines
    assert "  use_batch_norm: 2 values" in lines
    assert "    → [False, True]" in lines
    assert "  learning_rate: 3 values" in lines
    assert "    → [0.0001, 0.0005, 0.001]" in lines
    assert "  batch_size: 3 values" in lines
    assert "  window_size: 3 values" in lines
    assert "  overlap: 4 values" in lines
    # each parameter line is followed by its values line
    index = lines.index("  dense_units: 3 values")
    assert lines[index + 1] == "    → [32, 64, 128]"


def test_format_grid_single_value_fixed_and_dropped(tmp_path):
    grid = load_body(
        tmp_path, {"window_size": [20, 40], "overlap": [10, 30]}, fixed={"batch_size": 16}
    )
    text = grids.format_grid(grid, grids.expand(grid, DEFAULTS))
    assert "GRID CONFIGURATION: MINE" in text
    assert "Total combinations: 3" in text
    assert "Dropped: 1 with overlap >= window_size" in text
    assert "Fixed:\n  batch_size: 16" in text
    one = load_body(tmp_path, {"dense_units": [32]})
    assert "  dense_units: 1 value\n    → [32]" in grids.format_grid(one, Expansion([{}]))


# --------------------------------------------------------------------------- random search


def test_load_packaged_random_ranges():
    ranges = grids.load_ranges()
    assert ranges == grids.load_ranges("random")
    assert ranges["lstm_layers"] == [[64, 32], [128, 64], [256, 128]]
    assert ranges["batch_size"] == [16, 32, 64]
    assert ranges["dense_units"] == Range(32.0, 256.0, "int")
    assert ranges["learning_rate"] == Range(0.0001, 0.01, "log")


def test_random_ranges_validate_against_notebook(notebook_defaults):
    ranges = grids.load_ranges()
    grid = grids.ranges_as_grid(ranges)
    grids.validate_grid(grid, notebook_defaults)
    combos = grids.sample(ranges, 30, seed=0, defaults=notebook_defaults)
    assert len(combos) == 30
    for combo in combos:
        assert set(combo) == set(ranges)
        assert set(combo) <= set(notebook_defaults)


def test_sample_types_and_bounds():
    ranges = grids.load_ranges()
    combos = grids.sample(ranges, 400, seed=1, defaults=DEFAULTS)
    dense = [c["dense_units"] for c in combos]
    assert all(type(d) is int and 32 <= d <= 256 for d in dense)
    assert len(set(dense)) > 100  # spread over the range, not stuck
    assert {tuple(c["lstm_layers"]) for c in combos} == {(64, 32), (128, 64), (256, 128)}
    assert {c["batch_size"] for c in combos} == {16, 32, 64}
    assert {c["use_batch_norm"] for c in combos} == {False, True}
    lrs = [c["learning_rate"] for c in combos]
    assert all(isinstance(lr, float) and 0.0001 <= lr <= 0.01 for lr in lrs)


def test_log_range_is_log_uniform():
    ranges = {"learning_rate": Range(0.0001, 0.01, "log"), "i": list(range(1000))}
    lrs = [c["learning_rate"] for c in grids.sample(ranges, 400, seed=7)]
    assert all(0.0001 <= lr <= 0.01 for lr in lrs)
    median = statistics.median(math.log10(lr) for lr in lrs)
    assert abs(median - (-3.0)) < 0.25  # middle of log10 range [-4, -2]
    linear_mid = (0.0001 + 0.01) / 2
    below = sum(lr < linear_mid for lr in lrs)
    assert below > 3 * (len(lrs) - below)  # uniform would give about half each


def test_float_range(tmp_path):
    ranges = grids.load_ranges(write_ranges(tmp_path, {"x": [0.1, 0.5, "float"]}))
    assert ranges["x"] == Range(0.1, 0.5, "float")
    xs = [c["x"] for c in grids.sample(ranges, 200, seed=3)]
    assert all(isinstance(x, float) and 0.1 <= x <= 0.5 for x in xs)
    assert min(xs) < 0.2 and max(xs) > 0.4
    assert statistics.mean(xs) == pytest.approx(0.3, abs=0.03)


def test_range_mapping_form(tmp_path):
    spec = {
        "lr": {"min": 0.001, "max": 0.1, "type": "log"},
        "n": {"min": 1, "max": 3, "type": "int"},
    }
    ranges = grids.load_ranges(write_ranges(tmp_path, spec))
    assert ranges == {"lr": Range(0.001, 0.1, "log"), "n": Range(1.0, 3.0, "int")}
    assert {c["n"] for c in grids.sample({"n": ranges["n"]}, 3, seed=0)} == {1, 2, 3}


def test_draws_stay_within_bounds_with_many_digits():
    import random

    rng = random.Random(0)
    for spec in (Range(0.12345, 0.12346, "float"), Range(1.00001, 1.00002, "log")):
        for _ in range(200):
            assert spec.low <= spec.draw(rng) <= spec.high, spec


def test_same_seed_same_samples_other_seed_differs():
    ranges = grids.load_ranges()
    first = grids.sample(ranges, 20, seed=5, defaults=DEFAULTS)
    again = grids.sample(ranges, 20, seed=5, defaults=DEFAULTS)
    other = grids.sample(ranges, 20, seed=6, defaults=DEFAULTS)
    assert first == again
    assert first != other


def test_sample_has_no_duplicate_ids():
    ranges = {"a": [1, 2, 3], "b": ["x", "y"], "c": [True, False]}
    combos = grids.sample(ranges, 12, seed=0)  # every combination, each once
    ids = [grids.config_id(c) for c in combos]
    assert len(set(ids)) == 12
    assert sorted(grids.canonical(c) for c in combos) == sorted(
        grids.canonical({"a": a, "b": b, "c": c})
        for a in (1, 2, 3)
        for b in ("x", "y")
        for c in (True, False)
    )


def test_sample_more_than_possible_is_an_error():
    ranges = {"a": [1, 2], "b": ["x", "y"]}
    with pytest.raises(
        GridError,
        match=r"grid 'random': only 4 distinct combinations could be drawn; 5 were asked for\. "
        r"Fix: ask for fewer samples or widen the ranges",
    ):
        grids.sample(ranges, 5, seed=0, max_tries=2000)


def test_sample_needs_at_least_one():
    with pytest.raises(GridError, match=r"n_samples must be at least 1; got 0"):
        grids.sample({"a": [1]}, 0)


def test_sample_never_draws_overlap_at_or_above_window():
    ranges = {"window_size": [10, 20, 30], "overlap": [10, 15, 20, 25]}
    possible = {(20, 10), (20, 15), (30, 10), (30, 15), (30, 20), (30, 25)}
    combos = grids.sample(ranges, 6, seed=2, max_tries=2000)
    assert {(c["window_size"], c["overlap"]) for c in combos} == possible
    with pytest.raises(GridError, match=r"only 6 distinct combinations could be drawn; 7 were"):
        grids.sample(ranges, 7, seed=2, max_tries=2000)
    # against the notebook's default window when only overlap is sampled
    drawn = grids.sample({"overlap": [10, 45, 60]}, 1, seed=0, defaults=DEFAULTS)
    assert drawn == [{"overlap": 10}]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([0.01, 0.001, "log"], r"lr: range \[0\.01, 0\.001, log\] needs min < max and min > 0"),
        ([5, 5, "int"], r"lr: range \[5, 5, int\] needs min < max\."),
        ([0, 0.1, "log"], r"lr: range \[0, 0\.1, log\] needs min < max and min > 0 for log"),
        ([-1, 0.1, "log"], r"needs min < max and min > 0 for log"),
        (["a", 1, "float"], r"lr: range bounds 'a', 1 must be numbers"),
        ([0, True, "int"], r"lr: range bounds 0, True must be numbers"),
        (
            [1.5, 3.7, "int"],
            r"lr: int range bounds 1\.5, 3\.7 must be whole numbers\. Fix: write lr: \[2, 3, int\]",
        ),
        ({"min": 1, "type": "int"}, r"lr: range bounds 1, None must be numbers"),
        ([], r"lr is \[\]; expected a list of choices or \[min, max, int\|float\|log\]"),
        (0.5, r"lr is 0\.5; expected a list of choices"),
        ([{"a": 1}], r"lr has value \{'a': 1\} \(dict\)"),
    ],
)
def test_bad_range_specs(tmp_path, spec, message):
    path = write_ranges(tmp_path, {"lr": spec, "b": [1, 2]})
    with pytest.raises(GridError, match=r"grid 'ranges': .*" + message) as e:
        grids.load_ranges(path)
    assert e.value.key == "lr"


def test_ranges_file_errors(tmp_path):
    with pytest.raises(GridError, match=r"nope\.yaml does not exist"):
        grids.load_ranges(tmp_path / "nope.yaml")
    path = write_grid(tmp_path, {"grid": {"a": [1]}}, name="notranges")
    with pytest.raises(GridError, match=r"grid 'notranges': .*needs a non-empty 'ranges' mapping"):
        grids.load_ranges(path)


# --------------------------------------------------------------------------- issue 14 §4


def test_a_grid_path_that_is_a_folder_says_so(tmp_path):
    write_grid(tmp_path, {"grid": {"dense_units": [32]}}, name="inside")
    with pytest.raises(
        GridError,
        match=r"is a folder; expected a grid file \(\.yaml, \.yml or \.json\)\. Fix: give the path "
        r"of one file in it \(e\.g\. .*inside\.yaml\)",
    ):
        grids.load_grid(f"{tmp_path}/")
    with pytest.raises(GridError, match=r"is a folder; expected a ranges file"):
        grids.load_ranges(f"{tmp_path}/")


def test_runner_parameters_are_refused_as_set_by_the_runner(tmp_path):
    grid = load_body(tmp_path, {"log_to_mlflow": [False]})
    with pytest.raises(
        GridError,
        match=r"grid: 'log_to_mlflow' is set by the search runner for every run; a grid cannot "
        r"set it\. Fix: remove log_to_mlflow from the grid \(every run logs\)\.",
    ) as e:
        grids.validate_grid(grid, DEFAULTS, {"log_to_mlflow": "every run logs"})
    assert e.value.key == "log_to_mlflow"


@pytest.mark.parametrize(
    ("key", "value", "fix"),
    [
        ("log_to_mlflow", False, r"every run of a search logs to MLflow"),
        ("data_dir", "data/x", r"choose the dataset with --data-dir"),
        ("tracking_uri", "sqlite:///x.db", r"choose the MLflow store with --tracking-uri"),
        ("seed", 1, r"--seed sets it for every run"),
        ("checkpoint_path", "m.keras", r"every run of a search would write the same file"),
        ("initial_epoch", 2, r"continuing from a checkpoint is for adaptive searches"),
    ],
)
def test_plan_refuses_runner_parameters_in_a_grid(tmp_path, notebook_defaults, key, value, fix):
    from tennis_lab.search import SearchConfig, plan

    path = write_grid(tmp_path, {"grid": {key: [value]}})
    with pytest.raises(GridError, match=rf"'{key}' is set by the search runner.*Fix: .*{fix}"):
        plan(SearchConfig(grid=str(path)), notebook_defaults, check=False)


def test_integral_floats_of_whole_number_parameters_run_as_ints(tmp_path):
    grid = load_body(tmp_path, {"window_size": [45.0], "lstm_layers": [[64.0, 32]]})
    (combo,) = grids.expand(grid, DEFAULTS).combinations
    assert combo == {"window_size": 45, "lstm_layers": [64, 32]}
    assert type(combo["window_size"]) is int and type(combo["lstm_layers"][0]) is int
    assert grids.config_id(combo) == grids.config_id({"window_size": 45.0, "lstm_layers": [64, 32]})


def test_a_log_or_float_range_of_a_whole_number_parameter_draws_whole_numbers():
    ranges = {"dense_units": Range(16, 256, "log"), "batch_size": Range(8.0, 64.0, "float")}
    combos = grids.sample(ranges, 50, seed=0, defaults=DEFAULTS)
    assert all(type(c["dense_units"]) is int and 16 <= c["dense_units"] <= 256 for c in combos)
    assert all(type(c["batch_size"]) is int and 8 <= c["batch_size"] <= 64 for c in combos)
    with pytest.raises(GridError, match=r"dense_units: range \[2\.2, 2\.8, log\] holds no whole"):
        grids.sample({"dense_units": Range(2.2, 2.8, "log")}, 1, defaults=DEFAULTS)


def test_sample_grid_draws_distinct_combinations_of_the_grid():
    grid = grids.load_grid("small")
    every = [grids.canonical(c) for c in grids.expand(grid, DEFAULTS).combinations]
    drawn = grids.sample_grid(grid, 10, seed=3, defaults=DEFAULTS)
    assert len({grids.canonical(c) for c in drawn}) == 10
    assert all(grids.canonical(c) in every for c in drawn)
    assert drawn == grids.sample_grid(grid, 10, seed=3, defaults=DEFAULTS)
    with pytest.raises(
        GridError,
        match=r"grid 'small': --random asks for 30 samples, but the grid has only 24 combinations"
        r"\. Fix: ask for at most 24",
    ):
        grids.sample_grid(grid, 30)


def test_random_with_a_json_ranges_file_samples_that_file(tmp_path, notebook_defaults, capsys):
    from tennis_lab.search import SearchConfig, plan

    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"ranges": {"dense_units": [16, 128, "log"]}}))
    grid, combos, _ = plan(
        SearchConfig(grid=str(path), random=True, n_samples=5), notebook_defaults, check=False
    )
    assert grid.name == "mine" and len(combos) == 5
    assert all(set(c) == {"dense_units"} and type(c["dense_units"]) is int for c in combos)
    assert "5 combinations drawn from the ranges of" in capsys.readouterr().out


def test_random_with_a_predefined_grid_samples_that_grid(notebook_defaults, capsys):
    from tennis_lab.search import SearchConfig, plan

    grid, combos, _ = plan(
        SearchConfig(grid="small", random=True, n_samples=6), notebook_defaults, check=False
    )
    every = [grids.canonical(c) for c in grids.expand(grids.load_grid("small")).combinations]
    assert grid.name == "small" and len(combos) == 6
    assert all(grids.canonical(c) in every for c in combos)
    assert "drawn from the combinations of grid 'small'" in capsys.readouterr().out
    _, builtin, _ = plan(SearchConfig(random=True, n_samples=3), notebook_defaults, check=False)
    assert all(set(c) == set(grids.load_ranges()) for c in builtin)  # the default: random.yaml


def test_a_ranges_file_without_random_is_refused(tmp_path, notebook_defaults):
    from tennis_lab.search import SearchConfig, plan

    path = write_ranges(tmp_path, {"dense_units": [16, 64, "int"]})
    with pytest.raises(GridError, match=r"holds random-search ranges, not a grid\. Fix: add --r"):
        plan(SearchConfig(grid=str(path)), notebook_defaults, check=False)
    with pytest.raises(GridError, match=r"'random' is the built-in ranges .* Fix: add --random"):
        plan(SearchConfig(grid="random"), notebook_defaults, check=False)


def test_a_grid_name_that_is_a_folder_here_says_so(tmp_path, monkeypatch):
    (tmp_path / "mygrids").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        GridError, match=r"grid 'mygrids': no such grid\. \(mygrids is a folder here: give the path"
    ):
        grids.load_grid("mygrids")


def test_a_built_in_ranges_file_is_found_by_name(tmp_path):
    assert grids.kind_of("random_families") == "ranges"
    assert grids.kind_of("random") == "ranges"
    assert grids.kind_of("families") == "grid"
    assert grids.kind_of("no_such_grid") == "grid"  # load_grid then names the problem
    own = tmp_path / "r.yaml"
    own.write_text("ranges:\n  learning_rate: [0.0001, 0.01, log]\n")
    assert grids.kind_of(own) == "ranges"
