"""Speed per run: the Keras backends end to end, a run's fixed cost part by part, memory.

1. Backends. Every configuration of the minimal grid trained by notebooks/train.ipynb
   in a fresh kernel, as a search runs it (early stopping, the notebook's epochs), on
   each backend installed (TensorFlow, JAX), the order of the backends alternating
   from round to round: wall time per run (kernel start to notebook saved, compilation
   included), first and steady epoch times, epochs trained and the validation score
   (same seed). Ratios are of medians over every configuration and round.
2. Fixed cost. The minimal grid run by the search runner, one run at a time, as
   ``make grid`` runs it (registering its best model too), in three modes, alternating,
   after a search of 1-epoch runs that fills the caches and makes the MLflow store
   every later search logs to (as ``make grid``'s searches share the project's store,
   which the first one makes):
   as ``make grid`` runs it (the next run's kernel started ahead, and each run
   starting once the previous one's training is done, its evaluation and logging
   overlapping the new run's start), the kernel started ahead without the overlap,
   and neither. The fixed cost is the share of the whole search's
   wall time that is not training (model.fit). With the overlap, training slowed by
   the run finishing beside it would count as training, so the share is also given
   against the training time of the same round's searches without the overlap (the
   same configurations and seed train the same epochs), and split into the time before the
   first training, between trainings and after the last. A run's parts come from
   papermill's cell timings (modes without the overlap): kernel start and notebook
   save (outside the cells), imports, data, split, the model's build, training cell
   less model.fit, evaluation, model summary, results, per group, MLflow logging.
3. Memory. The resident memory (RSS) of the search process over 20 sequential runs
   (1 epoch each): after the first run, after the last, and the largest step.

Run: ``make bench``, or ``python bench/bench_training.py --rounds 2 --parts backends,fixed``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import nbformat

from tennis_lab import backends, make_demo_dataset
from tennis_lab.kernels import execute_notebook
from tennis_lab.paths import notebooks_dir
from tennis_lab.search import SearchConfig, run_search
from tennis_lab.tracking import ensure_experiment
from tennis_lab.training import SELECTION_METRIC, read_result

MINIMAL = [
    {"lstm_layers": layers, "learning_rate": rate}
    for layers in ([64, 32], [128, 64])
    for rate in (0.001, 0.0005)
]
# Parts of a run, found by what their cell calls (in the order the notebook runs them).
CELL_PARTS = {
    "imports": "use_backend(",
    "data": "load_windows(",
    "split": "make_splits(",
    "model build": "prepare_fit(",
    "training cell": "fit_folds(",
    "evaluation": "evaluate_folds(",
    "model summary": ".summary()",
    "results": "metrics_table(",
    "per group": "groups_table(",
    "MLflow logging": "log_training_run(",
}


def _stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def cell_seconds(notebook: Path) -> dict[str, float]:
    """Seconds of each part of :data:`CELL_PARTS` in an executed notebook, and the cells' sum."""
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    out = {"cells": 0.0}
    for cell in code:
        meta = cell.metadata.get("papermill", {})
        if not meta.get("start_time") or not meta.get("end_time"):
            continue
        seconds = _stamp(meta["end_time"]) - _stamp(meta["start_time"])
        out["cells"] += seconds
        for part, marker in CELL_PARTS.items():
            if marker in cell.source and part not in out:
                out[part] = seconds
                if part == "training cell":
                    out["training cell end"] = _stamp(meta["end_time"])  # a time, not seconds
    return out


def time_around_training(rows: list[dict], began: float, ended: float) -> dict[str, float]:
    """Where a search's time outside model.fit goes: before the first training (checks,
    parent run, the first kernel and its run's head), between trainings (nothing when the
    runs overlap), after the last one (its scoring and logging, the search's summary).
    A run's model.fit is taken to end as its training cell does."""
    spans = sorted(
        (row["cells"]["training cell end"] - row["training_time_seconds"],
         row["cells"]["training cell end"])
        for row in rows if "training cell end" in row.get("cells", {})
    )  # fmt: skip
    if not spans:
        return {}
    gaps = sum(max(0.0, b[0] - a[1]) for a, b in zip(spans, spans[1:], strict=False))
    return {"before": spans[0][0] - began, "between": gaps, "after": ended - spans[-1][1]}


