"""Where a search's runs execute: in order here, or on Dask workers.

An executor takes a job function and a list of items and yields ``(item, error)``
as each job ends, ``error`` being None or the exception it raised; jobs may end out
of order. Nothing here knows about grids or notebooks.

- :class:`SequentialExecutor`: one job after the other, in this process.
- :class:`DaskExecutor`: a ``LocalCluster`` of single-threaded worker processes on this
  machine (``workers=N``), or an existing Dask cluster (``scheduler="tcp://host:8786"``).
  A worker that dies fails its job (no silent retry), so the search records the
  combination as FAILED and ``--resume`` runs it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

Job = Callable[[Any], Any]


class SequentialExecutor:
    """Run jobs one after the other in this process."""

    workers = 1

    def run(self, job: Job, items: Iterable[Any]) -> Iterator[tuple[Any, BaseException | None]]:
        for item in items:
            try:
                job(item)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a failed job is an outcome, not a crash
                yield item, exc
            else:
                yield item, None

    def close(self) -> None:
        pass

    def __enter__(self) -> SequentialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Run jobs on Dask: a local cluster of ``workers`` processes, or ``scheduler``'s cluster.

    Parameters
    ----------
    workers : int, optional
        Worker processes of a new ``LocalCluster`` (one thread each).
    scheduler : str, optional
        Address of an existing scheduler; then ``workers`` is ignored.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        import dask
        from distributed import Client, LocalCluster

        # A job whose worker dies is failed, not retried: the search records it.
        dask.config.set({"distributed.scheduler.allowed-failures": 0})
        self.cluster = None
        if scheduler:
            self.client = Client(scheduler, timeout="30s")
        else:
            if not workers or workers < 1:
                raise ValueError(f"workers must be at least 1; got {workers!r}.")
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            )
            self.client = Client(self.cluster)
        self.workers = max(1, len(self.client.scheduler_info()["workers"]))

    def run(self, job: Job, items: Iterable[Any]) -> Iterator[tuple[Any, BaseException | None]]:
        from distributed import as_completed

        futures = {}
        for n, item in enumerate(items):
            future = self.client.submit(job, item, pure=False, key=f"run-{n}")
            futures[future] = item
        for future in as_completed(futures):
            try:
                future.result()
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                yield futures[future], exc
            else:
                yield futures[future], None

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(workers: int | None = None, scheduler: str | None = None):
    """Sequential for one local worker, else Dask (local cluster or ``scheduler``)."""
    if scheduler or (workers and workers > 1):
        return DaskExecutor(workers=workers, scheduler=scheduler)
    return SequentialExecutor()
