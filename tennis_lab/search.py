"""The search runner: one papermill execution of notebooks/train.ipynb per combination.

``run_search(SearchConfig(...))`` (the ``tennis-lab grid`` command):

1. loads the grid (or samples the random-search ranges) and validates it against the
   notebook's own parameters before anything runs;
2. creates the MLflow store, experiment and a parent run for the search;
3. executes the notebook once per combination in a fresh kernel, keeping each
   executed notebook under ``reports/runs/<search id>/`` and logging it to the
   combination's child run;
4. rewrites the results CSV after every run (atomically), prints progress with the
   elapsed and remaining time, and a summary at the end.

A failed combination is a row with status FAILED and its error; the search goes
on. ``--resume`` skips the combinations already completed (by config id) in the
CSV or in MLflow, and marks children left RUNNING by an interrupted search KILLED.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from tennis_lab import grids, paths, tracking
from tennis_lab.executors import SequentialExecutor, make_executor
from tennis_lab.training import SELECTION_METRIC

STATUS_COMPLETED = "COMPLETED"
STATUS_FAILED = "FAILED"
RUN_COLUMNS = (
    "run_number", "run_id", "config_id", "status", "error",
    "test_accuracy", "macro_f1_score", SELECTION_METRIC, "test_stroke_macro_f1",
    "worst_group_macro_f1", "val_macro_f1_score", "train_macro_f1_score",
    "training_time_minutes",
)  # fmt: skip
CONTROL_PARAMS = {
    "data_dir", "tracking_uri", "experiment", "parent_run_id", "search_id", "config_id",
    "run_name", "log_to_mlflow", "result_path",
}  # fmt: skip


class SearchError(RuntimeError):
    """A search that cannot start or whose every run failed."""


@dataclass
class SearchConfig:
    """What to search and where; every field has a sensible default."""

    grid: str = "minimal"
    random: bool = False
    n_samples: int = 30
    max_runs: int | None = None
    resume: str | None = None  # a search id, or "latest"
    data_dir: str | None = None
    seed: int = 42
    epochs: int | None = None
    experiment: str = tracking.DEFAULT_EXPERIMENT
    tracking_uri: str | None = None
    output_dir: str | None = None
    reports_dir: str | None = None
    notebook: str | None = None
    stream_output: bool = True
    workers: int | None = None  # > 1: a Dask LocalCluster of this many worker processes
    scheduler: str | None = None  # address of an existing Dask scheduler
    register_as: str | None = tracking.DEFAULT_MODEL_NAME  # None: do not register the best


@dataclass
class SearchState:
    """What a search needs to resume: stored as ``<output>/searches/<search id>.json``."""

    search_id: str
    grid: str
    parent_run_id: str
    experiment: str
    experiment_id: str
    tracking_uri: str
    csv_path: str
    notebooks_dir: str
    combinations: list[dict[str, Any]]
    config_ids: list[str]
    overrides: dict[str, Any] = field(default_factory=dict)
    started: str = ""


# --------------------------------------------------------------------------- notebook


def notebook_defaults(notebook: str | Path) -> dict[str, Any]:
    """The parameters cell of ``notebook``: name -> default value (papermill inspection)."""
    import papermill

    found = papermill.inspect_notebook(str(notebook))
    out: dict[str, Any] = {}
    for name, info in found.items():
        try:
            out[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            out[name] = None
    if not out:
        raise SearchError(f"{notebook} has no cell tagged 'parameters'.")
    return out


def tunable_defaults(notebook: str | Path) -> dict[str, Any]:
    """The notebook parameters a grid may set (all but the runner's own)."""
    return {k: v for k, v in notebook_defaults(notebook).items() if k not in CONTROL_PARAMS}


# --------------------------------------------------------------------------- planning


def plan(cfg: SearchConfig, defaults: Mapping[str, Any]) -> tuple[grids.Grid, list[dict], dict]:
    """Load and validate what to run: (grid, combinations, overrides). Nothing runs here."""
    if cfg.random:
        ranges = grids.load_ranges(cfg.grid if cfg.grid.endswith((".yaml", ".yml")) else "random")
        grid = grids.ranges_as_grid(ranges)
        grids.validate_grid(grid, defaults)
        combos = grids.sample(ranges, cfg.n_samples, seed=cfg.seed, defaults=defaults)
        grid.subgrids = [{k: [c[k] for c in combos] for k in combos[0]}]
    else:
        grid = grids.load_grid(cfg.grid)
        grids.validate_grid(grid, defaults)
        expansion = grids.expand(grid, defaults)
        if expansion.dropped_overlap:
            print(
                f"Dropped {expansion.dropped_overlap} combination(s) of grid {grid.name!r} "
                "with overlap >= window_size."
            )
        combos = expansion.combinations
    if cfg.max_runs is not None:
        if cfg.max_runs < 1:
            raise SearchError(f"--max-runs must be at least 1; got {cfg.max_runs}.")
        combos = combos[: cfg.max_runs]
    overrides: dict[str, Any] = {"seed": cfg.seed}
    if cfg.epochs is not None:
        if cfg.epochs < 1:
            raise SearchError(f"--epochs must be at least 1; got {cfg.epochs}.")
        overrides["epochs"] = cfg.epochs
    return grid, combos, overrides


def run_parameters(combo: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook parameters of one combination: the grid's values, then the overrides."""
    return {**combo, **overrides}


# --------------------------------------------------------------------------- results table


def write_csv_atomic(rows: list[dict[str, Any]], path: Path) -> None:
    """Write ``rows`` to ``path`` via a temporary file and a rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        first = [c for c in RUN_COLUMNS if c in frame.columns]
        frame = frame[first + [c for c in frame.columns if c not in first]]
        frame = frame.sort_values("run_number", kind="stable")
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".csv.tmp")
    os.close(fd)
    try:
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list) else value


def result_row(
    number: int, cid: str, params: Mapping[str, Any], status: str, notebook: Path,
    result: Mapping[str, Any] | None = None, error: str = "", run_id: str | None = None,
    seconds: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One CSV row: ids, status, error, every parameter, every metric, the notebook path."""
    metrics = dict((result or {}).get("metrics", {}))
    row: dict[str, Any] = {
        "run_number": number,
        "run_id": run_id or (result or {}).get("run_id") or "",
        "config_id": cid,
        "status": status,
        "error": error,
    }
    if metrics:
        row["macro_f1_score"] = metrics.get("macro_avg_f1_score")
    row.update({k: _cell(v) for k, v in params.items()})
    row.update(metrics)
    data = (result or {}).get("data") or {}
    if data.get("split_by"):  # what a group is, as the run resolved split_by=auto
        row["split_by_resolved"] = data["split_by"]
    row["notebook"] = str(notebook)
    if seconds is not None:
        row["run_seconds"] = round(seconds, 1)
    return row


# --------------------------------------------------------------------------- console


def _bar(fraction: float, width: int = 30) -> str:
    filled = int(round(fraction * width))
    return "█" * filled + "░" * (width - filled)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def format_header(number: int, total: int, params: Mapping[str, Any]) -> str:
    bar = "=" * 70
    lines = [bar, f"GRID SEARCH RUN {number}/{total}", bar, "Parameters:"]
    lines += [f"  {k}: {_cell(v) if isinstance(v, list) else v}" for k, v in params.items()]
    return "\n".join([*lines, bar])


def format_progress(done: int, total: int, elapsed: float, finished_here: int) -> str:
    """Progress with a bar; the remaining time extrapolates this session's pace."""
    remaining = elapsed / finished_here * (total - done) if finished_here else 0.0
    return (
        f"📊 Progress: {done}/{total} ({done / total:.1%}) {_bar(done / total)}\n"
        f"⏱️  Elapsed: {_minutes(elapsed)} | Estimated remaining: {_minutes(remaining)}"
    )


def _score(row: Mapping[str, Any], metric: str) -> str:
    """A metric of a results row, with its spread over folds when the run has folds."""
    value = row.get(metric)
    if value is None or pd.isna(value):
        return "n/a"
    std = row.get(f"{metric}_std")
    return f"{float(value):.4f}" + (
        f" ± {float(std):.4f}" if std is not None and not pd.isna(std) else ""
    )


def _group_word(row: Mapping[str, Any]) -> str:
    by = row.get("split_by_resolved")
    return by if by in ("player", "session", "video") else "group"


def ranked_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Completed rows, best first by the selection metric (ties: the earlier run)."""
    done = [r for r in rows if r["status"] == STATUS_COMPLETED]
    return sorted(done, key=lambda r: (-float(r.get(SELECTION_METRIC) or 0), r["run_number"]))


def register_champion(
    rows: list[dict[str, Any]], state: SearchState, name: str
) -> tuple[Any, dict[str, Any]] | None:
    """Register the best run's model as a version of ``name``; the alias champion on it.

    Returns (model version, best row), or None when no run completed.
    """
    ranked = ranked_rows(rows)
    if not ranked:
        return None
    best = ranked[0]
    version = tracking.register_model(
        best["run_id"], name, tracking.CHAMPION_ALIAS,
        tags={"search_id": state.search_id, "grid": state.grid,
              SELECTION_METRIC: f"{float(best[SELECTION_METRIC]):.4f}",
              "config_id": best["config_id"]},
        tracking_uri=state.tracking_uri,
    )  # fmt: skip
    return version, best


def format_summary(rows: list[dict[str, Any]], csv_path: Path, seconds: float, param_names) -> str:
    """The final summary: CSV, best by validation macro F1 with its test figures, top 5."""
    bar = "=" * 70
    done = [r for r in rows if r["status"] == STATUS_COMPLETED]
    failed = [r for r in rows if r["status"] != STATUS_COMPLETED]
    lines = [bar, "GRID SEARCH COMPLETE!", bar, "", f"✅ Results saved to: {csv_path}"]
    lines.append(f"   {len(done)} completed, {len(failed)} failed")
    if done:
        ranked = ranked_rows(done)
        best = ranked[0]
        lines += [
            "",
            "🏆 BEST MODEL (by validation macro F1 over strokes):",
            f"   Run: {best['run_number']}",
            f"   Validation Macro F1 (strokes): {_score(best, SELECTION_METRIC)}",
            f"   Macro F1-Score (test strokes): {_score(best, 'test_stroke_macro_f1')}",
            f"   Worst {_group_word(best)} (test strokes): {_score(best, 'worst_group_macro_f1')}",
            f"   Macro F1-Score (test windows): {float(best['macro_avg_f1_score']):.4f}",
            f"   Test Accuracy: {float(best['test_accuracy']):.4f}",
            f"   MLflow Run ID: {best['run_id']}",
            "",
            "   Parameters:",
        ]
        lines += [f"     {k}: {best[k]}" for k in param_names if k in best]
        lines += ["", "📈 TOP 5 MODELS (by validation macro F1 over strokes):"]
        for r in ranked[:5]:
            lines.append(
                f"   {r['run_number']:>3}. ValF1={_score(r, SELECTION_METRIC)}, "
                f"TestF1={_score(r, 'test_stroke_macro_f1')}, "
                f"Worst={_score(r, 'worst_group_macro_f1')}, "
                f"Acc={float(r['test_accuracy']):.4f}, "
                f"Time={float(r['training_time_minutes']):.1f}min"
            )
    if failed:
        lines += ["", "❌ FAILED RUNS (grouped by error):"]
        for error, n in Counter(r["error"] or "unknown error" for r in failed).most_common():
            numbers = [
                str(r["run_number"]) for r in failed if (r["error"] or "unknown error") == error
            ]
            lines.append(f"   {n} x {error}  (runs {', '.join(numbers)})")
    hours = seconds / 3600
    total = f"{hours:.2f} hours" if hours >= 1 else f"{seconds / 60:.1f} minutes"
    lines += [
        "",
        f"⏱️  Total grid search time: {total}",
        "✅ View all results in MLflow: make mlflow-ui",
    ]
    lines.append(bar)
    return "\n".join(lines)


# --------------------------------------------------------------------------- execution


def _error_text(exc: BaseException) -> str:
    import papermill

    if isinstance(exc, papermill.PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue}".strip()
    return f"{type(exc).__name__}: {exc}".strip()


def kernel_log_path(output: Path) -> Path:
    """Where the kernel process's own output goes: beside the executed notebook."""
    return output.with_name(output.stem + ".kernel.log")


def _logging_kernel_manager(log_path: Path) -> type:
    """A kernel manager whose kernel process writes its stdout and stderr to ``log_path``.

    That output is not the cells' output (papermill records that in the notebook and
    streams it): it is what the process writes itself, such as TensorFlow's C++ log
    lines, ipykernel's warnings and a crash's last words.
    """
    from jupyter_client.manager import AsyncKernelManager

    class LoggingKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            with open(log_path, "ab") as log:  # the kernel keeps its own copy
                kw = {**kw, "stdout": log, "stderr": log}
                await super()._async_launch_kernel(kernel_cmd, **kw)

    return LoggingKernelManager


def execute_run(
    notebook: Path,
    output: Path,
    parameters: Mapping[str, Any],
    stream: TextIO | None = None,
) -> None:
    """Execute ``notebook`` with ``parameters`` into ``output`` in a fresh kernel.

    papermill writes the executed notebook even when a cell raises; the error then
    propagates (``PapermillExecutionError``, or ``DeadKernelError`` when the kernel
    dies). The kernel process's own output goes to :func:`kernel_log_path`, which is
    removed when it stays empty.
    """
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    log = kernel_log_path(output)
    log.unlink(missing_ok=True)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=dict(parameters),
            progress_bar=False,
            stdout_file=stream,
            stderr_file=stream,
            cwd=str(paths.project_root()),
            kernel_manager_class=_logging_kernel_manager(log),
            # What native code writes to the process's stdout and stderr (TensorFlow's
            # C++ log lines, for one) goes to the kernel log, not into the cells' output.
            extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        )
    finally:
        if log.is_file() and log.stat().st_size == 0:
            log.unlink()


def _run_spec(
    spec: tuple[str, str, dict[str, Any]], cpu_threads: int, stream: TextIO | None = None
) -> None:
    """A job for an executor: execute one combination's notebook (picklable)."""
    notebook, output, parameters = spec
    parameters = {**parameters, "cpu_threads": cpu_threads}
    execute_run(Path(notebook), Path(output), parameters, stream)


def expected_cost(params: Mapping[str, Any], features: int = 132) -> float:
    """A run's training work relative to other combinations (for scheduling only).

    LSTM multiply-adds per window (4 gates x units x (inputs + units) per layer and
    frame, twice when bidirectional), times the windows per video (1 / stride).
    Epochs are left out: early stopping decides them. Missing keys take the
    defaults of :func:`tennis_lab.model.build_lstm` and ``make_windows``.
    """
    import inspect

    from tennis_lab.model import MODEL_DEFAULTS
    from tennis_lab.windows import make_windows

    window_defaults = {
        name: arg.default for name, arg in inspect.signature(make_windows).parameters.items()
    }
    p = {**MODEL_DEFAULTS, **window_defaults, **params}
    inputs, per_frame = features, 0.0
    for units in p["lstm_layers"]:
        per_frame += 4 * units * (inputs + units)
        inputs = units
    if p["use_bidirectional"]:
        per_frame *= 2
    stride = max(1, p["window_size"] - p["overlap"])
    return per_frame * p["window_size"] / stride


def _record_outcome(
    state: SearchState, number: int, cid: str, full_params: Mapping[str, Any],
    params: Mapping[str, Any], nb_out: Path, result_file: Path, error: BaseException | None,
    seconds: float | None, total: int, say: Callable[[str], None],
) -> dict[str, Any]:  # fmt: skip
    """The CSV row of a finished job; completes its MLflow child, or records it FAILED."""
    try:
        if error is not None:
            raise error
        result = json.loads(result_file.read_text(encoding="utf-8"))
        row = result_row(
            number, cid, full_params, STATUS_COMPLETED, nb_out, result, seconds=seconds
        )
        child = result["run_id"]
        tracking.log_artifact(child, nb_out, "notebook", state.tracking_uri)
        tracking.set_tags(
            child, {"grid": state.grid, "status": STATUS_COMPLETED}, state.tracking_uri
        )
        m = result["metrics"]
        worst = min(result.get("groups") or [{}], key=lambda g: g.get("macro_f1", 1.0))
        say(
            f"\n✅ Run {number}/{total} complete:\n"
            f"   Test Accuracy: {m['test_accuracy']:.4f}\n"
            f"   Macro F1-Score: {_score(m, 'test_stroke_macro_f1')} on test strokes "
            f"(validation {_score(m, SELECTION_METRIC)}; "
            f"{m['macro_avg_f1_score']:.4f} on test windows)\n"
            + (
                f"   Worst {result['data'].get('split_by', 'group')}: {worst['group']} "
                f"{worst['macro_f1']:.4f} ({worst['strokes']} strokes)\n"
                if worst.get("group")
                else ""
            )
            + f"   Training Time: {m['training_time_minutes']:.2f} min\n"
            f"   MLflow Run ID: {result['run_id']}"
        )
        return row
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a failed combination is data, not a crash
        text = _error_text(exc)
        run_id = tracking.record_failed_run(
            state.experiment_id, state.parent_run_id,
            f"grid_search_{state.grid}_run_{number:03d}", dict(params), text,
            tags={"search_id": state.search_id, "config_id": cid, "grid": state.grid},
            notebook=nb_out if nb_out.is_file() else None, tracking_uri=state.tracking_uri,
        )  # fmt: skip
        log = kernel_log_path(nb_out)
        say(
            f"\n❌ Run {number}/{total} FAILED: {text}\n   Notebook: {nb_out}"
            + (f"\n   Kernel log: {log}" if log.is_file() else "")
        )
        return result_row(
            number, cid, full_params, STATUS_FAILED, nb_out, None, text, run_id, seconds=seconds
        )


def _state_path(output_dir: Path, search_id: str) -> Path:
    return output_dir / "searches" / f"{search_id}.json"


def _latest_search(output_dir: Path) -> str:
    states = sorted((output_dir / "searches").glob("*.json"))
    if not states:
        raise SearchError(f"no search to resume in {output_dir / 'searches'}.")
    return states[-1].stem


def _completed_in_mlflow(state: SearchState) -> dict[str, dict[str, Any]]:
    """config id -> {run_id, metrics} of FINISHED children; RUNNING ones are marked KILLED."""
    children = tracking.runs_dataframe(
        state.experiment, tracking_uri=state.tracking_uri, parent_run_id=state.parent_run_id
    )
    done: dict[str, dict[str, Any]] = {}
    for _, row in children.iterrows():
        cid = row.get("tags.config_id")
        if row["status"] == "RUNNING":
            tracking.end_run(row["run_id"], "KILLED", tracking_uri=state.tracking_uri)
        elif row["status"] == "FINISHED" and isinstance(cid, str) and cid not in done:
            metrics = {
                k.split(".", 1)[1]: v
                for k, v in row.items()
                if k.startswith("metrics.")
                and not k.split(".", 1)[1].startswith(tracking.SERIES_PREFIXES)
                and not pd.isna(v)
            }
            done[cid] = {"run_id": row["run_id"], "metrics": metrics}
    return done


def run_search(cfg: SearchConfig, out: TextIO | None = None) -> list[dict[str, Any]]:
    """Run a grid or random search; return the result rows (also written to the CSV).

    Raises
    ------
    grids.GridError, SearchError
        Before any run starts: a bad grid, nothing to resume. After the runs:
        every run failed (the message shows the first error).
    """
    out = out or sys.stdout
    say: Callable[[str], None] = lambda text: print(text, file=out, flush=True)  # noqa: E731
    notebook = Path(cfg.notebook) if cfg.notebook else paths.notebooks_dir() / "train.ipynb"
    output_dir = Path(cfg.output_dir) if cfg.output_dir else paths.output_dir()
    reports = Path(cfg.reports_dir) if cfg.reports_dir else paths.reports_dir() / "runs"
    defaults = tunable_defaults(notebook)

    if cfg.resume:
        search_id = _latest_search(output_dir) if cfg.resume == "latest" else cfg.resume
        state_file = _state_path(output_dir, search_id)
        if not state_file.is_file():
            raise SearchError(
                f"no search {search_id!r} to resume: {state_file} does not exist "
                f"(searches: {sorted(p.stem for p in state_file.parent.glob('*.json'))})."
            )
        state = SearchState(**json.loads(state_file.read_text(encoding="utf-8")))
        tracking.reopen_run(state.parent_run_id, tracking_uri=state.tracking_uri)
        say(f"Resuming search {search_id} ({len(state.combinations)} combinations)")
    else:
        grid, combos, overrides = plan(cfg, defaults)
        if cfg.data_dir:
            overrides["data_dir"] = str(Path(cfg.data_dir).resolve())
        uri = tracking.resolve_tracking_uri(cfg.tracking_uri)
        experiment_id = tracking.ensure_experiment(cfg.experiment, tracking_uri=uri)
        stamp = f"{datetime.now():%Y%m%d_%H%M%S}"
        search_id = f"{stamp}_{grid.name}"
        state = SearchState(
            search_id=search_id,
            grid=grid.name,
            parent_run_id="",
            experiment=cfg.experiment,
            experiment_id=experiment_id,
            tracking_uri=uri,
            csv_path=str(output_dir / f"grid_search_results_{stamp}.csv"),
            notebooks_dir=str(reports / search_id),
            combinations=combos,
            config_ids=[grids.config_id(run_parameters(c, overrides)) for c in combos],
            overrides=overrides,
            started=datetime.now().isoformat(timespec="seconds"),
        )
        state.parent_run_id = tracking.start_parent_run(
            experiment_id,
            f"grid_search_{grid.name}_{search_id}",
            tags={
                "search_id": search_id,
                "grid": grid.name,
                "status": "RUNNING",
                "combinations": str(len(combos)),
            },  # fmt: skip
            params={"grid": grid.name, "combinations": len(combos), **overrides},
            tracking_uri=uri,
        )
        state_file = _state_path(output_dir, search_id)
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")

    csv_path = Path(state.csv_path)
    rows: dict[str, dict[str, Any]] = {}
    if csv_path.is_file():
        table = pd.read_csv(csv_path, dtype={"config_id": str, "run_id": str, "error": str})
        for row in table.to_dict("records"):
            if row.get("status") == STATUS_COMPLETED:
                rows[str(row["config_id"])] = row
    if cfg.resume:
        for cid, found in _completed_in_mlflow(state).items():
            if cid in state.config_ids and cid not in rows:
                number = state.config_ids.index(cid) + 1
                params = run_parameters(state.combinations[number - 1], state.overrides)
                nb = Path(state.notebooks_dir) / f"{number:03d}-{cid}.ipynb"
                rows[cid] = result_row(
                    number, cid, {**defaults, **params}, STATUS_COMPLETED, nb, found
                )

    total = len(state.combinations)
    todo = [i for i, cid in enumerate(state.config_ids) if cid not in rows]
    if cfg.resume:
        say(f"{total - len(todo)} already completed, {len(todo)} to run")
    param_names = sorted({k for c in state.combinations for k in c})
    started = time.time()
    finished_here = 0
    status = "FINISHED"
    executor = make_executor(cfg.workers, cfg.scheduler)
    parallel = not isinstance(executor, SequentialExecutor)
    specs = {}
    for i in todo:
        number, cid = i + 1, state.config_ids[i]
        params = run_parameters(state.combinations[i], state.overrides)
        result_file = Path(state.notebooks_dir) / f"{number:03d}-{cid}.json"
        result_file.unlink(missing_ok=True)
        run_params = {
            **params,
            "tracking_uri": state.tracking_uri,
            "experiment": state.experiment,
            "parent_run_id": state.parent_run_id,
            "search_id": state.search_id,
            "config_id": cid,
            "run_name": f"grid_search_{state.grid}_run_{number:03d}",
            "result_path": str(result_file),
        }
        nb_out = Path(state.notebooks_dir) / f"{number:03d}-{cid}.ipynb"
        specs[i] = (str(notebook), str(nb_out), run_params)
    begun: dict[int, float] = {}

    def run_here(i: int, cpu_threads: int) -> None:
        """Sequential: show the header, then run with the kernel's output streamed."""
        params = run_parameters(state.combinations[i], state.overrides)
        say("\n" + format_header(i + 1, total, params))
        begun[i] = time.time()
        _run_spec(specs[i], cpu_threads, out if cfg.stream_output else None)

    if parallel and todo:
        say(f"\nRunning {len(todo)} combinations on {executor.workers} Dask workers")
        for note in executor.advice():
            say(f"Note: {note}")
        # Largest first, so that no worker is left with a long run at the end.
        todo.sort(key=lambda i: -expected_cost({**defaults, **specs[i][2]}))
    try:
        with executor:
            jobs = executor.run(_run_spec, [specs[i] for i in todo]) if parallel else (
                (specs[i], error) for i, error in executor.run(run_here, todo)
            )  # fmt: skip
            for spec, error in jobs:
                i = next(k for k, v in specs.items() if v is spec)
                number, cid = i + 1, state.config_ids[i]
                params = run_parameters(state.combinations[i], state.overrides)
                nb_out = Path(spec[1])
                if parallel:
                    say("\n" + format_header(number, total, params))
                seconds = time.time() - begun[i] if i in begun else None
                row = _record_outcome(
                    state, number, cid, {**defaults, **params}, params, nb_out,
                    Path(spec[2]["result_path"]), error, seconds, total, say,
                )  # fmt: skip
                rows[cid] = row
                write_csv_atomic(list(rows.values()), csv_path)
                finished_here += 1
                done = sum(1 for c in state.config_ids if c in rows)
                say("\n" + format_progress(done, total, time.time() - started, finished_here))
    except KeyboardInterrupt:
        status = "KILLED"
        write_csv_atomic(list(rows.values()), csv_path)
        say(
            f"\nInterrupted. Results so far: {csv_path}\n"
            f"Resume with: tennis-lab grid --resume {state.search_id}   (make grid RESUME=1)"
        )
        raise
    finally:
        ordered = [rows[c] for c in state.config_ids if c in rows]
        if all(r["status"] != STATUS_COMPLETED for r in ordered) and ordered and status != "KILLED":
            status = "FAILED"
        tracking.end_run(state.parent_run_id, status, tracking_uri=state.tracking_uri)

    ordered = [rows[c] for c in state.config_ids if c in rows]
    write_csv_atomic(ordered, csv_path)
    say("\n" + format_summary(ordered, csv_path, time.time() - started, param_names))
    if cfg.register_as:
        try:
            registered = register_champion(ordered, state, cfg.register_as)
        except Exception as error:  # noqa: BLE001 - the results are kept whatever happens
            say(
                f"Note: the best model was not registered ({error}); register it with: "
                f"tennis-lab promote <run id> --name {cfg.register_as}"
            )
        else:
            if registered:
                version, best = registered
                uri = f"models:/{cfg.register_as}@{tracking.CHAMPION_ALIAS}"
                say(
                    f"🏅 Champion: {uri} = version {version.version} (run {best['run_number']}, "
                    f"{SELECTION_METRIC} {float(best[SELECTION_METRIC]):.4f})\n"
                    "   Use it: tennis-lab predict RECORDING.npz   (make predict RECORDING=...)"
                )
    if ordered and all(r["status"] != STATUS_COMPLETED for r in ordered):
        raise SearchError(f"every run failed; the first error: {ordered[0]['error']}")
    return ordered


# --------------------------------------------------------------------------- command line


def add_arguments(parser) -> None:
    """The search's command-line flags (shared by ``tennis-lab grid`` and ``python -m``)."""
    parser.add_argument(
        "--grid", default="minimal",
        help=f"a predefined grid ({', '.join(grids.available_grids())}) or a grid file path",
    )  # fmt: skip
    parser.add_argument(
        "--random", action="store_true", help="random search over the ranges of grids/random.yaml"
    )
    parser.add_argument(
        "--n-samples", type=int, default=30, help="combinations to draw with --random (default 30)"
    )
    parser.add_argument(
        "--max-runs", type=int, default=None, help="run only the first N combinations"
    )
    parser.add_argument("--show-grid", action="store_true", help="print the grid and exit")
    parser.add_argument(
        "--resume", nargs="?", const="latest", default=None, metavar="SEARCH_ID",
        help="continue an interrupted search (default: the latest), skipping completed runs",
    )  # fmt: skip
    parser.add_argument(
        "--data-dir", default=None, help="dataset folder (default: the demo dataset)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="seed for splits, training and sampling"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the maximum epochs of every run"
    )
    parser.add_argument(
        "--experiment", default=tracking.DEFAULT_EXPERIMENT, help="MLflow experiment name"
    )
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI (default: sqlite mlflow.db)"
    )
    parser.add_argument(
        "--output-dir", default=None, help="where the results CSV goes (default: output/)"
    )
    parser.add_argument(
        "--reports-dir", default=None, help="where executed notebooks go (default: reports/runs/)"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="do not stream each run's training log"
    )
    parser.add_argument(
        "--workers", type=int, default=None,
        help="run N combinations at once on a local Dask cluster of N worker processes",
    )  # fmt: skip
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="send the runs to an existing Dask cluster, e.g. tcp://10.0.0.5:8786",
    )  # fmt: skip
    register = parser.add_mutually_exclusive_group()
    register.add_argument(
        "--register-as", default=tracking.DEFAULT_MODEL_NAME, metavar="NAME",
        help="register the best run's model under this name with the alias champion "
        f"(default {tracking.DEFAULT_MODEL_NAME})",
    )  # fmt: skip
    register.add_argument(
        "--no-register", action="store_true", help="do not register the best model"
    )


