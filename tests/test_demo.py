"""Tests of the built-in demo dataset: real format, determinism, realism, difficulty."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import f1_score

from tennis_lab import load_dataset, make_demo_dataset, make_split, make_windows
from tennis_lab.demo import _LEFT_HANDED, ensure_demo_dataset
from tennis_lab.poses import (
    MEDIAPIPE_CHANNELS,
    MEDIAPIPE_LANDMARKS,
    read_labelstudio,
    read_videos_csv,
)

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
    split = make_split(ws, split_by="video", seed=42)
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


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"n_players": 0}, r"n_players \(--players\) must be a whole number >= 1; got 0\. Fix"),
        ({"videos_per_player": -1}, r"videos_per_player \(--videos\) must be a whole number >="),
        (
            {"seconds_per_video": 5},
            r"seconds_per_video \(--seconds\) must be at least 10, .*got 5\. Fix: give --sec",
        ),
        ({"seconds_per_video": float("nan")}, r"seconds_per_video \(--seconds\) must be at least"),
        ({"seed": -1}, r"seed \(--seed\) must be a whole number >= 0; got -1"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, settings, message):
    from tennis_lab.demo import DemoError

    with pytest.raises(DemoError, match=message):
        make_demo_dataset(tmp_path / "x", **settings)
    assert not (tmp_path / "x").exists()


def test_a_file_for_the_demo_folder_is_refused(tmp_path):
    from tennis_lab.demo import DemoError

    (tmp_path / "x").write_text("not a folder")
    with pytest.raises(DemoError, match=r"x is a file; the demo needs a folder"):
        make_demo_dataset(tmp_path / "x", **SMALL)


def test_demo_videos_csv_lists_every_video_once_with_player_and_handedness(demo):
    path = demo.root / "videos.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(raw.columns) == ["video_id", "player", "handedness", "session"]
    assert sorted(raw.video_id) == sorted(demo.recordings) and raw.video_id.is_unique
    assert len(raw) == 60 and raw.player.nunique() == 20
    assert (raw.video_id == raw.player + "_" + raw.session.str.replace("day_", "0")).all()
    assert set(raw.session) == {"day_1", "day_2", "day_3"}
    left = set(raw.player[raw.handedness == "left"])
    assert left == _LEFT_HANDED and set(raw.handedness) == {"left", "right"}
    assert len(read_videos_csv(path, demo.recordings)) == 60
    # the loaded dataset agrees
    assert demo.handedness == {
        vid: "left" if vid.rsplit("_", 1)[0] in _LEFT_HANDED else "right" for vid in demo.recordings
    }
    assert demo.video_metadata()["bruno_02"] == {
        "player": "bruno",
        "handedness": "left",
        "session": "day_2",
    }
    summary = demo.summary()
    assert summary["handedness"] == {"left": 15, "right": 45, "unknown": 0}
    assert len(summary["players"]) == 20 and summary["videos_csv"] is True


def test_more_players_than_names_keep_the_handedness_of_their_name(tmp_path):
    root = make_demo_dataset(
        tmp_path / "d", n_players=22, videos_per_player=1, seconds_per_video=10
    )
    hands = load_dataset(root).handedness
    assert hands["ana1_01"] == "right" and hands["bruno1_01"] == "left"
    assert hands["bruno_01"] == "left" and len(hands) == 22


def test_regenerating_replaces_a_stale_videos_csv(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "videos.csv").write_text("video_id,player\nsomeone_01,someone\n")
    make_demo_dataset(root, **SMALL)
    ds = load_dataset(root)  # a stale line would be an unknown video id
    assert sorted(ds.video_metadata()) == ["ana_01", "bruno_01", "carla_01"]


def test_ensure_demo_dataset_adds_videos_csv_to_an_older_demo_without_regenerating(
    tmp_path, monkeypatch
):
    import tennis_lab.demo as demo_module

    root = make_demo_dataset(
        tmp_path / "demo", n_players=3, videos_per_player=2, seconds_per_video=10
    )
    fresh = (root / "videos.csv").read_bytes()
    (root / "videos.csv").unlink()  # as written by a version without videos.csv
    before = file_digests(root)
    monkeypatch.setattr(demo_module, "make_demo_dataset", lambda *a, **k: pytest.fail("regen"))

    assert ensure_demo_dataset(root) == root
    assert (root / "videos.csv").read_bytes() == fresh
    after = file_digests(root)
    assert after.pop("videos.csv") and after == before
    assert load_dataset(root).handedness["bruno_02"] == "left"


def test_ensure_demo_dataset_leaves_a_folder_of_other_recordings_alone(
    tmp_path, monkeypatch, make_dataset, make_recording
):
    import tennis_lab.demo as demo_module

    root = make_dataset([make_recording("rally_1", 10)], [("rally_1", 0, 5, "serve")])
    monkeypatch.setattr(demo_module, "make_demo_dataset", lambda *a, **k: pytest.fail("regen"))
    ensure_demo_dataset(root)
    assert not (root / "videos.csv").exists()


# --------------------------------------------------------------------------- difficulty

# Digests of the standard demo as it was before the hard variant existed: the default
# output must stay the same file for file, byte for byte.
STANDARD_DIGEST = "c2083af720fe82014c0d0c91c6081fae4931c5af27e8da5af872a5aa71ad5c2e"
STANDARD_SMALL_DIGEST = "71f6abe840d5545ea5e6cd9e8631f1808027972fb11f0ed530e23ca9cf8bb66c"
HARD_SMALL = dict(n_players=6, videos_per_player=2, seconds_per_video=20)


def folder_digest(root):
    lines = "".join(f"{name} {digest}\n" for name, digest in file_digests(root).items())
    return hashlib.sha256(lines.encode()).hexdigest()


def test_the_default_demo_is_unchanged_byte_for_byte(demo, tmp_path):
    assert folder_digest(demo.root) == STANDARD_DIGEST
    small = make_demo_dataset(
        tmp_path / "s", seed=3, n_players=3, videos_per_player=2, seconds_per_video=12
    )
    assert folder_digest(small) == STANDARD_SMALL_DIGEST
    again = make_demo_dataset(
        tmp_path / "t",
        seed=3,
        n_players=3,
        videos_per_player=2,
        seconds_per_video=12,
        difficulty="standard",
    )
    assert folder_digest(again) == STANDARD_SMALL_DIGEST


@pytest.fixture(scope="module")
def hard_demo(tmp_path_factory):
    return load_dataset(
        make_demo_dataset(tmp_path_factory.mktemp("hard") / "hard", difficulty="hard", **HARD_SMALL)
    )


def test_hard_demo_loads_as_user_data_with_the_promised_shape(hard_demo):
    summary = hard_demo.summary()
    assert summary["videos"] == 12
    assert set(hard_demo.classes) == {"forehand", "backhand", "serve", "slice"}
    raw = pd.read_csv(hard_demo.root / "videos.csv", dtype=str, keep_default_na=False)
    assert raw.player.nunique() == 6 and set(raw.session) == {"day_1", "day_2"}
    left = set(raw.player[raw.handedness == "left"])
    assert (
        left
        == {p for p in raw.player if p.rstrip("0123456789") in _LEFT_HANDED}
        == {"bruno", "eva"}
    )
    description = (hard_demo.root / "dataset.yaml").read_text()
    assert "seed 1007, hard" in description  # its own default seed: never mixed with standard
    # tracking failures: whole frames dropped, and single joints lost within a pose
    assert 0.02 < summary["missing_frames"] / summary["frames"] < 0.25
    partly = [
        (np.isnan(r.landmarks[..., 0]).any(axis=1) & ~np.isnan(r.landmarks[..., 0]).all(axis=1))
        for r in hard_demo.recordings.values()
    ]
    assert 0.005 < np.concatenate(partly).mean() < 0.2


def test_hard_demo_has_more_missing_frames_and_lost_joints_than_the_standard(hard_demo, tmp_path):
    standard = load_dataset(make_demo_dataset(tmp_path / "s", seed=1007, **HARD_SMALL))

    def lost_joint_share(dataset):
        x = np.concatenate([r.landmarks[..., 0] for r in dataset.recordings.values()])
        return (np.isnan(x).any(axis=1) & ~np.isnan(x).all(axis=1)).mean()

    assert lost_joint_share(standard) == 0 < lost_joint_share(hard_demo)
    missing = [d.summary()["missing_frames"] / d.summary()["frames"] for d in (hard_demo, standard)]
    assert missing[0] > 1.3 * missing[1]


def test_hard_demo_cameras_are_noisier_and_film_from_more_angles():
    from tennis_lab.demo import DIFFICULTIES, _camera

    rng = np.random.default_rng(0)
    standard = [_camera(rng) for _ in range(400)]
    hard = [_camera(rng, DIFFICULTIES["hard"], rng) for _ in range(400)]

    def side(cams):  # degrees off the court axis, seen from behind or from the front
        return np.array([min(abs(c.view_yaw), abs(abs(c.view_yaw) - 180)) for c in cams])

    assert side(hard).max() > 60 > side(standard).max()
    assert np.mean([c.jitter for c in hard]) > 2 * np.mean([c.jitter for c in standard])
    assert np.mean([c.drop_rate for c in hard]) > 2 * np.mean([c.drop_rate for c in standard])
    assert np.std([c.roll for c in hard]) > 1.3 * np.std([c.roll for c in standard])
    assert all(c.pitch == 0 for c in standard) and np.mean([c.pitch for c in hard]) > 8
    front = [np.mean([abs(c.view_yaw) > 90 for c in cams]) for cams in (hard, standard)]
    assert front[0] > front[1] > 0.05


def test_hard_demo_players_vary_more_and_swing_in_their_own_style():
    from tennis_lab.demo import DIFFICULTIES, _players

    standard = _players(np.random.default_rng(1), 40)
    hard = _players(np.random.default_rng(1), 40, DIFFICULTIES["hard"], seed=1)
    spread = lambda ps, key: np.ptp([getattr(p, key) for p in ps])  # noqa: E731
    for key in ("tempo", "amplitude", "rotation"):
        assert spread(hard, key) > 1.2 * spread(standard, key)
    assert all(p.style == {} for p in standard)
    offsets = [v for p in hard for stroke in p.style.values() for v in stroke.values()]
    assert 8 < np.std(offsets) < 20
    assert DIFFICULTIES["hard"].players > DIFFICULTIES["standard"].players


def test_look_alike_strokes_share_part_of_their_swing():
    from tennis_lab.demo.hard import blend_frames
    from tennis_lab.demo.strokes import _FOREHAND, _FOREHAND_SLICE

    half = dict(blend_frames(_FOREHAND, _FOREHAND_SLICE, 0.5)["d_a1"])
    own = dict(blend_frames(_FOREHAND, _FOREHAND_SLICE, 0.0)["d_a1"])
    other = dict(blend_frames(_FOREHAND_SLICE, _FOREHAND, 0.0)["d_a1"])
    assert own[0.35] == 100 and other[0.4] == 95
    for phase, value in half.items():
        assert value == pytest.approx((own[phase] + other[phase]) / 2)


def test_hard_demo_is_deterministic_and_differs_from_the_standard(tmp_path):
    small = dict(n_players=2, videos_per_player=1, seconds_per_video=12)
    a = make_demo_dataset(tmp_path / "a", difficulty="hard", seed=5, **small)
    b = make_demo_dataset(tmp_path / "b", difficulty="hard", seed=5, **small)
    c = make_demo_dataset(tmp_path / "c", difficulty="standard", seed=5, **small)
    d = make_demo_dataset(tmp_path / "d", difficulty="hard", seed=6, **small)
    assert file_digests(a) == file_digests(b)
    poses_of = lambda root: {k: v for k, v in file_digests(root).items() if "poses/" in k}  # noqa: E731
    assert not set(poses_of(a).values()) & set(poses_of(c).values())
    assert not set(poses_of(a).values()) & set(poses_of(d).values())


@pytest.mark.parametrize("difficulty", ["extreme", "Hard", "", None, 1])
def test_an_unknown_difficulty_is_refused_before_anything_is_written(tmp_path, difficulty):
    from tennis_lab.demo import DemoError

    with pytest.raises(DemoError, match=r"difficulty \(--difficulty\) must be one of \['hard', "):
        make_demo_dataset(tmp_path / "x", difficulty=difficulty, **SMALL)
    assert not (tmp_path / "x").exists()


def test_command_line_difficulty(tmp_path, capsys):
    from tennis_lab.cli import main

    assert main(["data", "demo", str(tmp_path / "x"), "--difficulty", "extreme"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "got 'extreme'. Fix: give --difficulty" in err
    assert not (tmp_path / "x").exists()
    args = ["--players", "2", "--videos", "1", "--seconds", "12"]
    assert main(["data", "demo", str(tmp_path / "h"), "--difficulty", "hard", *args]) == 0
    assert main(["data", "demo", str(tmp_path / "s"), *args]) == 0
    assert "seed 1007, hard" in (tmp_path / "h" / "dataset.yaml").read_text()
    assert "seed 7)" in (tmp_path / "s" / "dataset.yaml").read_text()
    assert file_digests(tmp_path / "s") == file_digests(
        make_demo_dataset(tmp_path / "s2", n_players=2, videos_per_player=1, seconds_per_video=12)
    )
