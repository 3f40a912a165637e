"""Where a search's runs execute: in order here, or on Dask workers.

An executor calls ``job(item, cpu_threads)`` for items and reports ``(item, error)``
as each job ends, ``error`` being None or the exception it raised; jobs may end out
of order. ``cpu_threads`` is the job's share of its machine's cores (0: no limit, the
job has the machine to itself). Two ways to use one:

- ``run(job, items)``: every item, yielding ``(item, error)`` as each ends;
- ``submit(job, item)`` then ``next_done()``: the caller decides what to start as
  results come in (an adaptive search), keeping at most ``capacity`` jobs in flight;
  ``in_flight`` counts the jobs submitted and not yet returned by ``next_done``.
  ``workers`` is how many run at once (what a strategy may ask for ahead);
  ``capacity`` may be larger, for jobs that overlap their ends.

Nothing here knows about grids or notebooks.

- :class:`SequentialExecutor`: one job after the other, in this process; with
  ``overlap=True`` the next job starts as soon as the current one calls
  :meth:`RunSlot.handover` (a run whose training begins) and waits for the current
  one's :meth:`RunSlot.main_done` (its training done) before its own main work, so
  that jobs overlap their beginnings and ends but not their main work.
- :class:`DaskExecutor`: a ``LocalCluster`` of single-threaded worker processes on this
  machine (``workers=N``), or an existing Dask cluster (``scheduler="tcp://host:8786"``).
  A worker that dies fails its job (no silent retry), so the search records the
  combination as FAILED and ``--resume`` runs it again. A scheduler that cannot be
  reached, or that goes away during the runs, is an :class:`ExecutorError`.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tennis_lab.errors import TennisLabError

Job = Callable[[Any, int], Any]

# Dask's defaults that slow CPU-bound training in its workers (measured on the demo
# data, two runs at once on 2 cores: training 64 s per run with Dask's defaults, 41 s
# without, the same as two plain processes): the statistical profiler samples the
# running task's stack every 10 ms, and the nanny sets MALLOC_TRIM_THRESHOLD_, which
# the run's kernel inherits and which makes TensorFlow's allocations return memory to
# the system over and over.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # A job whose worker dies is failed, not retried: the search records it.
    "distributed.scheduler.allowed-failures": 0,
}
KERNEL_ENV_DROP = ("MALLOC_TRIM_THRESHOLD_",)
CONNECT_TIMEOUT_S = 10  # to reach an existing scheduler before anything else starts


class ExecutorError(TennisLabError, RuntimeError):
    """A cluster that cannot be reached or was lost; the message says which and the fix."""


class ClusterLost(ExecutorError):
    """The scheduler went away while jobs were running (they are neither done nor failed)."""


def machine_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a SLURM allocation)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class RunSlot:
    """What an overlapping :class:`SequentialExecutor` hands a job (``job(item, 0, slot)``).

    A job in three steps: what it does before its main work (a run: kernel, data,
    split), its main work (the training), and its end (evaluation, logging).

    - :meth:`wait_turn`: wait, before the main work, until the previous job's main
      work is done (so that two never overlap);
    - :meth:`handover`: the next job may start (its first step then overlaps this
      job's main work);
    - :meth:`main_done`: this job's main work is done (the next may begin its own);
    - :meth:`stop_with`: how to stop this job at once from another thread.

    A job that ends has handed over and finished its main work, whatever it called.
    """

    def __init__(self, on_handover: Callable[[], None], previous: RunSlot | None = None) -> None:
        self._on_handover = on_handover
        self._previous = previous
        self._lock = threading.Lock()
        self._handed = False
        self._main_done = threading.Event()
        self._stoppers: list[Callable[[], None]] = []
        self._stopped = threading.Event()

    @property
    def handed_over(self) -> bool:
        return self._handed

    def wait_turn(self) -> None:
        """Wait until the previous job's main work is done (or it ended, or this one is
        stopped); no wait for the first job."""
        previous = self._previous
        while previous is not None and not previous._main_done.wait(0.2):
            if self._stopped.is_set():
                return
        self._previous = None  # let it go

    def handover(self) -> None:
        """Let the next job start (once; later calls do nothing)."""
        with self._lock:
            if self._handed:
                return
            self._handed = True
        self._on_handover()

    def main_done(self) -> None:
        """This job's main work is done: the next job may begin its own."""
        self._main_done.set()
        self.handover()

    def stop_with(self, stop: Callable[[], None]) -> None:
        """Register how to stop this job (called at once when it is already stopped)."""
        with self._lock:
            if not self._stopped.is_set():
                self._stoppers.append(stop)
                return
        stop()

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
            stoppers, self._stoppers = self._stoppers, []
        for stop in stoppers:
            try:
                stop()
            except Exception:  # noqa: BLE001 - a job that ended meanwhile
                pass


JOIN_WAIT_S = 30  # for a stopped job's thread to end (its notebook written)


