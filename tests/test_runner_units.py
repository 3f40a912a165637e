"""The runner's pure parts: flags of strategies, ranking of rungs, the finalists' verdict,
the executors' submit / next_done. No kernel starts here."""

from __future__ import annotations

import io
import math
import threading
import time
from pathlib import Path

import pytest

from tennis_lab.evaluation import mean_interval
from tennis_lab.executors import DaskExecutor, SequentialExecutor
from tennis_lab.paths import notebooks_dir
from tennis_lab.results import row_key, run_name, trial_file
from tennis_lab.search import (
    SearchConfig,
    SearchError,
    best_row,
    epoch_budget,
    finalist_verdict,
    format_summary,
    plan,
    ranked_rows,
    strategy_of,
    tunable_defaults,
    verdict_lines,
)


@pytest.fixture(scope="module")
def defaults():
    return tunable_defaults(notebooks_dir() / "train.ipynb")


def row(trial, score, status="COMPLETED", rung=0, budget=None, phase="search", **kw):
    return {
        "run_number": trial, "trial": trial, "rung": rung, "epochs_budget": budget,
        "phase": phase, "status": status, "error": "", "run_id": f"r{trial}{rung}",
        "config_id": kw.pop("cid", f"c{trial}"), "val_stroke_macro_f1": score,
        "test_stroke_macro_f1": score, "worst_group_macro_f1": score,
        "macro_avg_f1_score": score, "test_accuracy": score, "training_time_minutes": 0.1,
        **kw,
    }  # fmt: skip


def test_names_of_later_rungs_say_the_rung():
    assert run_name("small", 7) == "r007 · grid_search_small"
    assert run_name("small", 7, rung=2) == "r007.2 · grid_search_small"
    assert run_name("small", 7, 2, {"dropout_rates": [0.3, 0.2]}, ["dropout_rates"]) == (
        "r007.2 drop0.3-0.2 · grid_search_small"
    )
    assert trial_file("/r", 7, "abc", ".ipynb").name == "007-abc.ipynb"
    assert trial_file("/r", 7, "abc", ".ipynb", rung=1).name == "007-abc-rung1.ipynb"
    assert row_key({"run_number": 3}) == (3, 0)  # a row of an older search
    assert row_key({"run_number": 3, "trial": 3, "rung": 2.0}) == (3, 2)


def test_ranking_uses_each_trials_last_rung_and_more_epochs_first():
    rows = [
        row(1, 0.99, budget=1),  # a high score after one epoch, then pruned
        row(2, 0.70, budget=1),
        row(2, 0.80, rung=1, budget=3),
        row(3, 0.60, budget=1),
        row(3, 0.85, rung=1, budget=3),
        row(9, 0.999, phase="repeat"),  # a repeat is not a search trial
    ]
    rows[0]["status"] = "PRUNED"
    ranked = ranked_rows(rows)
    assert [(r["trial"], r["rung"]) for r in ranked] == [(3, 1), (2, 1)]
    mixed = [row(1, 0.9, budget=1), row(2, 0.5, rung=1, budget=3)]
    assert [r["trial"] for r in ranked_rows(mixed)] == [2, 1]  # 3 epochs outrank 1


def test_the_verdict_gives_means_intervals_and_names_a_tie():
    reps = [
        row(5, 0.90, phase="repeat", cid="a", finalist_trial=1),
        row(6, 0.92, phase="repeat", cid="a", finalist_trial=1),
        row(7, 0.91, phase="repeat", cid="b", finalist_trial=2),
        row(8, 0.89, phase="repeat", cid="b", finalist_trial=2),
        row(9, 0.50, phase="repeat", cid="c", finalist_trial=3),
        row(10, 0.51, phase="repeat", cid="c", finalist_trial=3),
    ]
    verdict = finalist_verdict(reps)
    assert [v["config_id"] for v in verdict] == ["a", "b", "c"]
    mean, low, high = mean_interval([0.90, 0.92])
    assert math.isclose(verdict[0]["mean"], mean) and math.isclose(verdict[0]["low"], low)
    assert math.isclose(verdict[0]["high"], high)
    assert [v["tied"] for v in verdict] == [True, True, False]
    text = "\n".join(verdict_lines(reps))
    assert "Verdict: TIED. trial 1, trial 2 are statistically tied" in text
    assert "one-sided Welch's t-test at the 5% level" in text
    assert "worse than the best (p = " in text
    clear = [r for r in reps if r["config_id"] != "b"]
    assert "Verdict: trial 1 is ahead of the other finalists" in "\n".join(verdict_lines(clear))
    assert verdict_lines([row(1, 0.9)]) == []  # no finalists, no block


