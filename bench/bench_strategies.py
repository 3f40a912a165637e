"""Search strategies against the full grid: how much of the grid's compute each needs.

On the demo data (or ``--data-dir``), in one run:

1. the grid (``--grid small``) in full, every run trained for ``--max-epochs`` epochs
   (early stopping may stop a run sooner): the reference. Its best validation score
   (``val_stroke_macro_f1``) is the score to reach;
2. successive halving and Hyperband (``--min-epochs`` to ``--max-epochs``, eta 3) over
   the same combinations, and TPE (``--n-trials`` trials, every one at ``--max-epochs``)
   over the grid's choices (written as a ranges file; a grid of several sub-grids
   gives the union of their values, a space that may hold combinations the grid
   lacks), once per ``--seeds`` seed.

For each search it prints the epochs trained (counted as trained: early stopping
included) and the wall time in all, and the headline: the epochs and the wall time
until it first had a run trained to the full budget (``--max-epochs``; for halving
and Hyperband a last-rung run) whose validation score is within 0.01 of the grid's
best, both as shares of the grid's epochs and wall time. Target: <= 25 % of the
grid's compute; a search "met the target" when both shares are <= 25 %. A search
that never has such a run "found none" (it settled on a worse configuration); one
that found it after more than 25 % found it, but missed the target. The grid's own
line says when the grid first had such a run (in the grid's order: luck, not a
strategy).

Runs finish one after another with ``--workers 1`` (the default): the epochs until
the target are those of every run that had finished by then. With more workers,
runs still training at that moment are not counted (their epochs are unknown), and
the wall times are what counts. Times come from the runs' MLflow end times against
the search's start here; the wall time includes each search's checks of the data.

With several seeds the adaptive searches repeat (the grid runs once, ``--grid-seed``)
and the summary gives, per strategy, how often (k of n) it found a configuration
within 0.01 and met the target, and the median shares. The seeds also change the
training's randomness, so a search may land above or below the grid's best by luck:
read k of n, not one run.

The searches run one after another on a machine whose load may drift: compare the
epoch shares first; the wall-time shares also carry each run's fixed cost (kernel
start, imports, data, logging: about 20 s on 2 cores), which an adaptive search pays
once per rung. With the defaults on 2 cores (about 2.5 s per epoch) expect roughly
1.5 hours: the grid about 35 min, halving 20, Hyperband 25, TPE 12; each further
seed adds about an hour.

Run: ``make bench`` or ``python bench/bench_strategies.py [--grid small]
[--max-epochs 27] [--min-epochs 3] [--n-trials 8] [--seeds 42 43 44] [--workers 1]
[--out DIR]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from tennis_lab import grids, tracking
from tennis_lab.demo import ensure_demo_dataset
from tennis_lab.paths import notebooks_dir
from tennis_lab.results import finite_number
from tennis_lab.search import SearchConfig, plan, run_search, tunable_defaults

METRIC = "val_stroke_macro_f1"
TOLERANCE = 0.01  # within this of the grid's best counts as found
TARGET = 0.25  # share of the grid's epochs and wall time
ADAPTIVE = ("halving", "hyperband", "tpe")
EXPERIMENT = "bench"
FINISHED = ("COMPLETED", "PRUNED")


def tpe_space(grid_name: str, folder: Path) -> tuple[str, str]:
    """A ranges file (in ``folder``) of the grid's choices, for TPE; and a note.

    One sub-grid: its value lists, and the fixed values as single choices, as TPE reads
    a grid itself. Several: every value of every sub-grid, a space that may hold
    combinations the grid lacks. (A ranges file rather than the grid: TPE names a
    search given a grid file by the file's whole path; see the report.)
    """
    grid = grids.load_grid(grid_name)
    choices: dict[str, list[Any]] = {k: [v] for k, v in grid.fixed.items()}
    for sub in grid.subgrids:
        for key, values in sub.items():
            seen = choices.setdefault(key, [])
            known = {json.dumps(v, sort_keys=True) for v in seen}
            seen += [v for v in values if json.dumps(v, sort_keys=True) not in known]
    path = folder / f"{grid.name}-tpe.yaml"
    body = {"description": f"the choices of grid {grid.name!r}", "ranges": choices}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    if len(grid.subgrids) == 1:
        return str(path), ""
    space = math.prod(len(v) for v in choices.values())
    note = (
        f"TPE: grid {grid.name!r} has {len(grid.subgrids)} sub-grids; TPE searches the union "
        f"of their values ({space} combinations)."
    )
    return str(path), note


def search_config(kind: str, args, seed: int, folder: Path, grid: str) -> SearchConfig:
    common = dict(
        grid=grid, seed=seed, data_dir=str(args.data_dir), workers=args.workers,
        output_dir=str(folder / "output"), reports_dir=str(folder / "reports"),
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", experiment=EXPERIMENT,
        stream_output=False, register_as=None,
    )  # fmt: skip
    if kind == "grid":
        return SearchConfig(epochs=args.max_epochs, **common)
    if kind == "tpe":
        return SearchConfig(strategy="tpe", n_trials=args.n_trials, epochs=args.max_epochs,
                            **common)  # fmt: skip
    return SearchConfig(strategy=kind, min_epochs=args.min_epochs, max_epochs=args.max_epochs,
                        eta=args.eta, **common)  # fmt: skip


def end_times(folder: Path) -> dict[str, float]:
    """Each child run's MLflow end time (seconds since the epoch), by run id."""
    states = sorted((folder / "output" / "searches").glob("*.json"))
    if not states:
        return {}
    parent = json.loads(states[-1].read_text(encoding="utf-8")).get("parent_run_id")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    children = tracking.runs_dataframe(EXPERIMENT, tracking_uri=uri, parent_run_id=parent)
    out = {}
    for run_id, end in zip(children["run_id"], children["end_time"], strict=True):
        if end is not None and str(end) != "NaT":
            out[run_id] = end.timestamp()
    return out


def timed(kind: str, args, seed: int, folder: Path, grid: str) -> dict:
    """Run one search; its rows in the order they finished, with when each finished."""
    folder.mkdir(parents=True)
    cfg = search_config(kind, args, seed, folder, grid)
    log = folder / "search.log"
    with open(log, "w", encoding="utf-8") as quiet, contextlib.redirect_stdout(quiet):
        began = time.time()
        started = time.perf_counter()
        rows = run_search(cfg, quiet)
        wall = time.perf_counter() - started
    try:
        ends = end_times(folder)
    except Exception as exc:  # noqa: BLE001 - fall back on the runs' own seconds
        print(f"  note: no MLflow end times ({exc}); using the runs' own seconds")
        ends = {}
    clock, timeline = 0.0, []
    for row in rows:  # fallback: runs back to back, in the order of the rows
        seconds = finite_number(row.get("run_seconds"))
        clock = clock + seconds if seconds is not None else math.nan
        end = ends.get(row.get("run_id") or "")
        timeline.append((end - began if end is not None else clock, row))
    timeline.sort(key=lambda t: math.inf if math.isnan(t[0]) else t[0])
    return {"kind": kind, "seed": seed, "wall": wall, "timeline": timeline, "log": log}


def full_budget(row: dict, max_epochs: int) -> bool:
    budget = row.get("epochs_budget")
    return (
        row.get("status") in FINISHED
        and row.get("phase", "search") in ("search", None, "")
        and (finite_number(budget) is None or int(float(budget)) == max_epochs)
    )


def analyse(result: dict, max_epochs: int, goal: float | None) -> dict:
    """Epochs and seconds in all, the best full-budget score, and until the first
    full-budget run scoring at least ``goal`` (None: not yet known)."""
    epochs, best, hit = 0.0, None, None
    for when, row in result["timeline"]:
        epochs += finite_number(row.get("epochs_trained_this_run")) or 0.0
        score = finite_number(row.get(METRIC))
        if score is None or not full_budget(row, max_epochs):
            continue
        if best is None or score > best[0]:
            best = (score, row)
        if hit is None and goal is not None and score >= goal:
            hit = {"epochs": epochs, "seconds": min(when, result["wall"]), "row": row}
    runs = len(result["timeline"])
    failed = sum(r.get("status") == "FAILED" for _, r in result["timeline"])
    return {**result, "epochs": epochs, "best": best, "hit": hit, "runs": runs, "failed": failed}


def _share(x: float, of: float) -> float:
    return x / of if of else math.nan


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def report(a: dict, ref: dict, label: str) -> dict:
    """Print one search's line; return its shares."""
    e_all, w_all = _share(a["epochs"], ref["epochs"]), _share(a["wall"], ref["wall"])
    best = f"{a['best'][0]:.4f}" if a["best"] else "none"
    failed = f", {a['failed']} failed" if a["failed"] else ""
    print(
        f"  {label:<10} {a['runs']:>3} runs{failed}, {a['epochs']:.0f} epochs ({e_all:.0%}), "
        f"{a['wall'] / 60:.1f} min ({w_all:.0%}) in all; best full-budget {METRIC} {best}"
    )
    out = {"epochs_all": e_all, "wall_all": w_all, "found": a["hit"] is not None}
    if a["hit"] is None:
        print(
            f"  {'':<10} no full-budget run within {TOLERANCE} of the grid's best: found none",
            flush=True,
        )
        return {**out, "epochs_hit": math.nan, "wall_hit": math.nan, "met": False}
    hit = a["hit"]
    e_hit, w_hit = _share(hit["epochs"], ref["epochs"]), _share(hit["seconds"], ref["wall"])
    met = e_hit <= TARGET and w_hit <= TARGET
    row = hit["row"]
    print(
        f"  {'':<10} first within {TOLERANCE}: trial {row.get('trial') or row.get('run_number')} "
        f"({row.get('config_id')}, {float(row[METRIC]):.4f}) after {hit['epochs']:.0f} epochs "
        f"= {e_hit:.0%}, {hit['seconds'] / 60:.1f} min = {w_hit:.0%} of the grid's; target "
        f"<= {TARGET:.0%}: epochs {_yes(e_hit <= TARGET)}, wall {_yes(w_hit <= TARGET)}",
        flush=True,
    )
    return {**out, "epochs_hit": e_hit, "wall_hit": w_hit, "met": met}


def _median(xs: list[float]) -> str:
    xs = [x for x in xs if not math.isnan(x)]
    return f"{statistics.median(xs):.0%}" if xs else "n/a"


def _listed(xs: list[float]) -> str:
    return ", ".join("-" if math.isnan(x) else f"{x:.0%}" for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="small", help="a grid name or file (default small)")
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="dataset folder (default: the demo dataset, generated on first use)",
    )  # fmt: skip
    parser.add_argument("--min-epochs", type=int, default=3, help="first rung (default 3)")
    parser.add_argument(
        "--max-epochs", type=int, default=27,
        help="the full budget: every grid and TPE run, the last rung (default 27)",
    )  # fmt: skip
    parser.add_argument("--eta", type=int, default=3, help="halving and Hyperband (default 3)")
    parser.add_argument("--n-trials", type=int, default=8, help="TPE's trials (default 8)")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[42],
        help="a search of each adaptive strategy per seed (default 42)",
    )  # fmt: skip
    parser.add_argument("--grid-seed", type=int, default=42, help="the grid's seed (default 42)")
    parser.add_argument(
        "--strategies", nargs="+", choices=ADAPTIVE, default=list(ADAPTIVE),
        help="the strategies to compare with the grid (default all)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument(
        "--out", type=Path, default=None,
        help="keep every search's output, reports, mlflow.db and log here, one subfolder "
        "each (default: a temporary folder, removed at the end)",
    )  # fmt: skip
    args = parser.parse_args()
    args.where = str(args.data_dir) if args.data_dir else "the demo data"
    args.data_dir = (args.data_dir or ensure_demo_dataset()).resolve()
    with contextlib.ExitStack() as stack:
        if args.out is None:
            args.out = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        args.out = args.out.resolve()
        args.out.mkdir(parents=True, exist_ok=True)
        os.environ["TENNIS_LAB_CACHE"] = str(args.out / "cache")
        bench(args)


