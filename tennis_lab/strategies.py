"""What to try next: grid, random, successive halving, Hyperband and TPE strategies.

A strategy decides which trials run; the runner (:mod:`tennis_lab.search`) runs each
as a papermill run of ``notebooks/train.ipynb`` and reports back. Nothing here
executes or records a run. The protocol is Optuna's ask-and-tell::

    strategy = HalvingStrategy(combinations, min_epochs=1, max_epochs=9)
    while True:
        for spec in strategy.ask():             # what can run now (empty: wait)
            submit(spec)
        if strategy.finished:                   # checked after ask: it may find no more
            break
        spec, score, status = next_finished()   # one finished run (one is running)
        strategy.tell(spec, score, status)      # COMPLETED or FAILED (or KILLED)
        save(strategy.state())                  # JSON, for a resume after kill -9

TrialSpec
    One run: ``trial`` (1-based number within the search, the same at every rung and
    after a resume), ``params`` (the combination; never ``seed`` or ``epochs``, which
    the runner owns), ``rung`` (0 for non-adaptive strategies), ``epochs`` (the epoch
    to train up to; None: the notebook's or ``--epochs``), ``initial_epoch`` (> 0:
    continue from the trial's checkpoint of the previous rung, so the run trains
    ``epochs - initial_epoch`` epochs, as Keras' ``fit(epochs, initial_epoch)``) and
    ``seed`` (None: the runner's; set for the repeats of finalists). A run is
    identified by ``spec.key``, ``(trial, rung)``.

ask and tell
    ``ask()`` returns the specs that can run now and were not returned before (empty
    while the strategy waits for results). ``tell(spec, score, status)`` reports one:
    ``score`` is the selection metric (``val_stroke_macro_f1``), None for a failed
    run; ``status`` is COMPLETED or FAILED (:mod:`tennis_lab.results`); a COMPLETED
    run without a finite score counts as FAILED. KILLED (a lost worker) hands the
    spec back: the next ``ask()`` returns it again. ``running`` lists the specs asked
    and not told, ``outcomes`` every told result in order, ``pruned()`` the trials an
    adaptive strategy stopped (status PRUNED), each at the rung where it stopped.
    ``finished`` is True when nothing runs and nothing more will be asked. When
    ``ask()`` returns nothing and nothing is running, ``finished`` is True.

State and resume
    ``state()`` is JSON: the strategy's arguments and the log of its non-empty asks
    and its tells. :meth:`Strategy.from_state` builds a fresh strategy and replays
    the log. Every strategy is deterministic given the same asks and tells in the
    same order (TPE through its seed), so the replay reproduces the same asks; a
    mismatch (the combinations or settings changed) raises ValueError. The specs
    asked and not told when the state was saved are ``running`` afterwards: the
    runner tells those whose results it has (its CSV may be one result ahead of the
    saved state) and runs the others again. A TPE search with ``storage`` resumes
    from its Optuna study instead (:class:`TPEStrategy`).

Rules
    Ties in score go to the lower trial number. A failed trial never continues.
    Successive halving keeps ``ceil(n / eta)`` of a rung of ``n`` (Li et al. keep
    ``floor``): a rung of 2 keeps 1 with eta 3 rather than none.

Finalists
    :func:`finalists` picks a search's top-k configurations and :func:`repeat_specs`
    re-runs them with other seeds; :func:`tennis_lab.evaluation.mean_interval` and
    :func:`tennis_lab.evaluation.tied_with_best` give the verdict.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from tennis_lab import grids
from tennis_lab.results import STATUS_COMPLETED, STATUS_FAILED, STATUS_KILLED, STATUS_PRUNED

TELL_STATUSES = (STATUS_COMPLETED, STATUS_FAILED, STATUS_KILLED)
# Keys a budgeting strategy sets itself; a combination may not set them.
BUDGET_KEYS = ("epochs", "initial_epoch")


@dataclass(frozen=True)
class TrialSpec:
    """One run for the runner: which trial, its parameters, its rung and epoch budget.

    Attributes
    ----------
    trial : int
        The trial's number within the search (1-based, stable across rungs).
    params : dict
        The combination's parameters (JSON-ready; without ``seed`` and ``epochs``).
    rung : int
        0 for non-adaptive strategies.
    epochs : int or None
        The epoch to train up to; None: the notebook's (or ``--epochs``).
    initial_epoch : int
        > 0: continue from the trial's checkpoint of the previous rung.
    seed : int or None
        None: the runner's seed; set for the repeats of finalists.
    """

    trial: int
    params: dict[str, Any]
    rung: int = 0
    epochs: int | None = None
    initial_epoch: int = 0
    seed: int | None = None

    @property
    def key(self) -> tuple[int, int]:
        """``(trial, rung)``: what identifies a run."""
        return (self.trial, self.rung)

    @property
    def config_id(self) -> str:
        """The stable id of ``params`` (:func:`tennis_lab.grids.config_id`)."""
        return grids.config_id(self.params)

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data (:meth:`from_dict` reads it back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialSpec:
        """A spec from :meth:`to_dict`'s data."""
        return cls(**data)


