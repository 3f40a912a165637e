"""Executing a notebook in a fresh kernel with papermill, its kernel's own output kept apart.

The search runs every trial this way (:func:`tennis_lab.search.execute_run`) and so does
the report. What the kernel process writes itself (TensorFlow's C++ log lines,
ipykernel's warnings and shutdown noise, a crash's last words) goes to a log file
beside the executed notebook instead of the console; a dead kernel's error names its
exit signal or code and that log's last lines.

A :class:`KernelPool` starts the next run's kernel while the current run goes on: as
a run begins, a new kernel starts in the background and imports what every run
imports (Keras, MLflow, tennis_lab), so the next run begins with that done. Each
kernel still executes one notebook only and is stopped after it: runs share nothing
but the time their kernels started. A kernel that is not training (warming up, scoring,
logging) runs at a lower CPU priority than the one that is (:func:`wait_cpu`,
:func:`claim_cpu`, :func:`yield_cpu`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tennis_lab import paths


def kernel_log_path(output: Path) -> Path:
    """Where the kernel process's own output goes: beside the executed notebook."""
    return output.with_name(output.stem + ".kernel.log")


def kernel_pid_path(output: Path) -> Path:
    """The kernel's process id while it runs the notebook: beside the executed notebook."""
    return output.with_name(output.stem + ".kernel.pid")


ORPHAN_WAIT_S = 10


def stop_orphans(folder: Path) -> list[int]:
    """Kill the kernels a stopped process left running notebooks in ``folder``.

    A kernel runs in a session of its own and outlives its parent by up to a second
    or so (ipykernel's parent poller); a search killed with SIGKILL can so leave one
    that still writes to MLflow while the search resumes. Each kernel's process id is
    in :func:`kernel_pid_path` while it runs: a process that is still an ipykernel is
    killed and waited for (at most :data:`ORPHAN_WAIT_S` seconds), and the files are
    removed. Returns the process ids killed.
    """
    import psutil

    killed = []
    for path in sorted(Path(folder).glob("*.kernel.pid")):
        try:
            process = psutil.Process(int(path.read_text().strip()))
            if "ipykernel" in " ".join(process.cmdline()):
                process.kill()
                process.wait(ORPHAN_WAIT_S)
                killed.append(process.pid)
        except (ValueError, OSError, psutil.Error):
            pass  # gone already, or not a kernel (a process id used again)
        path.unlink(missing_ok=True)
    return killed


def _logging_kernel_manager(log_path: Path, on_launch: Callable[[Any], None] | None = None) -> type:
    """A kernel manager whose kernel process writes its stdout and stderr to ``log_path``.

    That output is not the cells' output (papermill records that in the notebook and
    streams it): it is what the process writes itself, such as TensorFlow's C++ log
    lines, ipykernel's warnings and a crash's last words. Each kernel process started
    (a ``subprocess.Popen``) is passed to ``on_launch``, e.g. to read its exit status.
    """
    from jupyter_client.manager import AsyncKernelManager

    class LoggingKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            with open(log_path, "ab") as log:  # the kernel keeps its own copy
                kw = {**kw, "stdout": log, "stderr": log}
                await super()._async_launch_kernel(kernel_cmd, **kw)
            process = getattr(self.provisioner, "process", None)
            if on_launch is not None and process is not None:
                on_launch(process)

    return LoggingKernelManager


_SIGNAL_HINTS = {
    signal.SIGKILL: "out of memory?",
    signal.SIGSEGV: "a crash in native code",
    signal.SIGABRT: "aborted",
}


def _exit_cause(process: Any) -> str:
    """How a kernel process ended: its signal (with a likely cause) or exit code."""
    code = process.poll() if process is not None else None
    if code is None:
        return "exit status unknown"
    if code >= 0:
        return f"exit code {code}"
    try:
        sig = signal.Signals(-code)
    except ValueError:
        return f"killed by signal {-code}"
    hint = _SIGNAL_HINTS.get(sig)
    return f"killed by signal {int(sig)} ({sig.name})" + (f": {hint}" if hint else "")


