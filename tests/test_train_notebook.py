"""notebooks/train.ipynb executed by papermill in a real kernel, tracked in a real MLflow store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import papermill
import pytest
from conftest import TINY_MODEL  # noqa: E402

from tennis_lab.paths import notebooks_dir
from tennis_lab.training import read_result

pytestmark = pytest.mark.slow  # trains models and starts kernels

NOTEBOOK = notebooks_dir() / "train.ipynb"
TINY = {"window_size": 30, "overlap": 15, **TINY_MODEL}


@pytest.fixture(scope="module")
def tiny_data(tiny_demo):
    return tiny_demo


def test_notebook_is_committed_clean_with_every_parameter():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = set(papermill.inspect_notebook(str(NOTEBOOK)))
    expected = {
        "data_dir", "window_size", "overlap", "enable_fps_scaling", "normalization",
        "lstm_layers", "dense_units", "dropout_rates", "use_batch_norm", "use_bidirectional",
        "learning_rate", "batch_size", "epochs", "seed",
        "tracking_uri", "experiment", "parent_run_id", "search_id", "config_id",
        "mirror_left_handed", "augment_mirror", "split_by", "test_groups", "cv_folds",
        "initial_epoch", "checkpoint_path",
    }  # fmt: skip
    assert expected <= names


@pytest.fixture(scope="module")
def executed(tiny_data, tmp_path_factory):
    work = tmp_path_factory.mktemp("nbrun")
    uri = f"sqlite:///{work / 'mlflow.db'}"
    params = {
        **TINY,
        "data_dir": str(tiny_data),
        "tracking_uri": uri,
        "experiment": "notebook_test",
        "search_id": "search-1",
        "config_id": "cfg123",
        "run_name": "grid_search_run_1",
        "result_path": str(work / "result.json"),
    }
    out = work / "executed.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters=params, progress_bar=False)
    return out, uri, read_result(work / "result.json")


def test_executed_notebook_shows_the_run(executed):
    out, _, result = executed
    nb = nbformat.read(out, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])
    assert "epoch 2/2  loss " in text and "s/epoch" in text  # the training log, one line
    assert "Epoch 1/2" not in text  # not Keras' two lines per epoch
    assert "image/png" in text  # figures rendered
    assert "Total params" in text  # model summary
    assert f"MLflow run id: {result['run_id']}" in text


def test_mlflow_run_has_params_metrics_and_artifacts(executed):
    from mlflow.tracking import MlflowClient

    _, uri, result = executed
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(result["run_id"])
    assert client.get_experiment(run.info.experiment_id).name == "notebook_test"
    assert run.info.status == "FINISHED" and run.info.run_name == "grid_search_run_1"
    p = run.data.params
    assert p["lstm_layers"] == "[8]" and p["dropout_rates"] == "[0.1, 0.1]"
    assert p["use_batch_norm"] == "False" and p["uses_batch_normalization"] == "False"
    assert p["window_size"] == "30" and p["overlap"] == "15" and p["enable_fps_scaling"] == "True"
    assert p["learning_rate"] == "0.01" and p["batch_size"] == "64"
    assert int(p["num_classes"]) == len(result["classes"])
    m = run.data.metrics
    assert m["macro_avg_f1_score"] == pytest.approx(result["metrics"]["macro_avg_f1_score"])
    for name in (
        "test_accuracy", "training_time_minutes", "val_macro_f1_score", "forehand_recall",
        "val_stroke_macro_f1", "test_stroke_macro_f1", "worst_group_macro_f1",
    ):  # fmt: skip
        assert name in m
    assert p["split_by"] == "auto" and p["mirror_left_handed"] == "True"
    history = client.get_metric_history(run.info.run_id, "epoch_val_loss")
    assert [h.step for h in history] == [0, 1]
    assert run.data.tags["search_id"] == "search-1" and run.data.tags["config_id"] == "cfg123"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    artifacts |= {
        a.path for d in ("model", "plots") for a in client.list_artifacts(run.info.run_id, d)
    }
    assert {
        "model/model.keras",
        "model/MLmodel",  # an MLflow model: tennis-lab predict loads it with its preprocessing
        "plots/learning_curves.png",
        "plots/confusion_matrix.png",
        "classification_report.txt",
        "label_classes.json",
        "per_group.json",
        "plots/group_scores.png",
    } <= artifacts
    local = client.download_artifacts(run.info.run_id, "per_group.json", str(_tmp(uri)))
    groups = json.loads(Path(local).read_text(encoding="utf-8"))
    assert [g["group"] for g in groups] == [g["group"] for g in result["groups"]]
    assert {g["group"] for g in groups} == set(result["data"]["test_groups"])


def _tmp(uri: str) -> Path:
    folder = Path(uri.removeprefix("sqlite:///")).parent / "downloads"
    folder.mkdir(exist_ok=True)
    return folder


def test_cross_validation_by_player_tests_every_player_once(tiny_data, tmp_path):
    """cv_folds=3, split_by=player on six players: three folds, each player tested once."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "cv.ipynb"
    params = {
        **TINY, "data_dir": str(tiny_data), "cv_folds": 3, "split_by": "player",
        "tracking_uri": uri, "experiment": "cv_test", "result_path": str(tmp_path / "r.json"),
    }  # fmt: skip
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters=params, progress_bar=False)
    result = read_result(tmp_path / "r.json")
    players = {"ana", "bruno", "carla", "diego", "eva", "felipe"}
    assert sorted(g["group"] for g in result["groups"]) == sorted(players)  # each exactly once
    assert [f["fold"] for f in result["folds"]] == [1, 2, 3]
    assert {p for f in result["folds"] for p in f["test_groups"].split()} == players
    m = result["metrics"]
    assert m["cv_folds"] == 3
    folds_val = [f["val_stroke_macro_f1"] for f in result["folds"]]
    assert m["val_stroke_macro_f1"] == pytest.approx(sum(folds_val) / 3)
    assert m["val_stroke_macro_f1_std"] >= 0 and "test_stroke_macro_f1_std" in m
    assert m["worst_group_macro_f1"] == min(g["macro_f1"] for g in result["groups"])
    hands = {g["group"]: g["handedness"] for g in result["groups"]}
    assert hands["bruno"] == hands["eva"] == "left" and hands["ana"] == "right"

    nb = nbformat.read(out, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])
    assert "fold 1: train" in text and "fold 3: train" in text  # the folds are shown
    assert "test_groups" in text  # the folds table
    assert "To expect on a new player: " in text  # the held-out players' mean, printed

    client = MlflowClient(tracking_uri=uri)
    history = client.get_metric_history(result["run_id"], "fold_val_stroke_macro_f1")
    assert sorted(h.step for h in history) == [1, 2, 3]
    assert [h.value for h in sorted(history, key=lambda h: h.step)] == pytest.approx(folds_val)
    names = {a.path for a in client.list_artifacts(result["run_id"])}
    assert {"per_group.json", "folds.json"} <= names


