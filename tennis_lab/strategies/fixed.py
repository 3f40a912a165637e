"""Strategies decided up front: every combination (grid), drawn ones (random), repeats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tennis_lab import grids
from tennis_lab.strategies.base import (
    Strategy,
    TrialSpec,
    check_combinations,
)


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
        self.combinations = check_combinations(combinations, type(self).__name__)
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

    def planned_runs(self) -> int:
        """Every combination."""
        return len(self.combinations)

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

    def planned_runs(self) -> int:
        """Every repeat."""
        return len(self.specs)