def _log_tail(log: Path, lines: int = 5, width: int = 200) -> str:
    """The last non-empty lines of ``log``, each cut to ``width``, joined by `` | ``."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip()[:width] for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def _dead_kernel_error(error: BaseException, process: Any, log: Path) -> BaseException:
    """``DeadKernelError`` with the kernel's exit signal or code and its log's last lines."""
    tail = _log_tail(log)
    where = f"last lines of {log.name}: {tail}" if tail else f"{log.name} is empty"
    return type(error)(f"Kernel died ({_exit_cause(process)}); {where}")


# The cell that trains. In a search that overlaps its runs, its start lets the next run
# start; once it has run, only the evaluation, figures and logging are left, and the
# next run may train (see execute_notebook's ``turn``).
TRAINING_TAG = "training"


def _is_training(cell: Mapping[str, Any]) -> bool:
    """Whether a notebook cell is the one tagged :data:`TRAINING_TAG`."""
    return TRAINING_TAG in cell.get("metadata", {}).get("tags", [])

# What every training run imports, run in a kernel prepared ahead (in a function, so
# that the notebook's namespace stays empty). Keras takes its backend from the
# kernel's environment (KERAS_BACKEND); nothing here starts the backend, so the
# notebook's own thread limits still apply. MLflow reads every installed package's
# metadata once per process to check a model's requirements when the model is saved.
WARMUP_CODE = """\
def _tennis_lab_warmup():
    import keras
    import mlflow
    import mlflow.keras

    import tennis_lab.datacache, tennis_lab.evaluation, tennis_lab.model, tennis_lab.plots
    import tennis_lab.tracking, tennis_lab.training

    try:
        from mlflow.utils.requirements_utils import _init_packages_to_modules_map
    except ImportError:
        return
    _init_packages_to_modules_map()


_tennis_lab_warmup()
del _tennis_lab_warmup
"""

# What the first run of a search needs before it trains: a search starts that kernel
# while it makes its tracking store and parent run, so MLflow waits for the run's end.
HEAD_WARMUP_CODE = """\
def _tennis_lab_warmup():
    import keras

    import tennis_lab.datacache, tennis_lab.evaluation, tennis_lab.model, tennis_lab.plots
    import tennis_lab.training


_tennis_lab_warmup()
del _tennis_lab_warmup
"""

# Opening an MLflow store (for SQLite: its engine and the check of its schema) took
# 1.3 s of every run's logging; MLflow keeps one store per URI and process, so a
# kernel that opened the run's store ahead logs without that wait. A store that
# cannot be opened now is left to the run, which says why.
STORE_WARMUP_CODE = """\
def _tennis_lab_open_store(uri):
    try:
        from tennis_lab.tracking import client

        client(uri).search_experiments(max_results=1)
    except Exception:
        pass


