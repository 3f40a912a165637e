"""The search's command line: ``tennis-lab grid`` and ``python -m tennis_lab.search``.

Flags in groups (what to search, the strategy, the verdict, resume, places, how runs
execute, the champion), the :class:`SearchConfig` they make, ``--show-grid`` and the
exit statuses.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from tennis_lab import backends, grids, paths, tracking
from tennis_lab.errors import TennisLabError
from tennis_lab.results import STRATEGIES
from tennis_lab.search.config import (
    DEFAULT_ETA,
    DEFAULT_MIN_EPOCHS,
    DEFAULT_N_TRIALS,
    REPEAT_OVER,
    SearchConfig,
    SearchTerminated,
    tunable_defaults,
)
from tennis_lab.search.planning import plan
from tennis_lab.search.runner import run_search

DESCRIPTION = "The search runner: a strategy decides which runs to make, papermill makes them."


def _add_space_arguments(parser) -> None:
    """What to search: the grid or ranges, random sampling, how many runs, a preview."""
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


def _add_strategy_arguments(parser) -> None:
    """The strategy and its budget (TPE's trials, the adaptive strategies' epochs)."""
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


def _add_verdict_arguments(parser) -> None:
    """Warnings of weak players, and the finalists' repeats for a verdict."""
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


def _add_resume_arguments(parser) -> None:
    """Resuming an interrupted search."""
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


def _add_place_arguments(parser) -> None:
    """The data, seed, epochs, MLflow store, and the folders a search reads and writes."""
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


def _add_execution_arguments(parser) -> None:
    """How runs execute: streamed output, overlap, local workers or a Dask cluster."""
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


def _add_register_arguments(parser) -> None:
    """Registering the best run's model as the champion."""
    register = parser.add_mutually_exclusive_group()
    register.add_argument(
        "--register-as", default=tracking.DEFAULT_MODEL_NAME, metavar="NAME",
        help="register the best run's model under this name with the alias champion "
        f"(default {tracking.DEFAULT_MODEL_NAME})",
    )  # fmt: skip
    register.add_argument(
        "--no-register", action="store_true", help="do not register the best model"
    )


def add_arguments(parser) -> None:
    """The search's command-line flags (shared by ``tennis-lab grid`` and ``python -m``)."""
    _add_space_arguments(parser)
    _add_strategy_arguments(parser)
    _add_verdict_arguments(parser)
    _add_resume_arguments(parser)
    _add_place_arguments(parser)
    _add_execution_arguments(parser)
    _add_register_arguments(parser)


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

    parser = argparse.ArgumentParser(prog="python -m tennis_lab.search", description=DESCRIPTION)
    add_arguments(parser)
    return run_command(parser.parse_args(argv))
