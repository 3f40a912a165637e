"""tracking: real MLflow on a real SQLite file under a temporary folder; no mocks.

A new SQLite store costs seconds (MLflow creates its schema through migrations), so
most tests share one module-scoped store with runs logged once; tests that need a
fresh store or their own experiment say so.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from tennis_lab import paths
from tennis_lab.tracking import (
    DEFAULT_EXPERIMENT,
    TrackingError,
    end_run,
    ensure_experiment,
    log_training_run,
    resolve_tracking_uri,
    run_params,
    runs_dataframe,
    start_parent_run,
)
from tennis_lab.training import RunResult

mlflow = pytest.importorskip("mlflow")
keras = pytest.importorskip("keras")

pytestmark = [
    # Third-party noise: MLflow's SQLAlchemy store and Keras on NumPy 2.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]

CLASSES = ("forehand", "serve")
PARAMS = {
    "lstm_layers": [128, 64],
    "dense_units": 32,
    "dropout_rates": [0.3, 0.3, 0.2],
    "use_batch_norm": True,
    "use_bidirectional": False,
    "learning_rate": 0.001,
    "window_size": 4,
}
HISTORY = {
    "loss": [0.9, 0.7, 0.6],
    "val_loss": [1.0, 0.8, 0.85],
    "accuracy": [0.5, 0.6, 0.7],
    "val_accuracy": [0.4, 0.55, 0.5],
    "learning_rate": [0.001, 0.001, 0.0005],
}


@pytest.fixture(autouse=True)
def _no_stray_store(monkeypatch, tmp_path):
    """A call that forgets its tracking_uri lands in tmp_path, never in the project."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("TENNIS_LAB_ROOT", str(tmp_path / "root"))


def make_result(f1: float = 0.75, model=None, with_model: bool = True) -> RunResult:
    """A RunResult by hand, with a tiny untrained Keras model (``model`` or a new one)."""
    if model is None and with_model:
        model = keras.Sequential(
            [keras.Input((4, 3)), keras.layers.LSTM(2), keras.layers.Dense(2, activation="softmax")]
        )
    metrics = {
        "val_macro_f1_score": f1 + 0.05,
        "macro_avg_f1_score": f1,
        "test_accuracy": 0.9,
        "test_loss": 0.3,
        "forehand_recall": 0.6,
        "serve_recall": 1.0,
        "epochs_trained": 3.0,
    }
    data = {
        "num_classes": 2,
        "classes": list(CLASSES),
        "train_samples": 20,
        "val_samples": 6,
        "test_samples": 8,
        "input_shape": [4, 3],
        "train_class_counts": {"forehand": 12, "serve": 8},
        "val_class_counts": {"forehand": 4, "serve": 2},
        "test_class_counts": {"forehand": 5, "serve": 3},
        "train_videos": ["v1", "v2"],
        "val_videos": ["v3"],
        "test_videos": ["v4"],
    }
    return RunResult(
        metrics=metrics,
        history={k: list(v) for k, v in HISTORY.items()},
        confusion=np.array([[3, 2], [0, 3]]),
        classes=CLASSES,
        report="              precision    recall\n    forehand       1.00      0.60\n",
        data=data,
        model=model,
    )


def make_figure() -> Figure:
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1, 2], [1, 0, 1])
    return fig


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """One SQLite store with a parent run, two children and one run on its own."""
    folder = tmp_path_factory.mktemp("store") / "nested" / "dir"
    db = folder / "mlflow.db"
    uri = f"sqlite:///{db}"
    existed_before = db.exists() or folder.exists()
    experiment_id = ensure_experiment(DEFAULT_EXPERIMENT, uri)  # creates folder, file, schema
    extra = folder / "notebook.ipynb"
    extra.write_text('{"cells": []}', encoding="utf-8")
    parent = start_parent_run(
        experiment_id, "search_small", tags={"search_id": "s1"}, params={"grid": "small"},
        tracking_uri=uri,
    )  # fmt: skip
    model = keras.Sequential(
        [keras.Input((4, 3)), keras.layers.LSTM(2), keras.layers.Dense(2, activation="softmax")]
    )
    good = log_training_run(
        make_result(0.75, model),
        PARAMS,
        tracking_uri=uri,
        parent_run_id=parent,
        run_name="grid_search_small_001",
        tags={"search_id": "s1", "config_id": "abc123", "grid": "small", "status": "COMPLETED"},
        figures={"confusion": make_figure()},
        extra_artifacts={"notebook": str(extra)},
    )
    weak = log_training_run(
        make_result(0.40),
        {**PARAMS, "use_batch_norm": False, "lstm_layers": [64, 32]},
        tracking_uri=uri,
        parent_run_id=parent,
        run_name="config_002",
        tags={"search_id": "s1", "config_id": "def456"},
    )
    end_run(parent, tracking_uri=uri)
    alone = log_training_run(make_result(0.9), PARAMS, tracking_uri=uri, run_name="manual")
    return {
        "uri": uri,
        "folder": folder,
        "db": db,
        "existed_before": existed_before,
        "experiment_id": experiment_id,
        "parent": parent,
        "good": good,
        "weak": weak,
        "alone": alone,
        "model": model,
        "client": mlflow.MlflowClient(uri),
    }


