"""Recordings: the pose sequence of one video (``poses/<video_id>.npz``); read,
write, validate."""

from __future__ import annotations

import math
import numbers
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tennis_lab.poses.layout import DataFormatError


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
