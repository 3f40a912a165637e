"""The results of a search: its schema, its names and files, and their readers.

One place for what the runner writes and what the analysis reads, so that neither
imports the other: ``search -> results`` and ``analysis -> results``. Nothing here
runs a trial, and nothing here imports more of the package than its errors.

- :mod:`~tennis_lab.results.schema`: trial statuses, strategies, phases, metric and
  column names, the errors.
- :mod:`~tennis_lab.results.names`: MLflow run names, run notebooks (with their rung)
  and the results CSV's name.
- :mod:`~tennis_lab.results.values`: one ordering and one label of parameter values.
- :mod:`~tennis_lab.results.rows`: one CSV row per run; writing and reading the rows.
- :mod:`~tennis_lab.results.state`: the search state file's name and place, read.
- :mod:`~tennis_lab.results.table`: the results CSV as a table, found by path, search
  id or as the latest search.
- :mod:`~tennis_lab.results.mlflow_runs`: a search's MLflow runs as a results table,
  and one run's details (MLflow imported on first use).
"""

from __future__ import annotations

from tennis_lab.results.mlflow_runs import read_results_mlflow, run_details, runs_frame
from tennis_lab.results.names import (
    DEFAULT_EXPERIMENT,
    PARAM_ABBREVIATIONS,
    RUN_NAME_LIMIT,
    RUNS_FOLDER,
    notebooks_folder,
    parent_run_name,
    results_csv_name,
    row_key,
    run_name,
    short_value,
    trial_file,
)
from tennis_lab.results.rows import read_completed, read_rows, result_row, write_csv_atomic
from tennis_lab.results.schema import (
    ADAPTIVE_STRATEGIES,
    AVERAGE_METRIC,
    BOOKKEEPING,
    CLASS_METRIC,
    FACTS,
    FINALIST_COLUMNS,
    FIXED_STRATEGIES,
    LEGACY_SELECTION_METRIC,
    NEW_GROUP_METRIC,
    PHASE_REPEAT,
    PHASE_SEARCH,
    PLAIN_METRICS,
    RUN_COLUMNS,
    SEARCH_COLUMNS,
    SELECTION_METRIC,
    SEPARATE_FIX,
    STANDING_COLUMNS,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_KILLED,
    STATUS_PRUNED,
    STATUS_RUNNING,
    STATUSES,
    STD_SUFFIX,
    STRATEGIES,
    SUMMED_METRICS,
    TEST_STROKE_METRIC,
    TEXT_COLUMNS,
    TIMING_METRICS,
    VAL_WINDOW_METRIC,
    VERDICT_COLUMNS,
    WARNINGS_SEPARATOR,
    WORST_GROUP_METRIC,
    ResultsError,
    TableError,
)
from tennis_lab.results.state import (
    LOCK_SUFFIX,
    STATE_SUFFIX,
    STATES_FOLDER,
    STUDY_SUFFIX,
    csv_path,
    latest_search,
    read_state,
    search_file,
    state_csv,
    state_data,
    state_files,
    state_for_csv,
    state_path,
    states_dir,
)
from tennis_lab.results.table import HOW_TO_RUN, find_results, read_csv_table, read_results
from tennis_lab.results.values import (
    finite_number,
    ordered_values,
    parse_value,
    value_key,
    value_label,
)

__all__ = [
    "ADAPTIVE_STRATEGIES", "AVERAGE_METRIC", "BOOKKEEPING", "CLASS_METRIC",
    "DEFAULT_EXPERIMENT", "FACTS", "FINALIST_COLUMNS", "FIXED_STRATEGIES", "HOW_TO_RUN",
    "LEGACY_SELECTION_METRIC", "LOCK_SUFFIX", "NEW_GROUP_METRIC", "PARAM_ABBREVIATIONS",
    "PHASE_REPEAT", "PHASE_SEARCH", "PLAIN_METRICS", "RUNS_FOLDER", "RUN_COLUMNS",
    "RUN_NAME_LIMIT", "ResultsError", "SEARCH_COLUMNS", "SELECTION_METRIC", "SEPARATE_FIX",
    "STANDING_COLUMNS", "STATES_FOLDER", "STATE_SUFFIX", "STATUSES", "STATUS_COMPLETED",
    "STATUS_FAILED", "STATUS_KILLED", "STATUS_PRUNED", "STATUS_RUNNING", "STD_SUFFIX",
    "STRATEGIES", "STUDY_SUFFIX", "SUMMED_METRICS", "TEST_STROKE_METRIC", "TEXT_COLUMNS",
    "TIMING_METRICS", "TableError", "VAL_WINDOW_METRIC", "VERDICT_COLUMNS",
    "WARNINGS_SEPARATOR", "WORST_GROUP_METRIC", "csv_path", "find_results", "finite_number",
    "latest_search", "notebooks_folder", "ordered_values", "parent_run_name", "parse_value",
    "read_completed", "read_csv_table", "read_results", "read_results_mlflow", "read_rows",
    "read_state", "result_row", "results_csv_name", "row_key", "run_details", "run_name",
    "runs_frame", "search_file", "short_value", "state_csv", "state_data", "state_files",
    "state_for_csv", "state_path", "states_dir", "trial_file", "value_key", "value_label",
    "write_csv_atomic",
]  # fmt: skip
