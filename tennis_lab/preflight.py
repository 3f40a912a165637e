"""Check every combination of a search before any kernel starts.

The training notebook checks its parameters in its first code cell
(:func:`tennis_lab.training.check_run_params`, which checks each group of the
parameter contract, :mod:`tennis_lab.params`), then loads the windows
(``load_windows``) and splits them (``make_splits``). :func:`check_combinations`
calls the same functions for every combination of a search, so that a value the
notebook would reject stops the search in seconds, before its first run, instead of
failing one kernel per combination:

1. the parameter checks, for every combination (microseconds each);
2. the dataset, loaded once (the demo dataset when no folder is given);
3. the windows of each distinct set of data parameters, through the windows cache
   the runs read (so the work is not lost: the kernels find them there), and the
   splits of each distinct evaluation setting of those windows, with the rules
   training applies to them (two classes or more; no empty part; two classes or
   more in the training part).

A problem raises :class:`PreflightError` naming the first combination that has it,
the key and the value, how many combinations share it, and the fix.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tennis_lab import params as contract
from tennis_lab.errors import TennisLabError
from tennis_lab.grids import GridError

# The parameter groups whose values decide a run's windows and its splits.
DATA_PARAMS = contract.names("data")
EVAL_PARAMS = contract.names("evaluation")

# What to do about a bad value, by parameter (else a generic fix).
FIXES = {p.name: p.fix for p in contract.PARAMETERS if p.fix}


ONE_CLASS_FIX = (
    "annotate strokes of at least two classes (and check the class_map of its dataset.yaml: "
    "it may map every label to one class), or set include_idle: [true] in the grid to tell "
    "strokes from no stroke."
)


class PreflightError(GridError):
    """A combination the notebook would reject, found before any run started.

    Attributes
    ----------
    grid, key, problem, fix
        As :class:`tennis_lab.grids.GridError`.
    combinations : list of int
        The numbers (1-based, as the runs are numbered) of every combination with
        this problem.
    """

    def __init__(
        self,
        grid: str | None,
        problem: str,
        fix: str | None = None,
        key: str | None = None,
        combinations: Sequence[int] = (),
    ):
        super().__init__(grid or "", problem, fix, key)
        self.combinations = list(combinations)
        if not grid:  # about the data, not a grid: no "grid ...:" prefix
            self.args = (problem + (f" Fix: {fix}" if fix else ""),)


@dataclass
class Report:
    """What :func:`check_combinations` checked: counts, time and notes for the user."""

    combinations: int = 0
    windowings: int = 0
    splits: int = 0
    seconds: float = 0.0
    data_dir: str = ""
    data_summary: str = ""  # the dataset's summary (poses.format_summary), once per search
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        """One line: what was checked, on which data, in how long."""
        return (
            f"Checked {self.combinations} combination(s) before any run: "
            f"{self.windowings} distinct windowing(s) and {self.splits} split(s) of "
            f"{self.data_dir} in {self.seconds:.1f} s."
        )


@dataclass
class _Problem:
    key: str | None
    value: Any
    text: str
    numbers: list[int]
    where: str = ""
    fix: str | None = None


def _ranges(numbers: Sequence[int]) -> str:
    """``1-3, 7, 9-12``: the combination numbers, compactly (the first 12 runs of them)."""
    parts: list[str] = []
    nums = sorted(numbers)
    start = prev = nums[0]
    for n in [*nums[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts[:12]) + (", ..." if len(parts) > 12 else "")


def _check_parameters(params: Mapping[str, Any]) -> TennisLabError | None:
    """The notebook's first code cell (:func:`tennis_lab.training.check_run_params`):
    the error it raises for ``params``, or None."""
    from tennis_lab.training import check_run_params

    try:
        check_run_params(params)
    except TennisLabError as exc:
        return exc
    return None


def _raise_first(
    problems: list[_Problem], total: int, grid: str, defaults: Mapping[str, Any], failing: int
) -> None:
    """Raise :class:`PreflightError` for the problem of the lowest-numbered combination."""
    if not problems:
        return
    first = min(problems, key=lambda p: min(p.numbers))
    numbers = sorted(first.numbers)
    what = f" ({first.key} = {json.dumps(first.value, default=str)})" if first.key else ""
    problem = (
        f"combination {numbers[0]} of {total}{what} would fail in its notebook"
        f"{first.where}: {first.text.rstrip('.')}."
    )
    if len(numbers) == 1:
        problem += " It is the only combination with this problem"
    else:
        problem += (
            f" {len(numbers)} of the {total} combinations share this problem "
            f"(combinations {_ranges(numbers)})"
        )
    others = failing - len(numbers)
    problem += f"; {others} more fail other checks." if others > 0 else "."
    problem += " Nothing was run."
    if first.fix:
        fix = first.fix
    elif first.key in FIXES:
        fix = FIXES[first.key]
    elif first.key:
        default = defaults.get(first.key)
        fix = f"change {first.key} in the grid as the message says" + (
            f" (the notebook's default is {json.dumps(default)})" if default is not None else ""
        )
        fix += ", or remove the combinations that have it."
    else:
        fix = None
    raise PreflightError(grid, problem, fix, key=first.key, combinations=numbers)


def _group(
    problems: dict[str, _Problem], text: str, key: str | None, value: Any, number: int,
    where: str = "", fix: str | None = None,
) -> None:  # fmt: skip
    found = problems.setdefault(text, _Problem(key, value, text, [], where, fix))
    found.numbers.append(number)


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The dataset folder a run reads: ``data_dir``, or the demo dataset (made if missing).

    Raises
    ------
    PreflightError
        ``data_dir`` is a file: the message says so, and which folder to give.
    """
    from tennis_lab.demo import ensure_demo_dataset

    if not data_dir:
        return ensure_demo_dataset()
    root = Path(data_dir)
    if root.exists() and not root.is_dir():
        inside = f" (its folder is {root.parent})" if root.parent.joinpath("poses").is_dir() else ""
        raise PreflightError(
            None,
            f"--data-dir {root} is a file, not a dataset folder{inside}.",
            "give the dataset folder: the one holding poses/ and the annotations "
            "(see docs/data-format.md).",
            key="data_dir",
        )
    return root


