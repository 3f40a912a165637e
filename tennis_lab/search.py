"""The search runner: a strategy decides which runs to make, papermill makes them.

``run_search(SearchConfig(...))`` (the ``tennis-lab grid`` command):

1. loads the grid (or the random-search or TPE ranges), validates it against the
   notebook's own parameters and checks every combination on the data before
   anything runs;
2. creates the MLflow store, experiment and a parent run for the search;
3. drives a strategy (:mod:`tennis_lab.strategies`: grid, random, halving,
   hyperband, tpe) by ask and tell: each asked run executes the training notebook in
   a fresh kernel (at most ``workers`` at once), keeping its executed notebook under
   ``reports/runs/<search id>/`` and logging it to its child run, and its score is
   told back; successive halving and Hyperband continue a promoted trial from its
   previous rung's checkpoint;
4. with ``finalists`` and ``repeats``, re-runs the top configurations with other
   seeds and says which are statistically tied with the best;
5. rewrites the results CSV after every run (atomically), prints progress with the
   elapsed and remaining time, and a summary at the end.

A failed run is a row with status FAILED and its error; the search goes on. A trial
stopped at a rung is PRUNED. ``--resume`` carries on after a crash, a kill or Ctrl-C:
the strategy's state is saved after every ask and tell, results found in the CSV or
in MLflow are not run again, children left RUNNING are marked KILLED and run again.

Every check happens before the first kernel starts and before the parent run is
created: the grid, the flags, the paths (made absolute from the working directory:
kernels run elsewhere), the tracking store, the Dask scheduler, and the search's lock
(``<output>/searches/<search id>.lock``: one process per search). Ctrl-C and SIGTERM
keep the rows so far, mark the parent run KILLED and print how to resume.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from tennis_lab import backends, grids, paths, strategies, tracking
from tennis_lab.errors import TennisLabError
from tennis_lab.evaluation import (
    INTERVAL_LEVEL,
    TIE_LEVEL,
    TIE_TEST,
    new_group_text,
    run_warnings,
    tie_method,
    verdict,
)
from tennis_lab.executors import (
    ClusterLost,
    ExecutorError,
    RunSlot,
    SequentialExecutor,
    make_executor,
)
from tennis_lab.kernels import (
    HEAD_WARMUP_CODE,
    KernelPool,
    execute_notebook,
    kernel_log_path,
    stop_orphans,
    warmup_code,
)
from tennis_lab.results import (  # noqa: F401 - also the search's public names
    ADAPTIVE_STRATEGIES,
    FINALIST_COLUMNS,
    FIXED_STRATEGIES,
    PHASE_REPEAT,
    PHASE_SEARCH,
    RUN_COLUMNS,
    SELECTION_METRIC,
    SEPARATE_FIX,
    STANDING_COLUMNS,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_KILLED,
    STATUS_PRUNED,
    STRATEGIES,
    WARNINGS_SEPARATOR,
    ResultsError,
    finite_number,
    parent_run_name,
    read_completed,
    read_rows,
    result_row,
    results_csv_name,
    row_key,
    run_name,
    short_value,
    trial_file,
    write_csv_atomic,
)
from tennis_lab.strategies import TrialSpec

CONTROL_PARAMS = {
    "data_dir", "tracking_uri", "experiment", "parent_run_id", "search_id", "config_id",
    "run_name", "log_to_mlflow", "result_path", "initial_epoch", "checkpoint_path", "cache_dir",
    "log_every", "keras_backend",
}  # fmt: skip

STRATEGY_TITLES = {
    "grid": "GRID SEARCH", "random": "RANDOM SEARCH", "halving": "SUCCESSIVE HALVING",
    "hyperband": "HYPERBAND", "tpe": "TPE SEARCH",
}  # fmt: skip
# What a finalist's repeats vary: the training seed on the finalist's own split (and
# folds), the split (and folds) with the finalist's training seed, or both.
REPEAT_OVER = {
    "seeds": "the training seed, on the finalist's own split",
    "splits": "the split, with the finalist's training seed",
    "both": "the training seed and the split",
}
DEFAULT_N_TRIALS = 30
DEFAULT_MIN_EPOCHS = 3
DEFAULT_ETA = 3
TPE_PREFLIGHT = 10  # combinations drawn from TPE's ranges to check on the data first


class SearchError(TennisLabError, RuntimeError):
    """A search that cannot start: bad input, a busy search, a store or cluster out of reach.

    ``exit_status`` is the command's exit status (2: fix the input and run again).
    """

    exit_status = 2


class SearchFailed(SearchError):
    """A search that started and could not go on, or whose every run failed (exit status 1)."""

    exit_status = 1


class SearchTerminated(KeyboardInterrupt):
    """SIGTERM, which ends a search as Ctrl-C does (exit status 143)."""


@dataclass
class SearchConfig:
    """What to search and where; every field has a sensible default."""

    grid: str | None = None  # None: the minimal grid, or with random the built-in ranges
    random: bool = False
    n_samples: int = 30
    max_runs: int | None = None
    resume: str | None = None  # a search id, or "latest"
    data_dir: str | None = None
    seed: int = 42
    epochs: int | None = None
    experiment: str = tracking.DEFAULT_EXPERIMENT
    tracking_uri: str | None = None
    output_dir: str | None = None
    reports_dir: str | None = None
    notebook: str | None = None
    cache_dir: str | None = None  # prepared windows' cache (default $TENNIS_LAB_CACHE or .cache)
    backend: str | None = None  # Keras backend of every run (default $KERAS_BACKEND, else jax)
    prepare_kernels: bool = True  # one run at a time: start the next run's kernel ahead
    overlap_runs: bool = True  # one run at a time: the next starts when one's training ends
    stream_output: bool = True
    workers: int | None = None  # > 1: a Dask LocalCluster of this many worker processes
    scheduler: str | None = None  # address of an existing Dask scheduler
    register_as: str | None = tracking.DEFAULT_MODEL_NAME  # None: do not register the best
    new_parent: bool = False  # with resume: a new parent run when the old one is gone
    strategy: str | None = None  # one of STRATEGIES; None: grid (random with --random)
    n_trials: int | None = None  # tpe: trials in all (default DEFAULT_N_TRIALS)
    min_epochs: int | None = None  # halving, hyperband: the first rung's epochs
    max_epochs: int | None = None  # halving, hyperband: the last rung's (the notebook's)
    eta: int | None = None  # halving, hyperband: epochs x eta per rung, 1/eta go on
    finalists: int | None = None  # re-run the top K configurations ...
    repeats: int | None = None  # ... with N other seeds each, for a verdict
    repeat_over: str = "seeds"  # what the repeats vary: REPEAT_OVER
    weak_group: float | None = None  # also warn of a held-out player below this macro F1


@dataclass
class SearchState:
    """What a search needs to resume: stored as ``<output>/searches/<search id>.json``."""

    search_id: str
    grid: str
    parent_run_id: str
    experiment: str
    experiment_id: str
    tracking_uri: str
    csv_path: str
    notebooks_dir: str
    combinations: list[dict[str, Any]]
    config_ids: list[str]
    overrides: dict[str, Any] = field(default_factory=dict)
    started: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # see _SETTINGS; resume keeps them
    strategy: str = "grid"
    # halving, hyperband, tpe: Strategy.state(), saved after every ask and tell
    strategy_state: dict[str, Any] | None = None
    # the finalists' repeats (TrialSpec.to_dict()), once the search phase has ended
    repeat_specs: list[dict[str, Any]] | None = None


# --------------------------------------------------------------------------- notebook


def notebook_defaults(notebook: str | Path) -> dict[str, Any]:
    """The parameters cell of ``notebook``: name -> default value (papermill inspection)."""
    import papermill

    found = papermill.inspect_notebook(str(notebook))
    out: dict[str, Any] = {}
    for name, info in found.items():
        try:
            out[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            out[name] = None
    if not out:
        raise SearchError(f"{notebook} has no cell tagged 'parameters'.")
    return out


def tunable_defaults(notebook: str | Path) -> dict[str, Any]:
    """The notebook parameters a grid may set (all but the runner's own)."""
    return {k: v for k, v in notebook_defaults(notebook).items() if k not in CONTROL_PARAMS}


# --------------------------------------------------------------------------- planning


def strategy_of(cfg: SearchConfig) -> str:
    """The strategy ``cfg`` runs: ``--strategy``, else random with ``--random``, else grid.

    Raises
    ------
    SearchError
        An unknown strategy, or ``--random`` with one that does not sample.
    """
    name = cfg.strategy or ("random" if cfg.random else "grid")
    if name not in STRATEGIES:
        raise SearchError(
            f"--strategy {name!r} is not one of {', '.join(STRATEGIES)}; e.g. --strategy halving."
        )
    if cfg.random and name == "tpe":
        raise SearchError(
            "--random draws combinations up front; --strategy tpe proposes its own from the "
            "ranges. Drop --random (give the ranges file with --grid)."
        )
    return name


def _check_strategy_flags(cfg: SearchConfig, strategy: str) -> None:
    """Refuse a flag that the strategy does not use, or a value it cannot take."""
    adaptive = strategy in ADAPTIVE_STRATEGIES
    for flag, value, owner, ok in (
        ("--min-epochs", cfg.min_epochs, "halving or hyperband", adaptive),
        ("--max-epochs", cfg.max_epochs, "halving or hyperband", adaptive),
        ("--eta", cfg.eta, "halving or hyperband", adaptive),
        ("--n-trials", cfg.n_trials, "tpe", strategy == "tpe"),
    ):
        if value is not None and not ok:
            raise SearchError(f"{flag} goes with --strategy {owner}; this search is {strategy}.")
    for flag, value, least in (
        ("--min-epochs", cfg.min_epochs, 1), ("--max-epochs", cfg.max_epochs, 1),
        ("--eta", cfg.eta, 2), ("--n-trials", cfg.n_trials, 1),
        ("--finalists", cfg.finalists, 1), ("--repeats", cfg.repeats, 2),
    ):  # fmt: skip
        if value is not None and value < least:
            why = " (an interval needs two scores)" if flag == "--repeats" else ""
            raise SearchError(f"{flag} must be at least {least}{why}; got {value}.")
    if cfg.weak_group is not None and not 0 < cfg.weak_group <= 1:
        raise SearchError(
            f"--weak-group is a macro F1 between 0 and 1 (e.g. 0.8); got {cfg.weak_group}."
        )
    if cfg.repeat_over not in REPEAT_OVER:
        raise SearchError(
            f"--repeat-over must be one of {', '.join(REPEAT_OVER)}; got {cfg.repeat_over!r}."
        )
    if cfg.repeat_over != "seeds" and not cfg.finalists:
        raise SearchError("--repeat-over goes with --finalists K --repeats N.")
    if (cfg.finalists is None) != (cfg.repeats is None):
        raise SearchError(
            "--finalists K and --repeats N go together: the top K configurations are re-run "
            "with N other seeds each (e.g. --finalists 3 --repeats 5)."
        )
    if adaptive and cfg.epochs is not None:
        raise SearchError(
            f"--epochs sets every run's epochs, but --strategy {strategy} budgets them rung by "
            f"rung: use --max-epochs {cfg.epochs} (and --min-epochs for the first rung)."
        )


def epoch_budget(cfg: SearchConfig, defaults: Mapping[str, Any]) -> tuple[int, int, int]:
    """``(min_epochs, max_epochs, eta)`` of an adaptive search, defaults filled in.

    max_epochs defaults to the notebook's ``epochs``; min_epochs to
    :data:`DEFAULT_MIN_EPOCHS` (at most max_epochs); eta to :data:`DEFAULT_ETA`.
    """
    max_epochs = cfg.max_epochs if cfg.max_epochs is not None else int(defaults["epochs"])
    min_epochs = (
        cfg.min_epochs if cfg.min_epochs is not None else min(DEFAULT_MIN_EPOCHS, max_epochs)
    )
    if min_epochs > max_epochs:
        raise SearchError(
            f"--min-epochs {min_epochs} is above --max-epochs {max_epochs}; the first rung "
            "cannot train more than the last."
        )
    return min_epochs, max_epochs, cfg.eta if cfg.eta is not None else DEFAULT_ETA


def tpe_ranges(cfg: SearchConfig) -> tuple[dict[str, Any], str, str]:
    """The ranges TPE searches, where they come from, and the search's grid name.

    ``--grid`` names a ranges file (``random`` or nothing: the built-in ranges), or a
    grid of one sub-grid, whose value lists become choices.
    """
    name = cfg.grid or grids.RANDOM_RANGES
    if name == grids.RANDOM_RANGES or (grids.is_path(name) and grids.file_kind(name) == "ranges"):
        label = Path(name).stem if grids.is_path(name) else name
        return grids.load_ranges(name), name, label
    grid = grids.load_grid(name)
    if len(grid.subgrids) != 1:
        raise grids.GridError(
            grid.name,
            f"it has {len(grid.subgrids)} sub-grids; TPE needs one space of choices.",
            "give a ranges file (see grids/random.yaml) or a grid of one sub-grid.",
        )
    choices = {k: [v] for k, v in grid.fixed.items()}
    choices.update({k: list(v) for k, v in grid.subgrids[0].items()})
    return choices, f"grid {grid.name!r}", grid.name


def _describe_budget(strategy: str, combos: list[dict], budget: tuple[int, int, int]) -> str:
    """The rungs an adaptive search plans, and their epochs against the full grid's."""
    low, high, eta = budget

    def epochs(rungs: list[tuple[int, int]]) -> int:
        """Epochs a bracket trains: each rung's trials train from the last rung's epochs."""
        starts = [0] + [upto for _, upto in rungs[:-1]]
        return sum(n * (upto - start) for (n, upto), start in zip(rungs, starts, strict=True))

    if strategy == "halving":
        rungs = strategies.HalvingStrategy(combos, low, high, eta).plan()
        total = epochs(rungs)
        what = f"rungs of trials x epochs {', '.join(f'{n} x {upto}' for n, upto in rungs)}"
    else:
        brackets = strategies.HyperbandStrategy(combos, low, high, eta).brackets
        total = sum(epochs(bracket.plan()) for bracket in brackets)
        what = f"{len(brackets)} bracket(s) of successive halving"
    return (
        f"{STRATEGY_TITLES[strategy].capitalize()} over {len(combos)} combinations (eta {eta}, "
        f"{low} to {high} epochs): {what}; at most {total} epochs of training, the full grid "
        f"{len(combos) * high}."
    )


def plan(
    cfg: SearchConfig, defaults: Mapping[str, Any], check: bool = True
) -> tuple[grids.Grid, list[dict], dict]:
    """Load and validate what to run: (grid, combinations, overrides). Nothing runs here.

    Parameters
    ----------
    cfg : SearchConfig
        With ``random``, ``grid`` says what to sample: ``random`` (or the default grid
        name, or nothing) for the built-in ranges, a ranges file (``.yaml``, ``.yml`` or
        ``.json`` with ``ranges``), or a grid (a predefined name or a grid file), whose
        combinations are then sampled (:func:`tennis_lab.grids.sample_grid`). With the
        strategy tpe, the combinations are a sample of its ranges (:func:`tpe_ranges`)
        to check on the data; TPE proposes its own as it goes.
    defaults : mapping
        The notebook's tunable parameters (:func:`tunable_defaults`).
    check : bool
        Also check every combination as its notebook would, on the data, before
        anything runs (:func:`tennis_lab.preflight.check_combinations`).

    Raises
    ------
    grids.GridError
        A bad grid or ranges file, or (:class:`tennis_lab.preflight.PreflightError`) a
        combination its notebook would reject.
    tennis_lab.poses.DataFormatError
        The dataset does not exist or does not load.
    SearchError
        A bad flag: ``max_runs``, ``epochs``, a strategy's flags.
    """
    from tennis_lab import preflight

    strategy = strategy_of(cfg)
    _check_strategy_flags(cfg, strategy)
    sampling = strategy == "random" or (cfg.random and strategy != "grid")
    runner = {name: "the search runner sets it for every run" for name in CONTROL_PARAMS}
    runner.update(
        data_dir="choose the dataset with --data-dir",
        tracking_uri="choose the MLflow store with --tracking-uri",
        experiment="choose the MLflow experiment with --experiment",
        log_to_mlflow="every run of a search logs to MLflow",
        seed="--seed sets it for every run; to compare seeds, run the search once per --seed",
        cpu_threads="the runner gives every run its share of the CPUs",
        initial_epoch="continuing from a checkpoint is for adaptive searches (each run "
        "of a grid trains from scratch)",
        checkpoint_path="every run of a search would write the same file",
        cache_dir="choose the windows cache with --cache-dir",
        log_every="the console's epoch lines are not a parameter of the model",
        keras_backend="choose the backend of every run with --backend",
    )
    if strategy in ADAPTIVE_STRATEGIES:
        runner["epochs"] = (
            f"--strategy {strategy} budgets the epochs rung by rung; set --min-epochs and "
            "--max-epochs instead"
        )
    name = cfg.grid or ""
    if strategy == "tpe":
        pass
    elif grids.is_path(name) and not sampling and grids.file_kind(name) == "ranges":
        raise grids.GridError(
            Path(name).stem,
            f"{name} holds random-search ranges, not a grid.",
            "add --random to sample from it, or write a 'grid' of value lists.",
        )
    elif name == grids.RANDOM_RANGES and not sampling:
        raise grids.GridError(
            name,
            "'random' is the built-in ranges of random search, not a grid.",
            "add --random to sample from them, or give a grid with --grid.",
        )
    if strategy == "tpe":
        ranges, source, label = tpe_ranges(cfg)
        grid = grids.ranges_as_grid(ranges, name=label)
        grids.validate_grid(grid, defaults, runner)
        n_trials = cfg.n_trials or DEFAULT_N_TRIALS
        combos = grids.sample(
            ranges, min(n_trials, TPE_PREFLIGHT), seed=cfg.seed, defaults=defaults,
            name=grid.name,
        )  # fmt: skip
        print(
            f"TPE search: {n_trials} trials over the ranges of {source} (seed {cfg.seed}); "
            f"{len(combos)} drawn from them are checked on the data first."
        )
    elif sampling:
        if name in ("", grids.RANDOM_RANGES):
            kind, source = "ranges", grids.RANDOM_RANGES
        elif grids.is_path(name):
            kind, source = grids.file_kind(name), name
        else:
            kind, source = "grid", name
        if kind == "ranges":
            ranges = grids.load_ranges(source)
            grid = grids.ranges_as_grid(ranges, name=Path(source).stem)
            grids.validate_grid(grid, defaults, runner)
            combos = grids.sample(
                ranges, cfg.n_samples, seed=cfg.seed, defaults=defaults, name=grid.name
            )
            grid.subgrids = [{k: [c[k] for c in combos] for k in combos[0]}]
            what = f"the ranges of {source}"
        else:
            grid = grids.load_grid(source, defaults)
            grids.validate_grid(grid, defaults, runner)
            combos = grids.sample_grid(grid, cfg.n_samples, seed=cfg.seed, defaults=defaults)
            drawn: dict[tuple[str, ...], dict[str, list[Any]]] = {}
            for combo in combos:
                keys = tuple(k for k in combo if k not in grid.fixed)
                sub = drawn.setdefault(keys, {k: [] for k in keys})
                for k in keys:
                    if combo[k] not in sub[k]:
                        sub[k].append(combo[k])
            grid.subgrids = list(drawn.values())
            what = f"the combinations of grid {grid.name!r}"
        print(f"Random search: {len(combos)} combinations drawn from {what} (seed {cfg.seed}).")
    else:
        grid = grids.load_grid(name or "minimal", defaults)
        grids.validate_grid(grid, defaults, runner)
        expansion = grids.expand(grid, defaults)
        if expansion.dropped_overlap:
            print(
                f"Dropped {expansion.dropped_overlap} combination(s) of grid {grid.name!r} "
                "with overlap >= window_size."
            )
        combos = expansion.combinations
    if cfg.max_runs is not None:
        if cfg.max_runs < 1:
            raise SearchError(f"--max-runs must be at least 1; got {cfg.max_runs}.")
        combos = combos[: cfg.max_runs]
    overrides: dict[str, Any] = {"seed": cfg.seed}
    try:
        overrides["keras_backend"] = backends.check_backend(cfg.backend, source="--backend")
    except backends.BackendError as error:
        raise SearchError(str(error)) from None
    if cfg.cache_dir:
        overrides["cache_dir"] = str(_absolute(cfg.cache_dir))
    if cfg.epochs is not None:
        if cfg.epochs < 1:
            raise SearchError(f"--epochs must be at least 1; got {cfg.epochs}.")
        overrides["epochs"] = cfg.epochs
        replaced = sorted({c["epochs"] for c in combos if "epochs" in c})
        if replaced:
            print(f"Note: --epochs {cfg.epochs} replaces the grid's epochs {replaced}.")
    checked = dict(overrides)
    if strategy in ADAPTIVE_STRATEGIES:
        budget = epoch_budget(cfg, defaults)
        print(_describe_budget(strategy, combos, budget))
        checked["epochs"] = budget[1]
    if cfg.finalists:
        print(
            f"Then the top {cfg.finalists} configuration(s) are re-run {cfg.repeats} times each, "
            f"varying {REPEAT_OVER[cfg.repeat_over]}, for a verdict with {INTERVAL_LEVEL:.0%} "
            "intervals."
        )
    if check and combos:
        data_dir = str(Path(cfg.data_dir).resolve()) if cfg.data_dir else None
        report = preflight.check_combinations(combos, defaults, data_dir, checked, grid=grid.name)
        if report.data_summary:
            print(report.data_summary)
        print(report.format())
        for note in report.notes:
            print(f"Note: {note}")
    return grid, combos, overrides


def run_parameters(combo: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook parameters of one combination: the grid's values, then the overrides."""
    return {**combo, **overrides}


# --------------------------------------------------------------------------- results table


# --------------------------------------------------------------------------- console


def _bar(fraction: float, width: int = 30) -> str:
    filled = int(round(fraction * width))
    return "█" * filled + "░" * (width - filled)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def format_header(
    number: int, total: int, params: Mapping[str, Any], title: str = "GRID SEARCH",
    note: str = "",
) -> str:  # fmt: skip
    """The banner before a run: its number, what it is (``note``) and its parameters."""
    bar = "=" * 70
    lines = [bar, f"{title} RUN {number}/{total}" + (f"  ({note})" if note else ""), bar]
    lines.append("Parameters:")
    lines += [f"  {k}: {json.dumps(v) if isinstance(v, list) else v}" for k, v in params.items()]
    return "\n".join([*lines, bar])


def format_progress(done: int, total: int, elapsed: float, finished_here: int) -> str:
    """Progress with a bar; the remaining time extrapolates this session's pace."""
    remaining = elapsed / finished_here * (total - done) if finished_here else 0.0
    return (
        f"📊 Progress: {done}/{total} ({done / total:.1%}) {_bar(done / total)}\n"
        f"⏱️  Elapsed: {_minutes(elapsed)} | Estimated remaining: {_minutes(remaining)}"
    )


def _score(row: Mapping[str, Any], metric: str, spread: bool = True) -> str:
    """A metric of a results row, with its spread over folds when the run has folds
    (and ``spread``: not for a minimum such as the worst group's)."""
    value = row.get(metric)
    if value is None or pd.isna(value):
        return "n/a"
    std = row.get(f"{metric}_std") if spread else None
    return f"{float(value):.4f}" + (
        f" ± {float(std):.4f}" if std is not None and not pd.isna(std) else ""
    )


def _group_word(row: Mapping[str, Any]) -> str:
    by = row.get("split_by_resolved")
    return by if by in ("player", "session", "video") else "group"


def _budget(row: Mapping[str, Any]) -> float:
    value = row.get("epochs_budget")
    return float("inf") if value is None or value == "" or pd.isna(value) else float(value)


def ranked_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The search's completed trials, best first.

    One row per trial: its last rung's (a promoted trial's earlier rungs trained
    fewer epochs). Repeats of finalists are left out. Trials that trained to more
    epochs rank first (a score after 3 epochs is not comparable to one after 27),
    then by the selection metric, then the earlier run.
    """
    last: dict[int, dict[str, Any]] = {}
    for row in rows:
        phase = row.get("phase")
        if isinstance(phase, str) and phase != PHASE_SEARCH:
            continue
        trial, rung = row_key(row)
        if trial not in last or row_key(last[trial])[1] < rung:
            last[trial] = row
    done = [r for r in last.values() if r["status"] == STATUS_COMPLETED]
    return sorted(
        done,
        key=lambda r: (-_budget(r), -float(r.get(SELECTION_METRIC) or 0), r["run_number"]),
    )


# --------------------------------------------------------------------------- the verdict


def _same_score(a: Any, b: Any) -> bool:
    return finite_number(a) is not None and finite_number(b) is not None and abs(
        float(a) - float(b)
    ) <= 1e-12


def _val_strokes(row: Mapping[str, Any]) -> dict[str, list] | None:
    """The validation strokes a run scored (its result file beside its notebook), or None."""
    notebook = row.get("notebook")
    if not isinstance(notebook, str) or not notebook:
        return None
    try:
        result = json.loads(Path(notebook).with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    strokes = result.get("val_strokes") or None
    return strokes if strokes and strokes.get("true") else None


def _paired(best: Mapping[str, list], other: Mapping[str, list]) -> tuple[float, float, float]:
    """:func:`tennis_lab.evaluation.paired_bootstrap` of two runs on their common strokes.

    Runs of one search are split alike, so their strokes are the same; runs whose
    validation strokes differ (another split seed) cannot be paired: NaN.
    """
    from tennis_lab.evaluation import paired_bootstrap

    def keyed(strokes: Mapping[str, list]) -> dict[tuple, tuple[int, int]]:
        return {
            (str(f), str(v), int(s)): (int(t), int(p))
            for f, v, s, t, p in zip(strokes["fold"], strokes["video"], strokes["start"],
                                     strokes["true"], strokes["pred"], strict=True)
        }  # fmt: skip

    try:
        a, b = keyed(best), keyed(other)
    except (KeyError, TypeError, ValueError):  # a result file of another shape: not paired
        return float("nan"), float("nan"), float("nan")
    if a.keys() != b.keys() or any(a[k][0] != b[k][0] for k in a):
        return float("nan"), float("nan"), float("nan")
    keys = sorted(a)
    return paired_bootstrap(
        [a[k][0] for k in keys], [a[k][1] for k in keys], [b[k][1] for k in keys],
        folds=[k[0] for k in keys],
    )  # fmt: skip


@dataclass
class Standings:
    """Where a search's configurations stand: one rule for every place that names a winner.

    The rule: with finalists, the finalist with the best mean over its repeats wins,
    and its best-scoring repeat (on validation) is its model; without, the top of
    :func:`ranked_rows` (most epochs, then the selection metric, then the earlier
    run). Equal scores share a rank, as scikit-learn's ``rank_test_score``.
    """

    ranked: list[dict[str, Any]]  # the rows that stand for a configuration, in rank order
    winner: dict[str, Any] | None
    undecided: list[dict[str, Any]]  # rows the data cannot separate from the winner (winner first)
    method: str  # how "cannot separate" was decided
    finalists: bool


def standings(rows: list[dict[str, Any]]) -> Standings:
    """Rank the configurations of ``rows`` and mark the one winner; fills in the rows.

    Each ranked row gets ``rank``, ``winner`` and ``tied_with_best``; a search row
    also ``diff_to_best``, ``diff_ci_low`` and ``diff_ci_high``: the best search
    run's validation macro F1 minus its own, with the :data:`evaluation.BOOTSTRAP_LEVEL`
    interval of a paired bootstrap over the validation strokes both scored (every
    configuration is scored on the same strokes, so this needs no re-training). The
    interval holding 0 (or touching it) means the strokes cannot separate the two:
    ``tied_with_best``. A finalist's representative gets the verdict of its repeats
    instead (:func:`finalist_verdict`).
    """
    for row in rows:
        for column in STANDING_COLUMNS:
            row.pop(column, None)
    search = ranked_rows(rows)
    if search:
        best_strokes = _val_strokes(search[0])
        for row in search:
            same_budget = _budget(row) == _budget(search[0])
            other = _val_strokes(row) if same_budget and best_strokes else None
            if row is search[0]:
                diff, low, high = 0.0, 0.0, 0.0
            elif other is None:
                diff = low = high = float("nan")
            else:
                diff, low, high = _paired(best_strokes, other)
            row.update(diff_to_best=diff, diff_ci_low=low, diff_ci_high=high,
                       tied_with_best=bool(low == low and low <= 0))  # fmt: skip
    verdict = finalist_verdict(rows)
    if verdict:
        stand = []
        for entry in verdict:
            row = _best_repeat(rows, entry["config_id"])
            row["tied_with_best"] = bool(entry["tied"])
            stand.append((row, entry["mean"]))
        chosen = {entry["config_id"] for entry in verdict}
        stand += [(r, r[SELECTION_METRIC]) for r in search if r["config_id"] not in chosen]
    else:
        stand = [(r, r[SELECTION_METRIC]) for r in search]
    ranked = []
    for i, (row, score) in enumerate(stand):
        previous = stand[i - 1] if i else None
        tie = (
            previous is not None
            and _budget(previous[0]) == _budget(row)
            and _same_score(previous[1], score)
            and (previous[0].get("phase") == PHASE_REPEAT) == (row.get("phase") == PHASE_REPEAT)
        )
        row["rank"] = ranked[-1]["rank"] if tie else i + 1
        row["winner"] = i == 0
        ranked.append(row)
    n_final = len(verdict)
    undecided = [r for r in ranked[: n_final or None] if r.get("tied_with_best")]
    return Standings(ranked, ranked[0] if ranked else None, undecided if len(undecided) > 1
                     else [], tie_method(bool(verdict)), bool(verdict))  # fmt: skip


def register_champion(
    rows: list[dict[str, Any]], state: SearchState, name: str
) -> tuple[Any, dict[str, Any]] | None:
    """Register the best run's model as a version of ``name``; the alias champion on it.

    The best run is the top of :func:`ranked_rows`; with finalists, the best-scoring
    repeat of the finalist with the best mean (:func:`best_finalist_row`).
    Returns (model version, best row), or None when no run completed.
    """
    best = best_row(rows)
    if best is None:
        return None
    version = tracking.register_model(
        best["run_id"], name, tracking.CHAMPION_ALIAS,
        tags={"search_id": state.search_id, "grid": state.grid,
              SELECTION_METRIC: f"{float(best[SELECTION_METRIC]):.4f}",
              "config_id": best["config_id"]},
        tracking_uri=state.tracking_uri,
    )  # fmt: skip
    return version, best


def _repeat_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("phase") == PHASE_REPEAT]


def finalist_verdict(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each finalist's mean, interval and tie with the best, from its repeats' rows.

    Returns
    -------
    list of dict
        Best mean first: ``config_id``, ``finalist_trial`` (its trial in the search),
        ``scores``, ``mean``, ``low``, ``high`` (the :data:`INTERVAL_LEVEL` Student-t
        interval; NaN with one score), ``tied`` (a one-sided Welch's t-test at
        :data:`TIE_LEVEL` does not find it worse than the best) and ``p`` (that
        test's p-value; 1 for the best). Finalists with no scored repeat are left out.
    """
    groups: dict[str, list[float]] = {}
    origin: dict[str, Any] = {}
    for row in _repeat_rows(rows):
        score = row.get(SELECTION_METRIC)
        origin.setdefault(row["config_id"], row.get("finalist_trial"))
        if row["status"] == STATUS_COMPLETED and score is not None and not pd.isna(score):
            groups.setdefault(row["config_id"], []).append(float(score))
    return [{**e, "finalist_trial": origin.get(e["config_id"])} for e in verdict(groups)]


def _best_repeat(rows: list[dict[str, Any]], config_id: str) -> dict[str, Any]:
    """The completed repeat of finalist ``config_id`` that scored best on validation
    (the earlier run among equals): the model that stands for the finalist."""
    mine = [
        r for r in _repeat_rows(rows)
        if r["config_id"] == config_id and r["status"] == STATUS_COMPLETED
    ]  # fmt: skip
    return max(mine, key=lambda r: (float(r[SELECTION_METRIC]), -r["run_number"]))


def best_finalist_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best-scoring repeat of the finalist with the best mean (None without finalists)."""
    verdict = finalist_verdict(rows)
    return _best_repeat(rows, verdict[0]["config_id"]) if verdict else None


def _interval(entry: Mapping[str, Any]) -> str:
    if pd.isna(entry["low"]):
        return f"{entry['mean']:.4f} (one score: no interval)"
    return f"{entry['mean']:.4f} [{entry['low']:.4f}, {entry['high']:.4f}]"


def repeats_varied(rows: list[dict[str, Any]]) -> str:
    """What the finalists' repeats varied, read from their rows (``seed``, ``split_seed``)."""

    def shown(value: Any) -> Any:
        return None if value is None or (isinstance(value, float) and value != value) else value

    seeds, splits = set(), set()
    for row in _repeat_rows(rows):
        seed, split = shown(row.get("seed")), shown(row.get("split_seed"))
        seeds.add((row["config_id"], seed))
        splits.add((row["config_id"], seed if split is None else split))
    configs = {c for c, _ in seeds}
    seed_varies, split_varies = len(seeds) > len(configs), len(splits) > len(configs)
    if seed_varies and not split_varies:
        return REPEAT_OVER["seeds"]
    if split_varies and not seed_varies:
        return REPEAT_OVER["splits"]
    return REPEAT_OVER["both"]


def verdict_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The summary's finalists block: each finalist's mean and interval, and the verdict."""
    verdict = finalist_verdict(rows)
    if not verdict:
        return []
    n = max(len(v["scores"]) for v in verdict)
    lines = [
        "",
        f"🎯 FINALISTS (re-run {n} times varying {repeats_varied(rows)}; mean and "
        f"{INTERVAL_LEVEL:.0%} interval of validation macro F1 over strokes):",
    ]
    for rank, entry in enumerate(verdict, 1):
        how = (
            "best"
            if rank == 1
            else "tied with the best"
            if entry["tied"]
            else f"worse than the best (p = {entry['p']:.3f})"
        )
        lines.append(
            f"   {rank}. trial {entry['finalist_trial']}: {_interval(entry)} over "
            f"{len(entry['scores'])} seeds, {how}"
        )
    tied = [e for e in verdict if e["tied"]]
    test = f"{TIE_TEST} at the {TIE_LEVEL:.0%} level"
    if len(verdict) == 1:
        lines.append("   Verdict: one finalist; nothing to compare it with.")
    elif len(tied) > 1:
        names = ", ".join(f"trial {e['finalist_trial']}" for e in tied)
        lines.append(
            f"   Verdict: TIED. {names} are statistically tied ({test}): these scores do not "
            "separate them; the champion below is the first of equals."
        )
    else:
        lines.append(
            f"   Verdict: trial {verdict[0]['finalist_trial']} is ahead of the other finalists "
            f"({test})."
        )
    return lines


def _varied(rows: list[dict[str, Any]], names) -> list[str]:
    """The parameters among ``names`` whose value differs between ``rows``."""
    return [
        k for k in names
        if len({json.dumps(r.get(k), sort_keys=True, default=str) for r in rows}) > 1
    ]  # fmt: skip


def viewing_hint(
    tracking_uri: str | None, search_id: str | None = None, experiment_id: str | None = None,
    output_dir: str | Path | None = None,
) -> list[str]:  # fmt: skip
    """How to look at a search's results: the MLflow UI on the store it used, the report.

    The report command names the search's output folder when it is not the project's
    default, so that it finds the search from any working directory (the run
    notebooks' folder needs no flag: the results CSV holds their paths).
    """
    uri = tracking.absolute_tracking_uri(tracking.resolve_tracking_uri(tracking_uri))
    default = tracking.absolute_tracking_uri(paths.default_tracking_uri())
    served = uri.startswith(("http://", "https://"))
    if served:
        ui = f"open {tracking.ui_url(experiment_id, uri)}"
    elif uri == default and not os.environ.get("MLFLOW_TRACKING_URI"):
        ui = "make mlflow-ui"
    else:
        ui = f"mlflow ui --backend-store-uri {uri}   (make mlflow-ui TRACKING_URI={uri})"
    report = f"tennis-lab report --search {search_id}" if search_id else "tennis-lab report"
    folders = ""
    if output_dir is not None and _absolute(output_dir) != _absolute(paths.output_dir()):
        folders = f" --output-dir {_absolute(output_dir)}"
    report += folders
    page = [] if served else [f"   then open {tracking.ui_url(experiment_id)}"]
    return [
        f"✅ View all results in MLflow: {ui}",
        *page,
        f"📄 HTML report with figures: {report}"
        + ("" if folders else "   (make report" + (f" SEARCH={search_id})" if search_id else ")")),
    ]


def _new_group_line(row: Mapping[str, Any]) -> str | None:
    """The console's line on the score to expect on a new player (grouped
    cross-validation), or None."""
    text = new_group_text(row, _group_word(row))
    return f"{text[0].upper()}{text[1:]}: the number to quote" if text else None


def _warning_lines(row: Mapping[str, Any]) -> list[str]:
    text = row.get("warnings")
    if not isinstance(text, str) or not text.strip():
        return []
    return [line for line in text.split(WARNINGS_SEPARATOR) if line.strip()]


def _run_names(rows: list[dict[str, Any]]) -> str:
    names = [str(r["run_number"]) for r in rows]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def verdict_summary(stand: Standings, registers: bool = True) -> list[str]:
    """The lines that say whether the data separates the winner, and what limits it.

    Undecided between runs the data cannot separate (instead of crowning one), the
    method and level; a validation score at its ceiling; the fix.
    """
    from tennis_lab.evaluation import CEILING

    winner = stand.winner
    if winner is None:
        return []
    lines, fix = [], SEPARATE_FIX
    strokes = finite_number(winner.get("val_strokes"))
    on = f" on {int(strokes)} validation strokes" if strokes else ""
    rule = (
        "the best mean, then its best repeat"
        if stand.finalists
        else "the higher score, then the earlier run"
    )
    score = finite_number(winner.get(SELECTION_METRIC))
    ceiling = score is not None and score >= CEILING and len(stand.ranked) > 1
    if ceiling:
        lines.append(
            f"⚠️  Validation at its ceiling ({score:.4f}{on}): it cannot rank the runs that "
            "reach it" + ("." if stand.undecided else f"; {fix}.")
        )
    if stand.undecided:
        lines.append(
            f"⚖️  UNDECIDED between runs {_run_names(stand.undecided)}: these scores cannot "
            f"separate them ({stand.method}). Run {winner['run_number']} is "
            f"{'registered' if registers else 'named'}, "
            f"first by the rule ({rule}); {fix}."
        )
    elif len(stand.ranked) > 1:
        lines.append(
            f"⚖️  Run {winner['run_number']} is ahead of the runs below it ({stand.method})."
        )
    return lines


def _top_lines(top: list[dict[str, Any]], stand: Standings, param_names) -> list[str]:
    """The summary's top runs: rank, scores, a mark on those the strokes cannot separate
    from the best, epochs as trained against the budget, the parameters that vary."""
    lines = []
    varied = _varied(top, [k for k in param_names if k != "seed"])
    for r in top:
        budget = _budget(r)
        trained = finite_number(r.get("epochs_trained"))
        epochs = (
            f", Epochs={int(trained) if trained is not None else '?'}/{int(budget)}"
            if budget != float("inf")
            else f", Epochs={int(trained)}" if trained is not None else ""
        )
        tie = " (cannot be separated from the best)" if (
            r is not top[0] and r.get("tied_with_best") is True and not stand.finalists
        ) else ""  # fmt: skip
        rank = (
            f"Rank {r['rank']}, "
            if r.get("rank") is not None
            else "Finalist (ranked by its repeats), "
            if stand.finalists
            else ""
        )
        shown = " ".join(f"{k}={short_value(r.get(k))}" for k in varied)
        lines.append(
            f"   {r['run_number']:>3}. {rank}ValF1={_score(r, SELECTION_METRIC)}{tie}, "
            f"TestF1={_score(r, 'test_stroke_macro_f1')}, "
            f"Worst={_score(r, 'worst_group_macro_f1', spread=False)}, "
            f"Acc={float(r['test_accuracy']):.4f}, "
            f"Time={float(r['training_time_minutes']):.1f}min"
            + epochs
            + (f"\n        {shown}" if shown else "")
        )
    return lines


def format_summary(
    rows: list[dict[str, Any]], csv_path: Path, seconds: float, param_names,
    tracking_uri: str | None = None, search_id: str | None = None,
    experiment_id: str | None = None, stand: Standings | None = None,
    output_dir: str | Path | None = None, registers: bool = True,
) -> str:  # fmt: skip
    """The final summary: CSV, the winner with its test figures and verdict, the top 5.

    The winner is :func:`standings`' (the champion's). Each of the top 5 shows its
    rank (equal scores, equal ranks) and the parameters that vary among them. With
    finalists, their means, intervals and the verdict follow; the last lines say how
    to open the results (the MLflow store the search used, the report).
    """
    stand = stand or standings(rows)
    bar = "=" * 70
    search = [r for r in rows if r.get("phase") != PHASE_REPEAT]
    ranked = ranked_rows(rows)
    pruned = [r for r in search if r["status"] == STATUS_PRUNED]
    failed = [r for r in rows if r["status"] in (STATUS_FAILED, STATUS_KILLED)]
    lines = [bar, "GRID SEARCH COMPLETE!", bar, "", f"✅ Results saved to: {csv_path}"]
    lines.append(
        f"   {len(ranked)} completed, {len(failed)} failed"
        + (f", {len(pruned)} pruned at a rung" if pruned else "")
        + (f", {len(_repeat_rows(rows))} finalist repeats" if _repeat_rows(rows) else "")
    )
    best = stand.winner
    if best is not None:
        how = (
            f" (the best-scoring repeat of finalist trial {best.get('finalist_trial')}, "
            "the finalist with the best mean)"
            if stand.finalists
            else ""
        )
        lines += [
            "",
            "🏆 BEST MODEL (by validation macro F1 over strokes)"
            + (", registered as the champion:" if registers else ":"),
            f"   Run: {best['run_number']}{how}",
            f"   Validation Macro F1 (strokes): {_score(best, SELECTION_METRIC)}",
            f"   Macro F1-Score (test strokes): {_score(best, 'test_stroke_macro_f1')}",
            f"   Worst {_group_word(best)} (test strokes): "
            f"{_score(best, 'worst_group_macro_f1', spread=False)}",
            f"   Macro F1-Score (test windows): {float(best['macro_avg_f1_score']):.4f}",
            f"   Test Accuracy: {float(best['test_accuracy']):.4f}",
            f"   MLflow Run ID: {best['run_id']}",
        ]
        new_group = _new_group_line(best)
        if new_group:
            lines.append(f"   {new_group}")
        lines += [f"   ⚠️  {line}" for line in _warning_lines(best)]
        lines += ["", "   Parameters:"]
        lines += [f"     {k}: {best[k]}" for k in param_names if k in best]
        lines += ["", *verdict_summary(stand, registers)]
        warned = [r for r in ranked if r is not best and _warning_lines(r)]
        if warned:
            lines.append(
                f"⚠️  {len(warned)} other run(s) have warnings (weak players, gaps, thin "
                "splits): the CSV's warnings column, the report"
            )
        lines += ["", "📈 TOP 5 MODELS (by validation macro F1 over strokes):"]
        lines += _top_lines(ranked[:5], stand, param_names)
    lines += verdict_lines(rows)
    if failed:
        lines += ["", "❌ FAILED RUNS (grouped by error):"]
        for error, n in Counter(r["error"] or "unknown error" for r in failed).most_common():
            numbers = [
                str(r["run_number"]) for r in failed if (r["error"] or "unknown error") == error
            ]
            lines.append(f"   {n} x {error}  (runs {', '.join(numbers)})")
    hours = seconds / 3600
    total = f"{hours:.2f} hours" if hours >= 1 else f"{seconds / 60:.1f} minutes"
    lines += [
        "",
        f"⏱️  Total grid search time: {total}",
        *viewing_hint(tracking_uri, search_id, experiment_id, output_dir),
    ]
    lines.append(bar)
    return "\n".join(lines)


# --------------------------------------------------------------------------- execution


def _error_text(exc: BaseException) -> str:
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
    :func:`kernel_log_path`; a dead kernel's error names its exit signal and log;
    ``pool`` starts the next run's kernel ahead (unless ``prepare_next`` is false: no
    run follows this one); ``slot`` (an overlapping sequential
    executor's) lets the next run start once this one trains, holds this one's training
    until the previous run's is done, and stops the kernel when the search is
    interrupted.
    """
    execute_notebook(
        notebook, output, parameters, stream, pool=pool, turn=slot, prepare_next=prepare_next
    )


