"""Tests of tennis_lab.strategies: ask/tell strategies driven by a fake evaluate function."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from tennis_lab import grids
from tennis_lab.results import STATUS_COMPLETED, STATUS_FAILED, STATUS_KILLED, STATUS_PRUNED
from tennis_lab.strategies import (
    ROLE_ATTR,
    TRIAL_ATTR,
    GridStrategy,
    HalvingStrategy,
    HyperbandStrategy,
    Outcome,
    RandomStrategy,
    Strategy,
    TPEStrategy,
    TrialSpec,
    finalists,
    hyperband_brackets,
    repeat_specs,
)

# --------------------------------------------------------------------------- the fake runner

# quality q of trial 1..9; the best is trial 4 (q 8), then trials 2 (7) and 8 (6)
QUALITIES = (3, 7, 1, 8, 0, 5, 2, 6, 4)
NINE = [{"q": q} for q in QUALITIES]


def fake_evaluate(seed: int = 0, max_epochs: int = 9):
    """score = q / 10 * (1 - 0.5 ** epochs) + noise below 1e-4: more epochs, higher score."""
    rng = np.random.default_rng(seed)

    def evaluate(spec: TrialSpec) -> float:
        epochs = spec.epochs if spec.epochs is not None else max_epochs
        return spec.params["q"] / 10 * (1 - 0.5**epochs) + rng.uniform(0, 1e-4)

    return evaluate


def drive(strategy: Strategy, evaluate, fail=(), limit: int = 10_000) -> list[TrialSpec]:
    """Run every asked batch and tell it; ``fail``: (trial, rung) keys told FAILED."""
    ran: list[TrialSpec] = []
    while len(ran) < limit:
        batch = strategy.ask()
        if strategy.finished:
            assert not batch
            break
        assert batch, "not finished, nothing running, and nothing asked: a deadlock"
        for spec in batch:
            ran.append(spec)
            if spec.key in fail:
                strategy.tell(spec, None, STATUS_FAILED)
            else:
                strategy.tell(spec, evaluate(spec), STATUS_COMPLETED)
    return ran


def by_rung(specs: list[TrialSpec]) -> dict[int, list[TrialSpec]]:
    out: dict[int, list[TrialSpec]] = defaultdict(list)
    for spec in specs:
        out[spec.rung].append(spec)
    return dict(out)


def trained_epochs(specs: list[TrialSpec]) -> int:
    return sum(spec.epochs - spec.initial_epoch for spec in specs)


# --------------------------------------------------------------------------- grid and random


def test_grid_asks_every_combination_once_in_one_batch():
    strategy = GridStrategy(NINE)
    batch = strategy.ask()
    assert [s.trial for s in batch] == list(range(1, 10))
    assert [s.params for s in batch] == NINE
    assert all(s.rung == 0 and s.epochs is None and s.initial_epoch == 0 for s in batch)
    assert strategy.ask() == [] and not strategy.finished  # all running
    for spec in batch[:-1]:
        strategy.tell(spec, 0.5, STATUS_COMPLETED)
    assert not strategy.finished
    strategy.tell(batch[-1], None, STATUS_FAILED)
    assert strategy.finished and strategy.ask() == [] and strategy.pruned() == []
    assert [o.status for o in strategy.outcomes] == [STATUS_COMPLETED] * 8 + [STATUS_FAILED]


def test_random_strategy_runs_the_sampled_combinations():
    ranges = {"dense_units": grids.Range(32, 256, "int"), "batch_size": [16, 32]}
    strategy = RandomStrategy.sampled(ranges, 5, seed=3)
    assert strategy.name == "random"
    assert [s.params for s in strategy.ask()] == grids.sample(ranges, 5, seed=3)


@pytest.mark.parametrize(
    "combinations, match",
    [
        ([], r"combinations is empty"),
        ({"q": 1}, r"combinations must be a list of parameter mappings"),
        ([{"q": 1}, 3], r"combinations\[1\] is 3; each must be a parameter mapping"),
        ([{"q": 1}, {"q": 1.0}], r"combinations\[1\] repeats combinations\[0\]"),
    ],
)
def test_strategies_reject_bad_combinations(combinations, match):
    with pytest.raises(ValueError, match=match):
        GridStrategy(combinations)


# --------------------------------------------------------------------------- the protocol


def test_tell_rejects_other_statuses_bad_scores_and_specs_not_running():
    strategy = GridStrategy(NINE[:2])
    first, second = strategy.ask()
    with pytest.raises(ValueError, match=r"status must be one of .*got 'PRUNED'"):
        strategy.tell(first, 0.5, STATUS_PRUNED)
    with pytest.raises(ValueError, match=r"score must be a number .* got 'high'"):
        strategy.tell(first, "high", STATUS_COMPLETED)
    strategy.tell(first, np.float64(0.5), STATUS_COMPLETED)
    with pytest.raises(ValueError, match=r"is not running here .*\[\(2, 0\)\]"):
        strategy.tell(first, 0.5, STATUS_COMPLETED)  # twice
    with pytest.raises(ValueError, match=r"is not running here"):
        strategy.tell(TrialSpec(7, {"q": 1}), 0.5, STATUS_COMPLETED)
    assert strategy.running == [second]


def test_a_killed_spec_is_asked_again():
    strategy = HalvingStrategy(NINE[:3], 1, 3)
    batch = strategy.ask()
    strategy.tell(batch[1], None, STATUS_KILLED)
    assert batch[1] not in strategy.running and not strategy.finished
    assert strategy.ask() == [batch[1]]
    assert batch[1] in strategy.running
    assert all(o.spec.key != batch[1].key for o in strategy.outcomes)


def test_trial_spec_round_trips_through_json():
    spec = TrialSpec(4, {"lstm_layers": [64, 32]}, rung=2, epochs=9, initial_epoch=3, seed=7)
    assert TrialSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.key == (4, 2)
    assert spec.config_id == grids.config_id({"lstm_layers": [64, 32]})


# --------------------------------------------------------------------------- successive halving


def test_halving_nine_configs_eta_3_runs_rungs_9_at_1_3_at_3_1_at_9():
    strategy = HalvingStrategy(NINE, min_epochs=1, max_epochs=9, eta=3)
    assert strategy.plan() == [(9, 1), (3, 3), (1, 9)]
    rungs = by_rung(drive(strategy, fake_evaluate()))
    assert {r: len(s) for r, s in rungs.items()} == {0: 9, 1: 3, 2: 1}
    assert {r: {s.epochs for s in specs} for r, specs in rungs.items()} == {0: {1}, 1: {3}, 2: {9}}
    # a promoted trial continues from the previous rung's epochs
    assert {r: {s.initial_epoch for s in specs} for r, specs in rungs.items()} == {
        0: {0},
        1: {1},
        2: {3},
    }
    assert strategy.finished and strategy.ask() == []


def test_halving_promotes_the_best_and_prunes_the_rest():
    strategy = HalvingStrategy(NINE, 1, 9)
    rungs = by_rung(drive(strategy, fake_evaluate()))
    assert [s.trial for s in rungs[1]] == [2, 4, 8]  # q 7, 8, 6
    assert [s.trial for s in rungs[2]] == [4]
    assert [s.params for s in rungs[2]] == [{"q": 8}]
    pruned = strategy.pruned()
    assert [(s.trial, s.rung) for s in pruned] == [
        (1, 0), (3, 0), (5, 0), (6, 0), (7, 0), (9, 0), (2, 1), (8, 1),
    ]  # fmt: skip
    assert all(s.epochs == (1 if s.rung == 0 else 3) for s in pruned)
    last = strategy.outcomes[-1]
    assert last.spec.key == (4, 2) and last.status == STATUS_COMPLETED


def test_halving_total_epochs_add_up_by_hand():
    ran = drive(HalvingStrategy(NINE, 1, 9), fake_evaluate())
    assert trained_epochs(ran) == 9 * 1 + 3 * (3 - 1) + 1 * (9 - 3)  # 21, not 9 + 9 + 9
    best = [s for s in ran if s.trial == 4]
    assert trained_epochs(best) == 9  # continued to max_epochs, never restarted
    assert [s.epochs for s in best] == [1, 3, 9]


def test_halving_failed_trials_never_continue():
    strategy = HalvingStrategy(NINE, 1, 9)
    rungs = by_rung(drive(strategy, fake_evaluate(), fail={(4, 0), (2, 1)}))
    assert [s.trial for s in rungs[1]] == [2, 6, 8]  # the best (4) failed: next three
    assert [s.trial for s in rungs[2]] == [8]  # 2 failed at rung 1
    assert 4 not in {s.trial for s in strategy.pruned()}
    assert 2 not in {s.trial for s in strategy.pruned()}
    assert Counter(o.status for o in strategy.outcomes)[STATUS_FAILED] == 2


def test_halving_nan_score_counts_as_failed():
    strategy = HalvingStrategy(NINE[:3], 1, 3)  # 3 at 1, the best 1 at 3
    batch = strategy.ask()
    strategy.tell(batch[1], float("nan"), STATUS_COMPLETED)  # q 7 would win
    strategy.tell(batch[0], 0.3, STATUS_COMPLETED)
    strategy.tell(batch[2], 0.1, STATUS_COMPLETED)
    assert [s.trial for s in strategy.ask()] == [1]
    assert strategy.outcomes[0].status == STATUS_FAILED
    assert [s.trial for s in strategy.pruned()] == [3]


def test_halving_every_trial_failed_finishes():
    strategy = HalvingStrategy(NINE[:3], 1, 9)
    ran = drive(strategy, fake_evaluate(), fail={(1, 0), (2, 0), (3, 0)})
    assert len(ran) == 3 and strategy.finished and strategy.pruned() == []


def test_halving_breaks_ties_by_trial_number():
    rungs = by_rung(drive(HalvingStrategy(NINE, 1, 9), lambda spec: 0.5))
    assert [s.trial for s in rungs[1]] == [1, 2, 3]
    assert [s.trial for s in rungs[2]] == [1]


def test_halving_waits_for_the_whole_rung():
    strategy = HalvingStrategy(NINE, 1, 9)
    batch = strategy.ask()
    evaluate = fake_evaluate()
    for spec in batch[:-1]:
        strategy.tell(spec, evaluate(spec), STATUS_COMPLETED)
    assert strategy.ask() == [] and not strategy.finished and strategy.pruned() == []
    strategy.tell(batch[-1], evaluate(batch[-1]), STATUS_COMPLETED)
    assert len(strategy.pruned()) == 6
    assert [(s.trial, s.rung, s.epochs, s.initial_epoch) for s in strategy.ask()] == [
        (2, 1, 3, 1), (4, 1, 3, 1), (8, 1, 3, 1),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "n, min_epochs, max_epochs, eta, plan",
    [
        (9, 1, 10, 3, [(9, 1), (3, 3), (1, 10)]),  # a single survivor goes to max
        (27, 1, 10, 3, [(27, 1), (9, 3), (3, 9), (1, 10)]),  # the first budget >= max is max
        (27, 1, 9, 3, [(27, 1), (9, 3), (3, 9)]),  # the last rung completes 3
        (30, 2, 5, 2, [(30, 2), (15, 4), (8, 5)]),
        (5, 3, 9, 3, [(5, 3), (2, 9)]),  # ceil(5 / 3) = 2 continue
        (1, 1, 9, 3, [(1, 9)]),
        (4, 9, 9, 3, [(4, 9)]),
    ],
)
def test_halving_plan_caps_budgets_at_max_epochs(n, min_epochs, max_epochs, eta, plan):
    strategy = HalvingStrategy([{"q": q} for q in range(n)], min_epochs, max_epochs, eta)
    assert strategy.plan() == plan
    rungs = by_rung(drive(strategy, fake_evaluate(max_epochs=max_epochs)))
    assert [(len(specs), specs[0].epochs) for _, specs in sorted(rungs.items())] == plan


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"min_epochs": 0}, r"min_epochs must be a whole number >= 1; got 0"),
        ({"min_epochs": 1.5}, r"min_epochs must be a whole number >= 1; got 1.5"),
        ({"max_epochs": 2, "min_epochs": 3}, r"max_epochs=2 is below min_epochs=3"),
        ({"eta": 1}, r"eta must be a whole number >= 2; got 1"),
        ({"combinations": [{"q": 1, "epochs": 5}]}, r"sets 'epochs', which HalvingStrategy"),
    ],
)
def test_halving_rejects_bad_arguments(kwargs, match):
    args = {"combinations": NINE, "min_epochs": 1, "max_epochs": 9, **kwargs}
    with pytest.raises(ValueError, match=match):
        HalvingStrategy(**args)


# --------------------------------------------------------------------------- hyperband


def test_hyperband_brackets_by_hand():
    # Li et al.'s table for R = 81, eta = 3: (s, n, r)
    assert hyperband_brackets(1, 81, 3) == [
        (4, 81, 1), (3, 34, 3), (2, 15, 9), (1, 8, 27), (0, 5, 81),
    ]  # fmt: skip
    assert hyperband_brackets(1, 9, 3) == [(2, 9, 1), (1, 5, 3), (0, 3, 9)]
    assert hyperband_brackets(1, 10, 3) == [(2, 9, 1), (1, 5, 3), (0, 3, 10)]
    assert hyperband_brackets(5, 5, 3) == [(0, 1, 5)]


def test_hyperband_runs_each_bracket_as_successive_halving():
    strategy = HyperbandStrategy([{"q": q % 9, "i": q} for q in range(17)], 1, 9, 3)
    assert [len(b.combinations) for b in strategy.brackets] == [9, 5, 3]
    assert strategy.bracket_s == [2, 1, 0]
    assert [b.plan() for b in strategy.brackets] == [
        [(9, 1), (3, 3), (1, 9)],
        [(5, 3), (2, 9)],
        [(3, 9)],
    ]
    first = strategy.ask()  # every bracket's first rung, side by side
    assert [s.trial for s in first] == list(range(1, 18))
    assert [s.epochs for s in first] == [1] * 9 + [3] * 5 + [9] * 3
    ran = first
    evaluate = fake_evaluate()
    for spec in first:
        strategy.tell(spec, evaluate(spec), STATUS_COMPLETED)
    ran += drive(strategy, evaluate)
    assert len({s.key for s in ran}) == len(ran)  # no run twice
    per_bracket = defaultdict(list)
    for spec in ran:
        per_bracket[strategy.bracket_of(spec.trial)].append(spec)
    sizes = {
        b: sorted(Counter((s.rung, s.epochs) for s in specs).items())
        for b, specs in per_bracket.items()
    }
    assert sizes == {
        0: [((0, 1), 9), ((1, 3), 3), ((2, 9), 1)],
        1: [((0, 3), 5), ((1, 9), 2)],
        2: [((0, 9), 3)],
    }
    # by hand: 9 + 3 * 2 + 6 | 5 * 3 + 2 * 6 | 3 * 9
    assert trained_epochs(ran) == 21 + 27 + 27
    assert len(strategy.pruned()) == 8 + 3 and strategy.finished


def test_hyperband_deals_fewer_or_more_combinations_in_order():
    fewer = HyperbandStrategy([{"i": i} for i in range(12)], 1, 9)
    assert [len(b.combinations) for b in fewer.brackets] == [9, 3]
    assert fewer.bracket_s == [2, 1]
    assert [b.first_trial for b in fewer.brackets] == [1, 10]
    assert fewer.brackets[1].combinations == [{"i": i} for i in range(9, 12)]
    more = HyperbandStrategy([{"i": i} for i in range(20)], 1, 9)
    assert [len(b.combinations) for b in more.brackets] == [9, 5, 3, 3]
    assert more.bracket_s == [2, 1, 0, 2]  # a second round starts
    assert more.bracket_of(18) == 3
    with pytest.raises(ValueError, match=r"trial 21 is not a trial of this search \(1..20\)"):
        more.bracket_of(21)


# --------------------------------------------------------------------------- TPE

RANGES = {
    "lstm_layers": [[64, 32], [128, 64], [256, 128]],
    "dense_units": grids.Range(32, 256, "int"),
    "learning_rate": grids.Range(1e-4, 1e-2, "log"),
    "dropout": grids.Range(0.0, 0.5, "float"),
    "batch_size": [16, 32, 64],
    "window_size": [30, 45, 60],
    "overlap": [10, 15, 20],
}


def tpe_objective(spec: TrialSpec) -> float:
    """A clear optimum: learning rate 10**-2.5, 200 units, dropout 0.2, [128, 64], 32."""
    p = spec.params
    score = 1.0 - 0.15 * (math.log10(p["learning_rate"]) + 2.5) ** 2
    score -= 0.5 * ((p["dense_units"] - 200) / 224) ** 2 + 0.5 * (p["dropout"] - 0.2) ** 2
    return score - 0.05 * (p["lstm_layers"] != [128, 64]) - 0.03 * (p["batch_size"] != 32)


def test_tpe_encodes_ranges_ints_floats_and_list_choices():
    ranges = {**RANGES, "units_float": grids.Range(8, 64, "log")}
    strategy = TPEStrategy(ranges, 12, seed=1, defaults={"units_float": 16})
    specs = drive(strategy, tpe_objective)
    assert len(specs) == 12
    for spec in specs:
        p = spec.params
        assert sorted(p) == sorted(ranges)
        assert type(p["dense_units"]) is int and 32 <= p["dense_units"] <= 256
        assert type(p["units_float"]) is int and 8 <= p["units_float"] <= 64  # whole default
        assert type(p["learning_rate"]) is float and 1e-4 <= p["learning_rate"] <= 1e-2
        assert p["lstm_layers"] in RANGES["lstm_layers"]  # decoded back to lists
        assert all(type(v) is int for v in p["lstm_layers"])
        assert p["batch_size"] in (16, 32, 64) and type(p["batch_size"]) is int
    # the study holds the choices as JSON text, the runs get the lists
    frozen = strategy.study.trials[0]
    assert json.loads(frozen.params["lstm_layers"]) == specs[0].params["lstm_layers"]


def test_tpe_never_asks_a_duplicate_and_stops_when_the_space_is_used_up():
    ranges = {"batch_size": [16, 32], "window_size": [30, 45, 60]}  # 6 combinations
    strategy = TPEStrategy(ranges, 10, seed=0, n_startup_trials=2, max_tries=60)
    specs = drive(strategy, lambda s: s.params["batch_size"] / 100 + s.params["window_size"] / 1e3)
    ids = [s.config_id for s in specs]
    assert len(ids) == 6 == len(set(ids))
    assert strategy.exhausted and strategy.finished
    assert [s.trial for s in specs] == list(range(1, 7))
    # repeats were told the known value, never run
    known = {s.config_id: o.score for s, o in zip(specs, strategy.outcomes, strict=True)}
    dups = [t for t in strategy.study.trials if t.user_attrs.get(ROLE_ATTR) == "duplicate"]
    assert dups
    for t in dups:
        params = {"batch_size": t.params["batch_size"], "window_size": t.params["window_size"]}
        assert t.value == known[grids.config_id(params)]


def test_tpe_respects_workers_in_flight_and_n_trials():
    strategy = TPEStrategy(RANGES, 7, seed=2, workers=3)
    first = strategy.ask()
    assert len(first) == 3 and strategy.ask() == []
    strategy.tell(first[0], tpe_objective(first[0]), STATUS_COMPLETED)
    second = strategy.ask()
    assert len(second) == 1 and len(strategy.running) == 3
    in_flight, asked, most = list(strategy.running), first + second, 3
    while in_flight:
        spec = in_flight.pop(0)
        strategy.tell(spec, tpe_objective(spec), STATUS_COMPLETED)
        new = strategy.ask()
        asked += new
        in_flight += new
        most = max(most, len(strategy.running))
    assert most == 3 and len(asked) == 7 and strategy.finished
    assert len({s.config_id for s in asked}) == 7
    assert sorted(s.trial for s in asked) == list(range(1, 8))


def test_tpe_skips_combinations_with_overlap_not_below_window():
    ranges = {"window_size": [30, 45], "overlap": [10, 40], "batch_size": [16, 32, 64]}
    strategy = TPEStrategy(ranges, 9, seed=0, n_startup_trials=3)
    specs = drive(strategy, lambda s: s.params["batch_size"] / 64)
    assert specs and all(s.params["overlap"] < s.params["window_size"] for s in specs)
    assert len(specs) == 9  # 3 of the 12 combinations are invalid
    roles = Counter(t.user_attrs.get(ROLE_ATTR) for t in strategy.study.trials)
    assert roles["invalid"] >= 1


def test_tpe_failed_trial_is_told_fail_and_not_proposed_again():
    from optuna.trial import TrialState

    ranges = {"batch_size": [16, 32, 64]}
    strategy = TPEStrategy(ranges, 3, seed=0, n_startup_trials=1)
    first = strategy.ask()[0]
    strategy.tell(first, None, STATUS_FAILED)
    assert strategy.study.trials[0].state == TrialState.FAIL
    rest = drive(strategy, lambda s: 0.5)
    assert first.params not in [s.params for s in rest] and len(rest) == 2


def test_tpe_finds_better_than_random_search_over_seeds():
    tpe_best, random_best, tpe_late, random_late = [], [], [], []
    for seed in range(5):
        tpe = [tpe_objective(s) for s in drive(TPEStrategy(RANGES, 30, seed=seed), tpe_objective)]
        rand = [tpe_objective(TrialSpec(1, c)) for c in grids.sample(RANGES, 30, seed=seed)]
        tpe_best.append(max(tpe))
        random_best.append(max(rand))
        tpe_late.append(np.mean(tpe[20:]))  # after 10 random startup trials TPE models
        random_late.append(np.mean(rand[20:]))
    assert np.mean(tpe_best) > np.mean(random_best)
    assert np.mean(tpe_late) > np.mean(random_late) + 0.05


def test_tpe_resumes_its_study_from_storage(tmp_path):
    storage = tmp_path / "search" / "tpe.db"
    strategy = TPEStrategy(RANGES, 8, seed=4, storage=storage, workers=2)
    told = []
    batch = strategy.ask()
    strategy.tell(batch[0], tpe_objective(batch[0]), STATUS_COMPLETED)
    told.append(batch[0])
    for _ in range(3):
        new = strategy.ask()
        assert len(new) == 1
        strategy.tell(new[0], tpe_objective(new[0]), STATUS_COMPLETED)
        told.append(new[0])
    (left_running,) = strategy.running  # a kill -9 here: one trial in flight
    del strategy

    resumed = TPEStrategy(RANGES, 8, seed=4, storage=storage, workers=2)
    assert resumed.running == [left_running]  # same trial number and parameters
    assert [o.spec for o in resumed.outcomes] == told
    assert [o.score for o in resumed.outcomes] == [tpe_objective(s) for s in told]
    resumed.tell(left_running, tpe_objective(left_running), STATUS_COMPLETED)
    rest = drive(resumed, tpe_objective)
    assert [s.trial for s in rest] == [6, 7, 8] and resumed.finished
    every = told + [left_running] + rest
    assert len({s.config_id for s in every}) == 8  # no duplicate after the resume
    ours = [t for t in resumed.study.trials if TRIAL_ATTR in t.user_attrs]
    assert sorted(t.user_attrs[TRIAL_ATTR] for t in ours) == list(range(1, 9))
    # more trials later: the same study continues to the new total
    longer = TPEStrategy(RANGES, 10, seed=4, storage=storage)
    assert len(longer.outcomes) == 8 and len(drive(longer, tpe_objective)) == 2
    # from_state resumes from the storage, too
    again = Strategy.from_state(longer.state())
    assert len(again.outcomes) == 10 and again.finished
    with pytest.raises(ValueError, match=r"holds study 'tennis_lab_tpe' over other ranges"):
        TPEStrategy({**RANGES, "batch_size": [8, 16]}, 10, storage=storage)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_trials": 0}, r"n_trials must be a whole number >= 1; got 0"),
        ({"workers": 0}, r"workers must be a whole number >= 1; got 0"),
        ({"ranges": {}}, r"ranges must be a non-empty mapping"),
        ({"ranges": {"batch_size": []}}, r"ranges\['batch_size'\] is \[\]"),
        ({"ranges": {"lr": [0.0, 0.1, "log"]}}, r"ranges\['lr'\] = \[0.0, 0.1, 'log'\] needs"),
        (
            {"ranges": {"units": grids.Range(0.2, 0.8, "float")}, "defaults": {"units": 8}},
            r"ranges\['units'\] = \[0.2, 0.8, float\] holds no whole number",
        ),
    ],
)
def test_tpe_rejects_bad_arguments(kwargs, match):
    args = {"ranges": RANGES, "n_trials": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        TPEStrategy(**args)


# --------------------------------------------------------------------------- state and resume


def _halving():
    return HalvingStrategy(NINE, 1, 9)


def _hyperband():
    return HyperbandStrategy([{"q": i % 9, "i": i} for i in range(17)], 1, 9)


def _tpe():
    return TPEStrategy(RANGES, 12, seed=5, workers=2, n_startup_trials=4)


def _run_partly(strategy: Strategy, evaluate, n_tells: int) -> None:
    """Ask and tell one at a time (the oldest running first) until ``n_tells`` told."""
    for _ in range(n_tells):
        strategy.ask()
        spec = strategy.running[0]
        strategy.tell(
            spec, evaluate(spec) if "q" in spec.params else tpe_objective(spec), STATUS_COMPLETED
        )


def _finish(strategy: Strategy) -> list[tuple]:
    """Run to the end one at a time; every (trial, rung, params, epochs, initial_epoch) asked."""
    asked = []
    while not strategy.finished:
        asked += [(s.trial, s.rung, s.params, s.epochs, s.initial_epoch) for s in strategy.ask()]
        spec = strategy.running[0]
        score = spec.params["q"] / 10 + spec.epochs / 100 if "q" in spec.params else None
        strategy.tell(spec, tpe_objective(spec) if score is None else score, STATUS_COMPLETED)
    return asked


@pytest.mark.parametrize("make, n_tells", [(_halving, 11), (_hyperband, 20), (_tpe, 5)])
def test_state_replays_to_the_same_asks(make, n_tells):
    original = make()
    _run_partly(original, fake_evaluate(), n_tells)
    state = json.loads(json.dumps(original.state()))  # JSON-ready
    restored = Strategy.from_state(state)
    assert type(restored) is type(original)
    assert restored.running == original.running  # asked, not told: run again or tell
    assert restored.outcomes == original.outcomes
    assert [s.key for s in restored.pruned()] == [s.key for s in original.pruned()]
    assert _finish(restored) == _finish(original)
    # a fresh strategy told the same results in the same order asks the same
    fresh = make()
    fresh._replay(original.state()["log"])
    assert fresh.outcomes == original.outcomes and fresh.finished


def test_from_state_refuses_changed_combinations_and_bad_states():
    strategy = _halving()
    _run_partly(strategy, fake_evaluate(), 3)
    state = strategy.state()
    state["config"]["combinations"][0] = {"q": 99}
    with pytest.raises(ValueError, match=r"log entry 0: ask\(\) returned .* the combinations or"):
        Strategy.from_state(state)
    with pytest.raises(ValueError, match=r"state lacks \['log'\]"):
        Strategy.from_state({"strategy": "grid", "config": {}})
    with pytest.raises(ValueError, match=r"state\['strategy'\] = 'bayes' is not one of"):
        Strategy.from_state({"strategy": "bayes", "config": {}, "log": []})


# --------------------------------------------------------------------------- finalists


def _outcome(trial, q, score, status=STATUS_COMPLETED, epochs=None, rung=0):
    return Outcome(TrialSpec(trial, {"q": q}, rung=rung, epochs=epochs), score, status)


def test_finalists_rank_by_epochs_reached_then_score_then_trial():
    results = [
        _outcome(1, 1, 0.80, epochs=1),
        _outcome(2, 2, 0.95, epochs=1),  # pruned at 1 epoch: its 0.95 is not comparable
        _outcome(3, 3, 0.70, epochs=1),
        _outcome(1, 1, 0.85, epochs=3, rung=1),
        _outcome(3, 3, 0.88, epochs=3, rung=1),
        _outcome(3, 3, 0.90, epochs=9, rung=2),
        _outcome(2, 2, 0.95, STATUS_PRUNED, epochs=1),
    ]
    top = finalists(results, 2)
    assert [(o.spec.trial, o.spec.epochs, o.score) for o in top] == [(3, 9, 0.90), (1, 3, 0.85)]
    assert [o.spec.trial for o in finalists(results, 5)] == [3, 1, 2]


def test_finalists_skip_failed_and_average_equal_budgets_and_break_ties_by_trial():
    results = [
        _outcome(1, 1, 0.80),
        _outcome(2, 2, None, STATUS_FAILED),
        _outcome(3, 3, 0.90),
        _outcome(4, 1, 0.90),  # configuration q=1 again: mean 0.85
        _outcome(5, 5, 0.90),  # tied with trial 3: the lower trial first
        _outcome(6, 6, float("nan")),
    ]
    top = finalists(results, 3)
    assert [(o.spec.trial, o.score) for o in top] == [
        (3, 0.90),
        (5, 0.90),
        (1, pytest.approx(0.85)),
    ]
    assert finalists([], 3) == []
    with pytest.raises(ValueError, match=r"k must be a whole number >= 1; got 0"):
        finalists(results, 0)


def test_finalists_of_a_halving_search_put_the_fully_trained_first():
    strategy = _halving()
    drive(strategy, fake_evaluate())
    top = finalists(strategy.outcomes, 3)
    assert [(o.spec.trial, o.spec.epochs) for o in top] == [(4, 9), (2, 3), (8, 3)]


def test_repeat_specs_rerun_each_finalist_with_each_seed():
    top = [_outcome(3, 3, 0.9, epochs=9, rung=2), _outcome(1, 1, 0.8, epochs=3, rung=1)]
    specs = repeat_specs(top, 3, seeds=10, first_trial=18)
    assert [(s.trial, s.params, s.seed, s.epochs) for s in specs] == [
        (18, {"q": 3}, 10, 9), (19, {"q": 3}, 11, 9), (20, {"q": 3}, 12, 9),
        (21, {"q": 1}, 10, 3), (22, {"q": 1}, 11, 3), (23, {"q": 1}, 12, 3),
    ]  # fmt: skip
    assert all(s.rung == 0 and s.initial_epoch == 0 and "seed" not in s.params for s in specs)
    fixed = repeat_specs([{"q": 3}], 2, seeds=[7, 1], first_trial=1, epochs=5)
    assert [(s.trial, s.seed, s.epochs) for s in fixed] == [(1, 7, 5), (2, 1, 5)]
    with pytest.raises(ValueError, match=r"seeds must be 3 whole numbers .* got \[1, 2\]"):
        repeat_specs(top, 3, seeds=[1, 2], first_trial=1)
    with pytest.raises(ValueError, match=r"repeats must be a whole number >= 1; got 0"):
        repeat_specs(top, 0, seeds=1, first_trial=1)


def test_from_state_refuses_a_config_that_does_not_fit():
    with pytest.raises(ValueError, match=r"state\['config'\] does not fit GridStrategy"):
        Strategy.from_state({"strategy": "grid", "config": {"grid": []}, "log": []})
