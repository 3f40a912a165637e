"""Training throughput and the fixed cost of one notebook run.

1. Training samples per second for the default configuration (LSTM [128, 64], batch 32)
   on the demo windows: the median epoch time after the first (which includes tracing).
2. Executions of notebooks/train.ipynb through papermill, as the search runner does
   it, for the two architectures of the minimal grid (LSTM [64, 32] and [128, 64],
   learning rate 0.001, early stopping): the fixed cost (kernel start, imports, data
   loading and windowing: everything before the training cell starts) as a share of
   each run and of both together, plus the share of the MLflow logging at the end.
   The first run prepares the windows and caches them; the second reads the cache.

Run: ``make bench`` or ``python bench/bench_training.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tennis_lab import load_dataset, make_demo_dataset, make_split, make_windows
from tennis_lab.paths import notebooks_dir
from tennis_lab.training import read_result


def epoch_throughput(data_dir: Path, epochs: int) -> tuple[float, int, list[float]]:
    import keras

    from tennis_lab.training import train_and_evaluate

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.started)

    times: list[float] = []
    windows = make_windows(load_dataset(data_dir))
    split = make_split(windows)
    params = {"epochs": epochs, "early_stopping_patience": epochs + 1}
    train_and_evaluate(windows, split, params, callbacks=[EpochTimer()])
    steady = statistics.median(times[1:])
    return len(split.train) / steady, len(split.train), times


def _stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def notebook_run(data_dir: Path, workdir: Path, name: str, lstm_layers: list[int]) -> dict:
    import nbformat
    import papermill

    out = workdir / f"{name}.ipynb"
    parameters = {
        "data_dir": str(data_dir),
        "lstm_layers": lstm_layers,
        "dropout_rates": [0.3, 0.3, 0.2],
        "learning_rate": 0.001,
        "tracking_uri": f"sqlite:///{workdir / 'mlflow.db'}",
        "result_path": str(workdir / f"{name}.json"),
    }
    from tennis_lab.tracking import ensure_experiment

    ensure_experiment(tracking_uri=parameters["tracking_uri"])
    started = time.time()
    papermill.execute_notebook(
        str(notebooks_dir() / "train.ipynb"), str(out), parameters=parameters, progress_bar=False
    )
    ended = time.time()
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    train_cell = next(c for c in code if "cross_validate(" in c.source)
    log_cell = next(c for c in code if "log_training_run(" in c.source)
    train_start = _stamp(train_cell.metadata.papermill.start_time)
    log_start = _stamp(log_cell.metadata.papermill.start_time)
    log_end = _stamp(log_cell.metadata.papermill.end_time)
    stages = {}
    for label, marker in (
        ("imports", "import warnings"),
        ("data loading and windowing", "load_windows("),
        ("split and class counts", "make_splits("),
        ("model summary (imports TensorFlow)", "build_lstm(model_params"),
    ):
        cell = next(c for c in code if marker in c.source)
        stages[label] = _stamp(cell.metadata.papermill.end_time) - _stamp(
            cell.metadata.papermill.start_time
        )
    stages["kernel start"] = _stamp(code[0].metadata.papermill.start_time) - started
    return {
        "stages": stages,
        "total": ended - started,
        "fixed": train_start - started,
        "training": _stamp(train_cell.metadata.papermill.end_time) - train_start,
        "logging": log_end - log_start,
        "after_logging": ended - log_end,
        "epochs": int(read_result(workdir / f"{name}.json")["metrics"]["epochs_trained"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs for the throughput part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data_dir = make_demo_dataset(work / "demo")

        rate, n_train, times = epoch_throughput(data_dir, args.epochs)
        print("default configuration (LSTM [128, 64], batch 32), demo data:")
        print(
            f"  {rate:,.0f} training samples/s ({n_train} windows; epoch times "
            f"{', '.join(f'{t:.1f}' for t in times)} s; first includes tracing)"
        )

        os.environ["TENNIS_LAB_CACHE"] = str(work / "cache")
        runs = {
            "LSTM [64, 32], first run of a search (windows prepared and cached)": notebook_run(
                data_dir, work, "a", [64, 32]
            ),
            "LSTM [128, 64], a later run (windows read from the cache)": notebook_run(
                data_dir, work, "b", [128, 64]
            ),
        }
        print("notebook runs via papermill, as the minimal grid runs them (early stopping):")
        for title, run in runs.items():
            print(f"  {title}: total {run['total']:.1f} s, {run['epochs']} epochs trained")
            print(
                f"    fixed cost (kernel start, imports, data, windowing): {run['fixed']:.1f} s"
                f" = {run['fixed'] / run['total']:.1%} of the run"
            )
            for label, seconds in run["stages"].items():
                print(f"      {label}: {seconds:.1f} s")
            print(f"    training {run['training']:.1f} s = {run['training'] / run['total']:.1%}")
            print(
                f"    MLflow logging {run['logging']:.1f} s = {run['logging'] / run['total']:.1%}"
            )
        fixed = sum(r["fixed"] for r in runs.values())
        total = sum(r["total"] for r in runs.values())
        print(
            f"  fixed cost over both runs: {fixed:.1f} s of {total:.1f} s = {fixed / total:.1%} "
            "(target <= 10%)"
        )


if __name__ == "__main__":
    main()