def _run_spec(
    spec: tuple[str, str, dict[str, Any]], cpu_threads: int, stream: TextIO | None = None,
    pool: KernelPool | None = None, slot: RunSlot | None = None, prepare_next: bool = True,
) -> None:  # fmt: skip
    """A job for an executor: execute one combination's notebook (picklable).

    ``slot``, ``prepare_next``: see :func:`execute_run`.
    """
    notebook, output, parameters = spec
    parameters = {**parameters, "cpu_threads": cpu_threads}
    execute_run(Path(notebook), Path(output), parameters, stream, pool, slot, prepare_next)


def expected_cost(params: Mapping[str, Any], features: int = 132) -> float:
    """A run's training work relative to other combinations (for scheduling only).

    LSTM multiply-adds per window (4 gates x units x (inputs + units) per layer and
    frame, twice when bidirectional), times the windows per video (1 / stride).
    Epochs are left out: early stopping decides them. Missing keys take the
    defaults of :func:`tennis_lab.model.build_lstm` and ``make_windows``.
    """
    import inspect

    from tennis_lab.model import MODEL_DEFAULTS
    from tennis_lab.windows import make_windows

    window_defaults = {
        name: arg.default for name, arg in inspect.signature(make_windows).parameters.items()
    }
    p = {**MODEL_DEFAULTS, **window_defaults, **params}
    inputs, per_frame = features, 0.0
    for units in p["lstm_layers"]:
        per_frame += 4 * units * (inputs + units)
        inputs = units
    if p["use_bidirectional"]:
        per_frame *= 2
    stride = max(1, p["window_size"] - p["overlap"])
    return per_frame * p["window_size"] / stride


