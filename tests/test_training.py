"""Tests of tennis_lab.training: a real (small) training, its result, reproducibility."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import TINY_MODEL as TINY  # noqa: E402

from tennis_lab import load_dataset, make_split, make_windows
from tennis_lab.evaluation import macro_f1, make_folds
from tennis_lab.training import (
    SELECTION_METRIC,
    TIMING_METRICS,
    TrainingError,
    cross_validate,
    evaluate_folds,
    fit_folds,
    fit_standardizer,
    metrics_table,
    prepare_fit,
    read_result,
    train_and_evaluate,
    verdict_notes,
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
    timing = set(TIMING_METRICS)
    assert {"epoch_seconds", "first_epoch_seconds"} <= set(result.metrics)
    first = {k: v for k, v in result.metrics.items() if k not in timing}
    second = {k: v for k, v in again.metrics.items() if k not in timing}
    assert first == second
    assert again.history["loss"] == result.history["loss"]


def test_a_split_prepared_apart_trains_and_scores_as_in_one_go(data, result):
    """The notebook builds the model in one cell and trains it in the next."""
    windows, split = data
    prepared = prepare_fit(windows, [split], TINY, seed=3)
    assert prepared.model.built and prepared.X_train.shape[0] == len(split.train)
    fitted = fit_folds(windows, [split], TINY, seed=3, prepared=prepared)
    assert fitted[0].model is prepared.model
    again = evaluate_folds(windows, [split], fitted)
    timing = set(TIMING_METRICS)
    assert {k: v for k, v in again.metrics.items() if k not in timing} == {
        k: v for k, v in result.metrics.items() if k not in timing
    }
    other = make_split(windows, split_by="video", seed=2)
    with pytest.raises(TrainingError, match="prepared is not of these splits"):
        fit_folds(windows, [other], TINY, seed=3, prepared=prepared)
    with pytest.raises(TrainingError, match="1 trained models for 2 splits"):
        evaluate_folds(windows, [split, other], fitted)


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
    assert table.loc[SELECTION_METRIC, "value"] == round(result.metrics[SELECTION_METRIC], 4)
    shown = table.to_html()
    assert f">{int(result.metrics['trainable_params'])}<" in shown and ".000000" not in shown
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


# ------------------------------------------------------------ continuing from a checkpoint


def _recorder():
    """A Keras callback that notes the weights and optimizer step count each fit starts
    with, and the 0-based number of every epoch it trains."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.starts, self.iterations, self.epochs = [], [], []

        def on_train_begin(self, logs=None):
            self.starts.append([w.copy() for w in self.model.get_weights()])
            self.iterations.append(int(self.model.optimizer.iterations))

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)

    return Recorder()


def _load(path):
    import keras

    return keras.models.load_model(str(path), compile=True)


def _standardizer(model) -> list[np.ndarray]:
    """The mean and variance of a model's standardisation layer."""
    layer = model.get_layer("standardize")
    return [np.asarray(layer.mean).reshape(-1), np.asarray(layer.variance).reshape(-1)]


