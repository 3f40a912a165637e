"""MediaPipe landmarks saved one row per frame in ``.npz`` files: the layouts and the
importer."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

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
    MEDIAPIPE_CHANNELS,
    MEDIAPIPE_LANDMARKS,
    DataFormatError,
    Recording,
)

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
    check_fps_argument(fps)
    files, skipped = source_files(sources, ".npz")
    return import_recordings(
        files, skipped, dest, lambda f: _convert_mediapipe(f, fps), videos, overwrite
    )


def _convert_mediapipe(path: Path, fps_arg: float | None) -> Converted | str:
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
        fps = fps_value(path, fps_arr.reshape(()).item(), "'fps'")
        if fps_arg is not None and fps_arg != fps:
            notes.append(f"the file's fps {fps:g} was used, not the fps argument {fps_arg:g}.")
    elif fps_arg is not None:
        fps = float(fps_arg)
    else:
        raise DataFormatError(path, "has no 'fps' array and no fps was given.", FPS_FIX)

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
    return Converted(path, rec, f"{width} columns: {layout}", notes)