@dataclass
class _Job:
    """One run of a search: its spec and everything the runner derives from it."""

    spec: TrialSpec
    phase: str
    cid: str
    params: dict[str, Any]  # the notebook's tunable parameters of this run
    full_params: dict[str, Any]  # with the notebook's defaults: the CSV's columns
    notebook: Path  # the executed notebook
    result_file: Path
    name: str  # the MLflow run name
    extra: dict[str, Any]  # the CSV's trial columns (strategy, trial, rung, ...)
    label: str = ""  # "Run 3/12", "Trial 3 rung 1 (9 epochs)", "Repeat run 13 (...)"
    note: str = ""  # what the header says beside the run's number
    number: int | None = None  # the header's run number (None: the count of runs started)
    item: tuple = ()  # what the executor runs: (notebook, executed notebook, parameters)
    started: float | None = None  # when it began here (sequential runs)

    @property
    def tags(self) -> dict[str, Any]:
        return {k: v for k, v in self.extra.items() if v is not None and v != ""}


def _record_outcome(
    state: SearchState, job: _Job, error: BaseException | None, seconds: float | None,
    say: Callable[[str], None],
) -> dict[str, Any]:  # fmt: skip
    """The CSV row of a finished job; completes its MLflow child, or records it FAILED."""
    try:
        if error is not None:
            raise error
        result = json.loads(job.result_file.read_text(encoding="utf-8"))
        row = result_row(
            job.spec.trial, job.cid, job.full_params, STATUS_COMPLETED, job.notebook, result,
            seconds=seconds, warnings=run_warnings(result, state.settings.get("weak_group")),
        )  # fmt: skip
        row.update(job.extra)
        child = result["run_id"]
        tracking.log_artifact(child, job.notebook, "notebook", state.tracking_uri)
        warned, new_group = _warning_lines(row), _new_group_line(row)
        # the notebook tagged its own warnings; --weak-group may have added some
        added = warned != list(result.get("warnings") or [])
        tracking.set_tags(
            child,
            {"grid": state.grid, "status": STATUS_COMPLETED, **job.tags,
             **({"warnings": tracking.warnings_tag(warned)} if added else {})},
            state.tracking_uri,
        )  # fmt: skip
        m = result["metrics"]
        worst = min(result.get("groups") or [{}], key=lambda g: g.get("macro_f1", 1.0))
        continued = (
            f"   Epochs: {job.spec.initial_epoch} -> {int(m['epochs_trained'])} (continued from "
            f"rung {job.spec.rung - 1})\n"
            if job.spec.initial_epoch and "epochs_trained" in m
            else ""
        )
        say(
            f"\n✅ {job.label} complete:\n"
            f"   Test Accuracy: {m['test_accuracy']:.4f}\n"
            f"   Macro F1-Score: {_score(m, 'test_stroke_macro_f1')} on test strokes "
            f"(validation {_score(m, SELECTION_METRIC)}; "
            f"{m['macro_avg_f1_score']:.4f} on test windows)\n"
            + (
                f"   Worst {result['data'].get('split_by', 'group')}: {worst['group']} "
                f"{worst['macro_f1']:.4f} ({worst['strokes']} strokes)\n"
                if worst.get("group")
                else ""
            )
            + continued
            + (f"   {new_group}\n" if new_group else "")
            + "".join(f"   ⚠️  {line}\n" for line in warned)
            + f"   Training Time: {m['training_time_minutes']:.2f} min\n"
            f"   MLflow Run ID: {result['run_id']}"
        )
        return row
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a failed run is data, not a crash
        text = _error_text(exc)
        run_id = tracking.record_failed_run(
            state.experiment_id, state.parent_run_id, job.name, dict(job.params), text,
            tags={"search_id": state.search_id, "config_id": job.cid, "grid": state.grid,
                  **job.tags},
            notebook=job.notebook if job.notebook.is_file() else None,
            tracking_uri=state.tracking_uri,
        )  # fmt: skip
        log = kernel_log_path(job.notebook)
        say(
            f"\n❌ {job.label} FAILED: {text}\n   Notebook: {job.notebook}"
            + (f"\n   Kernel log: {log}" if log.is_file() else "")
        )
        row = result_row(
            job.spec.trial, job.cid, job.full_params, STATUS_FAILED, job.notebook, None, text,
            run_id, seconds=seconds,
        )  # fmt: skip
        row.update(job.extra)
        return row


