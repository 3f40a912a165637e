"""Planning a search: its strategy, flags, epoch budget and combinations, before any run.

:func:`plan` loads and validates what a search runs (a grid, the ranges of a random
search, or a sample of TPE's ranges to check on the data); :func:`new_strategy`
builds the strategy object through :attr:`tennis_lab.strategies.Strategy.registry`.
Nothing here runs a notebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tennis_lab import backends, grids, strategies
from tennis_lab.evaluation import INTERVAL_LEVEL
from tennis_lab.results import ADAPTIVE_STRATEGIES, STRATEGIES
from tennis_lab.search.config import (
    CONTROL_PARAMS,
    DEFAULT_ETA,
    DEFAULT_MIN_EPOCHS,
    DEFAULT_N_TRIALS,
    REPEAT_OVER,
    STRATEGY_TITLES,
    TPE_PREFLIGHT,
    SearchConfig,
    SearchError,
    absolute,
)


def strategy_of(cfg: SearchConfig) -> str:
    """The strategy ``cfg`` runs: ``--strategy``, else random with ``--random``, else grid.

    Raises
    ------
    SearchError
        An unknown strategy, or ``--random`` with one that does not sample.
    """
    name = cfg.strategy or ("random" if cfg.random else "grid")
    if name not in STRATEGIES:
        raise SearchError(
            f"--strategy {name!r} is not one of {', '.join(STRATEGIES)}; e.g. --strategy halving."
        )
    if cfg.random and name == "tpe":
        raise SearchError(
            "--random draws combinations up front; --strategy tpe proposes its own from the "
            "ranges. Drop --random (give the ranges file with --grid)."
        )
    return name


def check_strategy_flags(cfg: SearchConfig, strategy: str) -> None:
    """Refuse a flag that the strategy does not use, or a value it cannot take."""
    adaptive = strategy in ADAPTIVE_STRATEGIES
    for flag, value, owner, ok in (
        ("--min-epochs", cfg.min_epochs, "halving or hyperband", adaptive),
        ("--max-epochs", cfg.max_epochs, "halving or hyperband", adaptive),
        ("--eta", cfg.eta, "halving or hyperband", adaptive),
        ("--n-trials", cfg.n_trials, "tpe", strategy == "tpe"),
    ):
        if value is not None and not ok:
            raise SearchError(f"{flag} goes with --strategy {owner}; this search is {strategy}.")
    for flag, value, least in (
        ("--min-epochs", cfg.min_epochs, 1), ("--max-epochs", cfg.max_epochs, 1),
        ("--eta", cfg.eta, 2), ("--n-trials", cfg.n_trials, 1),
        ("--finalists", cfg.finalists, 1), ("--repeats", cfg.repeats, 2),
    ):  # fmt: skip
        if value is not None and value < least:
            why = " (an interval needs two scores)" if flag == "--repeats" else ""
            raise SearchError(f"{flag} must be at least {least}{why}; got {value}.")
    if cfg.weak_group is not None and not 0 < cfg.weak_group <= 1:
        raise SearchError(
            f"--weak-group is a macro F1 between 0 and 1 (e.g. 0.8); got {cfg.weak_group}."
        )
    if cfg.repeat_over not in REPEAT_OVER:
        raise SearchError(
            f"--repeat-over must be one of {', '.join(REPEAT_OVER)}; got {cfg.repeat_over!r}."
        )
    if cfg.repeat_over != "seeds" and not cfg.finalists:
        raise SearchError("--repeat-over goes with --finalists K --repeats N.")
    if (cfg.finalists is None) != (cfg.repeats is None):
        raise SearchError(
            "--finalists K and --repeats N go together: the top K configurations are re-run "
            "with N other seeds each (e.g. --finalists 3 --repeats 5)."
        )
    if adaptive and cfg.epochs is not None:
        raise SearchError(
            f"--epochs sets every run's epochs, but --strategy {strategy} budgets them rung by "
            f"rung: use --max-epochs {cfg.epochs} (and --min-epochs for the first rung)."
        )


def epoch_budget(cfg: SearchConfig, defaults: Mapping[str, Any]) -> tuple[int, int, int]:
    """``(min_epochs, max_epochs, eta)`` of an adaptive search, defaults filled in.

    max_epochs defaults to the notebook's ``epochs``; min_epochs to
    :data:`DEFAULT_MIN_EPOCHS` (at most max_epochs); eta to :data:`DEFAULT_ETA`.
    """
    max_epochs = cfg.max_epochs if cfg.max_epochs is not None else int(defaults["epochs"])
    min_epochs = (
        cfg.min_epochs if cfg.min_epochs is not None else min(DEFAULT_MIN_EPOCHS, max_epochs)
    )
    if min_epochs > max_epochs:
        raise SearchError(
            f"--min-epochs {min_epochs} is above --max-epochs {max_epochs}; the first rung "
            "cannot train more than the last."
        )
    return min_epochs, max_epochs, cfg.eta if cfg.eta is not None else DEFAULT_ETA


def tpe_ranges(cfg: SearchConfig) -> tuple[dict[str, Any], str, str]:
    """The ranges TPE searches, where they come from, and the search's grid name.

    ``--grid`` names a ranges file (``random`` or nothing: the built-in ranges), or a
    grid of one sub-grid, whose value lists become choices.
    """
    name = cfg.grid or grids.RANDOM_RANGES
    if grids.kind_of(name) == "ranges":
        label = Path(name).stem if grids.is_path(name) else name
        return grids.load_ranges(name), name, label
    grid = grids.load_grid(name)
    if len(grid.subgrids) != 1:
        raise grids.GridError(
            grid.name,
            f"it has {len(grid.subgrids)} sub-grids; TPE needs one space of choices.",
            "give a ranges file (see grids/random.yaml) or a grid of one sub-grid.",
        )
    choices = {k: [v] for k, v in grid.fixed.items()}
    choices.update({k: list(v) for k, v in grid.subgrids[0].items()})
    return choices, f"grid {grid.name!r}", grid.name


def describe_budget(strategy: str, combos: list[dict], budget: tuple[int, int, int]) -> str:
    """The rungs an adaptive search plans, and their epochs against the full grid's."""
    low, high, eta = budget

    def epochs(rungs: list[tuple[int, int]]) -> int:
        """Epochs a bracket trains: each rung's trials train from the last rung's epochs."""
        starts = [0] + [upto for _, upto in rungs[:-1]]
        return sum(n * (upto - start) for (n, upto), start in zip(rungs, starts, strict=True))

    if strategy == "halving":
        rungs = strategies.HalvingStrategy(combos, low, high, eta).plan()
        total = epochs(rungs)
        what = f"rungs of trials x epochs {', '.join(f'{n} x {upto}' for n, upto in rungs)}"
    else:
        brackets = strategies.HyperbandStrategy(combos, low, high, eta).brackets
        total = sum(epochs(bracket.plan()) for bracket in brackets)
        what = f"{len(brackets)} bracket(s) of successive halving"
    return (
        f"{STRATEGY_TITLES[strategy].capitalize()} over {len(combos)} combinations (eta {eta}, "
        f"{low} to {high} epochs): {what}; at most {total} epochs of training, the full grid "
        f"{len(combos) * high}."
    )


