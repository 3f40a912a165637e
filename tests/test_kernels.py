"""Kernels started ahead (tennis_lab.kernels.KernelPool), with real kernels and papermill."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import DeadKernelError

from tennis_lab.executors import RunSlot
from tennis_lab.kernels import (
    TRAINING_TAG,
    YIELD_NICENESS,
    KernelPool,
    execute_notebook,
    kernel_log_path,
)

pytestmark = pytest.mark.slow  # starts kernels

TF = {"keras_backend": "tensorflow"}  # the pools' backend here (nothing imports it)
# A warm-up that is cheap and leaves a trace the notebook can see.
WARMUP = "import colorsys\n"


def notebook(path: Path, code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("keras_backend = ''\nlabel = ''")
    parameters.metadata["tags"] = ["parameters"]
    training = nbformat.v4.new_code_cell(code)
    training.metadata["tags"] = [TRAINING_TAG]
    nb.cells = [parameters, training]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
    return path


REPORT = """\
import json, os, sys, time
print(json.dumps({"pid": os.getpid(), "warm": "colorsys" in sys.modules}))
time.sleep(1.5)  # the next kernel starts meanwhile
"""


def _report_of(cell) -> dict:
    text = "".join(o.get("text", "") for o in cell.get("outputs", []))
    return json.loads(text.strip().splitlines()[0])


def _report(out: Path) -> dict:
    return _report_of(nbformat.read(out, as_version=4).cells[-1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended
        return stat.read().split()[2] != "Z"


def _gone(pid: int, within: float = 10) -> bool:
    deadline = time.time() + within
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


def test_each_run_takes_the_kernel_started_during_the_previous_one(tmp_path):
    src = notebook(tmp_path / "run.ipynb", REPORT)
    with KernelPool("tensorflow", cwd=tmp_path, warmup=WARMUP) as pool:
        reports = []
        for n in range(3):
            out = tmp_path / "runs" / f"{n:03d}.ipynb"
            execute_notebook(src, out, TF, pool=pool)
            reports.append(_report(out))
        assert pool.used == 2, pool.failures  # runs 2 and 3; run 1 started its own
        waiting = pool._ready
        assert waiting is not None  # prepared during run 3, for a run that never comes
    pids = [r["pid"] for r in reports]
    assert len(set(pids)) == 3  # one kernel per run, always
    assert [r["warm"] for r in reports] == [False, True, True]  # warmed up ahead
    assert all(_gone(pid) for pid in pids)  # each stopped after its run
    assert _gone(waiting.process.pid)  # and close() stopped the unused one


def test_the_last_run_starts_no_kernel_for_a_run_that_never_comes(tmp_path):
    src = notebook(tmp_path / "run.ipynb", REPORT)
    with KernelPool("tensorflow", cwd=tmp_path, warmup=WARMUP) as pool:
        pool.prepare()
        execute_notebook(src, tmp_path / "a.ipynb", TF, pool=pool, prepare_next=False)
        assert pool.used == 1, pool.failures  # it took the kernel prepared for it
        assert pool._ready is None and pool._thread is None  # and started none
        # a run that comes all the same starts its own kernel
        execute_notebook(src, tmp_path / "b.ipynb", TF, pool=pool, prepare_next=False)
        assert pool.used == 1 and not _report(tmp_path / "b.ipynb")["warm"]


def test_a_run_on_another_backend_starts_its_own_kernel(tmp_path):
    src = notebook(tmp_path / "run.ipynb", REPORT)
    with KernelPool("jax", cwd=tmp_path, warmup=WARMUP) as pool:
        pool.prepare()
        execute_notebook(src, tmp_path / "a.ipynb", TF, pool=pool)
        assert pool.used == 0 and not _report(tmp_path / "a.ipynb")["warm"]
        # the same backend as the pool's: it takes the kernel prepared during run a
        execute_notebook(src, tmp_path / "b.ipynb", {"keras_backend": "jax"}, pool=pool)
        assert pool.used == 1 and _report(tmp_path / "b.ipynb")["warm"]


def test_a_warm_up_that_fails_leaves_the_run_to_start_its_own(tmp_path):
    src = notebook(tmp_path / "run.ipynb", REPORT)
    with KernelPool("tensorflow", cwd=tmp_path, warmup="import no_such_module_here\n") as pool:
        pool.prepare()
        execute_notebook(src, tmp_path / "a.ipynb", TF, pool=pool)
        assert pool.used == 0
        assert any("no_such_module_here" in f for f in pool.failures), pool.failures
    assert _report(tmp_path / "a.ipynb")["pid"] > 0


def test_a_kernel_started_ahead_keeps_its_log_and_its_death_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)  # see test_search's log test
    speak = notebook(
        tmp_path / "speak.ipynb",
        'import os, time\nos.write(2, b"said by the process\\n")\ntime.sleep(1)',
    )
    die = notebook(tmp_path / "die.ipynb", 'import os\nos.write(2, b"last words\\n")\nos._exit(3)')
    with KernelPool("tensorflow", cwd=tmp_path, warmup=WARMUP) as pool:
        pool.prepare()
        out = tmp_path / "runs" / "001-speak.ipynb"
        execute_notebook(speak, out, TF, stream=io.StringIO(), pool=pool)
        assert pool.used == 1
        assert "said by the process" in kernel_log_path(out).read_text()
        out = tmp_path / "runs" / "002-die.ipynb"
        with pytest.raises(DeadKernelError, match=r"exit code 3.*last words"):
            execute_notebook(die, out, TF, stream=io.StringIO(), pool=pool)
        assert pool.used == 2
        assert "last words" in kernel_log_path(out).read_text()


def _stamp(cell) -> float:
    from datetime import datetime

    return datetime.fromisoformat(cell.metadata.papermill["end_time"]).timestamp()


HEAD = """\
import json, os
path = "/proc/self/autogroup"  # the session group's niceness, where Linux has them
group = lambda: open(path).read().split()[-1] if os.path.exists(path) else None
print(json.dumps({"group": group()}))
"""
TIMED = """\
import json, os, threading, time
threading.Thread(target=time.sleep, args=(5,), daemon=True).start()  # as XLA's pool
threads = lambda: [int(t) for t in os.listdir("/proc/self/task")]
nice = lambda: sorted({os.getpriority(os.PRIO_PROCESS, t) for t in threads()})
print(json.dumps({"pid": os.getpid(), "began": time.time(), "nice": nice(), "group": group()}))
time.sleep(1.5)  # training
"""
SCORING = """\
import json, time
time.sleep(1)  # evaluation
print(json.dumps({"nice": nice(), "group": group()}))
"""


class Turn(RunSlot):
    """A real RunSlot that notes when each step came."""

    def __init__(self, previous: RunSlot) -> None:
        self.times: dict[str, float] = {}
        self.kernels: list = []
        super().__init__(lambda: self.times.setdefault("handover", time.time()), previous)

    def main_done(self) -> None:
        self.times.setdefault("main_done", time.time())
        super().main_done()

    def stop_with(self, stop) -> None:
        self.kernels.append(stop.__self__)  # the kernel's Popen (its bound kill)
        super().stop_with(stop)


@pytest.mark.parametrize(
    "ahead", [None, True, False], ids=["own kernel", "kernel started ahead", "first kernel"]
)
def test_a_turn_holds_the_training_until_the_previous_one_is_done_then_hands_over(tmp_path, ahead):
    """ahead: None, the run starts its own kernel; else one prepared ``behind`` or not."""
    src = notebook(tmp_path / "run.ipynb", TIMED)
    nb = nbformat.read(src, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell(HEAD))
    nb.cells.append(nbformat.v4.new_code_cell(SCORING))
    nbformat.write(nb, src)
    previous = RunSlot(lambda: None)  # a run still training
    released = []

    def previous_trains() -> None:
        time.sleep(3)
        released.append(time.time())
        previous.main_done()

    turn = Turn(previous)
    out = tmp_path / "a.ipynb"
    threading.Thread(target=previous_trains, daemon=True).start()
    with KernelPool("tensorflow", cwd=tmp_path, warmup=WARMUP) as pool:
        if ahead is not None:
            pool.prepare(behind=ahead)
            deadline = time.time() + 60  # warmed up (a run waiting for it would lift it)
            while pool._thread is not None and time.time() < deadline:
                time.sleep(0.1)
        execute_notebook(src, out, TF, pool=None if ahead is None else pool, turn=turn)
        assert pool.used == int(ahead is not None), pool.failures
    done = nbformat.read(out, as_version=4)
    training = next(c for c in done.cells if TRAINING_TAG in c.metadata.get("tags", []))
    began = _report_of(training)["began"]
    assert released and released[0] <= turn.times["handover"] <= began  # waited its turn
    assert _stamp(training) - 0.5 <= turn.times["main_done"] < _stamp(done.cells[-1]) - 0.5
    assert [k.pid for k in turn.kernels] == [_report_of(training)["pid"]]
    # The kernel trains at its normal priority (a kernel started ahead waited behind),
    # and once trained, its session and every thread give way to the next run's training.
    trained, scored = _report_of(training), _report_of(done.cells[-1])
    (nice,) = trained["nice"]
    assert scored["nice"] == [min(19, nice + YIELD_NICENESS)]
    if trained["group"] is not None:  # Linux's session groups
        head = _report_of(next(c for c in done.cells if c.source == HEAD))["group"]
        assert head == (str(YIELD_NICENESS) if ahead else "0")  # started behind another run
        assert (trained["group"], scored["group"]) == ("0", str(YIELD_NICENESS))


STORES_OPEN = """\
import json
from mlflow.tracking._tracking_service.utils import _tracking_store_registry as stores
print(json.dumps({"stores": stores._get_store_with_resolved_uri.cache_info().currsize}))
"""


def test_a_kernel_started_ahead_has_the_runs_tracking_store_open(tmp_path):
    from tennis_lab.kernels import STORE_WARMUP_CODE
    from tennis_lab.tracking import ensure_experiment

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ensure_experiment(tracking_uri=uri)  # the search makes the store before any run
    src = notebook(tmp_path / "run.ipynb", STORES_OPEN)
    with KernelPool("tensorflow", cwd=tmp_path, warmup=STORE_WARMUP_CODE.format(uri=uri)) as pool:
        pool.prepare()
        execute_notebook(src, tmp_path / "a.ipynb", TF, pool=pool)
        assert pool.used == 1, pool.failures
        # a store nobody can open: the warm-up still succeeds, the run says what is wrong
        pool.warmup = STORE_WARMUP_CODE.format(uri="sqlite:////no/such/folder/x.db")
        pool.prepare()
        execute_notebook(src, tmp_path / "b.ipynb", TF, pool=pool)
        assert pool.used == 2, pool.failures
    nb = nbformat.read(tmp_path / "a.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))
    assert json.loads(text)["stores"] == 1  # opened before the notebook ran


def test_the_warm_up_opens_the_store_only_when_given_one():
    from tennis_lab.kernels import WARMUP_CODE, warmup_code

    assert warmup_code() == WARMUP_CODE and warmup_code(None) == WARMUP_CODE
    code = warmup_code("sqlite:////data/it's here/mlflow.db")
    assert code.startswith(WARMUP_CODE) and "client(uri)" in code
    compile(code, "warm-up", "exec")  # quoted as Python, whatever the path holds
    assert repr("sqlite:////data/it's here/mlflow.db") in code


def test_a_kernel_left_running_a_notebook_is_found_and_stopped(tmp_path):
    """What a resumed search does first: the kernels of a killed one stop writing."""
    from tennis_lab.kernels import kernel_pid_path, stop_orphans

    src = notebook(tmp_path / "run.ipynb", "import os, time\nprint(os.getpid())\ntime.sleep(120)")
    out = tmp_path / "runs" / "001-long.ipynb"
    errors: list[BaseException] = []

    def run() -> None:
        try:
            execute_notebook(src, out, TF)
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    pid_file = kernel_pid_path(out)
    deadline = time.time() + 60
    while not pid_file.is_file() and time.time() < deadline:
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    assert _alive(pid)
    time.sleep(2)  # the long cell runs
    assert stop_orphans(out.parent) == [pid]
    assert not _alive(pid) and not pid_file.exists()
    thread.join(30)
    assert len(errors) == 1 and isinstance(errors[0], DeadKernelError)
    # a run that ends removes its file; a stale file naming no kernel is dropped
    execute_notebook(notebook(tmp_path / "short.ipynb", "x = 1"), tmp_path / "b.ipynb", TF)
    assert not kernel_pid_path(tmp_path / "b.ipynb").exists()
    kernel_pid_path(tmp_path / "c.ipynb").write_text(str(os.getpid()))  # not a kernel
    assert stop_orphans(tmp_path) == [] and not kernel_pid_path(tmp_path / "c.ipynb").exists()


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no session groups")
def test_a_run_waiting_for_a_kernel_still_warming_up_behind_gives_it_full_priority(tmp_path):
    """A kernel started ahead warms up behind other work, unless a run already waits for it."""
    warmup = (
        "import time\n"
        "_behind = open('/proc/self/autogroup').read().split()[-1]\n"
        "time.sleep(2)\n"
        "_taken = open('/proc/self/autogroup').read().split()[-1]\n"
    )
    src = notebook(tmp_path / "run.ipynb", "print(_behind, _taken)")
    out = tmp_path / "out.ipynb"
    with KernelPool("tensorflow", cwd=tmp_path, warmup=warmup) as pool:
        pool.prepare()
        time.sleep(1)  # started, warming up
        execute_notebook(src, out, TF, pool=pool, prepare_next=False)
        assert pool.used == 1, pool.failures
    cell = nbformat.read(out, as_version=4).cells[-1]
    assert "".join(o.get("text", "") for o in cell.outputs).split() == [str(YIELD_NICENESS), "0"]
