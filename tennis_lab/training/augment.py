"""Augmented copies of the training windows: scale, rotation, time stretch, jitter, drops.

Each strength is a training parameter of the contract (:data:`AUGMENT_PARAMS`), 0 by
default (off). When any is above 0, :func:`augmented_training_set` adds ONE augmented
copy of every training window (after ``augment_mirror``'s mirrored copies, so those
get their own augmented copy too): the training set doubles, as with
``augment_mirror``. The copies are made once per run, before fitting, from the run's
seed: the same seed gives the same copies, and every epoch sees the same ones.
Validation and test windows are never augmented. With every strength 0 nothing is
drawn or copied and the training arrays are returned as they are.

Each copy of a window ``(frames, landmarks x channels)`` goes through, in order:

1. time stretch (``augment_time_stretch`` = a): speed x r, r uniform in [1 - a, 1 + a],
   resampled (linear) back to the window's length about its middle frame; a faster
   copy (r > 1) repeats the window's first and last frame where it would need frames
   beyond it. Every channel moves together.
2. scale (``augment_scale`` = s): the positions (x, y, z) x f, f uniform in
   [1 - s, 1 + s], about the centre;
3. rotation (``augment_rotate`` = d degrees): x and y turned by an angle uniform in
   [-d, d] about the centre (z unchanged);
4. jitter (``augment_jitter`` = sigma): Gaussian noise of std sigma added to every position,
   in the windows' units (torso lengths with ``normalization="body"``, else the
   image's [0, 1] coordinates);
5. drops (``augment_drop`` = p): landmarks of single frames, and whole frames, are lost
   independently with probability q = 1 - sqrt(1 - p) each, so that a share p of the
   (frame, landmark) points is lost; a lost point (every channel of it, visibility
   included) is filled as the pipeline fills a missing one (``missing_frames``):
   ``"interpolate"``, linear in time between the landmark's nearest kept frames of
   the window (the nearest kept one at its ends, 0 when none is kept); ``"zero"``, 0.

The centre is the hips' midpoint with ``normalization="body"`` (the origin of every
frame), else the mean position of the window. Visibility is not a position: only
time stretch and drops change it. Each window draws its own factors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tennis_lab import params as contract
from tennis_lab.errors import TennisLabError
from tennis_lab.windows import SPATIAL_CHANNELS, WindowSet

AUGMENT_PARAMS = (
    "augment_scale", "augment_rotate", "augment_time_stretch", "augment_jitter", "augment_drop",
)  # fmt: skip
# Windows augmented at a time: bounds the temporary arrays; part of what a seed draws.
CHUNK = 512


class AugmentationError(TennisLabError, ValueError):
    """Augmentation settings the windows cannot take (``key``, ``value``, ``fix``)."""


@dataclass(frozen=True)
class Augmentation:
    """The strengths of each augmentation (0: off); see the module's description."""

    scale: float = 0.0
    rotate: float = 0.0
    time_stretch: float = 0.0
    jitter: float = 0.0
    drop: float = 0.0

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Augmentation:
        """The ``augment_*`` values of ``params`` (others ignored; absent: 0), checked.

        Raises
        ------
        AugmentationError
            A value the contract refuses, naming key, value and fix.
        """
        values = {k: params[k] for k in AUGMENT_PARAMS if k in params}
        with contract.reported_as(AugmentationError):
            contract.check(values)
        return cls(**{k[len("augment_") :]: float(v) for k, v in values.items()})

    @property
    def on(self) -> bool:
        """Whether any augmentation is on."""
        return any(v > 0 for v in vars(self).values())