def test_summary_counts_pruned_and_failed_apart(tmp_path):
    rows = [
        row(1, 0.9, status="PRUNED", budget=1),
        row(2, 0.8, budget=1),
        row(2, 0.85, rung=1, budget=3, epochs_trained=2),  # early stopping within the budget
        row(3, None, status="FAILED", budget=1, error="ValueError: bad"),
    ]
    text = format_summary(rows, tmp_path / "r.csv", 60.0, ["lstm_layers"])
    assert "1 completed, 1 failed, 1 pruned at a rung" in text
    assert "Run: 2" in text and "Epochs=2/3" in text  # as trained, the budget beside it
    assert "1 x ValueError: bad  (runs 3)" in text


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"strategy": "bayes"}, "--strategy 'bayes' is not one of grid, random"),
        ({"strategy": "tpe", "random": True}, "Drop --random"),
        ({"min_epochs": 2}, "--min-epochs goes with --strategy halving or hyperband"),
        ({"strategy": "halving", "eta": 1}, "--eta must be at least 2"),
        ({"finalists": 2, "repeats": 1}, r"--repeats must be at least 2 \(an interval"),
        ({"repeats": 3}, "--finalists K and --repeats N go together"),
        ({"strategy": "hyperband", "epochs": 9}, "use --max-epochs 9"),
        ({"strategy": "halving", "min_epochs": 9, "max_epochs": 3}, "is above --max-epochs 3"),
    ],
)
def test_bad_strategy_flags_are_refused_before_anything_runs(defaults, kw, message):
    with pytest.raises(SearchError, match=message):
        plan(SearchConfig(**kw), defaults, check=False)


def test_strategy_defaults_and_the_printed_budget(defaults, capsys):
    assert strategy_of(SearchConfig()) == "grid"
    assert strategy_of(SearchConfig(random=True)) == "random"
    low, high, eta = epoch_budget(SearchConfig(strategy="halving"), defaults)
    assert (low, high, eta) == (3, defaults["epochs"], 3)
    assert epoch_budget(SearchConfig(max_epochs=2), defaults)[0] == 2  # min <= max
    _, combos, overrides = plan(
        SearchConfig(strategy="halving", min_epochs=1, max_epochs=9), defaults, check=False
    )
    assert len(combos) == 4 and "epochs" not in overrides
    out = capsys.readouterr().out
    # 4 x 1 epoch, 2 continue to 3, 1 to 9: 4 + 2 x 2 + 1 x 6 epochs.
    assert "rungs of trials x epochs 4 x 1, 2 x 3, 1 x 9; at most 14 epochs" in out
    assert "the full grid 36" in out


def test_a_grid_that_sets_epochs_cannot_be_halved(defaults, tmp_path):
    from tennis_lab.grids import GridError

    path = tmp_path / "g.yaml"
    path.write_text("grid:\n  lstm_layers: [[8]]\n  epochs: [3, 9]\n")
    with pytest.raises(GridError, match="budgets the epochs rung by rung"):
        plan(SearchConfig(grid=str(path), strategy="halving"), defaults, check=False)


def test_tpe_plans_a_sample_of_its_ranges_to_check(defaults, capsys):
    _, combos, _ = plan(SearchConfig(strategy="tpe", n_trials=4), defaults, check=False)
    assert len(combos) == 4
    assert "TPE search: 4 trials over the ranges of random" in capsys.readouterr().out


def double(item, cpu_threads):
    if item == "bad":
        raise ValueError("bad item")
    Path(item).write_text(str(cpu_threads))


def test_sequential_submit_runs_one_job_per_next_done(tmp_path):
    ex = SequentialExecutor()
    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    ex.submit(double, first)
    ex.submit(double, "bad")
    ex.submit(double, second)
    assert ex.in_flight == 3 and not Path(first).exists()
    assert ex.next_done() == (first, None) and Path(first).is_file()
    item, error = ex.next_done()
    assert item == "bad" and isinstance(error, ValueError)
    assert ex.next_done() == (second, None) and ex.in_flight == 0
    with pytest.raises(IndexError):
        ex.next_done()


