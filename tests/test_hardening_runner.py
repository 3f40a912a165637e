"""The search runner under bad input and faults (issue 14): every check before work,
resume that always works, one process per search, no lost rows.

Tests without a mark start no kernel: a bad input must fail before one would start.
Those marked slow run real tiny searches (one small LSTM layer, two epochs).
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import TINY_MODEL, interruptible

from tennis_lab import executors, search
from tennis_lab.paths import project_root
from tennis_lab.results import SELECTION_METRIC
from tennis_lab.search import (
    RUN_COLUMNS,
    SearchConfig,
    SearchError,
    SearchFailed,
    SearchLock,
    SearchState,
    checks,
    execution,
    read_completed,
    run_search,
    store,
    write_csv_atomic,
)

FIXED = {
    **{k: v for k, v in TINY_MODEL.items() if k not in ("lstm_layers", "epochs")},
    "window_size": 30,
    "overlap": 15,
}


def write_grid(path: Path, layers=([8],)) -> Path:
    grid = {"lstm_layers": [list(x) for x in layers]}
    path.write_text(yaml.safe_dump({"description": "test grid", "fixed": FIXED, "grid": grid}))
    return path


def config(tmp: Path, data: Path, grid: Path | None = None, **kw) -> SearchConfig:
    settings = {
        "grid": str(grid or write_grid(tmp / "one.yaml")),
        "data_dir": str(data),
        "epochs": 2,
        "output_dir": str(tmp / "output"),
        "reports_dir": str(tmp / "reports"),
        "tracking_uri": f"sqlite:///{tmp / 'mlflow.db'}",
        "experiment": "hardening",
        "stream_output": False,
        **kw,
    }
    return SearchConfig(**settings)


def command(cfg: SearchConfig, *extra: str) -> list[str]:
    """``python -m tennis_lab.search`` with the flags of ``cfg``."""
    return [
        sys.executable, "-m", "tennis_lab.search", "--grid", cfg.grid, "--data-dir",
        cfg.data_dir, *(["--epochs", str(cfg.epochs)] if cfg.epochs else []),
        "--output-dir", cfg.output_dir,
        "--reports-dir", cfg.reports_dir, "--tracking-uri", cfg.tracking_uri,
        "--experiment", cfg.experiment, "--quiet", "--no-register", *extra,
    ]  # fmt: skip


def nothing_ran(tmp: Path) -> bool:
    """No MLflow store, no search state and no executed notebook under ``tmp``."""
    states = list((tmp / "output" / "searches").glob("*.json"))
    notebooks = list((tmp / "reports").rglob("*.ipynb"))
    return not (tmp / "mlflow.db").exists() and not states and not notebooks


def stored_search(tmp: Path, data: Path, rows: int = 0, **settings) -> SearchState:
    """A search state as a search leaves it, with ``rows`` COMPLETED rows in its CSV."""
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    combos = [{"lstm_layers": [8]}, {"lstm_layers": [12]}]
    state = SearchState(
        search_id="20260101_120000_000001_one", grid="one", parent_run_id="0" * 32,
        experiment="hardening", experiment_id="1", tracking_uri=uri,
        csv_path=str(tmp / "output" / "grid_search_results_20260101_120000_000001.csv"),
        notebooks_dir=str(tmp / "reports" / "20260101_120000_000001_one"),
        combinations=combos, config_ids=["aaaa", "bbbb"],
        overrides={"seed": 42, "epochs": 2, "data_dir": str(data)},
        settings={
            "grid": str(tmp / "one.yaml"), "random": False, "n_samples": 30, "max_runs": None,
            "seed": 42, "epochs": 2, "data_dir": str(data), "tracking_uri": uri,
            "experiment": "hardening", "reports_dir": str(tmp / "reports"),
            "notebook": str(project_root() / "notebooks" / "train.ipynb"), **settings,
        },
    )  # fmt: skip
    folder = tmp / "output" / "searches"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{state.search_id}.json").write_text(json.dumps(state.__dict__))
    done = [
        {"run_number": n + 1, "run_id": f"{n}" * 32, "config_id": cid, "status": "COMPLETED",
         "error": "", "test_accuracy": 0.5, "macro_f1_score": 0.5, SELECTION_METRIC: 0.5,
         "macro_avg_f1_score": 0.5, "training_time_minutes": 0.1, "lstm_layers": "[8]"}
        for n, cid in enumerate(state.config_ids[:rows])
    ]  # fmt: skip
    write_csv_atomic(done, Path(state.csv_path))
    return state


def resumed(cfg: SearchConfig, state: SearchState, **kw) -> SearchConfig:
    return SearchConfig(**{**cfg.__dict__, "resume": state.search_id, **kw})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def parent_status(state: dict) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=state["tracking_uri"])
    return client.get_run(state["parent_run_id"]).info.status


def children(state: dict) -> pd.DataFrame:
    from tennis_lab.tracking import runs_dataframe

    return runs_dataframe(
        state["experiment"],
        tracking_uri=state["tracking_uri"],
        parent_run_id=state["parent_run_id"],
    )


def only_state(cfg: SearchConfig) -> dict:
    (file,) = Path(cfg.output_dir, "searches").glob("*.json")
    return json.loads(file.read_text())


def wait_for(condition, seconds: float = 300, what: str = "the condition") -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def kernel_running(pid: int) -> bool:
    import psutil

    for proc in psutil.Process(pid).children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(proc.cmdline()):
                return True
        except psutil.Error:
            continue
    return False


# --------------------------------------------------------------------------- 1. results


def test_an_empty_or_header_only_csv_resumes_as_no_rows(tmp_path):
    one_byte = tmp_path / "old.csv"
    one_byte.write_text("\n")  # what Ctrl-C in the first run used to leave
    assert read_completed(one_byte) == {}
    header = tmp_path / "new.csv"
    write_csv_atomic([], header)
    assert header.read_text().strip() == ",".join(RUN_COLUMNS)
    assert read_completed(header) == {}
    assert read_completed(tmp_path / "missing.csv") == {}


def test_search_ids_are_unique_and_sort_by_start_time(tmp_path):
    made = []
    for _ in range(30):  # many in the same second
        stamp, lock = store.new_search(tmp_path, "minimal")
        made.append(lock.path.stem)
        assert lock.path.stem.startswith(stamp) and lock.held
    assert len(set(made)) == len(made) and sorted(made) == made
    for search_id in made:
        (tmp_path / "searches" / f"{search_id}.json").write_text("{}")
    assert store.latest_search(tmp_path) == made[-1]


def test_a_lock_of_a_running_process_is_refused_naming_it(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path = tmp_path / "searches" / "s1.lock"
        path.parent.mkdir()
        path.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname()}))
        with pytest.raises(SearchError, match=rf"already running: process {holder.pid} .*{path}"):
            SearchLock(path).acquire(print)
        assert json.loads(path.read_text())["pid"] == holder.pid  # left alone
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over_with_a_note_and_released(tmp_path):
    path = tmp_path / "s1.lock"
    pid = dead_pid()
    path.write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    notes: list[str] = []
    with SearchLock(path).acquire(notes.append) as lock:
        assert json.loads(path.read_text())["pid"] == os.getpid() and lock.held
    assert f"stale lock {path} (process {pid} on" in notes[0]
    assert not path.exists()


def test_resume_of_a_locked_search_fails_before_touching_mlflow(tiny_demo, tmp_path):
    state = stored_search(tmp_path, tiny_demo)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = tmp_path / "output" / "searches" / f"{state.search_id}.lock"
        lock.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname()}))
        with pytest.raises(SearchError, match=rf"process {holder.pid} .* holds its lock {lock}"):
            run_search(resumed(config(tmp_path, tiny_demo), state), io.StringIO())
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "mlflow.db").exists()


# --------------------------------------------------------------------------- 3. paths, URIs


@pytest.mark.parametrize(
    "uri, message",
    [
        ("garbage", r"'garbage' cannot be used: it has no scheme .*Accepted forms: sqlite:///"),
        ("foo://bar", r"'foo://bar' cannot be used: unknown scheme 'foo'"),
        ("FOLDER", r"is a folder .*use sqlite:///.*/mlflow\.db"),
        ("sqlite:///FOLDER", r"is a folder; name a database file in it"),
        ("http://127.0.0.1:PORT", r"no MLflow server answers at tracking URI 'http://127"),
    ],
)
def test_a_bad_tracking_uri_fails_before_any_run(tiny_demo, tmp_path, uri, message):
    folder = tmp_path / "store"
    folder.mkdir()
    uri = uri.replace("FOLDER", str(folder)).replace("PORT", str(free_port()))
    started = time.time()
    with pytest.raises(SearchError, match=message):
        run_search(config(tmp_path, tiny_demo, tracking_uri=uri), io.StringIO())
    assert time.time() - started < 30 and nothing_ran(tmp_path)


def test_an_unreachable_scheduler_fails_before_any_mlflow_run(tiny_demo, tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(SearchError, match=rf"cannot connect to the Dask scheduler at '{address}'"):
        run_search(config(tmp_path, tiny_demo, scheduler=address), io.StringIO())
    assert nothing_ran(tmp_path)
    assert not list((tmp_path / "output" / "searches").glob("*.lock"))  # released


def test_resume_after_the_database_was_deleted_says_how_to_continue(tiny_demo, tmp_path):
    state = stored_search(tmp_path, tiny_demo, rows=2)
    cfg = resumed(config(tmp_path, tiny_demo), state, register_as=None)
    with pytest.raises(
        SearchError, match=r"mlflow\.db does not exist .*--new-parent .*2 completed"
    ):
        run_search(cfg, io.StringIO())
    assert not (tmp_path / "mlflow.db").exists()  # no new empty database

    out = io.StringIO()
    rows = run_search(SearchConfig(**{**cfg.__dict__, "new_parent": True}), out)
    assert [r["status"] for r in rows] == ["COMPLETED", "COMPLETED"]  # from the CSV, no kernel
    assert "new parent run" in out.getvalue() and "2 already completed, 0 to run" in out.getvalue()
    after = only_state(cfg)
    assert after["parent_run_id"] != state.parent_run_id and parent_status(after) == "FINISHED"


def test_an_output_folder_that_cannot_be_written_fails_before_any_run(tiny_demo, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(SearchError, match=rf"cannot write to {blocker}/searches .*--output-dir"):
        run_search(config(tmp_path, tiny_demo, output_dir=str(blocker)), io.StringIO())
    with pytest.raises(SearchError, match=rf"cannot write to {blocker} "):
        run_search(config(tmp_path, tiny_demo, reports_dir=str(blocker)), io.StringIO())
    assert nothing_ran(tmp_path)


# --------------------------------------------------------------------------- 4. flags


def test_resume_refuses_flags_that_differ_from_the_search(tiny_demo, tmp_path):
    state = stored_search(tmp_path, tiny_demo)
    other_data = tmp_path / "other"
    other_data.mkdir()
    cfg = resumed(
        config(tmp_path, tiny_demo), state, epochs=5, data_dir=str(other_data), grid="small",
        tracking_uri=f"sqlite:///{tmp_path / 'other.db'}",
    )  # fmt: skip
    with pytest.raises(SearchError) as error:
        run_search(cfg, io.StringIO())
    text = str(error.value)
    assert "--epochs 5 (the search has 2)" in text and f"--data-dir {other_data}" in text
    assert "--grid small (the search has" in text and "--tracking-uri sqlite:///" in text
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "other.db").exists()
    # the same values (the search's own) are fine
    places = checks.places(resumed(config(tmp_path, tiny_demo), state))
    checks.check_resume_flags(resumed(config(tmp_path, tiny_demo), state), places, state)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--workers", "0"], "--workers must be at least 1; got 0"),
        (["--workers", "-2"], "--workers must be at least 1; got -2"),
        (["--new-parent"], "--new-parent goes with --resume"),
    ],
)
def test_session_flags_out_of_range_are_an_error(tmp_path, capsys, flags, message):
    argv = ["--output-dir", str(tmp_path / "output"), *flags]
    assert search.main(argv) == 2
    assert f"error: {message}" in capsys.readouterr().err
    assert not (tmp_path / "output").exists()


# --------------------------------------------------------------------------- slow: real runs


@pytest.mark.slow
def test_ctrl_c_in_the_first_run_then_resume_completes(tiny_demo, tmp_path):
    cfg = config(tmp_path, tiny_demo, register_as=None)
    proc = subprocess.Popen(
        command(cfg),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    # the first run's notebook under way in its kernel (the kernel starts sooner, as
    # the search makes its parent run)
    wait_for(
        lambda: list(Path(cfg.reports_dir).glob("*/*.ipynb")) and kernel_running(proc.pid),
        what="the first run's notebook",
    )
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    (csv,) = Path(cfg.output_dir).glob("grid_search_results_*.csv")
    assert list(pd.read_csv(csv).columns[:4]) == ["run_number", "run_id", "config_id", "status"]
    assert "Interrupted. Results so far" in out
    state = only_state(cfg)
    assert parent_status(state) == "KILLED"

    rows = run_search(SearchConfig(**{**cfg.__dict__, "resume": "latest"}), io.StringIO())
    assert [r["status"] for r in rows] == ["COMPLETED"]
    assert list(pd.read_csv(csv)["status"]) == ["COMPLETED"] and parent_status(state) == "FINISHED"


@pytest.mark.slow
def test_sigterm_ends_a_search_like_ctrl_c(tiny_demo, tmp_path):
    # the second run trains long enough to be stopped in it, whatever the first one's
    # scoring and logging take
    grid = tmp_path / "two.yaml"
    grid.write_text(yaml.safe_dump({"description": "test grid", "fixed": FIXED, "grid": [
        {"lstm_layers": [[8]], "epochs": [2]},
        {"lstm_layers": [[12]], "epochs": [500], "early_stopping_patience": [500]},
    ]}))  # fmt: skip
    cfg = config(tmp_path, tiny_demo, grid=grid, epochs=None)
    proc = subprocess.Popen(
        command(cfg),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    csvs = lambda: list(Path(cfg.output_dir).glob("grid_search_results_*.csv"))  # noqa: E731
    wait_for(lambda: csvs() and len(pd.read_csv(csvs()[0])) == 1, what="the first row")
    wait_for(lambda: kernel_running(proc.pid), what="the second run's kernel")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Interrupted (SIGTERM). Results so far:" in out and "--resume" in out
    assert list(pd.read_csv(csvs()[0])["status"]) == ["COMPLETED"]
    state = only_state(cfg)
    assert parent_status(state) == "KILLED"
    assert "RUNNING" not in set(children(state)["status"])
    assert not list(Path(cfg.output_dir, "searches").glob("*.lock"))


@pytest.mark.slow
def test_a_second_process_on_the_same_search_is_refused(tiny_demo, tmp_path):
    cfg = config(tmp_path, tiny_demo, grid=write_grid(tmp_path / "two.yaml", ([8], [12])))
    first = subprocess.Popen(command(cfg), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    searches = Path(cfg.output_dir, "searches")
    try:
        wait_for(lambda: list(searches.glob("*.json")), what="the first search's state")
        (lock,) = searches.glob("*.lock")
        second = subprocess.run(
            command(cfg, "--resume", lock.stem), capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 2, second.stderr
        assert f"already running: process {first.pid} " in second.stderr
        assert str(lock) in second.stderr
        assert first.poll() is None, "the first search ended before the second was refused"
        assert first.wait(timeout=600) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    state = only_state(cfg)
    kids = children(state)
    assert len(kids) == 2 and set(kids["status"]) == {"FINISHED"}  # no duplicate children
    assert not lock.exists()


@pytest.mark.slow
def test_relative_paths_and_sqlite_uri_are_taken_from_the_working_directory(
    tiny_demo, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    db = f"rel_{os.getpid()}_{time.time_ns()}.db"
    write_grid(tmp_path / "one.yaml")
    cfg = SearchConfig(
        grid="./one.yaml", data_dir=os.path.relpath(tiny_demo, tmp_path), epochs=2,
        output_dir="out", reports_dir="runs", tracking_uri=f"sqlite:///{db}",
        experiment="hardening", stream_output=False, register_as=None,
    )  # fmt: skip
    try:
        rows = run_search(cfg, io.StringIO())
        assert [r["status"] for r in rows] == ["COMPLETED"], rows[0]["error"]
        state = only_state(SearchConfig(output_dir=str(tmp_path / "out")))
        assert state["tracking_uri"] == f"sqlite:///{tmp_path / db}"
        assert len(children(state)) == 1
        assert Path(rows[0]["notebook"]).parent.parent == tmp_path / "runs"
        assert Path(rows[0]["notebook"]).is_file()
    finally:
        assert not (project_root() / db).exists()  # the kernel did not open another database


@pytest.mark.slow
def test_a_results_csv_that_cannot_be_written_fails_clearly_and_resume_goes_on(
    tiny_demo, tmp_path, monkeypatch
):
    cfg = config(tmp_path, tiny_demo, register_as=None)
    real = execution.execute_run

    def run_then_block_the_csv(*args, **kw):
        real(*args, **kw)
        csv = Path(only_state(cfg)["csv_path"])
        (csv / "in_the_way").mkdir(parents=True)  # not writable, even for root

    monkeypatch.setattr(execution, "execute_run", run_then_block_the_csv)
    with pytest.raises(SearchFailed, match=r"cannot write the results CSV .*--resume"):
        run_search(cfg, io.StringIO())
    state = only_state(cfg)
    assert parent_status(state) == "FAILED"
    (Path(state["csv_path"]) / "in_the_way").rmdir()
    Path(state["csv_path"]).rmdir()

    monkeypatch.setattr(execution, "execute_run", real)
    out = io.StringIO()
    rows = run_search(SearchConfig(**{**cfg.__dict__, "resume": "latest"}), out)
    assert "1 already completed, 0 to run" in out.getvalue()  # found again in MLflow
    assert [r["status"] for r in rows] == ["COMPLETED"]
    assert list(pd.read_csv(state["csv_path"])["status"]) == ["COMPLETED"]


def _notebook(path: Path, code: str) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [new_code_cell("x = 1", metadata={"tags": ["parameters"]}), new_code_cell(code)]
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernel}), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "death, cause",
    [
        ("os.kill(os.getpid(), 9)", r"killed by signal 9 \(SIGKILL\): out of memory\?"),
        ("os._exit(3)", r"exit code 3"),
    ],
)
def test_a_dead_kernel_names_its_exit_and_the_last_lines_of_its_log(tmp_path, death, cause):
    from nbclient.exceptions import DeadKernelError

    code = f'import os\nos.write(2, b"allocating 1 TB\\n")\n{death}'
    src = _notebook(tmp_path / "die.ipynb", code)
    out = tmp_path / "runs" / "003-abc.ipynb"
    with pytest.raises(DeadKernelError) as error:
        search.execute_run(src, out, {}, io.StringIO())
    text = execution.error_text(error.value)
    assert re.search(rf"^DeadKernelError: Kernel died \({cause}\); last lines of ", text), text
    assert "003-abc.kernel.log: " in text and "allocating 1 TB" in text
