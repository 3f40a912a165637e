"""From pose recordings to labelled windows: arrays in, arrays out.

Steps, in order, for each recording:

1. missing frames (NaN) are filled by linear interpolation in time
   (``missing_frames="interpolate"``, the default) or with zeros (``"zero"``);
2. optionally, body-centred normalisation: x/y/z are centred on the hip midpoint
   of each frame and divided by the recording's median torso length;
3. with ``enable_fps_scaling`` the recording is resampled to ``reference_fps`` so
   that a window of ``window_size`` frames lasts the same time in every video;
4. sliding windows of ``window_size`` frames every ``stride = window_size - overlap``
   frames (vectorised: no Python loop over windows; a window is an offset into
   one buffer of frames, copied out only when a batch is needed);
5. each window is labelled (see :func:`label_windows`).

Labelling rule: a stroke *covers* a window by the number of frames they share,
divided by the shorter of the two (the window, or the stroke when the stroke is
shorter). A window takes the label of the stroke that covers it most when that
coverage is at least ``min_stroke_coverage``. A window no stroke touches is *idle*
(kept as class ``idle`` with ``include_idle``, else dropped); a window touched but
covered less than the threshold is ambiguous and dropped. Every drop is counted.

This module imports nothing else of the package: ``make_windows`` takes any object
with ``recordings`` (video id -> object with landmarks, fps, landmark_names,
channel_names) and ``annotations`` (DataFrame with video_id, start_frame,
end_frame, label), such as :class:`tennis_lab.poses.PoseDataset`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IDLE = "idle"
IDLE_CODE = -1
AMBIGUOUS_CODE = -2
SPATIAL_CHANNELS = ("x", "y", "z")
MISSING_FRAME_METHODS = ("interpolate", "zero")
NORMALIZATIONS = ("none", "body")


class WindowingError(ValueError):
    """Windowing parameters that cannot work, or data that gives no windows."""


@dataclass
class WindowSet:
    """Labelled windows of a dataset, stored without copying frames per window.

    The preprocessed frames of all videos sit in one buffer; a window is an offset
    into it. ``X`` materialises the windows as one array when wanted; training
    takes them batch by batch with :meth:`windows`, so overlapping windows never
    multiply the memory held.

    Attributes
    ----------
    frames : ndarray, float32, (frames, features)
        Preprocessed frames of every video that has windows, one after another.
    offsets : ndarray, int64, (windows,)
        Row of ``frames`` where each window begins.
    window_size : int
    y : ndarray, int64, (windows,)
        Index into ``classes``.
    groups : ndarray of str, (windows,)
        Video id of each window (split by this).
    starts : ndarray, int64, (windows,)
        First frame of each window, on the windowing timeline of its video.
    classes : tuple of str
    feature_names : tuple of str
        ``<landmark>_<channel>`` for each feature.
    params : dict
        The windowing parameters used.
    counts : dict
        Windows made, kept, and dropped (idle, ambiguous).
    """

    frames: np.ndarray
    offsets: np.ndarray
    window_size: int
    y: np.ndarray
    groups: np.ndarray
    starts: np.ndarray
    classes: tuple[str, ...]
    feature_names: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of :attr:`X`: (windows, window_size, features)."""
        return (len(self.y), self.window_size, self.frames.shape[1])

    @property
    def X(self) -> np.ndarray:
        """All windows as one new array (windows, window_size, features)."""
        return cut_windows(self.frames, self.offsets, self.window_size)

    def windows(self, index: np.ndarray | slice) -> np.ndarray:
        """The windows at ``index`` as a new array (n, window_size, features)."""
        return cut_windows(self.frames, self.offsets[index], self.window_size)

    def class_counts(self, index: np.ndarray | None = None) -> dict[str, int]:
        """Windows per class (of the windows in ``index``, default all)."""
        y = self.y if index is None else self.y[index]
        counts = np.bincount(y, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts, strict=True)}

    def subset(self, index: np.ndarray) -> WindowSet:
        """The windows at ``index``, sharing the frame buffer."""
        return WindowSet(
            self.frames, self.offsets[index], self.window_size, self.y[index],
            self.groups[index], self.starts[index], self.classes, self.feature_names,
            dict(self.params), dict(self.counts),
        )  # fmt: skip