def check_combinations(
    combos: Sequence[Mapping[str, Any]],
    defaults: Mapping[str, Any],
    data_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    grid: str = "grid",
    check_data: bool = True,
) -> Report:
    """Check every combination of a search as its notebook would, before any run.

    Parameters
    ----------
    combos : sequence of mapping
        The combinations, in run order (combination ``i`` is run ``i + 1``).
    defaults : mapping
        The notebook's tunable parameters and defaults
        (:func:`tennis_lab.search.tunable_defaults`).
    data_dir : path, optional
        The dataset folder the runs read; None or empty: the demo dataset (made first
        if missing, as the notebook does).
    overrides : mapping, optional
        Values the runner gives every run (``seed``, ``epochs``).
    grid : str
        The grid's name, for messages.
    check_data : bool
        Also load the data, cut the windows and make the splits (else the parameter
        checks only).

    Returns
    -------
    Report
        Counts, time taken and notes: the warnings of loading the data (such as
        recordings without any pose) and of windowing it.

    Raises
    ------
    PreflightError
        The first problem by combination number: the combination, the key, the value,
        how many combinations share the problem, and the fix.
    tennis_lab.poses.DataFormatError
        The dataset folder does not exist or does not load.
    """
    from tennis_lab.poses import format_summary, load_dataset

    started = time.perf_counter()
    report = Report(combinations=len(combos))
    base = {**contract.defaults(), **defaults}
    runs = [{**base, **combo, **(overrides or {})} for combo in combos]

    problems: dict[str, _Problem] = {}
    for number, params in enumerate(runs, start=1):
        exc = _check_parameters(params)
        if exc is not None:
            _group(problems, exc.problem, exc.key, params.get(exc.key), number, fix=exc.fix)
    failing = sum(len(p.numbers) for p in problems.values())
    _raise_first(list(problems.values()), len(runs), grid, defaults, failing)
    if not check_data or not runs:
        report.seconds = time.perf_counter() - started
        return report

    root = resolve_data_dir(data_dir)
    report.data_dir = str(root)
    with warnings.catch_warnings(record=True) as caught:  # e.g. recordings without any pose
        warnings.simplefilter("always")
        dataset = load_dataset(root)  # DataFormatError: the folder is missing or does not load
    report.notes.extend(dict.fromkeys(str(w.message) for w in caught))
    report.data_summary = format_summary(dataset.summary())

    seen_warnings = _check_data(root, dataset, runs, problems, report)
    failing = sum(len(p.numbers) for p in problems.values())
    _raise_first(list(problems.values()), len(runs), grid, defaults, failing)
    report.notes.extend(f"windowing: {m}" for m in seen_warnings)
    report.seconds = time.perf_counter() - started
    return report


def _check_data(
    root: Path, dataset: Any, runs: list[dict[str, Any]], problems: dict[str, _Problem],
    report: Report,
) -> list[str]:  # fmt: skip
    """Cut the windows of each distinct data setting of ``runs`` and make the splits of each
    evaluation setting of them; their problems go to ``problems``. Returns the warnings of
    windowing, each once."""
    by_data: dict[str, list[int]] = {}
    for number, params in enumerate(runs, start=1):
        key = json.dumps(
            [[params[k] for k in DATA_PARAMS], bool(params["cache_windows"])], default=str
        )
        by_data.setdefault(key, []).append(number)
    seen_warnings: list[str] = []
    for numbers in by_data.values():
        report.windowings += 1
        windows = _windows_of(root, dataset, runs, numbers, problems, seen_warnings)
        if windows is not None:
            _check_layouts(root, windows, runs, numbers, problems)
            report.splits += _check_splits(root, windows, runs, numbers, problems)
    return seen_warnings