def _same_weights(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def checkpointed(data, tmp_path_factory):
    """A fresh 2-epoch run that saved its model; a pristine copy of that checkpoint."""
    path = tmp_path_factory.mktemp("ckpt") / "trial.keras"
    first = train_and_evaluate(*data, {**TINY, "checkpoint_path": str(path)}, seed=3)
    return first, path


def _copy(path, tmp_path):
    import shutil

    return shutil.copy(path, tmp_path / path.name)


def test_a_run_saves_its_model_with_the_optimizer_state(data, checkpointed):
    windows, split = data
    first, path = checkpointed
    saved = _load(path)
    steps = int(np.ceil(len(split.train) / TINY["batch_size"]))
    assert int(saved.optimizer.iterations) == 2 * steps  # Adam's state is in the file
    assert _same_weights(saved.get_weights(), first.model.get_weights())
    assert first.first_epoch == 0 and first.data["checkpoint_path"] == str(path)
    assert first.metrics["epochs_trained"] == first.metrics["epochs_trained_this_run"] == 2
    assert not list(path.parent.glob("*.partial.keras"))  # written atomically


def test_continuing_trains_only_the_new_epochs_from_the_checkpoint(data, checkpointed, tmp_path):
    windows, split = data
    first, original = checkpointed
    path = _copy(original, tmp_path)
    saved = _load(path)
    recorder = _recorder()
    params = {**TINY, "epochs": 4, "initial_epoch": 2, "checkpoint_path": str(path)}
    more = train_and_evaluate(windows, split, params, seed=3, callbacks=[recorder])
    # it starts where the checkpoint ended: its weights and its optimizer's step count
    assert _same_weights(recorder.starts[0], saved.get_weights())
    assert recorder.iterations == [int(saved.optimizer.iterations)]
    # and trains epochs 3 and 4 only (0-based 2 and 3)
    assert recorder.epochs == [2, 3] and more.first_epoch == 2
    assert len(more.history["loss"]) == 2
    assert more.metrics["epochs_trained"] == 4 and more.metrics["epochs_trained_this_run"] == 2
    assert more.data["initial_epoch"] == 2
    steps = int(np.ceil(len(split.train) / TINY["batch_size"]))
    assert int(more.model.optimizer.iterations) == int(saved.optimizer.iterations) + 2 * steps
    # the standardisation layer is the checkpoint's, not refitted
    assert _same_weights(_standardizer(more.model), _standardizer(saved))
    # not a fresh 2-epoch run (same seed and data): it went on from where that one ended
    assert more.history["loss"] != first.history["loss"]
    assert more.history["loss"][0] < first.history["loss"][0]
    # the checkpoint now holds the continued model, ready for the next rung
    assert int(_load(path).optimizer.iterations) == 4 * steps
    assert metrics_table(more).loc["epochs_trained", "value"] == 4


def test_a_continued_run_keeps_the_checkpoint_standardizer(data, checkpointed, tmp_path):
    """Mirrored copies change the training windows' statistics: they are not refitted."""
    windows, split = data
    _, original = checkpointed
    path = _copy(original, tmp_path)
    saved = _standardizer(_load(path))
    params = {**TINY, "epochs": 3, "initial_epoch": 2, "checkpoint_path": str(path),
              "augment_mirror": True}  # fmt: skip
    more = train_and_evaluate(windows, split, params, seed=3)
    assert more.data["train_samples"] == 2 * len(split.train)
    X = windows.windows(split.train)
    refit_mean, _ = fit_standardizer(np.concatenate([X, windows.mirror(X)]))
    assert _same_weights(_standardizer(more.model), saved)
    assert not np.allclose(_standardizer(more.model)[0], refit_mean)  # a refit would differ


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"initial_epoch": 2}, r"initial_epoch=2 must be less than epochs=2: epochs is the total"),
        ({"initial_epoch": 3}, r"initial_epoch=3 must be less than epochs=2"),
        ({"initial_epoch": -1}, r"initial_epoch must be a whole number >= 0 .*; got -1"),
        ({"initial_epoch": 1.0}, r"initial_epoch must be a whole number >= 0 .*; got 1.0"),
        ({"initial_epoch": True}, r"initial_epoch must be a whole number >= 0 .*; got True"),
        ({"initial_epoch": 1}, r"initial_epoch=1 continues .* but checkpoint_path is empty"),
        ({"checkpoint_path": "model.h5"}, r"checkpoint_path must end in '.keras'.*'model.keras'"),
        ({"checkpoint_path": 3}, r"checkpoint_path must be a file path or ''; got 3"),
    ],
)
def test_bad_continuation_parameters(data, params, message):
    with pytest.raises(TrainingError, match=message):
        train_and_evaluate(*data, {**TINY, **params})


