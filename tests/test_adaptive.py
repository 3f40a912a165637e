"""Adaptive searches end to end: successive halving, TPE, finalists with repeats.

Real papermill kernels, real TensorFlow training (one tiny LSTM layer, a few epochs,
the six-video demo dataset), a real SQLite MLflow store, a real Dask LocalCluster and
a real Optuna study.
"""

from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import TINY_MODEL

from tennis_lab.evaluation import mean_interval, tied_with_best
from tennis_lab.search import SearchConfig, SearchError, run_search
from tennis_lab.tracking import runs_dataframe

pytestmark = pytest.mark.slow  # trains models and starts kernels

FIXED = {
    **{k: v for k, v in TINY_MODEL.items() if k not in ("lstm_layers", "epochs")},
    "window_size": 30,
    "overlap": 15,
}
FOUR = {"lstm_layers": [[8], [12]], "learning_rate": [0.01, 0.002]}


def write_grid(path: Path, grid, fixed=FIXED) -> Path:
    path.write_text(yaml.safe_dump({"description": "test grid", "fixed": fixed, "grid": grid}))
    return path


def config(tmp: Path, grid: Path | str, data: Path, **kw) -> SearchConfig:
    return SearchConfig(
        grid=str(grid), data_dir=str(data), output_dir=str(tmp / "output"),
        reports_dir=str(tmp / "reports"), tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}",
        experiment="adaptive_test", stream_output=False, **{"register_as": None, **kw},
    )  # fmt: skip


def state_of(cfg: SearchConfig) -> dict:
    return json.loads(next(Path(cfg.output_dir, "searches").glob("*.json")).read_text())


def kids(cfg: SearchConfig) -> pd.DataFrame:
    state = state_of(cfg)
    return runs_dataframe(
        "adaptive_test", tracking_uri=cfg.tracking_uri, parent_run_id=state["parent_run_id"]
    )


def csv_of(cfg: SearchConfig) -> pd.DataFrame:
    (csv,) = Path(cfg.output_dir).glob("grid_search_results_*.csv")
    return pd.read_csv(csv)


@pytest.fixture(scope="module")
def halving(tiny_demo, tmp_path_factory):
    """Four combinations, rungs of 1 and 3 epochs, eta 3, on two Dask workers."""
    tmp = tmp_path_factory.mktemp("halving")
    grid = write_grid(tmp / "four.yaml", FOUR)
    cfg = config(
        tmp, grid, tiny_demo, strategy="halving", min_epochs=1, max_epochs=3, eta=3, workers=2
    )
    console = io.StringIO()
    rows = run_search(cfg, console)
    return cfg, rows, console.getvalue()


def test_halving_runs_every_combination_then_continues_the_top_third(halving):
    cfg, rows, _ = halving
    table = csv_of(cfg)
    assert {"strategy", "trial", "rung", "epochs_budget", "phase"} <= set(table.columns)
    assert set(table["strategy"]) == {"halving"} and set(table["phase"]) == {"search"}
    first, second = table[table["rung"] == 0], table[table["rung"] == 1]
    assert sorted(first["trial"]) == [1, 2, 3, 4] and set(first["epochs_budget"]) == {1}
    assert len(second) == 2 and set(second["epochs_budget"]) == {3}  # ceil(4 / 3) continue
    # The two that continue are the best two of rung 0 by the selection metric.
    best_two = first.sort_values(["val_stroke_macro_f1", "trial"], ascending=[False, True])
    assert sorted(second["trial"]) == sorted(best_two["trial"].head(2))
    pruned = first[~first["trial"].isin(second["trial"])]
    assert set(pruned["status"]) == {"PRUNED"} and len(pruned) == 2
    assert set(first[first["trial"].isin(second["trial"])]["status"]) == {"COMPLETED"}
    assert set(second["status"]) == {"COMPLETED"}
    assert len(rows) == 6


def test_a_promoted_trial_continues_its_epochs_rather_than_restarting(halving):
    cfg, _, _ = halving
    table = csv_of(cfg)
    second = table[table["rung"] == 1]
    for _, row in second.iterrows():
        assert row["initial_epoch"] == 1
        assert row["epochs_trained"] == 3  # 1 from rung 0, then 2 more
        assert row["epochs_trained_this_run"] == 2
        assert (
            row["run_id"]
            != table[(table["trial"] == row["trial"]) & (table["rung"] == 0)]["run_id"].item()
        )
        assert Path(row["notebook"]).name.endswith("-rung1.ipynb")
        assert Path(row["notebook"]).is_file()
    # Spent checkpoints are gone once the search ends (the models are in MLflow).
    assert not list(Path(cfg.reports_dir).rglob("*.keras"))


