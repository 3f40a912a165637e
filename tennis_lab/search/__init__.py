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

The modules, one concept each:

- :mod:`~tennis_lab.search.config`: :class:`SearchConfig`, :class:`SearchState`, the
  search's errors, the runner's own notebook parameters (``CONTROL_PARAMS``) and the
  notebook's defaults;
- :mod:`~tennis_lab.search.planning`: the strategy and its flags, the epoch budget,
  TPE's ranges, :func:`plan` (grid, random draws or TPE's sample, checked on the
  data), a run's parameters and expected cost, the strategy object from the registry;
- :mod:`~tennis_lab.search.store` and :mod:`~tennis_lab.search.lock`: the state file
  written under the search's lock, a new search id;
- :mod:`~tennis_lab.search.checks`: checks before work (paths, folders, the tracking
  store, the flags of a session and of a resume);
- :mod:`~tennis_lab.search.prepare`: a new search or a resume made ready to run;
- :mod:`~tennis_lab.search.parent`: the MLflow parent run, its children, its summary,
  the champion;
- :mod:`~tennis_lab.search.ranking`: the standings (ranks, ties), the finalists'
  verdict, the one winner (pure);
- :mod:`~tennis_lab.search.console`: every block of text the search prints;
- :mod:`~tennis_lab.search.jobs`: a trial spec made a job (names, files, parameters,
  checkpoints);
- :mod:`~tennis_lab.search.execution`: a trial's notebook executed, its output relayed;
- :mod:`~tennis_lab.search.recorder`: a finished run's row and MLflow tags, the CSV;
- :mod:`~tennis_lab.search.ledger`: the rows so far (earlier sessions, MLflow, this one);
- :mod:`~tennis_lab.search.runner`: the session that asks the strategy, runs and tells;
  :func:`run_search`;
- :mod:`~tennis_lab.search.cli`: the flags, ``--show-grid``, exit statuses, ``main``.
"""

from tennis_lab.kernels import kernel_log_path
from tennis_lab.results import RUN_COLUMNS, read_completed, write_csv_atomic
from tennis_lab.search.cli import add_arguments, config_from_args, main, run_command, show_grid
from tennis_lab.search.config import (
    CONTROL_PARAMS,
    DEFAULT_ETA,
    DEFAULT_MIN_EPOCHS,
    DEFAULT_N_TRIALS,
    REPEAT_OVER,
    STRATEGY_TITLES,
    TPE_PREFLIGHT,
    SearchConfig,
    SearchError,
    SearchFailed,
    SearchState,
    SearchTerminated,
    notebook_defaults,
    tunable_defaults,
)
from tennis_lab.search.console import (
    format_header,
    format_progress,
    format_summary,
    verdict_lines,
    verdict_summary,
    viewing_hint,
)
from tennis_lab.search.execution import execute_run
from tennis_lab.search.lock import SearchLock
from tennis_lab.search.parent import PARENT_METRICS, parent_summary, register_champion
from tennis_lab.search.planning import (
    epoch_budget,
    expected_cost,
    new_strategy,
    plan,
    run_parameters,
    strategy_of,
    tpe_ranges,
)
from tennis_lab.search.ranking import (
    Standings,
    best_finalist_row,
    best_row,
    finalist_verdict,
    ranked_rows,
    repeats_varied,
    standings,
)
from tennis_lab.search.runner import run_search

__all__ = [
    "CONTROL_PARAMS", "DEFAULT_ETA", "DEFAULT_MIN_EPOCHS", "DEFAULT_N_TRIALS",
    "PARENT_METRICS", "REPEAT_OVER", "RUN_COLUMNS", "STRATEGY_TITLES", "TPE_PREFLIGHT",
    "SearchConfig", "SearchError", "SearchFailed", "SearchLock", "SearchState",
    "SearchTerminated", "Standings", "add_arguments", "best_finalist_row", "best_row",
    "config_from_args", "epoch_budget", "execute_run", "expected_cost", "finalist_verdict",
    "format_header", "format_progress", "format_summary", "kernel_log_path", "main",
    "new_strategy", "notebook_defaults", "parent_summary", "plan", "ranked_rows",
    "read_completed", "register_champion", "repeats_varied", "run_command", "run_parameters",
    "run_search", "show_grid", "standings", "strategy_of", "tpe_ranges", "tunable_defaults",
    "verdict_lines", "verdict_summary", "viewing_hint", "write_csv_atomic",
]  # fmt: skip