def median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------- 1. backends


def backend_run(
    work: Path, data_dir: Path, backend: str, combo: dict, tag: str, epochs: int | None
) -> dict:
    """One notebook run in a fresh kernel: wall, epochs, epoch times, score."""
    out = work / "backends" / f"{tag}.ipynb"
    result_path = out.with_suffix(".json")
    uri = f"sqlite:///{work / 'mlflow.db'}"
    parameters = {
        **combo, "data_dir": str(data_dir), "keras_backend": backend, "tracking_uri": uri,
        "result_path": str(result_path), "cache_dir": str(work / "cache"),
        **({"epochs": epochs} if epochs else {}),
    }  # fmt: skip
    started = time.perf_counter()
    execute_notebook(notebooks_dir() / "train.ipynb", out, parameters)
    wall = time.perf_counter() - started
    m = read_result(result_path)["metrics"]
    return {
        "wall": wall,
        "fit": m["training_time_seconds"],
        "epochs": int(m["epochs_trained"]),
        "first_epoch": m["first_epoch_seconds"],
        "epoch": m["epoch_seconds"],
        "score": m[SELECTION_METRIC],
        "fixed": wall - m["training_time_seconds"],
    }


def compare_backends(
    work: Path, data_dir: Path, names: list[str], rounds: int, epochs: int | None
) -> dict:
    ensure_experiment(tracking_uri=f"sqlite:///{work / 'mlflow.db'}")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(rounds):
        for i, combo in enumerate(MINIMAL):
            order = names if (r + i) % 2 == 0 else names[::-1]
            for name in order:
                run = backend_run(work, data_dir, name, combo, f"{name}-{r}-{i}", epochs)
                runs[name].append(run)
                print(
                    f"  round {r + 1} config {i + 1} {name:>10}: {run['wall']:.1f} s, "
                    f"{run['epochs']} epochs, first {run['first_epoch']:.1f} s, "
                    f"then {run['epoch']:.2f} s/epoch, {SELECTION_METRIC} {run['score']:.4f}",
                    flush=True,
                )
    print("\nbackends, medians over every configuration and round:")
    for name, done in runs.items():
        print(
            f"  {name:>10}: wall per run {median(r['wall'] for r in done):.1f} s, first epoch "
            f"{median(r['first_epoch'] for r in done):.1f} s, steady epoch "
            f"{median(r['epoch'] for r in done):.2f} s, "
            f"epochs {median(r['epochs'] for r in done)}, "
            f"fixed {median(r['fixed'] for r in done):.1f} s, score "
            f"{median(r['score'] for r in done):.4f}"
        )
    if len(names) == 2:
        a, b = names
        for label, key in (("wall per run", "wall"), ("steady epoch", "epoch")):
            ratios = [x[key] / y[key] for x, y in zip(runs[a], runs[b], strict=True)]
            print(
                f"  {label}: {a} / {b} = {median(ratios):.2f}x (median of per-run ratios; "
                f"range {min(ratios):.2f}-{max(ratios):.2f})"
            )
        diffs = [abs(x["score"] - y["score"]) for x, y in zip(runs[a], runs[b], strict=True)]
        print(f"  |score difference| per configuration: median {median(diffs):.4f}")
        for name in names:  # the same configuration, seed and backend in two rounds
            if rounds > 1:
                same = [
                    abs(runs[name][i]["score"] - runs[name][i + len(MINIMAL)]["score"])
                    for i in range(len(MINIMAL))
                ]
                print(f"  {name}: rounds agree on the score to within {max(same):.6f}")
    return runs


# --------------------------------------------------------------------------- 2. fixed cost


