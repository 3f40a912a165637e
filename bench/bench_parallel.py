"""Parallel searches: the minimal grid with 1 and with 2 workers, in one run.

Prints each search's wall time, the speedup (target >= 1.8x on 2 cores) and the
per-run overhead: the search's wall time per run minus the run's own training time
(kernel start, imports, data, evaluation, logging, scheduling).

Run: ``make bench`` or ``python bench/bench_parallel.py [--grid minimal] [--epochs N]``.
"""

from __future__ import annotations

import argparse
import os
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="minimal")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    data = ensure_demo_dataset()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TENNIS_LAB_CACHE"] = str(Path(tmp) / "cache")
        one = timed_search(1, Path(tmp), args.grid, args.epochs, data)
        two = timed_search(2, Path(tmp), args.grid, args.epochs, data)
    print(f"grid {args.grid!r} on the demo data, {one['runs']} runs:")
    for name, r in (("1 worker ", one), ("2 workers", two)):
        overhead = (r["wall"] * int(name[0]) - r["training"]) / r["runs"]
        print(
            f"  {name}: {r['wall'] / 60:.1f} min wall, training {r['training'] / 60:.1f} min "
            f"in all, overhead {overhead:.1f} s per run"
        )
    print(f"  speedup: {one['wall'] / two['wall']:.2f}x (target >= 1.8x)")


if __name__ == "__main__":
    main()
