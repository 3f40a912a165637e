"""Pose recordings and stroke annotations: read, write, validate.

A dataset is a folder (see ``docs/data-format.md``)::

    poses/<video_id>.npz      landmarks (frames, landmarks, channels) float32, fps,
                              landmark_names, channel_names; NaN = no pose in that frame
    annotations.csv           video_id, start_frame, end_frame, label (end exclusive)
    labelstudio/*.json        Label Studio video timeline exports (optional, alternative)
    dataset.yaml              class_map, ignore_labels, description (optional)
    videos.csv                video_id, player, handedness, session, ... (optional)

Everything is validated when loaded; a problem raises :class:`DataFormatError`
naming the file, what is wrong and how to fix it. What a loader skips on purpose
(ignored labels, Label Studio results of other types, files that are not
recordings) is counted in :attr:`PoseDataset.skipped`, never dropped silently.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import warnings
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import yaml

from tennis_lab.errors import TennisLabError

# MediaPipe Pose's 33 landmarks, in its index order.
MEDIAPIPE_LANDMARKS: tuple[str, ...] = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear",
    "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)  # fmt: skip
MEDIAPIPE_CHANNELS: tuple[str, ...] = ("x", "y", "z", "visibility")

ANNOTATION_COLUMNS: tuple[str, ...] = ("video_id", "start_frame", "end_frame", "label")
POSES_DIR = "poses"
ANNOTATIONS_CSV = "annotations.csv"
LABELSTUDIO_DIR = "labelstudio"
DATASET_YAML = "dataset.yaml"
VIDEOS_CSV = "videos.csv"
# Values of videos.csv's handedness column (matched ignoring case and surrounding spaces).
HANDEDNESS: tuple[str, ...] = ("left", "right")
# The columns of videos.csv the package reads; any other column is kept as metadata.
VIDEO_COLUMNS: tuple[str, ...] = ("player", "handedness", "session")

# Label Studio prefixes uploaded file names with 8 hex digits and a hyphen.
_LS_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")
# Class names become parameter and metric names (forehand_recall): MLflow's alphabet.
_CLASS_NAME = re.compile(r"^[/\w.\- :]+$")


class DataFormatError(TennisLabError, ValueError):
    """A dataset file is missing or malformed.

    Attributes
    ----------
    path : str
        The file or folder at fault.
    problem : str
        What is wrong with it.
    fix : str or None
        What to change.
    """

    def __init__(self, path: str | Path, problem: str, fix: str | None = None):
        super().__init__(f"{path}: {problem}", fix=fix, path=str(path))
        self.problem = problem


@dataclass(frozen=True)
class Recording:
    """The pose sequence of one video.

    ``landmarks`` is float32 shaped (frames, landmarks, channels); a frame without
    a detected pose is NaN.
    """

    video_id: str
    landmarks: np.ndarray
    fps: float
    landmark_names: tuple[str, ...]
    channel_names: tuple[str, ...]

    @property
    def n_frames(self) -> int:
        return int(self.landmarks.shape[0])

    @property
    def duration_seconds(self) -> float:
        return self.n_frames / self.fps

    @property
    def missing_frames(self) -> int:
        """Frames with no detected pose (every value NaN)."""
        flat = self.landmarks.reshape(self.n_frames, -1)
        return int(np.isnan(flat).all(axis=1).sum())


@dataclass(frozen=True)
class Skipped:
    """Something a loader left out on purpose, with how many and why."""

    source: str
    reason: str
    count: int = 1


@dataclass(frozen=True)
class DatasetConfig:
    """The optional ``dataset.yaml``.

    ``class_map`` maps an annotation label to a class name; ``ignore_labels`` are
    labels that are skipped (and counted). Without a class map every label is its
    own class.
    """

    class_map: Mapping[str, str] = field(default_factory=dict)
    ignore_labels: frozenset[str] = frozenset()
    description: str = ""

    def resolve(self, label: str) -> str | None:
        """Class of ``label``; ``None`` when the label is ignored; ``KeyError`` when unknown."""
        if label in self.ignore_labels:
            return None
        if not self.class_map:
            return label
        if label in self.class_map:
            return self.class_map[label]
        if label in set(self.class_map.values()):
            return label
        raise KeyError(label)


def _video_table(video_ids: Iterable[str], metadata: pd.DataFrame | None = None) -> pd.DataFrame:
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


@dataclass
class PoseDataset:
    """Recordings, their stroke annotations and video metadata, validated.

    ``annotations`` has columns video_id, start_frame, end_frame, label (the class
    after the class map), raw_label and source (the file it came from).

    ``videos`` has one row per recording, sorted by video_id: columns video_id,
    player, handedness (``"left"``, ``"right"``), session, then any further columns
    of ``videos.csv``; None where unknown (every value, without ``videos.csv``).
    A table given for other recordings is aligned to ``recordings`` on creation.
    """

    root: Path
    recordings: dict[str, Recording]
    annotations: pd.DataFrame
    config: DatasetConfig = field(default_factory=DatasetConfig)
    skipped: list[Skipped] = field(default_factory=list)
    videos: pd.DataFrame = field(default_factory=lambda: _video_table(()))

    def __post_init__(self) -> None:
        self.videos = _video_table(self.recordings, self.videos)

    @property
    def classes(self) -> tuple[str, ...]:
        """Sorted class names that have at least one annotation."""
        return tuple(sorted(self.annotations["label"].unique()))

    @property
    def video_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.recordings))

    @property
    def handedness(self) -> dict[str, str | None]:
        """Video id -> ``"left"``, ``"right"`` or None (unknown), for every recording."""
        return dict(zip(self.videos["video_id"], self.videos["handedness"], strict=True))

    def video_metadata(self) -> dict[str, dict[str, str | None]]:
        """Video id -> {"player", "handedness", "session"} (None where unknown)."""
        return {
            row["video_id"]: {col: row[col] for col in VIDEO_COLUMNS}
            for row in self.videos.to_dict("records")
        }

    def summary(self) -> dict:
        """Facts about the dataset, as plain data (see :func:`format_summary`)."""
        ann = self.annotations
        total_frames = sum(r.n_frames for r in self.recordings.values())
        covered = 0
        for vid, rec in self.recordings.items():
            mask = np.zeros(rec.n_frames, dtype=bool)
            for start, end in ann.loc[ann.video_id == vid, ["start_frame", "end_frame"]].values:
                mask[start:end] = True
            covered += int(mask.sum())
        fps_counts = Counter(r.fps for r in self.recordings.values())
        annotated = set(ann["video_id"])
        videos = self.videos
        hands = Counter(videos["handedness"])
        return {
            "root": str(self.root),
            "description": self.config.description,
            "videos": len(self.recordings),
            "frames": total_frames,
            "duration_seconds": sum(r.duration_seconds for r in self.recordings.values()),
            "fps": dict(sorted(fps_counts.items())),
            "missing_frames": sum(r.missing_frames for r in self.recordings.values()),
            "landmarks": len(next(iter(self.recordings.values())).landmark_names),
            "channels": list(next(iter(self.recordings.values())).channel_names),
            "strokes": len(ann),
            "strokes_per_class": dict(sorted(Counter(ann["label"]).items())),
            "annotation_coverage": covered / total_frames if total_frames else 0.0,
            "unannotated_videos": sorted(set(self.recordings) - annotated),
            "skipped": [(s.source, s.reason, s.count) for s in self.skipped],
            "videos_csv": (Path(self.root) / VIDEOS_CSV).is_file(),
            "players": sorted({p for p in videos["player"] if p is not None}),
            "sessions": sorted({p for p in videos["session"] if p is not None}),
            "handedness": {
                "left": hands["left"],
                "right": hands["right"],
                "unknown": len(videos) - hands["left"] - hands["right"],
            },
        }


# --------------------------------------------------------------------------- recordings


def validate_recording(rec: Recording, source: str | Path) -> None:
    """Raise :class:`DataFormatError` naming ``source`` when ``rec`` is malformed."""
    lm = rec.landmarks
    if lm.ndim != 3:
        raise DataFormatError(
            source,
            f"'landmarks' has rank {lm.ndim} (shape {lm.shape}); expected rank 3 "
            "(frames, landmarks, channels).",
            "reshape to (frames, landmarks, channels), or use `tennis-lab data import` "
            "for MediaPipe (frames, 60) arrays.",
        )
    if lm.shape[0] == 0:
        raise DataFormatError(source, "'landmarks' has no frames.", "remove the file.")
    if not np.issubdtype(lm.dtype, np.floating):
        raise DataFormatError(source, f"'landmarks' has dtype {lm.dtype}; expected float.")
    if np.isinf(lm).any():
        raise DataFormatError(
            source, "'landmarks' holds infinite values.", "write NaN for missing values."
        )
    fps_ok = isinstance(rec.fps, numbers.Real) and not isinstance(rec.fps, bool)
    if not (fps_ok and math.isfinite(rec.fps) and rec.fps > 0):
        raise DataFormatError(
            source, f"fps is {rec.fps!r}; it must be a positive number.", "store the video's fps."
        )
    if len(rec.landmark_names) != lm.shape[1]:
        raise DataFormatError(
            source,
            f"{len(rec.landmark_names)} landmark_names for {lm.shape[1]} landmarks "
            f"(landmarks shape {lm.shape}).",
            "give one name per landmark (axis 1 of 'landmarks').",
        )
    if len(rec.channel_names) != lm.shape[2]:
        raise DataFormatError(
            source,
            f"{len(rec.channel_names)} channel_names for {lm.shape[2]} channels "
            f"(landmarks shape {lm.shape}).",
            "give one name per channel (axis 2 of 'landmarks'), e.g. x, y, z, visibility.",
        )
    for what, names in (
        ("landmark_names", rec.landmark_names),
        ("channel_names", rec.channel_names),
    ):
        dupes = [n for n, c in Counter(names).items() if c > 1]
        if dupes:
            raise DataFormatError(source, f"{what} repeats {dupes}.", "make every name unique.")


def write_recording(rec: Recording, path: str | Path) -> Path:
    """Write ``rec`` as a recording ``.npz`` (no pickled objects) and return its path."""
    path = Path(path)
    validate_recording(rec, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        landmarks=np.asarray(rec.landmarks, dtype=np.float32),
        fps=np.float64(rec.fps),
        landmark_names=np.array(rec.landmark_names, dtype=str),
        channel_names=np.array(rec.channel_names, dtype=str),
    )
    return path


def read_recording(path: str | Path) -> Recording:
    """Read and validate one recording ``.npz``; the video id is the file stem.

    The file is read with ``allow_pickle=False``: a user file is never unpickled.
    """
    path = Path(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as exc:  # zipfile/OSError/ValueError from a broken file
        raise DataFormatError(path, f"cannot be read as .npz ({exc}).") from exc
    with npz:
        missing = [
            k for k in ("landmarks", "fps", "landmark_names", "channel_names") if k not in npz
        ]
        if missing:
            raise DataFormatError(
                path,
                f"missing array(s) {missing}; found {sorted(npz.files)}.",
                "store landmarks, fps, landmark_names and channel_names (see docs/data-format.md).",
            )
        try:
            landmarks = npz["landmarks"]
            fps_arr = npz["fps"]
            lnames = npz["landmark_names"]
            cnames = npz["channel_names"]
        except ValueError as exc:
            raise DataFormatError(
                path,
                f"holds an object (pickled) array, which is never loaded ({exc}).",
                "store names as string arrays and numbers as numeric arrays.",
            ) from exc
    if fps_arr.size != 1 or not np.issubdtype(fps_arr.dtype, np.number):
        raise DataFormatError(path, f"fps is {fps_arr!r}; expected one number.")
    if not np.issubdtype(landmarks.dtype, np.number) or np.issubdtype(landmarks.dtype, np.bool_):
        raise DataFormatError(
            path,
            f"'landmarks' has dtype {landmarks.dtype}; expected numbers (float32).",
            "store the coordinates as a float array, NaN where there is no pose.",
        )
    rec = Recording(
        video_id=path.stem,
        landmarks=landmarks.astype(np.float32, copy=False),
        fps=float(fps_arr.reshape(())),
        landmark_names=tuple(str(n) for n in lnames.reshape(-1)),
        channel_names=tuple(str(n) for n in cnames.reshape(-1)),
    )
    validate_recording(rec, path)
    return rec


# --------------------------------------------------------------------------- annotations


def _annotation_frame(rows: Iterable[Mapping], source: str) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=[*ANNOTATION_COLUMNS, "source"])
    if df.empty:
        return df.astype({"start_frame": int, "end_frame": int})
    df["source"] = df["source"].fillna(source)
    return df


def read_annotations_csv(path: str | Path) -> pd.DataFrame:
    """Read ``annotations.csv`` (video_id, start_frame, end_frame, label; end exclusive)."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"video_id": str, "label": str})
    except Exception as exc:
        raise DataFormatError(path, f"cannot be read as CSV ({exc}).") from exc
    missing = [c for c in ANNOTATION_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(
            path,
            f"missing column(s) {missing}; found {list(df.columns)}.",
            "the header must be: video_id,start_frame,end_frame,label",
        )
    for col in ("start_frame", "end_frame"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | (values != values.round())
        if bad.any():
            row = int(bad.idxmax())
            raise DataFormatError(
                path,
                f"row {row + 2}: {col} is {df[col].iloc[row]!r}; expected a whole frame number.",
            )
        df[col] = values.astype(int)
    empty = df["video_id"].isna() | df["label"].isna()
    if empty.any():
        row = int(empty.idxmax())
        raise DataFormatError(path, f"row {row + 2}: video_id or label is empty.")
    df = df[list(ANNOTATION_COLUMNS)].copy()
    df["source"] = str(path)
    return df


def write_annotations_csv(annotations: pd.DataFrame, path: str | Path) -> Path:
    """Write annotations (video_id, start_frame, end_frame, label) as CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    annotations[list(ANNOTATION_COLUMNS)].to_csv(path, index=False)
    return path


def _video_reference(data: Mapping) -> str | None:
    for key in ("video", "video_url", "url"):
        if isinstance(data.get(key), str):
            return data[key]
    strings = [v for v in data.values() if isinstance(v, str)]
    return strings[0] if len(strings) == 1 else None


def video_id_from_path(reference: str) -> str:
    """Video id of a Label Studio task's video path: the file name without extension.

    Local-storage links (``/data/local-files/?d=videos/rally_07.mp4``) name the file
    in their ``d`` query parameter.
    """
    parts = urlsplit(reference.replace("\\", "/"))
    local = parse_qs(parts.query).get("d")
    path = local[0] if local else parts.path
    name = PurePosixPath(path).name
    return name.rsplit(".", 1)[0] if "." in name else name


def read_labelstudio(path: str | Path) -> tuple[pd.DataFrame, list[Skipped]]:
    """Read a Label Studio video timeline export.

    Accepts a single task (an object) or a full project export (a list of tasks),
    with results under ``result`` or ``annotations[*].result``. Only results of type
    ``timelinelabels`` are strokes; Label Studio's frame ranges are 1-based and
    inclusive, so ``{start: s, end: e}`` becomes frames ``[s - 1, e)``.

    Returns
    -------
    annotations : DataFrame
        video_id, start_frame, end_frame, label, source.
    skipped : list of Skipped
        Tasks without a result, results of other types, and similar.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:
        raise DataFormatError(path, f"is not valid JSON ({exc}).") from exc
    tasks = payload if isinstance(payload, list) else [payload]
    rows: list[dict] = []
    skipped: Counter = Counter()
    for t_index, task in enumerate(tasks):
        where = f"task {task.get('id', t_index)}" if isinstance(task, dict) else f"task {t_index}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataFormatError(
                path,
                f"{where} has no 'data' object; this is not a Label Studio task export.",
                "export the project from Label Studio as JSON.",
            )
        reference = _video_reference(task["data"])
        if reference is None:
            raise DataFormatError(
                path,
                f"{where}: cannot tell the video from data {sorted(task['data'])}.",
                "name the video under data.video.",
            )
        video_id = video_id_from_path(reference)
        results = list(task.get("result") or [])
        for ann in task.get("annotations") or []:
            if ann.get("was_cancelled"):
                skipped["cancelled annotation"] += 1
                continue
            results.extend(ann.get("result") or [])
        if not results:
            skipped["task without annotations"] += 1
        for res in results:
            if res.get("type") != "timelinelabels":
                skipped[f"result of type {res.get('type')!r}"] += 1
                continue
            value = res.get("value") or {}
            labels = value.get("timelinelabels") or []
            ranges = value.get("ranges") or []
            if len(labels) != 1:
                raise DataFormatError(
                    path,
                    f"{where}: a timeline region has labels {labels}; expected exactly one.",
                )
            for rng in ranges:
                try:
                    start, end = float(rng["start"]), float(rng["end"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise DataFormatError(
                        path, f"{where}: range {rng!r} has no start and end frame."
                    ) from exc
                if not (start.is_integer() and end.is_integer()):
                    raise DataFormatError(
                        path,
                        f"{where}: range {rng!r} is not in whole frames.",
                        "label with <TimelineLabels> on a <Video>, whose ranges are frames.",
                    )
                start, end = int(start), int(end)
                rows.append(
                    {
                        "video_id": video_id,
                        "start_frame": start - 1,
                        "end_frame": end,
                        "label": labels[0],
                        "source": str(path),
                    }
                )
    return _annotation_frame(rows, str(path)), [
        Skipped(str(path), reason, n) for reason, n in sorted(skipped.items())
    ]


def labelstudio_task(video_path: str, annotations: pd.DataFrame, task_id: int) -> dict:
    """A Label Studio task for a video's annotations (inverse of :func:`read_labelstudio`)."""
    result = [
        {
            "id": f"{task_id}_{i}",
            "type": "timelinelabels",
            "from_name": "stroke",
            "to_name": "video",
            "origin": "manual",
            "value": {
                "ranges": [{"start": int(row.start_frame) + 1, "end": int(row.end_frame)}],
                "timelinelabels": [str(row.label)],
            },
        }
        for i, row in enumerate(annotations.itertuples(index=False))
    ]
    return {
        "id": task_id,
        "data": {"video": video_path},
        "annotations": [{"id": task_id, "was_cancelled": False, "result": result}],
    }


def read_dataset_config(path: str | Path) -> DatasetConfig:
    """Read ``dataset.yaml``: class_map, ignore_labels, description (all optional)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataFormatError(path, f"is not valid YAML ({exc}).") from exc
    if not isinstance(raw, dict):
        raise DataFormatError(path, "must be a mapping (class_map, ignore_labels, description).")
    unknown = sorted(set(raw) - {"class_map", "ignore_labels", "description"})
    if unknown:
        raise DataFormatError(
            path,
            f"unknown key(s) {unknown}.",
            "use only class_map, ignore_labels and description.",
        )
    class_map = raw.get("class_map") or {}
    if not isinstance(class_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in class_map.items()
    ):
        raise DataFormatError(
            path,
            f"class_map must map label to class name (text to text); got {class_map!r}.",
            'write e.g. class_map: {"Fronthand": forehand, "saque": serve}',
        )
    ignore = raw.get("ignore_labels") or []
    if not isinstance(ignore, list) or not all(isinstance(v, str) for v in ignore):
        raise DataFormatError(path, f"ignore_labels must be a list of labels; got {ignore!r}.")
    return DatasetConfig(
        class_map=dict(class_map),
        ignore_labels=frozenset(ignore),
        description=str(raw.get("description") or ""),
    )


# --------------------------------------------------------------------------- videos.csv


def _known_ids_text(video_ids: Collection[str]) -> str:
    ids = sorted(video_ids)
    return f"{ids[:10]}{' ...' if len(ids) > 10 else ''}"


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
    known = set(video_ids)
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
    resolved: list[str] = []
    first_line: dict[str, int] = {}
    for line, raw in zip(lines, df["video_id"], strict=True):
        if not raw:
            raise DataFormatError(
                path,
                f"line {line}: video_id is empty.",
                "give the recording's id (the name of its poses/<video_id>.npz) or remove "
                "the line.",
            )
        vid = _resolve_video_id(raw, known)
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
    df["video_id"] = resolved
    if "handedness" in df.columns:
        hands = df["handedness"].str.lower()
        bad = (hands != "") & ~hands.isin(HANDEDNESS)
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise DataFormatError(
                path,
                f"line {lines[row]}: handedness of {resolved[row]} is "
                f"{df['handedness'].iloc[row]!r}; expected left or right.",
                "write left or right, or leave the cell empty when it is not known.",
            )
        df["handedness"] = hands
    for col in VIDEO_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    extra = [c for c in df.columns if c != "video_id" and c not in VIDEO_COLUMNS]
    df = df[["video_id", *VIDEO_COLUMNS, *extra]].astype(object)
    return df.where(df != "", None).reset_index(drop=True)


# --------------------------------------------------------------------------- dataset


def _resolve_video_id(video_id: str, known: Collection[str]) -> str | None:
    if video_id in known:
        return video_id
    stripped = _LS_UPLOAD_PREFIX.sub("", video_id)
    return stripped if stripped in known else None


def load_dataset(path: str | Path) -> PoseDataset:
    """Load and validate a dataset folder.

    Parameters
    ----------
    path : str or Path
        The dataset folder (``poses/``, ``annotations.csv`` and/or ``labelstudio/``,
        optional ``dataset.yaml`` and ``videos.csv``).

    Returns
    -------
    PoseDataset

    Raises
    ------
    DataFormatError
        Naming the file and the problem: empty or missing folder, malformed
        recording, annotation of an unknown video, past the last frame, with
        start >= end, or with a label the class map does not know; a malformed
        ``videos.csv`` (see :func:`read_videos_csv`).
    """
    root = Path(path)
    if root.is_file():
        raise DataFormatError(
            root,
            "is a file, not a dataset folder.",
            f"give the folder holding poses/ (this file's folder is {root.parent}).",
        )
    if not root.is_dir():
        raise DataFormatError(
            root,
            "dataset folder does not exist.",
            "give the folder holding poses/ (or run `tennis-lab data demo DIR` for demo data).",
        )
    poses_dir = root / POSES_DIR
    files = sorted(poses_dir.glob("*")) if poses_dir.is_dir() else []
    skipped: list[Skipped] = []
    others = [f for f in files if f.suffix != ".npz"]
    if others:
        skipped.append(Skipped(str(poses_dir), "not a .npz recording", len(others)))
    npz_files = [f for f in files if f.suffix == ".npz"]
    if not npz_files:
        raise DataFormatError(
            poses_dir,
            "no recordings (*.npz) found.",
            "put one <video_id>.npz per video there, or convert MediaPipe/CSV output with "
            "`tennis-lab data import`.",
        )
    recordings = {f.stem: read_recording(f) for f in npz_files}
    layouts = {(r.landmark_names, r.channel_names) for r in recordings.values()}
    if len(layouts) > 1:
        first = npz_files[0]
        for f in npz_files[1:]:
            r = recordings[f.stem]
            if (r.landmark_names, r.channel_names) != (
                recordings[first.stem].landmark_names,
                recordings[first.stem].channel_names,
            ):
                raise DataFormatError(
                    f,
                    f"its landmark/channel names differ from {first.name}'s; every recording "
                    "of a dataset must share one layout.",
                    "convert all videos with the same pose extractor settings.",
                )

    config = DatasetConfig()
    if (root / DATASET_YAML).is_file():
        config = read_dataset_config(root / DATASET_YAML)

    frames: list[pd.DataFrame] = []
    if (root / ANNOTATIONS_CSV).is_file():
        frames.append(read_annotations_csv(root / ANNOTATIONS_CSV))
    for ls_file in sorted((root / LABELSTUDIO_DIR).glob("*.json")):
        df, ls_skipped = read_labelstudio(ls_file)
        frames.append(df)
        skipped.extend(ls_skipped)
    if not frames:
        raise DataFormatError(
            root,
            f"no annotations: neither {ANNOTATIONS_CSV} nor {LABELSTUDIO_DIR}/*.json exists.",
            "add stroke annotations (see docs/data-format.md).",
        )
    ann = pd.concat(frames, ignore_index=True)
    ann = _validate_annotations(ann, recordings, config, skipped)
    metadata = None
    if (root / VIDEOS_CSV).is_file():
        metadata = read_videos_csv(root / VIDEOS_CSV, recordings)
    no_pose = sorted(v for v, r in recordings.items() if r.missing_frames == r.n_frames)
    if no_pose:
        warnings.warn(
            f"{len(no_pose)} of {len(recordings)} recordings in {poses_dir} have no pose in any "
            f"frame ({', '.join(no_pose[:10])}{' ...' if len(no_pose) > 10 else ''}): their "
            "windows are all zeros. Re-run pose extraction on those videos, or remove their files.",
            stacklevel=2,
        )
    return PoseDataset(
        root=root,
        recordings=recordings,
        annotations=ann,
        config=config,
        skipped=skipped,
        videos=_video_table(recordings, metadata),
    )


def _validate_annotations(
    ann: pd.DataFrame,
    recordings: Mapping[str, Recording],
    config: DatasetConfig,
    skipped: list[Skipped],
) -> pd.DataFrame:
    video_ids, labels, keep = [], [], []
    ignored: Counter = Counter()
    for row in ann.itertuples(index=False):
        vid = _resolve_video_id(str(row.video_id), recordings)
        if vid is None:
            raise DataFormatError(
                row.source,
                f"annotation for unknown video id {row.video_id!r}; recordings are "
                f"{sorted(recordings)[:10]}{' ...' if len(recordings) > 10 else ''}.",
                f"add poses/{row.video_id}.npz or correct the video id.",
            )
        n_frames = recordings[vid].n_frames
        if row.start_frame < 0 or row.start_frame >= row.end_frame:
            raise DataFormatError(
                row.source,
                f"stroke {row.label!r} of {vid} has start_frame {row.start_frame} and end_frame "
                f"{row.end_frame}; start must be >= 0 and below end (end is exclusive).",
            )
        if row.end_frame > n_frames:
            raise DataFormatError(
                row.source,
                f"stroke {row.label!r} of {vid} ends at frame {row.end_frame}, past the "
                f"recording's last frame ({n_frames} frames).",
                "check that the annotation belongs to this video and uses its frame numbers.",
            )
        try:
            label = config.resolve(str(row.label))
        except KeyError:
            raise DataFormatError(
                row.source,
                f"label {row.label!r} (video {vid}) is not in the class map of {DATASET_YAML} "
                f"(labels: {sorted(config.class_map)}; classes: "
                f"{sorted(set(config.class_map.values()))}).",
                f"add it to class_map or to ignore_labels in {DATASET_YAML}.",
            ) from None
        if label is not None and not _CLASS_NAME.match(label):
            raise DataFormatError(
                row.source,
                f"class name {label!r} (label {row.label!r}) has characters that cannot name a "
                "metric; use letters, digits, spaces and _ - . / : only.",
                f"map it to a plain class name with class_map in {DATASET_YAML}.",
            )
        if label is None:
            ignored[(row.source, str(row.label))] += 1
            keep.append(False)
        else:
            keep.append(True)
        video_ids.append(vid)
        labels.append(label)
    for (source, label), n in sorted(ignored.items()):
        skipped.append(Skipped(source, f"ignored label {label!r}", n))
    out = ann.assign(raw_label=ann["label"], video_id=video_ids, label=labels)[keep]
    before = len(out)
    out = out.drop_duplicates(subset=["video_id", "start_frame", "end_frame", "label"])
    if len(out) < before:
        skipped.append(
            Skipped(
                "annotations", "duplicate stroke (same video, frames and class)", before - len(out)
            )
        )
    if out.empty:
        raise DataFormatError(
            ann["source"].iloc[0] if len(ann) else "annotations",
            "no stroke annotations are left (every label is ignored, or there are none).",
        )
    out = out.sort_values(["video_id", "start_frame", "end_frame"]).reset_index(drop=True)
    return out[["video_id", "start_frame", "end_frame", "label", "raw_label", "source"]]


def _names(names: list[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f", ... ({len(names) - most} more)" if len(names) > most else "")


def _video_lines(summary: Mapping) -> list[str]:
    """The videos.csv lines of :func:`format_summary`; none for a summary without them."""
    if "videos_csv" not in summary:  # a summary of an older version (a cache)
        return []
    if not summary["videos_csv"]:
        return [
            f"Players:     unknown (no {VIDEOS_CSV}): splits are by video and no recording "
            "is mirrored"
        ]
    players = summary.get("players") or []
    sessions = summary.get("sessions") or []
    hands = summary.get("handedness") or {}
    lines = [
        f"Players:     {len(players)} ({_names(players)})"
        if players
        else f"Players:     none named in {VIDEOS_CSV}: splits are by video"
    ]
    if sessions:
        lines.append(f"Sessions:    {len(sessions)} ({_names(sessions)})")
    lines.append(
        f"Handedness:  {hands.get('right', 0)} right, {hands.get('left', 0)} left, "
        f"{hands.get('unknown', 0)} unknown (videos)"
    )
    return lines


def format_summary(summary: Mapping) -> str:
    """Human-readable text of :meth:`PoseDataset.summary`.

    A summary without the video metadata keys (written by an older version) is
    shown without the Players, Sessions and Handedness lines.
    """
    lines = [f"Dataset: {summary['root']}"]
    if summary["description"]:
        lines.append(f"  {summary['description'].strip()}")
    fps = ", ".join(f"{float(k):g} fps x{v}" for k, v in summary["fps"].items())
    lines += [
        f"Videos:      {summary['videos']} ({fps})",
        f"Frames:      {summary['frames']} ({summary['duration_seconds'] / 60:.1f} min), "
        f"{summary['missing_frames']} without a pose",
        f"Layout:      {summary['landmarks']} landmarks x {', '.join(summary['channels'])}",
        *_video_lines(summary),
        f"Strokes:     {summary['strokes']}",
    ]
    width = max(len(c) for c in summary["strokes_per_class"]) if summary["strokes_per_class"] else 0
    for label, n in summary["strokes_per_class"].items():
        lines.append(f"  {label:<{width}}  {n:5d}")
    lines.append(f"Annotated:   {summary['annotation_coverage']:.1%} of frames")
    if summary["unannotated_videos"]:
        lines.append(f"No strokes:  {', '.join(summary['unannotated_videos'])}")
    if summary["skipped"]:
        lines.append("Skipped:")
        for source, reason, n in summary["skipped"]:
            lines.append(f"  {n:5d} x {reason} ({source})")
    else:
        lines.append("Skipped:     nothing")
    return "\n".join(lines)