# Why a grid may not set a parameter the runner sets for every run.
RUNNER_OWNED = {
    **{name: "the search runner sets it for every run" for name in CONTROL_PARAMS},
    "data_dir": "choose the dataset with --data-dir",
    "tracking_uri": "choose the MLflow store with --tracking-uri",
    "experiment": "choose the MLflow experiment with --experiment",
    "log_to_mlflow": "every run of a search logs to MLflow",
    "seed": "--seed sets it for every run; to compare seeds, run the search once per --seed",
    "cpu_threads": "the runner gives every run its share of the CPUs",
    "initial_epoch": "continuing from a checkpoint is for adaptive searches (each run "
    "of a grid trains from scratch)",
    "checkpoint_path": "every run of a search would write the same file",
    "cache_dir": "choose the windows cache with --cache-dir",
    "log_every": "the console's epoch lines are not a parameter of the model",
    "keras_backend": "choose the backend of every run with --backend",
}


def runner_owned(strategy: str) -> dict[str, str]:
    """Parameter -> why the runner sets it for every run of ``strategy`` (a grid may not)."""
    runner = dict(RUNNER_OWNED)
    if strategy in ADAPTIVE_STRATEGIES:
        runner["epochs"] = (
            f"--strategy {strategy} budgets the epochs rung by rung; set --min-epochs and "
            "--max-epochs instead"
        )
    return runner


