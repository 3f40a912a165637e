"""The built-in demo dataset: synthetic tennis footage as pose recordings.

``make_demo_dataset(path, seed=...)`` writes a dataset folder in exactly the
format users provide (``poses/*.npz``, Label Studio exports under ``labelstudio/``,
``dataset.yaml``, ``videos.csv``), so everything downstream is exercised as with
real data.

How it is made: a 3-D stick figure with MediaPipe's 33 landmarks is animated by a
few joint parameters (court position, trunk rotation and lean, knee bend, upper
arm and forearm angles of both arms). Each stroke is a set of keyframes on those
parameters, varied per player (height, tempo, swing amplitude, handedness, one- or
two-handed backhand) and per stroke (timing, angles). Between strokes players
stand ready, split-step, shuffle, walk back, bounce the ball and shadow-swing.
The figure is filmed by a camera whose distance, offset, height and viewing angle
differ per video (some from behind, a few from the front), at 30, 48 or 60 fps,
and "tracked" with jitter, low visibility where the body hides a joint,
left/right swaps, and dropped frames. Annotators mark strokes with a little
timing slop. What makes the classes hard to tell apart is documented in
``docs/data-format.md``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.ndimage import gaussian_filter1d
from tqdm.auto import tqdm

from tennis_lab import poses
from tennis_lab.demo import hard
from tennis_lab.demo.hard import DIFFICULTIES, Difficulty
from tennis_lab.demo.strokes import (
    _BACKHAND_ONE_HAND,
    _BACKHAND_TWO_HANDS,
    _HEAD,
    DURATIONS,
    READY,
    STROKES,
)
from tennis_lab.errors import TennisLabError

DEMO_SEED = 7
DEMO_PLAYERS = 20
DEMO_VIDEOS_PER_PLAYER = 3
DEMO_SECONDS_PER_VIDEO = 40.0
DEMO_DIFFICULTY = "standard"
_STANDARD = DIFFICULTIES["standard"]
FPS_CHOICES = (30.0, 48.0, 60.0)

# Label Studio labels as the demo's annotators wrote them, and the class map.
RAW_LABELS = {
    "forehand": "Fronthand",
    "backhand": "Backhand",
    "serve": "Saque",
    "slice": "Slice",
    "forehand_slice": "slice direita",
}
CLASS_MAP = {
    "Fronthand": "forehand",
    "Backhand": "backhand",
    "Saque": "serve",
    "Slice": "slice",
    "slice direita": "slice",
}
IGNORED_LABEL = "Bola fora"

_NAMES = (
    "ana", "bruno", "carla", "diego", "eva", "felipe", "gabi", "hugo", "iris", "joao",
    "karin", "luis", "marta", "nuno", "olga", "pedro", "quim", "rita", "sara", "tomas",
)  # fmt: skip
_LEFT_HANDED = {"bruno", "eva", "iris", "nuno", "sara"}


@dataclass(frozen=True)
class Player:
    """A demo player's build and style."""

    name: str
    left_handed: bool
    height: float  # metres
    tempo: float  # >1 swings faster
    amplitude: float  # scales the swing angles away from the ready stance
    rotation: float  # scales trunk rotation
    two_handed_backhand: bool
    forehand_slice_share: float
    style: dict = field(default_factory=dict, compare=False)  # stroke -> angle -> offset


@dataclass(frozen=True)
class Camera:
    """How a video was filmed: view angle, distance, framing, tracking quality."""

    view_yaw: float  # degrees; 0 = from behind the player, 180 = from the front
    distance: float  # metres
    scale: float  # player height as a share of the image height
    cx: float
    cy: float
    roll: float  # degrees
    jitter: float  # image units
    drop_rate: float  # share of frames that start a dropout
    pitch: float = 0.0  # degrees the camera looks down


