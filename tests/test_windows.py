"""Tests of tennis_lab.windows: resampling, filling, normalisation, windows, labels, splits."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tennis_lab.poses import MEDIAPIPE_LANDMARKS, Recording
from tennis_lab.windows import (
    AMBIGUOUS_CODE,
    IDLE_CODE,
    TIED_CODE,
    WindowingError,
    check_window_params,
    class_weights,
    fill_missing,
    label_windows,
    mirror_landmarks,
    mirror_pairs,
    normalize_body,
    resample,
    sliding_windows,
    window_starts,
)
from tennis_lab.windows import make_windows as _make_windows

# The hand-made recordings below mostly lack body landmarks: window them in image coordinates.
make_windows = partial(_make_windows, normalization="none")

LANDMARKS = ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "nose")
CHANNELS = ("x", "y", "z", "visibility")


def timed_recording(video_id, n_frames, fps, landmarks=("a", "b"), channels=("x", "y")):
    """Every value is the frame's time in seconds plus a per-feature offset (0, 10, 20, ...)."""
    t = np.arange(n_frames, dtype=np.float64) / fps
    offsets = 10.0 * np.arange(len(landmarks) * len(channels))
    lm = (t[:, None] + offsets[None, :]).reshape(n_frames, len(landmarks), len(channels))
    return Recording(video_id, lm.astype(np.float32), float(fps), landmarks, channels)


def counting_recording(video_id, n_frames, fps=30.0):
    """Feature 0 of frame i is i, feature 1 is 1000 + i: windows show where they came from."""
    i = np.arange(n_frames, dtype=np.float32)
    lm = np.stack([i, 1000 + i], axis=1).reshape(n_frames, 1, 2)
    return Recording(video_id, lm, float(fps), ("a",), ("x", "y"))


def dataset(recordings, rows):
    """Anything with recordings and annotations will do (windows imports no other module)."""
    return SimpleNamespace(
        recordings={r.video_id: r for r in recordings},
        annotations=pd.DataFrame(rows, columns=["video_id", "start_frame", "end_frame", "label"]),
    )


# 100 frames at 30 fps; window 10, overlap 5 -> starts 0, 5, ..., 90 (19 windows).
STROKES = [
    ("v", 20, 30, "forehand"),  # windows 15 and 25 share 5 of 10 frames: exactly 0.5
    ("v", 50, 54, "serve"),  # 4 frames, fully inside windows 45 and 50
    ("v", 76, 86, "backhand"),  # window 70 shares 4 frames (0.4), 75: 9, 80: 6, 85: 1
]
# class codes: backhand, forehand, serve (sorted), idle, ambiguous
BH, FH, SV, IDL, AMB = 0, 1, 2, IDLE_CODE, AMBIGUOUS_CODE
EXPECTED = {
    0: IDL, 5: IDL, 10: IDL, 15: FH, 20: FH, 25: FH, 30: IDL, 35: IDL, 40: IDL, 45: SV,
    50: SV, 55: IDL, 60: IDL, 65: IDL, 70: AMB, 75: BH, 80: BH, 85: AMB, 90: IDL,
}  # fmt: skip


# --------------------------------------------------------------------------- windows and labels


def test_window_starts():
    np.testing.assert_array_equal(window_starts(100, 10, 5), np.arange(0, 91, 5))
    assert len(window_starts(100, 10, 5)) == 19
    np.testing.assert_array_equal(window_starts(10, 10, 3), [0])
    assert len(window_starts(9, 10, 3)) == 0


def test_label_windows_of_the_hand_made_recording():
    starts = window_starts(100, 10, 5)
    s0, s1, codes = (np.array(c) for c in ([20, 50, 76], [30, 54, 86], [FH, SV, BH]))
    labels = label_windows(starts, 10, s0, s1, codes, min_stroke_coverage=0.5)
    assert dict(zip(starts.tolist(), labels.tolist(), strict=True)) == EXPECTED


def test_label_windows_threshold_is_inclusive():
    starts = np.array([0, 1, 2])  # windows [0,10), [1,11), [2,12) on a stroke [5,15)
    one = (np.array([5]), np.array([15]), np.array([7]))
    # shares 5, 6, 7 of 10 frames
    np.testing.assert_array_equal(label_windows(starts, 10, *one, 0.6), [AMB, 7, 7])
    np.testing.assert_array_equal(label_windows(starts, 10, *one, 0.7), [AMB, AMB, 7])
    np.testing.assert_array_equal(label_windows(starts, 10, *one, 0.5), [7, 7, 7])