def _check_layouts(
    root: Path, windows: Any, runs: list[dict[str, Any]], numbers: list[int],
    problems: dict[str, _Problem],
) -> None:  # fmt: skip
    """The model each run of ``numbers`` builds can read the windows' landmarks (a graph
    family or bone features need a skeleton the landmark names give)."""
    from tennis_lab.model import MODEL_PARAMS, ModelParamError, check_layout

    layout = (windows.landmark_names, windows.channel_names)
    for n in numbers:
        p = runs[n - 1]
        try:
            check_layout({k: p[k] for k in MODEL_PARAMS}, layout)
        except ModelParamError as exc:  # the grid's setting that needs a skeleton is at fault
            key = "model_family" if p["model_family"] == "stgcn" else "features"
            _group(problems, exc.problem, key, p[key], n, f" on the data in {root}", exc.fix)


def _windows_of(
    root: Path, dataset: Any, runs: list[dict[str, Any]], numbers: list[int],
    problems: dict[str, _Problem], seen_warnings: list[str],
) -> Any:  # fmt: skip
    """The windows of the runs ``numbers`` (one data setting), or None after a problem."""
    from tennis_lab.datacache import load_windows, windows_folder
    from tennis_lab.windows import WindowingError

    params = runs[numbers[0] - 1]
    where = f" on the data in {root}"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            windows, _ = load_windows(
                root, cache=bool(params["cache_windows"]), dataset=dataset,
                cache_dir=windows_folder(params.get("cache_dir") or None),
                **{k: params[k] for k in DATA_PARAMS},
            )  # fmt: skip
    except WindowingError as exc:
        for n in numbers:
            _group(problems, exc.problem, exc.key, runs[n - 1].get(exc.key), n, where, exc.fix)
        return None
    for w in caught:
        if str(w.message) not in seen_warnings:
            seen_warnings.append(str(w.message))
    if len(windows.classes) < 2:
        only = windows.classes[0] if windows.classes else "none"
        text = (
            f"the dataset {root} has strokes of one class only ({only}), and a classifier "
            "needs at least two"
        )
        for n in numbers:
            _group(problems, text, None, None, n, fix=ONE_CLASS_FIX)
        return None
    return windows


def _check_splits(
    root: Path, windows: Any, runs: list[dict[str, Any]], numbers: list[int],
    problems: dict[str, _Problem],
) -> int:  # fmt: skip
    """Make the splits of each evaluation setting of the runs ``numbers``; how many."""
    from tennis_lab.evaluation import EvaluationError, make_splits

    by_eval: dict[str, list[int]] = {}
    for n in numbers:
        p = runs[n - 1]
        key = json.dumps([[p[k] for k in EVAL_PARAMS], _split_seed(p)], default=str)
        by_eval.setdefault(key, []).append(n)
    for eval_numbers in by_eval.values():
        p = runs[eval_numbers[0] - 1]
        text, key = _split_problem(windows, p, make_splits, EvaluationError)
        if text is not None:
            for n in eval_numbers:
                _group(problems, text, key, runs[n - 1].get(key), n, f" on the data in {root}")
    return len(by_eval)


def _split_seed(p: Mapping[str, Any]) -> int:
    """The seed a run's split is made with: ``split_seed``, else ``seed`` (as the notebook)."""
    return p["seed"] if p.get("split_seed") is None else p["split_seed"]


def _split_problem(windows: Any, p: Mapping[str, Any], make_splits, error_type) -> tuple:
    """(problem, key) of the splits of one evaluation setting, or (None, None)."""
    eval_params = {
        "split_by": p["split_by"], "test_groups": list(p["test_groups"]),
        "cv_folds": p["cv_folds"], "val_fraction": p["val_fraction"],
        "test_fraction": p["test_fraction"],
    }  # fmt: skip
    try:
        splits = make_splits(windows, **eval_params, seed=_split_seed(p))
    except error_type as exc:
        return exc.problem, exc.key
    for split in splits:
        label = f"fold {split.fold}" if split.fold is not None else "the split"
        for part in ("train", "val", "test"):
            if len(getattr(split, part)) == 0:
                return (
                    f"{label}: its {part} part has no windows; add videos or change the split",
                    "cv_folds" if split.fold is not None else "split_by",
                )
        present = np.unique(windows.y[split.train])
        if len(present) < 2:
            return (
                f"{label}: its train part holds only class {windows.classes[present[0]]!r}, and "
                "a classifier needs at least two; add recordings, or change split_by or seed",
                "split_by",
            )
    return None, None