class Steps:
    """Jobs for an overlapping executor whose every step the test releases by hand:
    a head (kernel, data), the main work (training) and a tail (evaluation, logging)."""

    def __init__(self) -> None:
        self.events: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.running: set[str] = set()
        self.training: set[str] = set()
        self.most_at_once = 0
        self.most_training = 0

    def event(self, name: str) -> threading.Event:
        with self.lock:
            return self.events.setdefault(name, threading.Event())

    def wait(self, name: str) -> None:
        assert self.event(name).wait(10), f"{name} never came"

    def job(self, item: str, cpu_threads: int, slot) -> str:
        with self.lock:
            self.started.append(item)
            self.running.add(item)
            self.most_at_once = max(self.most_at_once, len(self.running))
        self.event(f"{item} started").set()
        try:
            if item == "bad":
                raise ValueError("bad item")
            slot.stop_with(self.event(f"{item} stopped").set)
            self.wait(f"{item} prepared")
            slot.wait_turn()
            with self.lock:
                self.training.add(item)
                self.most_training = max(self.most_training, len(self.training))
            self.event(f"{item} training").set()
            slot.handover()
            self.wait(f"{item} trained")
            with self.lock:
                self.training.discard(item)
            slot.main_done()
            self.wait(f"{item} done")
        finally:
            with self.lock:
                self.running.discard(item)
        return item

    def release(self, *names: str) -> None:
        for name in names:
            self.event(name).set()


def test_overlapping_executor_overlaps_heads_and_tails_but_never_two_trainings():
    steps = Steps()
    with SequentialExecutor(overlap=True) as ex:
        assert ex.workers == 1 and ex.capacity == 2
        for item in ("a", "b", "c"):
            ex.submit(steps.job, item)
        assert ex.in_flight == 3
        steps.wait("a started")
        assert not steps.event("b started").wait(0.3)  # a has not begun training
        steps.release("a prepared")
        steps.wait("b started")  # a trains: b prepares meanwhile
        steps.release("b prepared")
        assert not steps.event("b training").wait(0.3)  # a still trains
        steps.release("a trained")
        steps.wait("b training")  # a is being evaluated while b trains
        assert steps.running == {"a", "b"}
        assert not steps.event("c started").wait(0.3)  # two run already
        steps.release("a done")
        assert ex.next_done() == ("a", None)
        steps.wait("c started")
        steps.release("c prepared")
        assert not steps.event("c training").wait(0.3)  # b still trains
        steps.release("b trained", "b done", "c trained", "c done")
        assert {ex.next_done()[0], ex.next_done()[0]} == {"b", "c"}
        assert ex.in_flight == 0
        with pytest.raises(IndexError):
            ex.next_done()
    assert steps.started == ["a", "b", "c"]
    assert steps.most_at_once == 2 and steps.most_training == 1


def test_a_short_job_that_ends_first_is_returned_after_the_one_it_overlapped():
    # a's scoring runs behind b's training: a short b can end before a does, and its
    # result must still come second (the console and the CSV read run by run)
    steps = Steps()
    with SequentialExecutor(overlap=True) as ex:
        ex.submit(steps.job, "a")
        ex.submit(steps.job, "b")
        steps.release("a prepared", "a trained", "b prepared", "b trained", "b done")
        deadline = time.monotonic() + 10
        while (steps.started != ["a", "b"] or "b" in steps.running) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert steps.started == ["a", "b"] and steps.running == {"a"}  # b has ended, a not
        returned: list = []
        waiter = threading.Thread(target=lambda: returned.append(ex.next_done()), daemon=True)
        waiter.start()
        waiter.join(0.5)
        assert returned == []  # b is not handed out ahead of a
        steps.release("a done")
        waiter.join(10)
        assert returned == [("a", None)]
        assert ex.next_done() == ("b", None)
        assert ex.in_flight == 0


def test_a_job_that_fails_before_handing_over_lets_the_next_start_and_train():
    steps = Steps()
    steps.release("ok prepared", "ok trained", "ok done")
    with SequentialExecutor(overlap=True) as ex:
        outcomes = dict(ex.run(steps.job, ["bad", "ok"]))
    assert isinstance(outcomes["bad"], ValueError) and outcomes["ok"] is None
    assert steps.started == ["bad", "ok"]


