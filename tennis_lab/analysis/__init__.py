"""The results table of a search: best and top-k runs, patterns, trade-offs, importance.

A results table has one row per run, as the search writes it to
``output/grid_search_results_<timestamp>.csv`` (see ``docs/grids.md``) or as
:func:`load_results_mlflow` rebuilds it from MLflow: bookkeeping columns
(:data:`BOOKKEEPING`), the parameters (lists as JSON text) and the metrics.
:mod:`tennis_lab.results` owns those names and reads the files.

Only :func:`load_results`, :func:`load_results_mlflow` and :func:`best_run_details`
do I/O (:mod:`~tennis_lab.analysis.loading`); everything else is a pure function of a
DataFrame. Runs that are not COMPLETED are counted (:func:`search_overview`) but
never ranked, and a completed run without a value for the metric in question is left
out of that ranking. A table where nothing completed gives empty results, never an
exception.

Model selection uses :data:`tennis_lab.results.SELECTION_METRIC`, the validation macro
F1 over annotated strokes (``val_stroke_macro_f1``); the test figures are only
reported. Results written before stroke-level scores existed have no such column: for
them every ranking falls back to the window-level ``val_macro_f1_score``
(:func:`selection_metric` says which one a table uses). A cross-validated run's scores
are means over its folds, with ``<metric>_std`` beside them.

A search run by a strategy (``strategy``: grid, random, halving, hyperband, tpe) adds
bookkeeping columns (:data:`SEARCH_COLUMNS`): ``trial``, ``rung`` (an adaptive search
runs a trial once per rung, continuing from the previous rung's checkpoint),
``epochs_budget``, ``initial_epoch`` and ``phase`` (``search``, or ``repeat`` for the
re-runs of the finalists with other seeds). Only a trial's verdict is ranked
(:func:`completed`): its last rung's row, when COMPLETED, of the search phase.

The modules, one concept each:

- :mod:`~tennis_lab.analysis.columns`: column roles, the ranking metric, the rows that rank.
- :mod:`~tennis_lab.analysis.standings`: the leaderboard, the winner, ties, warnings.
- :mod:`~tennis_lab.analysis.tables`: values, interactions, importance, Pareto front,
  class balance, overfitting, a run's groups and folds.
- :mod:`~tennis_lab.analysis.finalists`: the finalists' repeats and their verdict.
- :mod:`~tennis_lab.analysis.overview`: the state of a search in numbers.
- :mod:`~tennis_lab.analysis.prose`: all of it in plain sentences (not escaped).
- :mod:`~tennis_lab.analysis.loading`: the results readers with the project's defaults.

The report's HTML and Markdown (escaped) are :mod:`tennis_lab.report.markup` and
:mod:`tennis_lab.report.header`.
"""

from __future__ import annotations

from tennis_lab.analysis.columns import (
    AnalysisError,
    class_names,
    completed,
    cross_validated,
    group_word,
    metric_columns,
    parameter_columns,
    repeat_rows,
    selection_metric,
    std_column,
    varied_parameters,
    verdict_rows,
)
from tennis_lab.analysis.finalists import finalists_table
from tennis_lab.analysis.loading import best_run_details, load_results, load_results_mlflow
from tennis_lab.analysis.overview import search_overview
from tennis_lab.analysis.prose import (
    METRIC_WORDS,
    STRATEGY_WORDS,
    limit_lines,
    listed,
    new_group_text,
    pattern_sentences,
    plural,
    score_text,
    strategy_summary,
    strategy_words,
    tie_sentence,
    value_text,
    verdict_sentence,
    winner_sentence,
)
from tennis_lab.analysis.standings import (
    has_verdict,
    leaderboard,
    tied_with_best,
    undecided_runs,
    warned_runs,
    warning_lines,
    warnings_table,
    winner_row,
    winner_warnings,
)
from tennis_lab.analysis.tables import (
    class_balance,
    folds_table,
    format_scores,
    groups_table,
    interaction_table,
    overfitting,
    parameter_importance,
    pareto_front,
    value_table,
)
from tennis_lab.evaluation import (
    BOOTSTRAP_TEST,
    CEILING,
    INTERVAL_LEVEL,
    TIE_LEVEL,
    TIE_TEST,
    tie_method,
    verdict,
)
from tennis_lab.results import (
    ADAPTIVE_STRATEGIES,
    BOOKKEEPING,
    FINALIST_COLUMNS,
    LEGACY_SELECTION_METRIC,
    NEW_GROUP_METRIC,
    PHASE_REPEAT,
    RUN_COLUMNS,
    SEARCH_COLUMNS,
    SELECTION_METRIC,
    SEPARATE_FIX,
    STANDING_COLUMNS,
    STATUS_COMPLETED,
    STATUS_PRUNED,
    STATUSES,
    STD_SUFFIX,
    TEST_STROKE_METRIC,
    TIMING_METRICS,
    VAL_WINDOW_METRIC,
    VERDICT_COLUMNS,
    WARNINGS_SEPARATOR,
    WORST_GROUP_METRIC,
)

__all__ = [
    "ADAPTIVE_STRATEGIES", "BOOKKEEPING", "BOOTSTRAP_TEST", "CEILING", "FINALIST_COLUMNS",
    "INTERVAL_LEVEL", "LEGACY_SELECTION_METRIC", "METRIC_WORDS", "NEW_GROUP_METRIC",
    "PHASE_REPEAT", "RUN_COLUMNS", "SEARCH_COLUMNS", "SELECTION_METRIC", "SEPARATE_FIX",
    "STANDING_COLUMNS", "STATUSES", "STATUS_COMPLETED", "STATUS_PRUNED", "STD_SUFFIX",
    "STRATEGY_WORDS", "TEST_STROKE_METRIC", "TIE_LEVEL", "TIE_TEST", "TIMING_METRICS",
    "VAL_WINDOW_METRIC", "VERDICT_COLUMNS", "WARNINGS_SEPARATOR", "WORST_GROUP_METRIC",
    "AnalysisError", "best_run_details", "class_balance", "class_names", "completed",
    "cross_validated", "finalists_table", "folds_table", "format_scores", "group_word",
    "groups_table", "has_verdict", "interaction_table", "leaderboard", "limit_lines",
    "listed", "load_results", "load_results_mlflow", "metric_columns", "new_group_text",
    "overfitting", "parameter_columns", "parameter_importance", "pareto_front",
    "pattern_sentences", "plural", "repeat_rows", "score_text", "search_overview",
    "selection_metric", "std_column", "strategy_summary", "strategy_words", "tie_method",
    "tie_sentence", "tied_with_best", "undecided_runs", "value_table", "value_text",
    "varied_parameters", "verdict", "verdict_rows", "verdict_sentence", "warned_runs",
    "warning_lines", "warnings_table", "winner_row", "winner_sentence", "winner_warnings",
]  # fmt: skip