def test_label_windows_picks_the_stroke_covering_most():
    starts = np.array([10])  # window [10, 20) shares 4 frames with [0, 14), 6 with [14, 30)
    labels = label_windows(starts, 10, np.array([0, 14]), np.array([14, 30]), np.array([3, 5]), 0.5)
    np.testing.assert_array_equal(labels, [5])
    # a short stroke fully inside the window covers it fully: 2/2 beats 8/10
    labels = label_windows(starts, 10, np.array([12, 0]), np.array([14, 18]), np.array([3, 5]), 0.5)
    np.testing.assert_array_equal(labels, [3])
    labels = label_windows(starts, 10, np.array([], int), np.array([], int), np.array([], int), 0.5)
    np.testing.assert_array_equal(labels, [IDLE_CODE])


def test_make_windows_counts_labels_and_values():
    ws = make_windows(dataset([counting_recording("v", 100)], STROKES), window_size=10, overlap=5)

    kept = [s for s, code in EXPECTED.items() if code >= 0]
    assert ws.classes == ("backhand", "forehand", "serve")
    np.testing.assert_array_equal(ws.starts, kept)  # 15, 20, 25, 45, 50, 75, 80
    np.testing.assert_array_equal(ws.y, [EXPECTED[s] for s in kept])
    assert ws.counts == {
        "windows_made": 19, "windows_kept": 7, "dropped_idle": 10, "dropped_ambiguous": 2,
        "dropped_tied": 0, "mirrored_videos": 0,
    }  # fmt: skip
    assert ws.X.shape == (7, 10, 2) and ws.X.dtype == np.float32
    for x, s in zip(ws.X, ws.starts, strict=True):
        np.testing.assert_array_equal(x[:, 0], np.arange(s, s + 10))
        np.testing.assert_array_equal(x[:, 1], 1000 + np.arange(s, s + 10))
    assert ws.groups.tolist() == ["v"] * 7
    assert ws.feature_names == ("a_x", "a_y")
    assert ws.params["stride"] == 5
    assert ws.class_counts() == {"backhand": 2, "forehand": 3, "serve": 2}


def test_make_windows_include_idle_keeps_idle_windows():
    ws = make_windows(
        dataset([counting_recording("v", 100)], STROKES), window_size=10, overlap=5,
        include_idle=True,
    )  # fmt: skip

    assert ws.classes == ("backhand", "forehand", "serve", "idle")
    kept = [s for s, code in EXPECTED.items() if code != AMB]
    np.testing.assert_array_equal(ws.starts, kept)
    np.testing.assert_array_equal(ws.y, [3 if EXPECTED[s] == IDL else EXPECTED[s] for s in kept])
    assert ws.counts == {
        "windows_made": 19, "windows_kept": 17, "dropped_idle": 0, "dropped_ambiguous": 2,
        "dropped_tied": 0, "mirrored_videos": 0,
    }  # fmt: skip
    assert ws.class_counts() == {"backhand": 2, "forehand": 3, "serve": 2, "idle": 10}


def test_make_windows_short_stroke_inside_a_window_is_labelled():
    # a 3-frame stroke in the middle of a 30-frame window, in a 30-frame recording
    ws = make_windows(
        dataset([counting_recording("v", 30)], [("v", 14, 17, "serve")]),
        window_size=30, overlap=0, min_stroke_coverage=1.0,
    )  # fmt: skip
    assert ws.classes == ("serve",)
    np.testing.assert_array_equal(ws.y, [0])
    np.testing.assert_array_equal(ws.starts, [0])


# --------------------------------------------------------------------------- frame rates


def mixed_fps_dataset():
    """The same 4 seconds at 60 and at 30 fps, with the same stroke (1.0 s to 1.5 s)."""
    return dataset(
        [timed_recording("v60", 240, 60.0), timed_recording("v30", 120, 30.0)],
        [("v60", 60, 90, "forehand"), ("v30", 30, 45, "forehand")],
    )


