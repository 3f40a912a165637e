"""Reading a search's results CSV as a table: finding it (by path, search id or the
latest search) and the attributes its search state adds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from tennis_lab.results.schema import RUN_COLUMNS, TEXT_COLUMNS, TableError
from tennis_lab.results.state import (
    read_state,
    state_csv,
    state_files,
    state_for_csv,
    state_path,
    states_dir,
)

HOW_TO_RUN = "Run a search first: `make grid` (or `tennis-lab grid --grid minimal`)."
CSV_PATTERN = "grid_search_results_*.csv"
# What a search state adds to its table's attrs.
STATE_ATTRS = ("search_id", "grid", "experiment", "tracking_uri", "parent_run_id",
               "notebooks_dir")  # fmt: skip


def read_csv_table(csv: Path) -> pd.DataFrame:
    """A results CSV as a DataFrame: run_id, config_id and error as text (``""`` when
    empty); a file with no rows yet as the header of :data:`RUN_COLUMNS`.

    Raises
    ------
    TableError
        When the file cannot be read.
    """
    try:
        df = pd.read_csv(csv, dtype={c: str for c in TEXT_COLUMNS})
    except pd.errors.EmptyDataError:  # a search whose first row is not written yet
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    except (OSError, ValueError) as exc:
        raise TableError(f"cannot read results CSV {csv}: {exc}") from exc
    for column in TEXT_COLUMNS:
        if column in df.columns:
            df[column] = df[column].fillna("").astype(str)
    return df


def _anchored(path: Path, root: Path | None) -> Path:
    """``path`` as given when it exists or is absolute, else relative to ``root``."""
    if path.is_absolute() or path.exists() or root is None:
        return path
    anchored = root / path
    return anchored if anchored.exists() else path


def _latest(out: Path) -> tuple[Path, dict[str, Any] | None]:
    """The newest search's CSV and state, else the newest results CSV in ``out``."""
    files = state_files(out)
    if files:
        state = read_state(files[-1])
        return state_csv(state, files[-1], out), state
    tables = sorted(out.glob(CSV_PATTERN))
    if not tables:
        raise TableError(
            f"no search results in {out}: looked for search states "
            f"{states_dir(out) / '*.json'} and tables {out / CSV_PATTERN}. " + HOW_TO_RUN
        )
    return tables[-1], state_for_csv(tables[-1], out)


def find_results(
    source: str | os.PathLike | None, out: Path, root: Path | None = None
) -> tuple[Path, dict[str, Any] | None]:
    """The results CSV ``source`` names and its search state (None when not found).

    ``source`` is a CSV path (relative ones also from ``root``), a search id, or None /
    ``"latest"``; see :func:`read_results`.

    Raises
    ------
    TableError
        When nothing is found: the message says what was looked for, where, and how
        to make results.
    """
    if source is None or str(source) == "latest":
        return _latest(out)
    path, state_file = Path(source), state_path(out, str(source))
    if path.suffix.lower() == ".csv" or (path.is_file() and not state_file.is_file()):
        csv = _anchored(path, root)
        if not csv.is_file():
            raise TableError(
                f"no results CSV {csv}: the file does not exist. Give an existing "
                f"grid_search_results_*.csv (in {out}), a search id, or 'latest'. " + HOW_TO_RUN
            )
        return csv, state_for_csv(csv, out)
    if state_file.is_file():
        state = read_state(state_file)
        return state_csv(state, state_file, out), state
    known = sorted(p.stem for p in state_files(out))
    raise TableError(
        f"no search {str(source)!r}: neither a CSV file nor a search state "
        f"{state_file} (searches in {states_dir(out)}: {known or 'none'}). "
        "Give a CSV path, a search id, or 'latest'. " + HOW_TO_RUN
    )


def read_results(
    source: str | os.PathLike | None,
    output_dir: str | os.PathLike,
    root: str | os.PathLike | None = None,
    tracking_uri: str | None = None,
) -> pd.DataFrame:
    """Read a search's results CSV.

    Parameters
    ----------
    source : str or Path, optional
        A CSV path; a search id (``<output>/searches/<id>.json`` names its CSV); or
        None / ``"latest"``: the newest search state, else the newest
        ``<output>/grid_search_results_*.csv``.
    output_dir : str or Path
        The output folder.
    root : str or Path, optional
        The folder a relative CSV path is also looked for in (the project root).
    tracking_uri : str, optional
        Where the search's MLflow runs are now, when the store moved (default: the
        one its search state records).

    Returns
    -------
    pandas.DataFrame
        One row per run (:func:`read_csv_table`). ``df.attrs`` holds ``source``
        (``"csv"``), ``csv_path`` and, when its search state is found, those of
        :data:`STATE_ATTRS` it records.

    Raises
    ------
    TableError
        When nothing is found or the file cannot be read.
    """
    out = Path(output_dir)
    csv, state = find_results(source, out, Path(root) if root is not None else None)
    df = read_csv_table(csv)
    df.attrs = {"source": "csv", "csv_path": str(csv)}
    for key in STATE_ATTRS:
        if state and state.get(key):
            df.attrs[key] = state[key]
    if tracking_uri:
        df.attrs["tracking_uri"] = tracking_uri
    return df