def test_closing_an_overlapping_executor_stops_its_running_jobs_and_drops_the_rest():
    steps = Steps()
    ex = SequentialExecutor(overlap=True)
    ex.submit(steps.job, "a")
    ex.submit(steps.job, "b")
    steps.wait("a started")

    def stop_a() -> None:  # what stopping a run does: its kernel dies, the run ends
        steps.event("a stopped").wait(10)
        steps.release("a prepared", "a trained", "a done")

    threading.Thread(target=stop_a, daemon=True).start()
    ex.close()
    assert steps.event("a stopped").is_set() and not steps.running
    assert steps.started == ["a"]  # b never began


def test_a_relay_holds_a_runs_output_until_released():
    from tennis_lab.search.execution import Relay

    out = io.StringIO()
    live, held = Relay(out, held=False), Relay(out, held=True)
    live.write("run 1 header\n")
    held.write("run 2 header\n")
    held.flush()
    live.write("run 1 complete\n")
    assert out.getvalue() == "run 1 header\nrun 1 complete\n"
    held.release()
    held.write("run 2 epoch 1\n")
    assert out.getvalue().endswith("run 1 complete\nrun 2 header\nrun 2 epoch 1\n")


@pytest.mark.slow
def test_dask_submit_keeps_jobs_in_flight_until_next_done(tmp_path):
    with DaskExecutor(workers=2) as ex:
        items = [str(tmp_path / f"f{i}") for i in range(3)]
        for item in items[:2]:
            ex.submit(double, item)
        assert ex.in_flight == 2
        done = {ex.next_done()[0]}
        ex.submit(double, items[2])
        done |= {ex.next_done()[0], ex.next_done()[0]}
        assert done == set(items) and ex.in_flight == 0
        assert all(Path(i).read_text() == "1" for i in items)  # 2 cores / 2 workers


def test_tpe_over_a_grid_file_names_the_search_after_the_grid(defaults, tmp_path, capsys):
    path = tmp_path / "two_sizes.yaml"
    path.write_text(
        "fixed:\n  dropout_rates: [0.1, 0.1]\n"
        "grid:\n  lstm_layers: [[8], [12]]\n  learning_rate: [0.01, 0.002]\n"
    )
    grid, combos, _ = plan(
        SearchConfig(grid=str(path), strategy="tpe", n_trials=2), defaults, check=False
    )
    assert grid.name == "two_sizes" and len(combos) == 2
    assert "over the ranges of grid 'two_sizes'" in capsys.readouterr().out


def test_the_parent_run_summary_names_the_champions_run_and_counts(monkeypatch):
    from tennis_lab.search import parent_summary

    rows = [row(1, 0.8), row(2, 0.9), row(3, None, status="FAILED"),
            row(4, 0.5, status="PRUNED")]  # fmt: skip
    tags, metrics = parent_summary(rows, "FINISHED")
    assert tags["status"] == "COMPLETED" and tags["best_run_id"] == "r20"
    assert metrics["best_val_stroke_macro_f1"] == 0.9 and metrics["best_test_accuracy"] == 0.9
    assert (metrics["runs_completed"], metrics["runs_failed"], metrics["runs_pruned"]) == (2, 1, 1)
    assert parent_summary(rows, "KILLED")[0]["status"] == "KILLED"
    tags, metrics = parent_summary([row(1, None, status="FAILED")], "FAILED")
    assert tags == {"status": "FAILED"} and metrics["runs_failed"] == 1


def test_the_summary_says_how_to_open_the_store_the_search_used(monkeypatch, tmp_path):
    from tennis_lab.paths import default_tracking_uri
    from tennis_lab.search import viewing_hint

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert viewing_hint(default_tracking_uri(), "s1")[0].endswith("MLflow: make mlflow-ui")
    own = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    ui, _, report = viewing_hint(own, "s1")
    assert f"mlflow ui --backend-store-uri {own}" in ui and f"TRACKING_URI={own}" in ui
    assert "tennis-lab report --search s1" in report and "make report SEARCH=s1" in report
    served = viewing_hint("http://127.0.0.1:5005", experiment_id="3")
    assert served[0].endswith(
        "open http://127.0.0.1:5005/#/experiments/3?workflowType=machine_learning"
    )
    lines = viewing_hint(own, "s1", "7")
    assert (
        lines[1]
        == "   then open http://127.0.0.1:5000/#/experiments/7?workflowType=machine_learning"
    )
    text = format_summary([row(1, 0.9), row(2, 0.8)], Path("r.csv"), 60, ["lstm_layers"], own)
    assert f"--backend-store-uri {own}" in text


