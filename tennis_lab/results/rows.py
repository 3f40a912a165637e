"""The rows of the results CSV: building one row per run, writing and reading the file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tennis_lab.results.schema import (
    RUN_COLUMNS,
    STATUS_COMPLETED,
    STATUSES,
    WARNINGS_SEPARATOR,
    ResultsError,
)


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
