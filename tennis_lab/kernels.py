"""Executing a notebook in a fresh kernel with papermill, its kernel's own output kept apart.

The search runs every trial this way (:func:`tennis_lab.search.execute_run`) and so does
the report. What the kernel process writes itself (TensorFlow's C++ log lines,
ipykernel's warnings and shutdown noise, a crash's last words) goes to a log file
beside the executed notebook instead of the console; a dead kernel's error names its
exit signal or code and that log's last lines.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from tennis_lab import paths


def kernel_log_path(output: Path) -> Path:
    """Where the kernel process's own output goes: beside the executed notebook."""
    return output.with_name(output.stem + ".kernel.log")


def _logging_kernel_manager(log_path: Path, launched: list | None = None) -> type:
    """A kernel manager whose kernel process writes its stdout and stderr to ``log_path``.

    That output is not the cells' output (papermill records that in the notebook and
    streams it): it is what the process writes itself, such as TensorFlow's C++ log
    lines, ipykernel's warnings and a crash's last words. Each kernel process started
    (a ``subprocess.Popen``) is appended to ``launched``, to read its exit status.
    """
    from jupyter_client.manager import AsyncKernelManager

    class LoggingKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            with open(log_path, "ab") as log:  # the kernel keeps its own copy
                kw = {**kw, "stdout": log, "stderr": log}
                await super()._async_launch_kernel(kernel_cmd, **kw)
            process = getattr(self.provisioner, "process", None)
            if launched is not None and process is not None:
                launched.append(process)

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


def execute_notebook(
    notebook: Path,
    output: Path,
    parameters: Mapping[str, Any],
    stream: TextIO | None = None,
    timeout: float | None = None,
) -> None:
    """Execute ``notebook`` with ``parameters`` into ``output`` in a fresh kernel.

    papermill writes the executed notebook even when a cell raises; the error then
    propagates (``PapermillExecutionError``, or ``DeadKernelError`` when the kernel
    dies: its message then names the exit signal or code and the kernel log's last
    lines). The kernel process's own output goes to :func:`kernel_log_path`, which is
    removed when it stays empty. ``timeout``: the most seconds one cell may take
    (None: no limit); a longer cell raises ``TimeoutError`` (nbclient's
    ``CellTimeoutError``).
    """
    import papermill
    from nbclient.exceptions import DeadKernelError

    output.parent.mkdir(parents=True, exist_ok=True)
    log = kernel_log_path(output)
    log.unlink(missing_ok=True)
    launched: list = []
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=dict(parameters),
            progress_bar=False,
            stdout_file=stream,
            stderr_file=stream,
            cwd=str(paths.project_root()),
            kernel_manager_class=_logging_kernel_manager(log, launched),
            # What native code writes to the process's stdout and stderr (TensorFlow's
            # C++ log lines, for one) goes to the kernel log, not into the cells' output.
            extra_arguments=["--IPKernelApp.capture_fd_output=False"],
            execution_timeout=timeout,
        )
    except DeadKernelError as error:
        raise _dead_kernel_error(error, launched[-1] if launched else None, log) from error
    finally:
        if log.is_file() and log.stat().st_size == 0:
            log.unlink()