@dataclass(frozen=True)
class Split:
    """Window indices of a split by video, and the videos in each part."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    train_videos: tuple[str, ...]
    val_videos: tuple[str, ...]
    test_videos: tuple[str, ...]


# --------------------------------------------------------------------------- frames


def fill_missing(landmarks: np.ndarray, method: str = "interpolate") -> np.ndarray:
    """Replace NaN values along the frame axis.

    Parameters
    ----------
    landmarks : ndarray (frames, ...)
    method : {"interpolate", "zero"}
        ``interpolate``: linear in time between the nearest valid frames, the
        nearest valid value before the first or after the last; a coordinate with
        no valid value at all becomes 0. ``zero``: every NaN becomes 0.

    Returns
    -------
    ndarray of the same shape and dtype, without NaN.
    """
    if method not in MISSING_FRAME_METHODS:
        raise WindowingError(
            f"missing_frames={method!r} is not one of {list(MISSING_FRAME_METHODS)}."
        )
    flat = landmarks.reshape(landmarks.shape[0], -1)
    nan = np.isnan(flat)
    if not nan.any():
        return landmarks.copy()
    out = flat.copy()
    if method == "zero":
        out[nan] = 0.0
        return out.reshape(landmarks.shape)
    # Frames where the tracker lost the whole pose share one mask: interpolate those
    # columns together; columns with their own gaps (one joint lost) one by one.
    lost = nan.all(axis=1)
    together = (nan == lost[:, None]).all(axis=0) & lost.any()
    if together.any():
        out[:, together] = _interpolate_rows(flat[:, together], lost)
    frames = np.arange(flat.shape[0])
    for col in np.flatnonzero(nan.any(axis=0) & ~together):
        valid = ~nan[:, col]
        if valid.any():
            out[:, col] = np.interp(frames, frames[valid], flat[valid, col])
        else:
            out[:, col] = 0.0
    return out.reshape(landmarks.shape)


def _interpolate_rows(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Linear interpolation over the rows in ``missing`` of every column at once."""
    n = len(values)
    index = np.arange(n)
    if missing.all():
        return np.zeros_like(values)
    before = np.maximum.accumulate(np.where(missing, -1, index))
    after = np.minimum.accumulate(np.where(missing, n, index)[::-1])[::-1]
    lo = np.where(before < 0, after, before)
    hi = np.where(after >= n, before, after)
    weight = np.where(hi > lo, (index - lo) / np.maximum(hi - lo, 1), 0.0).astype(values.dtype)
    out = values.copy()
    rows = np.flatnonzero(missing)
    w = weight[rows, None]
    out[rows] = values[lo[rows]] * (1 - w) + values[hi[rows]] * w
    return out


def resampled_length(n_frames: int, fps: float, target_fps: float) -> int:
    """Frames left after resampling ``n_frames`` from ``fps`` to ``target_fps``."""
    if fps <= 0 or target_fps <= 0:
        raise WindowingError(f"fps must be positive (got fps={fps}, target_fps={target_fps}).")
    if fps == target_fps or n_frames < 2:
        return n_frames
    return int(np.floor((n_frames - 1) * target_fps / fps + 1e-9)) + 1


