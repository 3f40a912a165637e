"""What happens to a finished run: its CSV row, its MLflow child's tags, the results CSV.

:func:`record_outcome` reads a run's result file and builds its row (COMPLETED, or
FAILED with its error: a failed run is data, not a crash), logs the executed notebook
and tags the child run; :func:`apply_verdict` writes the finalists' verdict into their
repeats' rows and MLflow; :func:`save_rows` writes the results CSV atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tennis_lab import tracking
from tennis_lab.evaluation import TIE_LEVEL, TIE_TEST, run_warnings
from tennis_lab.kernels import kernel_log_path
from tennis_lab.results import (
    STATUS_COMPLETED,
    STATUS_FAILED,
    result_row,
    write_csv_atomic,
)
from tennis_lab.search.config import SearchFailed, SearchState
from tennis_lab.search.console import completed_text, failed_text, warning_lines
from tennis_lab.search.execution import error_text
from tennis_lab.search.jobs import Job
from tennis_lab.search.ranking import finalist_verdict, repeat_rows


def _completed_row(
    state: SearchState, job: Job, seconds: float | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A completed run's result file and its CSV row (with ``--weak-group``'s warnings)."""
    result = json.loads(job.result_file.read_text(encoding="utf-8"))
    row = result_row(
        job.spec.trial, job.cid, job.full_params, STATUS_COMPLETED, job.notebook, result,
        seconds=seconds, warnings=run_warnings(result, state.settings.get("weak_group")),
    )  # fmt: skip
    row.update(job.extra)
    return result, row


def _tag_completed(
    state: SearchState, job: Job, result: Mapping[str, Any], row: Mapping[str, Any]
) -> None:
    """Log a completed run's executed notebook to its child run and tag it."""
    child = result["run_id"]
    tracking.log_artifact(child, job.notebook, "notebook", state.tracking_uri)
    warned = warning_lines(row)
    # the notebook tagged its own warnings; --weak-group may have added some
    added = warned != list(result.get("warnings") or [])
    tracking.set_tags(
        child,
        {"grid": state.grid, "status": STATUS_COMPLETED, **job.tags,
         **({"warnings": tracking.warnings_tag(warned)} if added else {})},
        state.tracking_uri,
    )  # fmt: skip


def _failed_row(state: SearchState, job: Job, text: str, seconds: float | None) -> dict[str, Any]:
    """Record a failed run in MLflow (with its executed notebook); its CSV row."""
    run_id = tracking.record_failed_run(
        state.experiment_id, state.parent_run_id, job.name, dict(job.params), text,
        tags={"search_id": state.search_id, "config_id": job.cid, "grid": state.grid,
              **job.tags},
        notebook=job.notebook if job.notebook.is_file() else None,
        tracking_uri=state.tracking_uri,
    )  # fmt: skip
    row = result_row(
        job.spec.trial, job.cid, job.full_params, STATUS_FAILED, job.notebook, None, text,
        run_id, seconds=seconds,
    )  # fmt: skip
    row.update(job.extra)
    return row


def record_outcome(
    state: SearchState, job: Job, error: BaseException | None, seconds: float | None,
    say: Callable[[str], None],
) -> dict[str, Any]:  # fmt: skip
    """The CSV row of a finished job; completes its MLflow child, or records it FAILED.

    Anything that goes wrong with a completed run's result (a missing file, a metric)
    makes it FAILED with that error. ``say`` prints the outcome's lines.
    """
    try:
        if error is not None:
            raise error
        result, row = _completed_row(state, job, seconds)
        _tag_completed(state, job, result, row)
        say(completed_text(job.label, result, row, job.spec.initial_epoch, job.spec.rung))
        return row
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a failed run is data, not a crash
        text = error_text(exc)
        row = _failed_row(state, job, text, seconds)
        say(failed_text(job.label, text, job.notebook, kernel_log_path(job.notebook)))
        return row