def test_bad_parameter_fails_before_training_with_a_clear_error(tiny_data, tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(tmp_path / "bad.ipynb"),
            parameters={
                **TINY,
                "data_dir": str(tiny_data),
                "dropout_rates": [0.1],
                "log_to_mlflow": False,
            },
            progress_bar=False,
        )
    assert "dropout_rates has 1 rates" in str(info.value) and "lstm_layers has 1 layers" in str(
        info.value
    )
    # the failed notebook is written out, showing where it stopped
    nb = nbformat.read(tmp_path / "bad.ipynb", as_version=4)
    assert any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


def test_second_run_reuses_the_prepared_windows(executed, tiny_data, tmp_path):
    # The cache is shared by the whole test session: look at what this run touches.
    folder = Path(os.environ["TENNIS_LAB_CACHE"]) / "windows"
    before = {p: p.stat().st_mtime_ns for p in folder.glob("*.npz")}
    assert before  # the first run wrote its windows
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(tmp_path / "again.ipynb"),
        parameters={**TINY, "data_dir": str(tiny_data), "log_to_mlflow": False, "seed": 7},
        progress_bar=False,
    )
    after = {p: p.stat().st_mtime_ns for p in folder.glob("*.npz")}
    assert after == before  # read from the cache: nothing written, nothing new


