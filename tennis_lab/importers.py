"""Convert pose-extraction output into the tennis-lab dataset format.

Each importer writes one ``poses/<video_id>.npz`` per video into a dataset folder
(the format of :mod:`tennis_lab.poses`); the video id is the source file's stem.

- :func:`import_mediapipe_npz`: MediaPipe landmarks saved one row per frame in
  ``.npz`` files (``landmarks`` shaped (frames, 60) or (frames, 132), plus ``fps``).
- :func:`import_keypoint_csv`: one CSV per video, one column per
  ``<landmark>_<channel>``.
- :func:`copy_annotations`: copies validated stroke annotations into the dataset.

Both importers also take ``videos=``, a ``videos.csv`` of per-video metadata
(player, handedness, session), checked against the recordings and copied into
the dataset with them.

Every source is converted and checked before anything is written, so a bad file
leaves the destination untouched. Importers return an :class:`ImportReport`: the
videos imported, their frames and frames without a pose, and every file skipped
with the reason. Source ``.npz`` files are opened with ``allow_pickle=False`` and
only their numeric arrays are read: a pickled object in them is never loaded.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tennis_lab.poses import (
    ANNOTATIONS_CSV,
    LABELSTUDIO_DIR,
    MEDIAPIPE_CHANNELS,
    MEDIAPIPE_LANDMARKS,
    POSES_DIR,
    VIDEOS_CSV,
    DataFormatError,
    Recording,
    Skipped,
    read_annotations_csv,
    read_labelstudio,
    read_videos_csv,
    write_recording,
)

__all__ = [
    "MEDIAPIPE_SUBSET_INDICES",
    "MEDIAPIPE_LAYOUTS",
    "AnnotationsReport",
    "ImportReport",
    "copy_annotations",
    "import_keypoint_csv",
    "import_mediapipe_npz",
]

# The 15 MediaPipe Pose landmarks of the common subset layout: nose, shoulders,
# elbows, wrists, hips, knees, ankles, heels.
MEDIAPIPE_SUBSET_INDICES: tuple[int, ...] = (
    0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 29, 30,
)  # fmt: skip

# Row width -> (layout description, landmark names); channels are MEDIAPIPE_CHANNELS.
MEDIAPIPE_LAYOUTS: dict[int, tuple[str, tuple[str, ...]]] = {
    len(MEDIAPIPE_SUBSET_INDICES) * len(MEDIAPIPE_CHANNELS): (
        "MediaPipe 15-landmark subset (indices 0, 11-16, 23-30) x (x, y, z, visibility)",
        tuple(MEDIAPIPE_LANDMARKS[i] for i in MEDIAPIPE_SUBSET_INDICES),
    ),
    len(MEDIAPIPE_LANDMARKS) * len(MEDIAPIPE_CHANNELS): (
        "full MediaPipe Pose, 33 landmarks x (x, y, z, visibility)",
        MEDIAPIPE_LANDMARKS,
    ),
}

_FPS_FIX = "pass --fps N (fps=N in Python), N being the video's frame rate, e.g. --fps 30."

Sources = str | os.PathLike | Iterable[str | os.PathLike]


@dataclass
class ImportReport:
    """What an importer did.

    Attributes
    ----------
    dest : Path
        The dataset folder written to (recordings under ``dest/poses/``).
    imported : list of str
        Video ids written, in source order.
    frames, missing_frames : dict of str to int
        Per video: frames, and frames without a pose (all NaN).
    fps : dict of str to float
        Per video: the frame rate stored.
    layout : dict of str to str
        Per video: the source layout, in words.
    skipped : list of Skipped
        Source files not imported, each with the reason.
    notes : list of str
        Decisions worth knowing (an fps argument not used, a replaced file, ...).
    videos_csv : Path or None
        The ``videos.csv`` written into the dataset (``videos=``), else None.
    videos_described : int
        Recordings of the dataset that ``videos.csv`` has a line for.
    """

    dest: Path
    imported: list[str] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)
    missing_frames: dict[str, int] = field(default_factory=dict)
    fps: dict[str, float] = field(default_factory=dict)
    layout: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    videos_csv: Path | None = None
    videos_described: int = 0

    def format(self) -> str:
        """Human-readable text of the report."""
        lines = [f"Imported {len(self.imported)} video(s) into {self.dest / POSES_DIR}"]
        width = max((len(v) for v in self.imported), default=0)
        for vid in self.imported:
            lines.append(
                f"  {vid:<{width}}  {self.frames[vid]:6d} frames, {self.missing_frames[vid]:5d} "
                f"without a pose, {self.fps[vid]:g} fps  [{self.layout[vid]}]"
            )
        if self.skipped:
            lines.append(f"Skipped {sum(s.count for s in self.skipped)}:")
            lines += [f"  {s.source}: {s.reason}" for s in self.skipped]
        else:
            lines.append("Skipped:     nothing")
        if self.videos_csv is not None:
            lines.append(
                f"Videos file: {self.videos_csv} ({self.videos_described} video(s) described)"
            )
        if self.notes:
            lines.append("Notes:")
            lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


@dataclass
class AnnotationsReport:
    """What :func:`copy_annotations` did.

    Attributes
    ----------
    written : list of Path
        Files written into the dataset (unchanged copies of the sources).
    strokes : int
        Stroke annotations the copied files hold.
    skipped : list of Skipped
        Files of a source folder that are not Label Studio exports, and what the
        Label Studio reader skips (results of other types, cancelled annotations ...).
    """

    written: list[Path] = field(default_factory=list)
    strokes: int = 0
    skipped: list[Skipped] = field(default_factory=list)


@dataclass
class _Converted:
    source: Path
    recording: Recording
    layout: str
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- shared


def _check_fps_argument(fps: float | None) -> None:
    if fps is None:
        return
    if (
        isinstance(fps, bool)
        or not isinstance(fps, numbers.Real)
        or not math.isfinite(fps)
        or fps <= 0
    ):
        raise DataFormatError(
            "fps", f"is {fps!r}; it must be a positive number of frames per second.", _FPS_FIX
        )


def _source_files(sources: Sources, suffix: str) -> tuple[list[Path], list[Skipped]]:
    """Files to import: every ``*suffix`` of a folder, or the given file(s)."""
    if isinstance(sources, str | os.PathLike):
        folder = Path(sources)
        if folder.is_dir():
            entries = sorted(folder.iterdir())
            files = [e for e in entries if e.is_file() and e.suffix.lower() == suffix]
            skipped = [
                Skipped(
                    str(e),
                    "a folder (not searched; pass it to import its files)"
                    if e.is_dir()
                    else f"not a {suffix} file",
                )
                for e in entries
                if e not in files
            ]
            if not files:
                raise DataFormatError(
                    folder,
                    f"no *{suffix} files found (it holds {len(entries)} other entries).",
                    f"give the folder holding one <video_id>{suffix} per video, or a list of "
                    "files.",
                )
            return files, skipped
        sources = [folder]
    files = [Path(s) for s in sources]
    if not files:
        raise DataFormatError(
            "sources", "no files given.", f"pass a folder or a list of {suffix} files."
        )
    for f in files:
        if not f.is_file():
            raise DataFormatError(f, "does not exist or is not a file.", "check the path.")
    return files, []


def _import(
    files: list[Path],
    skipped: list[Skipped],
    dest: str | os.PathLike,
    convert: Callable[[Path], _Converted | str],
    videos: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> ImportReport:
    """Convert every file (a str result is a skip reason), check, then write all."""
    dest = Path(dest)
    if videos is not None and not Path(videos).is_file():
        raise DataFormatError(videos, "does not exist or is not a file.", "check the path.")
    if dest.exists() and not dest.is_dir():
        raise DataFormatError(dest, "is a file; the destination must be a dataset folder.")
    poses_dir = dest / POSES_DIR
    report = ImportReport(dest=dest, skipped=list(skipped))
    seen: dict[str, Path] = {}
    converted: list[_Converted] = []
    for f in files:
        vid = f.stem
        if vid in seen:
            raise DataFormatError(
                f,
                f"has the same video id {vid!r} as {seen[vid]} (the id is the file name "
                "without extension).",
                "rename one of them, or import them into different dataset folders.",
            )
        seen[vid] = f
        out = poses_dir / f"{vid}.npz"
        if out.exists() and out.resolve() == f.resolve():
            raise DataFormatError(
                f,
                "is the file its import would be written to; importing would replace the source.",
                "import into another dataset folder.",
            )
        result = convert(f)
        if isinstance(result, str):
            report.skipped.append(Skipped(str(f), result))
        else:
            converted.append(result)

    if converted:
        first = converted[0]
        key = (first.recording.landmark_names, first.recording.channel_names)
        for c in converted[1:]:
            if (c.recording.landmark_names, c.recording.channel_names) != key:
                raise DataFormatError(
                    c.source,
                    f"its layout ({c.layout}) differs from {first.source.name}'s ({first.layout}); "
                    "every recording of a dataset must share one layout.",
                    "import files of one layout into one dataset folder.",
                )

    videos_plan = None
    if videos is not None:
        videos_plan = _check_videos_csv(Path(videos), dest, converted, overwrite)

    for c in converted:
        rec = c.recording
        out = poses_dir / f"{rec.video_id}.npz"
        if out.exists():
            report.notes.append(f"{rec.video_id}: replaced the existing {out}.")
        write_recording(rec, out)
        report.imported.append(rec.video_id)
        report.frames[rec.video_id] = rec.n_frames
        report.missing_frames[rec.video_id] = rec.missing_frames
        report.fps[rec.video_id] = rec.fps
        report.layout[rec.video_id] = c.layout
        report.notes.extend(f"{rec.video_id}: {n}" for n in c.notes)
    if videos_plan is not None:
        source, target, described, undescribed = videos_plan
        if not (target.exists() and target.resolve() == source.resolve()):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        report.videos_csv = target
        report.videos_described = described
        if undescribed:
            report.notes.append(
                f"{VIDEOS_CSV}: no line for {len(undescribed)} video(s) "
                f"({', '.join(undescribed[:5])}{' ...' if len(undescribed) > 5 else ''}); "
                "their player and handedness are unknown."
            )
    return report


def _check_videos_csv(
    source: Path, dest: Path, converted: list[_Converted], overwrite: bool
) -> tuple[Path, Path, int, list[str]]:
    """Validate ``source`` against the recordings the dataset will hold; plan its copy.

    The recordings are those imported now and those already in ``dest/poses/``.
    Returns (source, target, videos described, video ids without a line).
    """
    existing = {f.stem for f in (dest / POSES_DIR).glob("*.npz")}
    video_ids = existing | {c.recording.video_id for c in converted}
    table = read_videos_csv(source, video_ids)
    target = dest / VIDEOS_CSV
    if (
        target.exists()
        and not overwrite
        and target.resolve() != source.resolve()
        and target.read_bytes() != source.read_bytes()
    ):
        raise DataFormatError(
            target,
            f"already exists and differs from {source}.",
            "pass overwrite=True (--overwrite) to replace it, or merge the two by hand.",
        )
    described = set(table["video_id"])
    return source, target, len(described), sorted(video_ids - described)


def _fps_value(path: Path, value: object, where: str) -> float:
    """A positive finite fps read from a file, else DataFormatError."""
    try:
        fps = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        fps = math.nan
    if not (math.isfinite(fps) and fps > 0):
        raise DataFormatError(
            path, f"{where} is {value!r}; expected one positive number.", "store the video's fps."
        )
    return fps


# --------------------------------------------------------------------------- MediaPipe npz


def import_mediapipe_npz(
    sources: Sources,
    dest: str | os.PathLike,
    fps: float | None = None,
    *,
    videos: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> ImportReport:
    """Import MediaPipe landmarks saved one row per frame in ``.npz`` files.

    Each file holds ``landmarks`` shaped (frames, 60): the 15 MediaPipe landmarks
    :data:`MEDIAPIPE_SUBSET_INDICES` x (x, y, z, visibility), landmark-major
    (landmark 0's x, y, z, visibility, then landmark 11's, ...), or (frames, 132):
    all 33 landmarks in the same order; and ``fps``, a number. A row of zeros (no
    pose detected) becomes NaN. Other arrays in the file, pickled objects included,
    are never read.

    Parameters
    ----------
    sources : path or iterable of paths
        A folder (its ``*.npz`` files; other entries are skipped and reported) or
        the files to import.
    dest : path
        The dataset folder; recordings go to ``dest/poses/<file stem>.npz``.
    fps : float, optional
        Frame rate for files without ``fps``; a file's own ``fps`` takes precedence.
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
        Naming the file: unreadable, no ``landmarks``, a shape of neither layout,
        non-numeric or infinite values, no ``fps`` and none given, layouts differing
        between files, two files with one video id; a bad ``videos`` file, or a
        different ``dest/videos.csv`` without ``overwrite``. Nothing is written then.
    """
    _check_fps_argument(fps)
    files, skipped = _source_files(sources, ".npz")
    return _import(files, skipped, dest, lambda f: _convert_mediapipe(f, fps), videos, overwrite)


def _convert_mediapipe(path: Path, fps_arg: float | None) -> _Converted | str:
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as exc:  # zipfile/OSError/ValueError (a pickle file) from a broken file
        raise DataFormatError(path, f"cannot be read as .npz ({exc}).") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataFormatError(
            path,
            f"is a single .npy array (shape {npz.shape}), not an .npz archive.",
            "save with np.savez(path, landmarks=..., fps=...).",
        )
    with npz:
        keys = list(npz.files)
        if "landmarks" not in keys:
            raise DataFormatError(
                path,
                f"has no 'landmarks' array; found {sorted(keys)}.",
                "store the (frames, 60) or (frames, 132) MediaPipe rows under 'landmarks'.",
            )
        try:
            raw = npz["landmarks"]
            fps_arr = npz["fps"] if "fps" in keys else None
        except ValueError as exc:
            raise DataFormatError(
                path,
                f"'landmarks' or 'fps' is an object (pickled) array, which is never loaded "
                f"({exc}).",
                "store them as numeric arrays.",
            ) from exc

    expected = " or ".join(
        f"(frames, {width}) = {desc}" for width, (desc, _) in MEDIAPIPE_LAYOUTS.items()
    )
    if raw.ndim != 2 or raw.shape[1] not in MEDIAPIPE_LAYOUTS:
        raise DataFormatError(
            path,
            f"'landmarks' has shape {raw.shape}; expected {expected}, "
            "flattened landmark-major (one landmark's x, y, z, visibility, then the next's).",
            "export one row per frame in one of these layouts.",
        )
    if not (np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)):
        raise DataFormatError(
            path, f"'landmarks' has dtype {raw.dtype}; expected real numbers.", "store floats."
        )
    if raw.shape[0] == 0:
        return "no frames"
    if np.isinf(raw).any():
        row = int(np.isinf(raw).any(axis=1).argmax())
        raise DataFormatError(
            path,
            f"'landmarks' row {row} holds infinite values.",
            "write zeros (no pose) or NaN for missing values.",
        )

    notes: list[str] = []
    if fps_arr is not None:
        if fps_arr.size != 1 or not np.issubdtype(fps_arr.dtype, np.number):
            raise DataFormatError(
                path, f"'fps' is {fps_arr!r}; expected one number.", "store the video's fps."
            )
        fps = _fps_value(path, fps_arr.reshape(()).item(), "'fps'")
        if fps_arg is not None and fps_arg != fps:
            notes.append(f"the file's fps {fps:g} was used, not the fps argument {fps_arg:g}.")
    elif fps_arg is not None:
        fps = float(fps_arg)
    else:
        raise DataFormatError(path, "has no 'fps' array and no fps was given.", _FPS_FIX)

    width = raw.shape[1]
    layout, names = MEDIAPIPE_LAYOUTS[width]
    landmarks = raw.astype(np.float32)  # a copy: the source array is not changed
    landmarks[(landmarks == 0).all(axis=1)] = np.nan
    rec = Recording(
        video_id=path.stem,
        landmarks=landmarks.reshape(len(landmarks), len(names), len(MEDIAPIPE_CHANNELS)),
        fps=fps,
        landmark_names=names,
        channel_names=MEDIAPIPE_CHANNELS,
    )
    return _Converted(path, rec, f"{width} columns: {layout}", notes)


# --------------------------------------------------------------------------- keypoint CSV


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
    _check_fps_argument(fps)
    files, skipped = _source_files(sources, ".csv")
    return _import(files, skipped, dest, lambda f: _convert_csv(f, fps), videos, overwrite)


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


def _convert_csv(path: Path, fps_arg: float | None) -> _Converted | str:
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
            file_fps = _fps_value(path, present[0], "column 'fps'")
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
            path, "has no 'fps' column (or it is empty) and no fps was given.", _FPS_FIX
        )

    rec = Recording(
        video_id=path.stem,
        landmarks=data.astype(np.float32),
        fps=fps,
        landmark_names=tuple(landmarks),
        channel_names=tuple(channels),
    )
    layout = f"CSV, {len(landmarks)} landmarks x ({', '.join(channels)})"
    return _Converted(path, rec, layout, notes)


# --------------------------------------------------------------------------- annotations


def copy_annotations(
    src: str | os.PathLike, dest: str | os.PathLike, overwrite: bool = False
) -> AnnotationsReport:
    """Copy stroke annotations into a dataset folder, after checking they parse.

    Parameters
    ----------
    src : path
        An annotations CSV (``video_id, start_frame, end_frame, label``; copied to
        ``dest/annotations.csv``), a Label Studio JSON export, or a folder of them
        (copied to ``dest/labelstudio/``, file names kept).
    dest : path
        The dataset folder.
    overwrite : bool
        Replace a different file already there; otherwise that is an error.

    Returns
    -------
    AnnotationsReport

    Raises
    ------
    DataFormatError
        When a source does not parse (see :func:`tennis_lab.poses.read_annotations_csv`
        and :func:`tennis_lab.poses.read_labelstudio`), is of an unknown kind, or a
        different file is already at the target and ``overwrite`` is False. Nothing
        is copied then. Video ids and frame ranges are checked against the
        recordings by :func:`tennis_lab.poses.load_dataset`.
    """
    src, dest = Path(src), Path(dest)
    report = AnnotationsReport()
    if src.is_dir():
        entries = sorted(src.iterdir())
        sources = [e for e in entries if e.is_file() and e.suffix.lower() == ".json"]
        report.skipped += [
            Skipped(str(e), "not a Label Studio .json export") for e in entries if e not in sources
        ]
        if not sources:
            raise DataFormatError(
                src,
                "no Label Studio *.json exports found.",
                "give an annotations .csv, a Label Studio .json export, or a folder of exports.",
            )
    elif src.is_file():
        if src.suffix.lower() not in (".csv", ".json"):
            raise DataFormatError(
                src,
                f"has extension {src.suffix!r}; expected an annotations .csv or a Label "
                "Studio .json.",
                "export annotations as CSV (video_id,start_frame,end_frame,label) or as "
                "Label Studio JSON.",
            )
        sources = [src]
    else:
        raise DataFormatError(src, "does not exist.", "check the path.")

    plan: list[tuple[Path, Path]] = []
    for s in sources:
        if s.suffix.lower() == ".csv":
            report.strokes += len(read_annotations_csv(s))
            target = dest / ANNOTATIONS_CSV
        else:
            df, skipped = read_labelstudio(s)
            report.strokes += len(df)
            report.skipped += skipped
            target = dest / LABELSTUDIO_DIR / s.name
        if target.exists() and not overwrite and target.read_bytes() != s.read_bytes():
            raise DataFormatError(
                target,
                f"already exists and differs from {s}.",
                "pass overwrite=True (--overwrite) to replace it, or merge the two by hand.",
            )
        plan.append((s, target))

    for s, target in plan:
        if not (target.exists() and target.resolve() == s.resolve()):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(s, target)
        report.written.append(target)
    return report
