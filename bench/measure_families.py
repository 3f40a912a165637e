"""Which model family should a user try first? Each family under the same protocol.

Not a speed benchmark (``make bench`` does not run it: it trains every family on
every fold). On the hard demo dataset (``tennis-lab data demo DIR --difficulty hard``)
it cross-validates by player (``cv_folds`` folds: each player tested once) each model
family at its default size, without and with augmentation, and prints one row each:

- the mean test stroke macro F1 over the folds' held-out players, and the worst
  player's (the score to expect on a new player, and its floor);
- the model's trainable parameters, seconds per epoch and inference ms per window.

Every configuration trains on the same folds with the same seed, so the rows differ
only by family and augmentation. ``--epochs`` caps training (early stopping on the
validation loss usually ends sooner); ``--families`` picks a subset.

Run: ``python bench/measure_families.py [--data /tmp/hard_demo] [--folds 5]
[--epochs 40] [--families lstm gru tcn transformer stgcn]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from tennis_lab.datacache import load_windows
from tennis_lab.demo import make_demo_dataset
from tennis_lab.evaluation import make_splits
from tennis_lab.training import cross_validate

FAMILIES = ("lstm", "gru", "tcn", "transformer", "stgcn")
# Augmentation at moderate strength: what "with augmentation" means in the table.
AUGMENTATION = {
    "augment_scale": 0.1, "augment_rotate": 10.0, "augment_time_stretch": 0.15,
    "augment_jitter": 0.02, "augment_drop": 0.05,
}  # fmt: skip
DATA = {"window_size": 45, "overlap": 30, "include_idle": True}


def measure(windows, splits, family: str, augment: bool, epochs: int, seed: int) -> dict:
    """Cross-validate one family; its row of the table."""
    params = {**DATA, "model_family": family, "epochs": epochs}
    if augment:
        params.update(AUGMENTATION)
    started = time.perf_counter()
    result = cross_validate(windows, splits, params, seed=seed)
    m = result.metrics
    return {
        "family": family,
        "augmented": augment,
        "mean_f1": m.get("new_group_macro_f1", m["test_stroke_macro_f1"]),
        "worst_player_f1": m.get("new_group_macro_f1_min", m["worst_group_macro_f1"]),
        "params": int(m.get("trainable_params", result.model.count_params())),
        "s_per_epoch": m.get("epoch_seconds"),
        "ms_per_window": m.get("inference_ms_per_window"),
        "epochs_trained": m.get("epochs_trained"),
        "minutes": (time.perf_counter() - started) / 60,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/hard_demo"))
    parser.add_argument("--folds", default="5", help="folds by player, or 'loo'")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--no-augment", action="store_true", help="skip the augmented rows")
    args = parser.parse_args(argv)

    if not (args.data / "poses").is_dir():
        make_demo_dataset(args.data, difficulty="hard", progress=True)
    folds = args.folds if args.folds == "loo" else int(args.folds)
    windows, _ = load_windows(args.data, **DATA)
    splits = make_splits(windows, cv_folds=folds, split_by="player", seed=args.seed)
    print(f"{len(windows)} windows of {args.data}; {len(splits)} folds by player")
    rows = []
    for family in args.families:
        for augment in (False,) if args.no_augment else (False, True):
            rows.append(measure(windows, splits, family, augment, args.epochs, args.seed))
            print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1))
    table = pd.DataFrame(rows)
    print()
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
