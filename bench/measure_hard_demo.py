"""Does the hard demo dataset separate configurations? The minimal grid, two seeds.

Not a speed benchmark (``make bench`` does not run it: 8 trainings, several minutes
on 2 cores). It writes the hard demo (``tennis-lab data demo DIR --difficulty hard``),
runs the minimal grid (two LSTM sizes x two learning rates) once with ``--seed 1`` and
once with ``--seed 2`` on the same data, and prints for ``val_stroke_macro_f1`` and
``test_stroke_macro_f1``:

- each run's score, per configuration and seed;
- the span (best - worst) across the configurations, per seed;
- the seed-to-seed difference per configuration.

``--seed`` also seeds the split (``split_seed`` follows ``seed`` unless set), so
the two seeds validate on different players; ``--split-seed N`` fixes the split for
both (the minimal grid plus ``split_seed: [N]``), leaving only the training seed to
differ.

A benchmark dataset is useful when the span is clearly larger than the seed-to-seed
differences, and the scores stay well below 1 (the standard demo scores 0.96-1.00).

Run: ``python bench/measure_hard_demo.py [--work /tmp/hard_demo] [--seeds 1 2]
[--split-seed N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from tennis_lab.grids import GRIDS_DIR

METRICS = ("val_stroke_macro_f1", "test_stroke_macro_f1")
CONFIG = ("lstm_layers", "learning_rate")


def run_grid(data: Path, work: Path, seed: int, grid: str) -> pd.DataFrame:
    """The minimal grid on ``data`` with training seed ``seed``: its results table."""
    out = work / f"seed{seed}"
    command = [
        sys.executable, "-m", "tennis_lab", "grid", "--grid", grid,
        "--data-dir", str(data), "--output-dir", str(out / "out"),
        "--tracking-uri", f"sqlite:///{out / 'mlflow.db'}", "--reports-dir", str(out / "reports"),
        "--no-register", "--quiet", "--seed", str(seed),
    ]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    (csv,) = sorted((out / "out").glob("grid_search_results_*.csv"))[-1:]
    table = pd.read_csv(csv)
    table["seed"] = seed
    return table


def report(results: pd.DataFrame) -> None:
    """Print each run's scores, the span across configurations, the seed differences."""
    results = results.assign(config=results[list(CONFIG)].astype(str).agg(" lr ".join, axis=1))
    for metric in METRICS:
        wide = results.pivot_table(index="config", columns="seed", values=metric)
        print(f"\n{metric}")
        print(wide.round(4).to_string())
        spans = wide.max() - wide.min()
        for seed, span in spans.items():
            print(f"  span across configurations, seed {seed}: {span:.4f}")
        if wide.shape[1] >= 2:
            diff = (wide.max(axis=1) - wide.min(axis=1)).rename("seed difference")
            print(diff.round(4).to_string())
            print(
                f"  largest seed difference {diff.max():.4f} vs smallest span {spans.min():.4f}: "
                + ("configurations separate" if diff.max() < spans.min() else "seeds blur them")
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/hard_demo"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data-seed", type=int, default=None, help="the demo's seed")
    parser.add_argument("--split-seed", type=int, default=None, help="one split for all seeds")
    args = parser.parse_args()
    grid = "minimal"
    if args.split_seed is not None:
        spec = yaml.safe_load((GRIDS_DIR / "minimal.yaml").read_text())
        spec["grid"]["split_seed"] = [args.split_seed]
        grid = str(args.work / "minimal_fixed_split.yaml")
        args.work.mkdir(parents=True, exist_ok=True)
        Path(grid).write_text(yaml.safe_dump(spec))
    data = args.work / "data"
    command = [sys.executable, "-m", "tennis_lab", "data", "demo", str(data)]
    command += ["--difficulty", "hard"]
    if args.data_seed is not None:
        command += ["--seed", str(args.data_seed)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tables = []
    for seed in args.seeds:
        start = time.perf_counter()
        tables.append(run_grid(data, args.work, seed, grid))
        print(f"minimal grid, seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    report(pd.concat(tables, ignore_index=True))


if __name__ == "__main__":
    main()
