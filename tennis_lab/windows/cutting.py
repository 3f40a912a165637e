"""Labelled windows of a dataset: sliding windows, their labels, and the :class:`WindowSet`.

See :mod:`tennis_lab.windows` for the steps and the labelling rule.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tennis_lab import params as contract
from tennis_lab.windows.frames import (
    IMAGE_CENTRE_X,
    WindowingError,
    mirror_landmarks,
    mirror_pairs,
    prepare_frames,
    resampled_length,
)

IDLE = "idle"
IDLE_CODE = -1
AMBIGUOUS_CODE = -2
TIED_CODE = -3
# The windowing parameters (the data group), as make_windows records them with the stride.
DATA_PARAMS = contract.names("data")
# Version of WindowSet.preprocessing(): a model records it with its data parameters.
PREPROCESSING_VERSION = 1


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
        Windows made, kept, and dropped (idle, ambiguous, tied); videos mirrored.
    landmark_names, channel_names : tuple of str
        The layout of a frame: ``features = landmarks x channels``.
    video_ids : tuple of str
        Every video, in the order of the frame buffer.
    video_offsets, video_lengths : ndarray, int64, (videos,)
        First row in ``frames`` and number of frames of each video.
    strokes : dict of str to ndarray
        Every annotated stroke on the windowing timeline: ``video`` (str),
        ``start``, ``end`` (frames, end exclusive) and ``y`` (class index).
    videos : dict of str to dict
        Per-video metadata: ``player``, ``handedness``, ``session`` (None when
        unknown) and ``mirrored`` (bool).
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
    landmark_names: tuple[str, ...] = ()
    channel_names: tuple[str, ...] = ()
    video_ids: tuple[str, ...] = ()
    video_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    video_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    strokes: dict[str, np.ndarray] = field(default_factory=dict)
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)

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
        """The windows at ``index``, sharing the frame buffer (strokes and videos kept)."""
        return WindowSet(
            self.frames, self.offsets[index], self.window_size, self.y[index],
            self.groups[index], self.starts[index], self.classes, self.feature_names,
            dict(self.params), dict(self.counts), self.landmark_names, self.channel_names,
            self.video_ids, self.video_offsets, self.video_lengths, self.strokes, self.videos,
        )  # fmt: skip

    def scoring_windows(self, videos: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every window of ``videos`` a stroke could fall in, labelled or not.

        The complete windows every ``stride`` frames, plus one aligned to the end of
        the video when the stride leaves its last frames uncovered, so that every
        frame of a video at least ``window_size`` long lies in some window.

        Returns
        -------
        offsets : ndarray, int64
            Rows of ``frames`` where the windows begin (for :func:`cut_windows`).
        starts : ndarray, int64
            First frame of each window on its video's windowing timeline.
        video : ndarray of str
            The video of each window.
        """
        stride = int(self.params.get("stride", self.window_size))
        index = {v: i for i, v in enumerate(self.video_ids)}
        offsets, starts, names = [], [], []
        for video in videos:
            if video not in index:
                raise WindowingError(f"video {video!r} is not in this window set.")
            i = index[video]
            s = covering_starts(int(self.video_lengths[i]), self.window_size, stride)
            offsets.append(int(self.video_offsets[i]) + s)
            starts.append(s)
            names.append(np.full(len(s), video, dtype=object))
        if not offsets:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=str)
        return (
            np.concatenate(offsets),
            np.concatenate(starts),
            np.concatenate(names).astype(str),
        )

    def mirror(self, X: np.ndarray) -> np.ndarray:
        """Windows ``X`` (..., features) as a mirror image, in this set's coordinates.

        With body normalisation the frames are centred on the hips, so the mirror
        line is x = 0; otherwise it is the image's centre line (x = 0.5).
        """
        centre = 0.0 if self.params.get("normalization") == "body" else IMAGE_CENTRE_X
        shape = X.shape
        landmarks = X.reshape(*shape[:-1], len(self.landmark_names), len(self.channel_names))
        return mirror_landmarks(
            landmarks, self.landmark_names, self.channel_names, centre=centre
        ).reshape(shape)

    def preprocessing(self) -> dict[str, Any]:
        """What turns a raw recording into this set's windows, as plain JSON data.

        The windowing parameters (:func:`make_windows`), the frame layout
        (``landmark_names``, ``channel_names``, ``feature_names``), the ``classes``
        and the ``input_shape`` of a window. A trained model carries this so that it
        can be applied to new recordings (:mod:`tennis_lab.predict`).
        """
        keys = (*DATA_PARAMS[:2], "stride", *DATA_PARAMS[2:])
        spec = {k: self.params[k] for k in keys if k in self.params}
        spec.update(
            format_version=PREPROCESSING_VERSION,
            landmark_names=list(self.landmark_names),
            channel_names=list(self.channel_names),
            feature_names=list(self.feature_names),
            classes=list(self.classes),
            input_shape=[int(self.window_size), len(self.feature_names)],
        )
        for key, value in spec.items():  # numpy scalars -> Python, for JSON
            if isinstance(value, np.generic):
                spec[key] = value.item()
        return spec