class SequentialExecutor:
    """Run jobs one after the other in this process.

    Without overlap, ``submit`` queues a job and ``next_done`` runs the first queued
    one, here and now. With ``overlap=True`` jobs run in a background thread each,
    called as ``job(item, 0, slot)`` with a :class:`RunSlot`: the next job starts once
    the current one has called ``slot.handover()`` (or ended), and at most two run at
    once; a job's ``slot.wait_turn()`` keeps its main work from overlapping the
    previous job's. So the next run prepares while the current one trains, and trains
    while the current one finishes. ``next_done`` returns jobs in the order they were
    submitted, each once it has ended (a short run may end before the one it overlaps:
    it waits, so results are recorded and shown run by run); :meth:`close` stops those
    still running.
    """

    workers = 1

    def __init__(self, overlap: bool = False) -> None:
        self.overlap = overlap
        self.capacity = 2 if overlap else 1
        self._queue: deque[tuple[Job, Any]] = deque()
        self._lock = threading.Lock()
        self._running: list[tuple[RunSlot, threading.Thread]] = []
        self._done: queue.Queue = queue.Queue()
        self._in_flight = 0
        self._order: deque[Any] = deque()  # overlap: the items in flight, oldest first
        self._ended: list[tuple[Any, BaseException | None]] = []  # not yet returned

    @property
    def in_flight(self) -> int:
        return self._in_flight if self.overlap else len(self._queue)

    def submit(self, job: Job, item: Any) -> None:
        self._queue.append((job, item))
        if self.overlap:
            self._in_flight += 1
            self._order.append(item)
            self._start_next()

    def next_done(self) -> tuple[Any, BaseException | None]:
        """The oldest job submitted, once it has ended: ``(item, error)``. IndexError
        when none is in flight."""
        if not self.overlap:
            job, item = self._queue.popleft()
            try:
                job(item, 0)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a failed job is an outcome, not a crash
                return item, exc
            return item, None
        if not self._in_flight:
            raise IndexError("next_done: no job in flight")
        oldest = self._order[0]
        while True:
            for i, (item, error) in enumerate(self._ended):
                if item is oldest:
                    del self._ended[i]
                    self._order.popleft()
                    self._in_flight -= 1
                    return item, error
            try:  # with a timeout, so that Ctrl-C gets through at once
                self._ended.append(self._done.get(timeout=0.2))
            except queue.Empty:
                continue

    def _start_next(self) -> None:
        """Start the next queued job when nothing runs, or when every running job has
        handed over (and fewer than ``capacity`` run)."""
        with self._lock:
            if not self._queue or len(self._running) >= self.capacity:
                return
            if any(not slot.handed_over for slot, _ in self._running):
                return
            job, item = self._queue.popleft()
            previous = self._running[-1][0] if self._running else None
            slot = RunSlot(self._start_next, previous)
            thread = threading.Thread(
                target=self._run, args=(job, item, slot), name="tennis-lab-run", daemon=True
            )
            self._running.append((slot, thread))
        thread.start()

    def _run(self, job: Job, item: Any, slot: RunSlot) -> None:
        error: BaseException | None = None
        try:
            job(item, 0, slot)
        except BaseException as exc:  # noqa: BLE001 - a failed job is an outcome
            error = exc
        finally:
            with self._lock:
                self._running = [(s, t) for s, t in self._running if s is not slot]
            self._done.put((item, error))
            slot.main_done()  # an ended job has handed over and let the next train
            self._start_next()

    def run(self, job: Job, items: Iterable[Any]) -> Iterator[tuple[Any, BaseException | None]]:
        for item in items:
            self.submit(job, item)
            if self.in_flight >= self.capacity:
                yield self.next_done()
        while self.in_flight:
            yield self.next_done()

    def close(self) -> None:
        """Drop the jobs not started; stop the running ones and wait for their threads."""
        with self._lock:
            self._queue.clear()
            running = list(self._running)
        for slot, _ in running:
            slot.stop()
        for _, thread in running:
            thread.join(JOIN_WAIT_S)

    def __enter__(self) -> SequentialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Run jobs on Dask: a local cluster of ``workers`` processes, or ``scheduler``'s cluster.

    Jobs start in the order of ``items``. Each job gets the cores of its machine
    divided by the worker threads on that machine as its ``cpu_threads``.

    Parameters
    ----------
    workers : int, optional
        Worker processes of a new ``LocalCluster`` (one thread each).
    scheduler : str, optional
        Address of an existing scheduler; then ``workers`` is ignored. Its scheduler
        and workers keep their own configuration (see docs/distributed.md).
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        import dask
        from distributed import Client, LocalCluster

        self.cluster = None
        self.scheduler = scheduler
        if scheduler:
            self.client = _connect(scheduler)
        else:
            if not workers or workers < 1:
                raise ValueError(f"workers must be at least 1; got {workers!r}.")
            with dask.config.set(LOCAL_CLUSTER_CONFIG):
                self.cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,
                )
            self.client = Client(self.cluster)
        self.workers = sum(self.slots_per_host().values()) or 1
        self.capacity = self.workers
        self._slots: dict[str, int] | None = None
        self._futures: dict[Any, Any] = {}  # future -> item, submitted and not returned
        self._done: Any = None  # a distributed.as_completed over them
        self._submitted = 0

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def submit(self, job: Job, item: Any) -> None:
        from distributed import as_completed

        if self._slots is None:
            self._slots = dict(self.slots_per_host())
        future = self.client.submit(
            _in_worker, job, item, self._slots, pure=False, key=f"run-{self._submitted}"
        )
        self._submitted += 1
        self._futures[future] = item
        if self._done is None:
            self._done = as_completed([future])
        else:
            self._done.add(future)

    def next_done(self) -> tuple[Any, BaseException | None]:
        """Wait for a submitted job to end; ``(item, error)``.

        Raises
        ------
        ClusterLost
            The scheduler went away (the jobs in flight are neither done nor failed).
        IndexError
            When nothing is in flight.
        """
        if not self._futures:
            raise IndexError("next_done: no job in flight")
        future = next(self._done)
        item = self._futures.pop(future)
        try:
            future.result()
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if getattr(exc, "reason", None) == "scheduler-connection-lost":
                raise ClusterLost(
                    f"the Dask scheduler at {self.scheduler or 'the local cluster'} went "
                    "away while runs were under way (connection lost); restart it and its "
                    "workers, then resume the search"
                ) from None
            return item, exc
        return item, None

    def advice(self) -> list[str]:
        """Settings of an existing cluster that hurt a search, each with its fix."""
        if self.cluster is not None:
            return []
        notes = []
        profiling = self.client.run(_config_value, "distributed.worker.profile.enabled")
        if any(profiling.values()):
            notes.append(
                "the Dask workers profile their tasks every 10 ms, which slows training; "
                "start them with DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False"
            )
        retries = self.client.run_on_scheduler(
            _config_value, "distributed.scheduler.allowed-failures"
        )
        if retries:
            notes.append(
                f"the Dask scheduler retries a run whose worker died up to {retries} times; "
                "start it with DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 to have such "
                "runs recorded FAILED at once (--resume runs them again)"
            )
        return notes

    def slots_per_host(self) -> Counter:
        """Worker threads (runs at once) on each host of the cluster."""
        slots: Counter = Counter()
        for info in self.client.scheduler_info()["workers"].values():
            slots[info["host"]] += int(info.get("nthreads", 1))
        return slots

    def run(self, job: Job, items: Iterable[Any]) -> Iterator[tuple[Any, BaseException | None]]:
        for item in items:
            self.submit(job, item)
        while self._futures:
            yield self.next_done()

    def close(self) -> None:
        import logging

        # A client that lost its scheduler logs the cancelled reconnection as an error.
        log = logging.getLogger("distributed.client")
        level = log.level
        if self.client.status != "running":
            log.setLevel(logging.CRITICAL)
        try:
            self.client.close()
        finally:
            log.setLevel(level)
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(scheduler: str):
    """A client of the scheduler at ``scheduler``, or :class:`ExecutorError` within seconds."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ExecutorError(
            f"cannot connect to the Dask scheduler at {scheduler!r} within "
            f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}: {exc}). Start it (`dask scheduler`) "
            "and its workers (`dask worker ADDRESS`), or fix --scheduler: tcp://HOST:PORT, "
            "e.g. tcp://10.0.0.5:8786"
        ) from None


def _config_value(key: str) -> Any:
    import dask

    return dask.config.get(key)


def _in_worker(job: Job, item: Any, slots: dict[str, int]) -> Any:
    """Run ``job`` on a Dask worker with its share of the machine's cores.

    The job's child processes (a run's kernel) do not inherit :data:`KERNEL_ENV_DROP`.
    """
    from distributed import get_worker
    from distributed.comm import get_address_host

    worker = get_worker()
    runs_here = slots.get(get_address_host(worker.address), worker.state.nthreads)
    threads = max(1, machine_cores() // max(1, runs_here))
    saved = {k: os.environ.pop(k) for k in KERNEL_ENV_DROP if k in os.environ}
    try:
        return job(item, threads)
    finally:
        os.environ.update(saved)


def make_executor(workers: int | None = None, scheduler: str | None = None, overlap: bool = False):
    """Sequential for one local worker (``overlap``: see :class:`SequentialExecutor`),
    else Dask (local cluster or ``scheduler``).

    Raises
    ------
    ExecutorError
        When ``scheduler`` cannot be reached within :data:`CONNECT_TIMEOUT_S` seconds.
    """
    if scheduler or (workers and workers > 1):
        return DaskExecutor(workers=workers, scheduler=scheduler)
    return SequentialExecutor(overlap=overlap)