# --- resolve_tracking_uri, run_params, import cost ---------------------------------------


def test_resolve_tracking_uri_prefers_argument_then_env_then_project_root(monkeypatch, tmp_path):
    root = tmp_path / "root"
    assert resolve_tracking_uri() == f"sqlite:///{root / 'mlflow.db'}"
    assert resolve_tracking_uri() == paths.default_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////env/mlflow.db")
    assert resolve_tracking_uri() == "sqlite:////env/mlflow.db"
    assert resolve_tracking_uri("http://localhost:5000") == "http://localhost:5000"


def test_run_params_writes_lists_as_json_bools_as_text_and_adds_the_guide_alias():
    out = run_params({**PARAMS, "fps_scaling": False, "note": "x", "shape": (4, 3)})
    assert out["lstm_layers"] == "[128, 64]"
    assert out["dropout_rates"] == "[0.3, 0.3, 0.2]"
    assert out["use_batch_norm"] == "True"
    assert out["uses_batch_normalization"] == "True"
    assert out["fps_scaling"] == "False"
    assert out["learning_rate"] == "0.001"
    assert out["dense_units"] == "32"
    assert out["note"] == "x"
    assert out["shape"] == "[4, 3]"
    assert all(isinstance(v, str) for v in out.values())
    assert "uses_batch_normalization" not in run_params({"dense_units": 8})
    assert run_params({"use_batch_norm": np.bool_(False)})["uses_batch_normalization"] == "False"
    assert run_params({"lstm_layers": np.array([8, 4])})["lstm_layers"] == "[8, 4]"


