"""The search's MLflow parent run: start, reopen, its children, its summary, the champion.

A search is one MLflow parent run; each trial is a child run of it. This module
starts and reopens the parent, reads and ends its children, tags it with the
search's summary when it ends, and registers the best run's model as the champion.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from tennis_lab import tracking
from tennis_lab.results import (
    SELECTION_METRIC,
    STATUS_COMPLETED,
    STATUS_FAILED,
    STATUS_KILLED,
    STATUS_PRUNED,
    finite_number,
    parent_run_name,
    read_completed,
)
from tennis_lab.search.checks import experiment
from tennis_lab.search.config import SearchConfig, SearchError, SearchState
from tennis_lab.search.console import run_names, warning_lines
from tennis_lab.search.ranking import Standings, best_row, standings
from tennis_lab.search.store import write_state

# The parent run's status tag (the children's vocabulary) for its MLflow run status.
PARENT_STATUS = {"FINISHED": STATUS_COMPLETED, "FAILED": STATUS_FAILED, "KILLED": STATUS_KILLED}
# The best run's figures the parent run shows as best_<name>.
PARENT_METRICS = (
    SELECTION_METRIC, "test_stroke_macro_f1", "worst_group_macro_f1", "macro_avg_f1_score",
    "test_accuracy", "new_group_macro_f1", "new_group_macro_f1_min", "new_group_macro_f1_max",
)  # fmt: skip


def start_parent(state: SearchState) -> str:
    """Start the parent run of a search; its id."""
    return tracking.start_parent_run(
        state.experiment_id,
        parent_run_name(state.grid, state.search_id),
        tags={
            "search_id": state.search_id,
            "grid": state.grid,
            "status": "RUNNING",
            "combinations": str(len(state.combinations)),
            "strategy": state.strategy,
        },  # fmt: skip
        params={
            "grid": state.grid,
            "combinations": len(state.combinations),
            "strategy": state.strategy,
            **state.overrides,
            **{
                k: state.settings.get(k)
                for k in ("n_trials", "min_epochs", "max_epochs", "eta", "finalists", "repeats")
                if state.settings.get(k) is not None
            },
        },  # fmt: skip
        tracking_uri=state.tracking_uri,
    )


def missing_parent(state: SearchState) -> str:
    """Why a resumed search has no parent run, and the fix."""
    db = tracking.sqlite_path(state.tracking_uri)
    what = (
        f"its MLflow database {db} does not exist (deleted or moved?)"
        if db is not None and not db.is_file()
        else f"its parent run {state.parent_run_id} is not in the MLflow store "
        f"{state.tracking_uri} (deleted?)"
    )
    done = len(read_completed(Path(state.csv_path)))
    return (
        f"cannot resume search {state.search_id}: {what}. Put it back, or resume with a new "
        f"parent run: tennis-lab grid --resume {state.search_id} --new-parent (it keeps the "
        f"{done} completed row(s) of {state.csv_path} and runs the others)."
    )


def reopen_parent(
    cfg: SearchConfig, state: SearchState, output_dir: Path, say: Callable[[str], None]
) -> None:
    """Set the parent run RUNNING again; with --new-parent, start one when it is gone."""
    found = tracking.run_status(state.parent_run_id, state.tracking_uri) is not None
    if found and cfg.new_parent:
        raise SearchError(
            f"--new-parent: the parent run {state.parent_run_id} of search {state.search_id} "
            f"is still in {state.tracking_uri}; resume without --new-parent."
        )
    if found:
        tracking.reopen_run(state.parent_run_id, tracking_uri=state.tracking_uri)
        return
    if not cfg.new_parent:
        raise SearchError(missing_parent(state))
    old = state.parent_run_id
    state.experiment_id = experiment(state.tracking_uri, state.experiment)
    state.parent_run_id = start_parent(state)
    write_state(state, output_dir)
    say(
        f"Note: new parent run {state.parent_run_id} for search {state.search_id} (the old "
        f"one, {old}, is gone); the completed rows of {state.csv_path} are kept."
    )


def children(state: SearchState) -> pd.DataFrame:
    """The child runs of the search's parent run."""
    return tracking.runs_dataframe(
        state.experiment, tracking_uri=state.tracking_uri, parent_run_id=state.parent_run_id
    )


def kill_running(runs: pd.DataFrame, state: SearchState) -> None:
    """Mark the children left RUNNING (by a run that was stopped) KILLED."""
    for run_id in runs.loc[runs["status"] == "RUNNING", "run_id"]:
        tracking.end_run(run_id, "KILLED", tracking_uri=state.tracking_uri)


