"""Windowing speed: the vectorised code against a per-window Python loop.

Both cut and label the same windows from the same preprocessed demo recordings
(missing frames filled, resampled to 30 fps); the ratio is measured in one run,
median of several repeats. The vectorised code keeps one buffer of frames and an
offset per window (as ``make_windows`` does); the loop copies each window out, as
straightforward code does. The cost of copying every window out of the buffer is
printed too, so the ratio with and without that copy can both be read. Also prints
end-to-end ``make_windows`` throughput and
its peak memory (tracemalloc) relative to the windows it returns.

Run: ``make bench`` or ``python bench/bench_windows.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from tennis_lab import load_dataset, make_demo_dataset, make_windows
from tennis_lab.windows import (
    AMBIGUOUS_CODE,
    IDLE_CODE,
    cut_windows,
    fill_missing,
    label_windows,
    resample,
    window_starts,
)

WINDOW, OVERLAP, COVERAGE, REF_FPS = 45, 40, 0.5, 30.0


def prepared(dataset):
    """The frames of every video at 30 fps in one buffer (as make_windows keeps them),
    and per video: where its frames start, how many, and its strokes on that timeline."""
    classes = {c: i for i, c in enumerate(dataset.classes)}
    chunks, videos, base = [], [], 0
    for vid, rec in sorted(dataset.recordings.items()):
        frames = resample(fill_missing(rec.landmarks), rec.fps, REF_FPS)
        chunks.append(frames.reshape(len(frames), -1))
        ann = dataset.annotations[dataset.annotations.video_id == vid]
        scale = REF_FPS / rec.fps
        s0 = np.round(ann.start_frame.to_numpy() * scale).astype(np.int64)
        s1 = np.maximum(np.round(ann.end_frame.to_numpy() * scale).astype(np.int64), s0 + 1)
        codes = np.array([classes[c] for c in ann.label], dtype=np.int64)
        videos.append((base, len(frames), s0, s1, codes))
        base += len(frames)
    return np.concatenate(chunks), videos


def vectorised(frames, videos):
    """What make_windows does: an offset into the frame buffer and a label per window."""
    offsets, ys = [], []
    for base, length, s0, s1, codes in videos:
        starts = window_starts(length, WINDOW, WINDOW - OVERLAP)
        offsets.append(base + starts)
        ys.append(label_windows(starts, WINDOW, s0, s1, codes, COVERAGE))
    return np.concatenate(offsets), np.concatenate(ys)


def loop(frames, videos):
    """The straightforward version: one Python iteration per window, and per stroke."""
    xs, ys = [], []
    for base, length, s0, s1, codes in videos:
        for start in range(0, length - WINDOW + 1, WINDOW - OVERLAP):
            xs.append(frames[base + start : base + start + WINDOW])
            best, best_cov, touched = None, -1.0, False
            for a, b, code in zip(s0, s1, codes, strict=True):
                shared = min(start + WINDOW, b) - max(start, a)
                if shared > 0:
                    touched = True
                    cov = shared / min(WINDOW, b - a)
                    if cov > best_cov:
                        best, best_cov = code, cov
            if not touched:
                ys.append(IDLE_CODE)
            else:
                ys.append(best if best_cov >= COVERAGE else AMBIGUOUS_CODE)
    return np.array(xs), np.array(ys)


def timed(fn, *args, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dataset = load_dataset(make_demo_dataset(Path(tmp) / "demo"))
    frames, videos = prepared(dataset)

    t_vec, (offsets, yv) = timed(vectorised, frames, videos, repeats=args.repeats)
    t_loop, (xl, yl) = timed(loop, frames, videos, repeats=args.repeats)
    t_cut, xv = timed(cut_windows, frames, offsets, WINDOW, repeats=args.repeats)
    assert np.array_equal(yv, yl) and np.array_equal(xv, xl), "vectorised and loop windows differ"
    n = len(yv)
    print(
        f"demo dataset: {len(videos)} videos, {n} windows of {WINDOW} frames "
        f"(stride {WINDOW - OVERLAP})"
    )
    print(f"  per-window loop:  {n / t_loop:12,.0f} windows/s  (median {t_loop * 1e3:8.1f} ms)")
    print(f"  vectorised:       {n / t_vec:12,.0f} windows/s  (median {t_vec * 1e3:8.1f} ms)")
    print(f"  speedup:          {t_loop / t_vec:12.1f}x   (target >= 50x)")
    print(
        f"  copying every window out as one array (WindowSet.X) takes another "
        f"{t_cut * 1e3:.1f} ms; "
        f"vectorised + full copy: {t_loop / (t_vec + t_cut):.1f}x the loop"
    )

    params = dict(window_size=WINDOW, overlap=OVERLAP, include_idle=True)
    t_all, ws = timed(lambda: make_windows(dataset, **params), repeats=args.repeats)
    tracemalloc.start()
    ws = make_windows(dataset, **params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    x_bytes = len(ws) * WINDOW * ws.frames.shape[1] * 4
    print(
        f"make_windows end to end (fill, resample, cut, label): {len(ws) / t_all:,.0f} windows/s "
        f"(median {t_all:.2f} s for {len(ws)} windows)"
    )
    print(
        f"  peak memory {peak / 2**20:.0f} MiB; the windows as one array would take "
        f"{x_bytes / 2**20:.0f} MiB ({peak / x_bytes:.2f}x)"
    )


if __name__ == "__main__":
    main()