def test_importing_tracking_does_not_import_mlflow():
    code = "import sys, tennis_lab.tracking; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_tracking_draws_no_figure_and_imports_no_training():
    code = (
        "import sys, tennis_lab.tracking; print(sorted(m for m in sys.modules if m == "
        "'matplotlib' or m.startswith(('tennis_lab.plots', 'tennis_lab.training'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- ensure_experiment ----------------------------------------------------------------


def test_ensure_experiment_creates_the_database_and_is_idempotent(store):
    # The store fixture's first call made the folders, the database and the experiment
    # (a second fresh store would cost seconds of schema creation).
    uri, db = store["uri"], store["db"]
    assert not store["existed_before"]
    assert db.is_file()
    assert ensure_experiment(DEFAULT_EXPERIMENT, uri) == store["experiment_id"]
    experiment = store["client"].get_experiment(store["experiment_id"])
    assert experiment.name == DEFAULT_EXPERIMENT
    expected = (db.parent / "mlartifacts" / DEFAULT_EXPERIMENT).as_uri()
    assert experiment.artifact_location == expected
    other = ensure_experiment("other experiment/v2", uri)
    assert other != store["experiment_id"]
    assert ensure_experiment("other experiment/v2", uri) == other
    location = store["client"].get_experiment(other).artifact_location
    assert location == (db.parent / "mlartifacts" / "other_experiment_v2").as_uri()


# --- one logged run: params, metrics, history, artifacts, tags ---------------------------


def test_logged_run_has_params_with_guide_names_and_data_facts(store):
    params = store["client"].get_run(store["good"]).data.params
    assert params["lstm_layers"] == "[128, 64]"
    assert params["dropout_rates"] == "[0.3, 0.3, 0.2]"
    assert params["use_batch_norm"] == "True"
    assert params["uses_batch_normalization"] == "True"
    assert params["learning_rate"] == "0.001"
    assert params["num_classes"] == "2"
    assert params["train_samples"] == "20"
    assert params["val_samples"] == "6"
    assert params["test_samples"] == "8"
    assert params["input_shape"] == "[4, 3]"
    assert params["classes"] == '["forehand", "serve"]'
    assert params["train_count_forehand"] == "12"
    assert params["val_count_serve"] == "2"
    assert params["test_count_forehand"] == "5"


def test_logged_run_has_every_final_metric(store):
    metrics = store["client"].get_run(store["good"]).data.metrics
    expected = make_result(0.75).metrics
    assert metrics["macro_avg_f1_score"] == pytest.approx(0.75)
    assert metrics["test_accuracy"] == pytest.approx(0.9)
    assert metrics["forehand_recall"] == pytest.approx(0.6)
    assert {k: pytest.approx(v) for k, v in expected.items()} == {k: metrics[k] for k in expected}


def test_logged_run_has_per_epoch_curves_with_epoch_steps(store):
    client = store["client"]
    metrics = client.get_run(store["good"]).data.metrics
    for name, values in HISTORY.items():
        history = client.get_metric_history(store["good"], f"epoch_{name}")
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == [0, 1, 2]
        assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx(values)
        assert metrics[f"epoch_{name}"] == pytest.approx(values[-1])  # latest step


def _artifact_paths(client, run_id: str, path: str | None = None) -> set[str]:
    out = set()
    for item in client.list_artifacts(run_id, path):
        out |= _artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return out


def test_logged_run_has_model_plots_report_classes_and_confusion(store, tmp_path):
    client, run_id = store["client"], store["good"]
    assert _artifact_paths(client, run_id) == {
        "model/model.keras",
        "plots/confusion.png",
        "classification_report.txt",
        "label_classes.json",
        "confusion_matrix.json",
        "data.json",
        "notebook/notebook.ipynb",
    }
    # Artifacts live beside the database, where `mlflow ui` from that folder finds them.
    artifact_uri = client.get_run(run_id).info.artifact_uri
    assert artifact_uri.startswith((store["folder"] / "mlartifacts").as_uri())

    local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path),
                                                     tracking_uri=store["uri"]))  # fmt: skip
    loaded = keras.models.load_model(local / "model" / "model.keras")
    x = np.random.default_rng(0).random((2, 4, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), store["model"].predict(x, verbose=0))
    assert (local / "plots" / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "forehand       1.00      0.60" in (local / "classification_report.txt").read_text()
    assert json.loads((local / "label_classes.json").read_text()) == ["forehand", "serve"]
    confusion = json.loads((local / "confusion_matrix.json").read_text())
    assert confusion["matrix"] == [[3, 2], [0, 3]]
    assert confusion["classes"] == ["forehand", "serve"]
    assert json.loads((local / "data.json").read_text())["test_videos"] == ["v4"]
    assert json.loads((local / "notebook" / "notebook.ipynb").read_text()) == {"cells": []}


def test_logged_run_has_tags_name_and_finished_status(store):
    run = store["client"].get_run(store["good"])
    tags = run.data.tags
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "grid_search_small_001"
    assert tags["mlflow.runName"] == "grid_search_small_001"
    assert tags["search_id"] == "s1"
    assert tags["config_id"] == "abc123"
    assert tags["grid"] == "small"
    assert tags["status"] == "COMPLETED"
    assert tags["mlflow.source.type"] == "LOCAL"


# --- parent and child runs ---------------------------------------------------------------


def test_children_nest_under_the_parent_run(store):
    client = store["client"]
    parent = client.get_run(store["parent"])
    assert parent.info.status == "FINISHED"
    assert parent.data.params["grid"] == "small"
    assert parent.data.tags["search_id"] == "s1"
    for child in (store["good"], store["weak"]):
        run = client.get_run(child)
        assert run.data.tags["mlflow.parentRunId"] == store["parent"]
        assert run.info.experiment_id == parent.info.experiment_id
    assert "mlflow.parentRunId" not in client.get_run(store["alone"]).data.tags


def test_child_goes_to_the_parents_experiment_and_rejects_another(store):
    # The experiment name is ignored for a child: it follows its parent.
    child = log_training_run(
        make_result(with_model=False),
        {"dense_units": 8},
        experiment="some_other_name",
        tracking_uri=store["uri"],
        parent_run_id=store["parent"],
    )
    run = store["client"].get_run(child)
    assert run.info.experiment_id == store["experiment_id"]
    assert store["client"].get_experiment_by_name("some_other_name") is None
    store["client"].delete_run(child)  # keep the shared store's children as they were
    other = ensure_experiment("elsewhere", store["uri"])
    with pytest.raises(ValueError, match="differs from the experiment"):
        log_training_run(
            make_result(),
            {},
            experiment_id=other,
            tracking_uri=store["uri"],
            parent_run_id=store["parent"],
        )


def test_runs_dataframe_lists_runs_and_only_children_of_a_parent(store):
    df = runs_dataframe(tracking_uri=store["uri"])
    assert set(df["run_id"]) == {store["parent"], store["good"], store["weak"], store["alone"]}
    assert list(df.columns[:4]) == ["run_id", "run_name", "experiment_id", "status"]
    assert "start_time" in df.columns
    assert {"metrics.macro_avg_f1_score", "params.lstm_layers", "tags.search_id"} <= set(df.columns)
    children = runs_dataframe(tracking_uri=store["uri"], parent_run_id=store["parent"])
    assert set(children["run_id"]) == {store["good"], store["weak"]}
    row = children.set_index("run_id").loc[store["good"]]
    assert row["run_name"] == "grid_search_small_001"
    assert row["status"] == "FINISHED"
    assert row["metrics.macro_avg_f1_score"] == pytest.approx(0.75)
    assert row["params.lstm_layers"] == "[128, 64]"
    assert row["tags.config_id"] == "abc123"
    combined = runs_dataframe(
        tracking_uri=store["uri"],
        parent_run_id=store["parent"],
        filter_string="metrics.macro_avg_f1_score > 0.5",
    )
    assert list(combined["run_id"]) == [store["good"]]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.macro_avg_f1_score > 0.5", {"good", "alone"}),
        ('params.uses_batch_normalization = "True"', {"good", "alone"}),
        ('params.lstm_layers = "[64, 32]"', {"weak"}),
        ("tags.mlflow.runName LIKE '%grid_search%'", {"good"}),
    ],
)
def test_the_guides_filter_strings_select_the_right_runs(store, filter_string, expected):
    ids = {store[k] for k in expected}
    found = store["client"].search_runs([store["experiment_id"]], filter_string)
    assert {r.info.run_id for r in found} == ids
    assert set(
        runs_dataframe(tracking_uri=store["uri"], filter_string=filter_string)["run_id"]
    ) == (ids)


