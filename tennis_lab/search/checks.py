"""Checks before work: paths, folders, the tracking store, flags of a session and a resume.

Every check here runs before the first kernel starts and before the parent run is
created; each failure is a :class:`SearchError` naming the flag or folder and the fix.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tennis_lab import backends, paths, tracking
from tennis_lab.search.config import SearchConfig, SearchError, SearchState, absolute

# SearchConfig field -> its flag: what a search is. --resume keeps them.
SETTINGS = {
    "grid": "--grid", "random": "--random", "n_samples": "--n-samples",
    "max_runs": "--max-runs", "seed": "--seed", "epochs": "--epochs", "data_dir": "--data-dir",
    "tracking_uri": "--tracking-uri", "experiment": "--experiment",
    "reports_dir": "--reports-dir", "notebook": "notebook", "strategy": "--strategy",
    "n_trials": "--n-trials", "min_epochs": "--min-epochs", "max_epochs": "--max-epochs",
    "eta": "--eta", "finalists": "--finalists", "repeats": "--repeats", "backend": "--backend",
    "repeat_over": "--repeat-over", "weak_group": "--weak-group",
}  # fmt: skip


@dataclass
class Places:
    """Where a search reads and writes, absolute."""

    notebook: Path
    output: Path
    reports: Path


def places(cfg: SearchConfig) -> Places:
    """The notebook, output and reports folders of ``cfg``, absolute."""
    notebook = absolute(cfg.notebook) if cfg.notebook else paths.notebooks_dir() / "train.ipynb"
    if not notebook.is_file():
        raise SearchError(f"notebook {notebook} does not exist or is not a file.")
    return Places(
        notebook=notebook,
        output=absolute(cfg.output_dir) if cfg.output_dir else paths.output_dir(),
        reports=absolute(cfg.reports_dir) if cfg.reports_dir else paths.reports_dir() / "runs",
    )


def tracking_uri(uri: str | None) -> str:
    """The tracking URI to use, a relative SQLite path made absolute."""
    return tracking.absolute_tracking_uri(tracking.resolve_tracking_uri(uri))


def grid_ref(grid: str | None) -> str | None:
    """A grid as given: a predefined grid's name, or a grid file's absolute path."""
    if grid is None:
        return None
    is_file = Path(grid).suffix in (".yaml", ".yml", ".json") or "/" in grid or "\\" in grid
    return str(absolute(grid)) if is_file else grid


def settings(cfg: SearchConfig, where: Places) -> dict[str, Any]:
    """The values of :data:`SETTINGS` as ``cfg`` runs them (paths absolute)."""
    return {
        "grid": grid_ref(cfg.grid), "random": cfg.random, "n_samples": cfg.n_samples,
        "max_runs": cfg.max_runs, "seed": cfg.seed, "epochs": cfg.epochs,
        "data_dir": str(absolute(cfg.data_dir)) if cfg.data_dir else None,
        "tracking_uri": tracking_uri(cfg.tracking_uri), "experiment": cfg.experiment,
        "reports_dir": str(where.reports), "notebook": str(where.notebook),
        "strategy": cfg.strategy, "n_trials": cfg.n_trials, "min_epochs": cfg.min_epochs,
        "max_epochs": cfg.max_epochs, "eta": cfg.eta, "finalists": cfg.finalists,
        "repeats": cfg.repeats, "backend": backends.resolve_backend(cfg.backend),
        "repeat_over": cfg.repeat_over, "weak_group": cfg.weak_group,
    }  # fmt: skip


def stored_settings(state: SearchState) -> dict[str, Any]:
    """The settings a search runs with (for older state files, those they record)."""
    known = {
        "grid": state.grid, "seed": state.overrides.get("seed"),
        "epochs": state.overrides.get("epochs"), "data_dir": state.overrides.get("data_dir"),
        "tracking_uri": tracking.absolute_tracking_uri(state.tracking_uri),
        "experiment": state.experiment, "reports_dir": str(Path(state.notebooks_dir).parent),
        "backend": backends.resolve_backend(state.overrides.get("keras_backend")),
    }  # fmt: skip
    return {**known, **state.settings}


def _shown(value: Any) -> str:
    return "not set" if value is None else value if isinstance(value, str) else json.dumps(value)


def check_resume_flags(cfg: SearchConfig, where: Places, state: SearchState) -> None:
    """Refuse flags given with --resume whose value differs from the search's own.

    A flag counts as given when its value differs from :class:`SearchConfig`'s default.
    """
    default, given, stored = SearchConfig(), settings(cfg, where), stored_settings(state)
    conflicts = []
    for name, flag in SETTINGS.items():
        if getattr(cfg, name) == getattr(default, name) or name not in stored:
            continue
        mine, theirs = given[name], stored[name]
        if name == "grid" and "grid" not in state.settings:  # older states: the grid's name
            mine = Path(mine).stem
        if mine != theirs:
            conflicts.append(f"{flag} {_shown(mine)} (the search has {_shown(theirs)})")
    if conflicts:
        raise SearchError(
            f"--resume {state.search_id} continues the search with its own settings, but "
            f"{'; '.join(conflicts)}. Drop these flags to resume, or start a new search "
            "without --resume."
        )


def check_session(cfg: SearchConfig) -> None:
    """The flags of this session alone (workers, --new-parent)."""
    if cfg.workers is not None and cfg.workers < 1:
        raise SearchError(
            f"--workers must be at least 1; got {cfg.workers} (1: one run at a time here, "
            "N: N runs at once on a local Dask cluster)."
        )
    if cfg.new_parent and not cfg.resume:
        raise SearchError(
            "--new-parent goes with --resume: it gives a resumed search whose parent run "
            "is gone a new one."
        )


def check_writable(*folders: Path) -> None:
    """Create each folder and a temporary file in it; SearchError naming one that fails."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise SearchError(
                f"cannot write to {folder} ({exc.strerror or exc}): make it a writable "
                "folder, or choose another one (--output-dir, --reports-dir)."
            ) from None


def check_store(uri: str) -> None:
    """The tracking store at ``uri`` is one MLflow can open (SearchError when not)."""
    try:
        tracking.check_tracking_uri(uri)
    except tracking.TrackingError as exc:
        raise SearchError(str(exc)) from None


def experiment(uri: str, name: str) -> str:
    """Create the store and the experiment when missing; SearchError naming the URI."""
    try:
        return tracking.ensure_experiment(name, tracking_uri=uri)
    except tracking.TrackingError as exc:
        raise SearchError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any failure of the store, with its URI
        raise SearchError(
            f"cannot open the MLflow store {uri} ({type(exc).__name__}: {str(exc)[:500]}): "
            "check the URI (--tracking-uri) and that the store is reachable."
        ) from None
