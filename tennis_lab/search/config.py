"""A search's configuration and state: what to search, where, and what a resume needs.

Owns :class:`SearchConfig` (every flag of ``tennis-lab grid``), :class:`SearchState`
(the state file's content), the search's errors, the notebook parameters the runner
sets itself (:data:`CONTROL_PARAMS`) and the notebook's defaults.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tennis_lab import params, tracking
from tennis_lab.errors import TennisLabError

# The notebook parameters the runner sets for every run (the contract's runner-owned ones).
CONTROL_PARAMS = frozenset(params.names(owner="runner"))

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
    settings: dict[str, Any] = field(default_factory=dict)  # see checks.SETTINGS; resume keeps them
    strategy: str = "grid"
    # halving, hyperband, tpe: Strategy.state(), saved after every ask and tell
    strategy_state: dict[str, Any] | None = None
    # the finalists' repeats (TrialSpec.to_dict()), once the search phase has ended
    repeat_specs: list[dict[str, Any]] | None = None


def absolute(path: str | os.PathLike) -> Path:
    """``path`` from the current working directory (a run's kernel runs in another)."""
    return Path(path).expanduser().resolve()


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