def test_mixed_fps_with_scaling_gives_the_same_windows():
    ws = make_windows(mixed_fps_dataset(), window_size=10, overlap=5, include_idle=True)

    v60, v30 = ws.groups == "v60", ws.groups == "v30"
    assert v60.sum() == v30.sum() == 23  # 120 frames at 30 fps: starts 0..110
    assert ws.X.shape[1] == 10
    np.testing.assert_array_equal(ws.starts[v60], ws.starts[v30])
    # the 60 fps stroke, scaled to frames 30-45, labels the same windows
    np.testing.assert_array_equal(ws.y[v60], ws.y[v30])
    forehand = ws.classes.index("forehand")
    np.testing.assert_array_equal(ws.starts[v60][ws.y[v60] == forehand], [25, 30, 35, 40])
    # the 60 fps video is resampled to 30 fps: the same times, so the same values
    np.testing.assert_allclose(ws.X[v60], ws.X[v30], atol=1e-6)


def test_mixed_fps_without_scaling_warns_and_windows_differ():
    with pytest.warns(UserWarning, match=r"frame rates differ between videos \(30, 60 fps\)"):
        ws = make_windows(
            mixed_fps_dataset(), window_size=10, overlap=5, include_idle=True,
            enable_fps_scaling=False,
        )  # fmt: skip

    assert (ws.groups == "v60").sum() == 47  # 240 frames: starts 0..230
    assert (ws.groups == "v30").sum() == 23
    forehand = ws.classes.index("forehand")
    v60 = ws.groups == "v60"
    # the stroke is not scaled: frames 60-90 of the 60 fps video
    labelled = ws.starts[v60][ws.y[v60] == forehand]
    np.testing.assert_array_equal(labelled, [55, 60, 65, 70, 75, 80, 85])


def test_one_frame_rate_without_scaling_does_not_warn(recwarn):
    ds = dataset([timed_recording("a", 50, 25.0)], [("a", 10, 20, "serve")])
    make_windows(ds, window_size=10, overlap=5, enable_fps_scaling=False)
    assert not [w for w in recwarn if "frame rates differ" in str(w.message)]


def test_resample_60_to_30_picks_every_other_frame():
    rng = np.random.default_rng(0)
    for n in (10, 11):
        x = rng.random((n, 3, 2)).astype(np.float32)
        out = resample(x, 60.0, 30.0)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, x[::2])


def test_resample_30_to_60_interpolates_midpoints():
    x = np.random.default_rng(1).random((5, 2, 3)).astype(np.float32)
    out = resample(x, 30.0, 60.0)
    assert out.shape == (9, 2, 3)
    np.testing.assert_array_equal(out[::2], x)
    np.testing.assert_allclose(out[1::2], (x[:-1] + x[1:]) / 2, rtol=1e-6)


@pytest.mark.parametrize(
    "n, fps, target, n_out",
    [
        (100, 30.0, 25.0, 83),  # floor(99 * 25 / 30) + 1
        (100, 25.0, 30.0, 119),  # floor(99 * 30 / 25) + 1
        (90, 60.0, 30.0, 45),
        (91, 60.0, 30.0, 46),
        (61, 60.0, 29.97, 30),  # floor(59.97) + 1
        (30, 30.0, 30.0, 30),
        (1, 30.0, 60.0, 1),
    ],
)
def test_resample_length_and_timing(n, fps, target, n_out):
    t = np.arange(n) / fps  # each frame's value is its time
    out = resample(t[:, None], fps, target)
    assert out.shape == (n_out, 1)
    np.testing.assert_allclose(out[:, 0], np.arange(n_out) / target, atol=1e-9)


def test_resample_rejects_non_positive_fps():
    with pytest.raises(WindowingError, match=r"fps must be positive \(got fps=0, target_fps=30\)"):
        resample(np.zeros((4, 1)), 0, 30)


# --------------------------------------------------------------------------- missing frames


