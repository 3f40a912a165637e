"""Tests for tennis_lab.preflight: every combination checked as its notebook would, first.

No test here starts a kernel: each calls :func:`check_combinations` or
``search.plan`` directly, or ``run_search`` and shows that it raised before any
notebook, result file or MLflow store was written.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from conftest import recording, write_dataset

from tennis_lab import grids, paths
from tennis_lab.poses import DataFormatError
from tennis_lab.preflight import PreflightError, check_combinations
from tennis_lab.search import SearchConfig, plan, run_search, tunable_defaults


@pytest.fixture(scope="module")
def defaults() -> dict:
    """The real tunable parameters of notebooks/train.ipynb."""
    return tunable_defaults(paths.notebooks_dir() / "train.ipynb")


def check(combos, defaults, data_dir=None, **kw):
    return check_combinations(combos, defaults, data_dir, {"seed": 42}, grid="mine", **kw)


def write_grid(tmp_path: Path, body: dict, name: str = "mine") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {"learning_rate": -0.001},
            r"grid 'mine': combination 2 of 3 \(learning_rate = -0\.001\) would fail in its "
            r"notebook: learning_rate must be a positive number; got -0\.001\. It is the only "
            r"combination with this problem\. Nothing was run\. Fix: use a positive learning rate",
        ),
        ({"learning_rate": 0}, r"\(learning_rate = 0\) .* must be a positive number; got 0\."),
        ({"batch_size": 0}, r"\(batch_size = 0\) .*batch_size must be a whole number >= 1"),
        (
            {"dropout_rates": [0.3, 1.0, 0.2]},
            r"\(dropout_rates = \[0\.3, 1\.0, 0\.2\]\) .*must each be in \[0, 1\); got 1\.0",
        ),
        ({"dropout_rates": [0.3, -0.1, 0.2]}, r"\(dropout_rates = .*must each be in \[0, 1\)"),
        (
            {"lstm_layers": [], "dropout_rates": [0.2]},
            r"\(lstm_layers = \[\]\) .*lstm_layers must be a non-empty list.*Fix: give at least "
            r"one layer",
        ),
        ({"epochs": 0}, r"\(epochs = 0\) .*epochs must be a whole number >= 1"),
        ({"class_weight": "auto"}, r"\(class_weight = \"auto\"\) .*Fix: use 'balanced' or null"),
        ({"split_by": "team"}, r"\(split_by = \"team\"\) .*split_by='team' is not one of"),
        ({"cv_folds": 0}, r"\(cv_folds = 0\) .*cv_folds must be a whole number >= 1"),
    ],
)
def test_a_value_the_notebook_rejects_is_refused_before_any_data_is_read(defaults, bad, message):
    combos = [{"dense_units": 32}, {"dense_units": 64, **bad}, {"dense_units": 128}]
    with pytest.raises(PreflightError, match=message) as e:
        check(combos, defaults, data_dir="/no/such/folder")  # the data is never reached
    assert e.value.combinations == [2]
    assert e.value.key == next(iter(bad))


def test_combinations_sharing_a_problem_are_counted_and_listed(defaults):
    combos = [{"learning_rate": lr, "dense_units": d} for lr in (0.001, -1.0) for d in (8, 16, 32)]
    combos.append({"batch_size": 0})
    with pytest.raises(
        PreflightError,
        match=r"combination 4 of 7 \(learning_rate = -1\.0\) .*3 of the 7 combinations share this "
        r"problem \(combinations 4-6\); 1 more fail other checks\. Nothing was run\.",
    ) as e:
        check(combos, defaults, check_data=False)
    assert e.value.combinations == [4, 5, 6]


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def small_data(tiny_demo) -> Path:
    return tiny_demo


def test_a_window_longer_than_every_recording_is_refused(defaults, small_data):
    combos = [{"window_size": 30, "overlap": 15}, {"window_size": 5000, "overlap": 15}]
    with pytest.raises(
        PreflightError,
        match=r"combination 2 of 2 \(window_size = 5000\) would fail in its notebook on the data "
        r"in .*: No sequences created: window_size 5000 frames .* longer than every recording",
    ):
        check(combos, defaults, small_data)


def test_an_unknown_normalization_is_refused(defaults, small_data):
    with pytest.raises(
        PreflightError,
        match=r"\(normalization = \"hips\"\) .*normalization='hips' is not one of .*Fix: use "
        r"'body' or 'none'",
    ):
        check([{"normalization": "hips"}], defaults, small_data)


def test_too_few_groups_to_split_is_refused(defaults, dataset_dir):
    # two annotated videos (and one without strokes), no videos.csv: split by video
    with pytest.raises(
        PreflightError,
        match=r"combination 1 of 1 .*a split by video needs at least 3 videos with annotated "
        r"strokes",
    ):
        check([{"window_size": 10, "overlap": 5}], defaults, dataset_dir)


def test_too_many_folds_for_the_players_are_refused(defaults, small_data):
    with pytest.raises(PreflightError, match=r"\(cv_folds = 10\) .*cv_folds=10 needs at least 10"):
        check([{"cv_folds": 10}], defaults, small_data)


def test_one_class_only_names_the_dataset_and_the_fix(defaults, tmp_path):
    recs = [recording(f"v{i}", 300, seed=i) for i in range(4)]
    rows = [(f"v{i}", s, s + 40, "forehand") for i in range(4) for s in (20, 120, 220)]
    root = write_dataset(tmp_path / "onlyforehand", recs, rows)
    with pytest.raises(
        PreflightError,
        match=r"the dataset .*onlyforehand has strokes of one class only \(forehand\), and a "
        r"classifier needs at least two\. 2 of the 2 combinations share this problem.*Fix: "
        r"annotate strokes of at least two classes .*or set include_idle: \[true\]",
    ):
        check([{"dense_units": 8, "include_idle": False},
               {"dense_units": 16, "include_idle": False}], defaults, root)  # fmt: skip
    # The default keeps idle windows: strokes and "no stroke" are two classes.
    assert defaults["include_idle"] is True
    check([{"dense_units": 8}], defaults, root)


def test_a_missing_data_folder_is_refused(defaults, tmp_path):
    with pytest.raises(DataFormatError, match=r"dataset folder does not exist"):
        check([{}], defaults, tmp_path / "nothere")


def test_a_data_folder_that_does_not_load_is_refused(defaults, tmp_path):
    (tmp_path / "empty" / "poses").mkdir(parents=True)
    with pytest.raises(DataFormatError, match=r"no recordings \(\*\.npz\) found"):
        check([{}], defaults, tmp_path / "empty")


def test_a_file_given_for_the_data_folder_says_so(defaults, tmp_path, small_data):
    a_file = small_data / "videos.csv"
    with pytest.raises(
        PreflightError,
        match=r"^--data-dir .*videos\.csv is a file, not a dataset folder \(its folder is .*\)\. "
        r"Fix: give the dataset folder",
    ):
        check([{}], defaults, a_file)


def test_recordings_without_any_pose_are_counted_in_a_note(defaults, tmp_path):
    recs = [recording(f"v{i}", 200, seed=i) for i in range(4)]
    recs.append(recording("blank", 200, missing=range(200)))
    labels = ("forehand", "backhand")
    rows = [(f"v{i}", s, s + 40, labels[(i + s) % 2]) for i in range(4) for s in (20, 100)]
    root = write_dataset(tmp_path / "withblank", recs, rows)
    report = check([{"window_size": 30, "overlap": 15}], defaults, root)
    assert any(
        "1 of 5 recordings" in n and "no pose in any frame (blank)" in n for n in report.notes
    ), report.notes


def test_windows_are_made_once_per_distinct_data_setting_and_cached_for_the_runs(
    defaults, small_data, tmp_path, monkeypatch
):
    monkeypatch.setenv("TENNIS_LAB_CACHE", str(tmp_path / "cache"))
    combos = [
        {"window_size": w, "overlap": 10, "dense_units": d} for w in (20, 30) for d in (8, 16, 32)
    ]
    report = check(combos, defaults, small_data)
    assert (report.combinations, report.windowings, report.splits) == (6, 2, 2)
    assert len(list((tmp_path / "cache" / "windows").glob("*.npz"))) == 2
    assert "Checked 6 combination(s) before any run: 2 distinct windowing(s)" in report.format()


# --------------------------------------------------------------------------- through the search


def test_plan_checks_sampled_random_values(defaults, small_data, tmp_path):
    ranges = tmp_path / "r.yaml"
    ranges.write_text(yaml.safe_dump({"ranges": {"batch_size": [8, 64, "log"]}}))
    cfg = SearchConfig(grid=str(ranges), random=True, n_samples=4, data_dir=str(small_data))
    _, combos, _ = plan(cfg, defaults)  # a float batch size would fail check_training_params
    assert all(type(c["batch_size"]) is int for c in combos)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"ranges": {"learning_rate": [-0.01, 0.01, "float"]}}))
    cfg = SearchConfig(grid=str(bad), random=True, n_samples=20, data_dir=str(small_data))
    with pytest.raises(PreflightError, match=r"grid 'bad': combination \d+ of 20 \(learning_rate"):
        plan(cfg, defaults)


def test_a_108_combination_grid_with_one_bad_value_fails_in_seconds(defaults, tmp_path):
    medium = yaml.safe_load((grids.GRIDS_DIR / "medium.yaml").read_text())
    medium["grid"][2]["learning_rate"] = [0.0001, -0.0005, 0.001]
    path = write_grid(tmp_path, medium, name="medium_bad")
    cfg = SearchConfig(
        grid=str(path), data_dir=str(tmp_path / "never_read"),
        output_dir=str(tmp_path / "output"), reports_dir=str(tmp_path / "reports"),
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )  # fmt: skip
    started = time.perf_counter()
    with pytest.raises(
        PreflightError,
        match=r"grid 'medium_bad': combination 75 of 108 \(learning_rate = -0\.0005\) .*6 of the "
        r"108 combinations share this problem",
    ):
        run_search(cfg)
    assert time.perf_counter() - started < 20
    # nothing started: no kernel, no notebook, no results, no MLflow store
    assert not (tmp_path / "reports").exists() and not (tmp_path / "output").exists()
    assert not (tmp_path / "mlflow.db").exists()


def test_a_search_on_data_it_cannot_split_fails_before_any_notebook(dataset_dir, tmp_path):
    path = write_grid(tmp_path, {"grid": {"window_size": [10], "overlap": [5]}})
    cfg = SearchConfig(
        grid=str(path), data_dir=str(dataset_dir), output_dir=str(tmp_path / "output"),
        reports_dir=str(tmp_path / "reports"), tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )  # fmt: skip
    with pytest.raises(PreflightError, match=r"needs at least 3 videos"):
        run_search(cfg)
    assert not (tmp_path / "reports").exists() and not (tmp_path / "mlflow.db").exists()


def test_show_grid_runs_the_same_checks(small_data, tmp_path, capsys):
    from tennis_lab.search import main

    path = write_grid(tmp_path, {"grid": {"window_size": [30, 5000], "overlap": [15]}})
    assert main(["--grid", str(path), "--show-grid", "--data-dir", str(small_data)]) == 2
    assert "error: grid 'mine': combination 2 of 2 (window_size = 5000)" in capsys.readouterr().err
    ok = write_grid(tmp_path, {"grid": {"window_size": [30], "overlap": [15]}}, name="ok")
    assert main(["--grid", str(ok), "--show-grid", "--data-dir", str(small_data)]) == 0
    assert "Checked 1 combination(s) before any run: 1 distinct windowing(s)" in (
        capsys.readouterr().out
    )


def test_a_graph_family_on_landmarks_without_a_known_skeleton_is_refused(
    defaults, small_data, tmp_path
):
    import shutil

    from tennis_lab.poses import read_recording, write_recording

    data = tmp_path / "renamed"
    shutil.copytree(small_data, data)
    for path in (data / "poses").glob("*.npz"):
        rec = read_recording(path)
        names = tuple(  # still left/right pairs (for mirroring), but no body part named
            n.replace("left_", "left_x").replace("right_", "right_x")
            if n.startswith(("left_", "right_")) else f"x{n}"
            for n in rec.landmark_names
        )  # fmt: skip
        write_recording(
            type(rec)(rec.video_id, rec.landmarks, rec.fps, names, rec.channel_names), path
        )
    data_params = {"window_size": 30, "overlap": 15, "normalization": "none"}
    combos = [
        data_params,
        {**data_params, "model_family": "stgcn"},
        {**data_params, "features": "positions+bones"},
    ]
    with pytest.raises(
        PreflightError,
        match=r"combination 2 of 3 \(model_family = \"stgcn\"\) would fail in its notebook on "
        r"the data in .*; 1 more fail other checks\. Nothing was run\. Fix: name the landmarks "
        r"as MediaPipe or COCO does",
    ) as e:
        check(combos, defaults, data)
    assert e.value.combinations == [2] and e.value.key == "model_family"
    check(combos[:1], defaults, data)  # the LSTM reads any layout
