"""Searches on a Dask LocalCluster: runs in parallel, finishing out of order."""

from __future__ import annotations

import contextlib
import os
import signal

import pandas as pd
import pytest
import yaml
from conftest import TINY_MODEL

from tennis_lab.executors import DaskExecutor, SequentialExecutor, machine_cores, make_executor
from tennis_lab.search import SearchConfig, expected_cost, run_search
from tennis_lab.tracking import runs_dataframe


def _square(x, cpu_threads):
    if x == 3:
        raise ValueError("three is not allowed")
    return x * x


def _check_share(expected_threads, cpu_threads):
    """A job that fails unless it got its share of the cores and a clean environment."""
    import dask

    assert cpu_threads == expected_threads, f"cpu_threads {cpu_threads} != {expected_threads}"
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ, "kernels would inherit malloc trimming"
    return dask.config.get("distributed.worker.profile.enabled")


def test_executors_report_every_outcome_even_out_of_order():
    with SequentialExecutor() as seq:
        outcomes = list(seq.run(_square, [1, 3, 2]))
    assert [item for item, _ in outcomes] == [1, 3, 2]
    assert isinstance(outcomes[1][1], ValueError) and outcomes[0][1] is None
    with make_executor(workers=2) as dask_exec:
        assert isinstance(dask_exec, DaskExecutor) and dask_exec.workers == 2
        outcomes = dict(dask_exec.run(_square, [1, 2, 3, 4]))
    assert set(outcomes) == {1, 2, 3, 4}
    assert isinstance(outcomes[3], ValueError) and "three" in str(outcomes[3])
    assert outcomes[1] is None and outcomes[4] is None
    assert isinstance(make_executor(workers=1), SequentialExecutor)