class Outcome(NamedTuple):
    """A told result: the spec, its score (None: failed) and its status."""

    spec: TrialSpec
    score: float | None
    status: str


# --------------------------------------------------------------------------- checks


def _whole(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
    return int(value)


def _check_combinations(
    combinations: Sequence[Mapping[str, Any]], strategy: str, budgeted: bool = False
) -> list[dict[str, Any]]:
    if isinstance(combinations, Mapping) or not isinstance(combinations, Sequence):
        raise ValueError(
            f"combinations must be a list of parameter mappings; got {type(combinations).__name__}."
            " Pass grids.expand(grid).combinations or grids.sample(...)."
        )
    if not combinations:
        raise ValueError(f"combinations is empty; {strategy} needs at least one to try.")
    out, seen = [], {}
    for i, combo in enumerate(combinations):
        if not isinstance(combo, Mapping):
            raise ValueError(f"combinations[{i}] is {combo!r}; each must be a parameter mapping.")
        if budgeted and (bad := [k for k in BUDGET_KEYS if k in combo]):
            raise ValueError(
                f"combinations[{i}] sets {bad[0]!r}, which {strategy} budgets itself (rungs of "
                f"epochs); remove {bad[0]} from the grid and set min_epochs / max_epochs."
            )
        try:
            cid = grids.config_id(combo)
        except TypeError as exc:
            raise ValueError(
                f"combinations[{i}] = {combo!r} is not JSON-ready ({exc}); use JSON scalars "
                "and lists of them."
            ) from exc
        if cid in seen:
            raise ValueError(
                f"combinations[{i}] repeats combinations[{seen[cid]}] ({grids.canonical(combo)});"
                " give each combination once (grids.expand drops repeats)."
            )
        seen[cid] = i
        out.append(json.loads(json.dumps(dict(combo))))
    return out


def _check_budget(min_epochs: Any, max_epochs: Any, eta: Any) -> tuple[int, int, int]:
    min_epochs = _whole(min_epochs, "min_epochs", 1)
    max_epochs = _whole(max_epochs, "max_epochs", 1)
    if max_epochs < min_epochs:
        raise ValueError(
            f"max_epochs={max_epochs} is below min_epochs={min_epochs}; give max_epochs >= "
            "min_epochs."
        )
    return min_epochs, max_epochs, _whole(eta, "eta", 2)


def _score(score: Any, status: str) -> float | None:
    """The score to record: None for a failed run or a missing / non-finite score."""
    if status != STATUS_COMPLETED or score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, int | float):
        try:
            score = float(score)  # numpy scalars
        except (TypeError, ValueError):
            raise ValueError(
                f"score must be a number (the selection metric) or None; got {score!r}."
            ) from None
    return float(score) if math.isfinite(score) else None


# --------------------------------------------------------------------------- the protocol