# --------------------------------------------------------------------------- windows


def window_starts(n_frames: int, window_size: int, stride: int) -> np.ndarray:
    """First frames of all complete windows of ``window_size`` frames every ``stride`` frames."""
    if n_frames < window_size:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_frames - window_size + 1, stride, dtype=np.int64)


def stroke_frames(
    start: Any, end: Any, scale: float, n_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Annotated strokes (recording frames, end exclusive) on a prepared timeline.

    Scaled by ``scale`` (frames of the timeline per recording frame) and rounded;
    every stroke keeps at least one frame and lies within the ``n_frames`` frames.
    """
    s0 = np.round(np.asarray(start, dtype=float) * scale).astype(np.int64)
    s1 = np.maximum(np.round(np.asarray(end, dtype=float) * scale).astype(np.int64), s0 + 1)
    s1 = np.minimum(s1, n_frames)
    return np.minimum(s0, s1 - 1), s1


def covering_starts(n_frames: int, window_size: int, stride: int) -> np.ndarray:
    """Window starts every ``stride`` frames, plus one aligned to the end when needed.

    Every frame of a recording at least ``window_size`` long lies in some window.
    """
    starts = window_starts(n_frames, window_size, stride)
    if len(starts) and starts[-1] != n_frames - window_size:
        starts = np.append(starts, n_frames - window_size)
    return starts


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
        The code of the class whose stroke covers the window most;
        :data:`IDLE_CODE` where no stroke touches the window;
        :data:`AMBIGUOUS_CODE` where the best coverage is below the threshold;
        :data:`TIED_CODE` where strokes of two different classes cover it equally.
    """
    if len(stroke_starts) == 0:
        return np.full(len(starts), IDLE_CODE, dtype=np.int64)
    w0 = starts[:, None]
    w1 = w0 + window_size
    shared = np.minimum(w1, stroke_ends[None, :]) - np.maximum(w0, stroke_starts[None, :])
    shared = np.clip(shared, 0, None)
    shorter = np.minimum(window_size, stroke_ends - stroke_starts)[None, :]
    coverage = shared / shorter
    # the best coverage by a stroke of each class; a tie between two classes is no label
    codes = np.unique(stroke_codes)
    per_class = np.stack([coverage[:, stroke_codes == c].max(axis=1) for c in codes], axis=1)
    order = np.argsort(-per_class, axis=1, kind="stable")
    rows = np.arange(len(starts))
    best_cov = per_class[rows, order[:, 0]]
    labels = np.where(best_cov >= min_stroke_coverage, codes[order[:, 0]], AMBIGUOUS_CODE)
    if len(codes) > 1:
        tied = (per_class[rows, order[:, 1]] == best_cov) & (best_cov >= min_stroke_coverage)
        labels = np.where(tied, TIED_CODE, labels)
    return np.where(shared.max(axis=1) == 0, IDLE_CODE, labels).astype(np.int64)


def check_window_params(window_size: int, overlap: int) -> int:
    """Validate window_size and overlap; return the stride.

    Raises
    ------
    WindowingError
        With ``key``, ``value`` and ``fix`` of the parameter at fault.
    """
    with contract.reported_as(WindowingError):
        contract.check({"window_size": window_size, "overlap": overlap})
    return int(window_size - overlap)


def check_data_params(values: Mapping[str, Any]) -> int:
    """Validate windowing parameters (any of :data:`DATA_PARAMS`); return the stride.

    Raises
    ------
    WindowingError
        With ``key``, ``value`` and ``fix`` of the first parameter at fault.
    """
    with contract.reported_as(WindowingError):
        contract.check({k: values[k] for k in DATA_PARAMS if k in values})
    return int(values["window_size"] - values["overlap"])


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
    mirror_left_handed: bool = True,
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
    mirror_left_handed : bool
        Mirror the recordings of left-handed players (``dataset.handedness``) into a
        right-handed frame before windowing (:func:`mirror_landmarks`); recordings
        of unknown handedness are used as they are.

    Returns
    -------
    WindowSet

    Raises
    ------
    WindowingError
        Bad parameters, or no windows at all (the message says why and what to change).
    """
    settings = {
        "window_size": window_size, "overlap": overlap, "stride": 0,
        "enable_fps_scaling": enable_fps_scaling, "reference_fps": reference_fps,
        "min_stroke_coverage": min_stroke_coverage, "include_idle": include_idle,
        "normalization": normalization, "missing_frames": missing_frames,
        "mirror_left_handed": mirror_left_handed,
    }  # fmt: skip
    settings["stride"] = check_data_params(settings)
    settings["mirror_left_handed"] = bool(mirror_left_handed)
    recordings: Mapping[str, Any] = dataset.recordings
    if not recordings:
        raise WindowingError("the dataset has no recordings.")
    annotations = dataset.annotations
    stroke_classes = sorted(annotations["label"].unique())
    classes = tuple(stroke_classes) + (
        (IDLE,) if include_idle and IDLE not in stroke_classes else ()
    )
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
    handedness: Mapping[str, Any] = getattr(dataset, "handedness", None) or {}
    to_mirror = (
        {v for v in recordings if handedness.get(v) == "left"} if mirror_left_handed else set()
    )
    if to_mirror:  # a layout that cannot be mirrored fails here
        with _about("mirror_left_handed", True):
            mirror_pairs(first.landmark_names)
    cut = _Cut(settings, classes, to_mirror)
    cut.run(recordings, annotations)
    if not cut.ys:
        raise WindowingError(
            _no_windows_reason(settings, cut.longest, cut.made, annotations, fps_values),
            key="window_size",
            value=window_size,
        )
    metadata: Mapping[str, Mapping[str, Any]] = (
        dataset.video_metadata() if hasattr(dataset, "video_metadata") else {}
    )
    return cut.window_set(first, _video_facts(cut.order, metadata, handedness, to_mirror))


def _video_facts(
    order: Sequence[str], metadata: Mapping[str, Mapping[str, Any]],
    handedness: Mapping[str, Any], mirrored: set,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Video id -> its player, handedness, session and whether it was mirrored."""
    return {
        v: {
            "player": (metadata.get(v) or {}).get("player"),
            "handedness": handedness.get(v),
            "session": (metadata.get(v) or {}).get("session"),
            "mirrored": v in mirrored,
        }
        for v in order
    }


@contextmanager
def _about(key: str, value: Any) -> Iterator[None]:
    """Name ``key`` (and ``value``) on a :class:`WindowingError` of the block that names none."""
    try:
        yield
    except WindowingError as exc:
        if exc.key is not None:
            raise
        raise WindowingError(exc.problem, key=key, value=value, fix=exc.fix) from None


class _Cut:
    """The windows of every video of a dataset, cut into one frame buffer (make_windows)."""

    def __init__(self, settings: Mapping[str, Any], classes: tuple[str, ...], to_mirror: set):
        self.settings, self.classes, self.to_mirror = settings, classes, to_mirror
        self.code_of = {c: i for i, c in enumerate(classes)}
        self.offsets: list[np.ndarray] = []
        self.ys: list[np.ndarray] = []
        self.gs: list[np.ndarray] = []
        self.ss: list[np.ndarray] = []
        self.strokes: dict[str, list[np.ndarray]] = {"video": [], "start": [], "end": [], "y": []}
        self.made = self.idle = self.ambiguous = self.tied = self.longest = 0
        self.order: list[str] = []
        self.lengths: list[int] = []
        self.buffer = np.empty((0, 0), dtype=np.float32)
        self.feature_names: tuple[str, ...] = ()

    def run(self, recordings: Mapping[str, Any], annotations: Any) -> None:
        """Prepare every recording into the buffer, then label its windows."""
        s = self.settings
        first = next(iter(recordings.values()))
        self.feature_names = tuple(
            f"{lm}_{ch}" for lm in first.landmark_names for ch in first.channel_names
        )
        self.order = sorted(recordings)
        self.lengths = [len(recordings[v].landmarks) for v in self.order]
        if s["enable_fps_scaling"]:
            self.lengths = [
                resampled_length(n, recordings[v].fps, s["reference_fps"])
                for v, n in zip(self.order, self.lengths, strict=True)
            ]
        self.buffer = np.empty((sum(self.lengths), len(self.feature_names)), dtype=np.float32)
        base = 0
        for video_id, length in zip(self.order, self.lengths, strict=True):
            self._video(video_id, recordings[video_id], annotations, base, length)
            base += length

    def _video(self, video_id: str, rec: Any, annotations: Any, base: int, length: int) -> None:
        s = self.settings
        frames, scale = prepare_frames(
            rec.landmarks, rec.fps, rec.landmark_names, rec.channel_names,
            mirror=video_id in self.to_mirror, normalization=s["normalization"],
            missing_frames=s["missing_frames"], enable_fps_scaling=s["enable_fps_scaling"],
            reference_fps=s["reference_fps"],
        )  # fmt: skip
        if frames.shape != (length, self.buffer.shape[1]):
            raise WindowingError(
                f"video {video_id}: its frames have layout {frames.shape[1]} features, the first "
                f"video's {self.buffer.shape[1]}; every recording must share one landmark layout."
            )
        self.buffer[base : base + length] = frames
        self.longest = max(self.longest, length)
        strokes = annotations[annotations["video_id"] == video_id]
        s0, s1 = stroke_frames(strokes["start_frame"], strokes["end_frame"], scale, length)
        codes = np.array([self.code_of[c] for c in strokes["label"]], dtype=np.int64)
        parts = (np.full(len(codes), video_id, dtype=object), s0, s1, codes)
        for key, part in zip(self.strokes, parts, strict=True):
            self.strokes[key].append(part)
        starts = window_starts(frames.shape[0], s["window_size"], s["stride"])
        if len(starts) == 0:
            return
        labels = label_windows(starts, s["window_size"], s0, s1, codes, s["min_stroke_coverage"])
        self.made += len(starts)
        self.ambiguous += int((labels == AMBIGUOUS_CODE).sum())
        self.tied += int((labels == TIED_CODE).sum())
        if s["include_idle"] and IDLE in self.code_of:
            labels = np.where(labels == IDLE_CODE, self.code_of[IDLE], labels)
        else:
            self.idle += int((labels == IDLE_CODE).sum())
        keep = labels >= 0
        if not keep.any():
            return
        self.offsets.append(base + starts[keep])
        self.ys.append(labels[keep])
        self.gs.append(np.full(int(keep.sum()), video_id, dtype=object))
        self.ss.append(starts[keep])

    def window_set(self, first: Any, videos: dict[str, dict[str, Any]]) -> WindowSet:
        """The labelled windows cut, as a :class:`WindowSet`."""
        y = np.concatenate(self.ys)
        counts = {
            "windows_made": self.made, "windows_kept": len(y), "dropped_idle": self.idle,
            "dropped_ambiguous": self.ambiguous, "dropped_tied": self.tied,
            "mirrored_videos": len(self.to_mirror),
        }  # fmt: skip
        strokes = {k: np.concatenate(parts) for k, parts in self.strokes.items()}
        strokes["video"] = strokes["video"].astype(str)
        return WindowSet(
            frames=self.buffer,
            offsets=np.concatenate(self.offsets), window_size=self.settings["window_size"], y=y,
            groups=np.concatenate(self.gs).astype(str), starts=np.concatenate(self.ss),
            classes=self.classes, feature_names=self.feature_names, params=dict(self.settings),
            counts=counts,
            landmark_names=tuple(first.landmark_names), channel_names=tuple(first.channel_names),
            video_ids=tuple(self.order),
            video_offsets=np.cumsum([0, *self.lengths[:-1]]).astype(np.int64),
            video_lengths=np.asarray(self.lengths, dtype=np.int64),
            strokes=strokes, videos=videos,
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


# --------------------------------------------------------------------------- weights


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
