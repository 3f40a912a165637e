"""A search's rows so far: those of earlier sessions, of MLflow, and of this session's runs.

Rows are keyed by ``(trial, rung)``. On resume, a failed run of a phase decided up
front runs again; a run already FINISHED in MLflow (its row lost by a kill before the
CSV was written) is taken from there instead of running again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tennis_lab.results import (
    FIXED_STRATEGIES,
    PHASE_REPEAT,
    PHASE_SEARCH,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_PRUNED,
    read_rows,
    result_row,
    row_key,
)
from tennis_lab.search.config import SearchState
from tennis_lab.search.jobs import Job
from tennis_lab.search.parent import finished_in_mlflow
from tennis_lab.search.recorder import save_rows


class Ledger:
    """The rows of one search, keyed by ``(trial, rung)``, and its results CSV."""

    def __init__(self, state: SearchState) -> None:
        self.state = state
        self.csv_path = Path(state.csv_path)
        self.rows: dict[tuple[int, int], dict[str, Any]] = {}
        self.pruned_done: set[tuple[int, int]] = set()  # rows marked PRUNED
        self.mlflow_done: dict[str, dict[str, Any]] = {}  # run name -> a FINISHED child

    def fixed(self, phase: Any) -> bool:
        """Whether a phase's runs were decided up front (a failed one runs again on resume)."""
        return phase == PHASE_REPEAT or self.state.strategy in FIXED_STRATEGIES

    def load(self, resume: bool) -> None:
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
        if resume:
            self.mlflow_done = finished_in_mlflow(self.state)

    def known(self, job: Job) -> dict[str, Any] | None:
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
        self.save()
        return row

    def ordered(self) -> list[dict[str, Any]]:
        """The rows in ``(trial, rung)`` order."""
        return [self.rows[k] for k in sorted(self.rows)]

    def save(self) -> None:
        """Write the results CSV (:func:`tennis_lab.search.recorder.save_rows`)."""
        save_rows(self.ordered(), self.csv_path, self.state)
