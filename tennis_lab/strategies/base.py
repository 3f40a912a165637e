"""The ask-and-tell protocol: a trial spec, a told outcome, the checks, :class:`Strategy`.

:class:`Strategy` is the base of every strategy and holds their registry (by name);
see the package docstring for the protocol, state and resume.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, NamedTuple

from tennis_lab import grids
from tennis_lab.results import STATUS_COMPLETED, STATUS_FAILED, STATUS_KILLED

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


def whole_number(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``; ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
    return int(value)


def check_combinations(
    combinations: Sequence[Mapping[str, Any]], strategy: str, budgeted: bool = False
) -> list[dict[str, Any]]:
    """The combinations as JSON-ready dicts; ValueError for a bad, repeated or budgeted one."""
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


def check_budget(min_epochs: Any, max_epochs: Any, eta: Any) -> tuple[int, int, int]:
    """``(min_epochs, max_epochs, eta)`` checked; ValueError naming the bad one."""
    min_epochs = whole_number(min_epochs, "min_epochs", 1)
    max_epochs = whole_number(max_epochs, "max_epochs", 1)
    if max_epochs < min_epochs:
        raise ValueError(
            f"max_epochs={max_epochs} is below min_epochs={min_epochs}; give max_epochs >= "
            "min_epochs."
        )
    return min_epochs, max_epochs, whole_number(eta, "eta", 2)


def checked_score(score: Any, status: str) -> float | None:
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

    @classmethod
    def create(cls, combinations: Sequence[Mapping[str, Any]], **options: Any) -> Strategy:
        """A new strategy for a search's ``combinations``.

        ``options`` holds every setting a search may give (``min_epochs``,
        ``max_epochs``, ``eta``, ``ranges``, ``n_trials``, ``seed``, ``defaults``,
        ``storage``, ``workers``); each strategy takes those it uses.
        """
        return cls(combinations)

    def planned_runs(self) -> int:
        """The runs this strategy makes when none fails."""
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
        score = checked_score(score, status)
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
