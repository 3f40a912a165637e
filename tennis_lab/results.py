"""The results of a search: trial statuses, names, the CSV's columns and its rows.

One place for what the runner writes and what the analysis reads, so that neither
imports the other: ``search -> results`` and ``analysis -> results``. Nothing here
runs a trial.

A trial is one run of the training notebook for one combination of parameters. Its
status is one of :data:`STATUSES`, the same word in the results CSV, the MLflow tags
and the analysis:

    RUNNING     started, no outcome yet
    COMPLETED   trained and evaluated; its metrics are in its row
    FAILED      its notebook raised or its kernel died; the row has the error
    PRUNED      stopped early by an adaptive strategy (its row has the scores so far)
    KILLED      interrupted (Ctrl-C, SIGTERM, a lost worker); resume runs it again
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

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


class ResultsError(TennisLabError, RuntimeError):
    """A results file that cannot be read; the message names it and the fix."""


# --------------------------------------------------------------------------- names


# Short names of parameters in run names (others keep their own).
PARAM_ABBREVIATIONS = {
    "lstm_layers": "lstm", "dense_units": "dense", "dropout_rates": "drop",
    "learning_rate": "lr", "batch_size": "bs", "window_size": "win", "overlap": "ov",
    "use_batch_norm": "bn", "use_bidirectional": "bi", "class_weight": "cw",
    "augment_mirror": "aug", "normalization": "norm", "early_stopping_patience": "patience",
}  # fmt: skip
RUN_NAME_LIMIT = 60  # characters of parameters in a run name; the MLflow UI cuts long names


def short_value(value: Any) -> str:
    """A parameter value in a few characters: ``[128, 64]`` as ``128-64``, 0.001 as ``1e-3``.

    Lists given as JSON text (as a CSV holds them) are read first.
    """
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, list | tuple):
        return "-".join(short_value(v) for v in value)
    if isinstance(value, float) and value and abs(value) < 0.01:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return str(value)


def run_name(
    grid: str, number: int, rung: int = 0, params: Mapping[str, Any] | None = None,
    shown: Sequence[str] = (),
) -> str:  # fmt: skip
    """The MLflow name of a search's trial ``number`` at ``rung``.

    Distinct from its first characters, which is what the MLflow UI shows:
    ``r007 lstm128-64 lr1e-3 · grid_search_small``; a later rung adds it
    (``r007.1 ...``). ``shown`` names the parameters to put in (those the search
    varies, in that order), each abbreviated (:data:`PARAM_ABBREVIATIONS`); the
    search's grid ends the name, so ``tags.mlflow.runName LIKE '%grid_search%'``
    still finds every run. The full search id is the run's ``search_id`` tag.
    """
    head = f"r{number:03d}" + (f".{rung}" if rung else "")
    parts = [
        f"{PARAM_ABBREVIATIONS.get(k, k)}{short_value(params[k])}"
        for k in shown if params and k in params
    ]  # fmt: skip
    text = " ".join(parts)
    if len(text) > RUN_NAME_LIMIT:
        text = text[: RUN_NAME_LIMIT - 1] + "…"
    return f"{head} {text} · grid_search_{grid}" if text else f"{head} · grid_search_{grid}"


def parent_run_name(grid: str, search_id: str) -> str:
    """The MLflow name of a search's parent run."""
    return f"grid_search_{grid}_{search_id}"


def trial_file(
    folder: str | os.PathLike, number: int, config_id: str, suffix: str, rung: int = 0
) -> Path:
    """A trial's file beside its executed notebook: ``<folder>/007-<config id><suffix>``.

    A later rung adds it: ``<folder>/007-<config id>-rung1<suffix>``.
    """
    return Path(folder) / f"{number:03d}-{config_id}{f'-rung{rung}' if rung else ''}{suffix}"


def row_key(row: Mapping[str, Any]) -> tuple[int, int]:
    """``(trial, rung)`` of a results row: what identifies a run within its search.

    Rows of older searches (no ``trial`` / ``rung`` column) are ``(run_number, 0)``.
    """

    def whole(value: Any, default: int) -> int:
        if value is None or (isinstance(value, float) and value != value):
            return default
        return int(value)

    number = whole(row.get("run_number"), 0)
    return whole(row.get("trial"), number), whole(row.get("rung"), 0)


def results_csv_name(stamp: str) -> str:
    """The results CSV of a search started at ``stamp``."""
    return f"grid_search_results_{stamp}.csv"


# --------------------------------------------------------------------------- values
# One ordering and one label of parameter values for every table and figure.


