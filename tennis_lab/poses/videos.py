"""Video metadata (``videos.csv``): player, handedness and session of each recording."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

import pandas as pd

from tennis_lab.poses.labelstudio import resolve_video_id
from tennis_lab.poses.layout import HANDEDNESS, POSES_DIR, VIDEO_COLUMNS, DataFormatError


def video_table(video_ids: Iterable[str], metadata: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per video id, sorted: video_id, player, handedness, session, extra columns.

    Values come from ``metadata`` (rows of :func:`read_videos_csv`); a video without
    a row, and an unknown value, is None. Rows of ids not in ``video_ids`` are dropped.
    """
    ids = sorted(set(video_ids))
    extra = (
        []
        if metadata is None
        else [c for c in metadata.columns if c != "video_id" and c not in VIDEO_COLUMNS]
    )
    columns = ["video_id", *VIDEO_COLUMNS, *extra]
    table = pd.DataFrame({"video_id": pd.Series(ids, dtype=object)})
    if metadata is not None and len(metadata):
        known = metadata.drop_duplicates("video_id", keep="first").set_index("video_id")
        for col in columns[1:]:
            if col in known.columns:
                table[col] = table["video_id"].map(known[col])
    for col in columns[1:]:
        if col not in table.columns:
            table[col] = None
        table[col] = table[col].astype(object).where(table[col].notna(), None)
    return table[columns]


def _known_ids_text(video_ids: Collection[str]) -> str:
    ids = sorted(video_ids)
    return f"{ids[:10]}{' ...' if len(ids) > 10 else ''}"


def _read_lines(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """The non-blank lines of ``videos.csv`` under its header, stripped text, and the
    file's line number of each; errors for an unreadable file or a bad header."""
    try:
        table = pd.read_csv(
            path,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except Exception as exc:  # OSError, UnicodeDecodeError, pandas' parser and empty-data errors
        raise DataFormatError(
            path, f"cannot be read as CSV ({exc}).", "save it as comma-separated UTF-8 text."
        ) from exc
    table = table.fillna("").apply(lambda col: col.str.strip())
    header = list(table.iloc[0])
    if "" in header:
        raise DataFormatError(
            path,
            f"line 1: column {header.index('') + 1} has no name (header {header}).",
            "name it or remove it (a pandas index column: save with index=False).",
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataFormatError(
            path, f"line 1: column(s) {dupes} appear more than once.", "name every column once."
        )
    df = table.iloc[1:]
    df = df[(df != "").any(axis=1)].copy()  # blank lines
    df.columns = header
    lines = [int(i) + 1 for i in df.index]  # table row 0 is line 1, the header
    if "video_id" not in df.columns:
        raise DataFormatError(
            path,
            f"line 1: no 'video_id' column; found {header}.",
            "the header must name video_id and any of player, handedness, session, e.g. "
            "video_id,player,handedness,session",
        )
    return df, lines


def _resolved_ids(
    path: Path, raw_ids: pd.Series, lines: list[int], known: Collection[str]
) -> list[str]:
    """The recording id of each line's ``video_id``; errors for an empty, unknown or
    repeated one."""
    resolved: list[str] = []
    first_line: dict[str, int] = {}
    for line, raw in zip(lines, raw_ids, strict=True):
        if not raw:
            raise DataFormatError(
                path,
                f"line {line}: video_id is empty.",
                "give the recording's id (the name of its poses/<video_id>.npz) or remove "
                "the line.",
            )
        vid = resolve_video_id(raw, known)
        if vid is None:
            raise DataFormatError(
                path,
                f"line {line}: video id {raw!r} has no recording in {POSES_DIR}/ "
                f"(recordings: {_known_ids_text(known)}).",
                f"remove the line, correct the video id, or add {POSES_DIR}/{raw}.npz.",
            )
        if vid in first_line:
            raise DataFormatError(
                path,
                f"lines {first_line[vid]} and {line} both describe video {vid!r}.",
                "keep one line per video.",
            )
        first_line[vid] = line
        resolved.append(vid)
    return resolved


def _handedness(path: Path, column: pd.Series, lines: list[int], video_ids: list[str]) -> pd.Series:
    """``videos.csv``'s handedness column in lower case; an error for a value other than
    left, right or empty."""
    hands = column.str.lower()
    bad = (hands != "") & ~hands.isin(HANDEDNESS)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataFormatError(
            path,
            f"line {lines[row]}: handedness of {video_ids[row]} is "
            f"{column.iloc[row]!r}; expected left or right.",
            "write left or right, or leave the cell empty when it is not known.",
        )
    return hands


def read_videos_csv(path: str | Path, video_ids: Collection[str]) -> pd.DataFrame:
    """Read and validate ``videos.csv``, the optional per-video metadata.

    Every cell is read as text, with surrounding spaces removed; an empty cell means
    unknown (None). Columns: ``video_id`` (required), and any of ``player``,
    ``handedness`` (``left`` or ``right``, any case) and ``session`` (free text);
    further columns are kept as metadata. Not every recording needs a line. Blank
    lines are skipped; line numbers in errors are the file's.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    video_ids : collection of str
        The ids of the dataset's recordings. A video id with Label Studio's upload
        prefix (``1a2b3c4d-rally_01``) stands for the recording without it, as in
        annotations.

    Returns
    -------
    DataFrame
        One row per line of the file, in file order: video_id (the recording's id),
        player, handedness (``"left"``/``"right"``), session, then the file's other
        columns; None where a cell is empty.

    Raises
    ------
    DataFormatError
        Naming the file and the line (line 1 is the header): unreadable CSV, no
        ``video_id`` column, a column named twice, an empty ``video_id``, a video id
        without a recording, two lines for one video, a handedness other than
        left or right.
    """
    path = Path(path)
    df, lines = _read_lines(path)
    resolved = _resolved_ids(path, df["video_id"], lines, set(video_ids))
    df["video_id"] = resolved
    if "handedness" in df.columns:
        df["handedness"] = _handedness(path, df["handedness"], lines, resolved)
    for col in VIDEO_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    extra = [c for c in df.columns if c != "video_id" and c not in VIDEO_COLUMNS]
    df = df[["video_id", *VIDEO_COLUMNS, *extra]].astype(object)
    return df.where(df != "", None).reset_index(drop=True)