def _outputs(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])


def test_a_run_continues_from_its_checkpoint(tiny_data, tmp_path):
    """Epochs 1-2 saved to a checkpoint, then a second kernel trains epoch 3 from it."""
    checkpoint = tmp_path / "trial.keras"
    common = {**TINY, "data_dir": str(tiny_data), "log_to_mlflow": False,
              "checkpoint_path": str(checkpoint)}  # fmt: skip
    papermill.execute_notebook(
        str(NOTEBOOK), str(tmp_path / "rung0.ipynb"), progress_bar=False,
        parameters={**common, "result_path": str(tmp_path / "rung0.json")},
    )  # fmt: skip
    assert checkpoint.is_file()
    first = read_result(tmp_path / "rung0.json")
    assert first["metrics"]["epochs_trained"] == 2
    assert "continuing from epoch" not in _outputs(tmp_path / "rung0.ipynb")

    papermill.execute_notebook(
        str(NOTEBOOK), str(tmp_path / "rung1.ipynb"), progress_bar=False,
        parameters={**common, "initial_epoch": 2, "epochs": 3,
                    "result_path": str(tmp_path / "rung1.json")},
    )  # fmt: skip
    text = _outputs(tmp_path / "rung1.ipynb")
    assert f"continuing from epoch 2 of {checkpoint}" in text
    assert "epoch 3/3" in text and "epoch 1/3" not in text  # only the new epoch trains
    more = read_result(tmp_path / "rung1.json")
    assert more["metrics"]["epochs_trained"] == 3
    assert more["metrics"]["epochs_trained_this_run"] == 1
    assert more["data"]["initial_epoch"] == 2


def test_a_missing_checkpoint_fails_before_any_data_is_loaded(tmp_path):
    missing = tmp_path / "never_saved.keras"
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(tmp_path / "bad.ipynb"),
            parameters={
                **TINY,
                "data_dir": str(tmp_path / "no_such_dataset"),  # never reached
                "initial_epoch": 1,
                "checkpoint_path": str(missing),
                "log_to_mlflow": False,
            },
            progress_bar=False,
        )
    message = str(info.value)
    assert f"initial_epoch=1 continues from checkpoint '{missing}'" in message
    assert "Run first with initial_epoch=0 and this checkpoint_path" in message


def test_a_model_trained_on_tensorflow_scores_the_same_on_jax(tiny_data, tmp_path):
    """keras_backend='tensorflow' (every other run of the tests is on JAX, the default):
    the run trains on it and records it; the logged model, loaded on JAX in a fresh
    process, scores the test windows as the run did."""
    trained_on, loaded_on = "tensorflow", "jax"
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    params = {
        **TINY, "data_dir": str(tiny_data), "keras_backend": trained_on, "tracking_uri": uri,
        "experiment": "backend_test", "result_path": str(tmp_path / "r.json"),
    }  # fmt: skip
    out = tmp_path / f"{trained_on}.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters=params, progress_bar=False)
    result = read_result(tmp_path / "r.json")
    m = result["metrics"]
    assert m["first_epoch_seconds"] > 0 and m["epoch_seconds"] > 0
    run = MlflowClient(tracking_uri=uri).get_run(result["run_id"])
    assert run.data.params["keras_backend"] == trained_on
    assert run.data.metrics["epoch_seconds"] == pytest.approx(m["epoch_seconds"])

    check = f"""
import keras
assert keras.backend.backend() == {loaded_on!r}
from tennis_lab import evaluation
from tennis_lab.datacache import load_windows
from tennis_lab.evaluation import make_splits
from tennis_lab.predict import load_model
windows, _ = load_windows({str(tiny_data)!r}, window_size=30, overlap=15, include_idle=True)
split = make_splits(windows, seed=42)[0]
model = load_model({result["run_id"]!r}, tracking_uri={uri!r})
probs = model.predict_windows(windows.windows(split.test))
print(evaluation.macro_f1(windows.y[split.test], probs.argmax(axis=1)))
"""
    env = {**os.environ, "KERAS_BACKEND": loaded_on}
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert float(done.stdout.split()[-1]) == pytest.approx(m["macro_avg_f1_score"])