def search_once(
    work: Path, data_dir: Path, tag: str, prepare: bool, overlap: bool = True, **options
) -> list[dict]:
    """A sequential search of the minimal grid; its rows with each run's cell timings."""
    out = work / tag
    cfg = SearchConfig(
        grid=options.pop("grid", "minimal"), data_dir=str(data_dir), output_dir=str(out / "output"),
        reports_dir=str(out / "runs"), tracking_uri=f"sqlite:///{work / 'mlflow.db'}",
        cache_dir=str(work / "cache"), stream_output=False,
        prepare_kernels=prepare, overlap_runs=overlap, **options,
    )  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):  # the plan's lines (dataset summary)
        rows = run_search(cfg, out=io.StringIO())
    for row in rows:
        notebooks = sorted((out / "runs").glob(f"*/{int(row['run_number']):03d}-*.ipynb"))
        row["cells"] = cell_seconds(notebooks[0]) if notebooks else {}
    return rows


def fixed_parts(rows: list[dict]) -> dict[str, float]:
    """Seconds per run of each part of the fixed cost (medians over ``rows``)."""
    parts: dict[str, list[float]] = {}
    for row in rows:
        cells, fit, wall = row["cells"], row["training_time_seconds"], row["run_seconds"]
        values = {
            "kernel start, notebook save": wall - cells.get("cells", 0.0),
            **{
                k: v
                for k, v in cells.items()
                if k not in ("cells", "training cell", "training cell end")
            },  # fmt: skip
            "training cell less model.fit": cells.get("training cell", fit) - fit,
        }
        for key, value in values.items():
            parts.setdefault(key, []).append(value)
    return {key: median(values) for key, values in parts.items()}


# The modes of part 2: (name, kernel started ahead, runs overlapping)
MODES = (("make grid", True, True), ("kernel ahead", True, False), ("plain", False, False))


def measure_fixed(work: Path, data_dir: Path, rounds: int, epochs: int | None) -> None:
    # First fill the caches every later search finds (prepared windows, JAX's compiled
    # steps), so that the first search timed does not pay for them alone.
    search_once(work, data_dir, "search-warm-up", True, epochs=1)
    searches: dict[str, list[list[dict]]] = {name: [] for name, _, _ in MODES}
    walls: dict[str, list[float]] = {name: [] for name, _, _ in MODES}  # end to end
    around: dict[str, list[dict]] = {name: [] for name, _, _ in MODES}
    for r in range(rounds):
        for name, prepare, overlap in MODES if r % 2 == 0 else MODES[::-1]:
            tag = f"search-{name.replace(' ', '-')}-{r}"
            t0, began = time.perf_counter(), time.time()
            rows = search_once(work, data_dir, tag, prepare, overlap, epochs=epochs)
            seconds = time.perf_counter() - t0
            print(f"  round {r + 1}, {name}: {seconds:.1f} s", flush=True)
            searches[name].append(rows)
            walls[name].append(seconds)
            around[name].append(time_around_training(rows, began, began + seconds))
    # Training time per configuration without the overlap, in each round: what that
    # round's overlapped search would train with the machine to itself (paired by
    # round, as the machine's pace drifts from round to round).
    alone: list[dict[str, list[float]]] = [{} for _ in range(rounds)]
    for name, _, overlap in MODES:
        for r, rows in enumerate(searches[name] if not overlap else []):
            for row in rows:
                alone[r].setdefault(row["config_id"], []).append(row["training_time_seconds"])
    for name, _, overlap in MODES:
        rows = [row for found in searches[name] for row in found]
        shares = [
            1 - sum(r["training_time_seconds"] for r in found) / seconds
            for found, seconds in zip(searches[name], walls[name], strict=True)
        ]
        print(
            f"\nminimal grid, one run at a time, {name} ({len(rows)} runs, "
            f"{median(r['epochs_trained'] for r in rows)} epochs; model.fit "
            f"{median(r['training_time_seconds'] for r in rows):.1f} s per run)"
        )
        print(
            f"  whole search (checks, runs, summary): median {median(walls[name]):.1f} s, "
            f"of which not model.fit {median(shares):.1%} "
            f"(per search: {', '.join(f'{s:.1%}' for s in shares)}; target <= 10%)"
        )
        if overlap:
            honest = [
                1 - sum(median(same[row["config_id"]]) for row in found) / seconds
                for found, seconds, same in zip(searches[name], walls[name], alone, strict=True)
            ]
            print(
                f"  against model.fit without the overlap (same round): {median(honest):.1%} "
                "not training "
                f"(per search: {', '.join(f'{s:.1%}' for s in honest)})"
            )
            found = [a for a in around[name] if a]
            print(
                "  outside model.fit, median seconds: "
                + ", ".join(f"{k} the trainings {median(a[k] for a in found):.1f}"
                            for k in ("before", "between", "after"))
            )  # fmt: skip
            continue
        print("  its parts, median seconds per run:")
        for part, seconds in fixed_parts(rows).items():
            print(f"    {part:<45} {seconds:6.2f}")
    base = walls["make grid"]
    for name, _, _ in MODES[1:]:
        ratios = [other / mine for mine, other in zip(base, walls[name], strict=True)]
        print(
            f"\nwhole search as make grid runs it against {name}: {median(ratios):.2f}x faster "
            f"(per round {', '.join(f'{r:.2f}' for r in ratios)})"
        )