def parse_value(value: Any) -> Any:
    """A parameter value as data: JSON text parsed (``"[128, 64]"``), NaN and None as None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        value = value.item()  # a NumPy scalar
    if isinstance(value, tuple) or hasattr(value, "tolist"):
        value = list(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def value_key(value: Any) -> tuple:
    """Sort key of a parameter value: numbers (and booleans) by size, then lists (shorter
    first, then element by element: ``[64]`` before ``[32, 16]``), then text; missing last."""
    parsed = parse_value(value)
    if parsed is None:
        return (3,)
    if isinstance(parsed, bool | int | float):
        return (0, float(parsed))
    if isinstance(parsed, list):
        return (1, len(parsed), tuple(value_key(item) for item in parsed))
    return (2, str(parsed))


def value_label(value: Any) -> str:
    """The label of a parameter value: ``45`` for 45.0, ``[128, 64]``, ``n/a`` when missing."""
    parsed = parse_value(value)
    if parsed is None:
        return "n/a"
    if isinstance(parsed, float) and parsed.is_integer():
        return str(int(parsed))
    if isinstance(parsed, list | dict):
        return json.dumps(parsed, sort_keys=True)
    return str(parsed)


def ordered_values(values: Any) -> list:
    """``values`` in the one display order of tables and figures (:func:`value_key`)."""
    return sorted(values, key=lambda v: (value_key(v), value_label(v)))


# --------------------------------------------------------------------------- rows


def finite_number(value: Any) -> float | None:
    """A results cell as a finite float; None when it is empty, text or not finite."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list) else value


def result_row(
    number: int, cid: str, params: Mapping[str, Any], status: str, notebook: Path,
    result: Mapping[str, Any] | None = None, error: str = "", run_id: str | None = None,
    seconds: float | None = None, warnings: Sequence[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One CSV row: ids, status, error, every parameter, every metric, the notebook path.

    Parameters
    ----------
    number : int
        The trial's number in its search (1-based).
    cid : str
        Its config id.
    params : mapping
        Its parameters (lists are written as JSON text).
    status : str
        One of :data:`STATUSES`.
    notebook : path
        Its executed notebook.
    result : mapping, optional
        What the notebook wrote (:func:`tennis_lab.training.write_result`).
    error, run_id, seconds
        The error text of a failed trial, its MLflow run id, its wall time.
    warnings : list of str, optional
        The run's warning lines; by default those its notebook wrote (the search adds
        ``--weak-group``'s with :func:`tennis_lab.evaluation.run_warnings`).
    """
    if status not in STATUSES:
        raise ValueError(f"status must be one of {list(STATUSES)}; got {status!r}.")
    metrics = dict((result or {}).get("metrics", {}))
    row: dict[str, Any] = {
        "run_number": number,
        "run_id": run_id or (result or {}).get("run_id") or "",
        "config_id": cid,
        "status": status,
        "error": error,
    }
    if metrics:
        row["macro_f1_score"] = metrics.get("macro_avg_f1_score")
    row.update({k: _cell(v) for k, v in params.items()})
    # A metric never hides a parameter of the same name (cv_folds "loo" stays "loo";
    # its metric is the number of folds).
    row.update({k: v for k, v in metrics.items() if k not in params})
    if result is not None:
        lines = (result.get("warnings") or []) if warnings is None else warnings
        row["warnings"] = WARNINGS_SEPARATOR.join(lines)
    data = (result or {}).get("data") or {}
    if data.get("split_by"):  # what a group is, as the run resolved split_by=auto
        row["split_by_resolved"] = data["split_by"]
    row["notebook"] = str(notebook)
    if seconds is not None:
        row["run_seconds"] = round(seconds, 1)
    return row


# --------------------------------------------------------------------------- the CSV


def write_csv_atomic(rows: list[dict[str, Any]], path: Path) -> None:
    """Write ``rows`` to ``path`` via a temporary file and a rename: never half-written.

    No rows: the header of :data:`RUN_COLUMNS` alone. The file is readable by others
    (mode 0644 less the umask), not the temporary file's 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(RUN_COLUMNS))
    if not frame.empty:
        first = [c for c in RUN_COLUMNS if c in frame.columns]
        frame = frame[first + [c for c in frame.columns if c not in first]]
        order = ["run_number"] + (["rung"] if "rung" in frame.columns else [])
        frame = frame.sort_values(order, kind="stable")
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".csv.tmp")
    os.close(fd)
    try:
        frame.to_csv(tmp, index=False)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of a results CSV; none for a missing, empty or header-only file.

    Raises
    ------
    ResultsError
        When the file cannot be parsed, naming it and the fix.
    """
    if not path.is_file():
        return []
    try:
        table = pd.read_csv(path, dtype={"config_id": str, "run_id": str, "error": str})
    except pd.errors.EmptyDataError:  # written empty by an older version
        return []
    except (OSError, ValueError) as exc:
        raise ResultsError(
            f"cannot read the results CSV {path} ({exc}); move it away and resume: the "
            "completed runs are found again in MLflow."
        ) from None
    return table.to_dict("records") if "status" in table.columns else []


def read_completed(path: Path) -> dict[str, dict[str, Any]]:
    """The COMPLETED rows of a results CSV by config id (see :func:`read_rows`)."""
    return {str(r["config_id"]): r for r in read_rows(path) if r["status"] == STATUS_COMPLETED}