def _players(
    rng: np.random.Generator, n: int, level: Difficulty = _STANDARD, seed: int = 0
) -> list[Player]:
    players = []
    for i in range(n):
        name = _NAMES[i % len(_NAMES)] + ("" if i < len(_NAMES) else str(i // len(_NAMES)))
        players.append(
            Player(
                name=name,
                left_handed=_NAMES[i % len(_NAMES)] in _LEFT_HANDED,
                height=float(rng.uniform(1.58, 1.96)),
                tempo=float(rng.uniform(*level.tempo)),
                amplitude=float(rng.uniform(*level.amplitude)),
                rotation=float(rng.uniform(*level.rotation)),
                two_handed_backhand=bool(rng.random() < 0.6),
                forehand_slice_share=float(rng.choice([0.0, 0.25, 0.5])),
                style=hard.style_offsets(seed, i, level),
            )
        )
    return players


def _camera(
    rng: np.random.Generator, level: Difficulty = _STANDARD, xrng: np.random.Generator | None = None
) -> Camera:
    front = rng.random() < level.front_share
    view = float(rng.uniform(150, 210) if front else rng.uniform(-level.side_yaw, level.side_yaw))
    return Camera(
        view_yaw=view,
        distance=float(rng.uniform(*level.distance)),
        scale=float(rng.uniform(0.22, 0.55)),
        cx=float(rng.uniform(0.3, 0.7)),
        cy=float(rng.uniform(0.45, 0.6)),
        roll=float(rng.normal(0, level.roll)),
        jitter=float(rng.uniform(*level.jitter)),
        drop_rate=float(rng.uniform(*level.drop_rate)),
        pitch=float(xrng.uniform(*level.pitch)) if xrng is not None else 0.0,
    )


# --------------------------------------------------------------------------- timeline


def _schedule(
    rng: np.random.Generator, player: Player, seconds: float, level: Difficulty = _STANDARD
) -> list[tuple[str, float, float]]:
    """Segments (kind, start, duration) of one video: points of serve + rally, pauses between."""
    segments: list[tuple[str, float, float]] = []
    t = float(rng.uniform(0.5, 2.0))
    while t < seconds - 4.0:
        if rng.random() < 0.55:  # this player serves the point
            bounce = float(rng.uniform(1.0, 2.5))
            segments.append(("bounce", t, bounce))
            t += bounce
            d = float(rng.uniform(*DURATIONS["serve"])) / player.tempo
            segments.append(("serve", t, d))
            t += d
        for _ in range(int(rng.integers(*level.rally))):
            gap = float(rng.uniform(0.6, 2.6))
            segments.append(("footwork", t, gap))
            t += gap
            if rng.random() < 0.08:  # a shadow swing: not a stroke, never annotated
                d = float(rng.uniform(0.6, 1.0))
                segments.append(("shadow", t, d))
                t += d
                continue
            r = rng.random()
            if r < 0.45:
                kind = "forehand"
            elif r < 0.80:
                kind = "backhand"
            else:
                kind = "forehand_slice" if rng.random() < player.forehand_slice_share else "slice"
            d = float(rng.uniform(*DURATIONS[kind])) / player.tempo
            segments.append((kind, t, d))
            t += d
        pause = float(rng.uniform(2.0, 4.5))
        segments.append(("walk", t, pause))
        t += pause
    return [s for s in segments if s[1] + s[2] <= seconds]


def _frames(kind: str, player: Player, level: Difficulty, xrng: np.random.Generator | None) -> dict:
    """The keyframes of one swing of ``kind``: the player's backhand, part look-alike if hard."""
    frames = STROKES[kind]
    if kind == "backhand":
        hands = _BACKHAND_TWO_HANDS if player.two_handed_backhand else _BACKHAND_ONE_HAND
        frames = {**frames, **hands}
    if xrng is None or kind not in hard.LOOKALIKE or level.blend[1] <= 0:
        return frames
    other = hard.LOOKALIKE[kind]
    lookalike = _frames(other, player, _STANDARD, None)
    return hard.blend_frames(frames, lookalike, float(xrng.uniform(*level.blend)))


def _tracks(
    rng: np.random.Generator,
    player: Player,
    segments,
    times: np.ndarray,
    fps: float,
    level: Difficulty = _STANDARD,
    xrng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """Per-frame joint parameters (right-handed), smoothed like real motion."""
    keys: dict[str, list[tuple[float, float]]] = {k: [(0.0, v)] for k, v in READY.items()}
    extra = {k: np.zeros_like(times) for k in ("root_x", "root_z", "lift_l", "lift_r", "bob")}
    extra.update({k: np.zeros_like(times) for k in READY})
    for kind, t0, dur in segments:
        if kind in STROKES:
            frames = _frames(kind, player, level, xrng)
            style = player.style.get(kind, {})
            for name, ready in READY.items():
                keys[name].append((t0, ready))
                for phase, value in frames.get(name, []):
                    gain = player.rotation if name == "yaw" else player.amplitude
                    if name in ("knee", "stance", "jump"):
                        gain = 1.0
                    noise = rng.normal(
                        0, 0.08 if name in ("knee", "stance", "jump") else level.keyframe_noise
                    )
                    if name in ("knee", "stance", "jump"):
                        noise *= 0.5
                    v = ready + gain * (value - ready) + noise + style.get(name, 0.0)
                    tp = t0 + dur * float(np.clip(phase + rng.normal(0, 0.03), 0.05, 0.95))
                    keys[name].append((tp, v))
                keys[name].append((t0 + dur, ready))
        else:
            mask = (times >= t0) & (times < t0 + dur)
            local = times[mask] - t0
            env = np.sin(np.pi * np.clip(local / dur, 0, 1)) ** 2
            if kind == "footwork":
                freq = rng.uniform(2.0, 3.2)
                direction = rng.choice([-1.0, 1.0])
                extra["root_x"][mask] += direction * rng.uniform(0.3, 1.5) * (local / dur)
                extra["lift_l"][mask] += np.clip(np.sin(2 * np.pi * freq * local), 0, None) * env
                extra["lift_r"][mask] += np.clip(-np.sin(2 * np.pi * freq * local), 0, None) * env
                extra["bob"][mask] += 0.04 * np.abs(np.sin(2 * np.pi * freq * local)) * env
                extra["d_e2"][mask] += rng.uniform(0, 15) * np.sin(2 * np.pi * 0.7 * local) * env
            elif kind == "walk":
                freq = rng.uniform(1.6, 2.0)
                extra["root_z"][mask] -= rng.uniform(1.0, 3.0) * (local / dur)
                extra["lift_l"][mask] += (
                    0.6 * np.clip(np.sin(2 * np.pi * freq * local), 0, None) * env
                )
                extra["lift_r"][mask] += (
                    0.6 * np.clip(-np.sin(2 * np.pi * freq * local), 0, None) * env
                )
                extra["yaw"][mask] += rng.uniform(-40, 40) * env
                extra["d_e1"][mask] -= 15 * env
                extra["o_e1"][mask] -= 20 * env
                extra["knee"][mask] -= 0.15 * env
            elif kind == "bounce":
                freq = rng.uniform(1.2, 1.8)
                wave = np.abs(np.sin(np.pi * freq * local)) * env
                extra["o_e1"][mask] += 15 * wave
                extra["o_e2"][mask] += 25 * wave - 30 * env
                extra["o_a1"][mask] += 20 * env
                extra["lean"][mask] += 15 * env
                extra["yaw"][mask] += 40 * env
                extra["stance"][mask] += 0.06 * env
            elif kind == "shadow":  # a half forehand practice swing
                extra["yaw"][mask] += 35 * np.sin(2 * np.pi * local / dur)
                extra["d_a1"][mask] += 60 * np.sin(2 * np.pi * local / dur)
                extra["d_e1"][mask] += 20 * env
    end = times[-1] + 1.0
    sigma = max(0.045 * fps, 1.0)
    out: dict[str, np.ndarray] = {}
    for name, kf in keys.items():
        kf.append((end, READY[name]))
        kt, kv = np.array(sorted(kf)).T
        track = np.interp(times, kt, kv) + extra.get(name, 0.0)
        out[name] = gaussian_filter1d(track, sigma, mode="nearest")
    for name in ("root_x", "root_z", "lift_l", "lift_r", "bob"):
        out[name] = gaussian_filter1d(extra[name], sigma, mode="nearest")
    # idle sway on top: nobody stands still
    out["yaw"] += gaussian_filter1d(rng.normal(0, 6, len(times)), 0.4 * fps, mode="nearest") * 4
    out["knee"] += gaussian_filter1d(rng.normal(0, 0.05, len(times)), 0.3 * fps, mode="nearest") * 3
    return out


# --------------------------------------------------------------------------- skeleton


def _rot_y(deg: np.ndarray) -> np.ndarray:
    """Rotation matrices about the vertical axis, shape (T, 3, 3)."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack(
        [np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2
    )


def _direction(elevation: np.ndarray, azimuth: np.ndarray, side: float) -> np.ndarray:
    """Unit vector in the trunk frame (right, up, forward) from arm angles."""
    e, a = np.radians(elevation), np.radians(azimuth)
    return np.stack([side * np.sin(e) * np.sin(a), -np.cos(e), np.sin(e) * np.cos(a)], -1)


def _skeleton(tr: dict[str, np.ndarray], player: Player) -> np.ndarray:
    """World positions (T, 33, 3) of MediaPipe's landmarks for a right-handed player."""
    h = player.height
    T = len(tr["yaw"])
    upper, fore, thigh, shin = 0.186 * h, 0.146 * h, 0.245 * h, 0.246 * h
    torso_len, sh_w, hip_w = 0.30 * h, 0.13 * h, 0.09 * h
    pts: dict[str, np.ndarray] = {}

    trunk = _rot_y(tr["yaw"])
    pelvis_rot = _rot_y(0.5 * tr["yaw"])
    knee = np.clip(tr["knee"], 0, 1)
    hip_flex = np.radians(40 * knee)
    knee_flex = np.radians(85 * knee)
    stance = np.clip(tr["stance"], 0.08, 0.45) * h / 1.75
    legs = {}
    for side, name, lift in ((-1.0, "left", tr["lift_l"]), (1.0, "right", tr["lift_r"])):
        lf = np.radians(35 * np.clip(lift, 0, 1))
        hf, kf = hip_flex + lf, knee_flex + 2 * lf
        lateral = side * stance
        thigh_dir = np.stack([lateral - side * hip_w, -thigh * np.cos(hf), thigh * np.sin(hf)], -1)
        thigh_dir *= thigh / np.linalg.norm(thigh_dir, axis=-1, keepdims=True)
        shin_dir = np.stack([np.zeros(T), -shin * np.cos(hf - kf), shin * np.sin(hf - kf)], -1)
        legs[name] = (side * hip_w, thigh_dir, shin_dir)
    hip_height = thigh * np.cos(hip_flex) + shin * np.cos(hip_flex - knee_flex) + 0.08 * h / 1.75
    root = np.stack(
        [tr["root_x"], hip_height + tr["bob"] + np.clip(tr["jump"], 0, None), tr["root_z"]], -1
    )

    def to_world(local: np.ndarray, rot: np.ndarray) -> np.ndarray:
        return root + np.einsum("tij,tj->ti", rot, local)

    for name, (hx, thigh_dir, shin_dir) in legs.items():
        hip_l = np.stack([np.full(T, hx), np.zeros(T), np.zeros(T)], -1)
        knee_l = hip_l + thigh_dir
        ankle_l = knee_l + shin_dir
        pts[f"{name}_hip"] = to_world(hip_l, pelvis_rot)
        pts[f"{name}_knee"] = to_world(knee_l, pelvis_rot)
        pts[f"{name}_ankle"] = to_world(ankle_l, pelvis_rot)
        pts[f"{name}_heel"] = to_world(ankle_l + np.array([0, -0.05, -0.06]) * h / 1.75, pelvis_rot)
        pts[f"{name}_foot_index"] = to_world(
            ankle_l + np.array([0, -0.07, 0.16]) * h / 1.75, pelvis_rot
        )

    lean = np.radians(tr["lean"])
    up = np.stack([np.zeros(T), np.cos(lean), np.sin(lean)], -1)
    chest = up * torso_len
    for side, name in ((-1.0, "left"), (1.0, "right")):
        pts[f"{name}_shoulder"] = to_world(chest + np.array([side * sh_w, 0, 0]), trunk)
    # right arm holds the racket (d_*), left arm is the other (o_*)
    for side, name, pre in ((1.0, "right", "d"), (-1.0, "left", "o")):
        shoulder_l = chest + np.array([side * sh_w, 0, 0])
        d1 = _direction(tr[f"{pre}_e1"], tr[f"{pre}_a1"], side)
        d2 = _direction(tr[f"{pre}_e2"], tr[f"{pre}_a2"], side)
        elbow_l = shoulder_l + upper * d1
        wrist_l = elbow_l + fore * d2
        across = np.cross(d2, np.array([0.0, 1.0, 0.0]))
        across /= np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), 1e-6)
        pts[f"{name}_elbow"] = to_world(elbow_l, trunk)
        pts[f"{name}_wrist"] = to_world(wrist_l, trunk)
        pts[f"{name}_index"] = to_world(wrist_l + 0.085 * d2 + 0.01 * across, trunk)
        pts[f"{name}_pinky"] = to_world(wrist_l + 0.07 * d2 - 0.025 * across, trunk)
        pts[f"{name}_thumb"] = to_world(wrist_l + 0.04 * d2 + 0.035 * across, trunk)

    head_rot = _rot_y(0.35 * tr["yaw"])
    head_centre = to_world(chest + up * 0.17 * h / 1.75, trunk)
    for name, offset in _HEAD.items():
        pts[name] = head_centre + np.einsum(
            "tij,j->ti", head_rot @ trunk, np.array(offset) * h / 1.75
        )
    return np.stack([pts[n] for n in poses.MEDIAPIPE_LANDMARKS], axis=1)


_SWAP = np.array(
    [
        poses.MEDIAPIPE_LANDMARKS.index(
            n.replace("left", "#").replace("right", "left").replace("#", "right")
        )
     for n in poses.MEDIAPIPE_LANDMARKS]
)  # fmt: skip
_ARM_POINTS = [
    i for i, n in enumerate(poses.MEDIAPIPE_LANDMARKS)
    if any(p in n for p in ("elbow", "wrist", "pinky", "index", "thumb"))
]  # fmt: skip


def _mirror(world: np.ndarray) -> np.ndarray:
    """A left-hander: mirror left/right in space and in landmark names."""
    out = world[:, _SWAP].copy()
    out[..., 0] *= -1
    return out


def _film(
    rng: np.random.Generator,
    world: np.ndarray,
    cam: Camera,
    height: float,
    fps: float,
    xrng: np.random.Generator | None = None,
    lost_joints: float = 0.0,
) -> np.ndarray:
    """Project to MediaPipe-like (x, y, z, visibility) with tracking noise and dropouts."""
    T = world.shape[0]
    rot = _rot_y(np.full(T, -cam.view_yaw))
    p = np.einsum("tij,tlj->tli", rot, world)
    if cam.pitch:
        p = hard.look_down(p, cam.pitch, height * 0.5)
    depth = cam.distance + p[..., 2]
    focal = cam.scale * cam.distance / height
    x = focal * p[..., 0] / depth
    y = -focal * (p[..., 1] - height * 0.5) / depth
    roll = np.radians(cam.roll)
    x, y = (
        x * np.cos(roll) - y * np.sin(roll) + cam.cx,
        x * np.sin(roll) + y * np.cos(roll) + cam.cy,
    )
    hips = p[:, [23, 24]].mean(axis=1, keepdims=True)
    z = focal * (p[..., 2] - hips[..., 2]) / depth

    # visibility: a joint behind the trunk (seen from the camera) or moving fast is hard to see
    torso = p[:, [11, 12, 23, 24]].mean(axis=1, keepdims=True)
    behind = np.clip((p[..., 2] - torso[..., 2]) / 0.15, 0, 1)
    near_axis = np.exp(-(((p[..., 0] - torso[..., 0]) / 0.25) ** 2))
    speed = np.linalg.norm(np.gradient(np.stack([x, y], -1), axis=0), axis=-1) * fps
    blur = np.clip(speed / (3.0 * cam.scale), 0, 1)
    vis = 0.97 - 0.75 * behind * near_axis - 0.35 * blur + rng.normal(0, 0.03, x.shape)
    vis = np.clip(vis, 0.02, 0.999)

    sigma = cam.jitter * (1 + 3 * (1 - vis))
    noise = gaussian_filter1d(rng.normal(0, 1, (T, 33, 3)), 1.0, axis=0) * 1.6
    x = x + sigma * noise[..., 0]
    y = y + sigma * noise[..., 1]
    z = z + 2 * sigma * noise[..., 2]
    out = np.stack([x, y, z, vis], -1).astype(np.float32)

    # the tracker now and then swaps the arms for a few frames
    for start in np.flatnonzero(rng.random(T) < 0.004):
        sl = slice(start, min(T, start + int(rng.integers(2, 6))))
        arm = _ARM_POINTS
        out[sl, arm] = out[sl][:, _SWAP[arm]]
    # and loses the player: short dropouts, sometimes a long one
    dropped = np.zeros(T, dtype=bool)
    for start in np.flatnonzero(rng.random(T) < cam.drop_rate):
        dropped[start : start + int(rng.integers(1, 9))] = True
    if rng.random() < 0.5:
        start = int(rng.integers(0, T - 1))
        dropped[start : start + int(fps * rng.uniform(0.4, 1.0))] = True
    if xrng is not None and lost_joints > 0:
        hard.lose_joints(xrng, out, lost_joints, fps)
    out[dropped] = np.nan
    return out


# --------------------------------------------------------------------------- dataset


class DemoError(TennisLabError, ValueError):
    """Demo dataset settings that cannot make a dataset; the message names them and the fix."""


MIN_SECONDS_PER_VIDEO = 10.0  # time for a serve and a short rally


def demo_level(difficulty: str = DEMO_DIFFICULTY) -> Difficulty:
    """The generator settings of ``difficulty`` ("standard" or "hard").

    Raises
    ------
    DemoError
        An unknown difficulty, naming the ones there are.
    """
    if not isinstance(difficulty, str) or difficulty not in DIFFICULTIES:
        raise DemoError(
            f"demo dataset: difficulty (--difficulty) must be one of {sorted(DIFFICULTIES)}; "
            f"got {difficulty!r}. Fix: give --difficulty standard (default) or hard."
        )
    return DIFFICULTIES[difficulty]


def check_demo_args(
    path: str | Path | None = None,
    seed: int | None = None,
    n_players: int | None = None,
    videos_per_player: int = DEMO_VIDEOS_PER_PLAYER,
    seconds_per_video: float | None = None,
    difficulty: str = DEMO_DIFFICULTY,
) -> None:
    """Check the settings of :func:`make_demo_dataset` before anything is written.

    ``None`` stands for the difficulty's default (seed, players, seconds).

    Raises
    ------
    DemoError
        Naming the setting (and its command-line flag), its value and the fix: an
        unknown difficulty, fewer than 1 player or video, videos shorter than 10
        seconds, a negative seed, or a ``path`` that is a file.
    """
    level = demo_level(difficulty)
    seed = level.seed if seed is None else seed
    n_players = level.players if n_players is None else n_players
    seconds_per_video = level.seconds if seconds_per_video is None else seconds_per_video

    def whole(value: object) -> bool:
        return isinstance(value, int | np.integer) and not isinstance(value, bool)

    for name, flag, value in (
        ("n_players", "--players", n_players),
        ("videos_per_player", "--videos", videos_per_player),
    ):
        if not whole(value) or value < 1:
            raise DemoError(
                f"demo dataset: {name} ({flag}) must be a whole number >= 1; got {value!r}. "
                f"Fix: give {flag} 1 or more."
            )
    if (
        isinstance(seconds_per_video, bool)
        or not isinstance(seconds_per_video, int | float | np.integer | np.floating)
        or not np.isfinite(seconds_per_video)
        or seconds_per_video < MIN_SECONDS_PER_VIDEO
    ):
        raise DemoError(
            f"demo dataset: seconds_per_video (--seconds) must be at least "
            f"{MIN_SECONDS_PER_VIDEO:g}, time for a serve and a short rally; got "
            f"{seconds_per_video!r}. Fix: give --seconds {MIN_SECONDS_PER_VIDEO:g} or more "
            f"(default {DEMO_SECONDS_PER_VIDEO:g})."
        )
    if not whole(seed) or seed < 0:
        raise DemoError(
            f"demo dataset: seed (--seed) must be a whole number >= 0; got {seed!r}. "
            f"Fix: give --seed 0 or more (default {DEMO_SEED})."
        )
    if path is not None and Path(path).exists() and not Path(path).is_dir():
        raise DemoError(
            f"demo dataset: {path} is a file; the demo needs a folder to write poses/, "
            "labelstudio/, dataset.yaml and videos.csv into. Fix: give a new folder's path."
        )


def _write_video(
    root: Path,
    video_id: str,
    player: Player,
    seed: int,
    task_id: int,
    seconds: float,
    level: Difficulty = _STANDARD,
) -> dict:
    """Film one demo video of ``player``: write its recording and return its Label Studio
    task (its strokes, and a quality choice the loader skips)."""
    vrng = np.random.default_rng([seed, task_id])
    fps = float(vrng.choice(FPS_CHOICES))
    n = int(seconds * fps)
    times = np.arange(n) / fps
    xrng = np.random.default_rng([seed, task_id, 1]) if level.extra else None
    segments = _schedule(vrng, player, seconds, level)
    world = _skeleton(_tracks(vrng, player, segments, times, fps, level, xrng), player)
    if player.left_handed:
        world = _mirror(world)
    cam = _camera(vrng, level, xrng)
    landmarks = _film(vrng, world, cam, player.height, fps, xrng, level.lost_joints)
    poses.write_recording(
        poses.Recording(
            video_id, landmarks, fps, poses.MEDIAPIPE_LANDMARKS, poses.MEDIAPIPE_CHANNELS
        ),
        root / poses.POSES_DIR / f"{video_id}.npz",
    )
    task = poses.labelstudio_task(
        f"/data/upload/1/{vrng.bytes(4).hex()}-{video_id}.mp4",
        _annotate(vrng, segments, fps, n),
        task_id,
    )
    task["annotations"][0]["result"].append(
        {"type": "choices", "from_name": "quality", "to_name": "video",
         "value": {"choices": [str(vrng.choice(["good", "fair"]))]}}
    )  # fmt: skip
    return task


def make_demo_dataset(
    path: str | Path,
    seed: int | None = None,
    n_players: int | None = None,
    videos_per_player: int = DEMO_VIDEOS_PER_PLAYER,
    seconds_per_video: float | None = None,
    progress: bool = False,
    difficulty: str = DEMO_DIFFICULTY,
) -> Path:
    """Write the synthetic demo dataset to ``path`` and return it.

    Parameters
    ----------
    path : str or Path
        Dataset folder to create (its poses/, labelstudio/, dataset.yaml and
        videos.csv are replaced).
    seed : int, optional
        Same seed, identical files. Default 7 (standard), 1007 (hard).
    n_players, videos_per_player, seconds_per_video
        Size. The defaults give 60 videos, 40 minutes of footage (standard: 20
        players x 3 x 40 s) or 96 videos, 40 minutes (hard: 32 players x 3 x 25 s).
    progress : bool
        Show a progress bar.
    difficulty : {"standard", "hard"}
        ``standard``: the demo as it has always been. ``hard``: a demo a classifier
        does not saturate (see :mod:`tennis_lab.demo.hard`).

    Returns
    -------
    Path

    Raises
    ------
    DemoError
        Bad settings (see :func:`check_demo_args`), before anything is written.
    """
    check_demo_args(path, seed, n_players, videos_per_player, seconds_per_video, difficulty)
    level = demo_level(difficulty)
    seed = level.seed if seed is None else seed
    n_players = level.players if n_players is None else n_players
    seconds_per_video = level.seconds if seconds_per_video is None else seconds_per_video
    root = Path(path)
    rng = np.random.default_rng(seed)
    players = _players(rng, n_players, level, seed)
    (root / poses.POSES_DIR).mkdir(parents=True, exist_ok=True)
    for old in (root / poses.POSES_DIR).glob("*.npz"):
        old.unlink()
    (root / poses.VIDEOS_CSV).unlink(missing_ok=True)
    videos: list[tuple[str, str, bool, int]] = []
    tasks, single = [], None
    task_id = 1
    bar = tqdm(
        total=n_players * videos_per_player, desc="demo videos", unit="video", disable=not progress
    )
    for player in players:
        for v in range(videos_per_player):
            video_id = f"{player.name}_{v + 1:02d}"
            videos.append((video_id, player.name, player.left_handed, v))
            task = _write_video(root, video_id, player, seed, task_id, seconds_per_video, level)
            if single is None:
                single = task
            else:
                tasks.append(task)
            task_id += 1
            bar.update()
    bar.close()
    ls_dir = root / poses.LABELSTUDIO_DIR
    ls_dir.mkdir(exist_ok=True)
    for old in ls_dir.glob("*.json"):
        old.unlink()
    (ls_dir / "project_export.json").write_text(json.dumps(tasks, indent=1), encoding="utf-8")
    (ls_dir / f"task_{single['id']}.json").write_text(
        json.dumps(single, indent=1), encoding="utf-8"
    )
    config = {
        "description": (
            f"tennis-lab demo dataset (seed {seed}"
            f"{'' if level.name == 'standard' else ', ' + level.name}): "
            f"{n_players} synthetic players, "
            f"{videos_per_player} videos each, MediaPipe 33-landmark poses."
        ),
        "class_map": CLASS_MAP,
        "ignore_labels": [IGNORED_LABEL],
    }
    (root / poses.DATASET_YAML).write_text(yaml.safe_dump(config, sort_keys=True), encoding="utf-8")
    _write_videos_csv(root, videos)
    return root


def _write_videos_csv(root: Path, videos: list[tuple[str, str, bool, int]]) -> Path:
    """Write ``videos.csv`` from (video_id, player, left_handed, index within the player).

    The session is the day the video was filmed: a player's n-th video on day n.
    """
    table = pd.DataFrame(
        [
            (vid, player, "left" if left else "right", f"day_{index + 1}")
            for vid, player, left, index in sorted(videos)
        ],
        columns=["video_id", *poses.VIDEO_COLUMNS],
    )
    path = root / poses.VIDEOS_CSV
    table.to_csv(path, index=False, lineterminator="\n")
    return path


# A demo video id: <player>_<NN>, the player a name of _NAMES with an optional number.
_DEMO_VIDEO_ID = re.compile(r"^(?P<player>(?P<name>[a-z]+)\d*)_(?P<n>\d{2,})$")


def _demo_videos(video_ids) -> list[tuple[str, str, bool, int]] | None:
    """The videos.csv rows of demo recordings, from their ids; None if one is not a demo id."""
    rows = []
    for vid in video_ids:
        m = _DEMO_VIDEO_ID.match(vid)
        if m is None or m["name"] not in _NAMES or int(m["n"]) < 1:
            return None
        rows.append((vid, m["player"], m["name"] in _LEFT_HANDED, int(m["n"]) - 1))
    return rows


def _annotate(rng: np.random.Generator, segments, fps: float, n_frames: int) -> pd.DataFrame:
    """Annotators' stroke ranges: the swing, with a little timing slop."""
    rows = []
    for kind, t0, dur in segments:
        if kind not in STROKES:
            continue
        start = t0 + dur * rng.uniform(0.02, 0.12) + rng.normal(0, 0.05)
        end = t0 + dur * rng.uniform(0.88, 0.98) + rng.normal(0, 0.05)
        s, e = max(0, int(round(start * fps))), min(n_frames, int(round(end * fps)))
        if e > s:
            rows.append((s, e, RAW_LABELS[kind]))
        if kind != "serve" and rng.random() < 0.05:  # the ball went out: noted, not a stroke
            o = min(n_frames - 1, e + int(0.5 * fps))
            rows.append((o, min(n_frames, o + int(0.3 * fps)), IGNORED_LABEL))
    return pd.DataFrame(rows, columns=["start_frame", "end_frame", "label"])


def ensure_demo_dataset(path: str | Path | None = None) -> Path:
    """Return the demo dataset folder, generating it first if it is missing.

    A demo folder written before the demo had ``videos.csv`` gets one: its players
    and handedness follow from the video ids (``<player>_<NN>``), so only that file
    is written, the same file regenerating would write, in no time. A folder with
    recordings that are not all demo ids is left as it is (it loads without
    ``videos.csv``); it is never regenerated over.
    """
    from tennis_lab import paths

    root = Path(path) if path is not None else paths.demo_data_dir()
    recordings = sorted((root / poses.POSES_DIR).glob("*.npz"))
    if not recordings:
        make_demo_dataset(root)
    elif not (root / poses.VIDEOS_CSV).is_file():
        videos = _demo_videos(f.stem for f in recordings)
        if videos is not None:
            _write_videos_csv(root, videos)
    return root
