"""Tests of the model families (gru, tcn, transformer, stgcn), the landmark graph, the
input features computed inside the model, and the grids' family checks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import TINY_MODEL

from tennis_lab import grids
from tennis_lab import params as contract
from tennis_lab.model import (
    ModelParamError,
    build_lstm,
    check_layout,
    check_model_params,
    feature_windows,
)
from tennis_lab.model.skeleton import (
    COCO_EDGES,
    MEDIAPIPE_EDGES,
    normalized_adjacency,
    parents,
    skeleton_edges,
)
from tennis_lab.poses.layout import MEDIAPIPE_CHANNELS, MEDIAPIPE_LANDMARKS

keras = pytest.importorskip("keras")
slow = pytest.mark.slow

COCO_LANDMARKS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
MP_LAYOUT = (MEDIAPIPE_LANDMARKS, MEDIAPIPE_CHANNELS)
# Each family at its smallest: seconds to train on a few windows.
SMALL = {
    "gru": {"gru_layers": [8]},
    "tcn": {"tcn_filters": 8, "tcn_dilations": [1, 2]},
    "transformer": {"transformer_width": 8, "transformer_heads": 2, "transformer_blocks": 1},
    "stgcn": {"stgcn_channels": [4, 8], "stgcn_kernel_size": 3},
}
FAMILIES = list(SMALL)


def small(family: str, **extra) -> dict:
    return {"model_family": family, "dense_units": 8, "learning_rate": 0.01,
            **SMALL[family], **extra}  # fmt: skip


def windows(n: int = 24, frames: int = 10, features: int = 132, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, frames, features)).astype("float32")


# --------------------------------------------------------------------------- the LSTM stays


def test_the_default_model_is_todays_lstm_layer_for_layer():
    model = build_lstm({}, (45, 132), 4)
    assert model.name == "stroke_lstm"
    assert [layer.name for layer in model.layers] == [
        "poses", "standardize", "lstm_1", "dropout_1", "lstm_2", "dropout_2", "dense",
        "dropout_dense", "stroke",
    ]  # fmt: skip
    assert model.count_params() == 187_460  # the LSTM builder's before model families
    assert check_model_params({})["model_family"] == "lstm"
    assert check_model_params({})["features"] == "positions"


def test_the_lstm_ignores_the_other_families_parameters():
    a = build_lstm({}, (45, 132), 4)
    b = build_lstm({"tcn_filters": 3, "gru_layers": [5], "dropout": 0.5}, (45, 132), 4)
    assert [layer.name for layer in a.layers] == [layer.name for layer in b.layers]
    assert a.count_params() == b.count_params()


# --------------------------------------------------------------------------- the graph


def test_mediapipe_and_coco_layouts_give_their_skeletons():
    mp = skeleton_edges(MEDIAPIPE_LANDMARKS)
    coco = skeleton_edges(COCO_LANDMARKS)
    assert len(MEDIAPIPE_EDGES) == len(mp) == 35
    assert len(COCO_EDGES) == len(coco) == 19
    assert all(i < j for i, j in mp + coco)
    name = {n: i for i, n in enumerate(COCO_LANDMARKS)}
    assert (name["left_shoulder"], name["left_elbow"]) in coco
    assert (name["left_hip"], name["right_hip"]) in coco
    # names are matched loosely and in any order; a subset keeps the edges it can
    shuffled = [n.upper().replace("_", " ") for n in reversed(COCO_LANDMARKS)]
    assert len(skeleton_edges(shuffled)) == 19
    assert len(skeleton_edges(["left_shoulder", "left_elbow", "left_wrist", "knee"])) == 2
    assert skeleton_edges([f"joint_{i}" for i in range(17)]) == []


@pytest.mark.parametrize("names", [MEDIAPIPE_LANDMARKS, COCO_LANDMARKS])
def test_the_adjacency_is_symmetric_and_normalised(names):
    edges = skeleton_edges(names)
    a = normalized_adjacency(len(names), edges)
    assert a.shape == (len(names), len(names)) and a.dtype == np.float32
    np.testing.assert_allclose(a, a.T)
    degree = np.ones(len(names))
    for i, j in edges:
        degree[i] += 1
        degree[j] += 1
    i, j = edges[0]
    assert a[i, j] == pytest.approx(1 / np.sqrt(degree[i] * degree[j]))
    np.testing.assert_allclose(np.diag(a), 1 / degree, rtol=1e-6)
    assert np.abs(np.linalg.eigvalsh(a)).max() == pytest.approx(1.0, abs=1e-5)
    assert np.count_nonzero(a) == len(names) + 2 * len(edges)


def test_each_landmark_has_a_neighbour_as_parent():
    edges = skeleton_edges(COCO_LANDMARKS)
    parent = parents(len(COCO_LANDMARKS), edges)
    linked = {frozenset(e) for e in edges}
    roots = [i for i, p in enumerate(parent) if p == i]
    assert roots == [0]  # COCO's skeleton is one tree from the nose
    assert all(frozenset((i, p)) in linked for i, p in enumerate(parent) if p != i)


def test_a_layout_without_known_edges_is_a_clear_error_before_anything_trains():
    names, channels = [f"joint_{i}" for i in range(5)], ["x", "y"]
    with pytest.raises(ModelParamError) as info:
        build_lstm(small("stgcn"), (10, 10), 3, layout=(names, channels))
    assert info.value.key == "landmark_names" and "MediaPipe" in str(info.value)
    assert info.value.fix and "model_family" in info.value.fix
    with pytest.raises(ModelParamError, match="bones"):
        build_lstm({"features": "positions+bones"}, (10, 10), 3, layout=(names, channels))
    for values in ({"model_family": "stgcn"}, {"features": "positions+bones"}):
        with pytest.raises(ModelParamError) as info:  # the same check, nothing built
            check_layout(values, (names, channels))
        assert info.value.key == "landmark_names"
        check_layout(values, MP_LAYOUT)
    check_layout({"features": "positions+velocity"}, (names, channels))
    with pytest.raises(ModelParamError):  # stgcn needs a layout at all
        build_lstm(small("stgcn"), (10, 10), 3)
    with pytest.raises(ModelParamError, match="features"):  # a layout of other windows
        build_lstm(small("stgcn"), (10, 12), 3, layout=MP_LAYOUT)


# --------------------------------------------------------------------------- features


def test_velocity_features_are_frame_differences_per_landmark():
    X = windows(3, 6, 132)
    F = feature_windows(X, {"features": "positions+velocity"}, MP_LAYOUT)
    assert F.shape == (3, 6, 264)
    per = F.reshape(3, 6, 33, 8)
    np.testing.assert_allclose(per[..., :4], X.reshape(3, 6, 33, 4))
    np.testing.assert_allclose(per[:, 1:, :, 4:], np.diff(X, axis=1).reshape(3, 5, 33, 4),
                               atol=1e-6)  # fmt: skip
    assert (per[:, 0, :, 4:] == 0).all()
    np.testing.assert_array_equal(F, feature_windows(X, {"features": "positions+velocity"},
                                                     MP_LAYOUT))  # fmt: skip
    assert feature_windows(X, {}, MP_LAYOUT) is X  # positions: the windows as they are
    # without a layout each feature is its own landmark
    G = feature_windows(X, {"features": "positions+velocity"})
    np.testing.assert_allclose(G[:, 1:, 1::2], np.diff(X, axis=1), atol=1e-6)


def test_bone_features_point_from_each_landmarks_parent():
    X = windows(2, 4, len(COCO_LANDMARKS) * 2)
    layout = (COCO_LANDMARKS, ("x", "y"))
    F = feature_windows(X, {"features": "positions+bones"}, layout)
    parent = parents(len(COCO_LANDMARKS), skeleton_edges(COCO_LANDMARKS))
    pos = X.reshape(2, 4, 17, 2)
    np.testing.assert_allclose(F.reshape(2, 4, 17, 4)[..., 2:], pos - pos[:, :, parent],
                               atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("family", ["lstm", *FAMILIES])
@pytest.mark.parametrize("features", contract.FEATURES)
def test_every_family_takes_every_feature_and_gives_class_probabilities(family, features):
    params = {**TINY_MODEL, **(small(family) if family != "lstm" else {})}
    params = {k: v for k, v in params.items() if k in contract.names("model")}
    model = build_lstm({**params, "features": features}, (10, 132), 3, layout=MP_LAYOUT)
    assert model.name == f"stroke_{family}"
    assert model.input_shape == (None, 10, 132) and model.output_shape == (None, 3)
    names = [layer.name for layer in model.layers]
    assert ("frame_features" in names) == (features != "positions")
    probs = model.predict(windows(4, 10, 132), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


# --------------------------------------------------------------------------- parameters


def test_family_parameters_are_checked_with_key_and_fix():
    cases = [
        ({"model_family": "cnn"}, "model_family"),
        ({"features": "angles"}, "features"),
        ({"gru_layers": []}, "gru_layers"),
        ({"tcn_kernel_size": 1}, "tcn_kernel_size"),
        ({"tcn_dilations": [1, 0]}, "tcn_dilations"),
        ({"transformer_width": 30, "transformer_heads": 4}, "transformer_heads"),
        ({"stgcn_channels": [8, -1]}, "stgcn_channels"),
        ({"dropout": 1.0}, "dropout"),
    ]
    for values, key in cases:
        with pytest.raises(ModelParamError) as info:
            check_model_params(values)
        assert info.value.key == key and info.value.fix, values


def test_the_contract_says_which_family_a_parameter_acts_on():
    assert contract.FAMILY_OF["lstm_layers"] == ("lstm",)
    assert contract.FAMILY_OF["tcn_filters"] == ("tcn",)
    assert set(contract.FAMILY_OF["use_bidirectional"]) == {"lstm", "gru"}
    assert "dense_units" not in contract.FAMILY_OF and "features" not in contract.FAMILY_OF
    for name, families in contract.FAMILY_OF.items():
        assert set(families) <= set(contract.MODEL_FAMILIES), name


def test_a_family_key_in_another_familys_sub_grid_is_a_grid_error():
    defaults = contract.defaults()
    bad = grids.Grid(
        "mixed",
        [
            {"model_family": ["tcn"], "tcn_filters": [32]},
            {"model_family": ["lstm", "tcn"], "tcn_kernel_size": [3]},
        ],
    )
    with pytest.raises(grids.GridError) as info:
        grids.validate_grid(bad, defaults)
    error = info.value
    assert error.key == "tcn_kernel_size" and "sub-grid 2" in str(error) and "'mixed'" in str(error)
    assert "[3]" in str(error) and "'lstm'" in str(error) and "model_family: [tcn]" in error.fix
    with pytest.raises(grids.GridError, match="the default"):  # no model_family: lstm
        grids.validate_grid(grids.Grid("g", [{"stgcn_channels": [[8]]}]), defaults)
    with pytest.raises(grids.GridError, match="lstm_layers"):  # fixed, beside a gru sub-grid
        grids.validate_grid(
            grids.Grid("g", [{"model_family": ["gru"]}], fixed={"lstm_layers": [8]}), defaults
        )
    grids.validate_grid(grids.Grid("g", [{"model_family": ["gru"], "gru_layers": [[8]],
                                          "use_bidirectional": [True]}]), defaults)  # fmt: skip


def test_the_families_grid_counts_and_validates():
    defaults = contract.defaults()
    grid = grids.load_grid("families")
    grids.validate_grid(grid, defaults)
    combos = grids.expand(grid, defaults).combinations
    assert len(combos) == 20 and grids.grid_counts()["families"] == 20
    assert {c["model_family"] for c in combos} == set(contract.MODEL_FAMILIES)
    assert all(c["epochs"] == 60 for c in combos)
    # --show-grid: a family's parameter shows its own sub-grid's values, no other's default
    shown = grid.values(defaults)
    assert shown["gru_layers"] == [[64, 32], [128, 64]]
    assert shown["features"] == ["positions", "positions+velocity"]
    assert "families" in grids.available_grids()
    assert "random_families" not in grids.available_grids()


def test_family_ranges_draw_families_and_leave_the_others_parameters_at_defaults():
    defaults = contract.defaults()
    ranges = grids.load_ranges(grids.GRIDS_DIR / "random_families.yaml")
    grids.validate_grid(grids.ranges_as_grid(ranges, "random_families"), defaults)
    combos = grids.sample(ranges, 30, seed=3, defaults=defaults)
    assert len({c["model_family"] for c in combos}) == 5
    for combo in combos:
        for key, families in contract.FAMILY_OF.items():
            if key in combo and combo["model_family"] not in families:
                assert combo[key] == defaults[key], (key, combo)
    assert combos == grids.sample(ranges, 30, seed=3, defaults=defaults)
    # the built-in ranges are today's: they draw no family
    assert "model_family" not in grids.load_ranges()


# --------------------------------------------------------------------------- training


RELOAD = """
import json, sys
import numpy as np
import keras
from tennis_lab.model import register_layers
register_layers()
X = np.load(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    out[path] = keras.saving.load_model(path).predict(X, verbose=0).tolist()
print(json.dumps(out))
"""


@slow
@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_trains_saves_and_reloads_to_the_same_probabilities(family, tmp_path):
    X = windows(24, 10, 132)
    y = np.arange(24) % 3
    params = small(family, features="positions+velocity")
    F = feature_windows(X, params, MP_LAYOUT).reshape(-1, 264)
    keras.utils.set_random_seed(1)
    model = build_lstm(params, (10, 132), 3, (F.mean(0), F.std(0) + 1e-3), MP_LAYOUT)
    history = model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(again.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-5)


@slow
def test_a_fresh_process_loads_every_custom_layer_after_importing_tennis_lab_model(tmp_path):
    X = windows(4, 10, 132)
    expected, paths = {}, []
    for family, features in [("stgcn", "positions+bones"), ("transformer", "positions+velocity")]:
        keras.utils.set_random_seed(2)
        model = build_lstm(small(family, features=features), (10, 132), 3, layout=MP_LAYOUT)
        paths.append(str(tmp_path / f"{family}.keras"))
        model.save(paths[-1])
        expected[paths[-1]] = model.predict(X, verbose=0)
    np.save(tmp_path / "X.npy", X)
    out = subprocess.run(
        [sys.executable, "-c", RELOAD, str(tmp_path / "X.npy"), *paths],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    for path, probs in json.loads(out.stdout.strip().splitlines()[-1]).items():
        np.testing.assert_allclose(np.array(probs), expected[path], atol=1e-5)


@slow
def test_a_family_trains_through_the_training_path_and_is_seeded(tiny_demo):
    from tennis_lab.datacache import load_windows
    from tennis_lab.evaluation import make_splits
    from tennis_lab.training import cross_validate

    data = {"window_size": 30, "overlap": 15}
    windows_, _ = load_windows(tiny_demo, **data)
    splits = make_splits(windows_, seed=7)
    params = {**data, **small("stgcn", features="positions+velocity"), "epochs": 2,
              "batch_size": 64}  # fmt: skip
    first = cross_validate(windows_, splits, params, seed=7)
    again = cross_validate(windows_, splits, params, seed=7)
    assert first.model.name == "stroke_stgcn"
    X = windows_.windows(splits[0].test)  # raw: features and standardisation are the model's
    np.testing.assert_allclose(
        first.model.predict(X, verbose=0), again.model.predict(X, verbose=0), atol=1e-5
    )


@slow
def test_tennis_lab_predict_applies_a_logged_transformer(tiny_demo, tmp_path):
    from tennis_lab.datacache import load_windows
    from tennis_lab.evaluation import make_splits
    from tennis_lab.tracking import log_training_run
    from tennis_lab.training import cross_validate

    data = {"window_size": 30, "overlap": 15, "include_idle": True}
    windows_, _ = load_windows(tiny_demo, **data)
    splits = make_splits(windows_, seed=7)
    params = {**data, **small("transformer", features="positions+velocity"), "epochs": 2,
              "batch_size": 64}  # fmt: skip
    result = cross_validate(windows_, splits, params, seed=7)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = log_training_run(result, params, tracking_uri=uri, experiment="families")
    out = subprocess.run(
        [sys.executable, "-m", "tennis_lab", "predict", str(tiny_demo / "poses" / "ana_01.npz"),
         "--model", run_id, "--tracking-uri", uri, "--output", "timeline.csv"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "timeline.csv").is_file()
