"""The results schema: trial statuses, strategies, phases, metric and column names.

A trial's status is one of :data:`STATUSES`, the same word in the results CSV, the
MLflow tags and the analysis:

    RUNNING     started, no outcome yet
    COMPLETED   trained and evaluated; its metrics are in its row
    FAILED      its notebook raised or its kernel died; the row has the error
    PRUNED      stopped early by an adaptive strategy (its row has the scores so far)
    KILLED      interrupted (Ctrl-C, SIGTERM, a lost worker); resume runs it again
"""

from __future__ import annotations

import re

from tennis_lab.errors import TennisLabError

# Model selection: macro F1 over the validation split's annotated strokes (comparable
# across windowing). The window-level figure is kept beside it as val_macro_f1_score.
SELECTION_METRIC = "val_stroke_macro_f1"
# Metrics that add up over folds (a cross-validated run costs every fold's training).
SUMMED_METRICS = ("training_time_seconds", "training_time_minutes")
# Metrics that measure time: the same seed gives the same metrics but these.
TIMING_METRICS = (
    *SUMMED_METRICS, "first_epoch_seconds", "epoch_seconds", "inference_ms_per_window",
)  # fmt: skip
# Results written before stroke-level scores rank by the window-level figure.
VAL_WINDOW_METRIC = "val_macro_f1_score"  # validation macro F1 over windows
LEGACY_SELECTION_METRIC = VAL_WINDOW_METRIC
STD_SUFFIX = "_std"  # <metric>_std: the sample std over a cross-validated run's folds
TEST_STROKE_METRIC = "test_stroke_macro_f1"
WORST_GROUP_METRIC = "worst_group_macro_f1"
# The score to expect on a new group (player): the mean over held-out groups (grouped
# cross-validation), with its _min, _max and the number of groups, new_groups.
NEW_GROUP_METRIC = "new_group_macro_f1"
# The metrics a run writes under their own names (classes and averages follow patterns).
PLAIN_METRICS = frozenset({
    SELECTION_METRIC, TEST_STROKE_METRIC, WORST_GROUP_METRIC, "val_stroke_accuracy",
    "test_stroke_accuracy", "val_strokes", "test_strokes", "test_strokes_unreached",
    "val_macro_f1_score", "train_macro_f1_score", "test_accuracy", "test_loss",
    "macro_f1_score", "epochs_trained", "epochs_trained_this_run", *TIMING_METRICS,
    "trainable_params",
    # detected strokes on whole test videos (runs that keep idle windows)
    "test_event_precision", "test_event_recall", "test_event_f1", "test_event_macro_f1",
    # the validation split's size; with grouped cross-validation, the score on a new group
    "val_groups", NEW_GROUP_METRIC, f"{NEW_GROUP_METRIC}_min", f"{NEW_GROUP_METRIC}_max",
    "new_groups",
})  # fmt: skip
# Macro and weighted averages, and per-class scores: ``<class>_recall`` and so on.
AVERAGE_METRIC = re.compile(r"^(macro|weighted)_avg_(precision|recall|f1_score|support)$")
CLASS_METRIC = re.compile(r"^(.+)_(precision|recall|f1_score|support)$")

STATUS_RUNNING = "RUNNING"
STATUS_COMPLETED = "COMPLETED"
STATUS_FAILED = "FAILED"
STATUS_PRUNED = "PRUNED"
STATUS_KILLED = "KILLED"
STATUSES = (STATUS_RUNNING, STATUS_COMPLETED, STATUS_FAILED, STATUS_PRUNED, STATUS_KILLED)

STRATEGIES = ("grid", "random", "halving", "hyperband", "tpe")
FIXED_STRATEGIES = ("grid", "random")  # a list of combinations decided before any run
ADAPTIVE_STRATEGIES = ("halving", "hyperband")  # budget epochs rung by rung; prune

# What separates runs the data cannot tell apart (the console and the report say it).
SEPARATE_FIX = (
    "to separate them: cv_folds: loo (or k) in the grid's fixed section, "
    "--finalists K --repeats N, or more players"
)
# On repeat rows only: the finalist's verdict over its repeats (the same on each).
FINALIST_COLUMNS = (
    "finalist", "finalist_trial", "finalist_mean", "finalist_ci_low", "finalist_ci_high",
    "finalist_repeats", "tied_with_best",
)  # fmt: skip

PHASE_SEARCH = "search"  # a run the strategy asked for
PHASE_REPEAT = "repeat"  # a finalist re-run with another seed (--finalists, --repeats)

# A run's warning lines (weak groups, gaps, thin splits) in one CSV cell or MLflow tag.
WARNINGS_SEPARATOR = " | "
# The standing of each configuration, on the row that stands for it (see
# tennis_lab.search.standings): rank (equal scores, equal ranks), the one winner (the
# champion), and whether the validation strokes separate it from the best.
STANDING_COLUMNS = (
    "rank", "winner", "tied_with_best", "diff_to_best", "diff_ci_low", "diff_ci_high",
)  # fmt: skip

# The results CSV starts with these columns; every parameter and metric follows.
# One row per run: an adaptive search runs a trial once per rung (same run_number
# and trial, rung 0, 1, ...); ``epochs_budget`` is the epoch that run trained up to.
RUN_COLUMNS = (
    "run_number", "run_id", "config_id", "status", "error", "rank", "winner",
    "strategy", "trial", "rung", "epochs_budget", "phase",
    "test_accuracy", "macro_f1_score", SELECTION_METRIC, "test_stroke_macro_f1",
    "worst_group_macro_f1", "val_macro_f1_score", "train_macro_f1_score",
    "training_time_minutes",
)  # fmt: skip
# Read as text whatever they hold (an id of digits stays an id).
TEXT_COLUMNS = ("run_id", "config_id", "error")
# What a strategy's runner writes beside a run's parameters: which trial and rung it
# is, its epoch budget, and whether it is a search run or a finalist's repeat.
SEARCH_COLUMNS = ("strategy", "trial", "rung", "epochs_budget", "initial_epoch", "phase",
                  "checkpoint_path")  # fmt: skip
# The search's verdict on each run (rank, winner, ties, the difference to the best) and
# its warnings: neither parameters nor metrics.
VERDICT_COLUMNS = (*STANDING_COLUMNS, "warnings")
# Every column that is neither a parameter nor a metric.
BOOKKEEPING = tuple(dict.fromkeys((
    "run_number", "run_id", "config_id", "status", "error", "notebook", "run_seconds",
    *SEARCH_COLUMNS, *FINALIST_COLUMNS, *VERDICT_COLUMNS,
)))  # fmt: skip
# What a run resolved (split_by=auto -> player, session or video): a fact of the run,
# neither a parameter one chose nor a score.
FACTS = ("split_by_resolved",)


class ResultsError(TennisLabError, RuntimeError):
    """A results file that cannot be read; the message names it and the fix."""


class TableError(TennisLabError, ValueError):
    """Results that cannot be found or read, or a column that is not in the table."""