def test_halving_children_carry_trial_rung_and_pruned_status_in_mlflow(halving):
    cfg, _, out = halving
    children = kids(cfg)
    assert len(children) == 6 and set(children["status"]) == {"FINISHED"}
    assert sorted(children["tags.status"]) == ["COMPLETED"] * 4 + ["PRUNED"] * 2
    assert sorted(children["tags.rung"].astype(int)) == [0, 0, 0, 0, 1, 1]
    names = set(children["run_name"])
    heads = sorted(n.split()[0] for n in names)  # r001 ... r004, then two promoted: r00N.1
    assert {h for h in heads if "." not in h} == {"r001", "r002", "r003", "r004"}
    assert len([h for h in heads if h.endswith(".1")]) == 2
    assert all(n.endswith(" · grid_search_four") for n in names)
    assert "SUCCESSIVE HALVING RUN" in out and "epochs 1 -> 3" in out
    assert "2 pruned at a rung" in out


def test_halving_refuses_a_grid_that_sets_epochs_and_the_epochs_flag(tiny_demo, tmp_path):
    grid = write_grid(tmp_path / "e.yaml", {"lstm_layers": [[8]], "epochs": [2, 4]})
    with pytest.raises(Exception, match="budgets the epochs rung by rung"):
        run_search(config(tmp_path, grid, tiny_demo, strategy="halving", max_epochs=3))
    fine = write_grid(tmp_path / "f.yaml", {"lstm_layers": [[8]]})
    with pytest.raises(SearchError, match="use --max-epochs 5"):
        run_search(config(tmp_path, fine, tiny_demo, strategy="halving", epochs=5))
    with pytest.raises(SearchError, match="--n-trials goes with --strategy tpe"):
        run_search(config(tmp_path, fine, tiny_demo, n_trials=3))
    with pytest.raises(SearchError, match="--finalists K and --repeats N go together"):
        run_search(config(tmp_path, fine, tiny_demo, finalists=2))
    assert not (tmp_path / "mlflow.db").exists()  # nothing started


def test_tpe_runs_its_trials_through_one_study_beside_the_search_state(tiny_demo, tmp_path):
    ranges = tmp_path / "space.yaml"
    ranges.write_text(
        yaml.safe_dump(
            {
                "ranges": {
                    **{k: [v] for k, v in FIXED.items()},
                    "lstm_layers": [[8], [12]],
                    "learning_rate": [0.001, 0.02, "log"],
                }
            }
        )  # fmt: skip
    )
    cfg = config(tmp_path, ranges, tiny_demo, strategy="tpe", n_trials=3, epochs=2)
    rows = run_search(cfg, io.StringIO())
    table = csv_of(cfg)
    assert len(rows) == 3 and sorted(table["trial"]) == [1, 2, 3]
    assert set(table["strategy"]) == {"tpe"} and set(table["status"]) == {"COMPLETED"}
    assert table["config_id"].is_unique  # TPE asked no configuration twice
    state = state_of(cfg)
    (study_file,) = Path(cfg.output_dir, "searches").glob("*.optuna.db")
    import optuna

    study = optuna.load_study(study_name="tennis_lab_tpe", storage=f"sqlite:///{study_file}")
    told = {
        t.user_attrs.get("tennis_lab_trial"): t.value
        for t in study.trials
        if t.state == optuna.trial.TrialState.COMPLETE and "tennis_lab_trial" in t.user_attrs
    }
    assert {int(k) for k in told} == {1, 2, 3}
    for _, row in table.iterrows():  # the study holds each run's selection metric
        assert math.isclose(told[row["trial"]], row["val_stroke_macro_f1"], rel_tol=1e-9)
    assert state["strategy"] == "tpe" and state["strategy_state"]["config"]["storage"]