def test_the_top_five_show_the_parameters_that_vary_among_them():
    rows = [row(1, 0.9, lstm_layers=[128, 64], learning_rate=0.001, dense_units=32),
            row(2, 0.8, lstm_layers=[64, 32], learning_rate=0.001, dense_units=32)]  # fmt: skip
    text = format_summary(rows, Path("r.csv"), 60, ["dense_units", "learning_rate", "lstm_layers"])
    assert "        lstm_layers=128-64\n" in text and "        lstm_layers=64-32\n" in text
    assert "learning_rate=" not in text.split("TOP 5")[1]  # the same in both: not repeated


def test_no_overlap_flag_runs_each_notebook_after_the_previous_one():
    import argparse

    from tennis_lab.executors import make_executor
    from tennis_lab.search import add_arguments, config_from_args
    from tennis_lab.search.prepare import executor_of

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args([])).overlap_runs is True
    cfg = config_from_args(parser.parse_args(["--no-overlap"]))
    assert cfg.overlap_runs is False
    with executor_of(cfg) as ex:
        assert isinstance(ex, SequentialExecutor) and ex.capacity == 1
    with executor_of(SearchConfig()) as ex:
        assert ex.overlap and ex.capacity == 2 and ex.workers == 1
    assert make_executor().capacity == 1  # a plain sequential executor, as before


