"""Parallel searches: the minimal grid with 1 and with 2 workers, in one run.

Runs the pair ``--rounds`` times (default 2), the order alternating (1 then 2
workers, then 2 then 1) so that the host's changing load falls on both sides.
Prints each search's wall time, the median speedup (target >= 1.8x on 2 cores) and the
per-run overhead: the search's wall time per run minus the run's own training time
(kernel start, imports, data, evaluation, logging, scheduling).

It also measures this machine's own ceiling for two runs at once: the same
single-threaded training in plain processes, one alone and then two at the same
time. Cores that share a physical core or a busy host slow each other down; the
speedup of any scheduler is bounded by ``2 x alone / together``.

Run: ``make bench`` or ``python bench/bench_parallel.py [--grid minimal] [--epochs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tennis_lab.demo import ensure_demo_dataset
from tennis_lab.search import SearchConfig, run_search


def timed_search(workers: int, work: Path, grid: str, epochs: int | None, data: Path) -> dict:
    cfg = SearchConfig(
        grid=grid, data_dir=str(data), epochs=epochs, workers=workers,
        output_dir=str(work / f"out{workers}"), reports_dir=str(work / f"runs{workers}"),
        tracking_uri=f"sqlite:///{work / f'mlflow{workers}.db'}", stream_output=False,
    )  # fmt: skip
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        rows = run_search(cfg, quiet)
    wall = time.perf_counter() - started
    training = sum(float(r["training_time_seconds"]) for r in rows)
    return {"wall": wall, "runs": len(rows), "training": training}


def probe() -> None:
    """Train a small LSTM on one thread for a fixed number of epochs; print the seconds."""
    from tennis_lab.datacache import load_windows
    from tennis_lab.training import limit_threads, train_and_evaluate
    from tennis_lab.windows import split_by_video

    limit_threads(1)
    windows, _ = load_windows(ensure_demo_dataset())
    split = split_by_video(windows.groups, windows.y)
    params = {"lstm_layers": [64, 32], "epochs": 6, "early_stopping_patience": 100}
    result = train_and_evaluate(windows, split, params)
    print(result.metrics["training_time_seconds"])


def probe_times(at_once: int) -> list[float]:
    """Training seconds of ``at_once`` probe processes started together."""
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--probe"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        for _ in range(at_once)
    ]
    return [float(p.communicate()[0].split()[-1]) for p in procs]


def parallel_ceiling(rounds: int = 2) -> tuple[float, float, float]:
    """(seconds alone, seconds two at once, ceiling) as medians over ``rounds``."""
    alone, together = [], []
    for _ in range(rounds):
        alone += probe_times(1)
        together += probe_times(2)
    a, t = statistics.median(alone), statistics.median(together)
    return a, t, 2 * a / t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="minimal")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--rounds", type=int, default=2,
        help="1- and 2-worker searches per round, order alternating (default 2)",
    )  # fmt: skip
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        return probe()
    data = ensure_demo_dataset()
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TENNIS_LAB_CACHE"] = str(Path(tmp) / "cache")
        alone, together, ceiling = parallel_ceiling()
        for n in range(args.rounds):
            work = Path(tmp) / f"round{n}"
            work.mkdir()
            order = (1, 2) if n % 2 == 0 else (2, 1)  # ABBA: drift hits both sides
            got = {w: timed_search(w, work, args.grid, args.epochs, data) for w in order}
            rounds.append(got)
            report_round(n + 1, args.grid, got)
    speedups = [got[1]["wall"] / got[2]["wall"] for got in rounds]
    speedup = statistics.median(speedups)
    print(
        f"speedup, median of {len(speedups)} rounds: {speedup:.2f}x "
        f"({', '.join(f'{x:.2f}x' for x in speedups)}; target >= 1.8x)"
    )
    print(
        f"this machine, the same one-thread training in plain processes (medians): "
        f"{alone:.1f} s alone, {together:.1f} s two at once"
    )
    print(f"  ceiling for 2 runs at once: {ceiling:.2f}x; the search reaches "
          f"{speedup / ceiling:.0%} of it")  # fmt: skip


def report_round(number: int, grid: str, got: dict[int, dict]) -> None:
    print(f"round {number}: grid {grid!r} on the demo data, {got[1]['runs']} runs:")
    for workers in (1, 2):
        r = got[workers]
        overhead = (r["wall"] * workers - r["training"]) / r["runs"]
        print(
            f"  {workers} worker{'s' if workers > 1 else ' '}: {r['wall'] / 60:.1f} min wall, "
            f"training {r['training'] / 60:.1f} min in all, overhead {overhead:.1f} s per run"
        )
    print(f"  speedup: {got[1]['wall'] / got[2]['wall']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
