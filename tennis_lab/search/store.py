"""The search state store: ``<output>/searches/<search id>.json`` and its neighbours.

Owns where a search keeps its state (the state file, its lock, its Optuna study, its
results CSV), reading and writing the state file, the latest search, and making a
new search id under its lock. Only the process holding the lock writes here.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from tennis_lab import results
from tennis_lab.results import LOCK_SUFFIX, STUDY_SUFFIX, csv_path, search_file, state_path
from tennis_lab.search.config import SearchError, SearchState
from tennis_lab.search.lock import SearchLock

__all__ = [
    "csv_path", "latest_search", "lock_path", "new_search", "read_state", "state_path",
    "tpe_storage", "write_state",
]  # fmt: skip


def lock_path(output_dir: Path, search_id: str) -> Path:
    """The lock file of ``search_id`` (:class:`SearchLock`)."""
    return search_file(output_dir, search_id, LOCK_SUFFIX)


def tpe_storage(output_dir: Path, search_id: str) -> Path:
    """The Optuna study of a TPE search: beside its state file (only the search writes it)."""
    return search_file(output_dir, search_id, STUDY_SUFFIX)


def latest_search(output_dir: Path) -> str:
    """The id of the search started last in ``output_dir``; SearchError when there is none."""
    found = results.latest_search(output_dir)
    if found is None:
        raise SearchError(f"no search to resume in {results.states_dir(output_dir)}.")
    return found


def read_state(output_dir: Path, search_id: str) -> SearchState:
    """The stored state of ``search_id``; SearchError when there is none or it is unreadable."""
    state_file = state_path(output_dir, search_id)
    if not state_file.is_file():
        raise SearchError(
            f"no search {search_id!r} to resume: {state_file} does not exist "
            f"(searches: {sorted(p.stem for p in state_file.parent.glob('*.json'))})."
        )
    try:
        return SearchState(**json.loads(state_file.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise SearchError(f"cannot read the search state {state_file}: {exc}") from None


def write_state(state: SearchState, output_dir: Path) -> None:
    """Write the state file via a temporary file and a rename."""
    path = state_path(output_dir, state.search_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")
    os.replace(tmp, path)


def new_search(output_dir: Path, grid_name: str) -> tuple[str, SearchLock]:
    """A new search's time stamp and its lock; the id is ``<stamp>_<grid name>``.

    The stamp is the start time to the microsecond, so ids sort by start time; the
    lock file is created exclusively, so two searches started at once get two ids.
    """
    results.states_dir(output_dir).mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        now = datetime.now()
        stamp = f"{now:%Y%m%d_%H%M%S}_{now.microsecond:06d}"
        search_id = f"{stamp}_{grid_name}"
        lock = SearchLock(lock_path(output_dir, search_id))
        unused = not state_path(output_dir, search_id).exists()
        if unused and not csv_path(output_dir, stamp).exists() and lock.create():
            return stamp, lock
        time.sleep(0.001)
    raise SearchError(f"could not create a new search id in {results.states_dir(output_dir)}.")