def test_continuing_from_a_missing_checkpoint_names_it_and_the_fix(data, tmp_path):
    from tennis_lab.training import check_training_params

    missing = tmp_path / "never_saved.keras"
    params = {**TINY, "initial_epoch": 1, "checkpoint_path": str(missing)}
    fix = "there is no such file. Run first with initial_epoch=0 and this checkpoint_path"
    with pytest.raises(TrainingError, match=f"checkpoint '{re.escape(str(missing))}'.*{fix}"):
        check_training_params(params)  # before any data: the notebook's first cell
    with pytest.raises(TrainingError, match=f"checkpoint '{re.escape(str(missing))}'.*{fix}"):
        train_and_evaluate(*data, params)
    junk = tmp_path / "junk.keras"
    junk.write_text("not a model")
    with pytest.raises(
        TrainingError, match=f"cannot read checkpoint '{re.escape(str(junk))}' as a Keras model"
    ):
        train_and_evaluate(*data, {**params, "checkpoint_path": str(junk)})


@pytest.mark.parametrize("other", ["window", "classes"])
def test_a_checkpoint_of_other_windows_is_refused(data, tmp_path, other):
    from tennis_lab.model import build_lstm

    windows, split = data
    model_params = {k: TINY[k] for k in ("lstm_layers", "dense_units", "dropout_rates")}
    shape, n_classes = (30, windows.shape[2]), len(windows.classes)
    if other == "window":
        shape = (45, windows.shape[2])
    else:
        n_classes += 1
    path = tmp_path / "other.keras"
    build_lstm(model_params, shape, n_classes).save(str(path))
    with pytest.raises(
        TrainingError,
        match=rf"checkpoint '{re.escape(str(path))}' takes windows of shape "
        rf"\({shape[0]}, {shape[1]}\) and predicts {n_classes} classes, but this run's "
        rf"windows are \(30, {windows.shape[2]}\) with {len(windows.classes)} classes: "
        "continue with the data parameters",
    ):
        train_and_evaluate(
            windows, split, {**TINY, "initial_epoch": 1, "checkpoint_path": str(path)}
        )


def test_cross_validation_keeps_one_checkpoint_per_fold(data, tmp_path):
    from tennis_lab.training import check_training_params, fold_checkpoint

    windows, _ = data
    folds = make_folds(windows, 2, split_by="video", seed=2)
    path = tmp_path / "cv.keras"
    cross_validate(windows, folds, {**TINY, "checkpoint_path": str(path)}, seed=3)
    per_fold = [tmp_path / "cv.fold1.keras", tmp_path / "cv.fold2.keras"]
    assert [fold_checkpoint(path, k) for k in (1, 2)] == per_fold
    assert all(p.is_file() for p in per_fold) and not path.exists()
    saved = [_load(p).get_weights() for p in per_fold]
    assert not _same_weights(*saved)  # two different models

    recorder = _recorder()
    params = {**TINY, "epochs": 3, "initial_epoch": 2, "checkpoint_path": str(path)}
    check_training_params(params, folds=2)  # both files are there
    more = cross_validate(windows, folds, params, seed=3, callbacks=[recorder])
    # each fold went on from its own checkpoint
    assert len(recorder.starts) == 2
    assert all(_same_weights(s, w) for s, w in zip(recorder.starts, saved, strict=True))
    assert recorder.epochs == [2, 2] and more.first_epoch == 2
    assert more.metrics["epochs_trained"] == 3 and more.metrics["epochs_trained_this_run"] == 1
    assert [f["epochs_trained"] for f in more.folds] == [3, 3]
    assert more.data["checkpoint_paths"] == [str(p) for p in per_fold]
    assert not any(
        _same_weights(_load(p).get_weights(), w) for p, w in zip(per_fold, saved, strict=True)
    )

    per_fold[1].unlink()
    with pytest.raises(TrainingError, match=r"cv.fold2.keras' \(fold 2 of checkpoint_path="):
        check_training_params(params, folds=2)


