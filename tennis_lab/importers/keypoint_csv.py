"""Keypoint CSV files, one per video with one column per ``<landmark>_<channel>``: the
importer."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from tennis_lab.importers.writing import (
    FPS_FIX,
    Converted,
    ImportReport,
    Sources,
    check_fps_argument,
    fps_value,
    import_recordings,
    source_files,
)
from tennis_lab.poses import (
    DataFormatError,
    Recording,
)


def import_keypoint_csv(
    sources: Sources,
    dest: str | os.PathLike,
    fps: float | None = None,
    *,
    videos: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> ImportReport:
    """Import one keypoint CSV per video.

    A column per landmark coordinate, named ``<landmark>_<channel>`` (the channel is
    the part after the last underscore: ``left_wrist_visibility`` is landmark
    ``left_wrist``, channel ``visibility``). Landmarks and channels keep their order
    of first appearance; every landmark must have the same channels. Optional
    columns: ``frame`` (strictly increasing frame numbers; a gap becomes frames
    without a pose) and ``fps`` (one value). An empty cell is NaN; a row with every
    coordinate empty is a frame without a pose.

    Parameters
    ----------
    sources : path or iterable of paths
        A folder (its ``*.csv`` files; other entries are skipped and reported) or
        the files to import.
    dest : path
        The dataset folder; recordings go to ``dest/poses/<file stem>.npz``.
    fps : float, optional
        The frame rate; when None, each file's ``fps`` column.
    videos : path, optional
        A ``videos.csv`` (video_id, player, handedness, session, ...): checked with
        :func:`tennis_lab.poses.read_videos_csv` against the imported recordings and
        those already in ``dest``, then copied unchanged to ``dest/videos.csv``.
    overwrite : bool
        Replace a different ``dest/videos.csv``; otherwise that is an error.

    Returns
    -------
    ImportReport

    Raises
    ------
    DataFormatError
        Naming the file: unreadable or ragged CSV, a column not named
        ``<landmark>_<channel>``, a landmark lacking a channel, a non-numeric value
        (with its column and row), a bad ``frame`` or ``fps`` column, no fps at all,
        layouts differing between files, two files with one video id; a bad
        ``videos`` file, or a different ``dest/videos.csv`` without ``overwrite``.
        Nothing is written then.
    """
    check_fps_argument(fps)
    files, skipped = source_files(sources, ".csv")
    return import_recordings(
        files, skipped, dest, lambda f: _convert_csv(f, fps), videos, overwrite
    )


def _read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]] | None:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError(
            path, f"cannot be read as CSV ({exc}).", "save it as UTF-8 CSV."
        ) from exc
    rows = [r for r in rows if r]  # csv.reader gives [] for a blank line
    if not rows:
        return None
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise DataFormatError(
                path,
                f"row {i + 1} (line {i + 2}) has {len(r)} fields; the header has {len(header)}.",
                "give every row one value per column (leave a cell empty where there is none).",
            )
    return header, body


def _numeric(path: Path, column: str, cells: pd.Series) -> np.ndarray:
    """Cells of one column as float64; empty -> NaN; anything else non-numeric raises."""
    text = cells.str.strip()
    values = pd.to_numeric(text.where(text != "", "nan"), errors="coerce")
    bad = values.isna() & (text != "") & (text.str.lower() != "nan")
    bad |= np.isinf(values)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise DataFormatError(
            path,
            f"column {column!r}, row {i + 1} (line {i + 2}): {cells.iloc[i]!r} is not a "
            "finite number.",
            "write numbers with a '.' decimal point; leave the cell empty where there is no value.",
        )
    return values.to_numpy(dtype=np.float64)


def _csv_layout(
    path: Path, header: list[str]
) -> tuple[list[str], list[str], dict[tuple[str, str], str]]:
    """Landmarks, channels (first-appearance order) and (landmark, channel) -> column."""
    if len(header) == 1 and ";" in header[0]:
        raise DataFormatError(
            path,
            f"the header is one column {header[0][:60]!r}...; the file seems separated by ';'.",
            "save it comma-separated.",
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataFormatError(
            path, f"column(s) {dupes} appear more than once.", "name every column once."
        )
    landmarks: list[str] = []
    channels: list[str] = []
    columns: dict[tuple[str, str], str] = {}
    for col in header:
        if col in ("frame", "fps"):
            continue
        landmark, sep, channel = col.rpartition("_")
        if not sep or not landmark or not channel:
            raise DataFormatError(
                path,
                f"column {col!r} is not named <landmark>_<channel> (e.g. left_wrist_x), "
                "'frame' or 'fps'.",
                "rename or remove it (an index column: save with index=False).",
            )
        if landmark not in landmarks:
            landmarks.append(landmark)
        if channel not in channels:
            channels.append(channel)
        columns[(landmark, channel)] = col
    if not landmarks:
        raise DataFormatError(
            path,
            f"no <landmark>_<channel> columns; found {header}.",
            "name coordinate columns like left_wrist_x, left_wrist_y.",
        )
    for landmark in landmarks:
        for channel in channels:
            if (landmark, channel) not in columns:
                have = [c for c in channels if (landmark, c) in columns]
                raise DataFormatError(
                    path,
                    f"landmark {landmark!r} has no {channel!r} channel (column "
                    f"{landmark}_{channel!s} is missing; it has {have}); every landmark must "
                    f"have the same channels {channels}.",
                    f"add column {landmark}_{channel} (empty cells are allowed), or remove the "
                    f"columns of {landmark!r} if it is not a landmark.",
                )
    return landmarks, channels, columns


def _convert_csv(path: Path, fps_arg: float | None) -> Converted | str:
    parsed = _read_csv_rows(path)
    if parsed is None:
        return "empty file"
    header, body = parsed
    landmarks, channels, columns = _csv_layout(path, header)
    if not body:
        return "no frames (header only)"
    df = pd.DataFrame(body, columns=header, dtype=str)
    n = len(df)

    data = np.empty((n, len(landmarks), len(channels)), dtype=np.float64)
    for li, landmark in enumerate(landmarks):
        for ci, channel in enumerate(channels):
            col = columns[(landmark, channel)]
            data[:, li, ci] = _numeric(path, col, df[col])

    notes: list[str] = []
    if "frame" in df.columns:
        frame = _numeric(path, "frame", df["frame"])
        bad = np.isnan(frame) | (frame != np.round(frame))
        if bad.any():
            i = int(bad.argmax())
            raise DataFormatError(
                path,
                f"column 'frame', row {i + 1} (line {i + 2}): {df['frame'].iloc[i]!r} is not a "
                "whole frame number.",
                "give every row its frame number, or remove the frame column.",
            )
        steps = np.diff(frame)
        if (steps <= 0).any():
            i = int((steps <= 0).argmax()) + 1
            raise DataFormatError(
                path,
                f"column 'frame' must increase; row {i + 1} (line {i + 2}) has frame "
                f"{frame[i]:.0f} after {frame[i - 1]:.0f}.",
                "sort the rows by frame and remove duplicated frames.",
            )
        if frame[0] != 0:
            notes.append(
                f"the frame column starts at {frame[0]:.0f}; its first row is stored as frame 0."
            )
        if (steps > 1).any():
            offsets = (frame - frame[0]).astype(np.int64)
            filled = np.full((int(offsets[-1]) + 1, *data.shape[1:]), np.nan)
            filled[offsets] = data
            notes.append(
                f"the frame column skips {len(filled) - n} frame(s); they are stored as frames "
                "without a pose, so frame numbers stay those of the video."
            )
            data = filled

    file_fps: float | None = None
    if "fps" in df.columns:
        values = _numeric(path, "fps", df["fps"])
        present = values[~np.isnan(values)]
        if present.size:
            if (present != present[0]).any():
                i = int(((values != present[0]) & ~np.isnan(values)).argmax())
                raise DataFormatError(
                    path,
                    f"column 'fps' is not constant: {present[0]:g} first, {values[i]:g} at row "
                    f"{i + 1} (line {i + 2}).",
                    "give one frame rate per video (one file per video).",
                )
            file_fps = fps_value(path, present[0], "column 'fps'")
    if fps_arg is not None:
        fps = float(fps_arg)
        if file_fps is not None and file_fps != fps:
            notes.append(
                f"the fps argument {fps:g} was used, not the file's fps column {file_fps:g}."
            )
    elif file_fps is not None:
        fps = file_fps
    else:
        raise DataFormatError(
            path, "has no 'fps' column (or it is empty) and no fps was given.", FPS_FIX
        )

    rec = Recording(
        video_id=path.stem,
        landmarks=data.astype(np.float32),
        fps=fps,
        landmark_names=tuple(landmarks),
        channel_names=tuple(channels),
    )
    layout = f"CSV, {len(landmarks)} landmarks x ({', '.join(channels)})"
    return Converted(path, rec, layout, notes)