# --------------------------------------------------------------------------- search state


def _state_path(output_dir: Path, search_id: str) -> Path:
    return output_dir / "searches" / f"{search_id}.json"


def _lock_path(output_dir: Path, search_id: str) -> Path:
    return output_dir / "searches" / f"{search_id}.lock"


def _csv_path(output_dir: Path, stamp: str) -> Path:
    return output_dir / results_csv_name(stamp)


def _latest_search(output_dir: Path) -> str:
    states = sorted((output_dir / "searches").glob("*.json"))
    if not states:
        raise SearchError(f"no search to resume in {output_dir / 'searches'}.")
    return states[-1].stem


def _read_state(output_dir: Path, search_id: str) -> SearchState:
    """The stored state of ``search_id``; SearchError when there is none or it is unreadable."""
    state_file = _state_path(output_dir, search_id)
    if not state_file.is_file():
        raise SearchError(
            f"no search {search_id!r} to resume: {state_file} does not exist "
            f"(searches: {sorted(p.stem for p in state_file.parent.glob('*.json'))})."
        )
    try:
        return SearchState(**json.loads(state_file.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise SearchError(f"cannot read the search state {state_file}: {exc}") from None


def _write_state(state: SearchState, output_dir: Path) -> None:
    """Write the state file via a temporary file and a rename."""
    path = _state_path(output_dir, state.search_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- lock


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        import psutil
    except ImportError:  # pragma: no cover - a dependency of distributed
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


class SearchLock:
    """``<output>/searches/<search id>.lock``: held by the one process running a search.

    The file holds its owner's PID and host. It is created atomically (``os.open``
    with ``O_CREAT | O_EXCL``) and removed on release; a lock whose process no longer
    runs on this host is stale and is taken over, with a note. A context manager:
    ``with SearchLock(path).acquire(say): ...`` releases it however the block ends.
    """

    def __init__(self, path: Path):
        self.path = path
        self.held = False

    def create(self) -> bool:
        """Take the lock when no lock file exists; False when one does."""
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(owner, file)
        self.held = True
        return True

    def owner(self) -> dict[str, Any]:
        """What the lock file says: pid, host, started, command ({} when unreadable)."""
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def acquire(self, say: Callable[[str], None]) -> SearchLock:
        """Take the lock, taking over a stale one.

        Raises
        ------
        SearchError
            When a running process holds it: the message names the process and the file.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(50):
            if self.create():
                return self
            owner = self.owner()
            if owner or self._age() > 5:  # else: its owner is writing it
                if self._alive(owner):
                    raise SearchError(self._busy(owner))
                self._remove_stale(owner, say)
            time.sleep(0.1)
        raise SearchError(f"could not take the lock {self.path} within 5 s; try again.")

    def release(self) -> None:
        """Remove the lock file if this process holds it."""
        if self.held and self.owner().get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> SearchLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _age(self) -> float:
        try:
            return time.time() - self.path.stat().st_mtime
        except OSError:
            return 0.0

    @staticmethod
    def _alive(owner: Mapping[str, Any]) -> bool:
        pid = owner.get("pid")
        if not isinstance(pid, int):
            return False
        if owner.get("host") not in (None, socket.gethostname()):
            return True  # another machine's process: cannot tell, so it holds the lock
        return _process_alive(pid)

    def _busy(self, owner: Mapping[str, Any]) -> str:
        return (
            f"search {self.path.stem} is already running: process {owner['pid']} on "
            f"{owner.get('host', '?')} (since {owner.get('started', '?')}) holds its lock "
            f"{self.path}. Wait for it to end or stop it; if that process is gone (e.g. on "
            f"another machine), delete {self.path} and run again."
        )

    def _remove_stale(self, owner: Mapping[str, Any], say: Callable[[str], None]) -> None:
        """Delete a stale lock file, unless another process is doing it or took the lock."""
        guard = self.path.with_name(self.path.name + ".takeover")
        try:
            os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - guard.stat().st_mtime > 30:  # left by a crash
                    guard.unlink()
            return
        try:
            if self.owner() == owner:
                self.path.unlink(missing_ok=True)
                who = (
                    f"process {owner['pid']} on {owner.get('host', '?')} no longer runs"
                    if owner.get("pid")
                    else "it names no process"
                )
                say(f"Note: taking over the stale lock {self.path} ({who}).")
        finally:
            guard.unlink(missing_ok=True)


def _new_search(output_dir: Path, grid_name: str) -> tuple[str, SearchLock]:
    """A new search's time stamp and its lock; the id is ``<stamp>_<grid name>``.

    The stamp is the start time to the microsecond, so ids sort by start time; the
    lock file is created exclusively, so two searches started at once get two ids.
    """
    (output_dir / "searches").mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        now = datetime.now()
        stamp = f"{now:%Y%m%d_%H%M%S}_{now.microsecond:06d}"
        search_id = f"{stamp}_{grid_name}"
        lock = SearchLock(_lock_path(output_dir, search_id))
        unused = not _state_path(output_dir, search_id).exists()
        if unused and not _csv_path(output_dir, stamp).exists() and lock.create():
            return stamp, lock
        time.sleep(0.001)
    raise SearchError(f"could not create a new search id in {output_dir / 'searches'}.")


@contextlib.contextmanager
def _sigterm_as_interrupt():
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


# --------------------------------------------------------------------------- checks before work

# SearchConfig field -> its flag: what a search is. --resume keeps them.
_SETTINGS = {
    "grid": "--grid", "random": "--random", "n_samples": "--n-samples",
    "max_runs": "--max-runs", "seed": "--seed", "epochs": "--epochs", "data_dir": "--data-dir",
    "tracking_uri": "--tracking-uri", "experiment": "--experiment",
    "reports_dir": "--reports-dir", "notebook": "notebook", "strategy": "--strategy",
    "n_trials": "--n-trials", "min_epochs": "--min-epochs", "max_epochs": "--max-epochs",
    "eta": "--eta", "finalists": "--finalists", "repeats": "--repeats", "backend": "--backend",
    "repeat_over": "--repeat-over", "weak_group": "--weak-group",
}  # fmt: skip


@dataclass
class _Places:
    """Where a search reads and writes, absolute."""

    notebook: Path
    output: Path
    reports: Path


def _absolute(path: str | os.PathLike) -> Path:
    """``path`` from the current working directory (a run's kernel runs in another)."""
    return Path(path).expanduser().resolve()


def _places(cfg: SearchConfig) -> _Places:
    notebook = _absolute(cfg.notebook) if cfg.notebook else paths.notebooks_dir() / "train.ipynb"
    if not notebook.is_file():
        raise SearchError(f"notebook {notebook} does not exist or is not a file.")
    return _Places(
        notebook=notebook,
        output=_absolute(cfg.output_dir) if cfg.output_dir else paths.output_dir(),
        reports=_absolute(cfg.reports_dir) if cfg.reports_dir else paths.reports_dir() / "runs",
    )


def _tracking_uri(uri: str | None) -> str:
    """The tracking URI to use, a relative SQLite path made absolute."""
    return tracking.absolute_tracking_uri(tracking.resolve_tracking_uri(uri))


def _grid_ref(grid: str | None) -> str | None:
    """A grid as given: a predefined grid's name, or a grid file's absolute path."""
    if grid is None:
        return None
    is_file = Path(grid).suffix in (".yaml", ".yml", ".json") or "/" in grid or "\\" in grid
    return str(_absolute(grid)) if is_file else grid


def _settings(cfg: SearchConfig, places: _Places) -> dict[str, Any]:
    """The values of :data:`_SETTINGS` as ``cfg`` runs them (paths absolute)."""
    return {
        "grid": _grid_ref(cfg.grid), "random": cfg.random, "n_samples": cfg.n_samples,
        "max_runs": cfg.max_runs, "seed": cfg.seed, "epochs": cfg.epochs,
        "data_dir": str(_absolute(cfg.data_dir)) if cfg.data_dir else None,
        "tracking_uri": _tracking_uri(cfg.tracking_uri), "experiment": cfg.experiment,
        "reports_dir": str(places.reports), "notebook": str(places.notebook),
        "strategy": cfg.strategy, "n_trials": cfg.n_trials, "min_epochs": cfg.min_epochs,
        "max_epochs": cfg.max_epochs, "eta": cfg.eta, "finalists": cfg.finalists,
        "repeats": cfg.repeats, "backend": backends.resolve_backend(cfg.backend),
        "repeat_over": cfg.repeat_over, "weak_group": cfg.weak_group,
    }  # fmt: skip


def _stored_settings(state: SearchState) -> dict[str, Any]:
    """The settings a search runs with (for older state files, those they record)."""
    known = {
        "grid": state.grid, "seed": state.overrides.get("seed"),
        "epochs": state.overrides.get("epochs"), "data_dir": state.overrides.get("data_dir"),
        "tracking_uri": tracking.absolute_tracking_uri(state.tracking_uri),
        "experiment": state.experiment, "reports_dir": str(Path(state.notebooks_dir).parent),
        "backend": backends.resolve_backend(state.overrides.get("keras_backend")),
    }  # fmt: skip
    return {**known, **state.settings}


def _shown(value: Any) -> str:
    return "not set" if value is None else value if isinstance(value, str) else json.dumps(value)


def _check_resume_flags(cfg: SearchConfig, places: _Places, state: SearchState) -> None:
    """Refuse flags given with --resume whose value differs from the search's own.

    A flag counts as given when its value differs from :class:`SearchConfig`'s default.
    """
    default, given, stored = SearchConfig(), _settings(cfg, places), _stored_settings(state)
    conflicts = []
    for name, flag in _SETTINGS.items():
        if getattr(cfg, name) == getattr(default, name) or name not in stored:
            continue
        mine, theirs = given[name], stored[name]
        if name == "grid" and "grid" not in state.settings:  # older states: the grid's name
            mine = Path(mine).stem
        if mine != theirs:
            conflicts.append(f"{flag} {_shown(mine)} (the search has {_shown(theirs)})")
    if conflicts:
        raise SearchError(
            f"--resume {state.search_id} continues the search with its own settings, but "
            f"{'; '.join(conflicts)}. Drop these flags to resume, or start a new search "
            "without --resume."
        )


def _check_session(cfg: SearchConfig) -> None:
    """The flags of this session alone (workers, --new-parent)."""
    if cfg.workers is not None and cfg.workers < 1:
        raise SearchError(
            f"--workers must be at least 1; got {cfg.workers} (1: one run at a time here, "
            "N: N runs at once on a local Dask cluster)."
        )
    if cfg.new_parent and not cfg.resume:
        raise SearchError(
            "--new-parent goes with --resume: it gives a resumed search whose parent run "
            "is gone a new one."
        )


def _check_writable(*folders: Path) -> None:
    """Create each folder and a temporary file in it; SearchError naming one that fails."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise SearchError(
                f"cannot write to {folder} ({exc.strerror or exc}): make it a writable "
                "folder, or choose another one (--output-dir, --reports-dir)."
            ) from None


def _check_store(uri: str) -> None:
    try:
        tracking.check_tracking_uri(uri)
    except tracking.TrackingError as exc:
        raise SearchError(str(exc)) from None


def _experiment(uri: str, name: str) -> str:
    """Create the store and the experiment when missing; SearchError naming the URI."""
    try:
        return tracking.ensure_experiment(name, tracking_uri=uri)
    except tracking.TrackingError as exc:
        raise SearchError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any failure of the store, with its URI
        raise SearchError(
            f"cannot open the MLflow store {uri} ({type(exc).__name__}: {str(exc)[:500]}): "
            "check the URI (--tracking-uri) and that the store is reachable."
        ) from None


def _executor(cfg: SearchConfig):
    try:
        return make_executor(cfg.workers, cfg.scheduler, overlap=cfg.overlap_runs)
    except ExecutorError as exc:
        raise SearchError(str(exc)) from None


def _first_kernel(
    cfg: SearchConfig, executor: Any, overrides: Mapping[str, Any], stack: contextlib.ExitStack
) -> KernelPool | None:
    """One run at a time: the search's kernel pool, starting the first run's kernel now,
    every check done, while the parent run is made (it imports what the run needs
    before its training; the tracking store may not exist yet; see :class:`_Session`)."""
    if not cfg.prepare_kernels or not isinstance(executor, SequentialExecutor):
        return None
    backend = backends.resolve_backend(overrides.get("keras_backend"))
    pool = stack.enter_context(KernelPool(backend, warmup=HEAD_WARMUP_CODE))
    pool.prepare(behind=False)  # nothing trains yet
    return pool


def _start_parent(state: SearchState) -> str:
    return tracking.start_parent_run(
        state.experiment_id,
        parent_run_name(state.grid, state.search_id),
        tags={
            "search_id": state.search_id,
            "grid": state.grid,
            "status": "RUNNING",
            "combinations": str(len(state.combinations)),
            "strategy": state.strategy,
        },  # fmt: skip
        params={
            "grid": state.grid,
            "combinations": len(state.combinations),
            "strategy": state.strategy,
            **state.overrides,
            **{
                k: state.settings.get(k)
                for k in ("n_trials", "min_epochs", "max_epochs", "eta", "finalists", "repeats")
                if state.settings.get(k) is not None
            },
        },  # fmt: skip
        tracking_uri=state.tracking_uri,
    )


def _missing_parent(state: SearchState) -> str:
    db = tracking.sqlite_path(state.tracking_uri)
    what = (
        f"its MLflow database {db} does not exist (deleted or moved?)"
        if db is not None and not db.is_file()
        else f"its parent run {state.parent_run_id} is not in the MLflow store "
        f"{state.tracking_uri} (deleted?)"
    )
    done = len(read_completed(Path(state.csv_path)))
    return (
        f"cannot resume search {state.search_id}: {what}. Put it back, or resume with a new "
        f"parent run: tennis-lab grid --resume {state.search_id} --new-parent (it keeps the "
        f"{done} completed row(s) of {state.csv_path} and runs the others)."
    )


def _reopen_parent(
    cfg: SearchConfig, state: SearchState, output_dir: Path, say: Callable[[str], None]
) -> None:
    """Set the parent run RUNNING again; with --new-parent, start one when it is gone."""
    found = tracking.run_status(state.parent_run_id, state.tracking_uri) is not None
    if found and cfg.new_parent:
        raise SearchError(
            f"--new-parent: the parent run {state.parent_run_id} of search {state.search_id} "
            f"is still in {state.tracking_uri}; resume without --new-parent."
        )
    if found:
        tracking.reopen_run(state.parent_run_id, tracking_uri=state.tracking_uri)
        return
    if not cfg.new_parent:
        raise SearchError(_missing_parent(state))
    old = state.parent_run_id
    state.experiment_id = _experiment(state.tracking_uri, state.experiment)
    state.parent_run_id = _start_parent(state)
    _write_state(state, output_dir)
    say(
        f"Note: new parent run {state.parent_run_id} for search {state.search_id} (the old "
        f"one, {old}, is gone); the completed rows of {state.csv_path} are kept."
    )


def _prepare_new(
    cfg: SearchConfig, defaults: Mapping[str, Any], places: _Places, stack: contextlib.ExitStack
) -> tuple[SearchState, Any, KernelPool | None]:
    """Check everything, then lock a new search id, connect, and create the parent run.

    Returns the state, the executor and the kernel pool (:func:`_first_kernel`)."""
    grid, combos, overrides = plan(cfg, defaults)
    if cfg.data_dir:
        overrides["data_dir"] = str(_absolute(cfg.data_dir))
    uri = _tracking_uri(cfg.tracking_uri)
    _check_store(uri)
    _check_writable(places.output / "searches", places.reports)
    stamp, lock = _new_search(places.output, grid.name)
    stack.enter_context(lock)
    executor = stack.enter_context(_executor(cfg))
    kernels = _first_kernel(cfg, executor, overrides, stack)
    search_id = lock.path.stem
    name = strategy_of(cfg)
    strategy = None
    if name not in FIXED_STRATEGIES:
        if name == "tpe":
            combos = []  # TPE proposes its own; plan's were a sample to check
        storage = _tpe_storage(places.output, search_id) if name == "tpe" else None
        strategy = new_strategy(cfg, combos, defaults, storage, executor.workers)
    state = SearchState(
        search_id=search_id,
        grid=grid.name,
        parent_run_id="",
        experiment=cfg.experiment,
        experiment_id=_experiment(uri, cfg.experiment),
        tracking_uri=uri,
        csv_path=str(_csv_path(places.output, stamp)),
        notebooks_dir=str(places.reports / search_id),
        combinations=combos,
        config_ids=[grids.config_id(run_parameters(c, overrides)) for c in combos],
        overrides=overrides,
        started=datetime.now().isoformat(timespec="seconds"),
        settings=_settings(cfg, places),
        strategy=name,
        strategy_state=strategy.state() if strategy is not None else None,
    )
    state.parent_run_id = _start_parent(state)
    _write_state(state, places.output)
    return state, executor, kernels


def _prepare_resume(
    cfg: SearchConfig, places: _Places, stack: contextlib.ExitStack, say: Callable[[str], None]
) -> tuple[SearchState, Any, KernelPool | None]:
    """Lock the search, check flags, store and folders, connect, and reopen the parent run.

    Returns as :func:`_prepare_new`."""
    search_id = _latest_search(places.output) if cfg.resume == "latest" else cfg.resume
    _read_state(places.output, search_id)  # it exists: only then a lock file for it
    stack.enter_context(SearchLock(_lock_path(places.output, search_id)).acquire(say))
    state = _read_state(places.output, search_id)
    # Kernels of the stopped search that still run notebooks would finish their MLflow
    # runs after this session has read them (and run them again).
    stop_orphans(Path(state.notebooks_dir))
    _check_resume_flags(cfg, places, state)
    _check_store(state.tracking_uri)
    _check_writable(
        places.output / "searches", Path(state.csv_path).parent, Path(state.notebooks_dir)
    )
    executor = stack.enter_context(_executor(cfg))
    kernels = _first_kernel(cfg, executor, state.overrides, stack)
    _reopen_parent(cfg, state, places.output, say)
    what = (
        f"{state.settings.get('n_trials') or DEFAULT_N_TRIALS} trials"
        if state.strategy == "tpe"
        else f"{len(state.combinations)} combinations"
    )
    say(f"Resuming search {search_id} ({state.strategy}, {what})")
    return state, executor, kernels


# --------------------------------------------------------------------------- running


def _children(state: SearchState) -> pd.DataFrame:
    return tracking.runs_dataframe(
        state.experiment, tracking_uri=state.tracking_uri, parent_run_id=state.parent_run_id
    )


def _kill_running(children: pd.DataFrame, state: SearchState) -> None:
    """Mark the children left RUNNING (by a run that was stopped) KILLED."""
    for run_id in children.loc[children["status"] == "RUNNING", "run_id"]:
        tracking.end_run(run_id, "KILLED", tracking_uri=state.tracking_uri)


def _finished_in_mlflow(state: SearchState) -> dict[str, dict[str, Any]]:
    """Run name -> {run_id, config_id, metrics} of FINISHED children.

    Children left RUNNING (a search stopped mid-run) are marked KILLED first.
    """
    children = _children(state)
    _kill_running(children, state)
    done: dict[str, dict[str, Any]] = {}
    for _, row in children.iterrows():
        name = row.get("run_name")
        if row["status"] != "FINISHED" or not isinstance(name, str) or name in done:
            continue
        metrics = {
            k.split(".", 1)[1]: v
            for k, v in row.items()
            if k.startswith("metrics.")
            and not k.split(".", 1)[1].startswith(tracking.SERIES_PREFIXES)
            and not pd.isna(v)
        }
        cid = row.get("tags.config_id")
        done[name] = {
            "run_id": row["run_id"],
            "config_id": cid if isinstance(cid, str) else None,
            "metrics": metrics,
        }
    return done


def _save(rows: list[dict[str, Any]], csv_path: Path, state: SearchState) -> None:
    """Write the results CSV; SearchFailed naming it and how to go on when it cannot be."""
    try:
        write_csv_atomic(rows, csv_path)
    except OSError as exc:
        raise SearchFailed(
            f"cannot write the results CSV {csv_path} ({exc.strerror or exc}): make "
            f"{csv_path.parent} writable (or free disk space), then resume: tennis-lab grid "
            f"--resume {state.search_id} (the runs completed so far are found again in MLflow)."
        ) from None


def _resume_hint(state: SearchState) -> str:
    return f"Resume with: tennis-lab grid --resume {state.search_id}   (make grid RESUME=1)"


# The parent run's status tag (the children's vocabulary) for its MLflow run status.
_PARENT_STATUS = {"FINISHED": STATUS_COMPLETED, "FAILED": STATUS_FAILED, "KILLED": STATUS_KILLED}
# The best run's figures the parent run shows as best_<name>.
PARENT_METRICS = (
    SELECTION_METRIC, "test_stroke_macro_f1", "worst_group_macro_f1", "macro_avg_f1_score",
    "test_accuracy", "new_group_macro_f1", "new_group_macro_f1_min", "new_group_macro_f1_max",
)  # fmt: skip


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The search's one winner (the champion): the best finalist's best repeat, else the
    top ranked (see :class:`Standings`)."""
    best = best_finalist_row(rows)
    if best is None:
        ranked = ranked_rows(rows)
        best = ranked[0] if ranked else None
    return best


def parent_summary(
    rows: list[dict[str, Any]], status: str, stand: Standings | None = None
) -> tuple[dict, dict]:
    """The parent run's tags and metrics at the end of a search (best run, counts)."""
    counts = Counter(r["status"] for r in rows)
    tags: dict[str, Any] = {"status": _PARENT_STATUS.get(status, status)}
    metrics: dict[str, float] = {
        f"runs_{name.lower()}": float(counts.get(name, 0))
        for name in (STATUS_COMPLETED, STATUS_FAILED, STATUS_PRUNED)
    }
    stand = stand or standings(rows)
    best = stand.winner
    if best is not None:
        tags.update(best_run_id=best.get("run_id", ""), best_run_number=best["run_number"],
                    best_config_id=best.get("config_id", ""))  # fmt: skip
        if _warning_lines(best):
            tags["best_warnings"] = best["warnings"]
        if not stand.finalists:  # the finalists' verdict is tagged by apply_verdict
            verdict = (
                f"undecided: runs {_run_names(stand.undecided)}"
                if stand.undecided
                else f"best: run {best['run_number']}"
            )
            tags["verdict"] = f"{verdict} ({stand.method})"
        for name in PARENT_METRICS:
            value = finite_number(best.get(name))
            if value is not None:
                metrics[f"best_{name}"] = value
    return tags, metrics


def _end_parent(
    state: SearchState, status: str, say: Callable[[str], None],
    rows: list[dict[str, Any]] | None = None, csv_path: Path | None = None,
    stand: Standings | None = None,
) -> None:  # fmt: skip
    """End the parent run as ``status``, and as KILLED its children left RUNNING.

    Once the search ends no child runs: one still RUNNING lost its kernel (Ctrl-C,
    SIGTERM, a worker or scheduler that went away). Before it ends, the parent gets
    the best run's figures (``best_<metric>``), its id (tag ``best_run_id``), the run
    counts, a ``status`` tag that matches, and the results CSV as an artifact.
    """
    try:
        tags, metrics = parent_summary(rows or [], status, stand)
        tracking.set_tags(state.parent_run_id, tags, state.tracking_uri)
        tracking.log_metrics(state.parent_run_id, metrics, state.tracking_uri)
        if csv_path is not None and Path(csv_path).is_file():
            tracking.log_artifact(state.parent_run_id, csv_path, "results", state.tracking_uri)
    except Exception as exc:  # noqa: BLE001 - the CSV has it all
        say(f"Note: the parent run {state.parent_run_id} did not get its summary ({exc}).")
    try:
        _kill_running(_children(state), state)
        tracking.end_run(state.parent_run_id, status, tracking_uri=state.tracking_uri)
    except Exception as exc:  # noqa: BLE001 - the search's outcome is reported anyway
        say(
            f"Note: the parent run {state.parent_run_id} could not be marked {status} "
            f"({type(exc).__name__}: {exc})."
        )


# Errors of a run's machinery, not of its parameters: running it again may work.
_RETRYABLE = ("KilledWorker", "DeadKernelError", "FutureCancelledError")


def _sayer(out: TextIO) -> Callable[[str], None]:
    """A function printing a message to ``out`` at once."""
    return lambda text: print(text, file=out, flush=True)


def _tpe_storage(output_dir: Path, search_id: str) -> Path:
    """The Optuna study of a TPE search: beside its state file (only the search writes it)."""
    return output_dir / "searches" / f"{search_id}.optuna.db"


def new_strategy(
    cfg: SearchConfig, combos: list[dict[str, Any]], defaults: Mapping[str, Any],
    storage: Path | None = None, workers: int = 1,
) -> strategies.Strategy:  # fmt: skip
    """The strategy object of a new search (``combos`` from :func:`plan`).

    Raises
    ------
    SearchError
        When the strategy refuses its settings (the message says which and the fix).
    """
    name = strategy_of(cfg)
    try:
        if name == "grid":
            return strategies.GridStrategy(combos)
        if name == "random":
            return strategies.RandomStrategy(combos)
        if name == "tpe":
            ranges, _, _ = tpe_ranges(cfg)
            return strategies.TPEStrategy(
                ranges, cfg.n_trials or DEFAULT_N_TRIALS, seed=cfg.seed, defaults=defaults,
                storage=storage, workers=workers,
            )  # fmt: skip
        low, high, eta = epoch_budget(cfg, defaults)
        kind = strategies.HalvingStrategy if name == "halving" else strategies.HyperbandStrategy
        return kind(combos, min_epochs=low, max_epochs=high, eta=eta)
    except ValueError as exc:
        raise SearchError(f"--strategy {name}: {exc}") from None


def _planned_runs(strategy: strategies.Strategy) -> int:
    """The runs a strategy makes when none fails (TPE: its trials)."""
    if isinstance(strategy, strategies.HalvingStrategy):
        return sum(n for n, _ in strategy.plan())
    if isinstance(strategy, strategies.HyperbandStrategy):
        return sum(n for bracket in strategy.brackets for n, _ in bracket.plan())
    if isinstance(strategy, strategies.TPEStrategy):
        return strategy.n_trials
    if isinstance(strategy, strategies.RepeatStrategy):
        return len(strategy.specs)
    return len(strategy.combinations)


class _Relay:
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


class _Session:
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
        self.defaults, self.notebook, self.output_dir, self.out = (
            defaults,
            notebook,
            output_dir,
            out,
        )
        self.say = _sayer(out)
        self.csv_path = Path(state.csv_path)
        self.parallel = not isinstance(executor, SequentialExecutor)
        self.started = time.time()
        self.finished_here = 0
        self.runs_started = 0
        self.total = 0
        self.rows: dict[tuple[int, int], dict[str, Any]] = {}
        self.pruned_done: set[tuple[int, int]] = set()
        self.mlflow_done: dict[str, dict[str, Any]] = {}
        self.repeat_info: dict[tuple[int, int], dict[str, Any]] = {}
        self.checkpoints = Path(state.notebooks_dir) / "checkpoints"
        self.relays: dict[str, _Relay] = {}  # sequential runs in flight, in submission order
        # One run at a time here: the next run's kernel starts while the current one
        # trains (workers of a cluster start their own). Now that the tracking store
        # exists, the kernels started ahead open it too.
        self.kernels = kernels
        if kernels is not None:
            kernels.warmup = warmup_code(state.tracking_uri)

    # ------------------------------------------------------------ what a run is

    @property
    def settings(self) -> dict[str, Any]:
        return self.state.settings

    def fixed(self, phase: Any) -> bool:
        """Whether a phase's runs were decided up front (a failed one runs again on resume)."""
        return phase == PHASE_REPEAT or self.state.strategy in FIXED_STRATEGIES

    def run_name(self, trial: int, rung: int, params: Mapping[str, Any]) -> str:
        """The MLflow name of a run (:func:`tennis_lab.results.run_name`), with the
        parameters the search varies (a TPE trial: those it drew)."""
        names = self.varied_names if self.state.combinations else sorted(params)
        shown = [k for k in names if k not in ("seed", "epochs")]
        return run_name(self.state.grid, trial, rung, params, shown)

    @functools.cached_property
    def varied_names(self) -> list[str]:
        """The parameters whose value differs between the search's combinations."""
        combos = self.state.combinations
        return _varied(combos, sorted({k for c in combos for k in c}))

    def _cid(self, spec: TrialSpec, phase: str) -> str:
        ids = self.state.config_ids
        if phase == PHASE_SEARCH and self.state.strategy in FIXED_STRATEGIES:
            if 1 <= spec.trial <= len(ids):
                return ids[spec.trial - 1]
        return grids.config_id(run_parameters(spec.params, self.state.overrides))

    def _checkpoint(self, trial: int, cid: str, rung: int) -> Path:
        return trial_file(self.checkpoints, trial, cid, ".keras", rung)

    def _repeat_seeds(self, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """A repeat's ``seed`` and ``split_seed``: the repeat's new seed goes where
        ``repeat_over`` says; the other keeps the finalist's own."""
        split = params.get("split_seed")
        split = params.get("seed") if split is None else split
        over = self.settings.get("repeat_over") or "seeds"
        if over == "seeds":
            return {"seed": seed, "split_seed": split}
        if over == "splits":
            return {"split_seed": seed}
        return {"seed": seed, "split_seed": None}

    def _job(self, spec: TrialSpec, phase: str) -> _Job:
        state = self.state
        params = run_parameters(spec.params, state.overrides)
        if phase == PHASE_REPEAT and spec.seed is not None:
            params.update(self._repeat_seeds(params, spec.seed))
        elif spec.seed is not None:
            params["seed"] = spec.seed
        if spec.epochs is not None:
            params["epochs"] = spec.epochs
        cid = self._cid(spec, phase)
        folder = state.notebooks_dir
        name = self.run_name(spec.trial, spec.rung, spec.params)
        notebook = trial_file(folder, spec.trial, cid, ".ipynb", spec.rung)
        result_file = trial_file(folder, spec.trial, cid, ".json", spec.rung)
        extra: dict[str, Any] = {
            "strategy": state.strategy, "trial": spec.trial, "rung": spec.rung,
            "epochs_budget": spec.epochs, "phase": phase,
        }  # fmt: skip
        run_params = {
            **params,
            "tracking_uri": state.tracking_uri,
            "experiment": state.experiment,
            "parent_run_id": state.parent_run_id,
            "search_id": state.search_id,
            "config_id": cid,
            "run_name": name,
            "result_path": str(result_file),
        }
        adaptive = phase == PHASE_SEARCH and state.strategy in ADAPTIVE_STRATEGIES
        if adaptive:
            extra["initial_epoch"] = spec.initial_epoch
            run_params["initial_epoch"] = spec.initial_epoch
            run_params["checkpoint_path"] = str(self._checkpoint(spec.trial, cid, spec.rung))
        number, note = None, ""
        if phase == PHASE_REPEAT:
            extra.update(self.repeat_info.get(spec.key, {}))
            origin = extra.get("finalist_trial")
            note = f"finalist trial {origin}, seed {params['seed']}" + (
                f", split seed {params['split_seed']}"
                if params.get("split_seed") is not None
                else ""
            )
            label = f"Repeat run {spec.trial} ({note})"
        elif adaptive:
            label = f"Trial {spec.trial} rung {spec.rung} ({spec.epochs} epochs)"
            note = f"trial {spec.trial}, rung {spec.rung}: {spec.epochs} epochs"
            if spec.initial_epoch:
                note = (
                    f"trial {spec.trial}, rung {spec.rung}: epochs {spec.initial_epoch} -> "
                    f"{spec.epochs}, continued from its checkpoint"
                )
        else:
            number = spec.trial
            label = f"Run {spec.trial}/{self.total}"
        return _Job(
            spec=spec, phase=phase, cid=cid, params=params,
            full_params={**self.defaults, **params}, notebook=notebook,
            result_file=result_file, name=name, extra=extra, label=label, note=note,
            number=number, item=(str(self.notebook), str(notebook), run_params),
        )  # fmt: skip

    # ------------------------------------------------------------ results so far

    def load_rows(self) -> None:
        """The rows of earlier sessions; on resume, also the children FINISHED in MLflow.

        A failed run of a phase decided up front (grid, random, the repeats) is left
        out, so that it runs again; an adaptive strategy has taken a failure into
        account, so its row stays.
        """
        for row in read_rows(self.csv_path):
            phase = row.get("phase") if isinstance(row.get("phase"), str) else PHASE_SEARCH
            status = row["status"]
            keep = status in (STATUS_COMPLETED, STATUS_PRUNED) or (
                status == STATUS_FAILED and not self.fixed(phase)
            )
            if keep:
                self.rows[row_key(row)] = row
                if status == STATUS_PRUNED:
                    self.pruned_done.add(row_key(row))
        if self.cfg.resume:
            self.mlflow_done = _finished_in_mlflow(self.state)

    def _known(self, job: _Job) -> dict[str, Any] | None:
        """A result of ``job`` recorded by an earlier session, if any."""
        row = self.rows.get(job.spec.key)
        if row is not None:
            return row
        found = self.mlflow_done.get(job.name)
        if found is None or found["config_id"] not in (None, job.cid):
            return None
        row = result_row(
            job.spec.trial, job.cid, job.full_params, STATUS_COMPLETED, job.notebook, found
        )
        row.update(job.extra)
        self.rows[job.spec.key] = row
        self._save_rows()
        return row

    def ordered(self) -> list[dict[str, Any]]:
        return [self.rows[k] for k in sorted(self.rows)]

    def _save_rows(self) -> None:
        _save(self.ordered(), self.csv_path, self.state)

    def _save_strategy(self, strategy: strategies.Strategy, phase: str) -> None:
        if phase == PHASE_SEARCH and self.state.strategy not in FIXED_STRATEGIES:
            self.state.strategy_state = strategy.state()
            _write_state(self.state, self.output_dir)

    # ------------------------------------------------------------ checkpoints

    def _checkpoint_files(self, trial: int, cid: str, rung: int) -> list[Path]:
        path = self._checkpoint(trial, cid, rung)
        stem = path.name[: -len(path.suffix)]
        return sorted(path.parent.glob(f"{stem}.keras")) + sorted(
            path.parent.glob(f"{stem}.fold*.keras")
        )

    def _carry_checkpoint(self, job: _Job) -> None:
        """Copy the previous rung's checkpoint to this rung's path (the run overwrites it).

        So a rung that is run again after a kill starts from the same files.
        """
        spec = job.spec
        target = self._checkpoint(spec.trial, job.cid, spec.rung)
        old_stem = self._checkpoint(spec.trial, job.cid, spec.rung - 1).name[: -len(".keras")]
        new_stem = target.name[: -len(".keras")]
        for source in self._checkpoint_files(spec.trial, job.cid, spec.rung - 1):
            dest = source.with_name(new_stem + source.name[len(old_stem) :])
            tmp = dest.with_name(dest.name + ".copying")
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)

    def _drop_checkpoint(self, trial: int, cid: str, rung: int) -> None:
        for path in self._checkpoint_files(trial, cid, rung):
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------ running

    def _submit(self, job: _Job, last: bool = False) -> None:
        """Start ``job``; ``last``: no run is expected after it (no kernel is started
        ahead for one)."""
        self.runs_started += 1
        if job.phase == PHASE_SEARCH and job.spec.initial_epoch > 0:
            job.notebook.parent.mkdir(parents=True, exist_ok=True)
            self._carry_checkpoint(job)
        elif job.item[2].get("checkpoint_path"):
            self.checkpoints.mkdir(parents=True, exist_ok=True)
        Path(job.result_file).unlink(missing_ok=True)
        if job.number is None:
            job.number = self.runs_started
        if self.parallel:
            self.executor.submit(_run_spec, job.item)
            return
        # Its header and output wait while an earlier run is still under way.
        relay = _Relay(self.out, held=bool(self.relays))
        self.relays[job.item[1]] = relay
        header = self._header(job)

        def run_here(item: tuple, cpu_threads: int, slot: RunSlot | None = None) -> None:
            """Sequential: show the header, then run with the kernel's output streamed."""
            relay.write("\n" + header + "\n")
            relay.flush()
            job.started = time.time()
            stream = relay if self.cfg.stream_output else None
            _run_spec(
                item, cpu_threads, stream, pool=self.kernels, slot=slot, prepare_next=not last
            )

        self.executor.submit(run_here, job.item)

    def _released(self, job: _Job) -> None:
        """A sequential run has ended: show what it held back; the next run's output goes on."""
        relay = self.relays.pop(job.item[1], None)
        if relay is not None:
            relay.release()

    def _release_next(self) -> None:
        if self.relays:
            next(iter(self.relays.values())).release()

    def _header(self, job: _Job) -> str:
        number = job.number if job.number is not None else self.runs_started
        title = (
            "FINALIST REPEAT"
            if job.phase == PHASE_REPEAT
            else STRATEGY_TITLES.get(self.state.strategy, "GRID SEARCH")
        )
        return format_header(number, max(self.total, number), job.params, title, job.note)

    def _tell(self, strategy: strategies.Strategy, job: _Job, row: dict[str, Any]) -> None:
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
                self._drop_checkpoint(job.spec.trial, job.cid, job.spec.rung - 1)
            if not ok:
                self._drop_checkpoint(job.spec.trial, job.cid, job.spec.rung)

    def _apply_pruned(self, strategy: strategies.Strategy) -> None:
        changed = False
        for spec in strategy.pruned():
            if spec.key in self.pruned_done:
                continue
            row = self.rows.get(spec.key)
            if row is None:
                continue
            self.pruned_done.add(spec.key)
            row["status"] = STATUS_PRUNED
            changed = True
            self._drop_checkpoint(spec.trial, row["config_id"], spec.rung)
            try:
                tracking.set_tags(row["run_id"], {"status": STATUS_PRUNED}, self.state.tracking_uri)
            except Exception as exc:  # noqa: BLE001 - the CSV has it; MLflow is a copy
                self.say(f"Note: run {row['run_id']} could not be tagged PRUNED ({exc}).")
        if changed:
            self._save_rows()

    def drive(self, strategy: strategies.Strategy, phase: str) -> None:
        """Ask, run (at most ``workers`` at once), tell, until the strategy is finished."""
        queue: list[_Job] = []
        in_flight: dict[str, _Job] = {}  # executed notebook -> job
        pending = list(strategy.running)  # asked by an earlier session
        self._apply_pruned(strategy)
        while True:
            new = strategy.ask()
            if new:
                self._save_strategy(strategy, phase)
            told = False
            for spec in pending + new:
                job = self._job(spec, phase)
                row = self._known(job)
                if row is not None:
                    self._tell(strategy, job, row)
                    told = True
                else:
                    queue.append(job)
            pending = []
            if self.parallel and len(queue) > 1:  # largest first: no long run left at the end
                queue.sort(key=lambda j: -expected_cost(j.full_params))
            while queue and self.executor.in_flight < self.executor.capacity:
                job = queue.pop(0)
                # None waiting, and the runs recorded, under way and this one are all planned
                last = not queue and len(self.rows) + len(in_flight) + 1 >= self.total
                self._submit(job, last=last)
                in_flight[job.item[1]] = job
            if not in_flight:
                if strategy.finished:
                    return
                if told:
                    continue
                raise SearchFailed(
                    f"the {strategy.name} strategy waits for results, but no run is under way "
                    f"(running: {[s.key for s in strategy.running]}). {_resume_hint(self.state)}"
                )
            begun = time.time()
            item, error = self.executor.next_done()
            job = in_flight.pop(item[1])
            seconds = time.time() - (job.started or begun) if not self.parallel else None
            if self.parallel:
                self.say("\n" + self._header(job))
            else:
                self._released(job)
            row = _record_outcome(self.state, job, error, seconds, self.say)
            self.rows[job.spec.key] = row
            self._save_rows()
            self._tell(strategy, job, row)
            self.finished_here += 1
            done = len(self.rows)
            self.total = max(self.total, done + len(queue) + len(in_flight))
            self.say(
                "\n"
                + format_progress(done, self.total, time.time() - self.started, self.finished_here)
            )
            self._release_next()

    # ------------------------------------------------------------ the phases

    def search_strategy(self) -> strategies.Strategy:
        state = self.state
        if state.strategy == "grid":
            strategy: strategies.Strategy = strategies.GridStrategy(state.combinations)
        elif state.strategy == "random":
            strategy = strategies.RandomStrategy(state.combinations)
        else:
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

    def repeat_strategy(self, search: strategies.Strategy) -> strategies.RepeatStrategy | None:
        """The finalists' repeats: decided once, when the search phase has ended."""
        k, n = self.settings.get("finalists"), self.settings.get("repeats")
        if not k or not n:
            return None
        state = self.state
        if state.repeat_specs is None:
            top = strategies.finalists(search.outcomes, k)
            if not top:
                self.say("\nNo configuration completed: there are no finalists to re-run.")
                return None
            last = max([key[0] for key in self.rows] + [o.spec.trial for o in search.outcomes])
            specs = strategies.repeat_specs(
                top, n, seeds=int(state.overrides["seed"]) + 1, first_trial=last + 1
            )
            state.repeat_specs = [
                {"spec": spec.to_dict(), "finalist": i // n + 1,
                 "finalist_trial": top[i // n].spec.trial}
                for i, spec in enumerate(specs)
            ]  # fmt: skip
            _write_state(state, self.output_dir)
        for entry in state.repeat_specs:
            spec = TrialSpec.from_dict(entry["spec"])
            self.repeat_info[spec.key] = {
                "finalist": entry["finalist"], "finalist_trial": entry["finalist_trial"],
            }  # fmt: skip
        trials = sorted({e["finalist_trial"] for e in state.repeat_specs})
        over = self.settings.get("repeat_over") or "seeds"
        self.say(
            f"\nFinalists: trials {', '.join(map(str, trials))}, each re-run {n} times varying "
            f"{REPEAT_OVER[over]}"
        )
        return strategies.RepeatStrategy([e["spec"] for e in state.repeat_specs])

    def apply_verdict(self) -> None:
        """Write each finalist's mean, interval and tie into its repeats' rows and MLflow."""
        rows = self.ordered()
        verdict = finalist_verdict(rows)
        if not verdict:
            return
        uri = self.state.tracking_uri
        parent: dict[str, float] = {}
        for rank, entry in enumerate(verdict, 1):
            values = {
                "finalist": rank, "finalist_mean": entry["mean"], "finalist_ci_low": entry["low"],
                "finalist_ci_high": entry["high"], "finalist_repeats": len(entry["scores"]),
                "tied_with_best": bool(entry["tied"]),
            }  # fmt: skip
            mine = [r for r in _repeat_rows(rows) if r["config_id"] == entry["config_id"]]
            for row in mine:
                row.update(values)
            for row in mine:
                if not row.get("run_id"):
                    continue
                try:
                    tracking.set_tags(
                        row["run_id"],
                        {"finalist": rank, "tied_with_best": str(bool(entry["tied"]))},
                        uri,
                    )
                    tracking.log_metrics(
                        row["run_id"],
                        {k: values[k] for k in ("finalist_mean", "finalist_ci_low",
                                                "finalist_ci_high", "finalist_repeats")},
                        uri,
                    )  # fmt: skip
                except Exception as exc:  # noqa: BLE001 - the CSV has it
                    self.say(f"Note: run {row['run_id']} could not get its verdict ({exc}).")
            parent.update({
                f"finalist_{rank}_mean": entry["mean"], f"finalist_{rank}_ci_low": entry["low"],
                f"finalist_{rank}_ci_high": entry["high"],
            })  # fmt: skip
        self._save_rows()
        tied = [e for e in verdict if e["tied"]]
        text = (
            f"tied: trials {', '.join(str(e['finalist_trial']) for e in tied)}"
            if len(tied) > 1
            else f"best: trial {verdict[0]['finalist_trial']}"
        )
        try:
            tracking.log_metrics(self.state.parent_run_id, parent, uri)
            tracking.set_tags(
                self.state.parent_run_id,
                {"verdict": f"{text} ({TIE_TEST}, level {TIE_LEVEL})"},
                uri,
            )
        except Exception as exc:  # noqa: BLE001 - the CSV has it
            self.say(f"Note: the parent run could not get the verdict ({exc}).")


def _execute(
    cfg: SearchConfig, state: SearchState, executor: Any, defaults: Mapping[str, Any],
    notebook: Path, output_dir: Path, out: TextIO, kernels: KernelPool | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Run what is left of the search on ``executor``; the rows, as :func:`run_search`."""
    session = _Session(cfg, state, executor, defaults, notebook, output_dir, out, kernels)
    say = session.say
    session.load_rows()
    strategy = session.search_strategy()
    k, n = state.settings.get("finalists"), state.settings.get("repeats")
    session.total = _planned_runs(strategy) + (k * n if k and n else 0)
    if cfg.resume and state.strategy in FIXED_STRATEGIES and not state.repeat_specs:
        done = sum(
            (n, 0) in session.rows
            or session.run_name(n, 0, state.combinations[n - 1]) in session.mlflow_done
            for n in range(1, len(state.combinations) + 1)
        )
        say(f"{done} already completed, {len(state.combinations) - done} to run")
    elif cfg.resume:
        say(f"{len(session.rows)} runs already recorded, about {session.total} in all")
    if session.parallel:
        say(f"\nRunning on {executor.workers} Dask workers")
        for note in executor.advice():
            say(f"Note: {note}")
    param_names = sorted({k for c in state.combinations for k in c} | set(
        strategy.ranges if isinstance(strategy, strategies.TPEStrategy) else ()
    ))  # fmt: skip
    status, stand = "FINISHED", None
    try:
        session.drive(strategy, PHASE_SEARCH)
        shutil.rmtree(session.checkpoints, ignore_errors=True)  # the models are in MLflow
        repeats = session.repeat_strategy(strategy)
        if repeats is not None:
            session.drive(repeats, PHASE_REPEAT)
            session.apply_verdict()
        stand = standings(session.ordered())  # rank, winner, ties: into the rows
        _save(session.ordered(), session.csv_path, state)
    except KeyboardInterrupt as stop:
        status = "KILLED"
        _save_quietly(session.ordered(), session.csv_path, state, say)
        how = " (SIGTERM)" if isinstance(stop, SearchTerminated) else ""
        say(f"\nInterrupted{how}. Results so far: {session.csv_path}\n{_resume_hint(state)}")
        raise
    except ClusterLost as lost:
        status = "KILLED"
        _save_quietly(session.ordered(), session.csv_path, state, say)
        raise SearchFailed(
            f"{lost}. Results so far: {session.csv_path}. {_resume_hint(state)}"
        ) from None
    except SearchFailed:
        status = "FAILED"
        raise
    except Exception:
        status = "FAILED"
        _save_quietly(session.ordered(), session.csv_path, state, say)
        say(
            f"\nThe search stopped on an error. Results so far: {session.csv_path}\n"
            f"{_resume_hint(state)}"
        )
        raise
    finally:
        if isinstance(executor, SequentialExecutor):
            executor.close()  # runs still under way (interrupted): stop their kernels now
        for relay in session.relays.values():
            relay.release()
        if session.kernels is not None:
            session.kernels.close()
        ordered = session.ordered()
        scored = [r for r in ordered if r["status"] in (STATUS_COMPLETED, STATUS_PRUNED)]
        if ordered and not scored and status != "KILLED":
            status = "FAILED"
        _end_parent(state, status, say, ordered, session.csv_path, stand)

    ordered = session.ordered()
    elapsed = time.time() - session.started
    summary = format_summary(
        ordered, session.csv_path, elapsed, param_names,
        state.tracking_uri, state.search_id, state.experiment_id, stand, output_dir,
        bool(cfg.register_as),
    )  # fmt: skip
    say("\n" + summary)
    _register(cfg, ordered, state, say)
    # Failed runs of a phase decided up front run again on resume (see _Session.load_rows).
    retry = [r for r in ordered if r["status"] == STATUS_FAILED and session.fixed(r.get("phase"))]
    if any(str(r["error"]).startswith(_RETRYABLE) for r in retry):
        say(f"Some runs failed for reasons other than their parameters. {_resume_hint(state)}")
    if ordered and not any(r["status"] in (STATUS_COMPLETED, STATUS_PRUNED) for r in ordered):
        raise SearchFailed(f"every run failed; the first error: {ordered[0]['error']}")
    return ordered


def _save_quietly(
    rows: list[dict[str, Any]], csv_path: Path, state: SearchState, say: Callable[[str], None]
) -> None:
    """:func:`_save` while the search is being stopped: a failure is a note."""
    try:
        _save(rows, csv_path, state)
    except SearchFailed as exc:
        say(f"Note: {exc}")


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
        uri = f"models:/{cfg.register_as}@{tracking.CHAMPION_ALIAS}"
        say(
            f"🏅 Champion: {uri} = version {version.version} (run {best['run_number']}, "
            f"{SELECTION_METRIC} {float(best[SELECTION_METRIC]):.4f})\n"
            "   Use it: tennis-lab predict RECORDING.npz   (make predict RECORDING=...)"
        )


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
    say = _sayer(out)
    _check_session(cfg)
    places = _places(cfg)
    defaults = tunable_defaults(places.notebook)
    with _sigterm_as_interrupt(), contextlib.ExitStack() as stack:
        if cfg.resume:
            state, executor, kernels = _prepare_resume(cfg, places, stack, say)
        else:
            state, executor, kernels = _prepare_new(cfg, defaults, places, stack)
        return _execute(
            cfg, state, executor, defaults, places.notebook, places.output, out, kernels
        )


# --------------------------------------------------------------------------- command line


def add_arguments(parser) -> None:
    """The search's command-line flags (shared by ``tennis-lab grid`` and ``python -m``)."""
    parser.add_argument(
        "--grid", default=None,
        help=f"a predefined grid ({', '.join(grids.available_grids())}) or a grid file path "
        "(default minimal; with --random: a ranges file, or a grid to draw combinations from; "
        "default the built-in ranges grids/random.yaml)",
    )  # fmt: skip
    parser.add_argument(
        "--random", action="store_true", help="random search over the ranges of grids/random.yaml"
    )
    parser.add_argument(
        "--n-samples", type=int, default=30, help="combinations to draw with --random (default 30)"
    )
    parser.add_argument(
        "--max-runs", type=int, default=None, help="run only the first N combinations"
    )
    parser.add_argument("--show-grid", action="store_true", help="print the grid and exit")
    parser.add_argument(
        "--strategy", choices=STRATEGIES, default=None,
        help="what to try: grid (every combination, the default), random (as --random), "
        "halving or hyperband (successive halving over epochs: weak trials stop early, the "
        "rest continue from their checkpoints), tpe (Optuna's TPE over the ranges file)",
    )  # fmt: skip
    parser.add_argument(
        "--n-trials", type=int, default=None,
        help=f"with --strategy tpe: trials in all (default {DEFAULT_N_TRIALS})",
    )  # fmt: skip
    parser.add_argument(
        "--min-epochs", type=int, default=None,
        help=f"halving/hyperband: the first rung's epochs (default {DEFAULT_MIN_EPOCHS})",
    )  # fmt: skip
    parser.add_argument(
        "--max-epochs", type=int, default=None,
        help="halving/hyperband: the last rung's epochs (default the notebook's epochs)",
    )  # fmt: skip
    parser.add_argument(
        "--eta", type=int, default=None,
        help="halving/hyperband: epochs grow x eta per rung and 1/eta go on "
        f"(default {DEFAULT_ETA})",
    )  # fmt: skip
    parser.add_argument(
        "--weak-group", type=float, default=None, metavar="F1",
        help="also warn of any held-out player (or group) scoring below this test macro F1 "
        "(always: one more than 0.10 below the other held-out players)",
    )  # fmt: skip
    parser.add_argument(
        "--finalists", type=int, default=None, metavar="K",
        help="after the search, re-run the top K configurations (with --repeats)",
    )  # fmt: skip
    parser.add_argument(
        "--repeats", type=int, default=None, metavar="N",
        help="... N times each, and report their means, 95%% intervals and which "
        "are statistically tied with the best",
    )  # fmt: skip
    parser.add_argument(
        "--repeat-over", choices=list(REPEAT_OVER), default="seeds",
        help="what the finalists' repeats vary: seeds (default: the training seed, on each "
        "finalist's own split and folds), splits (the split, same training seed) or both",
    )  # fmt: skip
    parser.add_argument(
        "--resume", nargs="?", const="latest", default=None, metavar="SEARCH_ID",
        help="continue an interrupted search (default: the latest), skipping completed runs; "
        "it keeps the search's grid, data, epochs, seed and tracking URI (a different value "
        "of one of those flags is an error)",
    )  # fmt: skip
    parser.add_argument(
        "--new-parent", action="store_true",
        help="with --resume: start a new MLflow parent run when the search's one is gone "
        "(e.g. mlflow.db deleted), keeping the completed rows of its results CSV",
    )  # fmt: skip
    parser.add_argument(
        "--data-dir", default=None, help="dataset folder (default: the demo dataset)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="seed for splits, training and sampling"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the maximum epochs of every run"
    )
    parser.add_argument(
        "--experiment", default=tracking.DEFAULT_EXPERIMENT, help="MLflow experiment name"
    )
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI (default: sqlite mlflow.db)"
    )
    parser.add_argument(
        "--output-dir", default=None, help="where the results CSV goes (default: output/)"
    )
    parser.add_argument(
        "--reports-dir", default=None, help="where executed notebooks go (default: reports/runs/)"
    )
    parser.add_argument(
        "--cache-dir", default=None, metavar="DIR",
        help="where prepared windows are cached and reused (default $TENNIS_LAB_CACHE, else "
        ".cache/ in the project)",
    )  # fmt: skip
    parser.add_argument(
        "--backend", default=None, choices=backends.BACKENDS,
        help="the Keras backend every run trains on (default $KERAS_BACKEND, else "
        f"{backends.DEFAULT_BACKEND})",
    )  # fmt: skip
    parser.add_argument(
        "--quiet", action="store_true", help="do not stream each run's training log"
    )
    parser.add_argument(
        "--no-overlap", action="store_true",
        help="one run at a time, start each run only once the previous one has ended (default: "
        "the next run loads its data while one trains, and trains while it is scored and "
        "logged: two kernels at once)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=None,
        help="run N combinations at once on a local Dask cluster of N worker processes",
    )  # fmt: skip
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="send the runs to an existing Dask cluster, e.g. tcp://10.0.0.5:8786",
    )  # fmt: skip
    register = parser.add_mutually_exclusive_group()
    register.add_argument(
        "--register-as", default=tracking.DEFAULT_MODEL_NAME, metavar="NAME",
        help="register the best run's model under this name with the alias champion "
        f"(default {tracking.DEFAULT_MODEL_NAME})",
    )  # fmt: skip
    register.add_argument(
        "--no-register", action="store_true", help="do not register the best model"
    )


def config_from_args(args) -> SearchConfig:
    """A :class:`SearchConfig` from parsed arguments."""
    return SearchConfig(
        grid=args.grid, random=args.random, n_samples=args.n_samples, max_runs=args.max_runs,
        resume=args.resume, data_dir=args.data_dir, seed=args.seed, epochs=args.epochs,
        experiment=args.experiment, tracking_uri=args.tracking_uri, output_dir=args.output_dir,
        reports_dir=args.reports_dir, stream_output=not args.quiet,
        overlap_runs=not getattr(args, "no_overlap", False),
        cache_dir=getattr(args, "cache_dir", None), backend=getattr(args, "backend", None),
        workers=args.workers, scheduler=args.scheduler,
        register_as=None if args.no_register else args.register_as,
        new_parent=getattr(args, "new_parent", False),
        strategy=getattr(args, "strategy", None), n_trials=getattr(args, "n_trials", None),
        min_epochs=getattr(args, "min_epochs", None), max_epochs=getattr(args, "max_epochs", None),
        eta=getattr(args, "eta", None), finalists=getattr(args, "finalists", None),
        repeats=getattr(args, "repeats", None),
        repeat_over=getattr(args, "repeat_over", "seeds"),
        weak_group=getattr(args, "weak_group", None),
    )  # fmt: skip


def show_grid(cfg: SearchConfig) -> str:
    """The preview of what ``cfg`` would run, after the same validation as a real search."""
    notebook = Path(cfg.notebook) if cfg.notebook else paths.notebooks_dir() / "train.ipynb"
    defaults = tunable_defaults(notebook)
    grid, combos, _ = plan(cfg, defaults)
    return grids.format_grid(grid, grids.Expansion(combos), defaults)


def run_command(args, out: TextIO | None = None) -> int:
    """Run ``tennis-lab grid`` from parsed arguments; return the exit status.

    0: done; 1: the search failed (every run failed, the CSV could not be written, the
    cluster went away); 2: bad input, nothing ran; 130: Ctrl-C; 143: SIGTERM.
    """
    cfg = config_from_args(args)
    try:
        if args.show_grid:
            print(show_grid(cfg), file=out or sys.stdout)
            return 0
        run_search(cfg, out)
    except TennisLabError as exc:  # 2: bad input, before any run; 1: the search failed
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    except SearchTerminated:
        return 143
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tennis_lab.search``: the same as ``tennis-lab grid``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tennis_lab.search", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    return run_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