def save_rows(rows: list[dict[str, Any]], csv_path: Path, state: SearchState) -> None:
    """Write the results CSV; SearchFailed naming it and how to go on when it cannot be."""
    try:
        write_csv_atomic(rows, csv_path)
    except OSError as exc:
        raise SearchFailed(
            f"cannot write the results CSV {csv_path} ({exc.strerror or exc}): make "
            f"{csv_path.parent} writable (or free disk space), then resume: tennis-lab grid "
            f"--resume {state.search_id} (the runs completed so far are found again in MLflow)."
        ) from None


def save_rows_quietly(
    rows: list[dict[str, Any]], csv_path: Path, state: SearchState, say: Callable[[str], None]
) -> None:
    """:func:`save_rows` while the search is being stopped: a failure is a note."""
    try:
        save_rows(rows, csv_path, state)
    except SearchFailed as exc:
        say(f"Note: {exc}")


def _tag_repeats(
    mine: list[dict[str, Any]], rank: int, values: Mapping[str, Any], uri: str,
    say: Callable[[str], None],
) -> None:  # fmt: skip
    """Tag and log a finalist's verdict on each of its repeats' MLflow runs."""
    for row in mine:
        if not row.get("run_id"):
            continue
        try:
            tracking.set_tags(
                row["run_id"],
                {"finalist": rank, "tied_with_best": str(bool(values["tied_with_best"]))},
                uri,
            )
            tracking.log_metrics(
                row["run_id"],
                {k: values[k] for k in ("finalist_mean", "finalist_ci_low",
                                        "finalist_ci_high", "finalist_repeats")},
                uri,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the CSV has it
            say(f"Note: run {row['run_id']} could not get its verdict ({exc}).")


def apply_verdict(
    rows: list[dict[str, Any]], state: SearchState, say: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Write each finalist's mean, interval and tie into its repeats' rows and MLflow runs.

    Returns the verdict (:func:`finalist_verdict`; empty without finalists): when it is
    not empty, the rows changed (save them), and :func:`tag_parent_verdict` follows.
    """
    verdict = finalist_verdict(rows)
    for rank, entry in enumerate(verdict, 1):
        values = {
            "finalist": rank, "finalist_mean": entry["mean"], "finalist_ci_low": entry["low"],
            "finalist_ci_high": entry["high"], "finalist_repeats": len(entry["scores"]),
            "tied_with_best": bool(entry["tied"]),
        }  # fmt: skip
        mine = [r for r in repeat_rows(rows) if r["config_id"] == entry["config_id"]]
        for row in mine:
            row.update(values)
        _tag_repeats(mine, rank, values, state.tracking_uri, say)
    return verdict


def tag_parent_verdict(
    state: SearchState, verdict: list[dict[str, Any]], say: Callable[[str], None]
) -> None:
    """The finalists' means and intervals, and the verdict, on the parent run."""
    metrics: dict[str, float] = {}
    for rank, entry in enumerate(verdict, 1):
        metrics.update({
            f"finalist_{rank}_mean": entry["mean"], f"finalist_{rank}_ci_low": entry["low"],
            f"finalist_{rank}_ci_high": entry["high"],
        })  # fmt: skip
    tied = [e for e in verdict if e["tied"]]
    text = (
        f"tied: trials {', '.join(str(e['finalist_trial']) for e in tied)}"
        if len(tied) > 1
        else f"best: trial {verdict[0]['finalist_trial']}"
    )
    try:
        tracking.log_metrics(state.parent_run_id, metrics, state.tracking_uri)
        tracking.set_tags(
            state.parent_run_id,
            {"verdict": f"{text} ({TIE_TEST}, level {TIE_LEVEL})"},
            state.tracking_uri,
        )
    except Exception as exc:  # noqa: BLE001 - the CSV has it
        say(f"Note: the parent run could not get the verdict ({exc}).")
