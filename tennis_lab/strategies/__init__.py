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

Modules
    :mod:`~tennis_lab.strategies.base` (the protocol, :class:`TrialSpec`, the
    registry), :mod:`~tennis_lab.strategies.fixed` (grid, random, repeats),
    :mod:`~tennis_lab.strategies.adaptive` (successive halving, Hyperband),
    :mod:`~tennis_lab.strategies.tpe` (Optuna's TPE) and
    :mod:`~tennis_lab.strategies.finalist_repeats` (finalists and their repeats).
    A new strategy subclasses :class:`Strategy` with a ``name`` (that registers it),
    and gives ``create`` (from a search's settings) and ``planned_runs``.
"""

from tennis_lab.strategies.adaptive import HalvingStrategy, HyperbandStrategy, hyperband_brackets
from tennis_lab.strategies.base import BUDGET_KEYS, TELL_STATUSES, Outcome, Strategy, TrialSpec
from tennis_lab.strategies.finalist_repeats import finalists, repeat_specs
from tennis_lab.strategies.fixed import GridStrategy, RandomStrategy, RepeatStrategy
from tennis_lab.strategies.tpe import (
    ENUMERATE_UP_TO,
    PATIENCE,
    ROLE_ATTR,
    SPACE_ATTR,
    TRIAL_ATTR,
    TPEStrategy,
)

__all__ = [
    "BUDGET_KEYS", "ENUMERATE_UP_TO", "PATIENCE", "ROLE_ATTR", "SPACE_ATTR", "TELL_STATUSES",
    "TRIAL_ATTR", "GridStrategy", "HalvingStrategy", "HyperbandStrategy", "Outcome",
    "RandomStrategy", "RepeatStrategy", "Strategy", "TPEStrategy", "TrialSpec", "finalists",
    "hyperband_brackets", "repeat_specs",
]  # fmt: skip