# --- ending runs and failures ------------------------------------------------------------


@pytest.mark.parametrize("status", ["FAILED", "KILLED"])
def test_end_run_sets_the_status(store, status):
    run_id = start_parent_run(store["experiment_id"], f"ended_{status}", tracking_uri=store["uri"])
    assert store["client"].get_run(run_id).info.status == "RUNNING"
    end_run(run_id, status, tracking_uri=store["uri"])
    run = store["client"].get_run(run_id)
    assert run.info.status == status
    assert run.info.end_time is not None
    store["client"].delete_run(run_id)


def test_end_run_rejects_an_unknown_status():
    with pytest.raises(ValueError, match="status must be one of .*'DONE'"):
        end_run("0" * 32, "DONE", tracking_uri="sqlite:////nonexistent/never.db")


def test_a_figure_drawn_once_is_logged_as_it_was_shown(store):
    from tennis_lab.plots import render_png

    experiment_id = ensure_experiment("drawn once", store["uri"])
    rendered = render_png(make_figure())
    run_id = log_training_run(
        make_result(),
        PARAMS,
        experiment_id=experiment_id,
        tracking_uri=store["uri"],
        figures={"learning_curves": rendered, "confusion": make_figure()},
    )
    client = store["client"]
    assert _artifact_paths(client, run_id, "plots") == {
        "plots/learning_curves.png",
        "plots/confusion.png",
    }
    local = client.download_artifacts(run_id, "plots/learning_curves.png")
    assert Path(local).read_bytes() == rendered.png  # the same bytes, not drawn again


def test_a_failure_midway_ends_the_run_failed_and_reraises(tmp_path, store):
    experiment_id = ensure_experiment("failures", store["uri"])
    with pytest.raises(
        TypeError, match=r"figures\['bad'\] must be a matplotlib Figure or a RenderedFigure"
    ):
        log_training_run(
            make_result(),
            PARAMS,
            experiment_id=experiment_id,
            tracking_uri=store["uri"],
            run_name="broken",
            figures={"ok": make_figure(), "bad": "not a figure"},
        )
    (run,) = store["client"].search_runs([experiment_id])
    assert run.info.status == "FAILED"
    assert run.info.run_name == "broken"
    assert "TypeError" in run.data.tags["error"]
    assert run.data.params["lstm_layers"] == "[128, 64]"  # logged before the failure
    assert "plots/ok.png" in _artifact_paths(store["client"], run.info.run_id, "plots")


# --- runs_dataframe edge cases -----------------------------------------------------------


def test_runs_dataframe_of_an_experiment_without_runs_is_empty(store):
    ensure_experiment("empty", store["uri"])
    df = runs_dataframe("empty", tracking_uri=store["uri"])
    assert df.empty
    assert {"run_id", "run_name", "status", "start_time"} <= set(df.columns)


def test_runs_dataframe_of_an_unknown_experiment_names_it_and_the_uri(store):
    with pytest.raises(TrackingError, match="'no_such_experiment'.*mlflow.db"):
        runs_dataframe("no_such_experiment", tracking_uri=store["uri"])
