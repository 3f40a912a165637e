"""The runner: a session asks its strategy for trials, runs them, hands outcomes to the recorder.

:func:`run_search` checks and prepares (:mod:`tennis_lab.search.prepare`), then runs a
:class:`Session`: the search phase's strategy, then the finalists' repeats, each by
ask and tell over an executor (in order here, or Dask workers); every finished run
goes to :func:`tennis_lab.search.recorder.record_outcome`, its row to the results CSV,
its score to the strategy. At the end: the standings, the parent run's summary, the
console's summary and the champion.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from tennis_lab import strategies, tracking
from tennis_lab.executors import ClusterLost, RunSlot, SequentialExecutor
from tennis_lab.kernels import KernelPool, warmup_code
from tennis_lab.results import (
    ADAPTIVE_STRATEGIES,
    FIXED_STRATEGIES,
    PHASE_REPEAT,
    PHASE_SEARCH,
    SELECTION_METRIC,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_PRUNED,
)
from tennis_lab.search import checks, console, recorder, store
from tennis_lab.search.config import (
    REPEAT_OVER,
    STRATEGY_TITLES,
    SearchConfig,
    SearchError,
    SearchFailed,
    SearchState,
    SearchTerminated,
    tunable_defaults,
)
from tennis_lab.search.execution import Relay, run_spec
from tennis_lab.search.jobs import Job, Jobs
from tennis_lab.search.ledger import Ledger
from tennis_lab.search.parent import end_parent, register_champion
from tennis_lab.search.planning import expected_cost
from tennis_lab.search.prepare import prepare_new, prepare_resume
from tennis_lab.search.ranking import Standings, standings
from tennis_lab.strategies import TrialSpec

# Errors of a run's machinery, not of its parameters: running it again may work.
RETRYABLE = ("KilledWorker", "DeadKernelError", "FutureCancelledError")


class Session:
    """One session of a search (a new one or a resume): its strategies over an executor.

    The order of writes makes a kill at any moment safe: a run's row is written to the
    CSV before its score is told to the strategy, and the strategy's state is saved
    after. A resumed session replays the strategy, and tells it the results it has
    not heard yet (rows of the CSV, or children FINISHED in MLflow) instead of running
    them again.
    """

    def __init__(
        self, cfg: SearchConfig, state: SearchState, executor: Any,
        defaults: Mapping[str, Any], notebook: Path, output_dir: Path, out: TextIO,
        kernels: KernelPool | None = None,
    ) -> None:  # fmt: skip
        self.cfg, self.state, self.executor = cfg, state, executor
        self.output_dir, self.out = output_dir, out
        self.say = console.sayer(out)
        self.jobs = Jobs(state, defaults, notebook)
        self.ledger = Ledger(state)
        self.csv_path = self.ledger.csv_path
        self.parallel = not isinstance(executor, SequentialExecutor)
        self.started = time.time()
        self.finished_here = 0
        self.runs_started = 0
        self.total = 0
        self.relays: dict[str, Relay] = {}  # sequential runs in flight, in submission order
        # One run at a time here: the next run's kernel starts while the current one
        # trains (workers of a cluster start their own). Now that the tracking store
        # exists, the kernels started ahead open it too.
        self.kernels = kernels
        if kernels is not None:
            kernels.warmup = warmup_code(state.tracking_uri)

    @property
    def rows(self) -> dict[tuple[int, int], dict[str, Any]]:
        """The rows so far, keyed by ``(trial, rung)``."""
        return self.ledger.rows

    def ordered(self) -> list[dict[str, Any]]:
        """The rows so far in ``(trial, rung)`` order."""
        return self.ledger.ordered()

    def _save_strategy(self, strategy: strategies.Strategy, phase: str) -> None:
        if phase == PHASE_SEARCH and self.state.strategy not in FIXED_STRATEGIES:
            self.state.strategy_state = strategy.state()
            store.write_state(self.state, self.output_dir)

    # ------------------------------------------------------------ running

    def _submit(self, job: Job, last: bool = False) -> None:
        """Start ``job``; ``last``: no run is expected after it (no kernel is started
        ahead for one)."""
        self.runs_started += 1
        if job.phase == PHASE_SEARCH and job.spec.initial_epoch > 0:
            job.notebook.parent.mkdir(parents=True, exist_ok=True)
            self.jobs.carry_checkpoint(job)
        elif job.item[2].get("checkpoint_path"):
            self.jobs.checkpoints.mkdir(parents=True, exist_ok=True)
        Path(job.result_file).unlink(missing_ok=True)
        if job.number is None:
            job.number = self.runs_started
        if self.parallel:
            self.executor.submit(run_spec, job.item)
            return
        # Its header and output wait while an earlier run is still under way.
        relay = Relay(self.out, held=bool(self.relays))
        self.relays[job.item[1]] = relay
        header = self._header(job)

        def run_here(item: tuple, cpu_threads: int, slot: RunSlot | None = None) -> None:
            """Sequential: show the header, then run with the kernel's output streamed."""
            relay.write("\n" + header + "\n")
            relay.flush()
            job.started = time.time()
            stream = relay if self.cfg.stream_output else None
            run_spec(item, cpu_threads, stream, pool=self.kernels, slot=slot, prepare_next=not last)

        self.executor.submit(run_here, job.item)

    def _released(self, job: Job) -> None:
        """A sequential run has ended: show what it held back; the next run's output goes on."""
        relay = self.relays.pop(job.item[1], None)
        if relay is not None:
            relay.release()

    def _release_next(self) -> None:
        if self.relays:
            next(iter(self.relays.values())).release()

    def _header(self, job: Job) -> str:
        number = job.number if job.number is not None else self.runs_started
        title = (
            "FINALIST REPEAT"
            if job.phase == PHASE_REPEAT
            else STRATEGY_TITLES.get(self.state.strategy, "GRID SEARCH")
        )
        return console.format_header(number, max(self.total, number), job.params, title, job.note)

    def _tell(self, strategy: strategies.Strategy, job: Job, row: dict[str, Any]) -> None:
        """Tell a run's result, mark what the strategy pruned, save, drop spent checkpoints."""
        ok = row["status"] in (STATUS_COMPLETED, STATUS_PRUNED)
        score = row.get(SELECTION_METRIC) if ok else None
        if score is not None and pd.isna(score):
            score = None
        strategy.tell(job.spec, score, STATUS_COMPLETED if ok else STATUS_FAILED)
        self._apply_pruned(strategy)
        self._save_strategy(strategy, job.phase)
        if job.phase == PHASE_SEARCH and self.state.strategy in ADAPTIVE_STRATEGIES:
            if job.spec.rung > 0:
                self.jobs.drop_checkpoint(job.spec.trial, job.cid, job.spec.rung - 1)
            if not ok:
                self.jobs.drop_checkpoint(job.spec.trial, job.cid, job.spec.rung)

    def _apply_pruned(self, strategy: strategies.Strategy) -> None:
        """Mark the rows of the trials the strategy stopped PRUNED (CSV and MLflow)."""
        changed = False
        for spec in strategy.pruned():
            if spec.key in self.ledger.pruned_done:
                continue
            row = self.rows.get(spec.key)
            if row is None:
                continue
            self.ledger.pruned_done.add(spec.key)
            row["status"] = STATUS_PRUNED
            changed = True
            self.jobs.drop_checkpoint(spec.trial, row["config_id"], spec.rung)
            try:
                tracking.set_tags(row["run_id"], {"status": STATUS_PRUNED}, self.state.tracking_uri)
            except Exception as exc:  # noqa: BLE001 - the CSV has it; MLflow is a copy
                self.say(f"Note: run {row['run_id']} could not be tagged PRUNED ({exc}).")
        if changed:
            self.ledger.save()

    def _take_asked(
        self, strategy: strategies.Strategy, phase: str, pending: list[TrialSpec],
        queue: list[Job],
    ) -> bool:  # fmt: skip
        """Ask for new trials; tell those already recorded, queue the others.

        Returns whether a result was told (the strategy may have more to ask)."""
        new = strategy.ask()
        if new:
            self._save_strategy(strategy, phase)
        told = False
        for spec in pending + new:
            job = self.jobs.job(spec, phase, self.total)
            row = self.ledger.known(job)
            if row is not None:
                self._tell(strategy, job, row)
                told = True
            else:
                queue.append(job)
        return told

    def _start_queued(self, queue: list[Job], in_flight: dict[str, Job]) -> None:
        """Submit queued jobs while the executor has room."""
        if self.parallel and len(queue) > 1:  # largest first: no long run left at the end
            queue.sort(key=lambda j: -expected_cost(j.full_params))
        while queue and self.executor.in_flight < self.executor.capacity:
            job = queue.pop(0)
            # None waiting, and the runs recorded, under way and this one are all planned
            last = not queue and len(self.rows) + len(in_flight) + 1 >= self.total
            self._submit(job, last=last)
            in_flight[job.item[1]] = job

    def _finish_next(
        self, strategy: strategies.Strategy, queue: list[Job], in_flight: dict[str, Job]
    ) -> None:
        """Wait for a run to end: record it, save the CSV, tell the strategy, show progress."""
        begun = time.time()
        item, error = self.executor.next_done()
        job = in_flight.pop(item[1])
        seconds = time.time() - (job.started or begun) if not self.parallel else None
        if self.parallel:
            self.say("\n" + self._header(job))
        else:
            self._released(job)
        row = recorder.record_outcome(self.state, job, error, seconds, self.say)
        self.rows[job.spec.key] = row
        self.ledger.save()
        self._tell(strategy, job, row)
        self.finished_here += 1
        done = len(self.rows)
        self.total = max(self.total, done + len(queue) + len(in_flight))
        elapsed = time.time() - self.started
        self.say("\n" + console.format_progress(done, self.total, elapsed, self.finished_here))
        self._release_next()

    def drive(self, strategy: strategies.Strategy, phase: str) -> None:
        """Ask, run (at most ``workers`` at once), tell, until the strategy is finished."""
        queue: list[Job] = []
        in_flight: dict[str, Job] = {}  # executed notebook -> job
        pending = list(strategy.running)  # asked by an earlier session
        self._apply_pruned(strategy)
        while True:
            told = self._take_asked(strategy, phase, pending, queue)
            pending = []
            self._start_queued(queue, in_flight)
            if not in_flight:
                if strategy.finished:
                    return
                if told:
                    continue
                raise SearchFailed(
                    f"the {strategy.name} strategy waits for results, but no run is under way "
                    f"(running: {[s.key for s in strategy.running]}). "
                    f"{console.resume_hint(self.state.search_id)}"
                )
            self._finish_next(strategy, queue, in_flight)

    # ------------------------------------------------------------ the phases

    def search_strategy(self) -> strategies.Strategy:
        """The search phase's strategy: a fixed one from the combinations, else replayed."""
        state = self.state
        if state.strategy in FIXED_STRATEGIES:
            return strategies.Strategy.registry[state.strategy].create(state.combinations)
        try:
            strategy = strategies.Strategy.from_state(state.strategy_state or {})
        except ValueError as exc:
            raise SearchError(
                f"cannot resume search {state.search_id}: its strategy state does not "
                f"replay ({exc})"
            ) from None
        if isinstance(strategy, strategies.TPEStrategy):
            strategy.workers = self.executor.workers
        return strategy

    def _repeat_entries(self, search: strategies.Strategy, k: int, n: int) -> bool:
        """Decide the finalists' repeats once (into the state file); False: no finalist."""
        state = self.state
        top = strategies.finalists(search.outcomes, k)
        if not top:
            self.say("\nNo configuration completed: there are no finalists to re-run.")
            return False
        last = max([key[0] for key in self.rows] + [o.spec.trial for o in search.outcomes])
        specs = strategies.repeat_specs(
            top, n, seeds=int(state.overrides["seed"]) + 1, first_trial=last + 1
        )
        state.repeat_specs = [
            {"spec": spec.to_dict(), "finalist": i // n + 1,
             "finalist_trial": top[i // n].spec.trial}
            for i, spec in enumerate(specs)
        ]  # fmt: skip
        store.write_state(state, self.output_dir)
        return True

    def repeat_strategy(self, search: strategies.Strategy) -> strategies.RepeatStrategy | None:
        """The finalists' repeats: decided once, when the search phase has ended."""
        state = self.state
        k, n = state.settings.get("finalists"), state.settings.get("repeats")
        if not k or not n:
            return None
        if state.repeat_specs is None and not self._repeat_entries(search, k, n):
            return None
        for entry in state.repeat_specs:
            spec = TrialSpec.from_dict(entry["spec"])
            self.jobs.repeat_info[spec.key] = {
                "finalist": entry["finalist"], "finalist_trial": entry["finalist_trial"],
            }  # fmt: skip
        trials = sorted({e["finalist_trial"] for e in state.repeat_specs})
        over = state.settings.get("repeat_over") or "seeds"
        self.say(
            f"\nFinalists: trials {', '.join(map(str, trials))}, each re-run {n} times varying "
            f"{REPEAT_OVER[over]}"
        )
        return strategies.RepeatStrategy([e["spec"] for e in state.repeat_specs])

    def apply_verdict(self) -> None:
        """Write each finalist's mean, interval and tie into its repeats' rows and MLflow."""
        verdict = recorder.apply_verdict(self.ordered(), self.state, self.say)
        if verdict:
            self.ledger.save()
            recorder.tag_parent_verdict(self.state, verdict, self.say)

    def run_phases(self, strategy: strategies.Strategy) -> Standings:
        """The search phase, then the finalists' repeats and their verdict; the standings."""
        self.drive(strategy, PHASE_SEARCH)
        shutil.rmtree(self.jobs.checkpoints, ignore_errors=True)  # the models are in MLflow
        repeats = self.repeat_strategy(strategy)
        if repeats is not None:
            self.drive(repeats, PHASE_REPEAT)
            self.apply_verdict()
        stand = standings(self.ordered())  # rank, winner, ties: into the rows
        self.ledger.save()
        return stand

    def close(self, status: str, stand: Standings | None) -> None:
        """Stop what still runs, release held output, and end the parent run."""
        if isinstance(self.executor, SequentialExecutor):
            self.executor.close()  # runs still under way (interrupted): stop their kernels now
        for relay in self.relays.values():
            relay.release()
        if self.kernels is not None:
            self.kernels.close()
        ordered = self.ordered()
        scored = [r for r in ordered if r["status"] in (STATUS_COMPLETED, STATUS_PRUNED)]
        if ordered and not scored and status != "KILLED":
            status = "FAILED"
        end_parent(self.state, status, self.say, ordered, self.csv_path, stand)


def _announce(cfg: SearchConfig, session: Session) -> None:
    """What a resumed session finds done, and the Dask workers' count and advice."""
    state, say = session.state, session.say
    if cfg.resume and session.ledger.fixed(PHASE_SEARCH) and not state.repeat_specs:
        done = sum(
            (n, 0) in session.rows
            or session.jobs.run_name(n, 0, state.combinations[n - 1]) in session.ledger.mlflow_done
            for n in range(1, len(state.combinations) + 1)
        )
        say(f"{done} already completed, {len(state.combinations) - done} to run")
    elif cfg.resume:
        say(f"{len(session.rows)} runs already recorded, about {session.total} in all")
    if session.parallel:
        say(f"\nRunning on {session.executor.workers} Dask workers")
        for note in session.executor.advice():
            say(f"Note: {note}")


def _register(
    cfg: SearchConfig, ordered: list[dict[str, Any]], state: SearchState,
    say: Callable[[str], None],
) -> None:  # fmt: skip
    """Register the best run's model as the champion (a failure is a note)."""
    if not cfg.register_as:
        return
    try:
        registered = register_champion(ordered, state, cfg.register_as)
    except Exception as error:  # noqa: BLE001 - the results are kept whatever happens
        say(
            f"Note: the best model was not registered ({error}); register it with: "
            f"tennis-lab promote <run id> --name {cfg.register_as}"
        )
        return
    if registered:
        version, best = registered
        say(console.champion_text(cfg.register_as, tracking.CHAMPION_ALIAS, version, best))


def _conclude(
    cfg: SearchConfig, session: Session, stand: Standings | None, param_names: list[str]
) -> list[dict[str, Any]]:
    """The summary, the champion, a hint to resume runs that may pass; the rows.

    Raises SearchFailed when every run failed.
    """
    state, say = session.state, session.say
    ordered = session.ordered()
    elapsed = time.time() - session.started
    summary = console.format_summary(
        ordered, session.csv_path, elapsed, param_names,
        state.tracking_uri, state.search_id, state.experiment_id, stand, session.output_dir,
        bool(cfg.register_as),
    )  # fmt: skip
    say("\n" + summary)
    _register(cfg, ordered, state, say)
    # Failed runs of a phase decided up front run again on resume (see Ledger.load).
    retry = [
        r for r in ordered if r["status"] == STATUS_FAILED and session.ledger.fixed(r.get("phase"))
    ]
    if any(str(r["error"]).startswith(RETRYABLE) for r in retry):
        say(
            "Some runs failed for reasons other than their parameters. "
            f"{console.resume_hint(state.search_id)}"
        )
    if ordered and not any(r["status"] in (STATUS_COMPLETED, STATUS_PRUNED) for r in ordered):
        raise SearchFailed(f"every run failed; the first error: {ordered[0]['error']}")
    return ordered


def execute(
    cfg: SearchConfig, state: SearchState, executor: Any, defaults: Mapping[str, Any],
    notebook: Path, output_dir: Path, out: TextIO, kernels: KernelPool | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Run what is left of the search on ``executor``; the rows, as :func:`run_search`."""
    session = Session(cfg, state, executor, defaults, notebook, output_dir, out, kernels)
    say, hint = session.say, console.resume_hint(state.search_id)
    session.ledger.load(bool(cfg.resume))
    strategy = session.search_strategy()
    k, n = state.settings.get("finalists"), state.settings.get("repeats")
    session.total = strategy.planned_runs() + (k * n if k and n else 0)
    _announce(cfg, session)
    param_names = sorted({k for c in state.combinations for k in c} | set(
        strategy.ranges if isinstance(strategy, strategies.TPEStrategy) else ()
    ))  # fmt: skip
    status, stand = "FINISHED", None
    try:
        stand = session.run_phases(strategy)
    except KeyboardInterrupt as stop:
        status = "KILLED"
        recorder.save_rows_quietly(session.ordered(), session.csv_path, state, say)
        how = " (SIGTERM)" if isinstance(stop, SearchTerminated) else ""
        say(f"\nInterrupted{how}. Results so far: {session.csv_path}\n{hint}")
        raise
    except ClusterLost as lost:
        status = "KILLED"
        recorder.save_rows_quietly(session.ordered(), session.csv_path, state, say)
        raise SearchFailed(f"{lost}. Results so far: {session.csv_path}. {hint}") from None
    except SearchFailed:
        status = "FAILED"
        raise
    except Exception:
        status = "FAILED"
        recorder.save_rows_quietly(session.ordered(), session.csv_path, state, say)
        say(f"\nThe search stopped on an error. Results so far: {session.csv_path}\n{hint}")
        raise
    finally:
        session.close(status, stand)
    return _conclude(cfg, session, stand, param_names)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within: SIGTERM raises :class:`SearchTerminated`, so that it ends a search as Ctrl-C.

    A second SIGTERM, during the clean-up, ends the process at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise SearchTerminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_search(cfg: SearchConfig, out: TextIO | None = None) -> list[dict[str, Any]]:
    """Run a grid or random search; return the result rows (also written to the CSV).

    Every check comes first: no kernel starts, and no MLflow run is created, until
    the grid, the flags, the folders, the tracking store, the Dask scheduler and the
    search's lock are fine. Relative paths and SQLite URIs are taken from the current
    working directory.

    Raises
    ------
    grids.GridError, SearchError
        Before any run starts (exit status 2): a bad grid or flag, a folder that cannot
        be written, a tracking store or Dask scheduler out of reach, a search another
        process runs, nothing to resume, a resumed search's missing parent run.
    SearchFailed
        After runs started (exit status 1): the results CSV cannot be written, the Dask
        scheduler went away, or every run failed (the message shows the first error).
    SearchTerminated, KeyboardInterrupt
        SIGTERM or Ctrl-C: the rows so far are kept and the parent run is KILLED.
    """
    out = out or sys.stdout
    say = console.sayer(out)
    checks.check_session(cfg)
    places = checks.places(cfg)
    defaults = tunable_defaults(places.notebook)
    with sigterm_as_interrupt(), contextlib.ExitStack() as stack:
        if cfg.resume:
            state, executor, kernels = prepare_resume(cfg, places, stack, say)
        else:
            state, executor, kernels = prepare_new(cfg, defaults, places, stack)
        return execute(cfg, state, executor, defaults, places.notebook, places.output, out, kernels)
