"""A search's results as a table, from its CSV or its MLflow runs, and the best run's
details from MLflow: the readers of :mod:`tennis_lab.results` with the project's
default folders and store (:mod:`tennis_lab.paths`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tennis_lab import paths
from tennis_lab.analysis.columns import _metric, _number, group_word
from tennis_lab.analysis.standings import winner_row
from tennis_lab.results import (
    DEFAULT_EXPERIMENT,
    RUNS_FOLDER,
    read_results,
    read_results_mlflow,
    run_details,
)


def load_results(
    source: str | Path | None = None,
    output_dir: str | Path | None = None,
    tracking_uri: str | None = None,
) -> pd.DataFrame:
    """Read a search's results CSV.

    Parameters
    ----------
    source : str or Path, optional
        A CSV path; a search id (``<output>/searches/<id>.json`` names its CSV); or
        None / ``"latest"``: the newest search state, else the newest
        ``<output>/grid_search_results_*.csv``.
    output_dir : str or Path, optional
        The output folder (default: ``<project root>/output``).
    tracking_uri : str, optional
        Where the search's MLflow runs are now, when the store moved (default: the
        one its search state records).

    Returns
    -------
    pandas.DataFrame
        One row per combination; run_id, config_id and error as text (``""`` when
        empty). ``df.attrs`` holds ``csv_path`` and, when its search state is found,
        ``search_id``, ``grid``, ``experiment``, ``tracking_uri``, ``parent_run_id``,
        ``notebooks_dir``.

    Raises
    ------
    AnalysisError
        When nothing is found (the message says what was looked for, where, and how to
        make results), or the file cannot be read.
    """
    out = Path(output_dir) if output_dir is not None else paths.output_dir()
    return read_results(source, out, root=paths.project_root(), tracking_uri=tracking_uri)


def load_results_mlflow(
    experiment: str = DEFAULT_EXPERIMENT,
    parent_run_id: str | None = None,
    tracking_uri: str | None = None,
    notebooks_dir: str | Path | None = None,
) -> pd.DataFrame:
    """A search's results table rebuilt from its MLflow child runs (also while it runs).

    Parameters
    ----------
    experiment : str
        Experiment name.
    parent_run_id : str, optional
        The search's parent run (in ``<output>/searches/<id>.json`` and in
        ``load_results().attrs``); None: every run of the experiment except parents.
    tracking_uri : str, optional
        The MLflow store; default ``$MLFLOW_TRACKING_URI``, else SQLite
        ``<project root>/mlflow.db``.
    notebooks_dir : str or Path, optional
        The folder of the search's run notebooks (``load_results().attrs``, from its
        search state; ``--reports-dir`` when the search was given one); default
        ``<project root>/reports/runs/<search id>``.

    Returns
    -------
    pandas.DataFrame
        The CSV's shape: run_number (from the run name's ``_run_NNN``, else the
        ``trial`` tag), run_id, config_id (tag), status (the ``status`` tag the
        runner sets, such as PRUNED, when it is one of
        :data:`tennis_lab.results.STATUSES`; else FINISHED -> COMPLETED and FAILED,
        RUNNING, KILLED as they are), error (tag), the strategy's tags where a run has
        them (strategy, trial, rung, epochs_budget, initial_epoch, phase and, on
        repeats, finalist, finalist_trial, tied_with_best), warnings (the ``warnings``
        tag, ``""`` without), the parameters (typed as in the CSV, without the data
        facts training adds), the final metrics (no per-epoch or per-fold series; a
        name that is both, such as ``cv_folds``, keeps the parameter, as the CSV
        does: ``"loo"`` stays ``"loo"``; the metric fills in where a run has no such
        parameter; a repeat's finalist_mean, finalist_ci_low, finalist_ci_high),
        winner (only when the parent run's ``best_run_id`` tag names one of the
        rows: True on that row), notebook (the run's executed notebook, with its rung
        suffix, where it exists; else ``""``).
        One row per config id and trial and rung (a retried run once): its completed
        run, else its newest; rows in run number and rung order. ``df.attrs`` holds
        experiment, tracking_uri, parent_run_id and the search_id and grid tags;
        with a parent run, its ``best_run_id`` and ``verdict`` tags where it has them.

    Raises
    ------
    AnalysisError
        When the experiment does not exist at the tracking URI.
    """
    uri = tracking_uri or paths.default_tracking_uri()
    runs_dir = paths.reports_dir() / RUNS_FOLDER
    return read_results_mlflow(experiment, parent_run_id, uri, notebooks_dir, runs_dir)


def best_run_details(df: pd.DataFrame, metric: str | None = None) -> dict[str, Any]:
    """The best run's details from MLflow (confusion matrix, curves, groups, folds).

    The best run is :func:`winner_row`: the search's one winner, the champion.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table; ``df.attrs["tracking_uri"]`` says where its runs are.
    metric : str, optional
        The ranking; default :func:`selection_metric`.

    Returns
    -------
    dict
        ``run`` (run number or None), ``run_id``, ``group_word`` (player, session,
        video or group), ``details`` (:func:`tennis_lab.results.mlflow_runs.run_details`, or
        None when unavailable) and ``note`` (one line saying why it is unavailable,
        else None).
    """
    metric = _metric(df, metric)
    best = winner_row(df, metric)
    info: dict[str, Any] = {"run": None, "run_id": "", "group_word": "group",
                            "details": None, "note": None}  # fmt: skip
    if best is None:
        info["note"] = f"No completed run with {metric}: no best run to show."
        return info
    info.update(run=_number(best.get("run_number")), group_word=group_word(best))
    run_id = best.get("run_id")
    info["run_id"] = run_id if isinstance(run_id, str) else ""
    uri = df.attrs.get("tracking_uri")
    if not info["run_id"]:
        info["note"] = f"Run {info['run']} has no MLflow run id: it was not logged to MLflow."
    elif not uri:
        info["note"] = (
            f"Run {info['run']}'s MLflow store is not known (no search state names its "
            "tracking URI): its details are not shown."
        )
    else:
        try:
            info["details"] = run_details(info["run_id"], uri)
        except Exception as exc:  # noqa: BLE001 - a report shows what it can
            info["note"] = (
                f"Run {info['run']}'s details could not be read from MLflow at {uri} "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})."
            )
    return info