def resample(landmarks: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """Resample a sequence from ``fps`` to ``target_fps`` by linear interpolation in time.

    Output frame k is at time ``k / target_fps``; there are
    ``floor((frames - 1) * target_fps / fps) + 1`` of them.
    """
    n = landmarks.shape[0]
    n_out = resampled_length(n, fps, target_fps)
    if n_out == n and fps == target_fps:
        return landmarks.copy()
    t = np.arange(n_out) * (fps / target_fps)
    i0 = np.minimum(np.floor(t).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (t - i0).astype(landmarks.dtype).reshape(-1, *([1] * (landmarks.ndim - 1)))
    return landmarks[i0] * (1 - w) + landmarks[i1] * w


def normalize_body(
    landmarks: np.ndarray, landmark_names: Sequence[str], channel_names: Sequence[str]
) -> np.ndarray:
    """Centre x/y/z on the hip midpoint of each frame; scale by the median torso length.

    Torso length is the distance between the shoulder midpoint and the hip midpoint
    (over the spatial channels). Non-spatial channels (e.g. visibility) are unchanged.
    Needs landmarks named left_hip, right_hip, left_shoulder, right_shoulder.
    """
    names = list(landmark_names)
    needed = ["left_hip", "right_hip", "left_shoulder", "right_shoulder"]
    missing = [n for n in needed if n not in names]
    if missing:
        raise WindowingError(
            f"normalization='body' needs landmarks {missing}, which the recording lacks "
            f"(it has {names[:8]}...). Use normalization='none'."
        )
    spatial = [i for i, c in enumerate(channel_names) if c in SPATIAL_CHANNELS]
    if not spatial:
        raise WindowingError(
            f"normalization='body' needs channels named x/y/z; the recording has "
            f"{list(channel_names)}."
        )
    lh, rh, ls, rs = (names.index(n) for n in needed)
    pts = landmarks[:, :, spatial]
    hip = (pts[:, lh] + pts[:, rh]) / 2
    shoulder = (pts[:, ls] + pts[:, rs]) / 2
    torso = np.linalg.norm(shoulder - hip, axis=-1)
    torso = torso[np.isfinite(torso)]
    scale = float(np.median(torso)) if torso.size else 1.0
    if not scale > 1e-9:
        scale = 1.0
    out = landmarks.copy()
    out[:, :, spatial] = (pts - hip[:, None, :]) / scale
    return out


# --------------------------------------------------------------------------- windows


def window_starts(n_frames: int, window_size: int, stride: int) -> np.ndarray:
    """First frames of all complete windows of ``window_size`` frames every ``stride`` frames."""
    if n_frames < window_size:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_frames - window_size + 1, stride, dtype=np.int64)


def cut_windows(frames: np.ndarray, starts: np.ndarray, window_size: int) -> np.ndarray:
    """Gather the windows of ``frames`` (frames, features) that begin at ``starts``.

    Returns a contiguous array (windows, window_size, features), built with one
    fancy-indexing gather of whole frame rows: no Python loop over windows.
    """
    index = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(window_size)
    return frames[index]


def sliding_windows(frames: np.ndarray, window_size: int, stride: int) -> np.ndarray:
    """All windows of ``frames`` (frames, features) -> (windows, window_size, features)."""
    return cut_windows(frames, window_starts(frames.shape[0], window_size, stride), window_size)


def label_windows(
    starts: np.ndarray,
    window_size: int,
    stroke_starts: np.ndarray,
    stroke_ends: np.ndarray,
    stroke_codes: np.ndarray,
    min_stroke_coverage: float,
) -> np.ndarray:
    """Label windows from strokes (frame ranges, end exclusive).

    Returns
    -------
    ndarray of int64, (windows,)
        The stroke's code, :data:`IDLE_CODE` where no stroke touches the window,
        or :data:`AMBIGUOUS_CODE` where the best coverage is below the threshold.
    """
    if len(stroke_starts) == 0:
        return np.full(len(starts), IDLE_CODE, dtype=np.int64)
    w0 = starts[:, None]
    w1 = w0 + window_size
    shared = np.minimum(w1, stroke_ends[None, :]) - np.maximum(w0, stroke_starts[None, :])
    shared = np.clip(shared, 0, None)
    shorter = np.minimum(window_size, stroke_ends - stroke_starts)[None, :]
    coverage = shared / shorter
    best = coverage.argmax(axis=1)
    best_cov = coverage[np.arange(len(starts)), best]
    labels = np.where(best_cov >= min_stroke_coverage, stroke_codes[best], AMBIGUOUS_CODE)
    return np.where(shared.max(axis=1) == 0, IDLE_CODE, labels).astype(np.int64)


def check_window_params(window_size: int, overlap: int) -> int:
    """Validate window_size and overlap; return the stride."""
    for name, value in (("window_size", window_size), ("overlap", overlap)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise WindowingError(f"{name} must be a whole number of frames; got {value!r}.")
    if window_size < 2:
        raise WindowingError(f"window_size must be at least 2 frames; got {window_size}.")
    if overlap < 0:
        raise WindowingError(f"overlap must be >= 0 frames; got {overlap}.")
    if overlap >= window_size:
        raise WindowingError(
            f"overlap ({overlap}) must be smaller than window_size ({window_size}): "
            f"the stride window_size - overlap would be {window_size - overlap}. "
            "Lower overlap or raise window_size."
        )
    return int(window_size - overlap)


def make_windows(
    dataset: Any,
    window_size: int = 45,
    overlap: int = 30,
    enable_fps_scaling: bool = True,
    reference_fps: float = 30.0,
    min_stroke_coverage: float = 0.5,
    include_idle: bool = False,
    normalization: str = "body",
    missing_frames: str = "interpolate",
) -> WindowSet:
    """Cut a dataset into labelled windows.

    Parameters
    ----------
    dataset : PoseDataset or alike
        ``recordings`` and ``annotations`` (see the module docstring).
    window_size, overlap : int
        In frames at ``reference_fps`` (or at each video's own fps when fps scaling
        is off). ``stride = window_size - overlap``.
    enable_fps_scaling : bool
        Resample every recording to ``reference_fps`` first. When off and the
        videos' frame rates differ, a warning says so.
    min_stroke_coverage : float in (0, 1]
        See the labelling rule in the module docstring.
    include_idle : bool
        Keep windows without any stroke as class ``idle``.
    normalization : {"body", "none"}
        ``body`` (the default) removes camera distance and framing: see
        :func:`normalize_body`. ``none`` keeps image coordinates.
    missing_frames : {"interpolate", "zero"}

    Returns
    -------
    WindowSet

    Raises
    ------
    WindowingError
        Bad parameters, or no windows at all (the message says why and what to change).
    """
    stride = check_window_params(window_size, overlap)
    if not 0 < min_stroke_coverage <= 1:
        raise WindowingError(f"min_stroke_coverage must be in (0, 1]; got {min_stroke_coverage}.")
    if normalization not in NORMALIZATIONS:
        raise WindowingError(
            f"normalization={normalization!r} is not one of {list(NORMALIZATIONS)}."
        )
    if reference_fps <= 0:
        raise WindowingError(f"reference_fps must be positive; got {reference_fps}.")
    recordings: Mapping[str, Any] = dataset.recordings
    if not recordings:
        raise WindowingError("the dataset has no recordings.")
    annotations = dataset.annotations
    stroke_classes = sorted(annotations["label"].unique())
    classes = tuple(stroke_classes) + (
        (IDLE,) if include_idle and IDLE not in stroke_classes else ()
    )
    code_of = {c: i for i, c in enumerate(classes)}

    fps_values = sorted({float(r.fps) for r in recordings.values()})
    if not enable_fps_scaling and len(fps_values) > 1:
        warnings.warn(
            f"frame rates differ between videos "
            f"({', '.join(f'{f:g}' for f in fps_values)} fps) and "
            "fps scaling is off: a window of "
            f"{window_size} frames spans different durations in different videos. "
            "Set enable_fps_scaling=True to resample to one frame rate.",
            stacklevel=2,
        )

    first = next(iter(recordings.values()))
    feature_names = tuple(f"{lm}_{ch}" for lm in first.landmark_names for ch in first.channel_names)
    # one buffer for the preprocessed frames of every video; windows are offsets into it
    order = sorted(recordings)
    lengths = [len(recordings[v].landmarks) for v in order]
    if enable_fps_scaling:
        lengths = [
            resampled_length(n, recordings[v].fps, reference_fps)
            for v, n in zip(order, lengths, strict=True)
        ]
    buffer = np.empty((sum(lengths), len(feature_names)), dtype=np.float32)
    offsets, ys, gs, ss = [], [], [], []
    base = 0
    made = idle = ambiguous = 0
    longest = 0
    for video_id, length in zip(order, lengths, strict=True):
        rec = recordings[video_id]
        frames = fill_missing(np.asarray(rec.landmarks, dtype=np.float32), missing_frames)
        if normalization == "body":
            frames = normalize_body(frames, rec.landmark_names, rec.channel_names)
        scale = reference_fps / rec.fps if enable_fps_scaling else 1.0
        if enable_fps_scaling:
            frames = resample(frames, rec.fps, reference_fps)
        frames = frames.reshape(frames.shape[0], -1)
        if frames.shape != (length, buffer.shape[1]):
            raise WindowingError(
                f"video {video_id}: its frames have layout {frames.shape[1]} features, the first "
                f"video's {buffer.shape[1]}; every recording must share one landmark layout."
            )
        buffer[base : base + length] = frames
        video_base = base
        base += length
        longest = max(longest, length)
        starts = window_starts(frames.shape[0], window_size, stride)
        if len(starts) == 0:
            continue
        strokes = annotations[annotations["video_id"] == video_id]
        s0 = np.round(strokes["start_frame"].to_numpy() * scale).astype(np.int64)
        s1 = np.maximum(np.round(strokes["end_frame"].to_numpy() * scale).astype(np.int64), s0 + 1)
        codes = np.array([code_of[c] for c in strokes["label"]], dtype=np.int64)
        labels = label_windows(starts, window_size, s0, s1, codes, min_stroke_coverage)
        made += len(starts)
        ambiguous += int((labels == AMBIGUOUS_CODE).sum())
        if include_idle and IDLE in code_of:
            labels = np.where(labels == IDLE_CODE, code_of[IDLE], labels)
        else:
            idle += int((labels == IDLE_CODE).sum())
        keep = labels >= 0
        if not keep.any():
            continue
        offsets.append(video_base + starts[keep])
        ys.append(labels[keep])
        gs.append(np.full(int(keep.sum()), video_id, dtype=object))
        ss.append(starts[keep])

    params = {
        "window_size": window_size, "overlap": overlap, "stride": stride,
        "enable_fps_scaling": enable_fps_scaling, "reference_fps": reference_fps,
        "min_stroke_coverage": min_stroke_coverage, "include_idle": include_idle,
        "normalization": normalization, "missing_frames": missing_frames,
    }  # fmt: skip
    if not ys:
        raise WindowingError(_no_windows_reason(params, longest, made, annotations, fps_values))
    y = np.concatenate(ys)
    counts = {
        "windows_made": made, "windows_kept": len(y),
        "dropped_idle": idle, "dropped_ambiguous": ambiguous,
    }  # fmt: skip
    return WindowSet(
        frames=buffer,
        offsets=np.concatenate(offsets), window_size=window_size, y=y,
        groups=np.concatenate(gs).astype(str), starts=np.concatenate(ss),
        classes=classes, feature_names=feature_names, params=params, counts=counts,
    )  # fmt: skip


def _no_windows_reason(params, longest, made, annotations, fps_values) -> str:
    w = params["window_size"]
    timeline = (
        f"{params['reference_fps']:g} fps"
        if params["enable_fps_scaling"]
        else "each video's own fps"
    )
    if made == 0:
        return (
            f"No sequences created: window_size {w} frames (at {timeline}) is longer than every "
            f"recording (the longest has {longest} frames). Use a smaller window_size."
        )
    lengths = (annotations["end_frame"] - annotations["start_frame"]).to_numpy()
    return (
        f"No sequences created: none of the {made} windows is covered at least "
        f"{params['min_stroke_coverage']:.0%} by one stroke (window_size {w} frames at {timeline}, "
        f"overlap {params['overlap']}; strokes last {lengths.min()}-{lengths.max()} frames at "
        f"{', '.join(f'{f:g}' for f in fps_values)} fps). Lower min_stroke_coverage, use a "
        "smaller window_size or a larger overlap, or set include_idle=True."
    )


# --------------------------------------------------------------------------- splits


def split_by_video(
    groups: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
) -> Split:
    """Split windows into train / validation / test by video.

    No video has windows in two parts. Videos are taken in a seeded random order
    and each goes to the part whose per-class window counts are furthest below
    their targets (``fraction * windows of that class``), so every part gets a
    share of every class as far as the videos allow. Each part gets at least one
    video.

    Raises
    ------
    WindowingError
        Fewer than three videos with windows, or fractions out of range.
    """
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < frac < 1:
            raise WindowingError(f"{name} must be between 0 and 1; got {frac}.")
    if val_fraction + test_fraction >= 1:
        raise WindowingError(
            f"val_fraction + test_fraction must be below 1; got {val_fraction + test_fraction}."
        )
    groups = np.asarray(groups)
    videos, video_index = np.unique(groups, return_inverse=True)
    if len(videos) < 3:
        raise WindowingError(
            f"a split by video needs at least 3 videos with windows (train, validation, test); "
            f"got {len(videos)} ({', '.join(map(str, videos))}). Add recordings, or check that "
            "window_size fits the strokes of more videos."
        )
    n_classes = int(y.max()) + 1
    per_video = np.zeros((len(videos), n_classes), dtype=np.int64)
    np.add.at(per_video, (video_index, y), 1)
    fractions = np.array([1 - val_fraction - test_fraction, val_fraction, test_fraction])
    totals = per_video.sum(axis=0).astype(float)
    target = fractions[:, None] * totals[None, :]
    current = np.zeros_like(target)
    part_of = np.empty(len(videos), dtype=np.int64)
    empty_parts = {0, 1, 2}
    order = np.random.default_rng(seed).permutation(len(videos))
    for k, v in enumerate(order):
        remaining = len(order) - k
        candidates = sorted(empty_parts) if remaining <= len(empty_parts) else [0, 1, 2]
        need = (target - current) / np.maximum(totals, 1)[None, :]
        scores = (need * per_video[v][None, :]).sum(axis=1)
        part = max(candidates, key=lambda p: (scores[p], -p))
        part_of[v] = part
        current[part] += per_video[v]
        empty_parts.discard(part)
    index = [np.flatnonzero(part_of[video_index] == p) for p in range(3)]
    names = [tuple(str(v) for v in videos[part_of == p]) for p in range(3)]
    return Split(index[0], index[1], index[2], names[0], names[1], names[2])


def class_weights(
    y: np.ndarray, n_classes: int, mode: str | None = "balanced"
) -> dict[int, float] | None:
    """Per-class loss weights for ``y``.

    ``balanced``: ``n_samples / (n_present_classes * count)``, so every class
    present weighs the same in total; a class absent from ``y`` gets 1.0.
    ``None`` returns None (no weighting).
    """
    if mode is None:
        return None
    if mode != "balanced":
        raise WindowingError(f"class weight mode {mode!r} is not 'balanced' or None.")
    counts = np.bincount(y, minlength=n_classes).astype(float)
    present = counts > 0
    weights = np.ones(n_classes)
    weights[present] = len(y) / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}