def finished_in_mlflow(state: SearchState) -> dict[str, dict[str, Any]]:
    """Run name -> {run_id, config_id, metrics} of FINISHED children.

    Children left RUNNING (a search stopped mid-run) are marked KILLED first.
    """
    runs = children(state)
    kill_running(runs, state)
    done: dict[str, dict[str, Any]] = {}
    for _, row in runs.iterrows():
        name = row.get("run_name")
        if row["status"] != "FINISHED" or not isinstance(name, str) or name in done:
            continue
        metrics = {
            k.split(".", 1)[1]: v
            for k, v in row.items()
            if k.startswith("metrics.")
            and not k.split(".", 1)[1].startswith(tracking.SERIES_PREFIXES)
            and not pd.isna(v)
        }
        cid = row.get("tags.config_id")
        done[name] = {
            "run_id": row["run_id"],
            "config_id": cid if isinstance(cid, str) else None,
            "metrics": metrics,
        }
    return done


def parent_summary(
    rows: list[dict[str, Any]], status: str, stand: Standings | None = None
) -> tuple[dict, dict]:
    """The parent run's tags and metrics at the end of a search (best run, counts)."""
    counts = Counter(r["status"] for r in rows)
    tags: dict[str, Any] = {"status": PARENT_STATUS.get(status, status)}
    metrics: dict[str, float] = {
        f"runs_{name.lower()}": float(counts.get(name, 0))
        for name in (STATUS_COMPLETED, STATUS_FAILED, STATUS_PRUNED)
    }
    stand = stand or standings(rows)
    best = stand.winner
    if best is not None:
        tags.update(best_run_id=best.get("run_id", ""), best_run_number=best["run_number"],
                    best_config_id=best.get("config_id", ""))  # fmt: skip
        if warning_lines(best):
            tags["best_warnings"] = best["warnings"]
        if not stand.finalists:  # the finalists' verdict is tagged by apply_verdict
            verdict = (
                f"undecided: runs {run_names(stand.undecided)}"
                if stand.undecided
                else f"best: run {best['run_number']}"
            )
            tags["verdict"] = f"{verdict} ({stand.method})"
        for name in PARENT_METRICS:
            value = finite_number(best.get(name))
            if value is not None:
                metrics[f"best_{name}"] = value
    return tags, metrics


def end_parent(
    state: SearchState, status: str, say: Callable[[str], None],
    rows: list[dict[str, Any]] | None = None, csv_path: Path | None = None,
    stand: Standings | None = None,
) -> None:  # fmt: skip
    """End the parent run as ``status``, and as KILLED its children left RUNNING.

    Once the search ends no child runs: one still RUNNING lost its kernel (Ctrl-C,
    SIGTERM, a worker or scheduler that went away). Before it ends, the parent gets
    the best run's figures (``best_<metric>``), its id (tag ``best_run_id``), the run
    counts, a ``status`` tag that matches, and the results CSV as an artifact.
    """
    try:
        tags, metrics = parent_summary(rows or [], status, stand)
        tracking.set_tags(state.parent_run_id, tags, state.tracking_uri)
        tracking.log_metrics(state.parent_run_id, metrics, state.tracking_uri)
        if csv_path is not None and Path(csv_path).is_file():
            tracking.log_artifact(state.parent_run_id, csv_path, "results", state.tracking_uri)
    except Exception as exc:  # noqa: BLE001 - the CSV has it all
        say(f"Note: the parent run {state.parent_run_id} did not get its summary ({exc}).")
    try:
        kill_running(children(state), state)
        tracking.end_run(state.parent_run_id, status, tracking_uri=state.tracking_uri)
    except Exception as exc:  # noqa: BLE001 - the search's outcome is reported anyway
        say(
            f"Note: the parent run {state.parent_run_id} could not be marked {status} "
            f"({type(exc).__name__}: {exc})."
        )


def register_champion(
    rows: list[dict[str, Any]], state: SearchState, name: str
) -> tuple[Any, dict[str, Any]] | None:
    """Register the best run's model as a version of ``name``; the alias champion on it.

    The best run is the top of :func:`ranked_rows`; with finalists, the best-scoring
    repeat of the finalist with the best mean (:func:`best_finalist_row`).
    Returns (model version, best row), or None when no run completed.
    """
    best = best_row(rows)
    if best is None:
        return None
    version = tracking.register_model(
        best["run_id"], name, tracking.CHAMPION_ALIAS,
        tags={"search_id": state.search_id, "grid": state.grid,
              SELECTION_METRIC: f"{float(best[SELECTION_METRIC]):.4f}",
              "config_id": best["config_id"]},
        tracking_uri=state.tracking_uri,
    )  # fmt: skip
    return version, best