def test_fill_missing_interpolates_between_valid_frames_and_holds_edges():
    nan = np.nan
    x = np.array(
        [
            [nan, nan, 5.0],
            [1.0, nan, nan],
            [nan, nan, 7.0],
            [nan, nan, nan],
            [4.0, nan, nan],
            [nan, nan, nan],
        ],
        dtype=np.float32,
    ).reshape(6, 3, 1)
    before = x.copy()

    out = fill_missing(x, "interpolate")

    expected = np.array(
        [
            [1.0, 0.0, 5.0],
            [1.0, 0.0, 6.0],
            [2.0, 0.0, 7.0],
            [3.0, 0.0, 7.0],
            [4.0, 0.0, 7.0],
            [4.0, 0.0, 7.0],
        ],
        dtype=np.float32,
    ).reshape(6, 3, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_array_equal(x, before)  # input untouched


def test_fill_missing_zero():
    x = np.array([[1.0, np.nan], [np.nan, np.nan], [3.0, 4.0]], dtype=np.float32)
    out = fill_missing(x, "zero")
    np.testing.assert_array_equal(out, [[1.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    assert np.isnan(x).sum() == 3  # input untouched


def test_fill_missing_without_nan_is_a_copy():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = fill_missing(x)
    np.testing.assert_array_equal(out, x)
    assert out is not x


def test_fill_missing_unknown_method():
    with pytest.raises(WindowingError, match=r"missing_frames='drop' is not one of"):
        fill_missing(np.zeros((2, 2)), "drop")


def test_make_windows_fills_missing_frames():
    rec = counting_recording("v", 20)
    rec.landmarks[5:8] = np.nan  # frames 5, 6, 7 without a pose
    ds = dataset([rec], [("v", 0, 20, "serve")])

    interp = make_windows(ds, window_size=20, overlap=0)
    np.testing.assert_allclose(interp.X[0, :, 0], np.arange(20))
    zero = make_windows(ds, window_size=20, overlap=0, missing_frames="zero")
    np.testing.assert_array_equal(zero.X[0, 5:8], 0)
    np.testing.assert_array_equal(zero.X[0, 8:, 0], np.arange(8, 20))


# --------------------------------------------------------------------------- normalisation


TORSO = np.array([1.0, 2.0, 3.0, 4.0, 10.0])


def body_landmarks():
    """5 frames; torso lengths 1, 2, 3, 4, 10 (median 3, mean 4); hips somewhere else each frame."""
    rng = np.random.default_rng(3)
    n = 5
    lm = np.zeros((n, len(LANDMARKS), len(CHANNELS)))
    hip = rng.normal(size=(n, 3)) * 10
    up = np.array([0.0, -1.0, 0.0])
    half_width = np.array([0.4, 0.0, 0.1])
    lm[:, 2, :3] = hip - half_width  # left_hip
    lm[:, 3, :3] = hip + half_width  # right_hip
    shoulders = hip + TORSO[:, None] * up
    lm[:, 0, :3] = shoulders - 2 * half_width  # left_shoulder
    lm[:, 1, :3] = shoulders + 2 * half_width  # right_shoulder
    lm[:, 4, :3] = shoulders + np.array([0.0, -0.5, 0.0])  # nose
    lm[:, :, 3] = rng.random((n, len(LANDMARKS)))  # visibility
    lm = lm.astype(np.float32)
    return lm, (lm[:, 2, :3] + lm[:, 3, :3]) / 2


def test_normalize_body_centres_hips_and_scales_torso():
    lm, hip = body_landmarks()
    out = normalize_body(lm, LANDMARKS, CHANNELS)

    hip_mid = (out[:, 2, :3] + out[:, 3, :3]) / 2
    np.testing.assert_allclose(hip_mid, 0, atol=1e-5)
    shoulder_mid = (out[:, 0, :3] + out[:, 1, :3]) / 2
    torso = np.linalg.norm(shoulder_mid - hip_mid, axis=1)
    np.testing.assert_allclose(torso, TORSO / 3, rtol=1e-5)
    assert np.median(torso) == pytest.approx(1.0)
    np.testing.assert_allclose(out[:, 4, :3], (lm[:, 4, :3] - hip) / 3, atol=1e-5)
    np.testing.assert_array_equal(out[:, :, 3], lm[:, :, 3])  # visibility unchanged


def test_normalize_body_needs_hips():
    names = ("left_shoulder", "right_shoulder", "hip_l", "hip_r", "nose")
    with pytest.raises(
        WindowingError,
        match=r"normalization='body' needs landmarks \['left_hip', 'right_hip'\].*"
        r"Use normalization='none'",
    ):
        normalize_body(np.zeros((3, 5, 4), np.float32), names, CHANNELS)


def test_make_windows_body_normalization_without_hips():
    ds = dataset([counting_recording("v", 20)], [("v", 0, 20, "serve")])
    with pytest.raises(WindowingError, match=r"needs landmarks \['left_hip', 'right_hip', "):
        make_windows(ds, window_size=10, overlap=0, normalization="body")


# --------------------------------------------------------------------------- bad parameters


@pytest.mark.parametrize("window_size, overlap", [(10, 10), (10, 12)])
def test_overlap_not_below_window_size(window_size, overlap):
    message = rf"overlap \({overlap}\) must be smaller than window_size \({window_size}\)"
    with pytest.raises(WindowingError, match=message):
        check_window_params(window_size, overlap)
    ds = dataset([counting_recording("v", 100)], STROKES)
    with pytest.raises(WindowingError, match=message):
        make_windows(ds, window_size=window_size, overlap=overlap)


def test_check_window_params_returns_the_stride():
    assert check_window_params(45, 15) == 30
    assert check_window_params(10, 0) == 10
    with pytest.raises(
        WindowingError, match=r"window_size must be a whole number of frames; got 10\.5"
    ):
        check_window_params(10.5, 0)
    with pytest.raises(WindowingError, match=r"overlap must be >= 0 frames; got -1"):
        check_window_params(10, -1)


def test_no_sequences_when_the_window_is_longer_than_every_recording():
    ds = dataset(
        [counting_recording("a", 20), counting_recording("b", 30)],
        [("a", 0, 20, "serve"), ("b", 0, 30, "serve")],
    )
    with pytest.raises(
        WindowingError,
        match=r"No sequences created: window_size 45 frames \(at 30 fps\) is longer than every "
        r"recording \(the longest has 30 frames\)\. Use a smaller window_size",
    ):
        make_windows(ds, window_size=45, overlap=15)


def test_no_sequences_when_no_window_reaches_the_coverage():
    # a 10-frame stroke at 5-15 shares 5 frames with each 10-frame window: coverage 0.5
    ds = dataset([counting_recording("v", 30)], [("v", 5, 15, "serve")])
    assert len(make_windows(ds, window_size=10, overlap=0, min_stroke_coverage=0.5)) == 2
    with pytest.raises(
        WindowingError,
        match=r"No sequences created: none of the 3 windows is covered at least 60% by one "
        r"stroke .*Lower min_stroke_coverage, use a smaller window_size or a larger overlap, "
        r"or set include_idle=True",
    ):
        make_windows(ds, window_size=10, overlap=0, min_stroke_coverage=0.6)


# --------------------------------------------------------------------------- weights, strides


def test_class_weights_balanced():
    y = np.array([0, 0, 0, 1, 2, 2])
    assert class_weights(y, 4) == pytest.approx(
        {0: 6 / (3 * 3), 1: 6 / (3 * 1), 2: 6 / (3 * 2), 3: 1.0}
    )
    assert class_weights(y, 4, mode=None) is None
    with pytest.raises(WindowingError, match=r"class weight mode 'inverse' is not 'balanced'"):
        class_weights(y, 4, mode="inverse")


def test_sliding_windows_equals_a_loop():
    frames = np.random.default_rng(5).random((37, 6)).astype(np.float32)
    for window_size, stride in [(7, 3), (7, 7), (10, 1), (37, 5), (2, 9)]:
        out = sliding_windows(frames, window_size, stride)
        loop = np.stack(
            [frames[s : s + window_size] for s in range(0, 37 - window_size + 1, stride)]
        )
        np.testing.assert_array_equal(out, loop)
        assert out.flags["C_CONTIGUOUS"]
    assert sliding_windows(frames, 38, 1).shape == (0, 38, 6)


def test_make_windows_normalises_the_body_by_default():
    rec = Recording(
        "v",
        np.random.default_rng(0).normal(size=(40, 5, 4)).astype(np.float32),
        30.0,
        LANDMARKS,
        CHANNELS,
    )
    ds = dataset([rec], [("v", 0, 40, "forehand")])
    ws = _make_windows(ds, window_size=10, overlap=0)
    assert ws.params["normalization"] == "body"
    hips = ws.X.reshape(len(ws), 10, 5, 4)[:, :, 2:4, :3].mean(axis=2)
    np.testing.assert_allclose(hips, 0, atol=1e-5)


def test_windows_share_one_frame_buffer_and_batches_match_x():
    ws = make_windows(
        dataset([counting_recording("v", 100)], STROKES),
        window_size=10,
        overlap=5,
        include_idle=True,
    )
    X = ws.X
    assert ws.shape == X.shape
    assert ws.frames.shape[0] == 100  # the frames once, not once per window
    np.testing.assert_array_equal(ws.windows(np.array([3, 1])), X[[3, 1]])
    sub = ws.subset(np.array([2, 4]))
    assert sub.frames is ws.frames
    np.testing.assert_array_equal(sub.X, X[[2, 4]])


# --------------------------------------------------------------------------- ties


def test_a_window_shared_equally_by_two_classes_is_tied_not_the_first():
    # window [10, 40) covers both 25-frame strokes [0, 25) and [25, 50) for 15 frames (0.6)
    starts = np.array([10, 5, 25])
    s0, s1 = np.array([0, 25]), np.array([25, 50])
    labels = label_windows(starts, 30, s0, s1, np.array([FH, BH]), 0.5)
    # [5, 35): 20 vs 10 frames -> forehand; [25, 55): only the backhand
    np.testing.assert_array_equal(labels, [TIED_CODE, FH, BH])
    # two strokes of the same class sharing a window equally are no tie
    same = label_windows(starts[:1], 30, s0, s1, np.array([FH, FH]), 0.5)
    np.testing.assert_array_equal(same, [FH])
    # below the coverage threshold it stays ambiguous, not tied
    low = label_windows(starts[:1], 30, s0, s1, np.array([FH, BH]), 0.65)
    np.testing.assert_array_equal(low, [AMBIGUOUS_CODE])


def test_make_windows_counts_tied_windows():
    rows = [("v", 0, 30, "forehand"), ("v", 30, 60, "backhand")]
    ws = make_windows(dataset([counting_recording("v", 90)], rows), window_size=30, overlap=15)
    # windows at 0, 15, 30, 45, 60: 15 is half forehand, half backhand
    assert ws.counts["dropped_tied"] == 1
    assert 15 not in ws.starts.tolist()
    assert ws.starts.tolist() == [0, 30, 45]


# --------------------------------------------------------------------------- mirroring


def test_mirror_pairs_swap_left_and_right_by_name():
    names = (
        "nose",
        "left_wrist",
        "right_wrist",
        "mouth_left",
        "mouth_right",
        "LeftKnee",
        "RightKnee",
    )
    np.testing.assert_array_equal(mirror_pairs(names), [0, 2, 1, 4, 3, 6, 5])
    index = mirror_pairs(MEDIAPIPE_LANDMARKS)
    for i, name in enumerate(MEDIAPIPE_LANDMARKS):
        other = MEDIAPIPE_LANDMARKS[index[i]]
        assert other == name.replace("left", "#").replace("right", "left").replace("#", "right")
    parts = ("eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")
    movenet = ("nose", *(f"{side}_{p}" for p in parts for side in ("left", "right")))
    assert sorted(mirror_pairs(movenet).tolist()) == list(range(17))


def test_mirror_flips_x_swaps_sides_and_twice_is_identity():
    rng = np.random.default_rng(0)
    lm = rng.random((7, 5, 4)).astype(np.float32)
    once = mirror_landmarks(lm, LANDMARKS, CHANNELS)
    # left_shoulder of the mirror image is the right shoulder flipped about x = 0.5
    np.testing.assert_allclose(once[:, 0, 0], 1.0 - lm[:, 1, 0], atol=1e-6)
    np.testing.assert_allclose(once[:, 0, 1:], lm[:, 1, 1:])  # y, z, visibility unchanged
    np.testing.assert_allclose(once[:, 4], np.c_[1 - lm[:, 4, :1], lm[:, 4, 1:]], atol=1e-6)
    np.testing.assert_allclose(mirror_landmarks(once, LANDMARKS, CHANNELS), lm, atol=1e-6)
    about_zero = mirror_landmarks(lm, LANDMARKS, CHANNELS, centre=0.0)
    np.testing.assert_allclose(about_zero[:, 0, 0], -lm[:, 1, 0])


def test_mirroring_a_layout_without_sides_is_an_error():
    with pytest.raises(
        WindowingError, match=r"no landmark name says left or right .*mirror_left_handed=False"
    ):
        mirror_pairs(("a", "b"))
    with pytest.raises(
        WindowingError, match=r"cannot mirror landmark 'left_hand': the layout has no 'right_hand'"
    ):
        mirror_pairs(("left_hand", "nose"))
    with pytest.raises(WindowingError, match=r"without an 'x' channel"):
        mirror_landmarks(np.zeros((1, 2, 1)), ("left_a", "right_a"), ("y",))


class _Handed(SimpleNamespace):
    def video_metadata(self):
        return {
            v: {"player": v[0], "handedness": h, "session": None}
            for v, h in self.handedness.items()
        }


def test_make_windows_mirrors_left_handed_recordings_only():
    rng = np.random.default_rng(1)
    recs = {
        v: Recording(v, rng.random((40, 5, 4)).astype(np.float32), 30.0, LANDMARKS, CHANNELS)
        for v in ("lefty", "righty", "unknown")
    }
    ann = pd.DataFrame(
        [(v, 5, 25, "forehand") for v in recs],
        columns=["video_id", "start_frame", "end_frame", "label"],
    )
    ds = _Handed(recordings=recs, annotations=ann,
                 handedness={"lefty": "left", "righty": "right", "unknown": None})  # fmt: skip
    on = make_windows(ds, window_size=20, overlap=10)
    off = make_windows(ds, window_size=20, overlap=10, mirror_left_handed=False)
    assert on.counts["mirrored_videos"] == 1 and off.counts["mirrored_videos"] == 0
    assert on.videos["lefty"]["mirrored"] and not on.videos["righty"]["mirrored"]
    assert on.videos["lefty"]["handedness"] == "left" and on.videos["unknown"]["handedness"] is None
    for v in ("righty", "unknown"):
        np.testing.assert_array_equal(on.X[on.groups == v], off.X[off.groups == v])
    lefty_on, lefty_off = on.X[on.groups == "lefty"], off.X[off.groups == "lefty"]
    np.testing.assert_allclose(lefty_on, off.mirror(lefty_off), atol=1e-6)
    assert not np.allclose(lefty_on, lefty_off)


def test_window_set_mirror_uses_x_zero_after_body_normalisation():
    rng = np.random.default_rng(2)
    rec = Recording("v", rng.random((40, 5, 4)).astype(np.float32), 30.0, LANDMARKS, CHANNELS)
    ann = pd.DataFrame(
        [("v", 5, 25, "forehand")], columns=["video_id", "start_frame", "end_frame", "label"]
    )
    ds = _Handed(recordings={"v": rec}, annotations=ann, handedness={"v": "left"})
    mirrored = _make_windows(ds, window_size=20, overlap=10, normalization="body")
    plain = _make_windows(
        ds, window_size=20, overlap=10, normalization="body", mirror_left_handed=False
    )
    # mirroring the raw poses, then normalising == normalising, then mirroring about x = 0
    np.testing.assert_allclose(mirrored.X, plain.mirror(plain.X), atol=1e-5)


# --------------------------------------------------------------------------- scoring windows


def test_window_set_keeps_every_stroke_on_the_windowing_timeline():
    recs = [counting_recording("v", 100), counting_recording("short", 8)]
    rows = [*STROKES, ("short", 1, 6, "serve")]
    ws = make_windows(dataset(recs, rows), window_size=10, overlap=5)
    assert ws.strokes["video"].tolist() == ["short", "v", "v", "v"]
    assert ws.strokes["start"].tolist() == [1, 20, 50, 76]
    assert ws.strokes["end"].tolist() == [6, 30, 54, 86]
    assert [ws.classes[c] for c in ws.strokes["y"]] == ["serve", "forehand", "serve", "backhand"]
    assert "short" not in set(ws.groups)  # too short for a window, its stroke is still known


def test_scoring_windows_cover_every_frame_including_the_end():
    ws = make_windows(dataset([counting_recording("v", 97)], STROKES), window_size=10, overlap=5)
    offsets, starts, owner = ws.scoring_windows(["v"])
    # 0, 5, ..., 85 and one aligned to the end (87): frames 95-96 are covered too
    assert starts.tolist() == [*range(0, 86, 5), 87]
    assert set(owner) == {"v"}
    X = ws.frames[offsets[:, None] + np.arange(10)]
    np.testing.assert_array_equal(X[-1, :, 0], np.arange(87, 97))
    with pytest.raises(WindowingError, match="not in this window set"):
        ws.scoring_windows(["nope"])
