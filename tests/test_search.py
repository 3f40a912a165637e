"""The search runner end to end: real papermill kernels, a real SQLite MLflow store.

Combinations are tiny (one small LSTM layer, two epochs, a six-video demo dataset) so
that a run takes seconds; everything else is the real thing.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import TINY_MODEL, interruptible  # noqa: E402

from tennis_lab.grids import GridError
from tennis_lab.kernels import KernelPool
from tennis_lab.paths import notebooks_dir
from tennis_lab.search import SearchConfig, SearchError, plan, run_search, tunable_defaults

pytestmark = pytest.mark.slow  # trains models and starts kernels

FIXED = {
    **{k: v for k, v in TINY_MODEL.items() if k not in ("lstm_layers", "epochs")},
    "window_size": 30,
    "overlap": 15,
}


def write_grid(path: Path, grid, fixed=FIXED) -> Path:
    path.write_text(yaml.safe_dump({"description": "test grid", "fixed": fixed, "grid": grid}))
    return path


@pytest.fixture(scope="module")
def data(tiny_demo):
    return tiny_demo


@contextlib.contextmanager
def failing_in_the_kernel():
    """Skip the checks before the search, so that a bad combination fails in its kernel
    (as when the data change under a running search)."""
    from tennis_lab import preflight

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(preflight, "check_combinations", lambda *a, **k: preflight.Report())
        yield


def config(tmp: Path, grid: Path, data: Path, **kw) -> SearchConfig:
    return SearchConfig(
        grid=str(grid), data_dir=str(data), epochs=2, output_dir=str(tmp / "output"),
        reports_dir=str(tmp / "reports"), tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}",
        experiment="search_test", stream_output=False, **kw,
    )  # fmt: skip


def children(uri: str, parent: str) -> pd.DataFrame:
    from tennis_lab.tracking import runs_dataframe

    return runs_dataframe("search_test", tracking_uri=uri, parent_run_id=parent)


@pytest.fixture(scope="module")
def search(data, tmp_path_factory):
    """Three combinations; the third asks for windows longer than any recording and fails."""
    tmp = tmp_path_factory.mktemp("search")
    grid = write_grid(
        tmp / "mixed.yaml",
        [{"lstm_layers": [[8], [16]]}, {"lstm_layers": [[8]], "window_size": [5000]}],
    )
    cfg = config(tmp, grid, data, cache_dir=str(tmp / "windows-cache"))
    log = tmp / "console.txt"
    take = KernelPool.take

    def taking(self, *args, **kwargs):  # the real take, noting what each run got
        kernel = take(self, *args, **kwargs)
        KERNELS_TAKEN.append(kernel is not None)
        return kernel

    start = KernelPool._start

    def starting(self, *args, **kwargs):  # the real start, counting the kernels started ahead
        KERNELS_STARTED.append(1)
        return start(self, *args, **kwargs)

    with open(log, "w") as out, failing_in_the_kernel(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(KernelPool, "take", taking)
        mp.setattr(KernelPool, "_start", starting)
        rows = run_search(cfg, out)
    state = json.loads(next((tmp / "output" / "searches").glob("*.json")).read_text())
    return rows, state, log.read_text(), cfg


KERNELS_TAKEN: list[bool] = []  # per run of the `search` fixture: a kernel started ahead?
KERNELS_STARTED: list[int] = []  # one per kernel the `search` fixture's pool started


def test_every_run_starts_on_a_kernel_prepared_ahead_and_none_is_left(search):
    import psutil

    rows, _, _, _ = search
    # the first run's started with the session; the third fails in its kernel all the same
    assert KERNELS_TAKEN == [True, True, True]
    assert len(KERNELS_STARTED) == 3  # and none for a fourth run, which no grid run needs
    assert rows[-1]["status"] == "FAILED"
    kernels = [
        p for p in psutil.Process().children(recursive=True)
        if "ipykernel" in " ".join(p.cmdline())
    ]  # fmt: skip
    assert not kernels, [p.cmdline() for p in kernels]


def _times(notebook: str) -> tuple[float, float, float]:
    """When an executed notebook started, when its training cell ended, when it ended."""
    import nbformat

    def stamp(value: str) -> float:
        from datetime import datetime

        return datetime.fromisoformat(value).timestamp()

    nb = nbformat.read(notebook, as_version=4)
    training = next(c for c in nb.cells if "training" in c.metadata.get("tags", []))
    meta = nb.metadata.papermill
    return (
        stamp(meta["start_time"]), stamp(training.metadata.papermill["end_time"]),
        stamp(meta["end_time"]),
    )  # fmt: skip


def test_the_next_run_prepares_while_one_trains_and_trains_once_it_is_done(search):
    rows, _, console, _ = search
    first, second = (_times(r["notebook"]) for r in rows[:2])
    fit_second = rows[1]["training_time_seconds"]
    # run 2 began (kernel, data, split) while run 1 ran ...
    assert first[0] < second[0] < first[2]
    # ... and trained only once run 1's training was done
    assert second[1] - fit_second >= first[1] - 0.05
    # the console still reads run by run: run 2's header after run 1's result
    assert console.index("✅ Run 1/3 complete:") < console.index("GRID SEARCH RUN 2/3")
    assert console.index("GRID SEARCH RUN 2/3") < console.index("✅ Run 2/3 complete:")


def test_runs_one_after_the_other_without_overlap(data, tmp_path):
    grid = write_grid(tmp_path / "two.yaml", {"lstm_layers": [[8], [12]]})
    rows = run_search(
        config(tmp_path, grid, data, overlap_runs=False, prepare_kernels=False),
        open(os.devnull, "w"),
    )
    assert [r["status"] for r in rows] == ["COMPLETED", "COMPLETED"]
    first, second = (_times(r["notebook"]) for r in rows)
    assert second[0] >= first[2]


def test_csv_has_one_row_per_combination_with_params_metrics_and_notebook(search):
    rows, state, _, _ = search
    csv = pd.read_csv(state["csv_path"])
    assert list(csv["run_number"]) == [1, 2, 3]
    assert list(csv["status"]) == ["COMPLETED", "COMPLETED", "FAILED"]
    assert list(csv.columns[:5]) == ["run_number", "run_id", "config_id", "status", "error"]
    for col in (
        "lstm_layers", "dense_units", "learning_rate", "window_size", "epochs", "test_accuracy",
        "macro_f1_score", "macro_avg_f1_score", "val_macro_f1_score",
        "val_stroke_macro_f1", "test_stroke_macro_f1", "worst_group_macro_f1",
        "split_by_resolved", "mirror_left_handed", "cv_folds",
        "training_time_minutes", "forehand_recall", "notebook",
    ):  # fmt: skip
        assert col in csv.columns, col
    done = csv[csv["status"] == "COMPLETED"]
    assert (done["split_by_resolved"] == "player").all()  # the demo's videos.csv names players
    assert done["worst_group_macro_f1"].le(done["test_stroke_macro_f1"] + 1e-9).all()
    assert csv.loc[0, "lstm_layers"] == "[8]" and csv.loc[1, "lstm_layers"] == "[16]"
    assert csv["config_id"].is_unique and csv["run_id"].str.len().min() == 32
    assert Path(state["csv_path"]).name.startswith("grid_search_results_")
    for nb in csv["notebook"]:
        assert Path(nb).is_file() and Path(nb).name.endswith(".ipynb")


def test_cache_dir_holds_the_prepared_windows_of_the_search_and_its_runs(search):
    rows, _, _, cfg = search
    cached = list((Path(cfg.cache_dir) / "windows").glob("*.npz"))
    assert cached  # the checks before the runs windowed the data into it
    for row in rows[:2]:  # and every run was told to read it
        nb = json.loads(Path(row["notebook"]).read_text())
        injected = next(
            "".join(c["source"]) for c in nb["cells"]
            if "injected-parameters" in c["metadata"].get("tags", [])
        )  # fmt: skip
        assert f"cache_dir = {str(Path(cfg.cache_dir).resolve())!r}" in injected.replace('"', "'")


def test_failed_combination_is_recorded_and_the_search_goes_on(search):
    rows, state, console, _ = search
    failed = rows[2]
    assert failed["status"] == "FAILED"
    assert "WindowingError" in failed["error"] and "No sequences created" in failed["error"]
    nb = json.loads(Path(failed["notebook"]).read_text())  # kept, with the error in it
    assert any(o.get("output_type") == "error" for c in nb["cells"] for o in c.get("outputs", []))
    assert "❌ Run 3/3 FAILED" in console
    assert "FAILED RUNS (grouped by error)" in console and "(runs 3)" in console


def test_mlflow_has_a_parent_and_one_child_per_combination(search):
    from mlflow.tracking import MlflowClient

    rows, state, _, cfg = search
    client = MlflowClient(tracking_uri=cfg.tracking_uri)
    parent = client.get_run(state["parent_run_id"])
    assert parent.info.status == "FINISHED" and "grid_search" in parent.info.run_name
    assert parent.data.tags["search_id"] == state["search_id"]
    kids = children(cfg.tracking_uri, state["parent_run_id"])
    assert len(kids) == 3
    assert sorted(kids["tags.config_id"]) == sorted(state["config_ids"])
    assert all("grid_search" in name for name in kids["run_name"])
    by_status = kids.set_index("tags.config_id")["status"]
    assert by_status[state["config_ids"][0]] == "FINISHED"
    assert by_status[state["config_ids"][2]] == "FAILED"
    assert set(kids["tags.grid"]) == {"mixed"}
    first = rows[0]["run_id"]
    assert [a.path for a in client.list_artifacts(first, "notebook")] == [
        f"notebook/{Path(rows[0]['notebook']).name}"
    ]


def test_the_parent_run_holds_the_best_runs_figures_its_id_and_the_results_csv(search):
    from mlflow.tracking import MlflowClient

    from tennis_lab.results import SELECTION_METRIC
    from tennis_lab.search import best_row

    rows, state, _, cfg = search
    client = MlflowClient(tracking_uri=cfg.tracking_uri)
    parent = client.get_run(state["parent_run_id"])
    best = best_row(rows)
    assert parent.data.tags["status"] == "COMPLETED"  # not left RUNNING
    assert parent.data.tags["best_run_id"] == best["run_id"]
    metrics = parent.data.metrics
    assert metrics[f"best_{SELECTION_METRIC}"] == pytest.approx(float(best[SELECTION_METRIC]))
    assert metrics["best_test_stroke_macro_f1"] == pytest.approx(
        float(best["test_stroke_macro_f1"])
    )
    assert (metrics["runs_completed"], metrics["runs_failed"]) == (2, 1)
    artifacts = [a.path for a in client.list_artifacts(parent.info.run_id, "results")]
    assert artifacts == [f"results/{Path(state['csv_path']).name}"]


def test_mlflow_opens_the_experiment_as_model_training_with_true_durations(search):
    from mlflow.tracking import MlflowClient

    rows, state, _, cfg = search
    client = MlflowClient(tracking_uri=cfg.tracking_uri)
    experiment = client.get_experiment_by_name(cfg.experiment)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    for row in (r for r in rows if r["status"] == "COMPLETED"):
        info = client.get_run(row["run_id"]).info
        seconds = (info.end_time - info.start_time) / 1000
        # the run started with its notebook: Duration covers the training, not ~1 s
        assert seconds >= float(row["training_time_minutes"]) * 60 > 0


def test_run_names_differ_from_their_first_characters_and_keep_the_grid(search):
    rows, state, _, cfg = search
    kids = children(cfg.tracking_uri, state["parent_run_id"])
    names = sorted(kids["run_name"])
    assert [n.split()[0] for n in names] == ["r001", "r002", "r003"]
    # what varies is in the name, the grid ends it, the full search id is a tag
    assert "lstm8" in names[0] and "lstm16" in names[1] and "win5000" in names[2]
    assert all(n.endswith("· grid_search_mixed") for n in names)
    assert set(kids["tags.search_id"]) == {state["search_id"]}


def test_the_best_run_becomes_the_registrys_champion_with_the_search_as_tags(search):
    from mlflow.tracking import MlflowClient

    from tennis_lab.predict import load_model
    from tennis_lab.results import SELECTION_METRIC

    rows, state, console, cfg = search
    done = [r for r in rows if r["status"] == "COMPLETED"]
    best = max(done, key=lambda r: (float(r[SELECTION_METRIC]), -r["run_number"]))
    client = MlflowClient(tracking_uri=cfg.tracking_uri, registry_uri=cfg.tracking_uri)
    champion = client.get_model_version_by_alias("tennis_strokes", "champion")
    assert champion.run_id == best["run_id"]
    assert champion.tags["search_id"] == state["search_id"]
    assert float(champion.tags[SELECTION_METRIC]) == pytest.approx(
        float(best[SELECTION_METRIC]), abs=1e-4
    )
    assert f"Champion: models:/tennis_strokes@champion = version {champion.version}" in console
    model = load_model(tracking_uri=cfg.tracking_uri)  # the default model is the champion
    assert model.window_size == 30
    # one winner: the CSV's, the console's, the parent's and the registry's are one run
    csv = pd.read_csv(state["csv_path"])
    assert csv["winner"].fillna(False).astype(bool).sum() == 1
    winner = csv[csv["winner"].fillna(False).astype(bool)].iloc[0]
    assert winner["run_id"] == champion.run_id and winner["rank"] == 1
    parent = client.get_run(state["parent_run_id"])
    assert parent.data.tags["best_run_id"] == champion.run_id
    assert f"   Run: {winner['run_number']}\n" in console
    assert parent.data.tags["verdict"].startswith(("best: run", "undecided: runs"))


def test_the_quick_starts_champion_can_say_no_stroke(search, data, tmp_path):
    from tennis_lab.cli import main
    from tennis_lab.predict import load_model, no_idle_note

    _, _, _, cfg = search
    model = load_model(tracking_uri=cfg.tracking_uri)
    assert model.has_idle and "idle" in model.classes  # include_idle is the default
    assert no_idle_note(model, 0.0) is None
    recording = sorted((data / "poses").glob("*.npz"))[0]
    out = tmp_path / "timeline.csv"
    assert main(["predict", str(recording), "--tracking-uri", cfg.tracking_uri,
                 "--videos", str(data / "videos.csv"), "--output", str(out)]) == 0  # fmt: skip
    timeline = pd.read_csv(out, keep_default_na=False)
    assert (timeline["note"] == "").all()  # no "cannot say no stroke" caveat


def test_no_register_leaves_the_registry_alone(data, tmp_path):
    from tennis_lab.tracking import model_version_by_alias

    grid = write_grid(tmp_path / "one.yaml", {"lstm_layers": [[8]]})
    cfg = config(tmp_path, grid, data, register_as=None)
    with open(tmp_path / "console.txt", "w") as out:
        run_search(cfg, out)
    assert model_version_by_alias(tracking_uri=cfg.tracking_uri) is None
    assert "Champion" not in (tmp_path / "console.txt").read_text()


def test_console_shows_headers_results_progress_and_summary(search):
    rows, _, console, _ = search
    assert "GRID SEARCH RUN 1/3" in console and "  lstm_layers: [8]" in console
    assert "✅ Run 1/3 complete:" in console and f"MLflow Run ID: {rows[0]['run_id']}" in console
    assert "📊 Progress: 3/3 (100.0%)" in console and "Estimated remaining" in console
    assert "GRID SEARCH COMPLETE!" in console
    assert "BEST MODEL (by validation macro F1 over strokes)" in console
    assert "Worst player (test strokes):" in console and "   Worst player: " in console
    assert "TOP 5 MODELS" in console and "Total grid search time" in console
    # the top 5 show what varies among them; the last lines open the store this search used
    assert "        lstm_layers=16\n" in console and "        lstm_layers=8\n" in console
    uri = search[3].tracking_uri  # a store of its own, not the project's mlflow.db
    assert f"mlflow ui --backend-store-uri {uri}" in console and uri.startswith("sqlite")
    assert "MLflow: make mlflow-ui\n" not in console
    assert f"tennis-lab report --search {search[1]['search_id']}" in console


def test_the_dataset_summary_is_printed_once_before_the_runs(data, tmp_path, capsys):
    from tennis_lab.paths import notebooks_dir
    from tennis_lab.search import plan, tunable_defaults

    grid = write_grid(tmp_path / "two.yaml", {"lstm_layers": [[8], [16]]})
    plan(config(tmp_path, grid, data), tunable_defaults(notebooks_dir() / "train.ipynb"))
    printed = capsys.readouterr().out
    assert printed.count("Strokes:") == 1 and printed.count("Players:") == 1
    assert printed.index("Strokes:") < printed.index("Checked 2 combination(s)")


def test_every_run_failing_is_an_error_naming_the_first(data, tmp_path):
    grid = write_grid(tmp_path / "bad.yaml", {"lstm_layers": [[8]], "window_size": [5000]})
    with (
        failing_in_the_kernel(),
        pytest.raises(SearchError, match="every run failed; the first error: WindowingError"),
    ):
        run_search(config(tmp_path, grid, data), open(os.devnull, "w"))


def test_bad_grids_fail_before_anything_runs(data, tmp_path):
    defaults = tunable_defaults(notebooks_dir() / "train.ipynb")
    with pytest.raises(
        GridError, match=r"grid 'nope': no such grid\. Fix: use one of minimal, small"
    ):
        plan(SearchConfig(grid="nope"), defaults)
    bad = write_grid(tmp_path / "typo.yaml", {"learning_rat": [0.1]})
    with pytest.raises(
        GridError, match=r"'learning_rat' is not a parameter .* did you mean \['learning_rate'\]"
    ):
        run_search(config(tmp_path, bad, data))
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "output").exists()
    _, combos, _ = plan(SearchConfig(grid="medium", max_runs=20), defaults)
    assert len(combos) == 20


def test_killed_search_resumes_to_one_row_and_one_finished_child_per_combination(data, tmp_path):
    grid = write_grid(tmp_path / "three.yaml", {"lstm_layers": [[8], [12], [16]]})
    cfg = config(tmp_path, grid, data)
    cmd = [
        sys.executable, "-m", "tennis_lab.search", "--grid", str(grid), "--data-dir", str(data),
        "--epochs", "2", "--output-dir", cfg.output_dir, "--reports-dir", cfg.reports_dir,
        "--tracking-uri", cfg.tracking_uri, "--experiment", "search_test", "--quiet",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    csv = None
    deadline = time.time() + 300
    while time.time() < deadline:
        found = list(Path(cfg.output_dir).glob("grid_search_results_*.csv"))
        if found and len(pd.read_csv(found[0])) >= 1:
            csv = found[0]
            break
        time.sleep(0.5)
    assert csv is not None, "the first run did not finish in time"
    time.sleep(3)  # the second run is under way
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its kernel, like a power cut
    proc.wait()
    assert len(pd.read_csv(csv)) < 3

    console = io.StringIO()
    rows = run_search(SearchConfig(**{**cfg.__dict__, "resume": "latest"}), console)
    assert "Note: taking over the stale lock" in console.getvalue()  # the killed runner's
    final = pd.read_csv(csv)
    assert (
        len(final) == 3 and final["config_id"].is_unique and set(final["status"]) == {"COMPLETED"}
    )
    assert [r["run_number"] for r in rows] == [1, 2, 3]
    state = json.loads(next(Path(cfg.output_dir, "searches").glob("*.json")).read_text())
    kids = children(cfg.tracking_uri, state["parent_run_id"])
    finished = kids[kids["status"] == "FINISHED"]
    assert sorted(finished["tags.config_id"]) == sorted(state["config_ids"])
    assert "RUNNING" not in set(kids["status"])


def test_ctrl_c_keeps_finished_rows_and_says_how_to_resume(data, tmp_path):
    from mlflow.tracking import MlflowClient

    grid = write_grid(tmp_path / "two.yaml", {"lstm_layers": [[8], [12]]})
    cfg = config(tmp_path, grid, data)
    cmd = [
        sys.executable, "-m", "tennis_lab.search", "--grid", str(grid), "--data-dir", str(data),
        "--epochs", "2", "--output-dir", cfg.output_dir, "--reports-dir", cfg.reports_dir,
        "--tracking-uri", cfg.tracking_uri, "--experiment", "search_test", "--quiet",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=interruptible,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not list(
        Path(cfg.output_dir).glob("grid_search_results_*.csv")
    ):
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Interrupted. Results so far:" in out and "--resume" in out
    (csv,) = Path(cfg.output_dir).glob("grid_search_results_*.csv")
    assert list(pd.read_csv(csv)["status"]) == ["COMPLETED"]
    state = json.loads(next(Path(cfg.output_dir, "searches").glob("*.json")).read_text())
    parent = MlflowClient(tracking_uri=cfg.tracking_uri).get_run(state["parent_run_id"])
    assert parent.info.status == "KILLED"


def _notebook(path: Path, code: str) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = new_notebook(
        cells=[new_code_cell("x = 1", metadata={"tags": ["parameters"]}), new_code_cell(code)],
        metadata={"kernelspec": kernel},
    )
    nbformat.write(nb, path)
    return path


def test_the_kernel_process_output_goes_to_a_log_beside_the_notebook(tmp_path, monkeypatch):
    import io

    import nbformat
    from nbclient.exceptions import DeadKernelError

    from tennis_lab.search import execute_run, kernel_log_path

    # ipykernel captures fd-level output unless it sees pytest's variable; the pause
    # gives it time to forward that output, were it captured.
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    code = (
        'import os, time\nos.write(2, b"said by the process\\n")\ntime.sleep(1)\n'
        'print("said by the cell", x)'
    )
    src = _notebook(tmp_path / "speak.ipynb", code)
    out, stream = tmp_path / "runs" / "001-speak.ipynb", io.StringIO()
    execute_run(src, out, {"x": 2}, stream)
    assert "said by the cell 2" in stream.getvalue()
    outputs = json.dumps([c.get("outputs") for c in nbformat.read(out, as_version=4).cells])
    assert "said by the cell 2" in outputs
    assert "said by the process" not in stream.getvalue() + outputs
    log = kernel_log_path(out)
    assert log == tmp_path / "runs" / "001-speak.kernel.log"
    assert "said by the process" in log.read_text()
    # a kernel that dies: the error propagates, its last words stay in the log
    src = _notebook(tmp_path / "die.ipynb", 'import os\nos.write(2, b"last words\\n")\nos._exit(3)')
    out = tmp_path / "runs" / "002-die.ipynb"
    with pytest.raises(DeadKernelError):
        execute_run(src, out, {}, io.StringIO())
    assert "last words" in kernel_log_path(out).read_text()


def test_a_run_stopped_from_another_thread_ends_at_once_with_its_notebook_written(tmp_path):
    """What an interrupted search does to a run under way (its executor's RunSlot)."""
    import threading

    from nbclient.exceptions import DeadKernelError

    from tennis_lab.executors import RunSlot
    from tennis_lab.search import execute_run

    src = _notebook(tmp_path / "long.ipynb", "import time\ntime.sleep(120)")
    out = tmp_path / "runs" / "001-long.ipynb"
    slot = RunSlot(lambda: None)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            execute_run(src, out, {"x": 1}, slot=slot)
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            errors.append(exc)

    thread = threading.Thread(target=run)
    began = time.time()
    thread.start()
    while not slot._stoppers and time.time() - began < 60:  # the kernel is up
        time.sleep(0.1)
    time.sleep(2)  # the long cell runs
    slot.stop()
    thread.join(30)
    assert not thread.is_alive() and time.time() - began < 60
    assert len(errors) == 1 and isinstance(errors[0], DeadKernelError), errors
    assert "SIGKILL" in str(errors[0]) and out.is_file()