def augmented_training_set(
    X: np.ndarray, y: np.ndarray, windows: WindowSet, params: Mapping[str, Any], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The training windows ``X`` (and classes ``y``) with one augmented copy of each.

    Parameters
    ----------
    X : ndarray (n, frames, features)
        Training windows of ``windows`` (mirrored copies included).
    y : ndarray (n,)
    windows : WindowSet
        Their layout (landmark and channel names) and data parameters
        (``normalization``, ``missing_frames``).
    params : mapping
        The ``augment_*`` strengths (others ignored).
    seed : int
        The run's seed.

    Returns
    -------
    X, y
        ``X`` and ``y`` themselves when every strength is 0; else (2n, ...) arrays,
        ``X`` first, then its augmented copies, with the classes repeated.
    """
    settings = Augmentation.from_params(params)
    if not settings.on or len(X) == 0:
        return X, y
    out = np.empty((2 * len(X), *X.shape[1:]), dtype=X.dtype)
    out[: len(X)] = X
    augment_windows(
        X, windows.landmark_names, windows.channel_names, settings, seed,
        centred=windows.params.get("normalization") == "body",
        missing_frames=windows.params.get("missing_frames", "interpolate"),
        out=out[len(X) :],
    )  # fmt: skip
    return out, np.concatenate([y, y])


def augment_windows(
    X: np.ndarray,
    landmark_names: Sequence[str],
    channel_names: Sequence[str],
    settings: Augmentation,
    seed: int,
    *,
    centred: bool = False,
    missing_frames: str = "interpolate",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """An augmented copy of each window of ``X`` (n, frames, landmarks x channels).

    ``centred``: the positions are centred on the hips (body normalisation); else each
    window's mean position is the centre. Same arguments and seed, same copy. ``out``
    (optional): where to write it, of ``X``'s shape. ``X`` is left unchanged.

    Raises
    ------
    AugmentationError
        A rotation without x and y channels, or a scale or jitter without any
        position channel.
    """
    channels = list(channel_names)
    n_landmarks = len(landmark_names)
    n, T, F = X.shape
    if F != n_landmarks * len(channels):
        raise ValueError(
            f"windows of {F} features are not {n_landmarks} landmarks x {len(channels)} channels."
        )
    spatial = [i for i, c in enumerate(channels) if c in SPATIAL_CHANNELS]
    _check_layout(settings, channels, spatial)
    out = np.empty_like(X) if out is None else out
    rng = np.random.default_rng(seed)
    for start in range(0, n, CHUNK):
        chunk = X[start : start + CHUNK].reshape(-1, T, n_landmarks, len(channels))
        chunk = _augment_chunk(chunk, channels, spatial, settings, rng, centred, missing_frames)
        out[start : start + CHUNK] = chunk.reshape(-1, T, F)
    return out


def _check_layout(settings: Augmentation, channels: list[str], spatial: list[int]) -> None:
    if settings.rotate > 0 and not {"x", "y"} <= set(channels):
        raise AugmentationError(
            f"augment_rotate={settings.rotate} turns the x/y plane, but the windows' channels "
            f"are {channels}.", key="augment_rotate", value=settings.rotate,
            fix="set augment_rotate=0 for this dataset.",
        )  # fmt: skip
    for key, value in (("augment_scale", settings.scale), ("augment_jitter", settings.jitter)):
        if value > 0 and not spatial:
            raise AugmentationError(
                f"{key}={value} changes positions (x/y/z), but the windows' channels are "
                f"{channels}.", key=key, value=value, fix=f"set {key}=0 for this dataset.",
            )  # fmt: skip


def _augment_chunk(
    L: np.ndarray, channels: list[str], spatial: list[int], settings: Augmentation,
    rng: np.random.Generator, centred: bool, missing_frames: str,
) -> np.ndarray:  # fmt: skip
    """One chunk (n, frames, landmarks, channels), augmented as the module says."""
    n = len(L)
    L = L.astype(np.float32, copy=True)
    if settings.time_stretch > 0:
        L = stretch_time(L, rng.uniform(1 - settings.time_stretch, 1 + settings.time_stretch, n))
    if settings.scale > 0 or settings.rotate > 0:
        centre = 0.0 if centred else L[..., spatial].mean(axis=(1, 2), keepdims=True)
        pos = L[..., spatial] - centre
        if settings.scale > 0:
            factors = rng.uniform(1 - settings.scale, 1 + settings.scale, n)
            pos *= factors.astype(np.float32)[:, None, None, None]
        if settings.rotate > 0:
            angles = rng.uniform(-settings.rotate, settings.rotate, n)
            xy = [spatial.index(channels.index("x")), spatial.index(channels.index("y"))]
            pos[..., xy] = rotate_xy(pos[..., xy], angles)
        L[..., spatial] = pos + centre
    if settings.jitter > 0:
        noise = rng.standard_normal((*L.shape[:3], len(spatial)), dtype=np.float32)
        L[..., spatial] += noise * np.float32(settings.jitter)
    if settings.drop > 0:
        L = drop_points(L, lost_points(rng, L.shape[:3], settings.drop), missing_frames)
    return L


def stretch_time(L: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Windows (n, frames, ...) played ``rates`` (n,) times as fast, about the middle frame.

    Frame k of a copy is the window at time ``c + (k - c) * rate`` (c: the middle
    frame), interpolated linearly; times beyond the window take its first or last frame.
    """
    n, T = L.shape[:2]
    middle = (T - 1) / 2
    times = middle + (np.arange(T)[None, :] - middle) * np.asarray(rates)[:, None]
    times = np.clip(times, 0, T - 1)
    before = np.floor(times).astype(np.int64)
    after = np.minimum(before + 1, T - 1)
    weight = (times - before).astype(L.dtype).reshape(n, T, *([1] * (L.ndim - 2)))
    rows = np.arange(n)[:, None]
    return L[rows, before] * (1 - weight) + L[rows, after] * weight


def rotate_xy(xy: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """Points ``xy`` (n, ..., 2) turned by ``degrees`` (n,) about the origin."""
    theta = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    shape = (len(theta), *([1] * (xy.ndim - 2)))
    cos, sin = np.cos(theta).reshape(shape), np.sin(theta).reshape(shape)
    x, y = xy[..., 0], xy[..., 1]
    return np.stack([x * cos - y * sin, x * sin + y * cos], axis=-1).astype(xy.dtype)


def lost_points(rng: np.random.Generator, shape: tuple[int, int, int], share: float) -> np.ndarray:
    """Which (window, frame, landmark) points are lost: whole frames and single landmarks,
    each with probability ``1 - sqrt(1 - share)``, so that ``share`` of them is lost."""
    q = 1 - np.sqrt(1 - share)
    frames = rng.random(shape[:2], dtype=np.float32) < q
    return frames[:, :, None] | (rng.random(shape, dtype=np.float32) < q)


def drop_points(L: np.ndarray, lost: np.ndarray, missing_frames: str) -> np.ndarray:
    """Windows ``L`` (n, frames, landmarks, channels) with the ``lost`` points (n, frames,
    landmarks) filled as missing values: ``"zero"`` or ``"interpolate"`` (in time, within
    the window; see the module's description)."""
    if missing_frames not in contract.MISSING_FRAME_METHODS:
        raise AugmentationError(
            f"missing_frames={missing_frames!r} is not one of "
            f"{list(contract.MISSING_FRAME_METHODS)}.", key="missing_frames",
            value=missing_frames, fix="use 'interpolate' or 'zero'.",
        )  # fmt: skip
    out = L.copy()
    if missing_frames == "zero":
        out[lost] = 0.0
        return out
    T = L.shape[1]
    frame = np.arange(T)[None, :, None]
    kept = ~lost
    before = np.maximum.accumulate(np.where(kept, frame, -1), axis=1)
    after = np.flip(np.minimum.accumulate(np.flip(np.where(kept, frame, T), 1), axis=1), 1)
    w, t, m = np.nonzero(lost)
    b, a = before[w, t, m], after[w, t, m]
    lo, hi = np.clip(b, 0, T - 1), np.clip(a, 0, T - 1)
    weight = np.where(b < 0, 1.0, np.where(a >= T, 0.0, (t - b) / np.maximum(a - b, 1)))
    weight = weight.astype(L.dtype)[:, None]
    filled = L[w, lo, m] * (1 - weight) + L[w, hi, m] * weight
    filled[(b < 0) & (a >= T)] = 0.0  # no kept frame of that landmark in the window
    out[w, t, m] = filled
    return out