def test_epoch_log_writes_one_line_per_n_epochs_and_the_last():
    from tennis_lab.training import epoch_line, epoch_log

    assert epoch_line(5, 27, {"loss": 0.5123, "val_loss": 0.4981, "lr": 1}, 3.14) == (
        "epoch  5/27  loss 0.512  val_loss 0.498  3.1 s/epoch"
    )
    lines: list[str] = []
    log = epoch_log(5, write=lines.append)
    log.set_params({"epochs": 12})
    log.on_train_begin()
    for epoch in range(7):  # early stopping after 7 of 12
        log.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.5})
    log.on_train_end()
    assert [line.split()[1] for line in lines] == ["5/12", "7/12"]
    assert all("loss" in line and "accuracy 0.500" in line for line in lines)
    full: list[str] = []
    log = epoch_log(5, write=full.append)
    log.set_params({"epochs": 10})
    log.on_train_begin()
    for epoch in range(10):
        log.on_epoch_end(epoch, {"loss": 0.1})
    log.on_train_end()
    assert [line.split()[1] for line in full] == ["5/10", "10/10"]  # the last, once
    with pytest.raises(ValueError, match="log_every"):
        epoch_log(0)


# ------------------------------------------------------------ weak players, a new player


def test_leave_one_player_out_gives_the_score_to_expect_on_a_new_player(tiny_demo):
    windows = make_windows(load_dataset(tiny_demo), window_size=30, overlap=15)
    folds = make_folds(windows, "loo", split_by="player", seed=2)
    cv = cross_validate(windows, folds, TINY, seed=3)
    scores = [g["macro_f1"] for g in cv.groups]
    assert len(scores) == 6  # every player held out once
    m = cv.metrics
    assert m["new_group_macro_f1"] == pytest.approx(np.mean(scores))
    assert (m["new_group_macro_f1_min"], m["new_group_macro_f1_max"]) == (min(scores), max(scores))
    assert m["new_groups"] == 6 and m["cv_folds"] == 6
    assert "worst_group_macro_f1_std" not in m  # a minimum has no spread over folds
    low, high = min(scores), max(scores)
    assert verdict_notes(cv)[0] == (
        f"To expect on a new player: {np.mean(scores):.3f} (held-out players "
        f"{low:.2f}–{high:.2f}, 6 players)"
    )
    assert verdict_notes(cv)[1:] == [f"⚠️ {line}" for line in cv.warnings]
    # every fold's validation strokes are kept, for pairing runs over the same strokes
    assert sorted(set(cv.val_strokes["fold"])) == [1, 2, 3, 4, 5, 6]
    assert len(cv.val_strokes["true"]) == len(cv.val_strokes["pred"]) > 0


@pytest.fixture(scope="module")
def ten_players(tmp_path_factory):
    from tennis_lab import make_demo_dataset

    return make_demo_dataset(tmp_path_factory.mktemp("ten") / "demo", n_players=10,
                             videos_per_player=1, seconds_per_video=40)  # fmt: skip


def test_a_left_handed_player_mirrored_wrongly_is_flagged_as_weak(ten_players, tmp_path):
    """bruno is left-handed; videos.csv calling him right-handed leaves him unmirrored."""
    import shutil

    import pandas as pd

    wrong = tmp_path / "wrong"
    shutil.copytree(ten_players, wrong)
    videos = pd.read_csv(wrong / "videos.csv")
    videos.loc[videos["player"] == "bruno", "handedness"] = "right"
    videos.to_csv(wrong / "videos.csv", index=False)
    params = {**TINY, "lstm_layers": [32], "dense_units": 32, "learning_rate": 0.005,
              "batch_size": 32, "epochs": 40}  # fmt: skip

    def run(root):
        windows = make_windows(load_dataset(root), window_size=30, overlap=15)
        pinned = ["bruno", "ana", "carla"]
        split = make_split(windows, split_by="player", seed=1, test_groups=pinned)
        result = train_and_evaluate(windows, split, params, seed=3)
        return {g["group"]: g["macro_f1"] for g in result.groups}, result.warnings

    scores, warnings = run(wrong)
    right, _ = run(ten_players)
    assert scores["bruno"] < right["bruno"] - 0.3  # the wrong hand costs him, not the others
    weak = [w for w in warnings if w.startswith("weak player")]
    assert weak and weak[0].startswith("weak player bruno: test macro F1")
    assert any("validation does not predict" in w for w in warnings)
