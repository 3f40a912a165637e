"""analysis: results-table helpers on small hand-made tables; loading from CSV and MLflow.

Tables are built by hand (no training, no TensorFlow). The loaders read files written
in tmp_path, the real minimal-grid CSV in output/ (read only), and a real SQLite MLflow
store in a temporary folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tennis_lab import analysis
from tennis_lab.analysis import (
    AnalysisError,
    class_balance,
    class_names,
    completed,
    interaction_table,
    leaderboard,
    load_results,
    load_results_mlflow,
    metric_columns,
    overfitting,
    parameter_columns,
    parameter_importance,
    pareto_front,
    pattern_sentences,
    search_overview,
    value_table,
    varied_parameters,
)
from tennis_lab.search import result_row, write_csv_atomic


@pytest.fixture(autouse=True)
def _private_root(monkeypatch, tmp_path):
    """Default folders (output/, reports/) point into tmp_path, never at the project's."""
    monkeypatch.setenv("TENNIS_LAB_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def run(number, val, status="COMPLETED", error="", **values) -> dict:
    """One results row: ids, status, the validation F1 and whatever else is given."""
    failed = status != "COMPLETED"
    row = {
        "run_number": number,
        "run_id": f"r{number}",
        "config_id": f"c{number}",
        "status": status,
        "error": error,
        "val_macro_f1_score": np.nan if failed else val,
    }
    row.update(values)
    row.setdefault("notebook", f"nb/{number:03d}.ipynb")
    return row


# A table whose top 5 (by validation F1) all use batch norm (half of all runs do),
# have learning rates 0.0005 to 0.001 (all: 0.0001 to 0.002) and four of them LSTM
# [128, 64] (four of all ten). Run 11 failed; run 12 completed without a metric.
PATTERN_ROWS = [
    # number, val F1, use_batch_norm, learning_rate, lstm_layers
    (3, 0.95, True, 0.001, "[128, 64]"),
    (7, 0.93, True, 0.0005, "[128, 64]"),
    (1, 0.91, True, 0.001, "[64, 32]"),
    (9, 0.90, True, 0.0005, "[128, 64]"),
    (4, 0.89, True, 0.001, "[128, 64]"),
    (2, 0.80, False, 0.0001, "[64, 32]"),
    (5, 0.75, False, 0.002, "[64, 32]"),
    (6, 0.70, False, 0.001, "[64, 32]"),
    (8, 0.65, False, 0.0005, "[256, 128]"),
    (10, 0.60, False, 0.002, "[64, 32]"),
]


@pytest.fixture
def pattern_table() -> pd.DataFrame:
    rows = [
        run(n, f, use_batch_norm=bn, learning_rate=lr, lstm_layers=layers, dense_units=64)
        for n, f, bn, lr, layers in PATTERN_ROWS
    ]
    rows.append(
        run(11, None, "FAILED", "ValueError: no windows", use_batch_norm=True,
            learning_rate=0.01, lstm_layers="[512, 256]", dense_units=64)
    )  # fmt: skip
    rows.append(
        run(12, np.nan, use_batch_norm=True, learning_rate=0.01, lstm_layers="[512, 256]",
            dense_units=64)
    )  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- column roles


def test_columns_split_into_bookkeeping_metrics_and_parameters():
    df = pd.DataFrame(
        [
            run(1, 0.8, test_accuracy=0.7, macro_f1_score=0.75, macro_avg_recall=0.7,
                weighted_avg_f1_score=0.7, forehand_recall=0.9, forehand_support=10.0,
                serve_recall=0.5, serve_f1_score=0.6, training_time_minutes=1.0,
                trainable_params=100.0, class_weight="balanced", val_fraction=0.15,
                lstm_layers="[64, 32]", run_seconds=12.0),
            run(2, 0.7, test_accuracy=0.6, class_weight="balanced", val_fraction=0.15,
                lstm_layers="[128, 64]", run_seconds=11.0),
            run(3, None, "FAILED", "boom", class_weight=None, val_fraction=0.15,
                lstm_layers="[128, 64]"),
        ]
    )  # fmt: skip
    assert set(metric_columns(df)) == {
        "val_macro_f1_score", "test_accuracy", "macro_f1_score", "macro_avg_recall",
        "weighted_avg_f1_score", "forehand_recall", "forehand_support", "serve_recall",
        "serve_f1_score", "training_time_minutes", "trainable_params",
    }  # fmt: skip
    assert parameter_columns(df) == ["class_weight", "val_fraction", "lstm_layers"]
    # class_weight differs only in the FAILED run: not varied.
    assert varied_parameters(df) == ["lstm_layers"]
    assert class_names(df) == ["forehand", "serve"]
    assert completed(df)["run_number"].tolist() == [1, 2]


# --------------------------------------------------------------------------- leaderboard


def test_leaderboard_ranks_completed_runs_with_ties_by_run_number(pattern_table):
    df = pd.concat(
        [pattern_table, pd.DataFrame([run(13, 0.93, use_batch_norm=False, learning_rate=0.001,
                                          lstm_layers="[64, 32]", dense_units=64)])],
        ignore_index=True,
    )  # fmt: skip
    top = leaderboard(df, k=4)
    # Run 13 ties run 7 (0.93) and comes after it; FAILED 11 and metric-less 12 never rank.
    assert top["run_number"].tolist() == [3, 7, 13, 1]
    assert top.index.tolist() == [1, 2, 3, 4]
    assert list(top.columns) == [
        "run_number", "val_macro_f1_score", "use_batch_norm", "learning_rate", "lstm_layers",
        "notebook",
    ]  # fmt: skip
    assert len(leaderboard(df, k=100)) == 11


def test_failed_runs_are_not_ranked_but_counted_in_the_overview(pattern_table):
    df = pd.concat(
        [pattern_table, pd.DataFrame([
            run(13, None, "FAILED", "ValueError: no windows", use_batch_norm=True),
            run(14, None, "FAILED", "", use_batch_norm=True),
            run(15, None, "RUNNING", use_batch_norm=True),
        ])],
        ignore_index=True,
    )  # fmt: skip
    df.loc[df["status"] == "FAILED", "val_macro_f1_score"] = 0.99  # even a stray value
    assert 11 not in leaderboard(df, k=20)["run_number"].tolist()
    assert len(leaderboard(df, k=20)) == 10  # run 12 completed without a metric
    overview = search_overview(df)
    assert overview["runs"] == 15
    assert overview["completed"] == 11
    assert overview["failed"] == 3
    assert overview["running"] == 1
    assert overview["best_run"] == 3
    assert overview["best_val_macro_f1_score"] == pytest.approx(0.95)
    assert overview["errors"] == [
        {"error": "ValueError: no windows", "count": 2, "runs": [11, 13]},
        {"error": "unknown error", "count": 1, "runs": [14]},
    ]


# --------------------------------------------------------------------------- patterns


def test_pattern_sentences_compare_the_top_k_with_all_runs(pattern_table):
    assert pattern_sentences(pattern_table, k=5) == [
        "All of the top 5 use use_batch_norm = True (50% of all runs).",
        "learning_rate in the top 5: 0.0005 to 0.001 (all runs: 0.0001 to 0.002).",
        "lstm_layers [128, 64] in 4 of the top 5 (40% of all runs).",
    ]


def test_pattern_sentences_break_ties_by_the_better_run_and_work_on_python_lists(pattern_table):
    df = pattern_table.copy()
    df["lstm_layers"] = [json.loads(v) for v in df["lstm_layers"]]  # lists, not JSON text
    sentences = pattern_sentences(df, k=2)
    assert "All of the top 2 use use_batch_norm = True (50% of all runs)." in sentences
    assert "All of the top 2 use lstm_layers = [128, 64] (40% of all runs)." in sentences
    # Top 3: [128, 64] twice; top 4 of runs 3, 7, 1, 9: [128, 64] three times.
    assert "lstm_layers [128, 64] in 3 of the top 4 (40% of all runs)." in pattern_sentences(
        df, k=4
    )
    # A 1-1 tie goes to the value of the better run.
    tie = df[df["run_number"].isin([1, 3, 2, 5])]  # 3: [128, 64], 1: [64, 32]
    assert "lstm_layers [128, 64] in 1 of the top 2 (25% of all runs)." in pattern_sentences(
        tie, k=2
    )


def test_pattern_sentences_say_when_there_are_too_few_runs(pattern_table):
    three = pattern_table[pattern_table["run_number"].isin([3, 2, 5, 11])]
    sentences = pattern_sentences(three, k=5)
    assert len(sentences) == 1
    assert sentences[0].startswith("Only 3 completed runs: ")
    only_failed = pattern_table[pattern_table["status"] == "FAILED"]
    assert pattern_sentences(only_failed)[0].startswith("No completed runs")


def test_value_table_counts_stats_and_top_k_shares(pattern_table):
    table = value_table(pattern_table, "lstm_layers", "val_macro_f1_score", k=5)
    assert table.index.tolist() == ["[64, 32]", "[128, 64]", "[256, 128]"]
    assert table["runs"].tolist() == [5, 4, 1]
    assert table.loc["[128, 64]", "mean"] == pytest.approx((0.95 + 0.93 + 0.90 + 0.89) / 4)
    assert table.loc["[64, 32]", "max"] == pytest.approx(0.91)
    assert table.loc["[64, 32]", "min"] == pytest.approx(0.60)
    assert table.loc["[64, 32]", "median"] == pytest.approx(0.75)
    assert table["share_top_k"].tolist() == pytest.approx([0.2, 0.8, 0.0])
    assert table["share_all"].tolist() == pytest.approx([0.5, 0.4, 0.1])
    assert value_table(pattern_table, "learning_rate").index.tolist() == [
        0.0001, 0.0005, 0.001, 0.002,
    ]  # fmt: skip


def test_interaction_table_is_a_pivot_of_mean_metric(pattern_table):
    table = interaction_table(pattern_table, "use_batch_norm", "lstm_layers")
    assert table.index.tolist() == [False, True]
    assert table.columns.tolist() == ["[64, 32]", "[128, 64]", "[256, 128]"]
    assert table.loc[True, "[128, 64]"] == pytest.approx((0.95 + 0.93 + 0.90 + 0.89) / 4)
    assert table.loc[False, "[64, 32]"] == pytest.approx((0.80 + 0.75 + 0.70 + 0.60) / 4)
    assert math.isnan(table.loc[True, "[256, 128]"])


def test_an_unknown_column_names_the_known_ones(pattern_table):
    with pytest.raises(AnalysisError, match="no column 'dropout'.*lstm_layers"):
        value_table(pattern_table, "dropout")
    with pytest.raises(AnalysisError, match="no column 'val_f1'.*val_macro_f1_score"):
        leaderboard(pattern_table, metric="val_f1")


# --------------------------------------------------------------------------- importance


def importance_table(lists: bool = False) -> pd.DataFrame:
    """40 runs: lstm_layers drives F1, batch_size is balanced noise, learning_rate random."""
    rng = np.random.default_rng(0)
    rows = []
    layers = [[32, 16], [64, 32], [128, 64], [256, 128]]
    for i in range(40):
        size = layers[i % 4]
        f1 = 0.6 + 0.1 * (i % 4) + rng.normal(0, 0.01)
        rows.append(
            run(i + 1, f1, lstm_layers=size if lists else json.dumps(size),
                batch_size=[16, 32][(i // 4) % 2], learning_rate=float(rng.uniform(1e-4, 1e-2)),
                dense_units=64)
        )  # fmt: skip
    rows.append(run(41, None, "FAILED", "boom", lstm_layers=layers[0] if lists else "[32, 16]"))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lists", [False, True], ids=["json-text", "python-lists"])
def test_importance_ranks_the_parameter_that_drives_f1_first(lists):
    table, caution = parameter_importance(importance_table(lists))
    assert table["parameter"].tolist()[0] == "lstm_layers"
    assert set(table["parameter"]) == {"lstm_layers", "batch_size", "learning_rate"}
    eta = table.set_index("parameter")["eta_squared"]
    assert eta["lstm_layers"] > 0.8
    assert eta["batch_size"] < 0.05
    assert eta["learning_rate"] < 0.3  # binned into quantiles, not 40 groups of one
    groups = table.set_index("parameter")["groups"]
    assert groups.to_dict() == {"lstm_layers": 4, "batch_size": 2, "learning_rate": 5}
    assert caution is None


def test_importance_equals_eta_squared_by_hand():
    df = pd.DataFrame([run(1, 0.5, a="x"), run(2, 0.7, a="x"), run(3, 0.9, a="y")])
    table, _ = parameter_importance(df)
    y = np.array([0.5, 0.7, 0.9])
    between = 2 * (0.6 - y.mean()) ** 2 + (0.9 - y.mean()) ** 2
    assert table.loc[0, "eta_squared"] == pytest.approx(between / ((y - y.mean()) ** 2).sum())


def test_importance_is_cautious_with_few_runs(pattern_table):
    four = pattern_table[pattern_table["run_number"].isin([1, 2, 3, 4])]
    table, caution = parameter_importance(four)
    assert len(table) == 3
    assert caution.startswith("With 4 runs, importances are rough: fewer than 10 completed runs")
    assert "lstm_layers" in caution
    # Enough runs, but a parameter with 20 values of 2 runs each.
    many = importance_table().assign(config=[str(i // 2) for i in range(41)])
    _, caution = parameter_importance(many)
    assert caution.startswith("With 40 runs, importances are rough: under 3 runs per value")
    assert caution.count("config") == 1 and "lstm_layers" not in caution
    assert parameter_importance(importance_table())[1] is None


# --------------------------------------------------------------------------- trade-offs


def test_pareto_front_of_a_hand_made_table():
    rows = [
        run(1, 0.90, training_time_minutes=10.0),  # best F1: front
        run(2, 0.85, training_time_minutes=5.0),  # front
        run(3, 0.80, training_time_minutes=2.0),  # front
        run(4, 0.84, training_time_minutes=6.0),  # worse and slower than 2
        run(5, 0.90, training_time_minutes=12.0),  # as good as 1, slower
        run(6, None, "FAILED", training_time_minutes=0.1),
        run(7, 0.70, training_time_minutes=1.0),  # fastest: front
        run(8, 0.85, training_time_minutes=5.0),  # the same as 2: both on the front
        run(9, 0.99, training_time_minutes=np.nan),  # no time: not ranked
        run(10, 0.70, training_time_minutes=1.5),  # as good as 7, slower
    ]
    df = pd.DataFrame(rows, index=[f"i{n}" for n in range(10)])
    front = pareto_front(df)
    assert front.index.equals(df.index)
    assert front.dtype == bool
    assert df.loc[front, "run_number"].tolist() == [1, 2, 3, 7, 8]
    # Another pair of metrics: maximise test accuracy, minimise params.
    df["test_accuracy"] = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.1, 0.1, 0.1, 0.1]
    df["trainable_params"] = [5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 9.0, 9.0, 9.0, 9.0]
    front = pareto_front(df, maximize="test_accuracy", minimize="trainable_params")
    assert df.loc[front, "run_number"].tolist() == [5]


def test_class_balance_flags_a_spread_above_the_threshold():
    df = pd.DataFrame(
        [
            run(1, 0.9, backhand_recall=0.85, forehand_recall=0.82, macro_avg_recall=0.8),
            run(2, 0.8, backhand_recall=0.92, forehand_recall=0.71, macro_avg_recall=0.8),
            run(3, 0.7, backhand_recall=0.5, forehand_recall=np.nan),
            run(4, 0.6, backhand_recall=0.1, forehand_recall=0.9),
        ]
    )
    table = class_balance(df, k=3)
    assert table["run_number"].tolist() == [1, 2, 3]
    assert list(table.columns) == [
        "run_number", "val_macro_f1_score", "backhand_recall", "forehand_recall", "spread",
        "weakest_class", "unbalanced",
    ]  # fmt: skip
    assert table["spread"].tolist()[:2] == pytest.approx([0.03, 0.21])
    assert table["unbalanced"].tolist() == [False, True, False]
    assert table["weakest_class"].tolist() == ["forehand", "forehand", "backhand"]
    assert class_balance(df, k=3, threshold=0.01)["unbalanced"].tolist() == [True, True, False]


def test_overfitting_flags_a_train_val_gap_above_the_threshold():
    df = pd.DataFrame(
        [
            run(1, 0.80, train_macro_f1_score=0.98, macro_f1_score=0.78),
            run(2, 0.85, train_macro_f1_score=0.90, macro_f1_score=0.84),
            run(3, 0.70, train_macro_f1_score=np.nan, macro_f1_score=0.70),
            run(4, None, "FAILED", train_macro_f1_score=0.99),
        ]
    )
    table = overfitting(df)
    assert table["run_number"].tolist() == [2, 1, 3]
    assert table["train_val_gap"].tolist()[:2] == pytest.approx([0.05, 0.18])
    assert table["overfitting"].tolist() == [False, True, False]
    assert overfitting(df, gap=0.01)["overfitting"].tolist() == [True, True, False]
    assert overfitting(df, k=1)["run_number"].tolist() == [2]


# --------------------------------------------------------------------------- edge tables


def test_a_single_run_table_gives_results_and_cautions():
    df = pd.DataFrame(
        [run(1, 0.8, macro_f1_score=0.7, training_time_minutes=1.0, train_macro_f1_score=0.9,
             forehand_recall=0.8, serve_recall=0.6, lstm_layers="[64, 32]")]
    )  # fmt: skip
    assert leaderboard(df)["run_number"].tolist() == [1]
    assert varied_parameters(df) == []
    assert pattern_sentences(df)[0].startswith("Only 1 completed run: ")
    table, caution = parameter_importance(df)
    assert table.empty
    assert caution.startswith("With 1 run, importances are rough")
    assert pareto_front(df).tolist() == [True]
    assert class_balance(df)["spread"].tolist() == pytest.approx([0.2])
    assert overfitting(df)["overfitting"].tolist() == [False]
    assert value_table(df, "lstm_layers")["runs"].tolist() == [1]
    assert search_overview(df)["best_run"] == 1


def test_a_table_where_nothing_completed_gives_empty_results():
    # As the CSV of an all-failed search: parameters, no metric columns.
    df = pd.DataFrame(
        [run(1, None, "FAILED", "OOM", lstm_layers="[64, 32]", learning_rate=0.1),
         run(2, None, "FAILED", "OOM", lstm_layers="[128, 64]", learning_rate=0.2)]
    ).drop(columns="val_macro_f1_score")  # fmt: skip
    assert leaderboard(df).empty
    assert "run_number" in leaderboard(df).columns
    assert value_table(df, "lstm_layers").empty
    assert interaction_table(df, "lstm_layers", "learning_rate").empty
    assert pattern_sentences(df) == ["No completed runs with val_macro_f1_score yet: nothing to "
                                     "compare."]  # fmt: skip
    table, caution = parameter_importance(df)
    assert table.empty and caution
    assert pareto_front(df).tolist() == [False, False]
    assert class_balance(df).empty
    assert overfitting(df).empty
    assert varied_parameters(df) == []
    overview = search_overview(df)
    assert (overview["runs"], overview["completed"], overview["failed"]) == (2, 0, 2)
    assert overview["best_run"] is None
    assert overview["errors"] == [{"error": "OOM", "count": 2, "runs": [1, 2]}]
    empty = pd.DataFrame(columns=["run_number", "status"])
    assert leaderboard(empty).empty and search_overview(empty)["runs"] == 0


# --------------------------------------------------------------------------- load_results


def write_search(output: Path, stamp: str, grid: str = "minimal", rows=None) -> tuple[str, Path]:
    """A search as the runner leaves it: CSV rows via result_row, and its state file."""
    search_id = f"{stamp}_{grid}"
    csv = output / f"grid_search_results_{stamp}.csv"
    if rows is None:
        params = {"lstm_layers": [64, 32], "learning_rate": 0.001, "use_batch_norm": True}
        metrics = {"val_macro_f1_score": 0.8, "macro_avg_f1_score": 0.7, "test_accuracy": 0.75,
                   "train_macro_f1_score": 0.9, "training_time_minutes": 1.5}  # fmt: skip
        rows = [
            result_row(1, "012345678901", params, "COMPLETED", Path("nb/001.ipynb"),
                       {"metrics": metrics, "run_id": "1e10"}, seconds=12.3),
            result_row(2, "1e5", {**params, "lstm_layers": [128, 64]}, "FAILED",
                       Path("nb/002.ipynb"), None, "ValueError: no windows", "00ab"),
        ]  # fmt: skip
    if rows != "none":
        write_csv_atomic(rows, csv)
    state = {
        "search_id": search_id, "grid": grid, "parent_run_id": f"parent-{stamp}",
        "experiment": "tennis_stroke_recognition", "experiment_id": "1",
        "tracking_uri": "sqlite:///x.db", "csv_path": str(csv), "notebooks_dir": "nb",
        "combinations": [], "config_ids": [], "overrides": {}, "started": "",
    }  # fmt: skip
    (output / "searches").mkdir(parents=True, exist_ok=True)
    (output / "searches" / f"{search_id}.json").write_text(json.dumps(state), encoding="utf-8")
    return search_id, csv


def test_load_results_from_a_csv_path_reads_ids_and_errors_as_text(tmp_path):
    out = tmp_path / "out"
    search_id, csv = write_search(out, "20260101_120000")
    df = load_results(csv, output_dir=out)
    assert df["config_id"].tolist() == ["012345678901", "1e5"]
    assert df["run_id"].tolist() == ["1e10", "00ab"]
    assert df["error"].tolist() == ["", "ValueError: no windows"]
    assert df["lstm_layers"].tolist() == ["[64, 32]", "[128, 64]"]
    assert df["use_batch_norm"].dtype == bool
    assert df.attrs["csv_path"] == str(csv)
    assert df.attrs["search_id"] == search_id  # the state naming this CSV
    assert df.attrs["grid"] == "minimal"
    assert leaderboard(df)["run_number"].tolist() == [1]
    assert search_overview(df)["failed"] == 1


def test_load_results_from_a_search_id_uses_its_state(tmp_path):
    out = tmp_path / "out"
    write_search(out, "20260101_120000")
    search_id, csv = write_search(out, "20260102_120000", grid="small")
    df = load_results("20260101_120000_minimal", output_dir=out)
    assert df.attrs["search_id"] == "20260101_120000_minimal"
    assert df.attrs["parent_run_id"] == "parent-20260101_120000"
    assert df.attrs["csv_path"].endswith("grid_search_results_20260101_120000.csv")
    assert load_results(search_id, output_dir=out).attrs["grid"] == "small"


def test_load_results_latest_is_the_newest_search_else_the_newest_csv(tmp_path):
    root_output = tmp_path / "root" / "output"  # paths.output_dir() under the fixture
    write_search(root_output, "20260101_120000")
    write_search(root_output, "20260103_120000", grid="small")
    write_search(root_output, "20260102_120000", grid="medium")
    for source in (None, "latest"):
        df = load_results(source)
        assert df.attrs["search_id"] == "20260103_120000_small"
    # No state files: the newest CSV, without search attributes.
    other = tmp_path / "other"
    _, old = write_search(other, "20250101_000000")
    _, new = write_search(other, "20250202_000000")
    for state in (other / "searches").glob("*.json"):
        state.unlink()
    df = load_results(output_dir=other)
    assert df.attrs == {"source": "csv", "csv_path": str(new)}


def test_load_results_errors_say_what_was_looked_for_and_how_to_fix(tmp_path):
    empty = tmp_path / "empty"
    with pytest.raises(AnalysisError, match=r"no search results in .*empty.*make grid"):
        load_results(output_dir=empty)
    with pytest.raises(AnalysisError, match="make grid"):
        load_results()  # the default output folder of the fixture's project root
    assert issubclass(AnalysisError, ValueError)
    with pytest.raises(AnalysisError, match=r"no results CSV .*missing\.csv.*make grid"):
        load_results(tmp_path / "missing.csv")
    write_search(empty, "20260101_120000")
    with pytest.raises(AnalysisError, match=r"no search 'nope'.*20260101_120000_minimal"):
        load_results("nope", output_dir=empty)
    # The newest search has not written a row yet.
    write_search(empty, "20260105_120000", rows="none")
    with pytest.raises(AnalysisError, match="20260105_120000_minimal.* no results yet"):
        load_results(output_dir=empty)


# --------------------------------------------------------------------------- MLflow


@pytest.fixture(scope="module")
def mlflow_search(tmp_path_factory) -> dict:
    """A real SQLite store: a search parent with a KILLED then a FINISHED child for
    config c1 (run 1), a FAILED child (run 2), a RUNNING one (run 3); a stray run."""
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    from tennis_lab import tracking

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    experiment_id = tracking.ensure_experiment("analysis_test", tracking_uri=uri)
    search = "20260101_120000_minimal"
    parent = tracking.start_parent_run(
        experiment_id, f"grid_search_minimal_{search}",
        tags={"search_id": search, "grid": "minimal"}, tracking_uri=uri,
    )  # fmt: skip
    client = MlflowClient(tracking_uri=uri)
    params = {"lstm_layers": [128, 64], "learning_rate": 0.001, "use_batch_norm": True,
              "window_size": 45, "class_weight": "balanced"}  # fmt: skip

    def child(number: int, config: str, extra_tags=None):
        tags = {"mlflow.parentRunId": parent, "search_id": search, "config_id": config,
                "grid": "minimal", **(extra_tags or {})}  # fmt: skip
        return client.create_run(
            experiment_id, run_name=f"grid_search_minimal_run_{number:03d}", tags=tags
        ).info.run_id

    killed = child(1, "c1")
    client.set_terminated(killed, "KILLED")
    finished = child(1, "c1")
    data = {**tracking.run_params(params), "num_classes": "4", "train_samples": "120",
            "train_count_serve": "30", "classes": '["forehand", "serve"]'}  # fmt: skip
    for key, value in data.items():
        client.log_param(finished, key, value)
    now = 0
    metrics = {"val_macro_f1_score": 0.8, "macro_avg_f1_score": 0.7, "test_accuracy": 0.75,
               "train_macro_f1_score": 0.9, "training_time_minutes": 1.5,
               "forehand_recall": 0.9, "serve_recall": 0.6}  # fmt: skip
    client.log_batch(
        finished,
        metrics=[Metric(k, v, now, 0) for k, v in metrics.items()]
        + [Metric("epoch_loss", v, now, i) for i, v in enumerate([0.9, 0.5])],
    )
    client.set_terminated(finished, "FINISHED")
    failed = tracking.record_failed_run(
        experiment_id, parent, "grid_search_minimal_run_002",
        {**params, "lstm_layers": [64, 32]}, "ValueError: no windows",
        tags={"search_id": search, "config_id": "c2", "grid": "minimal"}, tracking_uri=uri,
    )  # fmt: skip
    running = child(3, "c3")
    stray = client.create_run(experiment_id, run_name="manual").info.run_id
    client.set_terminated(stray, "FINISHED")
    return {"uri": uri, "parent": parent, "finished": finished, "failed": failed,
            "running": running, "stray": stray, "search": search}  # fmt: skip


def test_load_results_mlflow_rebuilds_the_csv_shape_of_a_running_search(mlflow_search):
    s = mlflow_search
    df = load_results_mlflow("analysis_test", s["parent"], tracking_uri=s["uri"])
    assert df["run_number"].tolist() == [1, 2, 3]
    assert df["run_id"].tolist() == [s["finished"], s["failed"], s["running"]]
    assert df["status"].tolist() == ["COMPLETED", "FAILED", "RUNNING"]
    assert df["config_id"].tolist() == ["c1", "c2", "c3"]
    assert df["error"].tolist() == ["", "ValueError: no windows", ""]
    assert df["lstm_layers"].tolist()[:2] == ["[128, 64]", "[64, 32]"]
    assert df.loc[0, "learning_rate"] == pytest.approx(0.001)
    assert df.loc[0, "window_size"] == 45
    assert df["use_batch_norm"].tolist()[:2] == [True, True]
    assert isinstance(df.loc[0, "use_batch_norm"], bool | np.bool_)
    assert df.loc[0, "macro_f1_score"] == pytest.approx(0.7)
    assert df.loc[0, "val_macro_f1_score"] == pytest.approx(0.8)
    for gone in ("num_classes", "train_samples", "train_count_serve", "classes",
                 "uses_batch_normalization", "epoch_loss"):  # fmt: skip
        assert gone not in df.columns
    assert not any(c.startswith(("params.", "metrics.", "tags.")) for c in df.columns)
    assert list(df.columns[:5]) == ["run_number", "run_id", "config_id", "status", "error"]
    assert df.attrs["search_id"] == s["search"] and df.attrs["grid"] == "minimal"
    assert class_names(df) == ["forehand", "serve"]
    assert leaderboard(df)["run_number"].tolist() == [1]
    overview = search_overview(df)
    assert (overview["completed"], overview["failed"], overview["running"]) == (1, 1, 1)
    # Without a parent: every run of the experiment but the search's parent.
    everything = load_results_mlflow("analysis_test", None, tracking_uri=s["uri"])
    assert s["parent"] not in set(everything["run_id"])
    assert s["stray"] in set(everything["run_id"])
    with pytest.raises(AnalysisError, match="no MLflow experiment 'nope'.*make grid"):
        load_results_mlflow("nope", s["parent"], tracking_uri=s["uri"])


def test_importing_analysis_does_not_import_mlflow_or_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, tennis_lab.analysis; "
        "print(sorted(m for m in ('mlflow', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert analysis.SELECTION_METRIC == "val_macro_f1_score"