def _refuse_ranges_as_grid(name: str) -> None:
    """A grid search given random-search ranges: GridError with the fix."""
    if name != grids.RANDOM_RANGES and grids.kind_of(name) == "ranges":
        raise grids.GridError(
            Path(name).stem,
            f"{name} holds random-search ranges, not a grid.",
            "add --random to sample from it, or write a 'grid' of value lists.",
        )
    if name == grids.RANDOM_RANGES:
        raise grids.GridError(
            name,
            "'random' is the built-in ranges of random search, not a grid.",
            "add --random to sample from them, or give a grid with --grid.",
        )


def _tpe_plan(
    cfg: SearchConfig, defaults: Mapping[str, Any], runner: Mapping[str, str]
) -> tuple[grids.Grid, list[dict]]:
    """TPE: its ranges as a grid, and a sample of them to check on the data."""
    ranges, source, label = tpe_ranges(cfg)
    grid = grids.ranges_as_grid(ranges, name=label)
    grids.validate_grid(grid, defaults, runner)
    n_trials = cfg.n_trials or DEFAULT_N_TRIALS
    combos = grids.sample(
        ranges, min(n_trials, TPE_PREFLIGHT), seed=cfg.seed, defaults=defaults, name=grid.name
    )
    print(
        f"TPE search: {n_trials} trials over the ranges of {source} (seed {cfg.seed}); "
        f"{len(combos)} drawn from them are checked on the data first."
    )
    return grid, combos


def _sample_ranges(
    cfg: SearchConfig, source: str, defaults: Mapping[str, Any], runner: Mapping[str, str]
) -> tuple[grids.Grid, list[dict]]:
    """Random search over a ranges file: the draws, and a grid of the values drawn."""
    ranges = grids.load_ranges(source)
    grid = grids.ranges_as_grid(ranges, name=Path(source).stem)
    grids.validate_grid(grid, defaults, runner)
    combos = grids.sample(ranges, cfg.n_samples, seed=cfg.seed, defaults=defaults, name=grid.name)
    grid.subgrids = [{k: [c[k] for c in combos] for k in combos[0]}]
    return grid, combos


def _sample_grid(
    cfg: SearchConfig, source: str, defaults: Mapping[str, Any], runner: Mapping[str, str]
) -> tuple[grids.Grid, list[dict]]:
    """Random search over a grid's combinations: the draws, and the sub-grids they span."""
    grid = grids.load_grid(source, defaults)
    grids.validate_grid(grid, defaults, runner)
    combos = grids.sample_grid(grid, cfg.n_samples, seed=cfg.seed, defaults=defaults)
    drawn: dict[tuple[str, ...], dict[str, list[Any]]] = {}
    for combo in combos:
        keys = tuple(k for k in combo if k not in grid.fixed)
        sub = drawn.setdefault(keys, {k: [] for k in keys})
        for k in keys:
            if combo[k] not in sub[k]:
                sub[k].append(combo[k])
    grid.subgrids = list(drawn.values())
    return grid, combos


