"""Executing a trial: its notebook in a fresh kernel, and its console output in run order.

:func:`execute_run` runs one trial's notebook (papermill through
:func:`tennis_lab.kernels.execute_notebook`); :func:`run_spec` is the picklable job an
executor runs; :class:`Relay` holds a sequential run's output back while an earlier
run is reporting.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from tennis_lab.executors import RunSlot
from tennis_lab.kernels import KernelPool, execute_notebook


def error_text(exc: BaseException) -> str:
    """A run's error in one line: the cell's exception name and value, or the exception's."""
    import papermill

    if isinstance(exc, papermill.PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue}".strip()
    return f"{type(exc).__name__}: {exc}".strip()


def execute_run(
    notebook: Path,
    output: Path,
    parameters: Mapping[str, Any],
    stream: TextIO | None = None,
    pool: KernelPool | None = None,
    slot: RunSlot | None = None,
    prepare_next: bool = True,
) -> None:
    """Execute a trial's ``notebook`` into ``output`` in a fresh kernel.

    See :func:`tennis_lab.kernels.execute_notebook`: the executed notebook is written
    even when a cell raises; the kernel process's own output goes to
    :func:`tennis_lab.kernels.kernel_log_path`; a dead kernel's error names its exit signal and log;
    ``pool`` starts the next run's kernel ahead (unless ``prepare_next`` is false: no
    run follows this one); ``slot`` (an overlapping sequential
    executor's) lets the next run start once this one trains, holds this one's training
    until the previous run's is done, and stops the kernel when the search is
    interrupted.
    """
    execute_notebook(
        notebook, output, parameters, stream, pool=pool, turn=slot, prepare_next=prepare_next
    )


def run_spec(
    spec: tuple[str, str, dict[str, Any]], cpu_threads: int, stream: TextIO | None = None,
    pool: KernelPool | None = None, slot: RunSlot | None = None, prepare_next: bool = True,
) -> None:  # fmt: skip
    """A job for an executor: execute one combination's notebook (picklable).

    ``slot``, ``prepare_next``: see :func:`execute_run`.
    """
    notebook, output, parameters = spec
    parameters = {**parameters, "cpu_threads": cpu_threads}
    execute_run(Path(notebook), Path(output), parameters, stream, pool, slot, prepare_next)


class Relay:
    """A sequential run's console output: held back while an earlier run is reporting.

    With runs overlapping (:class:`SequentialExecutor` ``overlap=True``), the next
    run starts while the current one trains, and trains while it is scored and logged;
    its header and output are kept until the current one's result is shown, so the
    console reads run by run.
    """

    def __init__(self, out: TextIO, held: bool) -> None:
        self._out = out
        self._held = held
        self._kept: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            if self._held:
                self._kept.append(text)
            else:
                self._out.write(text)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if not self._held:
                self._out.flush()

    def release(self) -> None:
        """Write what was held, and from now on write at once."""
        with self._lock:
            if self._held:
                self._held = False
                self._out.write("".join(self._kept))
                self._kept.clear()
                self._out.flush()
