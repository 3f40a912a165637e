"""One recording's frames as the model sees them: filled, mirrored, normalised, resampled.

Arrays in, arrays out: :func:`prepare_frames` applies, in order, :func:`fill_missing`,
:func:`mirror_landmarks` (a left-handed player into a right-handed frame),
:func:`normalize_body` and :func:`resample`; training and prediction both use it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from tennis_lab import params as contract
from tennis_lab.errors import TennisLabError

SPATIAL_CHANNELS = ("x", "y", "z")
MISSING_FRAME_METHODS = contract.MISSING_FRAME_METHODS
NORMALIZATIONS = contract.NORMALIZATIONS
# The image's vertical centre line, about which raw coordinates are mirrored:
# pose extractors (MediaPipe, MoveNet) give x normalised to [0, 1].
IMAGE_CENTRE_X = 0.5
_SIDE = re.compile(r"left|right", re.IGNORECASE)


class WindowingError(TennisLabError, ValueError):
    """Windowing parameters that cannot work, or data that gives no windows."""


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
            f"missing_frames={method!r} is not one of {list(MISSING_FRAME_METHODS)}.",
            key="missing_frames",
            value=method,
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
            f"(it has {names[:8]}...). Use normalization='none'.",
            key="normalization",
            value="body",
        )
    spatial = [i for i, c in enumerate(channel_names) if c in SPATIAL_CHANNELS]
    if not spatial:
        raise WindowingError(
            f"normalization='body' needs channels named x/y/z; the recording has "
            f"{list(channel_names)}.",
            key="normalization",
            value="body",
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


def _other_side(name: str) -> str:
    def swap(match: re.Match) -> str:
        word = match.group(0)
        other = "right" if word.lower() == "left" else "left"
        return (
            other.upper() if word.isupper() else other.capitalize() if word[0].isupper() else other
        )

    return _SIDE.sub(swap, name)


def mirror_pairs(landmark_names: Sequence[str]) -> np.ndarray:
    """Index of each landmark's mirror image: left and right swapped by name.

    ``left_wrist`` <-> ``right_wrist``, ``mouth_left`` <-> ``mouth_right``,
    ``LeftKnee`` <-> ``RightKnee``; a landmark without a side (``nose``) is its own
    mirror image. Works for MediaPipe's 33 landmarks, MoveNet/COCO's 17 and alike.

    Raises
    ------
    WindowingError
        The layout has no left/right pairs, or a sided landmark lacks its partner.
    """
    names = list(landmark_names)
    position = {n: i for i, n in enumerate(names)}
    index = np.arange(len(names))
    sided = [n for n in names if _SIDE.search(n)]
    if not sided:
        raise WindowingError(
            f"cannot mirror this landmark layout: no landmark name says left or right "
            f"({names[:8]}{' ...' if len(names) > 8 else ''}). Set mirror_left_handed=False "
            "and augment_mirror=False, or name the landmarks left_*/right_*."
        )
    for name in sided:
        partner = _other_side(name)
        if partner not in position:
            raise WindowingError(
                f"cannot mirror landmark {name!r}: the layout has no {partner!r}. Set "
                "mirror_left_handed=False and augment_mirror=False, or add the missing landmark."
            )
        index[position[name]] = position[partner]
    return index


def mirror_landmarks(
    landmarks: np.ndarray,
    landmark_names: Sequence[str],
    channel_names: Sequence[str],
    centre: float = IMAGE_CENTRE_X,
) -> np.ndarray:
    """A left-handed player's poses as a right-handed player's, and back.

    Flips x about the vertical line ``x = centre`` (``x -> 2 * centre - x``; the
    image's centre line for coordinates normalised to [0, 1]) and swaps left and
    right landmarks by name (:func:`mirror_pairs`). Other channels (y, z,
    visibility) are unchanged. Mirroring twice gives the input back.

    Parameters
    ----------
    landmarks : ndarray (..., landmarks, channels)
    landmark_names, channel_names : sequence of str
    centre : float

    Returns
    -------
    ndarray of the same shape and dtype.
    """
    channels = list(channel_names)
    if "x" not in channels:
        raise WindowingError(
            f"cannot mirror poses without an 'x' channel (channels: {channels}). Set "
            "mirror_left_handed=False and augment_mirror=False."
        )
    out = landmarks[..., mirror_pairs(landmark_names), :].copy()
    x = channels.index("x")
    out[..., x] = np.asarray(2 * centre, dtype=out.dtype) - out[..., x]
    return out


def prepare_frames(
    landmarks: np.ndarray,
    fps: float,
    landmark_names: Sequence[str],
    channel_names: Sequence[str],
    *,
    mirror: bool = False,
    normalization: str = "body",
    missing_frames: str = "interpolate",
    enable_fps_scaling: bool = True,
    reference_fps: float = 30.0,
) -> tuple[np.ndarray, float]:
    """One recording's frames as the model sees them, before windowing.

    In order: missing frames filled (:func:`fill_missing`), mirrored into a
    right-handed frame when ``mirror`` (:func:`mirror_landmarks`), body normalisation
    (:func:`normalize_body`) when ``normalization="body"``, resampled to
    ``reference_fps`` when ``enable_fps_scaling``. Training (:func:`make_windows`) and
    prediction (:mod:`tennis_lab.predict`) both prepare recordings with this.

    Parameters
    ----------
    landmarks : ndarray, (frames, landmarks, channels)
    fps : float
    landmark_names, channel_names : sequence of str
    mirror, normalization, missing_frames, enable_fps_scaling, reference_fps
        As :func:`make_windows`.

    Returns
    -------
    frames : ndarray, float32, (frames', landmarks x channels)
    scale : float
        Frames of the result per frame of the recording (``reference_fps / fps``
        with fps scaling, else 1).
    """
    frames = fill_missing(np.asarray(landmarks, dtype=np.float32), missing_frames)
    if mirror:
        frames = mirror_landmarks(frames, landmark_names, channel_names)
    if normalization == "body":
        frames = normalize_body(frames, landmark_names, channel_names)
    scale = reference_fps / fps if enable_fps_scaling else 1.0
    if enable_fps_scaling:
        frames = resample(frames, fps, reference_fps)
    return frames.reshape(frames.shape[0], -1), float(scale)
