"""Tests of tennis_lab.training.augment: augmented copies of the training windows only."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TINY_MODEL as TINY  # noqa: E402

from tennis_lab import load_dataset, make_split, make_windows
from tennis_lab import params as contract
from tennis_lab.errors import TennisLabError
from tennis_lab.preflight import PreflightError, check_combinations
from tennis_lab.training import TrainingError, check_training_params, fit_folds, prepare_fit
from tennis_lab.training.augment import (
    AUGMENT_PARAMS,
    Augmentation,
    AugmentationError,
    augment_windows,
    augmented_training_set,
    drop_points,
    lost_points,
    stretch_time,
)

LANDMARKS = [f"p{i}" for i in range(5)]
CHANNELS = ["x", "y", "z", "visibility"]
N, T = 400, 45  # T odd: the middle frame stays where it is under a time stretch


def windows_like(seed: int = 0, n: int = N) -> np.ndarray:
    """Random windows (n, T, 5 landmarks x 4 channels), visibility in [0, 1]."""
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(n, T, len(LANDMARKS), len(CHANNELS))).astype(np.float32)
    L[..., 3] = rng.random((n, T, len(LANDMARKS)))
    return L.reshape(n, T, -1)


def augment(X, seed=1, centred=True, missing_frames="interpolate", **strengths):
    return augment_windows(
        X, LANDMARKS, CHANNELS, Augmentation(**strengths), seed, centred=centred,
        missing_frames=missing_frames,
    )  # fmt: skip


def layout(X):
    return X.reshape(len(X), T, len(LANDMARKS), len(CHANNELS))


ONE_EACH = [
    {"scale": 0.1}, {"rotate": 10.0}, {"time_stretch": 0.2}, {"jitter": 0.05}, {"drop": 0.2},
]  # fmt: skip


# --------------------------------------------------------------------------- arrays


@pytest.mark.parametrize("strength", ONE_EACH, ids=lambda s: next(iter(s)))
def test_each_augmentation_is_deterministic_for_a_seed_and_leaves_its_input(strength):
    X = windows_like()
    before = X.copy()
    a, b = augment(X, seed=7, **strength), augment(X, seed=7, **strength)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, augment(X, seed=8, **strength))
    assert not np.array_equal(a, X) and a.shape == X.shape and a.dtype == X.dtype
    np.testing.assert_array_equal(X, before)


def test_scale_changes_every_distance_by_one_factor_within_the_setting():
    X = windows_like()
    A = augment(X, scale=0.1)
    pos, out = layout(X)[..., :3], layout(A)[..., :3]
    # centred (body normalisation): about the origin, the hips' midpoint
    ratio = np.linalg.norm(out, axis=-1) / np.linalg.norm(pos, axis=-1)
    per_window = ratio.reshape(N, -1)
    np.testing.assert_allclose(
        per_window, np.repeat(per_window[:, :1], per_window.shape[1], 1), rtol=1e-4
    )
    factors = per_window[:, 0]
    assert factors.min() >= 0.9 - 1e-5 and factors.max() <= 1.1 + 1e-5
    assert factors.min() < 0.92 and factors.max() > 1.08  # the range is used
    distance = lambda P: np.linalg.norm(P[:, :, 0] - P[:, :, 1], axis=-1)  # noqa: E731
    np.testing.assert_allclose(distance(out), distance(pos) * factors[:, None], rtol=1e-4)
    np.testing.assert_array_equal(layout(A)[..., 3], layout(X)[..., 3])  # visibility


def test_scale_without_body_normalisation_keeps_the_windows_centre():
    X = windows_like() + np.float32(3.0)
    A = augment(X, centred=False, scale=0.3)
    centre = lambda W: layout(W)[..., :3].mean(axis=(1, 2))  # noqa: E731
    np.testing.assert_allclose(centre(A), centre(X), atol=1e-4)
    assert not np.allclose(A, X)


def test_rotation_keeps_lengths_turns_x_y_within_the_setting_and_leaves_z():
    X = windows_like()
    A = augment(X, rotate=10.0)
    L, R = layout(X), layout(A)
    bone = lambda P: P[:, :, 0, :2] - P[:, :, 1, :2]  # noqa: E731
    np.testing.assert_allclose(
        np.linalg.norm(bone(R), axis=-1), np.linalg.norm(bone(L), axis=-1), rtol=1e-4, atol=1e-5
    )
    b0, b1 = bone(L), bone(R)
    angle = np.degrees(
        np.arctan2(b0[..., 0] * b1[..., 1] - b0[..., 1] * b1[..., 0], (b0 * b1).sum(-1))
    )
    per_window = angle[:, 0]
    np.testing.assert_allclose(
        angle, np.repeat(per_window[:, None], T, 1), atol=1e-2
    )  # one angle a window
    assert np.abs(per_window).max() <= 10 + 1e-3 and np.abs(per_window).max() > 9
    np.testing.assert_array_equal(R[..., 2:], L[..., 2:])  # z and visibility


def test_time_stretch_keeps_the_shape_and_the_middle_frame_and_changes_the_speed():
    X = windows_like()
    A = augment(X, time_stretch=0.2)
    assert A.shape == X.shape
    np.testing.assert_allclose(A[:, T // 2], X[:, T // 2], atol=1e-6)
    # on a ramp (value = frame) the slope of a copy is its speed, within 1 +- 0.2
    ramp = np.broadcast_to(np.arange(T, dtype=np.float32)[None, :, None], (N, T, 3)).copy()
    rates = np.random.default_rng(0).uniform(0.8, 1.2, N)
    out = stretch_time(ramp, rates)
    slope = out[:, T // 2 + 1, 0] - out[:, T // 2, 0]
    np.testing.assert_allclose(slope, rates, rtol=1e-4)
    assert out.min() >= 0 and out.max() <= T - 1  # faster copies hold the window's ends


def test_jitter_std_is_the_setting_on_positions_only():
    X = windows_like()
    A = augment(X, jitter=0.05)
    noise = (layout(A) - layout(X))[..., :3]
    assert noise.std() == pytest.approx(0.05, rel=0.02)
    assert abs(noise.mean()) < 0.002
    np.testing.assert_array_equal(layout(A)[..., 3], layout(X)[..., 3])


def test_drop_loses_the_share_of_points_and_fills_them_as_the_pipeline_does():
    X = windows_like()
    for share in (0.1, 0.3):
        A = layout(augment(X, missing_frames="zero", drop=share))
        lost = (A == 0).all(axis=-1)
        assert lost.mean() == pytest.approx(share, abs=0.01)
        np.testing.assert_array_equal(A[~lost], layout(X)[~lost])
        whole_frames = lost.all(axis=-1).mean()  # some whole frames among them
        assert whole_frames == pytest.approx(1 - math.sqrt(1 - share), abs=0.01)
    mask = lost_points(np.random.default_rng(0), (N, T, 5), 0.2)
    assert mask.mean() == pytest.approx(0.2, abs=0.01)


def test_a_dropped_point_is_interpolated_in_time_within_its_window():
    L = np.broadcast_to(np.arange(10, dtype=np.float32)[None, :, None, None], (2, 10, 3, 2))
    lost = np.zeros((2, 10, 3), bool)
    lost[0, 3:6, 1] = True  # inside: linear between frames 2 and 6
    lost[1, 0:2, 0] = True  # at the start: the first kept frame's value
    lost[1, :, 2] = True  # never kept in the window: 0
    out = drop_points(L.copy(), lost, "interpolate")
    np.testing.assert_array_equal(out[0, :, 1, 0], np.arange(10))
    np.testing.assert_array_equal(out[1, :, 0, 1], [2, 2, 2, 3, 4, 5, 6, 7, 8, 9])
    np.testing.assert_array_equal(out[1, :, 2], 0)
    np.testing.assert_array_equal(out[~lost], L[~lost])
    with pytest.raises(AugmentationError, match="missing_frames='mean'"):
        drop_points(L, lost, "mean")


def test_all_augmentations_together_are_deterministic_and_finite():
    X = windows_like()
    every = dict(scale=0.1, rotate=10.0, time_stretch=0.2, jitter=0.02, drop=0.1)
    a, b = augment(X, seed=3, **every), augment(X, seed=3, **every)
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all()


def test_a_layout_without_the_channels_an_augmentation_needs_is_an_error():
    X = np.zeros((2, T, 5 * 2), np.float32)
    with pytest.raises(AugmentationError) as info:
        augment_windows(X, LANDMARKS, ["x", "visibility"], Augmentation(rotate=5.0), 1)
    assert info.value.key == "augment_rotate" and "augment_rotate=0" in info.value.fix
    with pytest.raises(AugmentationError) as info:
        augment_windows(X, LANDMARKS, ["a", "b"], Augmentation(jitter=0.1), 1)
    assert info.value.key == "augment_jitter"


# --------------------------------------------------------------------------- the contract


def test_every_augmentation_is_a_training_parameter_off_by_default():
    for name in AUGMENT_PARAMS:
        p = contract.BY_NAME[name]
        assert (p.group, p.default, type(p.default), p.owner) == ("training", 0.0, float, "user")
    assert not Augmentation.from_params(contract.defaults()).on


@pytest.mark.parametrize(
    "key, value",
    [
        ("augment_scale", -0.1), ("augment_scale", 0.6), ("augment_rotate", 46),
        ("augment_time_stretch", 0.51), ("augment_jitter", float("nan")),
        ("augment_drop", 1.0), ("augment_drop", True), ("augment_jitter", "0.1"),
    ],
)  # fmt: skip
def test_a_bad_strength_is_an_error_naming_key_value_and_fix(key, value):
    with pytest.raises(contract.ParameterError) as info:
        contract.check({key: value})
    error = info.value
    assert error.key == key and error.value is value
    assert error.fix.startswith("use ") and "from 0 (off) to" in error.fix
    assert f"{key} must be a number from 0 (off) to" in error.problem
    with pytest.raises(TrainingError) as info:  # the training entry point's own error
        check_training_params({key: value})
    assert (info.value.key, info.value.fix) == (key, error.fix)
    with pytest.raises(AugmentationError):
        Augmentation.from_params({key: value})
    # preflight: before any run, naming the combination, the key and the fix
    combos = [{"augment_scale": 0.1}, {key: value}]
    with pytest.raises(PreflightError) as info:
        check_combinations(combos, {}, None, {"seed": 42}, check_data=False)
    assert info.value.key == key and info.value.fix == error.fix
    assert isinstance(info.value, TennisLabError)


def test_good_strengths_pass_every_check():
    good = {"augment_scale": 0.5, "augment_rotate": 45, "augment_time_stretch": 0.0,
            "augment_jitter": 0.01, "augment_drop": 0.5}  # fmt: skip
    contract.check(good)
    assert check_training_params(good)["augment_rotate"] == 45
    check_combinations([good], {}, None, {"seed": 42}, check_data=False)


# --------------------------------------------------------------------------- training windows


@pytest.fixture(scope="module")
def data(tiny_demo):
    windows = make_windows(load_dataset(tiny_demo), window_size=30, overlap=15)
    return windows, make_split(windows, split_by="video", seed=1)


EVERY = {"augment_scale": 0.1, "augment_rotate": 10.0, "augment_time_stretch": 0.2,
         "augment_jitter": 0.02, "augment_drop": 0.1}  # fmt: skip


def test_all_off_returns_the_training_arrays_themselves(data):
    windows, split = data
    X, y = windows.windows(split.train), windows.y[split.train]
    out_X, out_y = augmented_training_set(X, y, windows, contract.defaults("training"), 42)
    assert out_X is X and out_y is y


def test_a_training_set_gets_one_augmented_copy_of_each_window(data):
    windows, split = data
    X, y = windows.windows(split.train), windows.y[split.train]
    before = X.copy()
    out_X, out_y = augmented_training_set(X, y, windows, EVERY, 42)
    assert out_X.shape == (2 * len(X), *X.shape[1:]) and out_X.dtype == X.dtype
    np.testing.assert_array_equal(out_X[: len(X)], X)
    np.testing.assert_array_equal(out_y, np.concatenate([y, y]))
    assert not np.array_equal(out_X[len(X) :], X) and np.isfinite(out_X).all()
    np.testing.assert_array_equal(X, before)
    again, _ = augmented_training_set(X, y, windows, EVERY, 42)
    np.testing.assert_array_equal(again, out_X)
    other, _ = augmented_training_set(X, y, windows, EVERY, 43)
    assert not np.array_equal(other, out_X)


@pytest.mark.slow  # builds a Keras model
def test_prepare_fit_augments_training_windows_only(data):
    windows, split = data
    frames = windows.frames.copy()
    plain = prepare_fit(windows, [split], TINY, seed=5)
    np.testing.assert_array_equal(plain.X_train, windows.windows(split.train))  # all off
    np.testing.assert_array_equal(plain.y_train, windows.y[split.train])
    params = {**TINY, **EVERY, "augment_mirror": True}
    prepared = prepare_fit(windows, [split], params, seed=5)
    n = len(split.train)
    assert len(prepared.X_train) == 4 * n  # originals, mirrored copies, augmented copies
    np.testing.assert_array_equal(prepared.X_train[:n], windows.windows(split.train))
    # validation windows are the originals; the frames every test window is cut from too
    np.testing.assert_array_equal(prepared.X_val, windows.windows(split.val))
    np.testing.assert_array_equal(prepared.y_val, windows.y[split.val])
    np.testing.assert_array_equal(windows.frames, frames)
    again = prepare_fit(windows, [split], params, seed=5)
    np.testing.assert_array_equal(again.X_train, prepared.X_train)
    with pytest.raises(TrainingError) as info:
        prepare_fit(windows, [split], {**TINY, "augment_rotate": -1.0}, seed=5)
    assert info.value.key == "augment_rotate"


@pytest.mark.slow  # trains a model
def test_a_two_epoch_fit_with_every_augmentation_trains(data):
    windows, split = data
    params = {**TINY, **EVERY}
    prepared = prepare_fit(windows, [split], params, seed=5)
    (fitted,) = fit_folds(windows, [split], params, seed=5, prepared=prepared)
    assert len(fitted.history["loss"]) == 2 and np.isfinite(fitted.history["loss"]).all()
    assert len(prepared.X_train) == 2 * len(split.train)
    probs = fitted.model.predict(windows.windows(split.test), verbose=0)
    assert probs.shape == (len(split.test), len(windows.classes)) and np.isfinite(probs).all()