# --------------------------------------------------------------------------- 3. memory


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_memory(work: Path, data_dir: Path, runs: int) -> None:
    grid = work / "memory.yaml"
    grid.write_text(
        "description: 20 short runs for the memory benchmark\n"
        "grid:\n  dense_units: [16, 32, 48, 64, 80]\n"
        "  learning_rate: [0.001, 0.002, 0.003, 0.004]\n"
        "  lstm_layers: [[16]]\n  dropout_rates: [[0.1, 0.1]]\n",
        encoding="utf-8",
    )
    samples: list[tuple[int, float]] = []  # (runs finished, RSS)
    stop = threading.Event()
    out = work / "memory"

    def finished() -> int:
        files = list((out / "runs").glob("*/*.json"))
        return sum(1 for f in files if "-" in f.stem)

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append((finished(), rss_mib()))

    before = rss_mib()
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        rows = search_once(work, data_dir, "memory", True, grid=str(grid), epochs=1, max_runs=runs)
    finally:
        stop.set()
        thread.join()
    after_run = {}
    for done, rss in samples:
        after_run[done] = rss  # the last sample with that many runs finished
    marks = [n for n in (1, 5, 10, 15, runs) if n in after_run]
    print(f"\nsearch process RSS over {len(rows)} sequential runs (1 epoch each):")
    print(f"  before the search {before:.0f} MiB; " + ", ".join(
        f"after run {n}: {after_run[n]:.0f} MiB" for n in marks
    ))  # fmt: skip
    if 1 in after_run and runs in after_run:
        growth = after_run[runs] - after_run[1]
        print(
            f"  from run 1 to run {runs}: {growth:+.0f} MiB "
            f"({growth / (runs - 1):+.1f} MiB per run)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument(
        "--parts", default="backends,fixed,memory", help="which parts (comma-separated)"
    )
    parser.add_argument("--memory-runs", type=int, default=20)
    parser.add_argument(
        "--epochs", type=int, default=None,
        help="cap every run's epochs (default: the notebook's, with early stopping; for a "
        "quick look only: the fixed cost's share depends on the training's length)",
    )  # fmt: skip
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    installed = []
    for name in backends.BACKENDS:
        try:
            installed.append(backends.check_backend(name))
        except backends.BackendError as error:
            print(f"(skipping {name}: {error})")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data_dir = make_demo_dataset(work / "demo")
        if "backends" in parts:
            print(f"1. backends {', '.join(installed)}: the minimal grid's configurations")
            compare_backends(work, data_dir, installed, args.rounds, args.epochs)
        if "fixed" in parts:
            print(f"\n2. fixed cost of a run, backend {backends.resolve_backend()}")
            measure_fixed(work, data_dir, args.rounds, args.epochs)
        if "memory" in parts:
            print("\n3. memory")
            measure_memory(work, data_dir, args.memory_runs)


if __name__ == "__main__":
    main()
