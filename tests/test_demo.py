"""Tests of the built-in demo dataset: real format, determinism, realism, difficulty."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import f1_score

from tennis_lab import load_dataset, make_demo_dataset, make_windows, split_by_video
from tennis_lab.demo import ensure_demo_dataset
from tennis_lab.poses import MEDIAPIPE_CHANNELS, MEDIAPIPE_LANDMARKS, read_labelstudio

SMALL = dict(n_players=3, videos_per_player=1, seconds_per_video=20)


def file_digests(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default-size demo dataset, generated once for this module."""
    return load_dataset(make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo"))


def test_same_seed_gives_identical_files(tmp_path):
    a = make_demo_dataset(tmp_path / "a", seed=3, **SMALL)
    b = make_demo_dataset(tmp_path / "b", seed=3, **SMALL)
    digests = file_digests(a)
    assert digests == file_digests(b)
    assert any(name.startswith("poses/") for name in digests)


def test_another_seed_gives_other_data(tmp_path):
    a = make_demo_dataset(tmp_path / "a", seed=3, **SMALL)
    b = make_demo_dataset(tmp_path / "b", seed=4, **SMALL)
    assert file_digests(a) != file_digests(b)


def test_regenerating_replaces_old_files(tmp_path):
    root = make_demo_dataset(
        tmp_path / "d", seed=1, n_players=2, videos_per_player=2, seconds_per_video=20
    )
    make_demo_dataset(root, seed=1, **SMALL)
    assert len(list((root / "poses").glob("*.npz"))) == 3


def test_demo_is_in_the_user_format_with_label_studio_exports(demo):
    root = demo.root
    assert (root / "dataset.yaml").is_file()
    single = json.loads((root / "labelstudio" / "task_1.json").read_text())
    project = json.loads((root / "labelstudio" / "project_export.json").read_text())
    assert isinstance(single, dict) and isinstance(project, list) and len(project) == 59
    # Label Studio's upload prefix is on the video path and still resolves
    assert single["data"]["video"].startswith("/data/upload/1/")
    ann, skipped = read_labelstudio(root / "labelstudio" / "task_1.json")
    (raw_id,) = set(ann.video_id)
    assert raw_id.endswith("-ana_01") and len(raw_id) == len("1a2b3c4d-ana_01")
    assert "ana_01" in set(demo.annotations.video_id)
    assert skipped and skipped[0].reason == "result of type 'choices'"
    rec = demo.recordings["ana_01"]
    assert rec.landmark_names == MEDIAPIPE_LANDMARKS and rec.channel_names == MEDIAPIPE_CHANNELS
    assert rec.landmarks.dtype == np.float32 and rec.landmarks.shape[1:] == (33, 4)


def test_demo_looks_like_real_footage(demo):
    summary = demo.summary()
    assert summary["videos"] == 60
    assert set(summary["fps"]) == {30.0, 48.0, 60.0}
    assert set(demo.classes) == {"forehand", "backhand", "serve", "slice"}
    counts = summary["strokes_per_class"]
    assert min(counts.values()) >= 50 and max(counts.values()) > 1.5 * min(
        counts.values()
    )  # imbalanced
    raw = set(demo.annotations.raw_label)
    assert {"Fronthand", "Backhand", "Saque", "Slice", "slice direita"} <= raw
    reasons = {s.reason for s in demo.skipped}
    assert "ignored label 'Bola fora'" in reasons and "result of type 'choices'" in reasons
    # tracking failures: dropped frames, low-visibility joints
    assert 0.005 < summary["missing_frames"] / summary["frames"] < 0.1
    # (filmed from behind, the face is hidden: its visibility is low, as a tracker reports it)
    body = np.concatenate([r.landmarks[:, 11:, 3].ravel() for r in demo.recordings.values()])
    body = body[~np.isnan(body)]
    assert 0.01 < (body < 0.5).mean() < 0.3 and np.median(body) > 0.8
    # players differ in height on screen; left-handers swing on the other side
    heights = [
        np.nanmedian(r.landmarks[:, 27, 1] - r.landmarks[:, 0, 1]) for r in demo.recordings.values()
    ]
    assert max(heights) > 1.6 * min(heights)
    # strokes last about half a second (quick groundstrokes) to three (slow serves)
    seconds = [
        (row.end_frame - row.start_frame) / demo.recordings[row.video_id].fps
        for row in demo.annotations.itertuples()
    ]
    assert 0.4 < min(seconds) < 0.8 and 2.0 < max(seconds) < 3.0
    assert 0.15 < summary["annotation_coverage"] < 0.5


def test_left_handers_are_mirror_images():
    from tennis_lab.demo import _mirror

    world = np.zeros((1, 33, 3))
    world[0, MEDIAPIPE_LANDMARKS.index("right_wrist")] = (0.5, 1.2, 0.3)
    mirrored = _mirror(world)
    np.testing.assert_allclose(
        mirrored[0, MEDIAPIPE_LANDMARKS.index("left_wrist")], (-0.5, 1.2, 0.3)
    )
    np.testing.assert_allclose(mirrored[0, MEDIAPIPE_LANDMARKS.index("right_wrist")], 0)
    np.testing.assert_allclose(_mirror(mirrored), world)


def test_demo_has_left_and_right_handed_players():
    from tennis_lab.demo import _players

    players = _players(np.random.default_rng(7), 8)
    assert {p.name for p in players if p.left_handed} == {"bruno", "eva"}
    assert len({p.two_handed_backhand for p in players}) == 2


def test_demo_is_learnable_but_not_trivially_separable(demo):
    """A linear model on the raw windows beats chance (0.25) clearly but stays far from 1."""
    ws = make_windows(demo, window_size=45, overlap=30)
    split = split_by_video(ws.groups, ws.y, seed=42)
    X = ws.X[:, ::5].reshape(len(ws), -1)
    model = RidgeClassifier(alpha=10.0).fit(X[split.train], ws.y[split.train])
    scores = [
        f1_score(ws.y[part], model.predict(X[part]), average="macro")
        for part in (split.val, split.test)
    ]
    assert all(0.45 < s < 0.85 for s in scores), scores


def test_ensure_demo_dataset_generates_once(tmp_path, monkeypatch):
    import tennis_lab.demo as demo_module

    calls = []
    real = demo_module.make_demo_dataset
    monkeypatch.setattr(
        demo_module,
        "make_demo_dataset",
        lambda path, **kw: calls.append(path) or real(path, **SMALL),
    )
    root = ensure_demo_dataset(tmp_path / "demo")
    assert len(list((root / "poses").glob("*.npz"))) == 3
    ensure_demo_dataset(tmp_path / "demo")
    assert len(calls) == 1


def test_bad_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="n_players >= 1"):
        make_demo_dataset(tmp_path / "x", n_players=0)
