"""How hard the demo dataset is: the knobs of the generator, ``standard`` and ``hard``.

``standard`` holds the values the demo has always used (its files stay the same).
``hard`` is a demo that does not saturate a classifier: more players with more
varied styles (each player swings every stroke a little their own way), slower
and faster tempos, strokes that look more like their look-alikes (forehand and
forehand slice, backhand and slice share part of their swing), cameras from any
side, closer (stronger perspective), tilted and looking down, noisier tracking,
joints lost for a few frames, more dropped frames, fewer strokes per player.
Everything only ``hard`` draws comes from random streams of its own, so ``standard``
draws exactly what it always drew.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tennis_lab.demo.strokes import READY


@dataclass(frozen=True)
class Difficulty:
    """The generator's knobs; ranges are (low, high) of a uniform draw."""

    name: str
    seed: int  # default seed: the two difficulties never share files by accident
    players: int
    seconds: float
    tempo: tuple[float, float] = (0.8, 1.25)
    amplitude: tuple[float, float] = (0.7, 1.15)
    rotation: tuple[float, float] = (0.6, 1.2)
    keyframe_noise: float = 12.0  # degrees, per stroke and keyframe
    style: float = 0.0  # degrees: a player's own offset of each stroke's angles
    blend: tuple[float, float] = (0.0, 0.0)  # share of the look-alike stroke in a swing
    rally: tuple[int, int] = (1, 6)  # shots per point (high excluded)
    front_share: float = 0.15  # share of videos filmed from the front
    side_yaw: float = 50.0  # degrees either side of "from behind"
    distance: tuple[float, float] = (5.0, 14.0)
    roll: float = 3.0  # degrees, standard deviation
    pitch: tuple[float, float] = (0.0, 0.0)  # degrees the camera looks down
    jitter: tuple[float, float] = (0.0015, 0.006)
    drop_rate: tuple[float, float] = (0.002, 0.012)
    lost_joints: float = 0.0  # share of frames where a few joints start to be lost

    @property
    def extra(self) -> bool:
        """Whether the generator draws anything beyond the standard demo."""
        return self.name != "standard"


DIFFICULTIES = {
    "standard": Difficulty("standard", seed=7, players=20, seconds=40.0),
    "hard": Difficulty(
        "hard",
        seed=1007,
        players=40,
        seconds=25.0,
        tempo=(0.65, 1.4),
        amplitude=(0.55, 1.25),
        rotation=(0.4, 1.35),
        keyframe_noise=15.0,
        style=10.0,
        blend=(0.1, 0.35),
        rally=(1, 5),
        front_share=0.2,
        side_yaw=70.0,
        distance=(3.5, 14.0),
        roll=5.0,
        pitch=(0.0, 25.0),
        jitter=(0.004, 0.012),
        drop_rate=(0.006, 0.025),
        lost_joints=0.012,
    ),
}

# The stroke each one is most easily taken for.
LOOKALIKE = {
    "forehand": "forehand_slice",
    "forehand_slice": "forehand",
    "backhand": "slice",
    "slice": "backhand",
}


def style_offsets(seed: int, index: int, level: Difficulty) -> dict[str, dict[str, float]]:
    """A player's own way of swinging: per stroke, an offset (degrees) of each angle."""
    if level.style <= 0:
        return {}
    rng = np.random.default_rng([seed, 50_000 + index])
    angles = [k for k in READY if k not in ("knee", "stance", "jump")]
    return {
        kind: {k: float(rng.normal(0, level.style)) for k in angles}
        for kind in ("forehand", "backhand", "slice", "forehand_slice", "serve")
    }


def _curve(frames: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    points = [(0.0, READY[name]), *frames.get(name, []), (1.0, READY[name])]
    phases, values = np.array(sorted(points)).T
    return phases, values


def blend_frames(frames: dict, lookalike: dict, share: float) -> dict:
    """Keyframes of a swing part ``frames``, part (``share``) its look-alike's."""
    out = {}
    for name in set(frames) | set(lookalike):
        own_p, own_v = _curve(frames, name)
        other_p, other_v = _curve(lookalike, name)
        phases = sorted({p for p in np.concatenate([own_p, other_p]) if 0.0 < p < 1.0})
        mixed = (1 - share) * np.interp(phases, own_p, own_v) + share * np.interp(
            phases, other_p, other_v
        )
        out[name] = [(float(p), float(v)) for p, v in zip(phases, mixed, strict=True)]
    return out


def look_down(p: np.ndarray, pitch: float, centre: float) -> np.ndarray:
    """Points (T, L, 3) in camera axes seen by a camera tilted ``pitch`` degrees down."""
    a = np.radians(pitch)
    y, z = p[..., 1] - centre, p[..., 2]
    out = p.copy()
    out[..., 1] = y * np.cos(a) - z * np.sin(a) + centre
    out[..., 2] = y * np.sin(a) + z * np.cos(a)
    return out


def lose_joints(rng: np.random.Generator, out: np.ndarray, share: float, fps: float) -> None:
    """The tracker loses a few joints (NaN) for a few frames now and then, in place."""
    T = out.shape[0]
    for start in np.flatnonzero(rng.random(T) < share):
        joints = rng.choice(out.shape[1], size=int(rng.integers(1, 5)), replace=False)
        out[start : start + int(rng.integers(2, max(3, int(0.3 * fps)))), joints] = np.nan