def bench(args) -> None:
    import mlflow  # noqa: F401 - before quieting its logger (it sets its own level)

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # "Creating initial tables..."
    defaults = tunable_defaults(notebooks_dir() / "train.ipynb")
    reference = SearchConfig(grid=args.grid, data_dir=str(args.data_dir), epochs=args.max_epochs)
    with open(args.out / "warmup.log", "w", encoding="utf-8") as quiet:
        with contextlib.redirect_stdout(quiet):  # checks the data: windows cached for all
            _, combos, _ = plan(reference, defaults)
    tpe_name, tpe_note = tpe_space(args.grid, args.out)
    print(
        f"grid {args.grid!r} on {args.where}: {len(combos)} combinations x {args.max_epochs} "
        "epochs; "
        f"halving and Hyperband {args.min_epochs} to {args.max_epochs} epochs (eta {args.eta}), "
        f"TPE {args.n_trials} trials x {args.max_epochs} epochs; {args.workers} worker(s); "
        f"seeds {' '.join(map(str, args.seeds))}"
    )
    if tpe_note and "tpe" in args.strategies:
        print(tpe_note)
    grid = analyse(timed("grid", args, args.grid_seed, args.out / "grid", args.grid),
                   args.max_epochs, None)  # fmt: skip
    if grid["best"] is None:
        raise SystemExit(f"the grid has no scored run; see {grid['log']}")
    goal = grid["best"][0] - TOLERANCE
    grid = analyse(grid, args.max_epochs, goal)  # the same timeline, now with the goal
    best_row = grid["best"][1]
    print(
        f"grid (seed {args.grid_seed}): {grid['runs']} runs, {grid['epochs']:.0f} epochs trained "
        f"(planned {len(combos) * args.max_epochs}), {grid['wall'] / 60:.1f} min; best {METRIC} "
        f"{grid['best'][0]:.4f} (run {best_row.get('run_number')}, {best_row.get('config_id')}); "
        f"to find: >= {goal:.4f}"
    )
    hit = grid["hit"]
    print(
        f"  the grid itself first had one after {hit['epochs']:.0f} epochs "
        f"({_share(hit['epochs'], grid['epochs']):.0%}), {hit['seconds'] / 60:.1f} min "
        f"({_share(hit['seconds'], grid['wall']):.0%}) (the grid's order: luck)"
    )
    got: dict[str, list[dict]] = {k: [] for k in args.strategies}
    for seed in args.seeds:
        print(f"seed {seed}: shares of the grid's epochs and wall time", flush=True)
        for kind in args.strategies:
            name = tpe_name if kind == "tpe" else args.grid
            try:
                result = timed(kind, args, seed, args.out / f"{kind}-seed{seed}", name)
            except Exception as exc:  # noqa: BLE001 - one failed search: report, go on
                log = args.out / f"{kind}-seed{seed}" / "search.log"
                tail = log.read_text(encoding="utf-8").splitlines()[-8:] if log.is_file() else []
                print(f"  {kind:<10} FAILED: {type(exc).__name__}: {exc}")
                for line in tail:
                    print(f"  {'':<10} | {line}")
                got[kind].append({"failed": True})
                continue
            got[kind].append(report(analyse(result, args.max_epochs, goal), grid, kind))
    summary(args, got)


def summary(args, got: dict[str, list[dict]]) -> None:
    n = len(args.seeds)
    print(
        f"over {n} seed(s): a full-budget run within {TOLERANCE} of the grid's best, and "
        f"when (target <= {TARGET:.0%} of the grid's epochs and wall time):"
    )
    for kind, shares in got.items():
        ok = [s for s in shares if not s.get("failed")]
        failed = f", {n - len(ok)} search(es) failed" if len(ok) < n else ""
        found = sum(s["found"] for s in ok)
        met = sum(s["met"] for s in ok)
        if not ok:
            print(f"  {kind:<10} every search failed")
            continue
        hit_e, hit_w = [s["epochs_hit"] for s in ok], [s["wall_hit"] for s in ok]
        print(
            f"  {kind:<10} found one {found} of {n}, met the target {met} of {n}{failed}; "
            f"median until found: epochs {_median(hit_e)} ({_listed(hit_e)}), wall "
            f"{_median(hit_w)} ({_listed(hit_w)}); median in all: epochs "
            f"{_median([s['epochs_all'] for s in ok])}, wall {_median([s['wall_all'] for s in ok])}"
        )


if __name__ == "__main__":
    main()