def _random_plan(
    cfg: SearchConfig, defaults: Mapping[str, Any], runner: Mapping[str, str]
) -> tuple[grids.Grid, list[dict]]:
    """Random search: combinations drawn from ranges or from a grid."""
    name = cfg.grid or ""
    if name in ("", grids.RANDOM_RANGES):
        kind, source = "ranges", grids.RANDOM_RANGES
    else:
        kind, source = grids.kind_of(name), name
    if kind == "ranges":
        grid, combos = _sample_ranges(cfg, source, defaults, runner)
        what = f"the ranges of {source}"
    else:
        grid, combos = _sample_grid(cfg, source, defaults, runner)
        what = f"the combinations of grid {grid.name!r}"
    print(f"Random search: {len(combos)} combinations drawn from {what} (seed {cfg.seed}).")
    return grid, combos


def _grid_plan(
    cfg: SearchConfig, defaults: Mapping[str, Any], runner: Mapping[str, str]
) -> tuple[grids.Grid, list[dict]]:
    """Every combination of a grid (the minimal grid by default)."""
    grid = grids.load_grid(cfg.grid or "minimal", defaults)
    grids.validate_grid(grid, defaults, runner)
    expansion = grids.expand(grid, defaults)
    if expansion.dropped_overlap:
        print(
            f"Dropped {expansion.dropped_overlap} combination(s) of grid {grid.name!r} "
            "with overlap >= window_size."
        )
    return grid, expansion.combinations


def _overrides(cfg: SearchConfig, combos: list[dict]) -> dict[str, Any]:
    """What every run of the search sets beyond its combination: seed, backend, cache, epochs."""
    overrides: dict[str, Any] = {"seed": cfg.seed}
    try:
        overrides["keras_backend"] = backends.check_backend(cfg.backend, source="--backend")
    except backends.BackendError as error:
        raise SearchError(str(error)) from None
    if cfg.cache_dir:
        overrides["cache_dir"] = str(absolute(cfg.cache_dir))
    if cfg.epochs is not None:
        if cfg.epochs < 1:
            raise SearchError(f"--epochs must be at least 1; got {cfg.epochs}.")
        overrides["epochs"] = cfg.epochs
        replaced = sorted({c["epochs"] for c in combos if "epochs" in c})
        if replaced:
            print(f"Note: --epochs {cfg.epochs} replaces the grid's epochs {replaced}.")
    return overrides


def _preflight(
    cfg: SearchConfig, grid: grids.Grid, combos: list[dict], defaults: Mapping[str, Any],
    checked: Mapping[str, Any],
) -> None:  # fmt: skip
    """Check every combination on the data as its notebook would, and print the report."""
    from tennis_lab import preflight

    data_dir = str(Path(cfg.data_dir).resolve()) if cfg.data_dir else None
    report = preflight.check_combinations(combos, defaults, data_dir, checked, grid=grid.name)
    if report.data_summary:
        print(report.data_summary)
    print(report.format())
    for note in report.notes:
        print(f"Note: {note}")


