"""Tests of tennis_lab.datacache: prepared windows cached by dataset content and parameters."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tennis_lab import make_demo_dataset
from tennis_lab.datacache import cache_key, load_windows
from tennis_lab.poses import format_summary


@pytest.fixture
def data(tmp_path):
    return make_demo_dataset(
        tmp_path / "demo", n_players=3, videos_per_player=1, seconds_per_video=20
    )


def test_second_call_reads_the_cache_and_gives_identical_windows(data, tmp_path):
    cache = tmp_path / "cache"
    first, summary = load_windows(data, cache_dir=cache, window_size=30, overlap=15)
    (entry,) = cache.glob("*.npz")
    stamp = entry.stat().st_mtime_ns
    second, summary2 = load_windows(data, cache_dir=cache, window_size=30, overlap=15)
    assert entry.stat().st_mtime_ns == stamp  # read, not rewritten
    for name in ("frames", "offsets", "y", "groups", "starts", "video_offsets", "video_lengths"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    for name in ("video", "start", "end", "y"):  # every stroke, for stroke-level scoring
        np.testing.assert_array_equal(first.strokes[name], second.strokes[name])
    assert (second.classes, second.window_size, second.params, second.counts) == (
        first.classes, first.window_size, first.params, first.counts,
    )  # fmt: skip
    assert (second.landmark_names, second.channel_names, second.video_ids, second.videos) == (
        first.landmark_names, first.channel_names, first.video_ids, first.videos,
    )  # fmt: skip
    assert second.videos["bruno_01"] == {
        "player": "bruno", "handedness": "left", "session": "day_1", "mirrored": True,
    }  # fmt: skip
    assert format_summary(summary2) == format_summary(summary)


def test_other_parameters_or_changed_files_make_a_new_entry(data, tmp_path):
    cache = tmp_path / "cache"
    load_windows(data, cache_dir=cache, window_size=30, overlap=15)
    load_windows(data, cache_dir=cache, window_size=30, overlap=10)
    assert len(list(cache.glob("*.npz"))) == 2
    key = cache_key(data, {"window_size": 30, "overlap": 15})
    ann = next((data / "labelstudio").glob("*.json"))
    os.utime(ann, ns=(ann.stat().st_atime_ns, ann.stat().st_mtime_ns + 10**9))
    assert cache_key(data, {"window_size": 30, "overlap": 15}) != key


def test_windowing_warnings_come_back_from_the_cache(data, tmp_path):
    cache = tmp_path / "cache"
    kwargs = dict(cache_dir=cache, window_size=30, overlap=15, enable_fps_scaling=False)
    with pytest.warns(UserWarning, match="frame rates differ"):
        load_windows(data, **kwargs)
    with pytest.warns(UserWarning, match="frame rates differ"):
        load_windows(data, **kwargs)


def test_a_broken_entry_is_rebuilt_and_cache_false_writes_nothing(data, tmp_path):
    cache = tmp_path / "cache"
    windows, _ = load_windows(data, cache_dir=cache, window_size=30, overlap=15)
    (entry,) = cache.glob("*.npz")
    entry.write_bytes(b"not a zip file")
    again, _ = load_windows(data, cache_dir=cache, window_size=30, overlap=15)
    np.testing.assert_array_equal(again.y, windows.y)
    assert entry.stat().st_size > 100
    load_windows(data, cache=False, cache_dir=tmp_path / "none", window_size=30, overlap=15)
    assert not (tmp_path / "none").exists()
