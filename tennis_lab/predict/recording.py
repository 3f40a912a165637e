"""Predicting one recording: prepared as in training, cut into windows, each frame given
the mean class probabilities of the windows over it, strokes detected; and what the
timeline says about the player's handedness and a model without the idle class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tennis_lab import evaluation
from tennis_lab.poses import Recording, read_recording, read_videos_csv
from tennis_lab.predict.model import PredictError, StrokeModel
from tennis_lab.windows import IDLE, covering_starts, cut_windows, prepare_frames

# Columns of a stroke timeline, one row per detected stroke.
TIMELINE_COLUMNS = (
    "video_id", "start_frame", "end_frame", "start_seconds", "end_seconds", "label",
    "confidence", "handedness", "note",
)  # fmt: skip
# Handedness column values when nobody said (see handedness_label).
ASSUMED_RIGHT = "right (assumed)"
UNKNOWN_HANDEDNESS = "unknown"
NO_IDLE_SHORT = "model has no idle class: cannot say 'no stroke'"


@dataclass
class Timeline:
    """The model's reading of one recording.

    Attributes
    ----------
    video_id : str
    fps : float
        The recording's frame rate (``strokes`` frames count in it).
    timeline_fps : float
        Frame rate of ``frame_probs`` (the model's, or the recording's own).
    frame_probs : ndarray, (frames, classes)
        Mean class probabilities of the windows over each frame (NaN: no window).
    classes : tuple of str
    strokes : DataFrame
        One row per detected stroke, :data:`TIMELINE_COLUMNS`.
    detected : dict of ndarray
        The detected strokes on the model's timeline (``start``, ``end``, ``label``,
        ``confidence``), as :func:`tennis_lab.evaluation.detect_strokes` gives them.
    starts : ndarray
        First frame of each window, on the model's timeline.
    window_probs : ndarray, (windows, classes)
    window_size : int
        Frames per window, on the model's timeline.
    mirrored : bool
        Whether the recording was mirrored (a left-handed player).
    handedness : str
        How the player was read (:func:`handedness_label`).
    annotated : dict of ndarray, optional
        Annotated strokes on the model's timeline, when known (``start``, ``end``,
        ``label``).
    """

    video_id: str
    fps: float
    timeline_fps: float
    frame_probs: np.ndarray
    classes: tuple[str, ...]
    strokes: pd.DataFrame
    detected: dict[str, np.ndarray]
    starts: np.ndarray
    window_probs: np.ndarray
    window_size: int = 0
    mirrored: bool = False
    handedness: str = ASSUMED_RIGHT
    annotated: dict[str, np.ndarray] | None = field(default=None)

    def window_table(self) -> pd.DataFrame:
        """Per-window class probabilities: video, start and end frame (recording's), seconds."""
        scale = self.timeline_fps / self.fps
        start = np.round(self.starts / scale).astype(int)
        end = np.round((self.starts + self.window_size) / scale).astype(int)
        table = pd.DataFrame(
            {
                "video_id": self.video_id,
                "start_frame": start,
                "end_frame": end,
                "start_seconds": np.round(self.starts / self.timeline_fps, 3),
            }
        )
        for i, name in enumerate(self.classes):
            table[f"p_{name}"] = np.round(self.window_probs[:, i], 4)
        return table


def check_layout(model: StrokeModel, recording: Recording, source: str | Path = "") -> None:
    """Raise :class:`PredictError` when ``recording``'s landmarks differ from the model's."""
    want = (tuple(model.spec["landmark_names"]), tuple(model.spec["channel_names"]))
    have = (tuple(recording.landmark_names), tuple(recording.channel_names))
    if want == have:
        return
    where = f"{source}: " if source else f"recording {recording.video_id}: "
    missing = [n for n in want[0] if n not in have[0]]
    if missing:
        detail = f"missing landmarks {missing[:6]}"
    elif want[1] != have[1]:
        detail = f"channels {list(have[1])} instead of {list(want[1])}"
    else:
        detail = "the landmarks are in another order or there are extra ones"
    raise PredictError(
        f"{where}its landmark layout ({len(have[0])} landmarks x {list(have[1])}) differs from "
        f"the model's ({len(want[0])} landmarks x {list(want[1])}): {detail}. Extract the poses "
        "with the same pose estimator (and importer) as the training data."
    )


def _model_frames(
    model: StrokeModel, recording: Recording, left_handed: bool, name: str
) -> tuple[np.ndarray, float]:
    """The recording prepared as in training (mirrored when asked, normalised, resampled
    to the model's frame rate) and the model's frames per recording frame.

    Raises
    ------
    PredictError
        When the recording is shorter than one window.
    """
    spec = model.spec
    frames, scale = prepare_frames(
        recording.landmarks,
        recording.fps,
        recording.landmark_names,
        recording.channel_names,
        mirror=left_handed,
        normalization=spec["normalization"],
        missing_frames=spec["missing_frames"],
        enable_fps_scaling=bool(spec["enable_fps_scaling"]),
        reference_fps=float(spec["reference_fps"]),
    )
    w = model.window_size
    if len(frames) < w:
        fps_model = model.timeline_fps or recording.fps
        raise PredictError(
            f"{name}it has {len(frames)} frames at {fps_model:g} fps "
            f"({len(frames) / fps_model:.2f} s), shorter than one window of {w} frames "
            f"({w / fps_model:.2f} s); give a longer recording."
        )
    return frames, scale


def predict_recording(
    model: StrokeModel,
    recording: Recording,
    *,
    left_handed: bool = False,
    stride: int | None = None,
    threshold: float = 0.0,
    min_frames: int | None = None,
    source: str | Path = "",
    handedness: str | None = None,
) -> Timeline:
    """Detect the strokes of one recording.

    Parameters
    ----------
    model : StrokeModel
    recording : Recording
        At any frame rate (resampled as in training when the model does).
    left_handed : bool
        Mirror the recording into a right-handed frame first (only when the model
        was trained with ``mirror_left_handed``; otherwise an error).
    stride : int, optional
        Frames between windows on the model's timeline; default the training stride.
    threshold : float in [0, 1]
        A frame is a stroke only when its class is at least this probable.
    min_frames : int, optional
        Shortest stroke, in the model's frames; default
        :func:`tennis_lab.evaluation.default_min_frames`.
    source : str or path
        Named in errors (e.g. the file).
    handedness : {"left", "right", None}
        The player's handedness as known (None: nobody said), for the timeline's
        ``handedness`` column; ``left_handed`` alone decides the mirroring.

    Returns
    -------
    Timeline

    Raises
    ------
    PredictError
        A different landmark layout, a recording shorter than one window, bad options.
    """
    check_layout(model, recording, source)
    name = f"{source}: " if source else f"recording {recording.video_id}: "
    if left_handed and not model.spec.get("mirror_left_handed", False):
        raise PredictError(
            f"{name}left_handed was asked for, but the model was trained without "
            "mirror_left_handed: it saw left-handed players as they are; drop --left-handed."
        )
    step = model.stride if stride is None else int(stride)
    if step < 1:
        raise PredictError(f"stride must be a positive number of frames; got {stride!r}.")
    frames, scale = _model_frames(model, recording, left_handed, name)
    w = model.window_size
    starts = covering_starts(len(frames), w, step)
    window_probs = model.predict_windows(cut_windows(frames, starts, w))
    frame_probs = evaluation.frame_probabilities(window_probs, starts, w, len(frames))
    detected = evaluation.detect_strokes(
        frame_probs,
        model.classes,
        idle=IDLE if model.has_idle else None,
        threshold=threshold,
        min_frames=(
            evaluation.default_min_frames(w, model.stride) if min_frames is None else min_frames
        ),
    )
    timeline_fps = recording.fps * scale
    hand = handedness_label(model, "left" if left_handed else handedness)
    rows = _stroke_rows(recording, detected, scale, model.classes)
    rows["handedness"] = hand
    rows["note"] = "" if model.has_idle else NO_IDLE_SHORT
    return Timeline(
        video_id=recording.video_id,
        fps=float(recording.fps),
        timeline_fps=float(timeline_fps),
        frame_probs=frame_probs,
        classes=model.classes,
        strokes=rows[list(TIMELINE_COLUMNS)],
        detected=detected,
        starts=starts,
        window_probs=window_probs,
        window_size=w,
        mirrored=left_handed,
        handedness=hand,
    )


def _stroke_rows(
    recording: Recording, detected: Mapping[str, np.ndarray], scale: float, classes
) -> pd.DataFrame:
    """Detected strokes in the recording's own frames and in seconds."""
    start = np.round(np.asarray(detected["start"]) / scale).astype(int)
    end = np.minimum(np.round(np.asarray(detected["end"]) / scale).astype(int), recording.n_frames)
    return pd.DataFrame(
        {
            "video_id": recording.video_id,
            "start_frame": start,
            "end_frame": end,
            "start_seconds": np.round(start / recording.fps, 3),
            "end_seconds": np.round(end / recording.fps, 3),
            "label": [classes[int(c)] for c in detected["label"]],
            "confidence": np.round(np.asarray(detected["confidence"], dtype=float), 3),
        },
    )


def read_recordings(paths: Sequence[str | Path]) -> list[tuple[Path, Recording]]:
    """Read every recording file, all before any prediction (errors name the file)."""
    if not paths:
        raise PredictError("no recording given: name one or more .npz files.")
    read = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise PredictError(f"recording {path} does not exist.")
        read.append((path, read_recording(path)))
    return read


def handedness_of(recordings: Sequence[Recording], videos_csv: str | Path | None) -> dict:
    """Video id -> ``left`` / ``right`` / None, from a videos.csv (None: unknown)."""
    if videos_csv is None:
        return {}
    path = Path(videos_csv)
    if not path.is_file():
        raise PredictError(f"videos file {path} does not exist.")
    import csv

    with open(path, newline="", encoding="utf-8-sig") as handle:  # it may list other videos
        listed = {(row.get("video_id") or "").strip() for row in csv.DictReader(handle)}
    table = read_videos_csv(path, (listed - {""}) | {r.video_id for r in recordings})
    if "handedness" not in table.columns:
        return {}
    return {
        str(v): (h if isinstance(h, str) else None)
        for v, h in zip(table["video_id"], table["handedness"], strict=True)
    }


def handedness_label(model: StrokeModel, handedness: str | None) -> str:
    """The ``handedness`` column's value: as given, else ``right (assumed)``.

    A model trained without ``mirror_left_handed`` reads every player as recorded,
    so nothing is assumed: ``unknown``.
    """
    if handedness in ("left", "right"):
        return handedness
    return ASSUMED_RIGHT if model.mirrors else UNKNOWN_HANDEDNESS


def handedness_warning(video_id: str, videos_csv: str | Path | None) -> str:
    """What to tell a user whose recording was read as right-handed for want of better."""
    fix = (
        f"write left or right in the handedness column of {videos_csv} for it"
        if videos_csv
        else "pass --left-handed or --videos videos.csv"
    )
    return f"handedness unknown for {video_id}: assumed right-handed; {fix}"


def no_idle_note(model: StrokeModel, threshold: float) -> str | None:
    """What to tell a user whose model cannot say "no stroke" (None when it can)."""
    if model.has_idle:
        return None
    note = (
        "this model was trained without the idle class (include_idle: false), so it "
        "cannot say 'no stroke': every stretch of the recording gets some stroke class. "
        "For detection, train with include_idle: true."
    )
    if threshold <= 0:
        note += " Meanwhile --threshold 0.8 keeps only the stretches it is confident about."
    return note
