"""Finalists: a search's top-k configurations, and their repeats with other seeds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tennis_lab.results import STATUS_COMPLETED, STATUS_PRUNED
from tennis_lab.strategies.base import (
    Outcome,
    TrialSpec,
    checked_score,
    whole_number,
)


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
    k = whole_number(k, "k", 1)
    best: dict[str, tuple[float, list[TrialSpec], list[float]]] = {}
    for spec, score, status in results:
        score = checked_score(score, STATUS_COMPLETED)
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
    repeats = whole_number(repeats, "repeats", 1)
    first_trial = whole_number(first_trial, "first_trial", 1)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds + i for i in range(repeats)]
    seeds = list(seeds)
    if len(seeds) != repeats or not all(isinstance(s, int) for s in seeds):
        raise ValueError(
            f"seeds must be {repeats} whole numbers (one per repeat) or one first seed; got "
            f"{seeds!r}."
        )
    if epochs is not None:
        epochs = whole_number(epochs, "epochs", 1)
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
