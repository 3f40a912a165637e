"""What the evaluation says on the demo dataset: handedness and the fold spread.

Not a speed benchmark (``make bench`` does not run it: it trains ~60 models, about
half an hour on 2 cores). It answers two questions with numbers:

1. Mirroring. Grouped 5-fold cross-validation by player, the default configuration,
   once with ``mirror_left_handed`` on and once off: the per-player test stroke macro
   F1 of the left- and the right-handed players (mean, min, max over players).
2. Ranking. The minimal grid's four configurations, each cross-validated by player
   (5 folds): mean +- std of the selection metric per configuration, and whether the
   ranking's gaps are larger than the spread between folds.

Run: ``python bench/measure_evaluation.py [--epochs 60] [--folds 5] [--part both]``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

from tennis_lab.backends import use_backend
from tennis_lab.datacache import load_windows
from tennis_lab.demo import ensure_demo_dataset
from tennis_lab.evaluation import make_splits
from tennis_lab.training import SELECTION_METRIC, cross_validate

DATA = dict(
    window_size=45, overlap=30, enable_fps_scaling=True, reference_fps=30.0,
    min_stroke_coverage=0.5, include_idle=False, normalization="body",
    missing_frames="interpolate",
)  # fmt: skip
MODEL = dict(
    lstm_layers=[128, 64], dense_units=64, dropout_rates=[0.3, 0.3, 0.2],
    use_batch_norm=False, use_bidirectional=False, learning_rate=0.001,
)  # fmt: skip
TRAIN = dict(batch_size=32, early_stopping_patience=15, class_weight="balanced")


def run(data_dir, folds: int, epochs: int, mirror: bool, **model) -> object:
    windows, _ = load_windows(data_dir, **DATA, mirror_left_handed=mirror)
    splits = make_splits(windows, cv_folds=folds, split_by="player", seed=42)
    params = {**DATA, **MODEL, **model, **TRAIN, "epochs": epochs, "mirror_left_handed": mirror}
    return cross_validate(windows, splits, params, seed=42)


def handedness(data_dir, folds: int, epochs: int) -> None:
    print(f"== 1. Mirroring: {folds}-fold cross-validation by player, LSTM [128, 64]")
    for mirror in (True, False):
        start = time.perf_counter()
        result = run(data_dir, folds, epochs, mirror)
        by_hand: dict[str, list[float]] = {}
        for g in result.groups:
            by_hand.setdefault(g["handedness"], []).append(g["macro_f1"])
        print(f"mirror_left_handed={mirror}  ({time.perf_counter() - start:.0f} s)")
        for hand, scores in sorted(by_hand.items()):
            print(
                f"  {hand:<6} players: {len(scores):2d}  test stroke macro F1 "
                f"mean {statistics.mean(scores):.3f}  min {min(scores):.3f}  max {max(scores):.3f}"
            )
        worst = result.groups[0]
        print(f"  worst player: {worst['group']} ({worst['handedness']}) {worst['macro_f1']:.3f}")
        print(f"  {SELECTION_METRIC}: {result.metrics[SELECTION_METRIC]:.3f}")


def ranking(data_dir, folds: int, epochs: int) -> None:
    print(f"\n== 2. Minimal grid, {folds}-fold cross-validation by player")
    rows = []
    for layers, lr in itertools.product([[64, 32], [128, 64]], [0.001, 0.0005]):
        result = run(data_dir, folds, epochs, True, lstm_layers=layers, learning_rate=lr)
        m = result.metrics
        per_fold = [f[SELECTION_METRIC] for f in result.folds]
        rows.append((m[SELECTION_METRIC], m[f"{SELECTION_METRIC}_std"], layers, lr, per_fold))
        print(
            f"  lstm {layers} lr {lr}: {m[SELECTION_METRIC]:.3f} +- "
            f"{m[f'{SELECTION_METRIC}_std']:.3f}  folds " + " ".join(f"{v:.3f}" for v in per_fold)
        )
    rows.sort(key=lambda r: -r[0])
    best = rows[0]
    for mean, std, layers, lr, _ in rows[1:]:
        gap = best[0] - mean
        verdict = "within" if gap <= max(best[1], std) else "outside"
        print(f"  gap to best for lstm {layers} lr {lr}: {gap:.3f} ({verdict} one fold std)")
    # Paired view: the same folds test the same players, so per-fold differences
    # remove the fold difficulty that the plain std includes.
    for _mean, _std, layers, lr, per_fold in rows[1:]:
        diffs = [b - o for b, o in zip(best[4], per_fold, strict=True)]
        wins = sum(d > 0 for d in diffs)
        print(
            f"  paired vs best, lstm {layers} lr {lr}: mean diff {statistics.mean(diffs):.3f}"
            f" sd {statistics.stdev(diffs):.3f}; best wins {wins}/{len(diffs)} folds"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--part", choices=("both", "mirror", "ranking"), default="both")
    args = parser.parse_args()
    use_backend("", 2)
    data_dir = ensure_demo_dataset()
    if args.part in ("both", "mirror"):
        handedness(data_dir, args.folds, args.epochs)
    if args.part in ("both", "ranking"):
        ranking(data_dir, args.folds, args.epochs)


if __name__ == "__main__":
    main()
