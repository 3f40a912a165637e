"""Parameter grids: plain data files, validated once, enumerated in a fixed order.

A grid file (``tennis_lab/grids/<name>.yaml``, or any YAML/JSON file given by path)::

    description: what the grid explores
    fixed:                      # optional: one value per name, added to every combination
      epochs: 150
    grid:                       # a mapping of name -> non-empty list of values,
      lstm_layers: [[64, 32], [128, 64]]      # or a list of such mappings (a union
      learning_rate: [0.001, 0.0005]          # of sub-grids)

Values are JSON scalars or lists of them. Like scikit-learn's ``ParameterGrid``, the
order is deterministic (sub-grids in order, keys sorted, values in the order given)
and the number of combinations is known before anything runs. Combinations whose
``overlap`` is not below ``window_size`` are dropped (and counted); identical
combinations from different sub-grids are kept once. Every combination has a stable
id: a hash of its canonical parameters.

Random search draws from ranges (``random.yaml``): a list is a choice; ``[min, max,
int]``, ``[min, max, float]`` and ``[min, max, log]`` (or ``{min, max, type}``) are
ranges. Sampling is seeded and never repeats a combination within one search. A
``float`` or ``log`` range of a whole-number parameter (``dense_units``) draws whole
numbers. A grid can be sampled too (:func:`sample_grid`): n of its combinations.

Validation names the grid, the key, the value and the fix; parameters the search
runner sets for every run (``data_dir``, ``seed``, ...) are refused with how to set
them instead. With the notebook's defaults, integral floats of whole-number
parameters (``window_size: [45.0]``) go to the runs as ints.

A parameter of some model families only (``tcn_filters``, ``lstm_layers``, ...: the
contract's ``family`` field) may be set in a sub-grid only when every ``model_family``
of that sub-grid (default ``lstm``) is one of them: put each family in a sub-grid of its
own (``families.yaml``). Ranges may mix families; a drawn combination then gives the
other families' parameters their defaults.

This module imports nothing of the package but errors and the parameter contract, and
runs nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tennis_lab.errors import TennisLabError
from tennis_lab.grids.families import acts_in, family_defaults, family_problem

GRIDS_DIR = Path(__file__).resolve().parent
RANDOM_RANGES = "random"
RANGE_TYPES = ("int", "float", "log")
# The guide's order; grid files added later follow alphabetically.
GRID_ORDER = (
    "minimal", "small", "medium", "large", "architecture", "hyperparameter", "data", "families",
)  # fmt: skip


class GridError(TennisLabError, ValueError):
    """A grid that cannot run: names the grid, the key, the value and the fix."""

    def __init__(self, grid: str, problem: str, fix: str | None = None, key: str | None = None):
        super().__init__(f"grid {grid!r}: {problem}", key=key, fix=fix)
        self.grid, self.problem = grid, problem


@dataclass
class Grid:
    """A loaded grid: sub-grids of name -> values, fixed values, where it came from."""

    name: str
    subgrids: list[dict[str, list[Any]]]
    fixed: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    source: str = ""
    ranges: bool = False  # random-search ranges (families may mix), not a grid

    @property
    def parameters(self) -> list[str]:
        """Every parameter name the grid sets, sorted."""
        names = set(self.fixed)
        for sub in self.subgrids:
            names |= set(sub)
        return sorted(names)

    def values(self, defaults: Mapping[str, Any] | None = None) -> dict[str, list[Any]]:
        """Each varied parameter's distinct values over all sub-grids (numbers sorted).

        With ``defaults`` (the notebook's), a sub-grid that leaves a parameter out
        contributes that parameter's default, as it does when the search runs.
        """
        out: dict[str, list[Any]] = {}
        names = sorted({name for sub in self.subgrids for name in sub})
        for sub in self.subgrids:
            for name in names:
                if name in sub:
                    values = sub[name]
                elif (
                    defaults is not None
                    and name in defaults
                    and name not in self.fixed
                    and acts_in({**self.fixed, **sub}, name, defaults)
                ):
                    values = [defaults[name]]
                else:
                    continue
                seen = out.setdefault(name, [])
                for value in values:
                    if value not in seen:
                        seen.append(value)
        for values in out.values():
            if all(isinstance(v, int | float) for v in values):  # bools too: False < True
                values.sort()
        return dict(sorted(out.items()))


@dataclass
class Expansion:
    """The combinations of a grid, and what was dropped."""

    combinations: list[dict[str, Any]]
    dropped_overlap: int = 0
    duplicates: int = 0

    def __len__(self) -> int:
        return len(self.combinations)


# --------------------------------------------------------------------------- loading


def available_grids() -> list[str]:
    """Names of the predefined grids (files in this package), without ranges files
    (``random``, ``random_families``)."""
    names = [
        p.stem
        for p in GRIDS_DIR.glob("*.yaml")
        if p.stem != RANDOM_RANGES and file_kind(p) == "grid"
    ]
    rank = {name: i for i, name in enumerate(GRID_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def _read(path: Path, name: str) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise GridError(name, f"cannot read {path} ({exc}).") from exc
    if not isinstance(raw, dict):
        raise GridError(name, f"{path} must hold a mapping with a 'grid' key.")
    return raw


def is_path(name_or_path: str | Path) -> bool:
    """Whether ``name_or_path`` names a file (a grid or ranges file) rather than a grid name."""
    text = str(name_or_path)
    return Path(text).suffix in (".yaml", ".yml", ".json") or "/" in text or "\\" in text


def _check_file(path: Path, name: str, what: str = "grid file") -> None:
    """Raise :class:`GridError` unless ``path`` is a file: say what is there instead."""
    if path.is_file():
        return
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
        raise GridError(
            name,
            f"{path} is a folder; expected a {what} (.yaml, .yml or .json).",
            f"give the path of one file in it (e.g. {path / inside[0]})."
            if inside
            else f"give the path of a {what}.",
        )
    raise GridError(name, f"file {path} does not exist.")


def file_kind(path: str | Path) -> str:
    """``"ranges"`` when the file at ``path`` holds random-search ranges, else ``"grid"``.

    Raises
    ------
    GridError
        The file does not exist, is a folder, or cannot be read.
    """
    path = Path(path)
    _check_file(path, path.stem, "grid or ranges file")
    raw = _read(path, path.stem)
    return "ranges" if "ranges" in raw and "grid" not in raw else "grid"


def kind_of(name_or_path: str | Path) -> str:
    """``"ranges"`` or ``"grid"``: what a path, or a built-in file's name, holds.

    An unknown name is a grid's (:func:`load_grid` then says it does not exist).
    """
    if is_path(name_or_path):
        return file_kind(name_or_path)
    builtin = GRIDS_DIR / f"{name_or_path}.yaml"
    return file_kind(builtin) if builtin.is_file() else "grid"


def load_grid(name_or_path: str | Path, defaults: Mapping[str, Any] | None = None) -> Grid:
    """Load a predefined grid by name, or a grid file by path.

    Parameters
    ----------
    name_or_path : str or Path
    defaults : mapping, optional
        The notebook's parameters: with them, a fix for a single value written
        without brackets knows which parameters take a list as one value.

    Raises
    ------
    GridError
        Unknown name (the message lists the available grids), unreadable file, a
        folder, or a malformed grid (empty list, a value that is not a JSON scalar or
        list, ...).
    """
    text = str(name_or_path)
    path = Path(text)
    if is_path(text):
        _check_file(path, text)
        name = path.stem
    else:
        name = text
        path = GRIDS_DIR / f"{name}.yaml"
        if name == RANDOM_RANGES or not path.is_file():
            here = Path(text)
            seen = (
                f" ({text} is a folder here: give the path of a grid file in it.)"
                if here.is_dir()
                else f" (for the file {text} here, write ./{text}.)"
                if here.is_file()
                else ""
            )
            raise GridError(
                name,
                "no such grid." + seen,
                f"use one of {', '.join(available_grids())}, or give the path of a grid file.",
            )
    raw = _read(path, name)
    unknown = sorted(set(raw) - {"description", "fixed", "grid"})
    if unknown or "grid" not in raw:
        raise GridError(
            name,
            f"{path} has keys {sorted(raw)}; a grid file has 'grid' and optionally "
            "'description' and 'fixed'.",
        )
    body = raw["grid"]
    subgrids = body if isinstance(body, list) else [body]
    if not subgrids:
        raise GridError(name, "'grid' is an empty list of sub-grids.")
    fixed = raw.get("fixed") or {}
    if not isinstance(fixed, dict):
        raise GridError(name, f"'fixed' must map names to single values; got {fixed!r}.")
    grid = Grid(
        name=name,
        subgrids=[],
        fixed=dict(fixed),
        description=str(raw.get("description") or "").strip(),
        source=str(path),
    )
    for i, sub in enumerate(subgrids):
        where = f"sub-grid {i + 1}" if len(subgrids) > 1 else "grid"
        if not isinstance(sub, dict) or not sub:
            raise GridError(name, f"{where} must be a non-empty mapping of name -> list of values.")
        for key, values in sub.items():
            if not isinstance(values, list) or not values:
                listed = defaults is not None and isinstance(defaults.get(key), list)
                if isinstance(values, list):
                    example = "[[value]]" if listed else "[value]"
                    fix = f"give {key} at least one value, e.g. {key}: {example}."
                elif isinstance(values, dict):
                    fix = f"give {key} a list of values; ranges are for random search only."
                elif listed:
                    fix = (
                        f"write {key}: [[{json.dumps(values)}]] for a single value: each value "
                        f"of {key} is itself a list, like the notebook's default "
                        f"{json.dumps(defaults[key])}."
                    )
                else:
                    fix = f"write {key}: [{json.dumps(values)}] for a single value."
                raise GridError(
                    name,
                    f"{where}: {key} is {values!r} ({type(values).__name__}); expected a "
                    "non-empty list of values.",
                    fix,
                    key=key,
                )
            for value in values:
                _check_json_value(name, key, value)
        grid.subgrids.append({k: list(v) for k, v in sub.items()})
    for key, value in fixed.items():
        _check_json_value(name, key, value)
    return grid


def _check_json_value(grid: str, key: str, value: Any) -> None:
    scalar = (bool, int, float, str, type(None))
    ok = isinstance(value, scalar) or (
        isinstance(value, list) and all(isinstance(v, scalar) for v in value)
    )
    if not ok:
        raise GridError(
            grid,
            f"{key} has value {value!r} ({type(value).__name__}); values must be JSON "
            "scalars or lists of them.",
            "write the value as a number, string, true/false, null or a flat list of them "
            "(e.g. [128, 64]).",
            key=key,
        )


# --------------------------------------------------------------------------- validation


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    if value is None:
        return "null"
    return type(value).__name__


# Parameters that take a word besides values of their default's type.
WORD_VALUES: dict[str, tuple[str, ...]] = {"cv_folds": ("loo",)}


def _compatible(value: Any, default: Any, key: str | None = None) -> bool:
    if default is None:
        return True  # optional parameter: any type
    if isinstance(value, str) and value in WORD_VALUES.get(key or "", ()):
        return True
    expected = _type_name(default)
    actual = _type_name(value)
    if expected == "number" and isinstance(default, int) and isinstance(value, float):
        return value.is_integer()
    if actual == expected == "list" and default:
        return all(any(_compatible(v, d) for d in default) for v in value)
    return actual == expected or (actual == "null" and expected == "str")


def _is_whole_default(default: Any) -> bool:
    return isinstance(default, int) and not isinstance(default, bool)


def _not_whole(value: Any) -> bool:
    return isinstance(value, float) and not value.is_integer()


def _type_problem(
    where: str, key: str, value: Any, default: Any, values: list[Any]
) -> tuple[str, str]:
    """(problem, fix) of a value whose type does not fit the notebook's default."""
    if _is_whole_default(default) and _not_whole(value):
        return (
            f"{where}: {key} = {value!r} is not a whole number; the notebook's default "
            f"{default!r} is.",
            f"give {key} whole numbers, e.g. {math.floor(value)} or {math.ceil(value)}.",
        )
    if isinstance(default, list) and isinstance(value, list) and default:
        whole = all(_is_whole_default(d) for d in default)
        if whole and any(_not_whole(v) for v in value):
            bad = [v for v in value if _not_whole(v)]
            return (
                f"{where}: {key} = {value!r} holds {', '.join(map(repr, bad))}, not whole "
                f"numbers; the notebook's default {default!r} holds whole numbers.",
                f"give {key} lists of whole numbers, like {json.dumps(default)}.",
            )
    if isinstance(default, list) and not isinstance(value, list) and where == "fixed":
        return (
            f"{where}: {key} = {value!r} is {_type_name(value)}; the notebook's default "
            f"{default!r} is {_type_name(default)}.",
            f"a value of {key} is a list: write {key}: {json.dumps([value])} under fixed.",
        )
    if isinstance(default, list) and not isinstance(value, list):
        scalars = [v for v in values if not isinstance(v, list)]
        one = json.dumps([scalars])
        fix = f"each value of {key} is itself a list (like {json.dumps(default)}): write {key}: "
        if len(scalars) > 1:
            many = json.dumps([[v] for v in scalars])
            fix += f"{one} for the one value {json.dumps(scalars)}, or {many} for {len(scalars)}."
        else:
            fix += f"{one} for that one value."
        return (
            f"{where}: {key} = {value!r} is {_type_name(value)}; the notebook's default "
            f"{default!r} is {_type_name(default)}.",
            fix,
        )
    return (
        f"{where}: {key} = {value!r} is {_type_name(value)}; the notebook's default "
        f"{default!r} is {_type_name(default)}.",
        f"give {key} values like {json.dumps(default)}.",
    )


def validate_grid(
    grid: Grid,
    defaults: Mapping[str, Any],
    runner_params: Mapping[str, str] | None = None,
) -> None:
    """Check every key and value of ``grid`` against the notebook's parameters.

    Parameters
    ----------
    grid : Grid
    defaults : mapping
        Parameter name -> default value of ``notebooks/train.ipynb`` (its
        ``parameters`` cell); a value must have the type of the default.
    runner_params : mapping, optional
        Notebook parameters the runner sets for every run (name -> how the user sets
        it instead, e.g. ``"--data-dir"``); a grid may not set them.

    Raises
    ------
    GridError
        A key that is not a parameter (with the closest names) or that the runner
        sets, a value of the wrong type (a fraction for a whole number, a number for
        a list), or ``dropout_rates`` whose length does not match ``lstm_layers`` in
        a sub-grid where both are set.
    """
    import difflib

    runner_params = runner_params or {}
    for i, sub in enumerate([grid.fixed, *grid.subgrids]):
        where = "fixed" if i == 0 else (f"sub-grid {i}" if len(grid.subgrids) > 1 else "grid")
        for key, values in sub.items():
            if key in runner_params:
                raise GridError(
                    grid.name,
                    f"{where}: {key!r} is set by the search runner for every run; a grid "
                    "cannot set it.",
                    f"remove {key} from the grid ({runner_params[key]}).",
                    key=key,
                )
            if key not in defaults:
                close = difflib.get_close_matches(key, list(defaults), n=3)
                raise GridError(
                    grid.name,
                    f"{where}: {key!r} is not a parameter of notebooks/train.ipynb.",
                    f"did you mean {close}?" if close else "see its parameters cell.",
                    key=key,
                )
            listed = values if i else [values]
            for value in listed:
                if not _compatible(value, defaults[key], key):
                    problem, fix = _type_problem(where, key, value, defaults[key], listed)
                    raise GridError(grid.name, problem, fix, key=key)
    for i, sub in enumerate(grid.subgrids):
        merged = {**{k: [v] for k, v in grid.fixed.items()}, **sub}
        wrong = family_problem(merged, defaults, grid.ranges)
        if wrong:
            where = f"sub-grid {i + 1}" if len(grid.subgrids) > 1 else "grid"
            raise GridError(grid.name, f"{where}: {wrong[1]}", wrong[2], key=wrong[0])
        layers = merged.get("lstm_layers", [defaults.get("lstm_layers")])
        rates = merged.get("dropout_rates", [defaults.get("dropout_rates")])
        for lstm, drop in itertools.product(layers, rates):
            if not (isinstance(lstm, list) and lstm and isinstance(drop, list)):
                continue  # an empty or malformed lstm_layers: the model's check names it
            if len(drop) != len(lstm) + 1:
                where = f"sub-grid {i + 1}" if len(grid.subgrids) > 1 else "grid"
                raise GridError(
                    grid.name,
                    f"{where}: dropout_rates {drop} has {len(drop)} rates but lstm_layers "
                    f"{lstm} has {len(lstm)} layers; every combination needs one rate per "
                    "LSTM layer plus one for the dense layer.",
                    "put layer configurations of different depths in separate sub-grids, "
                    "each with dropout_rates of its own length.",
                    key="dropout_rates",
                )


# --------------------------------------------------------------------------- combinations


def canonical(params: Mapping[str, Any]) -> str:
    """Canonical JSON of a combination: sorted keys, integral floats as ints."""

    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return json.dumps({k: norm(v) for k, v in sorted(params.items())}, separators=(",", ":"))


def config_id(params: Mapping[str, Any]) -> str:
    """Stable 12-hex-digit id of a combination (hash of its canonical parameters)."""
    return hashlib.sha256(canonical(params).encode()).hexdigest()[:12]


def overlap_ok(combo: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    """Whether ``combo`` (with ``defaults`` for what it leaves out) has overlap < window_size."""
    window = combo.get("window_size", defaults.get("window_size"))
    overlap = combo.get("overlap", defaults.get("overlap"))
    if isinstance(window, int | float) and isinstance(overlap, int | float):
        return overlap < window
    return True


def coerce(combo: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``combo`` with integral floats as ints where the notebook's default is a whole number.

    A grid may write ``window_size: [45.0]``; the notebook's checks take whole numbers
    only, so 45.0 goes to the run as 45 (the config id is the same: see :func:`canonical`).
    Lists of whole numbers (``lstm_layers``) likewise.
    """
    out = dict(combo)
    for key, value in combo.items():
        default = defaults.get(key)
        if _is_whole_default(default) and isinstance(value, float) and value.is_integer():
            out[key] = int(value)
        elif (
            isinstance(default, list)
            and default
            and all(_is_whole_default(d) for d in default)
            and isinstance(value, list)
        ):
            out[key] = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
    return out


def expand(grid: Grid, defaults: Mapping[str, Any] | None = None) -> Expansion:
    """All combinations of ``grid``, in a fixed order.

    With ``defaults`` (the notebook's), integral floats of whole-number parameters
    become ints (see :func:`coerce`).

    Raises
    ------
    GridError
        When every combination has overlap >= window_size.
    """
    defaults = defaults or {}
    combos: list[dict[str, Any]] = []
    seen: set[str] = set()
    dropped = duplicates = 0
    for sub in grid.subgrids:
        keys = sorted(sub)
        for values in itertools.product(*(sub[k] for k in keys)):
            combo = coerce({**grid.fixed, **dict(zip(keys, values, strict=True))}, defaults)
            if not overlap_ok(combo, defaults):
                dropped += 1
                continue
            cid = config_id(combo)
            if cid in seen:
                duplicates += 1
                continue
            seen.add(cid)
            combos.append(combo)
    if not combos:
        raise GridError(
            grid.name,
            f"all {dropped} combinations have overlap >= window_size.",
            "give overlaps smaller than the window sizes.",
            key="overlap",
        )
    return Expansion(combos, dropped, duplicates)


# --------------------------------------------------------------------------- random search


@dataclass(frozen=True)
class Range:
    """A sampling range: ``low`` to ``high``, drawn as int, float or log-uniform."""

    low: float
    high: float
    kind: str

    def draw(self, rng: random.Random) -> Any:
        if self.kind == "int":
            return rng.randint(int(self.low), int(self.high))
        if self.kind == "log":
            value = float(f"{math.exp(rng.uniform(math.log(self.low), math.log(self.high))):.3g}")
        else:
            value = float(f"{rng.uniform(self.low, self.high):.4g}")
        return min(max(value, self.low), self.high)  # rounding must not leave the range


def load_ranges(name_or_path: str | Path = RANDOM_RANGES) -> dict[str, list[Any] | Range]:
    """Random-search ranges: a list is a choice; ``[min, max, type]`` is a :class:`Range`."""
    text = str(name_or_path)
    path = Path(text) if is_path(text) else GRIDS_DIR / f"{text}.yaml"
    name = path.stem
    _check_file(path, name, "ranges file")
    raw = _read(path, name)
    body = raw.get("ranges")
    if not isinstance(body, dict) or not body:
        raise GridError(name, f"{path} needs a non-empty 'ranges' mapping.")
    out: dict[str, list[Any] | Range] = {}
    for key, spec in body.items():
        if isinstance(spec, dict):
            spec = [spec.get("min"), spec.get("max"), spec.get("type")]
        if (
            isinstance(spec, list)
            and len(spec) == 3
            and isinstance(spec[2], str)
            and spec[2] in RANGE_TYPES
        ):
            low, high, kind = spec
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
                raise GridError(
                    name, f"{key}: range bounds {low!r}, {high!r} must be numbers.", key=key
                )
            if kind == "int" and not all(float(v).is_integer() for v in (low, high)):
                raise GridError(
                    name,
                    f"{key}: int range bounds {low!r}, {high!r} must be whole numbers.",
                    f"write {key}: [{math.ceil(low)}, {math.floor(high)}, int].",
                    key=key,
                )
            if not low < high or (kind == "log" and low <= 0):
                raise GridError(
                    name,
                    f"{key}: range [{low}, {high}, {kind}] needs min < max"
                    + (" and min > 0 for log." if kind == "log" else "."),
                    key=key,
                )
            out[key] = Range(float(low), float(high), kind)
        elif isinstance(spec, list) and spec:
            for value in spec:
                _check_json_value(name, key, value)
            out[key] = list(spec)
        else:
            raise GridError(
                name,
                f"{key} is {spec!r}; expected a list of choices or [min, max, int|float|log].",
                key=key,
            )
    return out


def ranges_as_grid(ranges: Mapping[str, list[Any] | Range], name: str = RANDOM_RANGES) -> Grid:
    """The choices of ``ranges`` as a one-sub-grid :class:`Grid` (for validation and display)."""
    sub = {k: (v if isinstance(v, list) else [v.low, v.high]) for k, v in ranges.items()}
    return Grid(name=name, subgrids=[sub], ranges=True)


def _whole_bounds(name: str, key: str, spec: Range) -> tuple[int, int]:
    low, high = math.ceil(spec.low), math.floor(spec.high)
    if low > high:
        raise GridError(
            name,
            f"{key}: range [{spec.low:g}, {spec.high:g}, {spec.kind}] holds no whole number, "
            f"but {key} takes whole numbers.",
            f"widen the range to include a whole number, e.g. "
            f"[{max(math.floor(spec.low), 1 if spec.kind == 'log' else 0)}, {low}, {spec.kind}].",
            key=key,
        )
    return low, high


def sample(
    ranges: Mapping[str, list[Any] | Range],
    n: int,
    seed: int = 42,
    defaults: Mapping[str, Any] | None = None,
    max_tries: int = 10_000,
    name: str = RANDOM_RANGES,
) -> list[dict[str, Any]]:
    """Draw ``n`` distinct combinations from ``ranges`` (seeded).

    Combinations with overlap >= window_size are redrawn. With ``defaults`` (the
    notebook's), a ``float`` or ``log`` range of a whole-number parameter (e.g.
    ``dense_units: [32, 256, log]``) draws whole numbers: the draw is rounded to the
    nearest one within the range. Raises :class:`GridError` when the ranges cannot
    give ``n`` distinct combinations.
    """
    if n < 1:
        raise GridError(name, f"n_samples must be at least 1; got {n}.")
    defaults = defaults or {}
    whole = {
        k: _whole_bounds(name, k, spec)
        for k, spec in ranges.items()
        if isinstance(spec, Range) and spec.kind != "int" and _is_whole_default(defaults.get(k))
    }
    rng = random.Random(seed)
    keys = sorted(ranges)
    combos: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(max_tries):
        if len(combos) == n:
            break
        combo = {
            k: (ranges[k].draw(rng) if isinstance(ranges[k], Range) else rng.choice(ranges[k]))
            for k in keys
        }
        for k, (low, high) in whole.items():
            combo[k] = min(max(int(round(combo[k])), low), high)
        combo = family_defaults(coerce(combo, defaults), defaults, keys)
        if not overlap_ok(combo, defaults):
            continue
        cid = config_id(combo)
        if cid not in seen:
            seen.add(cid)
            combos.append(combo)
    if len(combos) < n:
        raise GridError(
            name,
            f"only {len(combos)} distinct combinations could be drawn; {n} were asked for.",
            "ask for fewer samples or widen the ranges.",
        )
    return combos


def sample_grid(
    grid: Grid, n: int, seed: int = 42, defaults: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Draw ``n`` distinct combinations of ``grid`` (seeded): random search over a grid.

    Every combination of the grid (see :func:`expand`) is equally likely; sub-grids
    are respected, so a draw never mixes values of two sub-grids.

    Raises
    ------
    GridError
        ``n`` < 1, or more than the grid has.
    """
    if n < 1:
        raise GridError(grid.name, f"n_samples must be at least 1; got {n}.")
    combos = expand(grid, defaults).combinations
    if n > len(combos):
        raise GridError(
            grid.name,
            f"--random asks for {n} samples, but the grid has only {len(combos)} combinations.",
            f"ask for at most {len(combos)} (--n-samples), or run the whole grid without --random.",
        )
    return [combos[i] for i in random.Random(seed).sample(range(len(combos)), n)]


# --------------------------------------------------------------------------- display


def format_grid(grid: Grid, expansion: Expansion, defaults: Mapping[str, Any] | None = None) -> str:
    """The ``--show-grid`` preview: total, and each parameter's number of values and values."""
    bar = "=" * 70
    lines = [bar, f"GRID CONFIGURATION: {grid.name.upper()}", bar]
    if grid.description:
        lines.append(grid.description)
    lines.append(f"Total combinations: {len(expansion)}")
    if len(grid.subgrids) > 1:
        lines.append(f"(union of {len(grid.subgrids)} sub-grids)")
    if expansion.dropped_overlap:
        lines.append(f"Dropped: {expansion.dropped_overlap} with overlap >= window_size")
    lines += ["", "Parameters:"]
    for name, values in grid.values(defaults).items():
        lines.append(f"  {name}: {len(values)} value{'s' if len(values) != 1 else ''}")
        lines.append(f"    → {values!r}")
    if grid.fixed:
        lines.append("Fixed:")
        for name, value in sorted(grid.fixed.items()):
            lines.append(f"  {name}: {value!r}")
    lines.append(bar)
    return "\n".join(lines)


def format_grid_list(counts: Mapping[str, int]) -> str:
    """The listing of every grid with its number of combinations."""
    lines = ["Available grid configurations:", ""]
    lines += [f"  {name:<15} - {n:4d} combinations" for name, n in counts.items()]
    return "\n".join(lines)


def grid_counts() -> dict[str, int]:
    """Number of combinations of every predefined grid."""
    return {name: len(expand(load_grid(name))) for name in available_grids()}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tennis_lab.grids``: list the grids and their sizes."""
    print(format_grid_list(grid_counts()))
    return 0
