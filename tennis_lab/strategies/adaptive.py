"""Adaptive strategies over epochs: successive halving and Hyperband.

Weak trials stop at a rung (PRUNED); the others continue from their checkpoints with
``eta`` times the epochs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from tennis_lab.results import STATUS_COMPLETED, STATUS_FAILED
from tennis_lab.strategies.base import (
    Strategy,
    TrialSpec,
    check_budget,
    check_combinations,
    whole_number,
)


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
        self.combinations = check_combinations(combinations, type(self).__name__, budgeted=True)
        self.min_epochs, self.max_epochs, self.eta = check_budget(min_epochs, max_epochs, eta)
        self.first_trial = whole_number(first_trial, "first_trial", 1)
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

    @classmethod
    def create(cls, combinations: Sequence[Mapping[str, Any]], **options: Any) -> Strategy:
        """A new strategy over ``combinations`` with ``min_epochs``, ``max_epochs`` and ``eta``."""
        return cls(
            combinations, min_epochs=options["min_epochs"], max_epochs=options["max_epochs"],
            eta=options["eta"],
        )  # fmt: skip

    def planned_runs(self) -> int:
        """The trials of every rung (:meth:`plan`)."""
        return sum(n for n, _ in self.plan())

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
    min_epochs, max_epochs, eta = check_budget(min_epochs, max_epochs, eta)
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
        self.combinations = check_combinations(combinations, type(self).__name__, budgeted=True)
        self.min_epochs, self.max_epochs, self.eta = check_budget(min_epochs, max_epochs, eta)
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

    @classmethod
    def create(cls, combinations: Sequence[Mapping[str, Any]], **options: Any) -> Strategy:
        """A new strategy over ``combinations`` with ``min_epochs``, ``max_epochs`` and ``eta``."""
        return cls(
            combinations, min_epochs=options["min_epochs"], max_epochs=options["max_epochs"],
            eta=options["eta"],
        )  # fmt: skip

    def planned_runs(self) -> int:
        """The trials of every rung of every bracket."""
        return sum(n for bracket in self.brackets for n, _ in bracket.plan())

    def _config(self) -> dict[str, Any]:
        return {
            "combinations": self.combinations,
            "min_epochs": self.min_epochs,
            "max_epochs": self.max_epochs,
            "eta": self.eta,
        }