@pytest.mark.slow
def test_each_job_gets_its_share_of_the_cores_and_no_malloc_trimming():
    with SequentialExecutor() as seq:  # one run at a time: the machine is its own
        assert list(seq.run(_check_share, [0])) == [(0, None)]
    share = max(1, machine_cores() // 2)
    with DaskExecutor(workers=2) as local:
        assert local.advice() == []
        assert [e for _, e in local.run(_check_share, [share, share])] == [None, None]
        profiling = local.client.run(lambda: __import__("dask").config.get(
            "distributed.worker.profile.enabled"))  # fmt: skip
        assert set(profiling.values()) == {False}
        trimming = local.client.run(lambda: "MALLOC_TRIM_THRESHOLD_" in os.environ)
        assert set(trimming.values()) == {False}
    # An existing cluster keeps Dask's defaults (its nanny sets MALLOC_TRIM_THRESHOLD_):
    # the job still runs without it, and gets it back afterwards.
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with DaskExecutor(scheduler=cluster.scheduler_address) as remote:
            assert remote.workers == 2
            trimming = remote.client.run(lambda: "MALLOC_TRIM_THRESHOLD_" in os.environ)
            assert set(trimming.values()) == {True}
            assert [e for _, e in remote.run(_check_share, [share, share])] == [None, None]
            advice = " ".join(remote.advice())  # Dask's defaults: profiling, 3 retries
            assert "PROFILE__ENABLED=False" in advice and "ALLOWED_FAILURES=0" in advice
            trimming = remote.client.run(lambda: "MALLOC_TRIM_THRESHOLD_" in os.environ)
            assert set(trimming.values()) == {True}


def test_expected_cost_orders_runs_by_training_work():
    small, large = {"lstm_layers": [64, 32]}, {"lstm_layers": [128, 64]}
    assert expected_cost(large) > 2 * expected_cost(small)
    assert expected_cost({**small, "use_bidirectional": True}) == 2 * expected_cost(small)
    # more overlap: more windows per video
    assert expected_cost({**small, "overlap": 40}) == 3 * expected_cost({**small, "overlap": 30})
    assert expected_cost({}) == expected_cost(large)  # the defaults: [128, 64], 45/30


@pytest.mark.slow
def test_four_combinations_on_two_workers(tiny_demo, tmp_path):
    fixed = {k: v for k, v in TINY_MODEL.items() if k not in ("lstm_layers", "epochs")}
    grid = tmp_path / "four.yaml"
    grid.write_text(
        yaml.safe_dump(
            {"fixed": {**fixed, "window_size": 30, "overlap": 15},
             "grid": {"lstm_layers": [[8], [12]], "learning_rate": [0.01, 0.02]}}
        )
    )  # fmt: skip
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = SearchConfig(
        grid=str(grid), data_dir=str(tiny_demo), epochs=2, output_dir=str(tmp_path / "out"),
        reports_dir=str(tmp_path / "runs"), tracking_uri=uri, experiment="parallel_test",
        stream_output=False, workers=2,
    )  # fmt: skip
    rows = run_search(cfg, open(os.devnull, "w"))
    assert [r["run_number"] for r in rows] == [1, 2, 3, 4]
    assert {r["status"] for r in rows} == {"COMPLETED"}
    (csv,) = (tmp_path / "out").glob("grid_search_results_*.csv")
    table = pd.read_csv(csv)
    assert len(table) == 4 and table["config_id"].is_unique
    parent = rows[0]["run_id"]
    kids = runs_dataframe("parallel_test", tracking_uri=uri)
    children = kids[kids["tags.mlflow.parentRunId"].notna()]
    assert len(children) == 4 and set(children["status"]) == {"FINISHED"}
    assert set(children["run_id"]) == {r["run_id"] for r in rows} and parent in set(
        children["run_id"]
    )


def _grid(path, lstm_layers, learning_rates=(0.01,)):
    fixed = {
        k: v for k, v in TINY_MODEL.items() if k not in ("lstm_layers", "epochs", "learning_rate")
    }
    path.write_text(
        yaml.safe_dump(
            {"fixed": {**fixed, "window_size": 30, "overlap": 15},
             "grid": {"lstm_layers": lstm_layers, "learning_rate": list(learning_rates)}}
        )
    )  # fmt: skip
    return path


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_workers_log_over_http_to_a_real_mlflow_server(tiny_demo, tmp_path):
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        uri = f"http://127.0.0.1:{port}"
        cfg = SearchConfig(
            grid=str(_grid(tmp_path / "four.yaml", [[8], [12]], (0.01, 0.02))),
            data_dir=str(tiny_demo), epochs=2, output_dir=str(tmp_path / "out"),
            reports_dir=str(tmp_path / "runs"), tracking_uri=uri, experiment="over_http",
            stream_output=False, workers=2,
        )  # fmt: skip
        rows = run_search(cfg, open(os.devnull, "w"))
        assert {r["status"] for r in rows} == {"COMPLETED"}
        kids = runs_dataframe("over_http", tracking_uri=uri)
        children = kids[kids["tags.mlflow.parentRunId"].notna()]
        assert len(children) == 4 and set(children["status"]) == {"FINISHED"}
        assert set(children["experiment_id"]) == set(kids["experiment_id"])
        # the best run's model is the server registry's champion, and loads from there
        from tennis_lab.predict import load_model
        from tennis_lab.search import ranked_rows
        from tennis_lab.tracking import model_version_by_alias

        assert model_version_by_alias(tracking_uri=uri).run_id == ranked_rows(rows)[0]["run_id"]
        assert load_model(tracking_uri=uri).window_size == 30
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.slow
def test_a_killed_worker_leaves_its_run_failed_and_resume_completes(tiny_demo, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    import psutil

    grid = _grid(tmp_path / "three.yaml", [[8], [12], [16]])
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out, runs = tmp_path / "out", tmp_path / "runs"
    cmd = [
        sys.executable, "-m", "tennis_lab.search", "--grid", str(grid),
        "--data-dir", str(tiny_demo), "--epochs", "2",
        "--output-dir", str(out), "--reports-dir", str(runs),
        "--tracking-uri", uri, "--experiment", "killed_worker", "--quiet", "--workers", "2",
    ]  # fmt: skip
    search = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    victim = None
    deadline = time.time() + 240
    while victim is None and time.time() < deadline:
        for proc in psutil.Process(search.pid).children(recursive=True):
            try:
                if "ipykernel_launcher" in " ".join(proc.cmdline()):
                    victim = proc.parent()  # the Dask worker running this kernel
                    break
            except psutil.Error:
                continue
        time.sleep(0.3)
    assert victim is not None, "no run started"
    os.kill(victim.pid, signal.SIGKILL)
    console, _ = search.communicate(timeout=300)
    assert search.returncode in (0, 1)
    assert "failed for reasons other than their parameters" in console
    assert "Resume with: tennis-lab grid --resume " in console
    (csv,) = out.glob("grid_search_results_*.csv")
    first = pd.read_csv(csv)
    assert len(first) == 3 and "FAILED" in set(first["status"])
    assert first.loc[first["status"] == "FAILED", "error"].str.contains("KilledWorker").any()
    assert "RUNNING" not in set(runs_dataframe("killed_worker", tracking_uri=uri)["status"])

    cfg = SearchConfig(
        grid=str(grid), data_dir=str(tiny_demo), epochs=2, output_dir=str(out),
        reports_dir=str(runs), tracking_uri=uri, experiment="killed_worker",
        stream_output=False, workers=2, resume="latest",
    )  # fmt: skip
    rows = run_search(cfg, open(os.devnull, "w"))
    final = pd.read_csv(csv)
    assert len(final) == 3 and set(final["status"]) == {"COMPLETED"}
    assert [r["run_number"] for r in rows] == [1, 2, 3]


def _signal_tree(proc, signum: int) -> None:
    """Send ``signum`` to a process started by the test and every process under it."""
    import psutil

    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.Error:
        return
    for p in tree:
        try:
            p.send_signal(signum)
        except psutil.Error:
            pass


def _kill_tree(proc) -> None:
    """Kill a process started by the test and every process under it."""
    import psutil

    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        tree = []
    for p in [*tree, proc]:
        try:
            p.kill()
        except (psutil.Error, ProcessLookupError):
            pass
    proc.wait(timeout=30)


@pytest.mark.slow
def test_a_scheduler_that_goes_away_ends_the_search_killed_with_a_resume_hint(tiny_demo, tmp_path):
    import subprocess
    import sys
    import time

    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    address = f"tcp://127.0.0.1:{_free_port()}"
    scheduler = subprocess.Popen(
        [*dask, "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
         "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cmd = [
        sys.executable, "-m", "tennis_lab.search", "--grid", str(_grid(tmp_path / "g.yaml", [[8]])),
        "--data-dir", str(tiny_demo), "--epochs", "2", "--output-dir", str(tmp_path / "out"),
        "--reports-dir", str(tmp_path / "runs"), "--tracking-uri", uri,
        "--experiment", "lost_scheduler", "--quiet", "--no-register", "--scheduler", address,
    ]  # fmt: skip
    search = None
    try:
        time.sleep(3)  # the scheduler listens, the worker joins
        search = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        db = tmp_path / "mlflow.db"

        def children(timeout: float = 10) -> list[str] | None:
            """The child runs' statuses, read from the store directly (milliseconds);
            None while a writer holds the store locked."""
            import sqlite3

            try:
                with contextlib.closing(sqlite3.connect(db, timeout=timeout)) as con:
                    return [status for (status,) in con.execute(
                        "SELECT r.status FROM runs r JOIN tags t ON r.run_uuid = t.run_uuid "
                        "WHERE t.key = 'mlflow.parentRunId'"
                    )]  # fmt: skip
            except sqlite3.OperationalError as error:
                return None if "locked" in str(error) else []
            except sqlite3.Error:  # no store or tables yet
                return []

        deadline = time.time() + 300
        while "RUNNING" not in (children() or []):
            assert search.poll() is None, search.communicate()
            assert time.time() < deadline, "no run started"
            time.sleep(0.05)
        # Freeze the worker and its kernel at once (the child logs for a moment only),
        # then read what the store holds while nothing can change it. Frozen in the
        # middle of a write, the kernel holds the store locked: let it finish, freeze again.
        for _ in range(100):
            _signal_tree(worker, signal.SIGSTOP)
            frozen_rows = children(timeout=1)
            if frozen_rows is not None:
                break
            _signal_tree(worker, signal.SIGCONT)
            time.sleep(0.05)
        (frozen,) = frozen_rows
        _kill_tree(scheduler)  # the cluster goes away: scheduler, worker and its kernel
        _kill_tree(worker)
        out, err = search.communicate(timeout=120)
    finally:
        for proc in (search, scheduler, worker):
            if proc is not None and proc.poll() is None:
                _kill_tree(proc)
    assert search.returncode == 1, err
    assert f"the Dask scheduler at {address} went away" in err and "--resume" in err
    assert "Traceback" not in err
    runs = runs_dataframe("lost_scheduler", tracking_uri=uri)
    # none left RUNNING: the parent killed, and its child too unless it had just finished
    child = "KILLED" if frozen == "RUNNING" else frozen
    assert sorted(runs["status"]) == sorted(["KILLED", child])
