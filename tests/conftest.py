"""Shared fixtures: small hand-made recordings and dataset folders in tmp_path."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tennis_lab.poses import (
    ANNOTATION_COLUMNS,
    ANNOTATIONS_CSV,
    DATASET_YAML,
    POSES_DIR,
    Recording,
    write_recording,
)

# A small layout: enough landmarks for body normalisation, few enough to read.
LANDMARKS = ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "nose")
CHANNELS = ("x", "y", "z", "visibility")


def recording(
    video_id: str,
    n_frames: int,
    fps: float = 30.0,
    missing: Iterable[int] = (),
    seed: int = 0,
) -> Recording:
    """A recording of random poses; frames in ``missing`` have no pose (all NaN)."""
    rng = np.random.default_rng(seed)
    lm = rng.random((n_frames, len(LANDMARKS), len(CHANNELS))).astype(np.float32)
    lm[list(missing)] = np.nan
    return Recording(video_id, lm, float(fps), LANDMARKS, CHANNELS)


def write_dataset(
    root: Path,
    recordings: Iterable[Recording],
    rows: Iterable[tuple] | None = None,
    config: Mapping | None = None,
) -> Path:
    """Write a dataset folder: poses/<id>.npz, annotations.csv (``rows``), dataset.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    for rec in recordings:
        write_recording(rec, root / POSES_DIR / f"{rec.video_id}.npz")
    if rows is not None:
        df = pd.DataFrame(list(rows), columns=list(ANNOTATION_COLUMNS))
        df.to_csv(root / ANNOTATIONS_CSV, index=False)
    if config is not None:
        (root / DATASET_YAML).write_text(yaml.safe_dump(dict(config)), encoding="utf-8")
    return root


# The hand-made dataset of the `dataset_dir` fixture.
CLASS_MAP = {"Fronthand": "forehand", "slice direita": "forehand", "saque": "serve"}
ROWS = [
    ("video_01", 10, 30, "Fronthand"),
    ("video_01", 50, 70, "saque"),
    ("video_01", 80, 90, "forehand"),  # already a class name: kept as is
    ("video_02", 0, 20, "slice direita"),
    ("video_02", 30, 40, "point"),  # ignored, counted in skipped
    ("video_02", 40, 50, "point"),  # ignored, counted in skipped
]


@pytest.fixture
def make_recording() -> Callable[..., Recording]:
    """Factory: ``make_recording(video_id, n_frames, fps=30, missing=(), seed=0)``."""
    return recording


@pytest.fixture
def make_dataset(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_dataset(recordings, rows=None, config=None, name="data")`` -> folder."""

    def make(recordings, rows=None, config=None, name="data") -> Path:
        return write_dataset(tmp_path / name, recordings, rows, config)

    return make


@pytest.fixture
def dataset_dir(make_dataset) -> Path:
    """video_01 (100 frames, 30 fps, frames 3 and 4 without a pose, 3 strokes),
    video_02 (60 frames, 60 fps, 1 stroke and 2 ignored), video_03 (50 frames, no strokes)."""
    recs = [
        recording("video_01", 100, 30.0, missing=(3, 4), seed=1),
        recording("video_02", 60, 60.0, seed=2),
        recording("video_03", 50, 30.0, seed=3),
    ]
    config = {
        "description": "hand-made test set",
        "class_map": CLASS_MAP,
        "ignore_labels": ["point"],
    }
    return make_dataset(recs, ROWS, config)


def interruptible() -> None:
    """In the child: Ctrl-C (SIGINT) as in a terminal. A shell that starts a command in
    the background (`make test &`, CI runners) ignores SIGINT in it, and Python then
    installs no KeyboardInterrupt handler: a test of Ctrl-C would send it in vain."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# --------------------------------------------------------------------------- training runs

# The smallest model that trains: every test that trains, or runs the notebook, uses it.
TINY_MODEL = {
    "lstm_layers": [8],
    "dense_units": 8,
    "dropout_rates": [0.1, 0.1],
    "learning_rate": 0.01,
    "batch_size": 64,
    "epochs": 2,
}


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Prepared windows (also those of notebook kernels) are cached in a temporary folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TENNIS_LAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory) -> Path:
    """A six-video demo dataset (20 s each): seconds to train on."""
    from tennis_lab import make_demo_dataset

    return make_demo_dataset(
        tmp_path_factory.mktemp("tiny") / "demo",
        n_players=6,
        videos_per_player=1,
        seconds_per_video=20,
    )