_tennis_lab_open_store({uri!r})
del _tennis_lab_open_store
"""


def warmup_code(tracking_uri: str | None = None) -> str:
    """What a kernel started ahead runs: :data:`WARMUP_CODE`, and with a tracking URI
    (as the runs get it) :data:`STORE_WARMUP_CODE` for that store."""
    return WARMUP_CODE + (STORE_WARMUP_CODE.format(uri=tracking_uri) if tracking_uri else "")


KERNEL_ARGUMENTS = ["--IPKernelApp.capture_fd_output=False"]
CLOSE_WAIT_S = 5  # a kernel still warming up when the pool closes stops itself after


@dataclass
class _Kernel:
    """A kernel started ahead: its manager, its process, where its own output goes."""

    manager: Any
    process: Any
    log: Path
    backend: str
    kernel_name: str


async def _stop_async(kernel: _Kernel) -> None:
    """Kill the kernel (when alive) and remove its connection file."""
    try:
        if await kernel.manager.is_alive():
            await kernel.manager.shutdown_kernel(now=True)  # cleans up after itself
            return
    except Exception:  # noqa: BLE001 - a kernel that is already gone
        pass
    try:
        await kernel.manager.cleanup_resources()
    except Exception:  # noqa: BLE001
        pass


def _stop(kernel: _Kernel) -> None:
    """Stop a kernel started ahead (from any thread without a running event loop)."""
    asyncio.run(_stop_async(kernel))


class KernelPool:
    """Start the next run's kernel ahead, warmed up; each kernel runs one notebook only.

    :meth:`prepare` starts a kernel in a background thread (when none is ready or on
    its way) and runs ``warmup`` (:func:`warmup_code`) in it; :func:`execute_notebook` with
    ``pool=`` takes that kernel for its run (waiting for it when it is still on its
    way), then calls :meth:`prepare` for the next run, and stops the kernel after the
    run. A kernel that failed
    to start or to warm up is dropped and the run starts its own, as without a pool.
    :meth:`close` stops a kernel left over (a kernel outlives its parent process by
    at most a few seconds: ipykernel watches it).

    Parameters
    ----------
    backend : str
        The Keras backend the kernels import (``KERAS_BACKEND`` in their environment);
        a run asking for another one starts its own kernel.
    cwd : path, optional
        The kernels' working folder (default: the project).
    kernel_name : str
        The Jupyter kernel to start; a notebook asking for another one starts its own.
    """

    def __init__(
        self, backend: str, cwd: Path | None = None, warmup: str = WARMUP_CODE,
        startup_timeout: float = 120, kernel_name: str = "python3",
    ) -> None:  # fmt: skip
        self.backend = backend
        self.kernel_name = kernel_name
        self.cwd = Path(cwd) if cwd else paths.project_root()
        self.warmup = warmup
        self.startup_timeout = startup_timeout
        self.used = 0  # runs that took a kernel started ahead
        self.failures: list[str] = []  # why prepared kernels were dropped
        self._lock = threading.Lock()
        self._ready: _Kernel | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._logs = Path(tempfile.mkdtemp(prefix="tennis_lab_kernels_"))
        self._count = 0
        self._behind: int | None = None  # the pid of the kernel on its way, warming up behind
        self._awaited = False  # a run waits for the kernel on its way: it warms up at full speed

    def prepare(self, behind: bool = True) -> None:
        """Start a kernel for the next run in the background, unless one is ready or on its way.

        ``behind``: it warms up behind the work of other kernels (:func:`wait_cpu`; a run
        trains meanwhile) until its run claims its priority back; False for a kernel
        nothing runs beside (a search's first)."""
        with self._lock:
            if self._closed or self._ready is not None or self._thread is not None:
                return
            self._count += 1
            self._behind, self._awaited = None, False
            thread = threading.Thread(
                target=self._start, args=(self._count, behind), name="tennis-lab-next-kernel",
                daemon=True,
            )  # fmt: skip
            self._thread = thread
        thread.start()

    def _start(self, number: int, behind: bool) -> None:
        try:
            kernel = asyncio.run(self._launch(number, behind))
        except Exception as error:  # noqa: BLE001 - the run starts its own kernel instead
            self.failures.append(f"{type(error).__name__}: {error}")
            kernel = None
        with self._lock:
            self._thread = None
            if self._closed and kernel is not None:
                _stop(kernel)
            elif kernel is not None:
                self._ready = kernel

    async def _launch(self, number: int, behind: bool = True) -> _Kernel:
        """Start a kernel and warm it up (in this thread's own event loop).

        The manager is an asynchronous one, as papermill's own: nbclient reads the
        kernel's messages without blocking, so it notices when the kernel dies.
        """
        log = self._logs / f"kernel-{number}.log"
        launched: list = []
        manager = _logging_kernel_manager(log, launched.append)(kernel_name=self.kernel_name)
        env = {**os.environ, "KERAS_BACKEND": self.backend}
        await manager.start_kernel(cwd=str(self.cwd), env=env, extra_arguments=KERNEL_ARGUMENTS)
        if launched and behind:  # warms up while another run trains: behind it (until its own)
            with self._lock:
                if not self._awaited:
                    wait_cpu(launched[-1].pid)
                    self._behind = launched[-1].pid
        kernel = _Kernel(
            manager, launched[-1] if launched else None, log, self.backend, self.kernel_name
        )
        try:
            client = manager.client()
            client.start_channels()
            try:
                await client.wait_for_ready(timeout=self.startup_timeout)
                reply = await client.execute_interactive(
                    self.warmup, silent=True, timeout=self.startup_timeout,
                    output_hook=lambda msg: None,
                )  # fmt: skip
            finally:
                client.stop_channels()
            content = reply["content"]
            if content.get("status") != "ok":
                raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")
        except BaseException:
            await _stop_async(kernel)
            raise
        return kernel

    def take(self, backend: str, kernel_name: str = "python3") -> _Kernel | None:
        """The prepared kernel (waiting for one on its way), or None: start your own.

        A kernel still warming up behind other work is waited for at normal priority:
        the run needs it now."""
        with self._lock:
            thread, self._awaited = self._thread, True
            if thread is not None and self._behind is not None:
                claim_cpu(self._behind)  # still on its way: the run waits for it now
        if thread is not None:
            thread.join(self.startup_timeout * 2)
        with self._lock:
            kernel, self._ready = self._ready, None
        if kernel is None:
            return None
        if (
            kernel.backend != backend
            or kernel.kernel_name != kernel_name
            or kernel.process is None
            or kernel.process.poll() is not None  # died while it waited
        ):
            _stop(kernel)
            return None
        self.used += 1
        return kernel

    def close(self) -> None:
        """Stop the kernel prepared and not used, and remove the pool's logs."""
        with self._lock:
            self._closed = True
            kernel, self._ready = self._ready, None
            thread = self._thread
        if kernel is not None:
            _stop(kernel)
        if thread is not None:  # on its way: it stops its kernel itself, being closed
            thread.join(CLOSE_WAIT_S)
        shutil.rmtree(self._logs, ignore_errors=True)

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# How much lower a kernel runs while it is not training: a search's next kernel starts,
# imports and loads its data while a run trains, and a run that has trained scores, draws
# and logs while the next one trains (see :func:`yield_cpu`).
YIELD_NICENESS = 10


def _set_session_niceness(pid: int, niceness: int) -> bool:
    """Set the niceness of the scheduling group of ``pid``'s session (Linux's autogroup).

    Where Linux groups processes by session (``kernel.sched_autogroup_enabled``, for
    processes outside a CPU cgroup), a kernel (a session of its own) shares the CPU
    with the next one as a group, whatever its threads' niceness: the group's is what
    counts. Any value from 0 up may be set again by the owner (the kernel allows one
    change per 0.1 s to unprivileged users: hence the retries). A process in this
    process's own session is left alone (its group is this one's too). False where
    there is no such group (not Linux), it is this session's, or it cannot be set.
    """
    try:
        if os.getsid(pid) == os.getsid(0):
            return False
    except (OSError, AttributeError):  # gone, or no sessions (Windows)
        return False
    path = f"/proc/{pid}/autogroup"
    for _ in range(30):
        try:
            with open(path, "w") as group:
                group.write(str(niceness))
            return True
        except BlockingIOError:  # EAGAIN: another change within 0.1 s
            time.sleep(0.01)
        except OSError:
            return False
    return False


def yield_cpu(pid: int, niceness: int = YIELD_NICENESS) -> int:
    """Lower the CPU priority of kernel ``pid`` for good: its session's and every thread's.

    Called once a run has trained: its evaluation, figures and logging then fill the
    cores the next run's training leaves idle instead of slowing it. Linux keeps a
    niceness per thread (the threads a process has do not follow its main one), hence
    every thread; and per session group where those are on (see
    :func:`_set_session_niceness`). Lowering needs no privilege; a thread that is gone,
    or a system that refuses, is left as it is. Returns the number of threads lowered.
    """
    _set_session_niceness(pid, niceness)
    try:
        threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except (FileNotFoundError, PermissionError, ValueError):
        threads = [pid]  # no /proc: the process as a whole
    lowered = 0
    for thread in threads:
        try:
            current = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, current + niceness))
            lowered += 1
        except (OSError, AttributeError):  # gone, refused, or no setpriority (Windows)
            continue
    return lowered


