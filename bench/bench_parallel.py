"""Parallel searches: the minimal grid with 1 and with 2 workers, in one run.

Runs the pair ``--rounds`` times (default 2), the order alternating (1 then 2
workers, then 2 then 1) so that the host's changing load falls on both sides.
Prints each search's wall time, the median speedup (target >= 1.8x on 2 cores) and the
per-run overhead: the search's wall time per run minus the run's own training time
(kernel start, imports, data, evaluation, logging, scheduling).

It also measures this machine's own ceiling for two runs at once, with the same
training in plain processes: one alone on all cores (as the 1-worker search runs
it), one alone on one thread, and two on one thread each at the same time (as the
2-worker search runs them). Cores that share a physical core or a busy host slow each
other down, and a second thread helps a run alone a little; the speedup of any
scheduler is bounded by ``2 x alone on all cores / two at once``, measured before
each round.

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


def probe(threads: int) -> None:
    """Train a small LSTM for a fixed number of epochs; print the seconds.

    ``threads``: TensorFlow's threads, as a search gives a run (0: all cores).
    """
    from tennis_lab.backends import use_backend
    from tennis_lab.datacache import load_windows
    from tennis_lab.evaluation import make_split
    from tennis_lab.training import train_and_evaluate

    use_backend("", threads)
    windows, _ = load_windows(ensure_demo_dataset())
    split = make_split(windows)
    params = {"lstm_layers": [64, 32], "epochs": 6, "early_stopping_patience": 100}
    result = train_and_evaluate(windows, split, params)
    print(result.metrics["training_time_seconds"])


def probe_times(at_once: int, threads: int) -> list[float]:
    """Training seconds of ``at_once`` probe processes started together."""
    command = [sys.executable, __file__, "--probe", str(threads)]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for _ in range(at_once)
    ]
    return [float(p.communicate()[0].split()[-1]) for p in procs]


def parallel_ceiling() -> dict[str, float]:
    """Probe seconds and the ceiling they give.

    One run alone on all cores, one alone on one thread, and two at once on one thread
    each (their mean).
    """
    (alone,) = probe_times(1, threads=0)
    (alone_one_thread,) = probe_times(1, threads=1)
    together = statistics.mean(probe_times(2, threads=1))
    return {
        "alone": alone,
        "alone_one_thread": alone_one_thread,
        "together": together,
        "ceiling": 2 * alone / together,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="minimal")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--rounds", type=int, default=2,
        help="1- and 2-worker searches per round, order alternating (default 2)",
    )  # fmt: skip
    parser.add_argument("--probe", type=int, metavar="THREADS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe is not None:
        return probe(args.probe)
    data = ensure_demo_dataset()
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TENNIS_LAB_CACHE"] = str(Path(tmp) / "cache")
        for n in range(args.rounds):
            work = Path(tmp) / f"round{n}"
            work.mkdir()
            machine = parallel_ceiling()  # the host's load drifts: once per round
            order = (1, 2) if n % 2 == 0 else (2, 1)  # ABBA: drift hits both sides
            got = {w: timed_search(w, work, args.grid, args.epochs, data) for w in order}
            rounds.append({**got, "machine": machine})
            report_round(n + 1, args.grid, got, machine)
    speedups = [r[1]["wall"] / r[2]["wall"] for r in rounds]
    ceilings = [r["machine"]["ceiling"] for r in rounds]
    shares = [x / c for x, c in zip(speedups, ceilings, strict=True)]
    listed = lambda xs, fmt: ", ".join(format(x, fmt) for x in xs)  # noqa: E731
    print(f"medians of {len(rounds)} rounds:")
    print(f"  speedup {statistics.median(speedups):.2f}x ({listed(speedups, '.2f')}; "
          "target >= 1.8x)")  # fmt: skip
    print(f"  this machine's ceiling {statistics.median(ceilings):.2f}x "
          f"({listed(ceilings, '.2f')})")  # fmt: skip
    print(f"  the search reaches {statistics.median(shares):.0%} of the ceiling "
          f"({listed(shares, '.0%')})")  # fmt: skip


def report_round(number: int, grid: str, got: dict[int, dict], machine: dict) -> None:
    print(f"round {number}: grid {grid!r} on the demo data, {got[1]['runs']} runs:")
    print(
        "  this machine, the same training in plain processes: "
        f"{machine['alone']:.1f} s alone on all cores, {machine['alone_one_thread']:.1f} s "
        f"alone on one thread, {machine['together']:.1f} s two at once on one thread each: "
        f"ceiling {machine['ceiling']:.2f}x"
    )
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