def plan(
    cfg: SearchConfig, defaults: Mapping[str, Any], check: bool = True
) -> tuple[grids.Grid, list[dict], dict]:
    """Load and validate what to run: (grid, combinations, overrides). Nothing runs here.

    Parameters
    ----------
    cfg : SearchConfig
        With ``random``, ``grid`` says what to sample: ``random`` (or the default grid
        name, or nothing) for the built-in ranges, a ranges file (``.yaml``, ``.yml`` or
        ``.json`` with ``ranges``), or a grid (a predefined name or a grid file), whose
        combinations are then sampled (:func:`tennis_lab.grids.sample_grid`). With the
        strategy tpe, the combinations are a sample of its ranges (:func:`tpe_ranges`)
        to check on the data; TPE proposes its own as it goes.
    defaults : mapping
        The notebook's tunable parameters (:func:`tunable_defaults`).
    check : bool
        Also check every combination as its notebook would, on the data, before
        anything runs (:func:`tennis_lab.preflight.check_combinations`).

    Raises
    ------
    grids.GridError
        A bad grid or ranges file, or (:class:`tennis_lab.preflight.PreflightError`) a
        combination its notebook would reject.
    tennis_lab.poses.DataFormatError
        The dataset does not exist or does not load.
    SearchError
        A bad flag: ``max_runs``, ``epochs``, a strategy's flags.
    """
    strategy = strategy_of(cfg)
    check_strategy_flags(cfg, strategy)
    sampling = strategy == "random" or (cfg.random and strategy != "grid")
    runner = runner_owned(strategy)
    if strategy == "tpe":
        grid, combos = _tpe_plan(cfg, defaults, runner)
    elif sampling:
        grid, combos = _random_plan(cfg, defaults, runner)
    else:
        _refuse_ranges_as_grid(cfg.grid or "")
        grid, combos = _grid_plan(cfg, defaults, runner)
    if cfg.max_runs is not None:
        if cfg.max_runs < 1:
            raise SearchError(f"--max-runs must be at least 1; got {cfg.max_runs}.")
        combos = combos[: cfg.max_runs]
    overrides = _overrides(cfg, combos)
    checked = dict(overrides)
    if strategy in ADAPTIVE_STRATEGIES:
        budget = epoch_budget(cfg, defaults)
        print(describe_budget(strategy, combos, budget))
        checked["epochs"] = budget[1]
    if cfg.finalists:
        print(
            f"Then the top {cfg.finalists} configuration(s) are re-run {cfg.repeats} times each, "
            f"varying {REPEAT_OVER[cfg.repeat_over]}, for a verdict with {INTERVAL_LEVEL:.0%} "
            "intervals."
        )
    if check and combos:
        _preflight(cfg, grid, combos, defaults, checked)
    return grid, combos, overrides


def run_parameters(combo: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook parameters of one combination: the grid's values, then the overrides."""
    return {**combo, **overrides}


def expected_cost(params: Mapping[str, Any], features: int = 132) -> float:
    """A run's training work relative to other combinations (for scheduling only).

    LSTM multiply-adds per window (4 gates x units x (inputs + units) per layer and
    frame, twice when bidirectional), times the windows per video (1 / stride).
    Epochs are left out: early stopping decides them. Missing keys take the
    defaults of :func:`tennis_lab.model.build_model` and ``make_windows``.
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


def _strategy_options(
    cfg: SearchConfig, name: str, defaults: Mapping[str, Any], storage: Path | None, workers: int
) -> dict[str, Any]:
    """The settings a new strategy of ``name`` may take (its ``create`` picks its own)."""
    options: dict[str, Any] = {
        "seed": cfg.seed, "defaults": defaults, "storage": storage, "workers": workers,
    }  # fmt: skip
    if name in ADAPTIVE_STRATEGIES:
        low, high, eta = epoch_budget(cfg, defaults)
        options.update(min_epochs=low, max_epochs=high, eta=eta)
    if name == "tpe":
        options.update(ranges=tpe_ranges(cfg)[0], n_trials=cfg.n_trials or DEFAULT_N_TRIALS)
    return options


def new_strategy(
    cfg: SearchConfig, combos: list[dict[str, Any]], defaults: Mapping[str, Any],
    storage: Path | None = None, workers: int = 1,
) -> strategies.Strategy:  # fmt: skip
    """The strategy object of a new search (``combos`` from :func:`plan`).

    Raises
    ------
    SearchError
        When the strategy refuses its settings (the message says which and the fix).
    """
    name = strategy_of(cfg)
    kind = strategies.Strategy.registry[name]
    try:
        return kind.create(combos, **_strategy_options(cfg, name, defaults, storage, workers))
    except ValueError as exc:
        raise SearchError(f"--strategy {name}: {exc}") from None