def wait_cpu(pid: int, niceness: int = YIELD_NICENESS) -> bool:
    """Run kernel ``pid``'s session behind others until :func:`claim_cpu` (kernels started
    ahead, while another run trains). Only the session group's niceness is lowered, as
    that one can be raised again without privilege; where groups are off, nothing changes."""
    return _set_session_niceness(pid, niceness)


def claim_cpu(pid: int) -> bool:
    """Give kernel ``pid``'s session its normal priority back (its training begins)."""
    return _set_session_niceness(pid, 0)


def _keep_log(source: Path, log: Path) -> None:
    """Move a prepared kernel's own output beside the notebook it ran (when there is any)."""
    if source.is_file() and source.stat().st_size:
        shutil.move(str(source), str(log))
    else:
        source.unlink(missing_ok=True)


def _kernel_options(
    notebook: Path, parameters: Mapping[str, Any], pool: KernelPool | None, turn: Any,
    prepare_next: bool, log: Path, launch: Callable[[Any], None],
) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    """The kernel a run takes from ``pool`` (None: papermill starts one), and papermill's
    options for it; see :func:`execute_notebook`."""
    from tennis_lab.backends import resolve_backend

    kernel = None
    if pool is not None:
        import nbformat

        source = nbformat.read(notebook, as_version=4)
        spec = source.metadata.get("kernelspec", {})
        wanted = resolve_backend(parameters.get("keras_backend"))
        kernel = pool.take(wanted, spec.get("name", "python3"))
        if prepare_next:
            pool.prepare()  # the next run's, while this one runs
        if kernel is not None and (turn is None or not any(map(_is_training, source.cells))):
            claim_cpu(kernel.process.pid)  # no training turn to wait for: its priority back
    if kernel is not None:
        launch(kernel.process)
        return kernel, {"km": kernel.manager}
    return None, {
        "kernel_manager_class": _logging_kernel_manager(log, launch),
        # What native code writes to the process's stdout and stderr (TensorFlow's
        # C++ log lines, for one) goes to the kernel log, not into the cells' output.
        "extra_arguments": KERNEL_ARGUMENTS,
    }