def test_a_finished_run_yields_the_cpu_with_every_thread_of_its_process():
    """yield_cpu lowers the priority of the threads a process already has, not its main only."""
    import os
    import subprocess
    import sys

    from tennis_lab.kernels import yield_cpu

    code = (
        "import os, threading, time\n"
        "os.setsid()\n"  # a session of its own, as a kernel's
        "for _ in range(3): threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "print('ready', flush=True); time.sleep(30)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        threads = [int(t) for t in os.listdir(f"/proc/{child.pid}/task")]
        before = {t: os.getpriority(os.PRIO_PROCESS, t) for t in threads}
        assert len(threads) == 4
        mine = Path("/proc/self/autogroup")
        ours = mine.read_text() if mine.exists() else None
        assert yield_cpu(child.pid, 5) == 4
        after = {t: os.getpriority(os.PRIO_PROCESS, t) for t in threads}
        assert after == {t: min(19, nice + 5) for t, nice in before.items()}
        if ours is not None:  # its session group, not this test's
            assert Path(f"/proc/{child.pid}/autogroup").read_text().split()[-1] == "5"
            assert mine.read_text() == ours
    finally:
        child.kill()
        child.wait()
    assert yield_cpu(child.pid) == 0  # gone: nothing to lower, no error


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no session groups")
def test_a_kernel_waiting_its_turn_runs_behind_and_then_claims_its_priority_back():
    """The session group's niceness (what counts where Linux groups by session) goes to
    YIELD_NICENESS and back to 0 without privilege, as a kernel started ahead needs."""
    import subprocess
    import sys

    from tennis_lab.kernels import YIELD_NICENESS, claim_cpu, wait_cpu

    code = "import os, time; os.setsid(); print('ready', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    group = Path(f"/proc/{child.pid}/autogroup")
    try:
        assert child.stdout.readline().strip() == "ready"
        assert group.read_text().split()[-1] == "0"
        assert wait_cpu(child.pid)
        assert group.read_text().split()[-1] == str(YIELD_NICENESS)
        assert claim_cpu(child.pid)
        assert group.read_text().split()[-1] == "0"
    finally:
        child.kill()
        child.wait()
    assert not claim_cpu(child.pid)  # gone


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no session groups")
def test_a_process_in_this_session_never_changes_this_sessions_group():
    """A kernel launched without a session of its own shares the search's group: that
    group (the search's, the user's shell's) keeps its priority."""
    import subprocess
    import sys

    from tennis_lab.kernels import wait_cpu, yield_cpu

    mine = Path("/proc/self/autogroup")
    ours = mine.read_text()
    code = "import time; print('ready', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert not wait_cpu(child.pid)
        yield_cpu(child.pid)
        assert mine.read_text() == ours
    finally:
        child.kill()
        child.wait()


# --------------------------------------------------------------------------- the verdict


def scored(tmp_path, trial, preds, truth, **kw):
    """A search row whose result file holds its validation strokes' predictions."""
    import json

    notebook = tmp_path / f"{trial:03d}-c{trial}.ipynb"
    strokes = {"video": ["v"] * len(truth), "start": list(range(len(truth))),
               "fold": [None] * len(truth), "true": list(truth), "pred": list(preds)}  # fmt: skip
    notebook.with_suffix(".json").write_text(json.dumps({"val_strokes": strokes}))
    from tennis_lab.evaluation import macro_f1

    return row(trial, macro_f1(truth, preds), notebook=str(notebook), **kw)


def test_equal_scores_share_a_rank_and_one_row_is_the_winner(tmp_path):
    from tennis_lab.search import standings

    truth = [0, 1] * 30
    wrong = [1 - t if i < 3 else t for i, t in enumerate(truth)]
    rows = [scored(tmp_path, 1, wrong, truth), scored(tmp_path, 2, truth, truth),
            scored(tmp_path, 3, truth, truth), scored(tmp_path, 4, [0] * 60, truth)]  # fmt: skip
    stand = standings(rows)
    assert [(r["run_number"], r["rank"]) for r in stand.ranked] == [(2, 1), (3, 1), (1, 3), (4, 4)]
    assert [r["run_number"] for r in rows if r["winner"]] == [2] and stand.winner is rows[1]
    assert stand.winner is best_row(rows)  # the champion's rule is the same
    # 3 wrong strokes of 60 cannot be told from none; always "forehand" can
    assert [r["tied_with_best"] for r in stand.ranked] == [True, True, True, False]
    assert [r["run_number"] for r in stand.undecided] == [2, 3, 1]
    assert stand.ranked[3]["diff_ci_low"] > 0 and stand.ranked[2]["diff_ci_low"] <= 0
    # a run scored on other strokes (another split) is not compared, not called tied
    other = scored(tmp_path, 5, truth[:40], truth[:40])
    stand = standings([scored(tmp_path, 1, truth, truth), other])
    assert math.isnan(other["diff_ci_low"]) and other["tied_with_best"] is False
    assert stand.undecided == []


def test_the_summary_says_undecided_instead_of_crowning_and_names_the_ceiling(tmp_path):
    truth = [0, 1, 2] * 10
    rows = [scored(tmp_path, 1, truth, truth, val_strokes=30.0),
            scored(tmp_path, 2, truth[:-1] + [0], truth)]  # fmt: skip
    text = format_summary(rows, tmp_path / "r.csv", 60.0, ["lstm_layers"])
    assert "UNDECIDED between runs 1 and 2: these scores cannot separate them (paired " \
        "bootstrap over the validation strokes, 95% interval of the difference)" in text
    assert "Run 1 is registered, first by the rule (the higher score, then the earlier run)" \
        in text and "--finalists" in text
    assert "Validation at its ceiling (1.0000 on 30 validation strokes)" in text
    assert "   2. Rank 2, ValF1=" in text and "(cannot be separated from the best)" in text
    quiet = format_summary(rows, tmp_path / "r.csv", 60.0, [], registers=False)  # --no-register
    assert "Run 1 is named, first by the rule" in quiet and "champion" not in quiet
    rows = [scored(tmp_path, 1, truth, truth), scored(tmp_path, 2, [0] * 30, truth)]
    text = format_summary(rows, tmp_path / "r.csv", 60.0, ["lstm_layers"])
    assert "UNDECIDED" not in text and "Run 1 is ahead of the runs below it" in text


def test_the_console_gives_the_score_to_expect_on_a_new_player():
    from tennis_lab.search.console import new_group_line

    row = {"new_group_macro_f1": 0.9706, "new_group_macro_f1_min": 0.7267,
           "new_group_macro_f1_max": 1.0, "new_groups": 20.0, "split_by_resolved": "player"}
    assert new_group_line(row) == (
        "To expect on a new player: 0.971 (held-out players 0.73–1.00, 20 players): the "
        "number to quote"
    )
    assert new_group_line({"val_stroke_macro_f1": 0.9}) is None  # one split: no estimate


def test_with_finalists_the_winner_is_the_best_mean_and_its_best_repeat(tmp_path):
    from tennis_lab.search import standings

    rows = [
        row(1, 0.99), row(2, 0.95),  # the search: trial 1 looked best
        row(3, 0.90, phase="repeat", cid="c1", finalist_trial=1),
        row(4, 0.91, phase="repeat", cid="c1", finalist_trial=1),
        row(5, 0.94, phase="repeat", cid="c2", finalist_trial=2),
        row(6, 0.96, phase="repeat", cid="c2", finalist_trial=2),
    ]
    stand = standings(rows)
    assert stand.finalists and stand.winner["run_number"] == 6  # best mean, its best repeat
    assert stand.winner is best_row(rows)
    assert [(r["run_number"], r["rank"]) for r in stand.ranked] == [(6, 1), (4, 2)]
    text = format_summary(rows, tmp_path / "r.csv", 60.0, [])
    assert "Run: 6 (the best-scoring repeat of finalist trial 2" in text
    assert "     2. Finalist (ranked by its repeats), ValF1=0.9500" in text


def test_repeats_keep_the_finalists_split_unless_asked(tmp_path):
    from tennis_lab.search import repeats_varied
    from tennis_lab.search.jobs import Jobs

    session = Jobs.__new__(Jobs)
    session.state = type("S", (), {"settings": {"repeat_over": "seeds"}})()
    assert session._repeat_seeds({"seed": 42}, 43) == {"seed": 43, "split_seed": 42}
    assert session._repeat_seeds({"seed": 42, "split_seed": 7}, 43) == {"seed": 43, "split_seed": 7}
    session.state.settings["repeat_over"] = "splits"
    assert session._repeat_seeds({"seed": 42}, 43) == {"split_seed": 43}
    session.state.settings["repeat_over"] = "both"
    assert session._repeat_seeds({"seed": 42}, 43) == {"seed": 43, "split_seed": None}
    reps = [row(3, 0.9, phase="repeat", cid="a", seed=s, split_seed=42) for s in (43, 44)]
    assert repeats_varied(reps) == "the training seed, on the finalist's own split"
    reps = [row(3, 0.9, phase="repeat", cid="a", seed=s, split_seed=None) for s in (43, 44)]
    assert repeats_varied(reps) == "the training seed and the split"


def test_the_report_command_printed_finds_a_search_in_another_output_folder(tmp_path):
    from tennis_lab.search import viewing_hint

    lines = viewing_hint(None, "s1", output_dir=tmp_path / "elsewhere")
    assert f"tennis-lab report --search s1 --output-dir {tmp_path / 'elsewhere'}" in lines[-1]
    assert "--output-dir" not in viewing_hint(None, "s1")[-1]


def test_a_metric_never_hides_a_parameter_of_the_same_name():
    from tennis_lab.results import result_row

    r = result_row(1, "c", {"cv_folds": "loo"}, "COMPLETED", Path("1.ipynb"),
                   {"metrics": {"cv_folds": 6.0, "macro_avg_f1_score": 0.9},
                    "warnings": ["weak player x", "gap"]})  # fmt: skip
    assert r["cv_folds"] == "loo" and r["warnings"] == "weak player x | gap"


def test_weak_group_adds_players_below_a_threshold_once(tmp_path):
    from tennis_lab.evaluation import (
    run_warnings,
)
    from tennis_lab.search import SearchConfig, SearchError, main

    result = {
        "warnings": ["weak player carla: test macro F1 0.500, 0.45 below the other players' "
                     "mean 0.950"],
        "data": {"split_by": "player"},
        "groups": [{"group": "carla", "macro_f1": 0.5}, {"group": "bruno", "macro_f1": 0.9},
                   {"group": "ana", "macro_f1": 1.0}],
    }  # fmt: skip
    assert run_warnings(result) == result["warnings"]
    lines = run_warnings(result, weak_group=0.92)
    assert lines[0] == result["warnings"][0] and len(lines) == 2  # carla not twice
    assert lines[1] == "weak player bruno: test macro F1 0.900, below the threshold 0.92"
    assert SearchConfig().weak_group is None
    with pytest.raises(SearchError, match="--weak-group is a macro F1 between 0 and 1"):
        from tennis_lab.search.planning import check_strategy_flags

        check_strategy_flags(SearchConfig(weak_group=80), "grid")
    assert main(["--weak-group", "1.5", "--show-grid"]) == 2
