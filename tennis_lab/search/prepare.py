"""Before the first run: a new search or a resume, locked, connected, its parent run open.

:func:`prepare_new` plans and checks everything, then takes a new search id under its
lock, starts the executor (and the first run's kernel), creates the parent run and
writes the state file; :func:`prepare_resume` does the same for a stopped search.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from tennis_lab import backends, grids
from tennis_lab.executors import ExecutorError, SequentialExecutor, make_executor
from tennis_lab.kernels import HEAD_WARMUP_CODE, KernelPool, stop_orphans
from tennis_lab.results import FIXED_STRATEGIES
from tennis_lab.search import checks, store
from tennis_lab.search.config import (
    DEFAULT_N_TRIALS,
    SearchConfig,
    SearchError,
    SearchState,
    absolute,
)
from tennis_lab.search.lock import SearchLock
from tennis_lab.search.parent import reopen_parent, start_parent
from tennis_lab.search.planning import new_strategy, plan, run_parameters, strategy_of


def executor_of(cfg: SearchConfig):
    """The executor of ``cfg`` (in order here, or Dask); SearchError when it cannot start."""
    try:
        return make_executor(cfg.workers, cfg.scheduler, overlap=cfg.overlap_runs)
    except ExecutorError as exc:
        raise SearchError(str(exc)) from None


def first_kernel(
    cfg: SearchConfig, executor: Any, overrides: Mapping[str, Any], stack: contextlib.ExitStack
) -> KernelPool | None:
    """One run at a time: the search's kernel pool, starting the first run's kernel now,
    every check done, while the parent run is made (it imports what the run needs
    before its training; the tracking store may not exist yet; see
    :class:`tennis_lab.search.runner.Session`)."""
    if not cfg.prepare_kernels or not isinstance(executor, SequentialExecutor):
        return None
    backend = backends.resolve_backend(overrides.get("keras_backend"))
    pool = stack.enter_context(KernelPool(backend, warmup=HEAD_WARMUP_CODE))
    pool.prepare(behind=False)  # nothing trains yet
    return pool


def prepare_new(
    cfg: SearchConfig,
    defaults: Mapping[str, Any],
    places: checks.Places,
    stack: contextlib.ExitStack,
) -> tuple[SearchState, Any, KernelPool | None]:
    """Check everything, then lock a new search id, connect, and create the parent run.

    Returns the state, the executor and the kernel pool (:func:`first_kernel`)."""
    grid, combos, overrides = plan(cfg, defaults)
    if cfg.data_dir:
        overrides["data_dir"] = str(absolute(cfg.data_dir))
    uri = checks.tracking_uri(cfg.tracking_uri)
    checks.check_store(uri)
    checks.check_writable(places.output / "searches", places.reports)
    stamp, lock = store.new_search(places.output, grid.name)
    stack.enter_context(lock)
    executor = stack.enter_context(executor_of(cfg))
    kernels = first_kernel(cfg, executor, overrides, stack)
    search_id = lock.path.stem
    name = strategy_of(cfg)
    strategy = None
    if name not in FIXED_STRATEGIES:
        if name == "tpe":
            combos = []  # TPE proposes its own; plan's were a sample to check
        storage = store.tpe_storage(places.output, search_id) if name == "tpe" else None
        strategy = new_strategy(cfg, combos, defaults, storage, executor.workers)
    state = SearchState(
        search_id=search_id,
        grid=grid.name,
        parent_run_id="",
        experiment=cfg.experiment,
        experiment_id=checks.experiment(uri, cfg.experiment),
        tracking_uri=uri,
        csv_path=str(store.csv_path(places.output, stamp)),
        notebooks_dir=str(places.reports / search_id),
        combinations=combos,
        config_ids=[grids.config_id(run_parameters(c, overrides)) for c in combos],
        overrides=overrides,
        started=datetime.now().isoformat(timespec="seconds"),
        settings=checks.settings(cfg, places),
        strategy=name,
        strategy_state=strategy.state() if strategy is not None else None,
    )
    state.parent_run_id = start_parent(state)
    store.write_state(state, places.output)
    return state, executor, kernels


def prepare_resume(
    cfg: SearchConfig, places: checks.Places, stack: contextlib.ExitStack,
    say: Callable[[str], None],
) -> tuple[SearchState, Any, KernelPool | None]:  # fmt: skip
    """Lock the search, check flags, store and folders, connect, and reopen the parent run.

    Returns as :func:`prepare_new`."""
    search_id = store.latest_search(places.output) if cfg.resume == "latest" else cfg.resume
    store.read_state(places.output, search_id)  # it exists: only then a lock file for it
    stack.enter_context(SearchLock(store.lock_path(places.output, search_id)).acquire(say))
    state = store.read_state(places.output, search_id)
    # Kernels of the stopped search that still run notebooks would finish their MLflow
    # runs after this session has read them (and run them again).
    stop_orphans(Path(state.notebooks_dir))
    checks.check_resume_flags(cfg, places, state)
    checks.check_store(state.tracking_uri)
    checks.check_writable(
        places.output / "searches", Path(state.csv_path).parent, Path(state.notebooks_dir)
    )
    executor = stack.enter_context(executor_of(cfg))
    kernels = first_kernel(cfg, executor, state.overrides, stack)
    reopen_parent(cfg, state, places.output, say)
    what = (
        f"{state.settings.get('n_trials') or DEFAULT_N_TRIALS} trials"
        if state.strategy == "tpe"
        else f"{len(state.combinations)} combinations"
    )
    say(f"Resuming search {search_id} ({state.strategy}, {what})")
    return state, executor, kernels