def _turn_hooks(turn: Any, launched: list) -> dict[str, Callable[..., None]]:
    """papermill's cell hooks of an overlapping run: wait for its training turn, hand
    over to the next run, and give the CPU back once its training cell has run."""

    def training_starts(cell, **_: Any) -> None:
        if _is_training(cell):
            turn.wait_turn()
            if launched:  # started ahead, it waited behind the previous run's training
                claim_cpu(launched[-1].pid)
            turn.handover()

    def training_done(cell, **_: Any) -> None:  # after its reply (not on_cell_complete)
        if _is_training(cell):
            if launched:
                yield_cpu(launched[-1].pid)
            turn.main_done()

    return {"on_cell_start": training_starts, "on_cell_executed": training_done}


def execute_notebook(
    notebook: Path,
    output: Path,
    parameters: Mapping[str, Any],
    stream: TextIO | None = None,
    timeout: float | None = None,
    pool: KernelPool | None = None,
    turn: Any = None,
    prepare_next: bool = True,
) -> None:
    """Execute ``notebook`` with ``parameters`` into ``output`` in a fresh kernel.

    papermill writes the executed notebook even when a cell raises; the error then
    propagates (``PapermillExecutionError``, or ``DeadKernelError`` when the kernel
    dies: its message then names the exit signal or code and the kernel log's last
    lines). The kernel process's own output goes to :func:`kernel_log_path`, which is
    removed when it stays empty; its process id is in :func:`kernel_pid_path` while it
    runs (see :func:`stop_orphans`). ``timeout``: the most seconds one cell may take
    (None: no limit); a longer cell raises ``TimeoutError`` (nbclient's
    ``CellTimeoutError``). ``pool``: take the kernel it prepared, when it has one for
    this run's ``keras_backend``, and have it prepare the next one as this run
    begins (see :class:`KernelPool`), unless ``prepare_next`` is false (no run
    follows). ``turn``: the run's place in a sequence of overlapping runs
    (:class:`tennis_lab.executors.RunSlot`): before the cell tagged
    :data:`TRAINING_TAG` starts, ``turn.wait_turn()`` (the previous run's training is
    done) then ``turn.handover()`` (the next run may start); once that cell has run,
    ``turn.main_done()``; and ``turn.stop_with(kill)`` as soon as the kernel process
    is known, so that the run can be stopped from another thread. The kernel trains at
    normal priority and runs behind the training beside it otherwise: a kernel started
    ahead gets its priority back (:func:`claim_cpu`) when its turn comes, and every
    kernel gives it up (:func:`yield_cpu`) once its training cell has run.
    """
    import papermill
    from nbclient.exceptions import DeadKernelError

    output.parent.mkdir(parents=True, exist_ok=True)
    log = kernel_log_path(output)
    log.unlink(missing_ok=True)
    launched: list = []

    pid_file = kernel_pid_path(output)

    def launch(process: Any) -> None:
        launched.append(process)
        pid_file.write_text(str(process.pid))
        if turn is not None:
            turn.stop_with(process.kill)

    kernel, options = _kernel_options(notebook, parameters, pool, turn, prepare_next, log, launch)
    if turn is not None:
        options.update(_turn_hooks(turn, launched))
    try:
        try:
            papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=dict(parameters),
                progress_bar=False,
                stdout_file=stream,
                stderr_file=stream,
                cwd=str(paths.project_root()),
                execution_timeout=timeout,
                # Once the last cell is done, the kernel has nothing left to write (every
                # result and MLflow call is committed inside the cells): stop it at once
                # instead of waiting seconds for TensorFlow's threads to wind down.
                shutdown_kernel="immediate",
                **options,
            )
        finally:
            if kernel is not None:  # papermill stops only the kernels it started
                _stop(kernel)
                _keep_log(kernel.log, log)
    except DeadKernelError as error:
        raise _dead_kernel_error(error, launched[-1] if launched else None, log) from error
    finally:
        pid_file.unlink(missing_ok=True)
        if log.is_file() and log.stat().st_size == 0:
            log.unlink()
