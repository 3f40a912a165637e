"""A search's state file: its name, where it lies, and reading it.

The search runner writes ``<output>/searches/<search id>.json`` (and keeps its lock and
its TPE study beside it); it names the search's results CSV (``csv_path``), its MLflow
store, experiment and parent run, and the folder of its run notebooks
(``notebooks_dir``). Everything here only reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tennis_lab.results.names import results_csv_name
from tennis_lab.results.schema import TableError

STATES_FOLDER = "searches"  # <output>/searches/: one state file per search
STATE_SUFFIX = ".json"
LOCK_SUFFIX = ".lock"
STUDY_SUFFIX = ".optuna.db"  # a TPE search's Optuna study


def states_dir(output_dir: str | os.PathLike) -> Path:
    """The folder of the search states: ``<output>/searches``."""
    return Path(output_dir) / STATES_FOLDER


def search_file(output_dir: str | os.PathLike, search_id: str, suffix: str) -> Path:
    """A search's own file in :func:`states_dir`: ``<output>/searches/<id><suffix>``
    (:data:`STATE_SUFFIX`, :data:`LOCK_SUFFIX`, :data:`STUDY_SUFFIX`)."""
    return states_dir(output_dir) / f"{search_id}{suffix}"


def state_path(output_dir: str | os.PathLike, search_id: str) -> Path:
    """A search's state file: ``<output>/searches/<search id>.json``."""
    return search_file(output_dir, search_id, STATE_SUFFIX)


def csv_path(output_dir: str | os.PathLike, stamp: str) -> Path:
    """The results CSV of a search started at ``stamp``, in ``output_dir``."""
    return Path(output_dir) / results_csv_name(stamp)


def state_files(output_dir: str | os.PathLike) -> list[Path]:
    """Every search's state file, oldest first (search ids start with their time)."""
    return sorted(states_dir(output_dir).glob(f"*{STATE_SUFFIX}"))


def latest_search(output_dir: str | os.PathLike) -> str | None:
    """The id of the newest search in ``output_dir``; None when there is none."""
    files = state_files(output_dir)
    return files[-1].stem if files else None


def state_data(file: str | os.PathLike) -> Any:
    """The JSON a state file holds, as it is.

    Raises
    ------
    OSError, ValueError
        When the file cannot be read or is not JSON.
    """
    return json.loads(Path(file).read_text(encoding="utf-8"))


def read_state(file: str | os.PathLike) -> dict[str, Any]:
    """A search's state, checked to name its results CSV.

    Raises
    ------
    TableError
        When the file cannot be read, or is not a search state (no ``csv_path``).
    """
    try:
        state = state_data(file)
    except (OSError, ValueError) as exc:
        raise TableError(f"cannot read search state {file}: {exc}") from exc
    if not isinstance(state, dict) or not state.get("csv_path"):
        raise TableError(f"search state {file} has no csv_path; is it a search state file?")
    return state


def state_csv(state: dict[str, Any], file: Path, output_dir: Path) -> Path:
    """The state's CSV; when it was moved with the output folder, the same name beside it.

    Raises
    ------
    TableError
        When neither exists (the search has no results yet), saying how to go on.
    """
    csv = Path(state["csv_path"])
    if csv.is_file():
        return csv
    moved = output_dir / csv.name
    if moved.is_file():
        return moved
    raise TableError(
        f"search {state.get('search_id', file.stem)!r} has no results yet: {csv} does not "
        f"exist (state: {file}). Its first run may not have finished; wait for it, or "
        "resume the search: `make grid RESUME=1`."
    )


def state_for_csv(csv: Path, output_dir: Path) -> dict[str, Any] | None:
    """The search state whose csv_path is ``csv``, looked for beside it and in output_dir."""
    for folder in dict.fromkeys([states_dir(csv.parent), states_dir(output_dir)]):
        for file in sorted(folder.glob(f"*{STATE_SUFFIX}")):
            try:
                state = state_data(file)
            except (OSError, ValueError):
                continue
            if isinstance(state, dict) and Path(str(state.get("csv_path", ""))).name == csv.name:
                return state
    return None