class Strategy:
    """What to try next, by ask and tell (see the module's docstring).

    Subclasses give ``name`` and implement ``_next`` (new specs that can run now),
    ``_record`` (a told result), ``_done`` (nothing more to propose) and ``_config``
    (the constructor's arguments as JSON).
    """

    name: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[Strategy]]] = {}
    _replays: bool = True  # from_state replays the log (False: TPE with storage)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            Strategy.registry[cls.name] = cls

    def __init__(self) -> None:
        self._running: dict[tuple[int, int], TrialSpec] = {}
        self._retry: list[TrialSpec] = []
        self._log: list[list[Any]] = []
        self.outcomes: list[Outcome] = []

    # the subclass's part
    def _next(self) -> list[TrialSpec]:
        raise NotImplementedError

    def _record(self, spec: TrialSpec, score: float | None) -> None:
        raise NotImplementedError

    def _done(self) -> bool:
        raise NotImplementedError

    def _config(self) -> dict[str, Any]:
        raise NotImplementedError

    # the protocol
    def ask(self) -> list[TrialSpec]:
        """The specs that can run now and were not asked before (killed ones again first).

        Returns
        -------
        list of TrialSpec
            Possibly empty: the strategy waits for results of running trials.
        """
        specs, self._retry = self._retry, []
        for spec in specs:
            self._running[spec.key] = spec
        new = self._next()
        for spec in new:
            self._running[spec.key] = spec
        specs += new
        if specs:
            self._log.append(["ask", [[s.trial, s.rung, s.config_id] for s in specs]])
        return specs

    def tell(self, spec: TrialSpec, score: float | None, status: str) -> None:
        """Report the result of an asked spec.

        Parameters
        ----------
        spec : TrialSpec
            As asked (identified by its trial and rung).
        score : float or None
            The selection metric; None (or NaN) for a failed run.
        status : str
            COMPLETED, FAILED, or KILLED (the run is handed back and asked again).

        Raises
        ------
        ValueError
            Another status, a score that is not a number, or a spec that is not
            running (not asked, or told already).
        """
        if status not in TELL_STATUSES:
            raise ValueError(
                f"status must be one of {list(TELL_STATUSES)}; got {status!r}. (A strategy "
                "decides PRUNED itself: see pruned().)"
            )
        score = _score(score, status)
        key = getattr(spec, "key", None)
        if key not in self._running:
            raise ValueError(
                f"spec {spec!r} is not running here (running: (trial, rung) "
                f"{sorted(self._running)}); tell each spec that ask() returned, once."
            )
        spec = self._running.pop(key)
        if status != STATUS_KILLED and score is None:
            status = STATUS_FAILED
        self._log.append(["tell", spec.trial, spec.rung, score, status])
        if status == STATUS_KILLED:
            self._retry.append(spec)
            return
        self.outcomes.append(Outcome(spec, score, status))
        self._record(spec, score)

    @property
    def running(self) -> list[TrialSpec]:
        """Specs asked and not yet told, in the order asked."""
        return list(self._running.values())

    @property
    def finished(self) -> bool:
        """True when nothing runs and nothing more will be asked."""
        return not self._running and not self._retry and self._done()

    def pruned(self) -> list[TrialSpec]:
        """Trials stopped early, each at the rung where it stopped (status PRUNED)."""
        return []

    def state(self) -> dict[str, Any]:
        """JSON-ready state: ``strategy`` (its name), ``config`` (its arguments) and ``log``."""
        return {
            "strategy": self.name,
            "config": self._config(),
            "log": json.loads(json.dumps(self._log)),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Strategy:
        """The strategy :meth:`state` describes, its log replayed (see the module docstring).

        Raises
        ------
        ValueError
            An unknown strategy name, missing keys, or a log that does not replay.
        """
        missing = [k for k in ("strategy", "config", "log") if k not in state]
        if missing:
            raise ValueError(
                f"state lacks {missing}; pass what Strategy.state() returned (keys strategy, "
                "config, log)."
            )
        kind = cls.registry.get(state["strategy"])
        if kind is None:
            raise ValueError(
                f"state['strategy'] = {state['strategy']!r} is not one of {sorted(cls.registry)}."
            )
        try:
            strategy = kind(**state["config"])
        except TypeError as exc:
            raise ValueError(
                f"state['config'] does not fit {kind.__name__} ({exc}); pass what "
                "Strategy.state() returned."
            ) from exc
        if strategy._replays:
            strategy._replay(state["log"])
        return strategy

    def _replay(self, log: Iterable[Sequence[Any]]) -> None:
        for i, event in enumerate(log):
            if event[0] == "ask":
                got = [[s.trial, s.rung, s.config_id] for s in self.ask()]
                if got != [list(e) for e in event[1]]:
                    raise ValueError(
                        f"state log entry {i}: ask() returned (trial, rung, config id) {got}, "
                        f"the saved state {event[1]}: the combinations or settings changed "
                        "since it was saved. Resume with the original ones, or start a new search."
                    )
            elif event[0] == "tell":
                _, trial, rung, score, status = event
                spec = self._running.get((trial, rung))
                if spec is None:
                    raise ValueError(
                        f"state log entry {i} tells trial {trial} rung {rung}, which the replay "
                        "did not ask; the state is damaged. Start a new search."
                    )
                self.tell(spec, score, status)
            else:
                raise ValueError(f"state log entry {i} is {event!r}; expected ask or tell.")


# --------------------------------------------------------------------------- grid and random


class GridStrategy(Strategy):
    """Every combination once, all in one batch, numbered in the order given.

    Parameters
    ----------
    combinations : sequence of mapping
        Distinct combinations (e.g. ``grids.expand(grid).combinations``).
    """

    name = "grid"

    def __init__(self, combinations: Sequence[Mapping[str, Any]]) -> None:
        super().__init__()
        self.combinations = _check_combinations(combinations, type(self).__name__)
        self._asked = False

    def _next(self) -> list[TrialSpec]:
        if self._asked:
            return []
        self._asked = True
        return [TrialSpec(i + 1, dict(c)) for i, c in enumerate(self.combinations)]

    def _record(self, spec: TrialSpec, score: float | None) -> None:
        pass

    def _done(self) -> bool:
        return self._asked

    def _config(self) -> dict[str, Any]:
        return {"combinations": self.combinations}


class RandomStrategy(GridStrategy):
    """Random search: sampled combinations, each once (:meth:`sampled` draws them)."""

    name = "random"

    @classmethod
    def sampled(
        cls,
        ranges: Mapping[str, Any],
        n: int,
        seed: int = 42,
        defaults: Mapping[str, Any] | None = None,
    ) -> RandomStrategy:
        """``n`` distinct combinations drawn from ``ranges`` by :func:`tennis_lab.grids.sample`."""
        return cls(grids.sample(ranges, n, seed=seed, defaults=defaults))


class RepeatStrategy(Strategy):
    """Given specs (e.g. :func:`repeat_specs`' re-runs of finalists), all in one batch.

    Parameters
    ----------
    specs : sequence of TrialSpec or its ``to_dict()`` data
        Distinct ``(trial, rung)`` keys.
    """

    name = "repeats"

    def __init__(self, specs: Sequence[TrialSpec | Mapping[str, Any]]) -> None:
        super().__init__()
        self.specs = [s if isinstance(s, TrialSpec) else TrialSpec.from_dict(s) for s in specs]
        keys = [s.key for s in self.specs]
        if not self.specs or len(set(keys)) != len(keys):
            raise ValueError(
                f"specs must be a non-empty list with distinct (trial, rung); got keys {keys}."
            )
        self._asked = False

    def _next(self) -> list[TrialSpec]:
        if self._asked:
            return []
        self._asked = True
        return list(self.specs)

    def _record(self, spec: TrialSpec, score: float | None) -> None:
        pass

    def _done(self) -> bool:
        return self._asked

    def _config(self) -> dict[str, Any]:
        return {"specs": [s.to_dict() for s in self.specs]}


# --------------------------------------------------------------------------- successive halving


class HalvingStrategy(Strategy):
    """Successive halving over training epochs.

    Rung ``k`` trains to ``min_epochs * eta**k`` epochs, capped: the first budget at
    or above ``max_epochs`` becomes ``max_epochs`` and is the last rung. A rung runs
    in parallel (asked at once); when every trial of a rung of ``n`` is told, the top
    ``ceil(n / eta)`` by score (ties: lower trial number) continue from their
    checkpoints (``initial_epoch`` = the rung's epochs), the other scored ones are
    PRUNED, failed ones stop. A single survivor goes straight to ``max_epochs``
    (intermediate rungs would prune nothing). The last rung's trials are COMPLETED.

    Parameters
    ----------
    combinations : sequence of mapping
        Distinct combinations, without ``epochs``.
    min_epochs, max_epochs : int
        The first rung's and the last rung's epochs.
    eta : int
        >= 2: the factor between rungs' epochs, and the share (1/eta) that continues.
    first_trial : int
        The number of the first combination's trial (the others follow).
    """

    name = "halving"

    def __init__(
        self,
        combinations: Sequence[Mapping[str, Any]],
        min_epochs: int,
        max_epochs: int,
        eta: int = 3,
        first_trial: int = 1,
    ) -> None:
        super().__init__()
        self.combinations = _check_combinations(combinations, type(self).__name__, budgeted=True)
        self.min_epochs, self.max_epochs, self.eta = _check_budget(min_epochs, max_epochs, eta)
        self.first_trial = _whole(first_trial, "first_trial", 1)
        self.rung = 0
        epochs = self._budget(0, len(self.combinations))
        self._rung_specs = [
            TrialSpec(self.first_trial + i, dict(c), rung=0, epochs=epochs)
            for i, c in enumerate(self.combinations)
        ]
        self._asked = False
        self._scores: dict[int, float | None] = {}
        self._pruned: list[TrialSpec] = []

    def _budget(self, rung: int, n: int) -> int:
        epochs = self.min_epochs * self.eta**rung
        return self.max_epochs if n == 1 or epochs >= self.max_epochs else epochs

    def plan(self) -> list[tuple[int, int]]:
        """``(trials, epochs)`` of each rung when no trial fails."""
        out, n, rung = [], len(self.combinations), 0
        while True:
            out.append((n, self._budget(rung, n)))
            if out[-1][1] >= self.max_epochs:
                return out
            n, rung = math.ceil(n / self.eta), rung + 1

    def _next(self) -> list[TrialSpec]:
        if self._asked or not self._rung_specs:
            return []
        self._asked = True
        return list(self._rung_specs)

    def _record(self, spec: TrialSpec, score: float | None) -> None:
        self._scores[spec.trial] = score
        if len(self._scores) < len(self._rung_specs):
            return
        specs, scores = self._rung_specs, self._scores
        ranked = sorted(
            (s for s in specs if scores[s.trial] is not None),
            key=lambda s: (-scores[s.trial], s.trial),
        )
        epochs = specs[0].epochs
        keep = [] if epochs >= self.max_epochs else ranked[: math.ceil(len(specs) / self.eta)]
        if keep:
            self._pruned += sorted(ranked[len(keep) :], key=lambda s: s.trial)
            self.rung += 1
            budget = self._budget(self.rung, len(keep))
            keep = sorted(keep, key=lambda s: s.trial)
            keep = [replace(s, rung=self.rung, epochs=budget, initial_epoch=epochs) for s in keep]
        self._rung_specs, self._scores, self._asked = keep, {}, False

    def _done(self) -> bool:
        return not self._rung_specs

    def pruned(self) -> list[TrialSpec]:
        return list(self._pruned)

    def _config(self) -> dict[str, Any]:
        return {
            "combinations": self.combinations,
            "min_epochs": self.min_epochs,
            "max_epochs": self.max_epochs,
            "eta": self.eta,
            "first_trial": self.first_trial,
        }


# --------------------------------------------------------------------------- hyperband


def hyperband_brackets(
    min_epochs: int, max_epochs: int, eta: int = 3
) -> list[tuple[int, int, int]]:
    """Hyperband's brackets (Li et al.): ``(s, configurations, first rung's epochs)``.

    ``s_max`` is the largest ``s`` with ``min_epochs * eta**s <= max_epochs``; bracket
    ``s`` (from ``s_max`` down to 0) starts ``ceil((s_max + 1) / (s + 1) * eta**s)``
    configurations at ``max_epochs // eta**s`` epochs (never below ``min_epochs``).
    """
    min_epochs, max_epochs, eta = _check_budget(min_epochs, max_epochs, eta)
    s_max = 0
    while min_epochs * eta ** (s_max + 1) <= max_epochs:
        s_max += 1
    return [
        (s, -(-(s_max + 1) * eta**s // (s + 1)), max_epochs // eta**s) for s in range(s_max, -1, -1)
    ]


class HyperbandStrategy(Strategy):
    """Hyperband: brackets of successive halving, from most to least exploratory.

    The combinations are dealt to the brackets of :func:`hyperband_brackets` in
    order: the first ``n`` of bracket ``s_max``, the next ones to bracket
    ``s_max - 1``, and so on. With fewer combinations than the brackets want, the
    last bracket served gets what is left and later ones none (they are left out);
    with more, the leftovers start another round of brackets. Each bracket is a
    :class:`HalvingStrategy` from its first rung's epochs to ``max_epochs``; all
    brackets run side by side. Trials are numbered in the order of the combinations,
    uniquely across brackets.

    Parameters
    ----------
    combinations : sequence of mapping
        Distinct combinations, without ``epochs``.
    min_epochs, max_epochs : int
        The most exploratory bracket's first rung's epochs, and every last rung's.
    eta : int
        >= 2, as :class:`HalvingStrategy`.
    """

    name = "hyperband"

    def __init__(
        self,
        combinations: Sequence[Mapping[str, Any]],
        min_epochs: int,
        max_epochs: int,
        eta: int = 3,
    ) -> None:
        super().__init__()
        self.combinations = _check_combinations(combinations, type(self).__name__, budgeted=True)
        self.min_epochs, self.max_epochs, self.eta = _check_budget(min_epochs, max_epochs, eta)
        plan = hyperband_brackets(self.min_epochs, self.max_epochs, self.eta)
        self.brackets: list[HalvingStrategy] = []
        self.bracket_s: list[int] = []  # each bracket's s
        start = 0
        while start < len(self.combinations):
            for s, n, epochs in plan:
                chunk = self.combinations[start : start + n]
                if not chunk:
                    break
                bracket = HalvingStrategy(chunk, epochs, self.max_epochs, self.eta, start + 1)
                self.brackets.append(bracket)
                self.bracket_s.append(s)
                start += len(chunk)

    def bracket_of(self, trial: int) -> int:
        """The index (into ``brackets``) of the bracket that runs ``trial``."""
        for i, bracket in enumerate(self.brackets):
            if bracket.first_trial <= trial < bracket.first_trial + len(bracket.combinations):
                return i
        raise ValueError(
            f"trial {trial} is not a trial of this search (1..{len(self.combinations)})."
        )

    def _next(self) -> list[TrialSpec]:
        return [spec for bracket in self.brackets for spec in bracket.ask()]

    def _record(self, spec: TrialSpec, score: float | None) -> None:
        status = STATUS_FAILED if score is None else STATUS_COMPLETED
        self.brackets[self.bracket_of(spec.trial)].tell(spec, score, status)

    def _done(self) -> bool:
        return all(bracket.finished for bracket in self.brackets)

    def pruned(self) -> list[TrialSpec]:
        return sorted((s for b in self.brackets for s in b.pruned()), key=lambda s: s.trial)

    def _config(self) -> dict[str, Any]:
        return {
            "combinations": self.combinations,
            "min_epochs": self.min_epochs,
            "max_epochs": self.max_epochs,
            "eta": self.eta,
        }


# --------------------------------------------------------------------------- TPE


TRIAL_ATTR = "tennis_lab_trial"  # an Optuna trial's user attribute: our trial number
ROLE_ATTR = "tennis_lab_role"  # "duplicate" or "invalid": Optuna trials never run
SPACE_ATTR = "tennis_lab_space"  # the study's user attribute: its search space
PATIENCE = 10  # proposals in a row that repeat a trial before random draws are used
ENUMERATE_UP_TO = 10_000  # a finite space this small is listed: its end is known


def _ranges_json(ranges: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Ranges as JSON: a :class:`grids.Range` as ``[low, high, kind]``, choices as given."""
    out: dict[str, list[Any]] = {}
    for key, spec in ranges.items():
        if isinstance(spec, grids.Range):
            out[key] = [spec.low, spec.high, spec.kind]
        elif isinstance(spec, list | tuple) and spec:
            out[key] = json.loads(json.dumps(list(spec)))
        else:
            raise ValueError(
                f"ranges[{key!r}] is {spec!r}; expected a non-empty list of choices or a range "
                "[min, max, int|float|log] (see grids.load_ranges)."
            )
    return out


def _as_range(key: str, spec: list[Any]) -> grids.Range | list[Any]:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in spec[:2])
    if len(spec) == 3 and spec[2] in grids.RANGE_TYPES and numbers:
        low, high, kind = spec
        if not low < high or (kind == "log" and low <= 0):
            raise ValueError(
                f"ranges[{key!r}] = {spec!r} needs min < max"
                + (" and min > 0 for log." if kind == "log" else ".")
            )
        return grids.Range(float(low), float(high), kind)
    return list(spec)


def _whole_default(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sqlite_url(storage: str | Path) -> str:
    text = str(storage)
    if text.startswith("sqlite:"):
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class TPEStrategy(Strategy):
    """Tree-structured Parzen estimator search through Optuna's ask-and-tell.

    Each proposal is ``study.ask()`` over the ranges; its result is told with
    ``study.tell`` (a failed run as ``TrialState.FAIL``). Encoding: an ``int`` range,
    and a ``float`` or ``log`` range of a whole-number parameter (by ``defaults``),
    is an integer distribution (ints); ``float`` and ``log`` ranges are float ones;
    a list of choices is categorical, over each choice's JSON text when a choice is
    a list (``lstm_layers``), decoded back. Optuna trials that are not run are marked
    with the user attribute ``tennis_lab_role``: a proposal with overlap >=
    window_size is told FAIL (``invalid``); one that repeats a told combination is
    told that combination's value (or FAIL), one that repeats a running combination
    FAIL (``duplicate``). Then it asks again. After :data:`PATIENCE` such proposals
    in a row, the next ones are seeded random draws: of the combinations not yet
    tried when the space is finite and small (at most :data:`ENUMERATE_UP_TO`),
    else by Optuna's ``RandomSampler``. The space is ``exhausted`` when every valid
    combination of a small finite space is tried, or after ``max_tries`` proposals
    in a row without a new one; the search then finishes with fewer trials.

    Parameters
    ----------
    ranges : mapping
        ``grids.load_ranges`` output (or its JSON form: ``[min, max, kind]`` or a list
        of choices per name).
    n_trials : int
        Trials to run in all (a resumed study counts those it holds).
    seed : int
        The sampler's seed (a resumed study's sampler gets ``seed`` plus its number of
        Optuna trials, so it does not propose the same startup trials again).
    defaults : mapping, optional
        The notebook's parameters: whole-number parameters, and ``window_size`` /
        ``overlap`` when the ranges leave them out.
    storage : str or path, optional
        An SQLite file (or ``sqlite:///`` URL) for the study; only the search process
        writes it. If it holds the study already, the search resumes it: its
        finished trials count, its running ones are ``running`` (to run again or
        tell). None: in memory, resumed by :meth:`Strategy.from_state`.
    workers : int
        At most this many trials in flight: ``ask()`` returns at most ``workers -
        len(running)``.
    n_startup_trials : int
        Random trials before TPE models the results (Optuna's default 10).
    max_tries : int
        Proposals in a row that may be duplicates or invalid.
    study_name : str
        The study's name in ``storage``.
    """

    name = "tpe"

    def __init__(
        self,
        ranges: Mapping[str, Any],
        n_trials: int,
        seed: int = 42,
        defaults: Mapping[str, Any] | None = None,
        storage: str | Path | None = None,
        workers: int = 1,
        n_startup_trials: int = 10,
        max_tries: int = 100,
        study_name: str = "tennis_lab_tpe",
    ) -> None:
        import optuna

        super().__init__()
        if not isinstance(ranges, Mapping) or not ranges:
            raise ValueError(
                f"ranges must be a non-empty mapping of name -> choices or range; got {ranges!r}."
                " Load one with grids.load_ranges."
            )
        self.ranges = {k: _as_range(k, v) for k, v in _ranges_json(ranges).items()}
        self.n_trials = _whole(n_trials, "n_trials", 1)
        self.seed = _whole(seed, "seed", 0)
        self.defaults = json.loads(json.dumps(dict(defaults or {})))
        self.storage = None if storage is None else str(storage)
        self.workers = _whole(workers, "workers", 1)
        self.n_startup_trials = _whole(n_startup_trials, "n_startup_trials", 0)
        self.max_tries = _whole(max_tries, "max_tries", 1)
        self.study_name = study_name
        self._replays = storage is None
        self._distributions, self._encoded = self._make_distributions()
        self.exhausted = False
        self._optuna: dict[int, int] = {}  # our trial number -> Optuna's
        self._known: dict[str, float | None] = {}  # config id -> score of told trials
        self._pending: set[str] = set()  # config ids asked and not told
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(
            study_name=study_name,
            storage=None if storage is None else optuna.storages.RDBStorage(_sqlite_url(storage)),
            direction="maximize",
            load_if_exists=True,
        )
        seed = self.seed + len(self.study.trials)
        self._tpe = optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup_trials)
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._rng = random.Random(seed)
        self.study.sampler = self._tpe
        self._finite = self._enumerate()
        self._load()

    def _make_distributions(self) -> tuple[dict[str, Any], set[str]]:
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        out, encoded = {}, set()
        for key, spec in sorted(self.ranges.items()):
            if isinstance(spec, list):
                if any(isinstance(c, list | dict) for c in spec):
                    encoded.add(key)
                    spec = [json.dumps(c) for c in spec]
                out[key] = CategoricalDistribution(spec)
            elif spec.kind == "int" or _whole_default(self.defaults.get(key)):
                low, high = math.ceil(spec.low), math.floor(spec.high)
                if low > high:
                    raise ValueError(
                        f"ranges[{key!r}] = [{spec.low:g}, {spec.high:g}, {spec.kind}] holds no "
                        f"whole number, but {key} takes whole numbers; widen the range."
                    )
                out[key] = IntDistribution(low, high, log=spec.kind == "log")
            else:
                out[key] = FloatDistribution(spec.low, spec.high, log=spec.kind == "log")
        return out, encoded

    def _decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        combo = {k: json.loads(v) if k in self._encoded else v for k, v in sorted(params.items())}
        return grids.coerce(combo, self.defaults)

    def _load(self) -> None:
        """Bookkeeping from the study's trials (a resumed study); check its space."""
        from optuna.distributions import distribution_to_json
        from optuna.trial import TrialState

        space = {k: json.loads(distribution_to_json(d)) for k, d in self._distributions.items()}
        stored = self.study.user_attrs.get(SPACE_ATTR)
        if stored is None:
            self.study.set_user_attr(SPACE_ATTR, space)
        elif stored != space:
            raise ValueError(
                f"storage {self.storage} holds study {self.study_name!r} over other ranges "
                f"({stored}); resume with the same ranges and defaults, or give a new storage "
                "path for a new search."
            )
        for frozen in self.study.get_trials(deepcopy=False):
            number = frozen.user_attrs.get(TRIAL_ATTR)
            if number is None:  # a duplicate or invalid proposal the last process left open
                if frozen.state == TrialState.RUNNING:
                    self.study.tell(frozen.number, state=TrialState.FAIL)
                continue
            spec = TrialSpec(number, self._decode(frozen.params))
            self._optuna[number] = frozen.number
            if frozen.state == TrialState.RUNNING:
                self._running[spec.key] = spec
                self._pending.add(spec.config_id)
            elif frozen.state == TrialState.COMPLETE:
                self._known[spec.config_id] = frozen.value
                self.outcomes.append(Outcome(spec, frozen.value, STATUS_COMPLETED))
            else:
                self._known[spec.config_id] = None
                self.outcomes.append(Outcome(spec, None, STATUS_FAILED))

    def _enumerate(self) -> dict[str, dict[str, Any]] | None:
        """Config id -> Optuna params of every valid combination of a small finite space."""
        from optuna.distributions import CategoricalDistribution, IntDistribution

        values = []
        for dist in self._distributions.values():
            if isinstance(dist, CategoricalDistribution):
                values.append(list(dist.choices))
            elif isinstance(dist, IntDistribution):
                values.append(list(range(dist.low, dist.high + 1, dist.step)))
            else:
                return None  # a float range: infinite
        if math.prod(len(v) for v in values) > ENUMERATE_UP_TO:
            return None
        out = {}
        for combo in itertools.product(*values):
            params = dict(zip(self._distributions, combo, strict=True))
            decoded = self._decode(params)
            if grids.overlap_ok(decoded, self.defaults):
                out.setdefault(grids.config_id(decoded), params)
        return out

    def _propose(self) -> TrialSpec | None:
        from optuna.trial import TrialState

        for attempt in range(self.max_tries):
            if self._finite is not None:
                left = sorted(set(self._finite) - self._pending - set(self._known))
                if not left:
                    return None  # every valid combination is told or running
            if attempt >= PATIENCE and self._finite is not None:
                self.study.enqueue_trial(self._finite[self._rng.choice(left)])
            if attempt >= PATIENCE and self._finite is None:
                self.study.sampler = self._random
            try:
                trial = self.study.ask(self._distributions)
            finally:
                self.study.sampler = self._tpe
            combo = self._decode(trial.params)
            cid = grids.config_id(combo)
            if not grids.overlap_ok(combo, self.defaults):
                trial.set_user_attr(ROLE_ATTR, "invalid")
                self.study.tell(trial, state=TrialState.FAIL)
            elif cid in self._pending or cid in self._known:
                trial.set_user_attr(ROLE_ATTR, "duplicate")
                value = self._known.get(cid)
                if value is None:
                    self.study.tell(trial, state=TrialState.FAIL)
                else:
                    self.study.tell(trial, value)
            else:
                number = len(self._optuna) + 1
                trial.set_user_attr(TRIAL_ATTR, number)
                self._optuna[number] = trial.number
                self._pending.add(cid)
                return TrialSpec(number, combo)
        return None

    def _next(self) -> list[TrialSpec]:
        room = min(self.workers - len(self._running), self.n_trials - len(self._optuna))
        specs: list[TrialSpec] = []
        while len(specs) < room and not self.exhausted:
            spec = self._propose()
            if spec is None:
                self.exhausted = True
            else:
                specs.append(spec)
        return specs

    def _record(self, spec: TrialSpec, score: float | None) -> None:
        from optuna.trial import TrialState

        number = self._optuna[spec.trial]
        if score is None:
            self.study.tell(number, state=TrialState.FAIL)
        else:
            self.study.tell(number, score)
        self._pending.discard(spec.config_id)
        self._known[spec.config_id] = score

    def _done(self) -> bool:
        return self.exhausted or len(self._optuna) >= self.n_trials

    def _config(self) -> dict[str, Any]:
        return {
            "ranges": _ranges_json(self.ranges),
            "n_trials": self.n_trials,
            "seed": self.seed,
            "defaults": self.defaults,
            "storage": self.storage,
            "workers": self.workers,
            "n_startup_trials": self.n_startup_trials,
            "max_tries": self.max_tries,
            "study_name": self.study_name,
        }


# --------------------------------------------------------------------------- finalists


def _budget_of(spec: TrialSpec) -> float:
    return math.inf if spec.epochs is None else spec.epochs


def finalists(results: Iterable[Outcome | tuple[TrialSpec, Any, str]], k: int) -> list[Outcome]:
    """The top ``k`` configurations of a search, best first.

    Only scored outcomes count (COMPLETED or PRUNED with a finite score). A
    configuration is judged by its outcomes at the most epochs it reached (a
    promoted trial by its last rung; None, the full budget, is the most), their
    mean if several. Configurations that reached more epochs rank first (a score
    after 3 epochs is not comparable to one after 9), then by score, then by trial
    number.

    Parameters
    ----------
    results : iterable of Outcome or (spec, score, status)
        E.g. ``strategy.outcomes``.
    k : int
        >= 1; fewer come back when fewer configurations have a score.

    Returns
    -------
    list of Outcome
        Per configuration: the spec of its first trial at that budget and the mean score.
    """
    k = _whole(k, "k", 1)
    best: dict[str, tuple[float, list[TrialSpec], list[float]]] = {}
    for spec, score, status in results:
        score = _score(score, STATUS_COMPLETED)
        if status not in (STATUS_COMPLETED, STATUS_PRUNED) or score is None:
            continue
        budget, specs, scores = best.get(spec.config_id, (-math.inf, [], []))
        if _budget_of(spec) > budget:
            best[spec.config_id] = (_budget_of(spec), [spec], [score])
        elif _budget_of(spec) == budget:
            specs.append(spec)
            scores.append(score)
    ranked = [
        (budget, sum(scores) / len(scores), min(specs, key=lambda s: s.trial))
        for budget, specs, scores in best.values()
    ]
    ranked.sort(key=lambda r: (-r[0], -r[1], r[2].trial))
    return [Outcome(spec, mean, STATUS_COMPLETED) for _, mean, spec in ranked[:k]]


def repeat_specs(
    finalists: Iterable[Outcome | TrialSpec | Mapping[str, Any]],
    repeats: int,
    seeds: int | Sequence[int],
    first_trial: int,
    epochs: int | None = None,
) -> list[TrialSpec]:
    """Specs that re-run each finalist ``repeats`` times from scratch, with other seeds.

    Parameters
    ----------
    finalists : iterable of Outcome, TrialSpec or parameter mapping
        E.g. :func:`finalists`' output.
    repeats : int
        >= 1 runs per finalist.
    seeds : int or sequence of int
        The seeds of the repeats: a sequence of ``repeats`` seeds, or the first of
        ``repeats`` consecutive ones. Each spec's ``seed`` (the runner owns ``seed``,
        so it is not in ``params``).
    first_trial : int
        The first repeat's trial number (after the search's own trials); the rest
        follow, finalist by finalist.
    epochs : int, optional
        Each run's epochs; by default the epochs the finalist's spec reached.

    Returns
    -------
    list of TrialSpec
        Rung 0, ``initial_epoch`` 0.
    """
    repeats = _whole(repeats, "repeats", 1)
    first_trial = _whole(first_trial, "first_trial", 1)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds + i for i in range(repeats)]
    seeds = list(seeds)
    if len(seeds) != repeats or not all(isinstance(s, int) for s in seeds):
        raise ValueError(
            f"seeds must be {repeats} whole numbers (one per repeat) or one first seed; got "
            f"{seeds!r}."
        )
    if epochs is not None:
        epochs = _whole(epochs, "epochs", 1)
    out: list[TrialSpec] = []
    for item in finalists:
        spec = item.spec if isinstance(item, Outcome) else item
        params, budget = (
            (spec.params, spec.epochs) if isinstance(spec, TrialSpec) else (dict(spec), None)
        )
        for seed in seeds:
            trial = first_trial + len(out)
            run_epochs = epochs if epochs is not None else budget
            out.append(TrialSpec(trial, dict(params), epochs=run_epochs, seed=seed))
    return out
