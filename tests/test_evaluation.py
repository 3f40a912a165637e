"""Tests of tennis_lab.evaluation: grouped splits and folds, stroke scoring, the macro-F1 rule."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tennis_lab.evaluation import (
    EvaluationError,
    aggregate_strokes,
    check_evaluation_params,
    detect_strokes,
    event_scores,
    frame_probabilities,
    group_folds,
    group_scores,
    macro_f1,
    make_folds,
    make_split,
    make_splits,
    match_events,
    predict_strokes,
    resolve_split_by,
    split_by_group,
    video_groups,
)

# --------------------------------------------------------------------------- fixtures


def twelve_groups():
    """12 groups with 3 to 14 samples each, two classes."""
    groups, y = [], []
    for g in range(12):
        n = 3 + g
        groups += [f"g{g:02d}"] * n
        y += [(g + k) % 2 for k in range(n)]
    return np.array(groups), np.array(y)


def window_set(players: dict[str, str | None], videos_per_player: int = 2, windows_per_video=4):
    """A stand-in WindowSet: each video has strokes of both classes and labelled windows."""
    videos, groups, strokes_video, strokes_y = {}, [], [], []
    for player, hand in players.items():
        for k in range(videos_per_player):
            video = f"{player}_{k}"
            videos[video] = {"player": player, "handedness": hand, "session": f"day{k}"}
            groups += [video] * windows_per_video
            strokes_video += [video] * 4
            strokes_y += [0, 1, 0, 1]
    return SimpleNamespace(
        groups=np.array(groups),
        videos=videos,
        strokes={"video": np.array(strokes_video), "y": np.array(strokes_y)},
    )


PLAYERS = {"ana": "right", "bruno": "left", "carla": "right", "diego": "right", "eva": "left",
           "felipe": "right", "gabi": "right", "hugo": None}  # fmt: skip


# --------------------------------------------------------------------------- split_by_group


def test_split_by_group_is_disjoint_complete_and_seeded():
    groups, y = twelve_groups()
    parts = split_by_group(groups, y, seed=0)
    assert set(parts) == set(groups) and set(parts.values()) == {"train", "val", "test"}
    again = split_by_group(groups, y, seed=0)
    assert parts == again
    others = [split_by_group(groups, y, seed=s) for s in range(1, 10)]
    assert any(o != parts for o in others)  # another seed gives another split


def test_split_by_group_gives_every_part_a_group_with_three():
    groups = np.array(["a"] * 50 + ["b"] * 2 + ["c"] * 1)
    parts = split_by_group(groups, np.zeros(len(groups), dtype=int), seed=0)
    assert sorted(parts.values()) == ["test", "train", "val"]


def test_split_by_group_pins_test_groups():
    groups, y = twelve_groups()
    for seed in range(5):
        parts = split_by_group(groups, y, seed=seed, test_groups=["g03", "g07"], by="player")
        assert sorted(g for g, p in parts.items() if p == "test") == ["g03", "g07"]
        assert {"train", "val"} <= set(parts.values())


def test_split_by_group_errors_name_the_problem():
    with pytest.raises(
        EvaluationError,
        match=r"split by player needs at least 3 players .*got 2 players \(a, b\)",
    ):
        split_by_group(np.array(["a", "a", "b"]), np.array([0, 1, 0]), by="player")
    groups, y = twelve_groups()
    with pytest.raises(EvaluationError, match=r"test_groups \['zoe'\] are not players"):
        split_by_group(groups, y, test_groups=["zoe"], by="player")
    with pytest.raises(EvaluationError, match=r"1 player remain for train and validation"):
        split_by_group(
            np.array(["a", "b", "c"]), np.array([0, 1, 0]), test_groups=["a", "b"], by="player"
        )
    with pytest.raises(EvaluationError, match=r"val_fraction must be between 0 and 1; got 0"):
        split_by_group(groups, y, val_fraction=0)
    with pytest.raises(EvaluationError, match=r"val_fraction \+ test_fraction must be below 1"):
        split_by_group(groups, y, val_fraction=0.5, test_fraction=0.5)


# --------------------------------------------------------------------------- groups of videos


def test_split_by_auto_is_player_when_players_are_known():
    ws = window_set(PLAYERS)
    assert resolve_split_by("auto", ws.videos) == "player"
    assert resolve_split_by("auto", {"v": {"player": None}}) == "video"
    assert resolve_split_by("session", ws.videos) == "session"
    with pytest.raises(
        EvaluationError, match=r"split_by='player', but no video has a player.*videos.csv"
    ):
        resolve_split_by("player", {"v": {"player": None}})
    with pytest.raises(EvaluationError, match=r"split_by='team' is not one of"):
        resolve_split_by("team", ws.videos)


def test_video_without_a_player_is_its_own_group():
    ws = window_set(PLAYERS)
    groups = video_groups(list(ws.videos), ws.videos, "player")
    assert groups["ana_0"] == groups["ana_1"] == "ana"
    assert groups["hugo_0"] == "hugo"  # hugo's handedness is unknown, his name is not
    groups = video_groups(["x"], {"x": {"player": None}}, "player")
    assert groups == {"x": "video x"}


def test_make_split_never_puts_a_player_in_two_parts():
    ws = window_set(PLAYERS)
    for seed in range(8):
        split = make_split(ws, split_by="player", seed=seed)
        players = [
            {v.split("_")[0] for v in ws.groups[getattr(split, part)]}
            for part in ("train", "val", "test")
        ]
        assert not (players[0] & players[1] or players[0] & players[2] or players[1] & players[2])
        assert set().union(*players) == set(PLAYERS)
        assert sorted(split.train_groups + split.val_groups + split.test_groups) == sorted(PLAYERS)
        assert set(split.test_videos) == {
            v for v in ws.videos if v.split("_")[0] in split.test_groups
        }
        assert split.by == "player"
    by_video = make_split(ws, split_by="video", seed=0)
    assert by_video.by == "video" and len(by_video.test_groups) >= 1


def test_make_split_pins_a_player_to_test():
    ws = window_set(PLAYERS)
    split = make_split(ws, split_by="player", seed=3, test_groups=["bruno"])
    assert split.test_groups == ("bruno",)
    assert set(ws.groups[split.test]) == {"bruno_0", "bruno_1"}


def test_make_split_does_not_depend_on_the_windows():
    """Parts come from the strokes: other windows (another window size) give the same split."""
    few, many = window_set(PLAYERS, windows_per_video=2), window_set(PLAYERS, windows_per_video=9)
    a, b = make_split(few, seed=5), make_split(many, seed=5)
    assert (a.train_groups, a.val_groups, a.test_groups) == (
        b.train_groups,
        b.val_groups,
        b.test_groups,
    )


# --------------------------------------------------------------------------- folds


def test_group_folds_test_every_group_exactly_once():
    groups, y = twelve_groups()
    folds = group_folds(groups, y, 4, seed=0)
    assert len(folds) == 4
    tested = [g for f in folds for g, p in f.items() if p == "test"]
    assert sorted(tested) == sorted(set(groups))
    for f in folds:
        assert {"train", "val", "test"} == set(f.values())


def test_leave_one_group_out():
    groups, y = twelve_groups()
    folds = group_folds(groups, y, "loo", seed=0)
    assert len(folds) == 12
    assert all(sum(p == "test" for p in f.values()) == 1 for f in folds)


def test_make_folds_are_disjoint_by_player():
    ws = window_set(PLAYERS)
    folds = make_folds(ws, 3, split_by="player", seed=1)
    assert [f.fold for f in folds] == [1, 2, 3]
    assert sorted(g for f in folds for g in f.test_groups) == sorted(PLAYERS)
    for f in folds:
        parts = [set(getattr(f, f"{p}_groups")) for p in ("train", "val", "test")]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        np.testing.assert_array_equal(
            np.sort(np.concatenate([f.train, f.val, f.test])), np.arange(len(ws.groups))
        )


def test_fold_errors():
    groups, y = twelve_groups()
    with pytest.raises(
        EvaluationError, match=r"cv_folds=13 needs at least 13 videos .*got 12 videos"
    ):
        group_folds(groups, y, 13)
    with pytest.raises(EvaluationError, match=r"cv_folds must be a whole number >= 1 .* or 'loo'"):
        group_folds(groups, y, "five")
    with pytest.raises(EvaluationError, match=r"cv_folds must be a whole number"):
        check_evaluation_params("auto", 0)
    with pytest.raises(
        EvaluationError, match=r"test_groups=\['bruno'\] pins groups to the one test split"
    ):
        check_evaluation_params("player", 3, ["bruno"])
    with pytest.raises(EvaluationError, match=r"split_by='people' is not one of"):
        check_evaluation_params("people", 1)
    assert check_evaluation_params("player", "loo") == 0
    assert check_evaluation_params("auto", 5) == 5


# --------------------------------------------------------------------------- stroke scoring


def test_aggregate_strokes_weights_windows_by_shared_frames():
    # two classes; windows of 10 frames at 0, 5, 10, 15 of video "a", one window of "b"
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8], [0.9, 0.1]])
    video = np.array(["a", "a", "a", "a", "b"])
    start = np.array([0, 5, 10, 15, 0])
    # stroke [3, 8) of a: shares 5 frames with window 0, 3 with window 5 -> (5*[1,0] + 3*[0,1]) / 8
    # stroke [22, 25) of a: only window 15 -> its probabilities
    # stroke [0, 4) of c: no window of c -> NaN
    agg = aggregate_strokes(
        probs,
        video,
        start,
        10,
        np.array(["a", "a", "c"]),
        np.array([3, 22, 0]),
        np.array([8, 25, 4]),
    )
    np.testing.assert_allclose(agg[0], [5 / 8, 3 / 8])
    np.testing.assert_allclose(agg[1], [0.2, 0.8])
    assert np.isnan(agg[2]).all()
    np.testing.assert_array_equal(predict_strokes(agg), [0, 1, -1])


def test_every_stroke_gets_one_prediction_whatever_the_windowing():
    """Two windowings of one video score the same strokes (same count, same truth)."""
    rng = np.random.default_rng(0)
    s0, s1 = np.array([5, 40, 80]), np.array([20, 60, 95])
    for size, stride in ((10, 5), (30, 15), (45, 1)):
        starts = np.arange(0, 100 - size + 1, stride)
        probs = rng.dirichlet([1, 1, 1], size=len(starts))
        agg = aggregate_strokes(
            probs, np.full(len(starts), "v"), starts, size, np.full(3, "v"), s0, s1
        )
        assert agg.shape == (3, 3) and not np.isnan(agg).any()
        np.testing.assert_allclose(agg.sum(axis=1), 1.0)


def test_macro_f1_averages_over_the_classes_present():
    y_true = np.array([0, 0, 1, 1])  # class 2 is absent from this split
    y_pred = np.array([0, 0, 1, 1])
    assert macro_f1(y_true, y_pred) == 1.0  # not 2/3: the absent class does not count
    # a prediction of an absent class (or none, -1) is an error for the true class
    assert macro_f1(y_true, np.array([0, 2, 1, -1])) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert np.isnan(macro_f1(np.array([], int), np.array([], int)))


def test_group_scores_are_per_group_worst_first():
    y_true = np.array([0, 1, 0, 1, 0, 1])
    y_pred = np.array([0, 1, 1, 0, 0, 1])
    groups = np.array(["ana", "ana", "bruno", "bruno", "carla", "carla"])
    rows = group_scores(y_true, y_pred, groups, extra={"bruno": {"handedness": "left"}})
    assert [r["group"] for r in rows] == ["bruno", "ana", "carla"]
    assert rows[0] == {
        "group": "bruno",
        "strokes": 2,
        "macro_f1": 0.0,
        "accuracy": 0.0,
        "handedness": "left",
    }
    assert rows[1]["macro_f1"] == 1.0 and rows[1]["strokes"] == 2


def test_make_splits_is_one_split_or_the_folds():
    ws = window_set(PLAYERS)
    (one,) = make_splits(ws, 1, "player", seed=4, test_groups=["bruno"])
    assert one.fold is None and one.test_groups == ("bruno",)
    same = make_split(ws, "player", seed=4, test_groups=["bruno"])
    assert (one.train_groups, one.val_groups) == (same.train_groups, same.val_groups)
    np.testing.assert_array_equal(one.train, same.train)
    folds = make_splits(ws, 4, "player", seed=4)
    assert [f.fold for f in folds] == [1, 2, 3, 4]
    assert [f.test_groups for f in folds] == [
        f.test_groups for f in make_folds(ws, 4, "player", seed=4)
    ]
    with pytest.raises(EvaluationError, match="pins groups to the one test split"):
        make_splits(ws, 4, "player", test_groups=["bruno"])


# --------------------------------------------------------------------------- events on recordings

EVENT_CLASSES = ["idle", "forehand", "serve"]


def test_frame_probabilities_average_the_covering_windows_by_hand():
    # windows of 3 frames at 0, 2 and 3 of a 9-frame recording; frames 6 to 8 uncovered
    probs = np.array([[0.6, 0.4], [0.2, 0.8], [0.0, 1.0]])
    frames = frame_probabilities(probs, np.array([0, 2, 3]), 3, 9)
    expected = [
        [0.6, 0.4],  # frame 0: window 0
        [0.6, 0.4],  # frame 1: window 0
        [0.4, 0.6],  # frame 2: windows 0 and 1
        [0.1, 0.9],  # frame 3: windows 1 and 2
        [0.1, 0.9],  # frame 4: windows 1 and 2
        [0.0, 1.0],  # frame 5: window 2
    ]
    assert frames.shape == (9, 2) and frames.dtype == np.float64
    np.testing.assert_allclose(frames[:6], expected)
    assert np.isnan(frames[6:]).all()


def test_frame_probabilities_match_a_per_frame_mean_on_a_long_recording():
    rng = np.random.default_rng(1)
    starts = np.arange(0, 17_950, 7)  # the last window, at 17_948, ends at frame 17_993
    probs = rng.dirichlet([1, 1, 1], size=len(starts))
    frames = frame_probabilities(probs, starts, 45, 18_000)
    for f in (0, 6, 7, 44, 45, 9_001, 17_992):
        covering = (starts <= f) & (f < starts + 45)
        np.testing.assert_allclose(frames[f], probs[covering].mean(axis=0), rtol=1e-12)
    assert np.isnan(frames[17_993:]).all() and not np.isnan(frames[:17_993]).any()


@pytest.mark.parametrize(
    "probs, starts, size, n, match",
    [
        (np.ones(3), [0, 1, 2], 3, 9, r"window_probs must be 2-D .*got shape \(3,\)"),
        (np.ones((3, 2)), [0, 1], 3, 9, r"starts must be 3 whole frame numbers"),
        (np.ones((2, 2)), [0.0, 1.5], 3, 9, r"starts must be 2 whole frame numbers"),
        (np.ones((2, 2)), [0, 7], 3, 9, r"window 1 \(starts\[1\]=7, window_size=3\) does not "),
        (np.ones((2, 2)), [-1, 0], 3, 9, r"window 0 .*n_frames=9"),
        (np.ones((2, 2)), [0, 1], 0, 9, r"window_size must be a whole number >= 1; got 0"),
        (np.ones((2, 2)), [0, 1], 3, 9.0, r"n_frames must be a whole number >= 0; got 9.0"),
    ],
)
def test_frame_probabilities_reject_bad_input(probs, starts, size, n, match):
    with pytest.raises(EvaluationError, match=match):
        frame_probabilities(probs, np.asarray(starts), size, n)


# frames 0-1 idle, 2-4 forehand, 5 uncovered, 6-7 serve, 8 idle, 9 forehand (weak), 10-11 serve
FRAMES = np.array(
    [
        [0.8, 0.1, 0.1],
        [0.7, 0.2, 0.1],
        [0.2, 0.7, 0.1],
        [0.1, 0.8, 0.1],
        [0.3, 0.6, 0.1],
        [np.nan, np.nan, np.nan],
        [0.1, 0.1, 0.8],
        [0.2, 0.2, 0.6],
        [0.5, 0.3, 0.2],
        [0.3, 0.4, 0.3],
        [0.1, 0.2, 0.7],
        [0.0, 0.1, 0.9],
    ]
)


def test_detect_strokes_runs_of_one_class_between_idle_and_uncovered_frames():
    strokes = detect_strokes(FRAMES, EVENT_CLASSES)
    assert set(strokes) == {"start", "end", "label", "confidence"}
    np.testing.assert_array_equal(strokes["start"], [2, 6, 9, 10])
    np.testing.assert_array_equal(strokes["end"], [5, 8, 10, 12])
    np.testing.assert_array_equal(strokes["label"], [1, 2, 1, 2])
    np.testing.assert_allclose(strokes["confidence"], [0.7, 0.7, 0.4, 0.8])
    assert strokes["start"].dtype == strokes["label"].dtype == np.int64


def test_detect_strokes_without_idle_class_every_covered_frame_is_a_stroke():
    strokes = detect_strokes(FRAMES, EVENT_CLASSES, idle=None)
    np.testing.assert_array_equal(strokes["start"], [0, 2, 6, 8, 9, 10])
    np.testing.assert_array_equal(strokes["end"], [2, 5, 8, 9, 10, 12])
    np.testing.assert_array_equal(strokes["label"], [0, 1, 2, 0, 1, 2])
    # an idle name that is not a class changes nothing either
    same = detect_strokes(FRAMES[:, 1:], ["forehand", "serve"], idle="idle")
    # (frame 0: forehand 0.1 ties serve 0.1, the first class wins; frames 8-9 are forehand)
    np.testing.assert_array_equal(same["start"], [0, 6, 8, 10])
    np.testing.assert_array_equal(same["end"], [5, 8, 10, 12])
    np.testing.assert_array_equal(same["label"], [0, 1, 0, 1])


def test_detect_strokes_threshold_and_min_frames():
    strokes = detect_strokes(FRAMES, EVENT_CLASSES, threshold=0.65)
    # frames 4 (0.6), 7 (0.6) and 9 (0.4) fall below: the runs shrink or vanish
    np.testing.assert_array_equal(strokes["start"], [2, 6, 10])
    np.testing.assert_array_equal(strokes["end"], [4, 7, 12])
    np.testing.assert_allclose(strokes["confidence"], [0.75, 0.8, 0.8])
    exact = detect_strokes(FRAMES, EVENT_CLASSES, threshold=0.6)  # 0.6 is not below 0.6
    np.testing.assert_array_equal(exact["start"], [2, 6, 10])
    np.testing.assert_array_equal(exact["end"], [5, 8, 12])
    longer = detect_strokes(FRAMES, EVENT_CLASSES, min_frames=3)
    np.testing.assert_array_equal(longer["start"], [2])
    np.testing.assert_array_equal(longer["end"], [5])
    two = detect_strokes(FRAMES, EVENT_CLASSES, min_frames=2)
    np.testing.assert_array_equal(two["label"], [1, 2, 2])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"threshold": 1.5}, r"threshold must be between 0 and 1 .*got 1.5"),
        ({"threshold": -0.1}, r"threshold must be between 0 and 1"),
        ({"min_frames": 0}, r"min_frames must be a whole number >= 1; got 0"),
        ({"min_frames": 2.5}, r"min_frames must be a whole number >= 1"),
        ({"classes": ["idle", "serve"]}, r"one column per class of \['idle', 'serve'\]"),
        ({"classes": []}, r"classes is empty"),
    ],
)
def test_detect_strokes_reject_bad_input(kwargs, match):
    kwargs = {"classes": EVENT_CLASSES, **kwargs}
    with pytest.raises(EvaluationError, match=match):
        detect_strokes(FRAMES, **kwargs)


def synthetic_recording(strokes, n_frames=900, n_classes=3, window_size=30, stride=5):
    """Window probabilities of a recording whose windows see the strokes they overlap most."""
    starts = np.arange(0, n_frames - window_size + 1, stride)
    probs = np.full((len(starts), n_classes), 0.05)
    probs[:, 0] = 0.9  # idle by default
    for start, end, label in strokes:
        shared = np.minimum(starts + window_size, end) - np.maximum(starts, start)
        hit = shared >= window_size // 2
        probs[hit] = 0.05
        probs[hit, label] = 0.9
    return probs / probs.sum(axis=1, keepdims=True), starts, window_size, n_frames


def test_every_stroke_of_a_recording_is_found_and_scored_perfectly():
    annotated = [(100, 160, 1), (300, 345, 2), (500, 540, 1), (700, 760, 2)]
    probs, starts, size, n = synthetic_recording(annotated)
    detected = detect_strokes(frame_probabilities(probs, starts, size, n), EVENT_CLASSES)
    assert len(detected["start"]) == 4
    np.testing.assert_array_equal(detected["label"], [1, 2, 1, 2])
    spans = np.array([(s, e) for s, e, _ in annotated])
    pairs = match_events(detected, spans)
    assert pairs == [(0, 0), (1, 1), (2, 2), (3, 3)]
    scores = event_scores(detected["label"], [lab for *_, lab in annotated], pairs, EVENT_CLASSES)
    assert scores["overall"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert scores["macro_f1"] == 1.0  # idle has no annotated strokes: not counted
    assert scores["per_class"]["serve"] == {
        "precision": 1.0, "recall": 1.0, "f1": 1.0, "detected": 2, "annotated": 2, "matched": 2
    }  # fmt: skip


def test_match_events_tolerance_counts_the_frames_between():
    annotated = [(10, 20)]
    assert match_events([(22, 30)], annotated) == []  # 2 frames between (20, 21)
    assert match_events([(22, 30)], annotated, tolerance=1) == []  # just outside
    assert match_events([(22, 30)], annotated, tolerance=2) == [(0, 0)]
    assert match_events([(0, 8)], annotated, tolerance=2) == [(0, 0)]  # before it, too
    assert match_events([(20, 30)], annotated) == [(0, 0)]  # touching: gap 0
    assert match_events([(19, 30)], annotated) == [(0, 0)]  # one shared frame


def test_match_events_one_detection_over_two_strokes_matches_the_larger_overlap_only():
    annotated = np.array([[0, 10], [12, 30]])
    assert match_events([(5, 25)], annotated) == [(0, 1)]  # shares 5 and 13 frames
    # overlap comes before centres: [0, 14) shares 14 frames, [9, 11) 2 but has the same centre
    assert match_events([(0, 20)], [(9, 11), (0, 14)]) == [(0, 1)]
    assert match_events([(0, 20)], [(0, 14), (9, 11)]) == [(0, 0)]
    # the other stroke gets the next detection; the result is sorted by annotated stroke
    assert match_events(np.array([[5, 25], [0, 4]]), annotated) == [(1, 0), (0, 1)]
    # equal overlaps: the closer centres win, then the earlier annotated stroke
    assert match_events([(10, 20)], [(5, 12), (18, 40)]) == [(0, 0)]
    assert match_events([(10, 20)], [(0, 12), (18, 22)]) == [(0, 1)]
    assert match_events([], annotated) == [] and match_events([(0, 3)], []) == []


@pytest.mark.parametrize(
    "detected, annotated, tolerance, match",
    [
        ([(5, 5)], [(0, 3)], 0, r"detected\[0\] = \(5, 5\) is empty"),
        ([(0, 3)], [(0, 3, 1)], 0, r"annotated must be \(start, end\) pairs .*shape \(1, 3\)"),
        ([(0.5, 3)], [(0, 3)], 0, r"detected must be \(start, end\) pairs of whole frame"),
        ({"begin": [0]}, [(0, 3)], 0, r"detected is a mapping without 'start' and 'end'"),
        ([(0, 3)], [(0, 3)], -1, r"tolerance must be a whole number >= 0; got -1"),
    ],
)
def test_match_events_reject_bad_input(detected, annotated, tolerance, match):
    with pytest.raises(EvaluationError, match=match):
        match_events(detected, annotated, tolerance)


def test_event_scores_count_label_mismatches_as_a_false_positive_and_a_false_negative():
    # annotated: forehand, forehand, serve, serve; detected: forehand, serve, serve, forehand
    # pairs: (0, 0) forehand = forehand; (1, 1) serve for a forehand; (2, 2) serve = serve;
    # annotated 3 (serve) missed; detection 3 (forehand) spurious
    scores = event_scores([1, 2, 2, 1], [1, 1, 2, 2], [(0, 0), (1, 1), (2, 2)], EVENT_CLASSES)
    fh, serve = scores["per_class"]["forehand"], scores["per_class"]["serve"]
    assert fh == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "detected": 2, "annotated": 2,
                  "matched": 1}  # fmt: skip
    assert serve == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "detected": 2,
                     "annotated": 2, "matched": 1}  # fmt: skip
    assert scores["overall"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert scores["macro_f1"] == 0.5
    np.testing.assert_array_equal(
        scores["confusion"],
        [
            # idle, forehand, serve, none (missed): detected columns
            [0, 0, 0, 0],  # annotated idle
            [0, 1, 1, 0],  # annotated forehand
            [0, 0, 1, 1],  # annotated serve
            [0, 1, 0, 0],  # spurious detections
        ],
    )
    assert scores["confusion"].dtype.kind == "i"


def test_event_scores_nan_without_denominators_and_zero_f1_for_missed_classes():
    # one forehand annotated, never detected; one serve detected, never annotated
    scores = event_scores([2], [1], [], EVENT_CLASSES)
    fh, serve, idle = (scores["per_class"][c] for c in ("forehand", "serve", "idle"))
    assert np.isnan(fh["precision"]) and fh["recall"] == 0.0 and fh["f1"] == 0.0
    assert serve["precision"] == 0.0 and np.isnan(serve["recall"]) and np.isnan(serve["f1"])
    assert all(np.isnan(idle[k]) for k in ("precision", "recall", "f1"))
    assert scores["macro_f1"] == 0.0  # only forehand has annotated strokes
    assert scores["overall"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    np.testing.assert_array_equal(scores["confusion"][1], [0, 0, 0, 1])
    np.testing.assert_array_equal(scores["confusion"][3], [0, 0, 1, 0])
    empty = event_scores([], [], [], EVENT_CLASSES)
    assert np.isnan(empty["macro_f1"]) and np.isnan(empty["overall"]["f1"])
    assert empty["confusion"].shape == (4, 4) and not empty["confusion"].any()
    missed = event_scores([], [1, 2], [], EVENT_CLASSES)
    assert missed["overall"]["f1"] == 0.0 and np.isnan(missed["overall"]["precision"])


@pytest.mark.parametrize(
    "detected, annotated, pairs, match",
    [
        ([1, 3], [1], [], r"detected_labels has class code 3, outside 0..2 for the 3 classes"),
        ([1], [1.0], [], r"annotated_labels must be a 1-D array of int class codes"),
        ([1], [1], [(1, 0)], r"pairs has detected index 1, outside 0..0 for the 1 detected"),
        ([1], [1], [(0, -1)], r"pairs has annotated index -1"),
        ([1, 1], [1], [(0, 0), (1, 0)], r"pairs uses a annotated stroke more than once"),
        ([1], [1], [(0, 0, 0)], r"pairs must be \(detected index, annotated index\) pairs"),
    ],
)
def test_event_scores_reject_bad_input(detected, annotated, pairs, match):
    with pytest.raises(EvaluationError, match=match):
        event_scores(detected, annotated, pairs, EVENT_CLASSES)


# --------------------------------------------------------------------------- intervals and ties
# (imported here, not at the top, so this section stays self-contained)


def test_mean_interval_by_hand():
    from tennis_lab.evaluation import mean_interval

    # mean 3, s = sqrt(2.5), s / sqrt(5) = sqrt(0.5); t(4, 0.975) = 2.7764451,
    # t(4, 0.95) = 2.1318468
    mean, low, high = mean_interval([1, 2, 3, 4, 5])
    half = 2.7764451051977934 * np.sqrt(0.5)
    assert mean == 3.0
    assert low == pytest.approx(3 - half, abs=1e-9) and high == pytest.approx(3 + half, abs=1e-9)
    assert low == pytest.approx(1.0367568, abs=1e-6)
    _, low90, high90 = mean_interval([5, 4, 3, 2, 1], level=0.90)
    assert high90 - 3 == pytest.approx(2.1318467863266495 * np.sqrt(0.5), abs=1e-9)
    assert low < low90 < high90 < high


def test_mean_interval_of_one_value_or_no_spread():
    from tennis_lab.evaluation import mean_interval

    mean, low, high = mean_interval([0.9])
    assert mean == 0.9 and np.isnan(low) and np.isnan(high)
    assert mean_interval([0.9, 0.9, 0.9]) == pytest.approx((0.9, 0.9, 0.9))


@pytest.mark.parametrize(
    "values, level, match",
    [
        ([], 0.95, r"values must be a non-empty list of numbers; got \[\]"),
        ([0.9, float("nan")], 0.95, r"values holds nan; every score must be a finite number"),
        (["a"], 0.95, r"values must be a non-empty list of numbers"),
        ([[0.9, 0.8]], 0.95, r"values must be a non-empty list of numbers"),
        ([0.9, 0.8], 95, r"level must be a number between 0 and 1; got 95"),
    ],
)
def test_mean_interval_rejects_bad_input(values, level, match):
    from tennis_lab.evaluation import mean_interval

    with pytest.raises(EvaluationError, match=match):
        mean_interval(values, level=level)


def test_welch_p_value_by_hand():
    from tennis_lab.evaluation import worse_than_best_p

    best, other = [0.90, 0.92, 0.94], [0.85, 0.95, 0.80, 0.90]
    # variances 0.0004 and 0.0125 / 3; Welch: t = 0.045 / se, Welch-Satterthwaite df
    v1, v2 = 0.0004 / 3, 0.0125 / 3 / 4
    t = 0.045 / np.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / 2 + v2**2 / 3)
    assert t == pytest.approx(1.3127849, abs=1e-6) and df == pytest.approx(3.7255919, abs=1e-6)
    from scipy import stats

    assert worse_than_best_p(best, other) == pytest.approx(stats.t.sf(t, df), abs=1e-12)
    assert worse_than_best_p(best, other) == pytest.approx(0.1321380, abs=1e-6)  # one-sided
    # equal variances and sizes: t = 0.1 / sqrt(2 * 0.0004 / 3) = 6.1237, df = 4
    assert worse_than_best_p(best, [0.80, 0.82, 0.84]) == pytest.approx(0.0018011, abs=1e-6)


def test_tied_with_best_by_hand():
    from tennis_lab.evaluation import tied_with_best

    groups = {
        "b": [0.80, 0.82, 0.84],  # p = 0.0018: worse
        "a": [0.90, 0.92, 0.94],  # the best (mean 0.92)
        "c": [0.91, 0.93, 0.89],  # mean 0.91, p = 0.287: tied
        "d": [0.85, 0.95, 0.80, 0.90],  # mean 0.875, p = 0.132: tied (noisy)
    }
    verdict = tied_with_best(groups)
    assert list(verdict) == ["a", "c", "d", "b"]  # best first, by mean
    assert verdict == {"a": True, "c": True, "d": True, "b": False}
    assert tied_with_best(groups, level=0.15) == {"a": True, "c": True, "d": False, "b": False}


def test_tied_with_best_single_runs_and_no_spread():
    from tennis_lab.evaluation import tied_with_best, worse_than_best_p

    # one run each: cannot test, tied only if equal
    assert tied_with_best({"x": [0.9], "y": [0.9], "z": [0.89]}) == {
        "x": True,
        "y": True,
        "z": False,
    }
    assert np.isnan(worse_than_best_p([0.9], [0.89]))
    assert tied_with_best({"x": [0.9, 0.92, 0.88], "y": [0.85]}) == {"x": True, "y": False}
    # no spread on both sides: equal means tied, a lower one worse
    assert tied_with_best({"x": [0.9, 0.9], "y": [0.9, 0.9], "z": [0.8, 0.8]}) == {
        "x": True,
        "y": True,
        "z": False,
    }
    # no spread on one side: Welch's test still runs on the other's variance
    # t = (0.9 - 0.81667) / sqrt(0.015833 / 3) = 1.1471, df = 2: p = 0.1850
    assert worse_than_best_p([0.9, 0.9, 0.9], [0.7, 0.95, 0.8]) == pytest.approx(
        0.1850296, abs=1e-6
    )
    assert tied_with_best({"only": [0.5]}) == {"only": True}
    # the first given wins a tie in mean
    assert list(tied_with_best({"p": [0.8, 0.9], "q": [0.9, 0.8]})) == ["p", "q"]


@pytest.mark.parametrize(
    "groups, level, match",
    [
        ({}, 0.05, r"groups must be a non-empty mapping"),
        ({"a": [0.9], "b": []}, 0.05, r"groups\['b'\] must be a non-empty list of numbers"),
        ({"a": [0.9, float("inf")]}, 0.05, r"groups\['a'\] holds inf"),
        ({"a": [0.9]}, 0.0, r"level must be a number between 0 and 1; got 0.0"),
    ],
)
def test_tied_with_best_rejects_bad_input(groups, level, match):
    from tennis_lab.evaluation import tied_with_best

    with pytest.raises(EvaluationError, match=match):
        tied_with_best(groups, level=level)


# --------------------------------------------------------------------------- the verdict


def test_the_paired_bootstrap_of_identical_runs_is_exactly_zero():
    from tennis_lab.evaluation import paired_bootstrap

    y = np.array([0, 1, 2] * 20)
    pred = y.copy()
    pred[:5] = 2  # a few errors, the same in both
    assert paired_bootstrap(y, pred, pred) == (0.0, 0.0, 0.0)


def test_the_paired_bootstrap_separates_a_clear_difference_and_not_a_small_one():
    from tennis_lab.evaluation import macro_f1, paired_bootstrap

    y = np.array([0, 1] * 100)
    good = y.copy()
    bad = y.copy()
    bad[:60] = 1 - bad[:60]  # 60 of 200 strokes wrong
    diff, low, high = paired_bootstrap(y, good, bad)
    assert diff == pytest.approx(macro_f1(y, good) - macro_f1(y, bad))  # the point difference
    assert 0 < low < diff < high  # separated: the interval is above 0
    almost = y.copy()
    almost[0] = 1 - almost[0]  # one stroke of 200: the strokes cannot tell
    _, low, high = paired_bootstrap(y, good, almost)
    assert low <= 0 <= high
    assert paired_bootstrap(y, good, bad, seed=3) == paired_bootstrap(y, good, bad, seed=3)


def test_the_paired_bootstrap_scores_each_fold_apart_as_a_cross_validated_mean():
    from tennis_lab.evaluation import macro_f1, paired_bootstrap

    y = np.array([0, 1] * 10 + [0, 1, 1, 1] * 5)
    folds = np.array([1] * 20 + [2] * 20)
    a, b = y.copy(), y.copy()
    b[20:24] = 0  # wrong only in fold 2
    per_fold = [macro_f1(y[folds == f], a[folds == f]) - macro_f1(y[folds == f], b[folds == f])
                for f in (1, 2)]  # fmt: skip
    diff, _, _ = paired_bootstrap(y, a, b, folds=folds)
    assert diff == pytest.approx(np.mean(per_fold))
    with pytest.raises(EvaluationError, match="one fold per stroke"):
        paired_bootstrap(y, a, b, folds=folds[:3])
    with pytest.raises(EvaluationError, match="of one length"):
        paired_bootstrap(y, a[:5], b)


def test_a_player_far_below_the_others_is_weak():
    from tennis_lab.evaluation import new_group_estimate, weak_group_lines, weak_groups

    groups = [{"group": "ana", "macro_f1": 0.98}, {"group": "bruno", "macro_f1": 0.95},
              {"group": "carla", "macro_f1": 0.77}, {"group": "dan", "macro_f1": 0.97}]  # fmt: skip
    weak = weak_groups(groups)
    assert [g["group"] for g in weak] == ["carla"]
    assert weak[0]["others"] == pytest.approx((0.98 + 0.95 + 0.97) / 3)
    assert weak_groups(groups, threshold=0.96)[-1]["group"] == "bruno"  # below a threshold too
    assert weak_groups([{"group": "solo", "macro_f1": 0.2}]) == []  # nothing to compare with
    assert weak_group_lines("player", groups) == [
        "weak player carla: test macro F1 0.770, 0.20 below the other players' mean 0.967"
    ]
    assert weak_group_lines("player", groups, threshold=0.96)[-1] == (
        "weak player bruno: test macro F1 0.950, below the threshold 0.96"
    )
    estimate = new_group_estimate(groups)
    assert estimate["new_group_macro_f1"] == pytest.approx(np.mean([0.98, 0.95, 0.77, 0.97]))
    assert (estimate["new_group_macro_f1_min"], estimate["new_group_macro_f1_max"]) == (0.77, 0.98)
    assert estimate["new_groups"] == 4 and new_group_estimate([]) == {}


def test_split_warnings_name_the_gap_the_thin_validation_and_a_missing_class():
    from tennis_lab.evaluation import split_warnings

    groups = [{"group": "eva", "macro_f1": 0.31}]
    lines = split_warnings("player", 0.87, 0.31, groups, ["ana"], {"validation": ["slice"]}, fold=2)
    assert lines[0].startswith("fold 2: validation 0.870 against test 0.310 on eva")
    assert "the validation split holds 1 player (ana)" in lines[1] and "cv_folds" in lines[1]
    assert "no slice stroke in the validation split" in lines[2]
    assert split_warnings("player", 0.95, 0.93, groups, ["a", "b", "c"]) == []