def config_from_args(args) -> SearchConfig:
    """A :class:`SearchConfig` from parsed arguments."""
    return SearchConfig(
        grid=args.grid, random=args.random, n_samples=args.n_samples, max_runs=args.max_runs,
        resume=args.resume, data_dir=args.data_dir, seed=args.seed, epochs=args.epochs,
        experiment=args.experiment, tracking_uri=args.tracking_uri, output_dir=args.output_dir,
        reports_dir=args.reports_dir, stream_output=not args.quiet,
        workers=args.workers, scheduler=args.scheduler,
        register_as=None if args.no_register else args.register_as,
    )  # fmt: skip


def show_grid(cfg: SearchConfig) -> str:
    """The preview of what ``cfg`` would run, after the same validation as a real search."""
    notebook = Path(cfg.notebook) if cfg.notebook else paths.notebooks_dir() / "train.ipynb"
    defaults = tunable_defaults(notebook)
    grid, combos, _ = plan(cfg, defaults)
    return grids.format_grid(grid, grids.Expansion(combos), defaults)


def run_command(args, out: TextIO | None = None) -> int:
    """Run ``tennis-lab grid`` from parsed arguments; return the exit status."""
    from tennis_lab.poses import DataFormatError

    cfg = config_from_args(args)
    try:
        if args.show_grid:
            print(show_grid(cfg), file=out or sys.stdout)
            return 0
        run_search(cfg, out)
    except (grids.GridError, DataFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tennis_lab.search``: the same as ``tennis-lab grid``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tennis_lab.search", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    return run_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