def test_finalists_are_rerun_with_other_seeds_and_a_tie_is_named(tiny_demo, tmp_path):
    grid = write_grid(tmp_path / "two.yaml", {"lstm_layers": [[8], [12]]})
    cfg = config(tmp_path, grid, tiny_demo, epochs=2, finalists=2, repeats=2,
                 register_as="tennis_strokes")  # fmt: skip
    console = io.StringIO()
    run_search(cfg, console)
    out = console.getvalue()
    table = csv_of(cfg)
    search, repeats = table[table["phase"] == "search"], table[table["phase"] == "repeat"]
    assert len(search) == 2 and len(repeats) == 4
    assert sorted(repeats["trial"]) == [3, 4, 5, 6]
    assert sorted(set(repeats["seed"])) == [43, 44] and set(search["seed"]) == {42}
    assert set(repeats["config_id"]) == set(search["config_id"])
    # in the order the finalists' repeats ran (trial), so that equal means rank as the runner
    # ranks them: the finalist that ranked higher in the search stays first
    by_trial = repeats.sort_values("trial")
    groups = {
        cid: list(by_trial[by_trial["config_id"] == cid]["val_stroke_macro_f1"])
        for cid in by_trial["config_id"].unique()
    }
    expected = tied_with_best(groups, level=0.05)
    for cid, part in repeats.groupby("config_id"):
        mean, low, high = mean_interval(groups[cid], 0.95)
        assert part["finalist_mean"].nunique() == 1
        assert math.isclose(part["finalist_mean"].iloc[0], mean)
        assert math.isclose(part["finalist_ci_low"].iloc[0], low)
        assert math.isclose(part["finalist_ci_high"].iloc[0], high)
        assert bool(part["tied_with_best"].iloc[0]) == expected[cid]
    best_cid = next(iter(expected))
    assert set(repeats[repeats["config_id"] == best_cid]["finalist"]) == {1}
    assert "FINALISTS" in out and "one-sided Welch's t-test at the 5% level" in out
    assert ("Verdict: TIED" in out) == all(expected.values())
    children = kids(cfg)
    rep = children[children["tags.phase"] == "repeat"]
    assert len(rep) == 4 and set(rep["tags.tied_with_best"]) <= {"True", "False"}
    assert rep["metrics.finalist_mean"].notna().all()
    assert (rep["metrics.finalist_repeats"] == 2).all()  # how many seeds the interval is over
    # the parent run: the verdict, the champion's (best finalist's) figures and a true status
    from mlflow.tracking import MlflowClient

    parent = MlflowClient(tracking_uri=cfg.tracking_uri).get_run(state_of(cfg)["parent_run_id"])
    assert parent.data.tags["status"] == "COMPLETED" and "verdict" in parent.data.tags
    best = repeats[repeats["config_id"] == best_cid]
    assert parent.data.tags["best_run_id"] in set(best["run_id"])
    assert parent.data.metrics["finalist_1_mean"] == pytest.approx(best["finalist_mean"].iloc[0])
    # one winner: the CSV's, the console's, the parent's and the champion are the same run
    winner = table[table["winner"].fillna(False).astype(bool)]
    assert len(winner) == 1 and winner["rank"].iloc[0] == 1
    winner = winner.iloc[0]
    assert winner["config_id"] == best_cid and winner["phase"] == "repeat"
    assert parent.data.tags["best_run_id"] == winner["run_id"]
    assert f"   Run: {winner['run_number']} (the best-scoring repeat of finalist trial" in out
    from tennis_lab.tracking import model_version_by_alias

    assert model_version_by_alias(tracking_uri=cfg.tracking_uri).run_id == winner["run_id"]
    # the repeats varied the training seed only: each kept its finalist's split
    assert set(repeats["split_seed"]) == {42}
    assert "varying the training seed, on the finalist's own split" in out

    def parts(row):
        data = json.loads(Path(row["notebook"]).with_suffix(".json").read_text())["data"]
        return data["val_groups"], data["test_groups"]

    for _, rep in repeats.iterrows():
        own = search[search["config_id"] == rep["config_id"]].iloc[0]
        assert parts(rep) == parts(own)


def test_a_halving_search_killed_mid_rung_resumes_without_losing_or_repeating_a_run(
    tiny_demo, tmp_path
):
    grid = write_grid(tmp_path / "four.yaml", FOUR)
    cfg = config(tmp_path, grid, tiny_demo, strategy="halving", min_epochs=1, max_epochs=3)
    cmd = [
        sys.executable, "-m", "tennis_lab.search", "--grid", str(grid),
        "--data-dir", str(tiny_demo), "--strategy", "halving", "--min-epochs", "1",
        "--max-epochs", "3", "--output-dir", cfg.output_dir, "--reports-dir", cfg.reports_dir,
        "--tracking-uri", cfg.tracking_uri, "--experiment", "adaptive_test", "--quiet",
        "--no-register",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 400
    rows = 0
    while time.time() < deadline and rows < 5:  # rung 0 done, rung 1 under way
        found = list(Path(cfg.output_dir).glob("grid_search_results_*.csv"))
        rows = len(pd.read_csv(found[0])) if found else 0
        time.sleep(0.3)
    assert rows == 5, "the first run of rung 1 did not finish in time"
    time.sleep(2)  # the second run of rung 1 is under way
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its kernel, like a power cut
    proc.wait()
    assert len(csv_of(cfg)) == 5
    assert list(Path(cfg.reports_dir).rglob("*-rung1.keras"))  # kept for the resume

    console = io.StringIO()
    run_search(SearchConfig(**{**cfg.__dict__, "resume": "latest"}), console)
    table = csv_of(cfg)
    assert len(table) == 6 and not table.duplicated(["trial", "rung"]).any()
    assert sorted(table["status"]) == ["COMPLETED"] * 4 + ["PRUNED"] * 2
    second = table[table["rung"] == 1]
    assert set(second["epochs_trained"]) == {3} and set(second["epochs_trained_this_run"]) == {2}
    children = kids(cfg)
    assert (children["status"] == "FINISHED").sum() == 6
    assert set(children["status"]) <= {"FINISHED", "KILLED"}  # the killed run, marked
    assert "5 runs already recorded" in console.getvalue()
