"""Tests of tennis_lab.training: a real (small) training, its result, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY_MODEL as TINY  # noqa: E402

from tennis_lab import load_dataset, make_split, make_windows
from tennis_lab.evaluation import macro_f1, make_folds
from tennis_lab.training import (
    SELECTION_METRIC,
    TrainingError,
    cross_validate,
    fit_standardizer,
    metrics_table,
    read_result,
    train_and_evaluate,
    write_result,
)

pytestmark = pytest.mark.slow  # trains models and starts kernels


@pytest.fixture(scope="module")
def data(tiny_demo):
    root = tiny_demo
    windows = make_windows(load_dataset(root), window_size=30, overlap=15)
    return windows, make_split(windows, split_by="video", seed=1)


@pytest.fixture(scope="module")
def result(data):
    return train_and_evaluate(*data, TINY, seed=3)


def test_result_holds_every_metric_of_the_guide(data, result):
    windows, split = data
    m = result.metrics
    for name in (
        SELECTION_METRIC, "train_macro_f1_score", "test_accuracy", "test_loss",
        "macro_avg_precision", "macro_avg_recall", "macro_avg_f1_score",
        "weighted_avg_precision", "weighted_avg_recall", "weighted_avg_f1_score",
        "epochs_trained", "training_time_seconds", "training_time_minutes",
        "trainable_params", "inference_ms_per_window",
    ):  # fmt: skip
        assert name in m and np.isfinite(m[name]), name
    for cls in windows.classes:
        for suffix in ("precision", "recall", "f1_score", "support"):
            assert f"{cls}_{suffix}" in m
    assert sum(m[f"{c}_support"] for c in windows.classes) == len(split.test)
    assert 0 <= m["macro_avg_f1_score"] <= 1 and 0 <= m["test_accuracy"] <= 1
    assert m["epochs_trained"] == 2 and len(result.history["loss"]) == 2
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(result.history)
    assert m["training_time_minutes"] == pytest.approx(m["training_time_seconds"] / 60)
    # 1 LSTM(8) on F features + Dense(8) + output
    F, C = windows.shape[2], len(windows.classes)
    assert m["trainable_params"] == 4 * 8 * (F + 8 + 1) + (8 * 8 + 8) + (8 * C + C)


def test_confusion_and_report_describe_the_test_split(data, result):
    windows, split = data
    assert result.confusion.shape == (len(windows.classes),) * 2
    assert result.confusion.sum() == len(split.test)
    np.testing.assert_array_equal(
        result.confusion.sum(axis=1),
        np.bincount(windows.y[split.test], minlength=len(windows.classes)),
    )
    assert result.confusion.trace() / len(split.test) == pytest.approx(
        result.metrics["test_accuracy"], abs=1e-6
    )
    for cls in windows.classes:
        assert cls in result.report
    assert result.data["test_samples"] == len(split.test)
    assert result.data["input_shape"] == [30, windows.shape[2]]


def test_same_seed_same_metrics(data, result):
    windows, split = data
    again = cross_validate(windows, [split], TINY, seed=3)  # one split: train_and_evaluate
    assert again.folds == [] and "cv_folds" not in again.metrics
    timing = {"training_time_seconds", "training_time_minutes", "inference_ms_per_window"}
    first = {k: v for k, v in result.metrics.items() if k not in timing}
    second = {k: v for k, v in again.metrics.items() if k not in timing}
    assert first == second
    assert again.history["loss"] == result.history["loss"]


def test_standardizer_uses_every_frame_and_guards_constant_features():
    X = np.zeros((2, 3, 2), dtype=np.float32)
    X[..., 0] = np.arange(6).reshape(2, 3)
    mean, std = fit_standardizer(X)
    np.testing.assert_allclose(mean, [2.5, 0.0])
    np.testing.assert_allclose(std, [np.std(np.arange(6)), 1.0])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"batch_size": 0}, "batch_size must be a whole number >= 1; got 0"),
        ({"epochs": 2.5}, "epochs must be a whole number >= 1; got 2.5"),
        ({"class_weight": "equal"}, "class_weight must be 'balanced' or None; got 'equal'"),
    ],
)
def test_bad_training_parameters(data, params, message):
    with pytest.raises(TrainingError, match=message):
        train_and_evaluate(*data, {**TINY, **params})


def test_metrics_table_and_result_file(result, tmp_path):
    table = metrics_table(result)
    assert table.loc[SELECTION_METRIC, "value"] == result.metrics[SELECTION_METRIC]
    write_result(result, tmp_path / "r" / "result.json", run_id="abc")
    back = read_result(tmp_path / "r" / "result.json")
    assert back["run_id"] == "abc" and back["metrics"] == result.metrics
    assert back["confusion"] == result.confusion.tolist()


def test_strokes_are_scored_per_group_with_the_same_rule(data, result):
    windows, split = data
    m = result.metrics
    assert SELECTION_METRIC == "val_stroke_macro_f1"
    test_strokes = np.isin(windows.strokes["video"], split.test_videos)
    assert m["test_strokes"] == test_strokes.sum() and m["test_strokes_unreached"] == 0
    assert m["val_strokes"] == np.isin(windows.strokes["video"], split.val_videos).sum()
    # split by video here: one group per test video, all test strokes scored once
    assert sorted(g["group"] for g in result.groups) == sorted(split.test_groups)
    assert sum(g["strokes"] for g in result.groups) == m["test_strokes"]
    assert m["worst_group_macro_f1"] == min(g["macro_f1"] for g in result.groups)
    for value in (m[SELECTION_METRIC], m["test_stroke_macro_f1"], m["worst_group_macro_f1"]):
        assert 0 <= value <= 1
    # window-level macro F1 follows the same rule: classes present in the test windows
    assert m["macro_avg_f1_score"] == pytest.approx(macro_f1(result.test_true, result.test_pred))


def test_augment_mirror_doubles_the_training_windows(data, result):
    windows, split = data
    mirrored = train_and_evaluate(windows, split, {**TINY, "augment_mirror": True}, seed=3)
    assert mirrored.data["train_samples"] == 2 * result.data["train_samples"]
    assert mirrored.data["augment_mirror"] is True
    assert mirrored.data["val_samples"] == result.data["val_samples"]  # only training grows
    with pytest.raises(TrainingError, match="augment_mirror must be True or False; got 'yes'"):
        train_and_evaluate(windows, split, {**TINY, "augment_mirror": "yes"})


def test_cross_validate_means_folds_and_tests_every_group_once(data):
    windows, _ = data
    folds = make_folds(windows, 3, split_by="video", seed=2)
    cv = cross_validate(windows, folds, TINY, seed=3)
    assert [f["fold"] for f in cv.folds] == [1, 2, 3]
    values = [f[SELECTION_METRIC] for f in cv.folds]
    assert cv.metrics[SELECTION_METRIC] == pytest.approx(np.mean(values))
    assert cv.metrics[f"{SELECTION_METRIC}_std"] == pytest.approx(np.std(values, ddof=1))
    assert cv.metrics["cv_folds"] == 3
    tested = sorted(g["group"] for g in cv.groups)
    assert tested == sorted(set(windows.video_ids) & set(windows.strokes["video"]))
    assert cv.metrics["worst_group_macro_f1"] == min(g["macro_f1"] for g in cv.groups)
    assert cv.confusion.sum() == sum(len(f.test) for f in folds)  # pooled over folds
    best = int(np.argmax(values))
    assert cv.data["model_fold"] == best + 1
    assert cv.metrics["training_time_seconds"] > max(
        f["training_time_minutes"] * 60 for f in cv.folds
    )  # the sum of the folds
