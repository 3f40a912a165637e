"""The dataset: a folder of recordings, annotations and video metadata, loaded and
validated as one :class:`PoseDataset`, and its summary."""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tennis_lab.poses.annotations import (
    DatasetConfig,
    Skipped,
    read_annotations_csv,
    read_dataset_config,
)
from tennis_lab.poses.labelstudio import read_labelstudio, resolve_video_id
from tennis_lab.poses.layout import (
    ANNOTATIONS_CSV,
    DATASET_YAML,
    LABELSTUDIO_DIR,
    POSES_DIR,
    VIDEO_COLUMNS,
    VIDEOS_CSV,
    DataFormatError,
)
from tennis_lab.poses.recordings import Recording, read_recording
from tennis_lab.poses.videos import read_videos_csv, video_table

# Class names become parameter and metric names (forehand_recall): MLflow's alphabet.
_CLASS_NAME = re.compile(r"^[/\w.\- :]+$")


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
    videos: pd.DataFrame = field(default_factory=lambda: video_table(()))

    def __post_init__(self) -> None:
        self.videos = video_table(self.recordings, self.videos)

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


def _read_recordings(poses_dir: Path, skipped: list[Skipped]) -> dict[str, Recording]:
    """Every recording of ``poses/``, by video id, all of one layout; other files are
    counted in ``skipped``."""
    files = sorted(poses_dir.glob("*")) if poses_dir.is_dir() else []
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
    return recordings


def _read_annotation_files(root: Path, skipped: list[Skipped]) -> pd.DataFrame:
    """The strokes of ``annotations.csv`` and ``labelstudio/*.json`` together, as read;
    what Label Studio's reader skips is counted in ``skipped``."""
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
    return pd.concat(frames, ignore_index=True)


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
    skipped: list[Skipped] = []
    recordings = _read_recordings(poses_dir, skipped)
    config = DatasetConfig()
    if (root / DATASET_YAML).is_file():
        config = read_dataset_config(root / DATASET_YAML)

    ann = _read_annotation_files(root, skipped)
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
        videos=video_table(recordings, metadata),
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
        vid = resolve_video_id(str(row.video_id), recordings)
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
