"""analysis: results-table helpers on small hand-made tables; loading from CSV and MLflow.

Tables are built by hand (no training, no TensorFlow): new-style tables score runs by
the stroke-level selection metric (val_stroke_macro_f1, with <metric>_std for
cross-validated runs); old-style tables (written before stroke-level scores) have
only the window-level val_macro_f1_score. The loaders read files written in tmp_path
and a real SQLite MLflow store in a temporary folder.
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
    best_run_details,
    class_balance,
    class_names,
    completed,
    cross_validated,
    folds_table,
    format_scores,
    groups_table,
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
    selection_metric,
    tie_sentence,
    tied_with_best,
    value_table,
    varied_parameters,
)
from tennis_lab.report import escape_markdown, report_header, table_html
from tennis_lab.results import SELECTION_METRIC, result_row, write_csv_atomic

WINDOW_VAL = "val_macro_f1_score"  # the window-level figure; old tables rank by it


@pytest.fixture(autouse=True)
def _private_root(monkeypatch, tmp_path):
    """Default folders (output/, reports/) point into tmp_path, never at the project's."""
    monkeypatch.setenv("TENNIS_LAB_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def run(number, val, status="COMPLETED", error="", metric=SELECTION_METRIC, **values) -> dict:
    """One results row: ids, status, the validation F1 (``metric``: stroke level unless
    told) and whatever else is given."""
    failed = status != "COMPLETED"
    row = {
        "run_number": number,
        "run_id": f"r{number}",
        "config_id": f"c{number}",
        "status": status,
        "error": error,
        metric: np.nan if failed else val,
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
                lstm_layers="[64, 32]", run_seconds=12.0, first_epoch_seconds=9.1,
                epoch_seconds=0.7, keras_backend="jax"),
            run(2, 0.7, test_accuracy=0.6, class_weight="balanced", val_fraction=0.15,
                lstm_layers="[128, 64]", run_seconds=11.0, first_epoch_seconds=4.2,
                epoch_seconds=1.6, keras_backend="jax"),
            run(3, None, "FAILED", "boom", class_weight=None, val_fraction=0.15,
                lstm_layers="[128, 64]"),
        ]
    )  # fmt: skip
    assert set(metric_columns(df)) == {
        SELECTION_METRIC, "test_accuracy", "macro_f1_score", "macro_avg_recall",
        "weighted_avg_f1_score", "forehand_recall", "forehand_support", "serve_recall",
        "serve_f1_score", "training_time_minutes", "trainable_params",
        "first_epoch_seconds", "epoch_seconds",  # timings vary, but are not parameters
    }  # fmt: skip
    assert parameter_columns(df) == ["class_weight", "val_fraction", "lstm_layers", "keras_backend"]
    # class_weight differs only in the FAILED run: not varied.
    assert varied_parameters(df) == ["lstm_layers"]
    assert class_names(df) == ["forehand", "serve"]
    assert completed(df)["run_number"].tolist() == [1, 2]


# The columns a cross-validated stroke-level run adds (as training logs them).
STROKE_METRICS = {
    "test_stroke_macro_f1": 0.7, "worst_group_macro_f1": 0.5, "val_stroke_accuracy": 0.8,
    "test_stroke_accuracy": 0.75, "val_strokes": 40.0, "test_strokes": 42.0,
    "test_strokes_unreached": 1.0, "val_macro_f1_score": 0.6, "macro_avg_f1_score": 0.65,
    "macro_avg_recall": 0.6, "test_accuracy": 0.7, "forehand_recall": 0.9,
    "forehand_f1_score": 0.85, "serve_recall": 0.5,
}  # fmt: skip
SPREADS = {
    "val_stroke_macro_f1_std": 0.04, "test_stroke_macro_f1_std": 0.05,
    "worst_group_macro_f1_std": 0.1, "val_macro_f1_score_std": 0.03,
    "macro_avg_f1_score_std": 0.02, "test_accuracy_std": 0.01,
}  # fmt: skip


def test_stroke_level_metrics_and_spreads_are_metrics_not_classes_or_parameters():
    df = pd.DataFrame(
        [
            run(1, 0.8, **STROKE_METRICS, **SPREADS, cv_folds=3, split_by="player",
                split_by_resolved="player", lstm_layers="[64]"),
            run(2, 0.7, **STROKE_METRICS, cv_folds=1, split_by="player",
                split_by_resolved="player", lstm_layers="[64]"),
        ]
    )  # fmt: skip
    metrics = set(metric_columns(df))
    assert {SELECTION_METRIC, *STROKE_METRICS, *SPREADS} == metrics
    # The classes are the real ones: no "test_stroke_macro", "worst_group_macro", "val_stroke".
    assert class_names(df) == ["forehand", "serve"]
    # cv_folds is a parameter one chooses; split_by_resolved is what a run resolved.
    assert parameter_columns(df) == ["cv_folds", "split_by", "lstm_layers"]
    assert varied_parameters(df) == ["cv_folds"]
    assert cross_validated(df).tolist() == [True, False]


def test_event_scores_of_runs_with_idle_windows_are_metrics_not_parameters():
    events = {"test_event_precision": 0.9, "test_event_recall": 0.8, "test_event_f1": 0.85,
              "test_event_macro_f1": 0.84}  # fmt: skip
    df = pd.DataFrame(
        [
            run(1, 0.8, **events, include_idle=True),
            run(2, 0.7, **{k: v - 0.1 for k, v in events.items()}, include_idle=True),
        ]
    )
    assert set(events) <= set(metric_columns(df))
    assert parameter_columns(df) == ["include_idle"] and varied_parameters(df) == []


def test_selection_metric_falls_back_to_the_window_level_figure_for_old_tables():
    new = pd.DataFrame([run(1, 0.8, **{WINDOW_VAL: 0.6}), run(2, 0.9, **{WINDOW_VAL: 0.5})])
    assert selection_metric(new) == SELECTION_METRIC == "val_stroke_macro_f1"
    old = pd.DataFrame([run(1, 0.6, metric=WINDOW_VAL), run(2, 0.5, metric=WINDOW_VAL)])
    assert selection_metric(old) == WINDOW_VAL
    # The stroke column exists but no completed run has a value (a failed new run).
    mixed = pd.concat([old, pd.DataFrame([run(3, None, "FAILED")])], ignore_index=True)
    assert selection_metric(mixed) == WINDOW_VAL
    # Nothing completed, no metric at all: the selection metric (and empty results).
    assert selection_metric(pd.DataFrame([run(1, None, "FAILED")])) == SELECTION_METRIC


# --------------------------------------------------------------------------- leaderboard


def test_leaderboard_ranks_completed_runs_with_ties_by_run_number(pattern_table):
    df = pd.concat(
        [pattern_table, pd.DataFrame([run(13, 0.93, use_batch_norm=False, learning_rate=0.001,
                                          lstm_layers="[64, 32]", dense_units=64)])],
        ignore_index=True,
    )  # fmt: skip
    top = leaderboard(df, k=4)
    # Run 13 ties run 7 (0.93) and comes after it, with the same rank (scikit-learn's
    # rank_test_score: 1, 2, 2, 4); FAILED 11 and metric-less 12 never rank.
    assert top["run_number"].tolist() == [3, 7, 13, 1]
    assert top.index.tolist() == [1, 2, 2, 4] and top.index.name == "rank"
    assert list(top.columns) == [
        "run_number", SELECTION_METRIC, "use_batch_norm", "learning_rate", "lstm_layers",
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
    df.loc[df["status"] == "FAILED", SELECTION_METRIC] = 0.99  # even a stray value
    assert 11 not in leaderboard(df, k=20)["run_number"].tolist()
    assert len(leaderboard(df, k=20)) == 10  # run 12 completed without a metric
    overview = search_overview(df)
    assert overview["runs"] == 15
    assert overview["completed"] == 11
    assert overview["failed"] == 3
    assert overview["running"] == 1
    assert overview["best_run"] == 3
    assert overview["metric"] == SELECTION_METRIC
    assert overview["best_val_stroke_macro_f1"] == pytest.approx(0.95)
    assert overview["best_score"] == pytest.approx(0.95)
    assert overview["unranked"] == [12]  # completed without a score
    assert overview["errors"] == [
        {"error": "ValueError: no windows", "count": 2, "runs": [11, 13]},
        {"error": "unknown error", "count": 1, "runs": [14]},
    ]


def cv_table() -> pd.DataFrame:
    """Cross-validated runs (mean ± std over folds) and single-split ones.

    Best is run 1 at 0.90 ± 0.04. Run 2 (0.87, no std) is within the best's std; run 3
    (0.84 ± 0.03) overlaps it; run 7 (0.85 ± 0.01) touches it exactly (0.05 = 0.04 +
    0.01); run 4 (0.84 ± 0.01) and run 5 (0.80, no std) are clear of it. Run 6 failed.
    """
    rows = [
        (1, 0.90, 0.04, 0.81, 0.02, 0.60),
        (2, 0.87, np.nan, 0.80, np.nan, 0.70),
        (3, 0.84, 0.03, 0.83, 0.05, 0.75),
        (4, 0.84, 0.01, 0.78, 0.01, 0.55),
        (5, 0.80, np.nan, 0.79, np.nan, 0.65),
        (7, 0.85, 0.01, 0.77, 0.03, 0.50),
    ]
    table = [
        run(n, val, val_stroke_macro_f1_std=sd, test_stroke_macro_f1=test,
            test_stroke_macro_f1_std=test_sd, worst_group_macro_f1=worst,
            worst_group_macro_f1_std=0.1, macro_f1_score=0.7, test_accuracy=0.72,
            training_time_minutes=float(n), cv_folds=1 if np.isnan(sd) else 3,
            split_by_resolved="player", lstm_layers="[64]" if n % 2 else "[128]")
        for n, val, sd, test, test_sd, worst in rows
    ]  # fmt: skip
    table.append(run(6, None, "FAILED", "boom", cv_folds=3, lstm_layers="[64]"))
    return pd.DataFrame(table)


def test_leaderboard_shows_stroke_scores_the_worst_group_and_spreads_beside_the_metric():
    board = leaderboard(cv_table(), k=3)
    assert board["run_number"].tolist() == [1, 2, 7]
    assert list(board.columns) == [
        "run_number", SELECTION_METRIC, "val_stroke_macro_f1_std", "test_stroke_macro_f1",
        "test_stroke_macro_f1_std", "worst_group_macro_f1", "macro_f1_score",
        "test_accuracy", "training_time_minutes", "cv_folds", "lstm_layers", "notebook",
    ]  # fmt: skip
    # The worst group is a minimum over folds: no std beside it.
    assert "worst_group_macro_f1_std" not in board.columns
    assert board["val_stroke_macro_f1_std"].tolist()[0] == pytest.approx(0.04)
    shown = format_scores(board)
    assert shown[SELECTION_METRIC].tolist() == ["0.9000 ± 0.0400", "0.8700", "0.8500 ± 0.0100"]
    assert shown["test_stroke_macro_f1"].tolist()[0] == "0.8100 ± 0.0200"
    assert not [c for c in shown.columns if c.endswith("_std")]
    assert shown["worst_group_macro_f1"].tolist() == pytest.approx([0.6, 0.7, 0.5])


def test_tied_with_best_are_the_runs_whose_mean_std_interval_overlaps_the_best():
    tied = tied_with_best(cv_table())
    assert tied["run_number"].tolist() == [2, 7, 3]  # in rank order; 4 and 5 are clear
    assert tied.index.tolist() == [2, 3, 4]  # their leaderboard ranks
    assert list(tied.columns) == ["run_number", SELECTION_METRIC, "val_stroke_macro_f1_std"]
    # Narrow the best's interval: only the runs whose own std reaches it stay tied.
    narrow = cv_table()
    narrow.loc[narrow["run_number"] == 1, "val_stroke_macro_f1_std"] = 0.0
    assert tied_with_best(narrow)["run_number"].tolist() == []
    narrow.loc[narrow["run_number"] == 3, "val_stroke_macro_f1_std"] = 0.06
    assert tied_with_best(narrow)["run_number"].tolist() == [3]
    # Another metric, with its own spread: the best (run 3, 0.83 ± 0.05) reaches down to
    # 0.78, and run 7 (0.77 ± 0.03) reaches up to 0.80: every run is tied with it.
    by_test = tied_with_best(cv_table(), "test_stroke_macro_f1")
    assert by_test["run_number"].tolist() == [1, 2, 5, 4, 7]


def test_without_spreads_only_equal_scores_are_tied_and_no_sentence_is_made(pattern_table):
    assert tied_with_best(pattern_table).empty
    equal = pd.concat([pattern_table, pd.DataFrame([run(13, 0.95)])], ignore_index=True)
    assert tied_with_best(equal)["run_number"].tolist() == [13]
    assert tie_sentence(pattern_table) is None
    assert tie_sentence(pd.DataFrame([run(1, 0.9, val_stroke_macro_f1_std=0.1)])) is None
    assert tied_with_best(pd.DataFrame([run(1, None, "FAILED")])).empty


def test_tie_sentence_says_whether_the_spread_decides_the_ranking():
    assert tie_sentence(cv_table()) == (
        "Run 1 (0.9000 ± 0.0400) is not clearly better than run 2 (0.8700), run 7 "
        "(0.8500 ± 0.0100) and run 3 (0.8400 ± 0.0300): their mean ± std intervals of "
        "val_stroke_macro_f1 overlap, so the ranking between them is not decided by "
        "these scores."
    )
    clear = cv_table()
    clear.loc[clear["run_number"] == 1, [SELECTION_METRIC, "val_stroke_macro_f1_std"]] = [
        0.99,
        0.01,
    ]
    assert tie_sentence(clear) == (
        "Run 1 (0.9900 ± 0.0100) is ahead of every other run by val_stroke_macro_f1 by "
        "more than their stds combined; the next is run 2 (0.8700)."
    )


def test_overview_and_header_name_the_stroke_level_scores_and_the_spread():
    df = cv_table()
    df.attrs = {"search_id": "s<1>", "grid": "<b>g</b>"}
    overview = search_overview(df)
    assert overview["metric"] == SELECTION_METRIC
    assert overview["best_run"] == 1
    assert overview["best_val_stroke_macro_f1"] == pytest.approx(0.90)
    assert overview["best_score_std"] == pytest.approx(0.04)
    assert overview["best_test_stroke_macro_f1"] == pytest.approx(0.81)
    assert overview["best_worst_group_macro_f1"] == pytest.approx(0.60)
    assert overview["best_val_macro_f1_score"] is None  # not in this table
    assert overview["group_word"] == "player"
    assert overview["cross_validated"] == 4  # runs 1, 3, 4 and 7
    assert "best_val_macro_f1_score" in overview and "best_macro_f1_score" in overview
    header = report_header(df, overview)
    assert (
        "- **Best (validation macro F1 over strokes):** run 1, validation 0.9000 ± 0.0400; "
        "test macro F1 over strokes 0.8100; worst player 0.6000; test windows: macro F1 "
        "0.7000, accuracy 0.7200"
    ) in header
    assert "- **Cross-validation:** 4 of 6 completed runs" in header
    assert "<b>" not in header and "&lt;b&gt;g&lt;/b&gt;" in header  # escaped
    assert "# Search s&lt;1&gt;" in header


def old_table() -> pd.DataFrame:
    """Results written before stroke-level scores: only the window-level figures."""
    rows = [
        run(n, f, metric=WINDOW_VAL, macro_f1_score=f - 0.05, test_accuracy=f - 0.02,
            train_macro_f1_score=f + 0.05, training_time_minutes=1.0, forehand_recall=0.8,
            serve_recall=0.6, learning_rate=lr)
        for n, f, lr in [(1, 0.80, 0.001), (2, 0.90, 0.01), (3, 0.85, 0.001)]
    ]  # fmt: skip
    rows.append(run(4, None, "FAILED", "boom", metric=WINDOW_VAL, learning_rate=0.1))
    return pd.DataFrame(rows)


def test_an_old_table_is_ranked_by_the_window_level_figure_and_says_so():
    df = old_table()
    assert leaderboard(df)["run_number"].tolist() == [2, 3, 1]
    assert list(leaderboard(df).columns)[:2] == ["run_number", WINDOW_VAL]
    assert pattern_sentences(df, k=1) == [
        "learning_rate in the top 1: 0.01 (all runs: 0.001 to 0.01)."
    ]
    assert value_table(df, "learning_rate")["runs"].tolist() == [2, 1]
    assert parameter_importance(df)[0]["parameter"].tolist() == ["learning_rate"]
    assert df.loc[pareto_front(df), "run_number"].tolist() == [2]
    assert class_balance(df)["run_number"].tolist() == [2, 3, 1]
    assert tied_with_best(df).empty and tie_sentence(df) is None
    overview = search_overview(df)
    assert overview["metric"] == WINDOW_VAL
    assert overview["best_run"] == 2
    assert overview["best_val_stroke_macro_f1"] is None
    assert overview["best_val_macro_f1_score"] == pytest.approx(0.90)
    assert overview["cross_validated"] == 0 and overview["unranked"] == []
    header = report_header(df, overview)
    assert (
        "- **Best (validation macro F1 over windows):** run 2, validation 0.9000; "
        "test macro F1 0.8500; test accuracy 0.8800"
    ) in header
    assert "predate stroke-level scores" in header
    assert "Cross-validation" not in header


def test_a_table_mixing_old_and_new_rows_ranks_the_new_and_names_the_others():
    df = pd.concat([old_table(), pd.DataFrame([run(5, 0.5, **{WINDOW_VAL: 0.4})])])
    df = df.reset_index(drop=True)
    assert selection_metric(df) == SELECTION_METRIC
    assert leaderboard(df)["run_number"].tolist() == [5]
    overview = search_overview(df)
    assert overview["unranked"] == [1, 2, 3]
    assert (
        "- **Not ranked:** 3 completed run(s) without val\\_stroke\\_macro\\_f1 (runs 1, 2, 3)"
        in (report_header(df, overview))
    )


def test_table_html_escapes_every_cell_and_name_but_keeps_notebook_links(tmp_path):
    board = leaderboard(cv_table(), k=2)
    board["lstm_layers"] = ["<script>x</script>", "a & b"]
    board = board.rename(columns={"cv_folds": "<i>folds</i>"})
    board["notebook"] = [str(tmp_path / "runs" / "001.ipynb"), ""]
    page = table_html(board, relative_to=tmp_path)
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "a &amp; b" in page
    assert "<i>" not in page and "&lt;i&gt;folds&lt;/i&gt;" in page
    assert '<a href="runs/001.ipynb">001.ipynb</a>' in page
    assert "<td>0.9000 ± 0.0400</td>" in page and "<td>0.8700</td>" in page
    assert "_std" not in page
    assert "<td>3</td>" in page  # cv_folds as a count, not 3.0000


def test_groups_and_folds_tables_from_run_details():
    groups = [
        {"group": "bob", "strokes": 12, "macro_f1": 0.8, "accuracy": 0.83, "handedness": "left",
         "videos": "bob_01 bob_02", "fold": 2},
        {"group": "ana", "strokes": 10, "macro_f1": 0.5, "accuracy": 0.6, "handedness": "right",
         "videos": "ana_01", "fold": 1},
    ]  # fmt: skip
    table = groups_table(groups)
    assert table.index.tolist() == ["ana", "bob"]  # worst first
    assert table.index.name == "group"
    assert list(table.columns) == [
        "handedness",
        "strokes",
        "macro_f1",
        "accuracy",
        "fold",
        "videos",
    ]
    assert groups_table([]).empty
    page = table_html(table)
    assert "<td>0.5000</td>" in page and "<td>10</td>" in page and "bob_01 bob_02" in page
    folds = folds_table([{"fold": 2, SELECTION_METRIC: 0.7, "test_groups": "bob"},
                         {"fold": 1, SELECTION_METRIC: 0.9, "test_groups": "ana"}])  # fmt: skip
    assert folds.index.tolist() == [1, 2] and folds.index.name == "fold"
    assert folds[SELECTION_METRIC].tolist() == [0.9, 0.7]
    assert folds_table([]).empty


def test_best_run_details_says_in_one_line_why_they_are_unavailable():
    df = cv_table()
    info = best_run_details(df)
    assert (info["run"], info["run_id"], info["details"]) == (1, "r1", None)
    assert info["group_word"] == "player"
    assert info["note"] == (
        "Run 1's MLflow store is not known (no search state names its tracking URI): its "
        "details are not shown."
    )
    df.loc[0, "run_id"] = ""
    assert "has no MLflow run id" in best_run_details(df)["note"]
    nothing = pd.DataFrame([run(1, None, "FAILED")])
    assert best_run_details(nothing)["note"].startswith("No completed run with")


# --------------------------------------------------------------------------- the winner

BOOTSTRAP = "paired bootstrap over the validation strokes, 95% interval of the difference"
WEAK = "weak player <b>x</b>: test macro F1 0.412, 0.40 below the other players' mean 0.812"
MISSING = "no serve stroke in the validation split: that class is not scored there"
THIN = "the validation split holds 2 players (ana, bo): its ranking reflects them"


def verdict_table(undecided: bool = True) -> pd.DataFrame:
    """A search's CSV with the verdict it writes (search.standings): run 10, trained to
    27 epochs, is the winner at 0.93 though run 9 scores 0.95 (after 9 epochs: ranked
    after it, not compared); runs 4 and 5 share rank 3 at 0.90 and, when
    ``undecided``, the strokes cannot separate them from the winner; run 6 is behind.
    Run 7 failed (no rank)."""
    rows = [
        # number, val, rank, winner, tied, diff, low, high, budget, warnings
        (10, 0.93, 1, True, True, 0.0, 0.0, 0.0, 27, f"{WEAK} | {MISSING} | {THIN}"),
        (9, 0.95, 2, False, False, np.nan, np.nan, np.nan, 9, ""),
        (4, 0.90, 3, False, undecided, 0.03, -0.01 if undecided else 0.01, 0.07, 27,
         "validation 0.900 against test 0.700 on a, b"),
        (5, 0.90, 3, False, undecided, 0.03, -0.02 if undecided else 0.01, 0.08, 27, ""),
        (6, 0.80, 5, False, False, 0.13, 0.08, 0.18, 27, ""),
    ]  # fmt: skip
    table = [
        run(n, val, rank=rank, winner=win, tied_with_best=tied, diff_to_best=diff,
            diff_ci_low=low, diff_ci_high=high, epochs_budget=budget, warnings=text,
            strategy="grid", trial=n, rung=0, phase="search", val_groups=2.0,
            val_strokes=40.0, split_by_resolved="player", test_stroke_macro_f1=0.8,
            lstm_layers="[64]" if n % 2 else "[128]")
        for n, val, rank, win, tied, diff, low, high, budget, text in rows
    ]  # fmt: skip
    table.append(run(7, None, "FAILED", "boom", strategy="grid", trial=7, rung=0,
                     phase="search", lstm_layers="[64]"))  # fmt: skip
    return pd.DataFrame(table)


def test_the_verdict_columns_are_neither_parameters_nor_metrics():
    df = verdict_table()
    for column in ("rank", "winner", "tied_with_best", "diff_to_best", "diff_ci_low",
                   "diff_ci_high", "warnings"):  # fmt: skip
        assert column not in parameter_columns(df) and column not in metric_columns(df)
    assert {"val_groups", "val_strokes"} <= set(metric_columns(df))
    assert varied_parameters(df) == ["lstm_layers"]


def test_the_winner_column_names_the_best_run_though_another_scores_higher(tmp_path):
    out = tmp_path / "out"
    _, csv = write_search(out, "20260601_120000", rows=verdict_table().to_dict("records"))
    df = load_results(csv, output_dir=out)  # as the CSV holds it: True/False/empty cells
    board = leaderboard(df)
    assert board["run_number"].tolist() == [10, 9, 4, 5, 6]  # not 9 (0.95) first
    assert search_overview(df)["best_run"] == 10
    assert analysis.winner_row(df)["run_number"] == 10
    assert "run 10, validation 0.9300" in report_header(df)
    assert best_run_details(df)["run"] == 10
    assert analysis.warnings_table(df).index[0] == 10  # the winner's warnings first
    # The winner column alone (no ranks, as from MLflow) still names it.
    assert search_overview(df.drop(columns="rank"))["best_run"] == 10
    # Older tables (no winner column): the top by the selection metric, as before.
    old = df.drop(columns=["winner", "rank"])
    assert search_overview(old)["best_run"] == 9 and leaderboard(old)["run_number"].iloc[0] == 9
    # Another metric than the one the search ranked by: ranked by that metric.
    assert search_overview(df, "test_stroke_macro_f1")["best_run"] == 4


def test_the_leaderboard_gives_equal_ranks_to_equal_scores_and_marks_the_verdict():
    df = verdict_table()
    board = leaderboard(df)
    assert board.index.tolist() == [1, 2, 3, 3, 5] and board.index.name == "rank"
    assert board["verdict"].tolist() == ["winner", "", "tied", "tied", "behind"]
    assert board["warnings"].tolist() == [3, 0, 1, 0, 0]  # how many: warnings_table has them
    assert list(board.columns[:6]) == [
        "run_number", "verdict", SELECTION_METRIC, "diff_to_best", "diff_ci_low",
        "diff_ci_high",
    ]  # fmt: skip
    page = table_html(board)
    assert "<td>0.0300 [-0.0100, 0.0700]</td>" in page and "diff_<wbr/>ci" not in page
    decided = leaderboard(verdict_table(undecided=False))
    assert decided["verdict"].tolist() == ["winner", "", "behind", "behind", "behind"]
    # Without a rank column, equal ranks are computed on the metric (rank method "min").
    plain = verdict_table().drop(columns=["rank", "winner"])
    assert leaderboard(plain).index.tolist() == [1, 2, 3, 3, 5]
    assert leaderboard(plain)["run_number"].tolist() == [9, 10, 4, 5, 6]


def test_the_header_says_undecided_instead_of_crowning_one():
    df = verdict_table()
    sentence = (
        f"Undecided between runs 10, 4 and 5: these scores cannot separate them ({BOOTSTRAP}). "
        "Run 10 is registered as the champion, the first by the search's rule; to separate "
        "them: cv_folds: loo (or k) in the grid's fixed section, --finalists K --repeats N, "
        "or more players."
    )
    assert analysis.winner_sentence(df) == sentence
    assert tie_sentence(df) == sentence  # one sentence: the old mean ± std rule is not used
    assert tied_with_best(df)["run_number"].tolist() == [4, 5]
    assert tied_with_best(df).index.tolist() == [3, 3]
    assert search_overview(df)["undecided"] == [10, 4, 5]
    header = report_header(df)
    assert f"- **Verdict:** {escape_markdown(sentence)}" in header
    assert "- **Registered as the champion (validation macro F1 over strokes):** run 10" in header
    assert "**Best" not in header
    assert header.index("Undecided") < header.index("Registered")
    # Separated: the winner is crowned, and the runs not compared are counted.
    decided = verdict_table(undecided=False)
    assert tied_with_best(decided).empty and search_overview(decided)["undecided"] == []
    header = report_header(decided)
    assert "- **Best (validation macro F1 over strokes):** run 10" in header
    assert (
        f"- **Verdict:** Run 10 is ahead of the runs below it ({BOOTSTRAP}). 1 run could "
        "not be compared with it"
    ) in header
    assert "Undecided" not in header
    # No run could be compared with the winner: it is not said to be ahead.
    alone = decided[decided["run_number"].isin([10, 9])]
    assert analysis.winner_sentence(alone) == (
        "Run 10 ranks first by the score; the paired bootstrap over the validation strokes "
        "could not compare it with the 1 run below it (no validation strokes in common, or "
        "fewer epochs trained)."
    )


def test_finalists_undecided_name_their_best_repeats_and_the_test_over_seeds():
    df = halving_table()
    standing = {8: (1, True, True), 10: (2, False, True)}  # run: rank, winner, tied
    for number, (rank, winner, tied) in standing.items():
        at = df["run_number"] == number
        df.loc[at, ["rank", "winner", "tied_with_best"]] = [rank, winner, tied]
    board = leaderboard(df)
    assert board["run_number"].tolist() == [8, 10]
    assert board["verdict"].tolist() == ["winner", "tied"]
    assert search_overview(df)["best_run"] == 8
    sentence = analysis.winner_sentence(df)
    assert sentence.startswith(
        "Undecided between runs 8 and 10 (finalist trials 1 and 4): these scores cannot "
        "separate them (one-sided Welch's t-test over the finalists' seeds at the 5% level)."
    )
    header = report_header(df)
    assert (
        "run 8 (the best-scoring repeat of finalist trial 1, the finalist with the best "
        "mean), validation 0.9500"
    ) in header


def test_the_header_says_a_ceiling_a_thin_split_and_a_missing_class_with_the_fix():
    df = verdict_table(undecided=False)
    df.loc[df["run_number"] == 10, SELECTION_METRIC] = 1.0
    assert analysis.limit_lines(df) == [("At its ceiling", (
        "run 10 scores 1.0000 on its 40 validation strokes: validation cannot rank the runs "
        "that reach it; to separate them: cv_folds: loo (or k) in the grid's fixed section, "
        "--finalists K --repeats N, or more players."
    ))]  # fmt: skip
    header = report_header(df)
    label, text = analysis.limit_lines(df)[0]
    assert f"- **{label}:** {escape_markdown(text)}" in header
    # The thin split and the missing class are the run's own warnings (each with its
    # fix, as the run wrote them), listed under the winner, once each.
    for line in (THIN, MISSING):
        assert header.count(f"    - {escape_markdown(line)}") == 1
    # Below the ceiling: no line of its own.
    df.loc[df["run_number"] == 10, SELECTION_METRIC] = 0.99
    assert analysis.limit_lines(df) == []
    # The ceiling needs another run to rank: a single run at 1.0 is not limited by it.
    single = verdict_table().iloc[[0]].assign(**{SELECTION_METRIC: 1.0})
    assert analysis.limit_lines(single) == []


def test_the_winners_warnings_are_listed_escaped_and_the_others_counted():
    df = verdict_table()
    header = report_header(df)
    assert "- **Warnings of run 10:**" in header
    assert f"    - {escape_markdown(WEAK)}" in header
    assert "<b>" not in header and "&lt;b&gt;x&lt;/b&gt;" in header
    assert analysis.winner_warnings(df) == [WEAK, MISSING, THIN]  # as the run wrote them
    assert "- **Other runs with warnings:** 1 (runs 4)" in header
    table = analysis.warnings_table(df)
    assert table.index.tolist() == [10, 10, 10, 4]
    assert table["warning"].tolist()[0] == WEAK  # as written; table_html escapes it
    page = table_html(table)
    assert "<b>x</b>" not in page and "weak player &lt;b&gt;x&lt;/b&gt;" in page
    # Without a warnings column (older results): nothing to list.
    assert analysis.warnings_table(pattern_table_rows()).empty
    assert "Warnings" not in report_header(pattern_table_rows())


def pattern_table_rows() -> pd.DataFrame:
    return pd.DataFrame([run(n, f) for n, f, *_ in PATTERN_ROWS])


def test_the_header_shows_the_score_to_expect_on_a_new_player():
    df = verdict_table(undecided=False)
    at = df["run_number"] == 10
    df.loc[at, ["new_group_macro_f1", "new_group_macro_f1_min", "new_group_macro_f1_max",
                "new_groups", "cv_folds"]] = [0.937, 0.77, 0.99, 6.0, "loo"]  # fmt: skip
    text = "to expect on a new player: 0.937 (held-out players 0.77–0.99, 6 players)"
    assert analysis.new_group_text(df[at].iloc[0]) == text
    header = report_header(df)
    assert f"run 10, validation 0.9300; {text}; test macro F1 over strokes" in header
    assert "new_group_macro_f1" in leaderboard(df).columns
    assert analysis.new_group_text(verdict_table().iloc[0]) is None
    assert "to expect on a new" not in report_header(verdict_table())


def test_loo_is_shown_as_loo_and_counts_as_cross_validated(tmp_path):
    rows = [
        run(1, 0.9, cv_folds="loo", split_by="player", lstm_layers="[64]"),
        run(2, 0.8, cv_folds=3, split_by="player", lstm_layers="[64]"),
        run(3, 0.7, cv_folds=1, split_by="player", lstm_layers="[64]"),
    ]
    out = tmp_path / "out"
    _, csv = write_search(out, "20260701_120000", rows=rows)
    df = load_results(csv, output_dir=out)
    assert df["cv_folds"].astype(str).tolist() == ["loo", "3", "1"]
    assert cross_validated(df).tolist() == [True, True, False]
    assert search_overview(df)["cross_validated"] == 2
    board = leaderboard(df)
    assert board["cv_folds"].astype(str).tolist() == ["loo", "3", "1"]
    page = table_html(board)
    assert "<td>loo</td>" in page and "<td>3</td>" in page


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
    table = value_table(pattern_table, "lstm_layers", SELECTION_METRIC, k=5)
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
    with pytest.raises(AnalysisError, match="no column 'val_f1'.*val_stroke_macro_f1"):
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


def test_class_balance_flags_a_class_left_far_below_the_runs_own_mean():
    df = pd.DataFrame(
        [
            run(1, 0.9, backhand_recall=0.85, forehand_recall=0.82, macro_avg_recall=0.8),
            run(2, 0.8, backhand_recall=0.95, forehand_recall=0.6, macro_avg_recall=0.8),
            run(3, 0.7, backhand_recall=0.5, forehand_recall=np.nan),
            run(4, 0.6, backhand_recall=0.1, forehand_recall=0.9),
        ]
    )
    table = class_balance(df, k=3)
    assert table["run_number"].tolist() == [1, 2, 3]
    assert list(table.columns) == [
        "run_number", SELECTION_METRIC, "backhand_recall", "forehand_recall", "spread",
        "shortfall", "weakest_class", "unbalanced",
    ]  # fmt: skip
    assert table["spread"].tolist()[:2] == pytest.approx([0.03, 0.35])
    assert table["shortfall"].tolist()[:2] == pytest.approx([0.015, 0.175])
    assert table["unbalanced"].tolist() == [False, True, False]
    assert table["weakest_class"].tolist() == ["forehand", "forehand", "backhand"]
    assert class_balance(df, k=3, threshold=0.01)["unbalanced"].tolist() == [True, True, False]
    # An easy class recalled at 1.0 beside three at ~0.9 (the demo's serves) is not a
    # class left behind: the highest-minus-lowest gap would have flagged it.
    easy = pd.DataFrame([run(1, 0.9, backhand_recall=0.92, forehand_recall=0.9,
                             serve_recall=1.0, slice_recall=0.84)])  # fmt: skip
    flagged = class_balance(easy, k=1)
    assert flagged["spread"].iloc[0] > 0.15 and not flagged["unbalanced"].iloc[0]


def test_overfitting_compares_train_with_validation_windows_ranked_by_the_selection_metric():
    # Train F1 is scored on windows: the gap is against val_macro_f1_score (windows), not
    # the stroke-level selection metric, which only orders the runs.
    df = pd.DataFrame(
        [
            run(1, 0.80, train_macro_f1_score=0.98, val_macro_f1_score=0.75, macro_f1_score=0.78),
            run(2, 0.85, train_macro_f1_score=0.90, val_macro_f1_score=0.88, macro_f1_score=0.84),
            run(3, 0.70, train_macro_f1_score=np.nan, val_macro_f1_score=0.7, macro_f1_score=0.7),
            run(4, None, "FAILED", train_macro_f1_score=0.99),
        ]
    )  # fmt: skip
    table = overfitting(df)
    assert table["run_number"].tolist() == [2, 1, 3]
    assert list(table.columns) == [
        "run_number", SELECTION_METRIC, "train_macro_f1_score", WINDOW_VAL, "macro_f1_score",
        "train_val_gap", "overfitting",
    ]  # fmt: skip
    assert table["train_val_gap"].tolist()[:2] == pytest.approx([0.02, 0.23])
    assert table["overfitting"].tolist() == [False, True, False]
    assert overfitting(df, gap=0.01)["overfitting"].tolist() == [True, True, False]
    assert overfitting(df, k=1)["run_number"].tolist() == [2]
    # Spreads over folds come along for the figure's error bars.
    spread = df.assign(val_macro_f1_score_std=[0.01, 0.02, np.nan, np.nan],
                       macro_avg_f1_score_std=[0.03, 0.04, np.nan, np.nan])  # fmt: skip
    table = overfitting(spread)
    assert table["val_macro_f1_score_std"].tolist()[:2] == pytest.approx([0.02, 0.01])
    assert table["macro_f1_score_std"].tolist()[:2] == pytest.approx([0.04, 0.03])
    # An old table ranks by the window-level figure; its column is not repeated.
    old = df.drop(columns=SELECTION_METRIC)
    assert list(overfitting(old).columns)[:4] == [
        "run_number", WINDOW_VAL, "train_macro_f1_score", "macro_f1_score",
    ]  # fmt: skip
    assert overfitting(old)["run_number"].tolist() == [2, 1, 3]


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
    ).drop(columns=SELECTION_METRIC)  # fmt: skip
    assert leaderboard(df).empty
    assert "run_number" in leaderboard(df).columns
    assert value_table(df, "lstm_layers").empty
    assert interaction_table(df, "lstm_layers", "learning_rate").empty
    assert pattern_sentences(df) == ["No completed runs with val_stroke_macro_f1 yet: nothing to "
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
        metrics = {SELECTION_METRIC: 0.8, "test_stroke_macro_f1": 0.72,
                   "worst_group_macro_f1": 0.6, "val_macro_f1_score": 0.78,
                   "macro_avg_f1_score": 0.7, "test_accuracy": 0.75,
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
        "tracking_uri": f"sqlite:///{output / 'x.db'}", "csv_path": str(csv), "notebooks_dir": "nb",
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
    # a store that moved since the search (report --tracking-uri): its runs are read there
    recorded = load_results(search_id, output_dir=out).attrs.get("tracking_uri")
    moved = load_results(search_id, output_dir=out, tracking_uri="sqlite:////elsewhere/m.db")
    assert moved.attrs["tracking_uri"] == "sqlite:////elsewhere/m.db" != recorded


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


FOLDS = [0.79, 0.85, 0.82]
GROUPS = [
    {"group": "ana", "strokes": 10, "macro_f1": 0.5, "accuracy": 0.6, "handedness": "left",
     "videos": "ana_01", "fold": 1},
    {"group": "bo", "strokes": 12, "macro_f1": 0.9, "accuracy": 0.92, "handedness": "right",
     "videos": "bo_01", "fold": 2},
]  # fmt: skip


@pytest.fixture(scope="module")
def mlflow_search(tmp_path_factory) -> dict:
    """A real SQLite store: a search parent with a KILLED then a FINISHED child for
    config c1 (run 1, cross-validated over 3 folds, with per-group and per-fold
    artifacts), a FAILED child (run 2), a RUNNING one (run 3); a stray run."""
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
              "window_size": 45, "class_weight": "balanced", "cv_folds": 1}  # fmt: skip

    def child(number: int, config: str, extra_tags=None):
        tags = {"mlflow.parentRunId": parent, "search_id": search, "config_id": config,
                "grid": "minimal", **(extra_tags or {})}  # fmt: skip
        return client.create_run(
            experiment_id, run_name=f"grid_search_minimal_run_{number:03d}", tags=tags
        ).info.run_id

    killed = child(1, "c1")
    client.set_terminated(killed, "KILLED")
    finished = child(1, "c1")
    data = {**tracking.run_params({**params, "cv_folds": 3}), "num_classes": "4",
            "train_samples": "120",
            "train_count_serve": "30", "classes": '["forehand", "serve"]'}  # fmt: skip
    for key, value in data.items():
        client.log_param(finished, key, value)
    now = 0
    metrics = {"val_macro_f1_score": 0.8, "macro_avg_f1_score": 0.7, "test_accuracy": 0.75,
               "train_macro_f1_score": 0.9, "training_time_minutes": 1.5,
               "forehand_recall": 0.9, "serve_recall": 0.6, SELECTION_METRIC: 0.82,
               "val_stroke_macro_f1_std": 0.03, "test_stroke_macro_f1": 0.7,
               "worst_group_macro_f1": 0.5, "cv_folds": 3.0}  # fmt: skip
    client.log_batch(
        finished,
        metrics=[Metric(k, v, now, 0) for k, v in metrics.items()]
        + [Metric("epoch_loss", v, now, i) for i, v in enumerate([0.9, 0.5])]
        + [Metric(f"fold_{SELECTION_METRIC}", v, now, i + 1) for i, v in enumerate(FOLDS)],
    )
    client.log_dict(finished, GROUPS, "per_group.json")
    client.log_dict(
        finished, [{"fold": i + 1, SELECTION_METRIC: v} for i, v in enumerate(FOLDS)], "folds.json"
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
                 "uses_batch_normalization", "epoch_loss", f"fold_{SELECTION_METRIC}"):  # fmt: skip
        assert gone not in df.columns
    # cv_folds is a param of every run and a metric of a cross-validated one: one column.
    assert df["cv_folds"].tolist()[:2] == [3, 1]
    assert df.loc[0, SELECTION_METRIC] == pytest.approx(0.82)
    assert df.loc[0, "val_stroke_macro_f1_std"] == pytest.approx(0.03)
    assert cross_validated(df).tolist() == [True, False, False]
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


@pytest.fixture(scope="module")
def mlflow_verdict(tmp_path_factory) -> dict:
    """A finished search in a real SQLite store whose parent names its winner (run 2,
    though run 1 scores higher) and its verdict (undecided); run 1 was cross-validated
    with cv_folds "loo" (its cv_folds metric: 6 folds) and has a warnings tag."""
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    from tennis_lab import tracking

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow_verdict') / 'mlflow.db'}"
    experiment_id = tracking.ensure_experiment("verdict_test", tracking_uri=uri)
    search = "20260801_120000_small"
    parent = tracking.start_parent_run(
        experiment_id, f"grid_search_small_{search}", tags={"search_id": search},
        tracking_uri=uri,
    )  # fmt: skip
    client = MlflowClient(tracking_uri=uri)
    ids = {}
    for number, folds, n_folds, score, tags in (
        (1, "loo", 6.0, 0.95, {"warnings": WEAK}),
        (2, "3", 3.0, 0.90, {}),
    ):
        run_id = client.create_run(
            experiment_id, run_name=f"grid_search_small_run_{number:03d}",
            tags={"mlflow.parentRunId": parent, "search_id": search,
                  "config_id": f"c{number}", **tags},
        ).info.run_id  # fmt: skip
        client.log_param(run_id, "cv_folds", folds)
        client.log_param(run_id, "split_by", "player")
        client.log_batch(run_id, metrics=[Metric(k, v, 0, 0) for k, v in {
            SELECTION_METRIC: score, "cv_folds": n_folds, "val_stroke_macro_f1_std": 0.01,
        }.items()])  # fmt: skip
        client.set_terminated(run_id, "FINISHED")
        ids[number] = run_id
    verdict = f"undecided: runs 2 and 1 ({BOOTSTRAP})"
    tracking.set_tags(parent, {"best_run_id": ids[2], "verdict": verdict}, uri)
    return {"uri": uri, "parent": parent, "ids": ids}


def test_from_mlflow_the_parent_names_the_winner_and_loo_stays_loo(mlflow_verdict):
    s = mlflow_verdict
    df = load_results_mlflow("verdict_test", s["parent"], tracking_uri=s["uri"])
    assert df["run_number"].tolist() == [1, 2]
    # The parameter wins over the metric of the same name: "loo", not 6 folds.
    assert df["cv_folds"].astype(str).tolist() == ["loo", "3"]
    assert cross_validated(df).tolist() == [True, True]
    assert df["winner"].tolist() == [False, True]  # the parent's best_run_id
    assert df.attrs["best_run_id"] == s["ids"][2]
    assert df["warnings"].tolist() == [WEAK, ""]
    overview = search_overview(df)
    assert overview["best_run"] == 2
    header = report_header(df, overview)
    verdict = f"undecided: runs 2 and 1 ({BOOTSTRAP}) (the search's parent run)."
    assert f"- **Verdict:** {escape_markdown(verdict)}\n" in header  # as the search wrote it
    assert "- **Registered as the champion (validation macro F1 over strokes):** run 2" in header
    assert leaderboard(df)["verdict"].tolist() == ["", "winner"]
    assert "&lt;b&gt;x&lt;/b&gt;" in table_html(analysis.warnings_table(df))
    # Without a parent run: every run of the experiment, no winner named.
    assert "winner" not in load_results_mlflow("verdict_test", None, s["uri"]).columns


def test_from_mlflow_a_run_links_the_notebook_its_search_kept(mlflow_search, tmp_path):
    s = mlflow_search
    assert load_results_mlflow("analysis_test", s["parent"], s["uri"])["notebook"].tolist() == [
        "", "", ""
    ]  # fmt: skip
    # where the search puts it by default: <reports>/runs/<search id>/001-<config id>.ipynb
    default = tmp_path / "root" / "reports" / "runs" / s["search"] / "001-c1.ipynb"
    default.parent.mkdir(parents=True)
    default.write_text("{}")
    df = load_results_mlflow("analysis_test", s["parent"], s["uri"])
    assert df["notebook"].tolist() == [str(default), "", ""]
    # a search given --reports-dir: the folder its state names
    elsewhere = tmp_path / "elsewhere" / "002-c2.ipynb"
    elsewhere.parent.mkdir()
    elsewhere.write_text("{}")
    df = load_results_mlflow("analysis_test", s["parent"], s["uri"], elsewhere.parent)
    assert df["notebook"].tolist() == ["", str(elsewhere), ""]


def test_best_run_details_reads_the_groups_and_folds_from_mlflow(mlflow_search):
    s = mlflow_search
    df = load_results_mlflow("analysis_test", s["parent"], tracking_uri=s["uri"])
    info = best_run_details(df)
    assert (info["run"], info["run_id"], info["note"]) == (1, s["finished"], None)
    details = info["details"]
    assert details["groups"] == GROUPS
    assert [f[SELECTION_METRIC] for f in details["folds"]] == FOLDS
    assert groups_table(details["groups"]).index.tolist() == ["ana", "bo"]
    assert folds_table(details["folds"]).index.tolist() == [1, 2, 3]
    # A run id the store does not know: a one-line note, not an exception.
    gone = df.assign(run_id=["0" * 32, *df["run_id"][1:]])
    gone.attrs = df.attrs
    note = best_run_details(gone)["note"]
    assert note.startswith("Run 1's details could not be read from MLflow at sqlite:")
    assert "\n" not in note


def test_an_old_csv_loads_and_ranks_by_the_window_level_figure(tmp_path):
    out = tmp_path / "out"
    params = {"lstm_layers": [64, 32], "learning_rate": 0.001}
    old = {"val_macro_f1_score": 0.8, "macro_avg_f1_score": 0.7, "test_accuracy": 0.75,
           "train_macro_f1_score": 0.9, "training_time_minutes": 1.5}  # fmt: skip
    rows = [
        result_row(n, f"c{n}", {**params, "learning_rate": lr}, "COMPLETED", Path(f"{n}.ipynb"),
                   {"metrics": {**old, "val_macro_f1_score": f}, "run_id": f"r{n}"})
        for n, f, lr in [(1, 0.8, 0.001), (2, 0.9, 0.01)]
    ]  # fmt: skip
    _, csv = write_search(out, "20250101_120000", rows=rows)
    df = load_results(csv, output_dir=out)
    assert SELECTION_METRIC not in df.columns
    assert selection_metric(df) == WINDOW_VAL
    assert leaderboard(df)["run_number"].tolist() == [2, 1]
    assert search_overview(df)["best_val_macro_f1_score"] == pytest.approx(0.9)
    assert "validation macro F1 over windows" in report_header(df)
    assert parameter_columns(df) == ["lstm_layers", "learning_rate"]


def test_importing_analysis_does_not_import_mlflow_or_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, tennis_lab.analysis; "
        "print(sorted(m for m in ('mlflow', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert analysis.SELECTION_METRIC == "val_stroke_macro_f1"
    assert analysis.LEGACY_SELECTION_METRIC == "val_macro_f1_score"


# --------------------------------------------------------------------------- strategies

BUDGETS = {0: 3, 1: 9, 2: 27}  # epochs_budget per rung of a successive halving search
# trial -> its rungs' (status, validation F1): trials 1 and 4 promoted to rung 2, trial 3
# pruned at rung 1, trials 2 and 6 at rung 0; trial 5 failed.
TRIALS = {
    1: [("COMPLETED", 0.60), ("COMPLETED", 0.80), ("COMPLETED", 0.88)],
    2: [("PRUNED", 0.50)],
    3: [("COMPLETED", 0.70), ("PRUNED", 0.75)],
    4: [("COMPLETED", 0.65), ("COMPLETED", 0.78), ("COMPLETED", 0.85)],
    5: [("FAILED", np.nan)],
    6: [("PRUNED", 0.40)],
}
# Finalists c1 and c4 re-run with seeds 43 to 45 (trials 7 to 12): their scores beat
# every search row, so a ranking that counted repeats would show them first.
REPEATS = [(7, "c1", 43, 0.92), (8, "c1", 44, 0.95), (9, "c1", 45, 0.92),
           (10, "c4", 43, 0.90), (11, "c4", 44, 0.88), (12, "c4", 45, 0.90)]  # fmt: skip
# The runner's recorded verdict (made-up intervals: the table must show them as they are).
VERDICT = {
    "c1": {"finalist": 1, "finalist_trial": 1, "finalist_mean": 0.93, "finalist_ci_low": 0.89,
           "finalist_ci_high": 0.97, "finalist_repeats": 3, "tied_with_best": True},
    "c4": {"finalist": 2, "finalist_trial": 4, "finalist_mean": 0.8933,
           "finalist_ci_low": 0.86, "finalist_ci_high": 0.92, "finalist_repeats": 3,
           "tied_with_best": False},
}  # fmt: skip


def trial_params(n: int) -> dict:
    return {"lstm_units": 16 * n, "learning_rate": 0.001 if n % 2 else 0.01, "seed": 42}


def strategy_row(n, rung, status, val, strategy="halving", phase="search", **values) -> dict:
    """A row of a strategy's search: trial ``n`` at ``rung`` (its budget from BUDGETS)."""
    start = BUDGETS[rung - 1] if rung else 0
    row = run(n, val, status, rung=rung, **trial_params(n))
    row.update({
        "run_id": f"r{n}-{rung}", SELECTION_METRIC: val, "strategy": strategy, "trial": n,
        "epochs_budget": BUDGETS[rung], "initial_epoch": start, "phase": phase,
        "epochs_trained": np.nan if status == "FAILED" else BUDGETS[rung],
        "epochs_trained_this_run": np.nan if status == "FAILED" else BUDGETS[rung] - start,
        "training_time_minutes": float(n + rung),
    })  # fmt: skip
    row.update(values)
    return row


def repeat_row(n, config, seed, val, verdict=True, **values) -> dict:
    source = int(config[1:])
    row = strategy_row(n, 0, "COMPLETED", val, phase="repeat", config_id=config,
                       **{**trial_params(source), "seed": seed})  # fmt: skip
    row.update(epochs_budget=27, epochs_trained=27, epochs_trained_this_run=27)
    if verdict:
        row.update(VERDICT[config])
    row.update(values)
    return row


def halving_table(repeats: bool = True, verdict: bool = True) -> pd.DataFrame:
    rows = [
        strategy_row(n, rung, status, val)
        for n, rungs in TRIALS.items()
        for rung, (status, val) in enumerate(rungs)
    ]
    if repeats:
        rows += [repeat_row(n, c, seed, val, verdict) for n, c, seed, val in REPEATS]
    return pd.DataFrame(rows)


def test_a_promoted_trial_ranks_once_with_its_last_rungs_score():
    df = halving_table()
    done = completed(df)
    assert done["run_number"].tolist() == [1, 4]
    assert done["rung"].tolist() == [2, 2]
    assert done[SELECTION_METRIC].tolist() == [0.88, 0.85]
    board = leaderboard(df)
    assert board["run_number"].tolist() == [1, 4]  # not the repeats' 0.95 or 0.92
    assert board[SELECTION_METRIC].tolist() == [0.88, 0.85]
    # Bookkeeping of strategies is neither a parameter nor a metric.
    assert varied_parameters(df) == ["lstm_units", "learning_rate"]
    for column in ("trial", "rung", "phase", "strategy", "epochs_budget", "initial_epoch",
                   "finalist_mean", "tied_with_best"):  # fmt: skip
        assert column not in parameter_columns(df) and column not in metric_columns(df)
    assert "epochs_trained_this_run" in metric_columns(df)
    # Trial 3's pruned rung 1 is its verdict: its earlier COMPLETED rung is not ranked.
    assert 3 not in set(done["run_number"])
    assert value_table(df, "lstm_units")["runs"].tolist() == [1, 1]
    assert parameter_importance(df)[0]["runs_per_group"].tolist() == [1.0, 1.0]
    assert pattern_sentences(df, k=5)[0].startswith("Only 2 completed runs")
    front = pareto_front(df)
    assert set(df.loc[front, "run_id"]) <= {"r1-2", "r4-2"} and front.any()
    assert df.loc[verdict_index(df), "run_id"].tolist() == [
        "r1-2",
        "r2-0",
        "r3-1",
        "r4-2",
        "r5-0",
        "r6-0",
    ]


def verdict_index(df: pd.DataFrame) -> pd.Index:
    return analysis.verdict_rows(df).index


def test_a_trial_whose_next_rung_runs_or_failed_is_not_ranked_by_its_earlier_rung():
    df = pd.DataFrame([
        strategy_row(1, 0, "COMPLETED", 0.60), strategy_row(1, 1, "COMPLETED", 0.70),
        strategy_row(7, 0, "COMPLETED", 0.99), strategy_row(7, 1, "RUNNING", np.nan),
        strategy_row(8, 0, "COMPLETED", 0.98), strategy_row(8, 1, "FAILED", np.nan),
    ])  # fmt: skip
    assert leaderboard(df)["run_number"].tolist() == [1]
    assert search_overview(df)["running"] == 1


def test_repeat_rows_are_not_search_rows():
    df = halving_table()
    assert analysis.repeat_rows(df)["run_number"].tolist() == [7, 8, 9, 10, 11, 12]
    assert not set(completed(df)["phase"]) & {"repeat"}
    # Without the search rows, nothing ranks: repeats never do.
    assert leaderboard(df[df["phase"] == "repeat"]).empty


def test_a_grid_search_with_the_new_columns_ranks_like_an_old_table(pattern_table):
    new = pattern_table.assign(strategy="grid", trial=pattern_table["run_number"], rung=0,
                               phase="search", epochs_budget=np.nan)  # fmt: skip
    assert completed(new).index.tolist() == completed(pattern_table).index.tolist()
    assert leaderboard(new).equals(leaderboard(pattern_table))
    assert pattern_sentences(new) == pattern_sentences(pattern_table)
    # An old table is only filtered by status: all its COMPLETED rows, in order.
    assert completed(pattern_table)["run_number"].tolist() == [3, 7, 1, 9, 4, 2, 5, 6, 8, 10, 12]


def test_finalists_table_gives_each_finalists_recorded_verdict_by_rank():
    table = analysis.finalists_table(halving_table())
    assert table.index.name == "finalist" and table.index.tolist() == [1, 2]
    assert list(table.columns) == [
        "trial",
        "config_id",
        "lstm_units",
        "learning_rate",
        "mean",
        "ci_low",
        "ci_high",
        "repeats",
        "tied",
        "best_run",
    ]  # fmt: skip  (not the seed: it differs between one finalist's repeats)
    assert table["trial"].tolist() == [1, 4]
    assert table["config_id"].tolist() == ["c1", "c4"]
    assert table["lstm_units"].tolist() == [16, 64]
    assert table["mean"].tolist() == [0.93, 0.8933]
    assert table["ci_low"].tolist() == [0.89, 0.86] and table["ci_high"].tolist() == [0.97, 0.92]
    assert table["repeats"].tolist() == [3, 3]
    assert table["tied"].tolist() == [True, False]
    # c1's best repeat is run 8 (0.95); c4's runs 10 and 12 tie at 0.90: the lower number.
    assert table["best_run"].tolist() == [8, 10]
    assert table.attrs["provisional"] is False
    html_table = table_html(table)
    assert "<td>0.9300</td>" in html_table and "<td>0.8933</td>" in html_table


def test_finalists_table_reads_the_verdict_back_from_the_csv(tmp_path):
    out = tmp_path / "out"
    _, csv = write_search(out, "20260301_120000", rows=halving_table().to_dict("records"))
    df = load_results(csv, output_dir=out)
    table = analysis.finalists_table(df)
    assert table["tied"].tolist() == [True, False]
    assert table["trial"].tolist() == [1, 4] and table["best_run"].tolist() == [8, 10]
    assert leaderboard(df)["run_number"].tolist() == [1, 4]
    assert search_overview(df)["pruned"] == 3


def test_finalists_table_is_empty_without_repeats(pattern_table):
    for df in (pattern_table, halving_table(repeats=False)):
        table = analysis.finalists_table(df)
        assert table.empty and table.index.name == "finalist"
        assert analysis.verdict_sentence(df) is None


def test_before_the_runner_records_it_the_verdict_is_worked_out_and_provisional():
    from tennis_lab import evaluation

    df = halving_table(verdict=False)
    # Without finalist_trial either: the trial is the search trial of the config id.
    df = df.drop(columns=[c for c in VERDICT["c1"] if c in df.columns])
    running = repeat_row(13, "c4", 46, np.nan, verdict=False, status="RUNNING")
    df = pd.concat([df, pd.DataFrame([running])], ignore_index=True)
    table = analysis.finalists_table(df)
    assert table.attrs["provisional"] is True
    assert (table.attrs["done"], table.attrs["runs"]) == (6, 7)
    c1, c4 = [0.92, 0.95, 0.92], [0.90, 0.88, 0.90]
    assert table["config_id"].tolist() == ["c1", "c4"] and table["trial"].tolist() == [1, 4]
    for (_, row), scores in zip(table.iterrows(), (c1, c4), strict=True):
        mean, low, high = evaluation.mean_interval(scores, 0.95)
        assert (row["mean"], row["ci_low"], row["ci_high"]) == pytest.approx((mean, low, high))
    assert table["ci_low"].tolist() == pytest.approx([0.88697, 0.86465], abs=1e-5)
    assert table["repeats"].tolist() == [3, 3]  # the running repeat has no score yet
    assert table["tied"].tolist() == [True, False]  # one-sided Welch p = 0.023 < 0.05
    assert evaluation.tied_with_best({"c1": c1, "c4": c4}) == {"c1": True, "c4": False}
    sentence = analysis.verdict_sentence(df)
    assert sentence.startswith(
        "Provisional, worked out from the repeats' scores so far: the finalists' repeats "
        "are still running (6 of 7 done). Trial 1 is ahead of the other finalists"
    )


def test_verdict_sentence_says_when_one_finalist_is_ahead():
    assert analysis.verdict_sentence(halving_table()) == (
        "Trial 1 is ahead of the other finalists: 0.9300 [0.8900, 0.9700] (95 % interval "
        "of val_stroke_macro_f1 over 3 seeds); a one-sided Welch's t-test at the 5 % level "
        "finds each of the others worse (trial 4 0.8933 [0.8600, 0.9200])."
    )


def test_verdict_sentence_says_tied_when_several_are_tied_with_the_best():
    df = halving_table()
    df.loc[df["config_id"] == "c4", "tied_with_best"] = True
    third = [repeat_row(13 + i, "c3", 43 + i, 0.80, verdict=False, finalist=3, finalist_trial=3,
                        finalist_mean=0.80, finalist_ci_low=np.nan, finalist_ci_high=np.nan,
                        finalist_repeats=1, tied_with_best=False)
             for i in range(1)]  # fmt: skip
    df = pd.concat([df, pd.DataFrame(third)], ignore_index=True)
    sentence = analysis.verdict_sentence(df)
    assert sentence == (
        "No single winner: trials 1 and 4 are statistically tied (one-sided Welch's t-test "
        "at the 5 % level over 3 seeds each; 95 % intervals of val_stroke_macro_f1: trial 1 "
        "0.9300 [0.8900, 0.9700]; trial 4 0.8933 [0.8600, 0.9200]); these scores do not "
        "separate them. Trial 3 is worse than the best: trial 3 0.8000 (one score, no "
        "interval)."
    )
    assert "tied" in sentence and "ahead" not in sentence
    table = analysis.finalists_table(df)
    assert table["trial"].tolist() == [1, 4, 3] and table["tied"].tolist() == [True, True, False]


def test_verdict_sentence_of_one_finalist_and_of_finalists_without_a_trial():
    df = halving_table()
    df = df[df["config_id"] != "c4"]
    assert analysis.verdict_sentence(df) == (
        "One finalist, trial 1: 0.9300 [0.8900, 0.9700] (95 % interval of "
        "val_stroke_macro_f1 over 3 seeds); there is no other finalist to compare it with."
    )
    # A finalist whose config id matches no search row and no finalist_trial: named by id.
    other = halving_table().drop(columns="finalist_trial")
    other.loc[(other["config_id"] == "c4") & (other["phase"] == "repeat"), "config_id"] = "<c9>"
    sentence = analysis.verdict_sentence(other)
    assert "(configuration <c9> 0.8933 [0.8600, 0.9200])" in sentence
    assert "&lt;c9&gt;" in table_html(analysis.finalists_table(other))


def test_a_finalist_without_a_scored_repeat_comes_last_without_a_verdict():
    df = halving_table()
    df.loc[df["config_id"] == "c4", "status"] = "FAILED"
    df.loc[df["config_id"] == "c4", [SELECTION_METRIC, *list(VERDICT["c4"])[2:]]] = np.nan
    table = analysis.finalists_table(df)
    assert table["config_id"].tolist() == ["c1", "c4"]
    assert table["repeats"].tolist() == [3, 0] and table["tied"].tolist() == [True, False]
    assert math.isnan(table.loc[2, "mean"]) and pd.isna(table.loc[2, "best_run"])
    assert analysis.verdict_sentence(df).startswith("One finalist, trial 1:")


def test_overview_and_header_of_an_adaptive_search_count_trials_pruned_and_epochs():
    df = halving_table()
    df.attrs = {"search_id": "s1", "grid": "small"}
    overview = search_overview(df)
    assert overview["strategy"] == "halving"
    assert (overview["runs"], overview["trials"], overview["completed"]) == (17, 6, 2)
    assert (overview["pruned"], overview["failed"], overview["rungs"]) == (3, 1, 3)
    assert (overview["repeats"], overview["repeats_completed"], overview["finalists"]) == (6, 6, 2)
    # 27 + 3 + 9 + 27 + 0 + 3 epochs in the search, 6 x 27 in the repeats
    assert overview["epochs_trained"] == 69 + 162
    assert overview["best_run"] == 1 and overview["best_score"] == pytest.approx(0.88)
    header = report_header(df, overview)
    assert (
        "- **Strategy:** successive halving: 6 trials, 3 pruned, 231 epochs trained; "
        "2 finalists re-run with other seeds: 6 runs, 6 completed"
    ) in header
    assert (
        "- **Runs:** 17 (every rung of a trial and every repeat): 2 trials completed, "
        "3 pruned; 1 run failed"
    ) in header
    # Without the per-run column, epochs_trained less initial_epoch counts the same.
    assert search_overview(df.drop(columns="epochs_trained_this_run"))["epochs_trained"] == 231
    assert (
        search_overview(df.drop(columns=["epochs_trained_this_run", "epochs_trained"]))[
            "epochs_trained"
        ]
        is None
    )


def test_overview_of_other_strategies_and_of_old_tables(pattern_table):
    epochs = np.where(pattern_table["status"] == "COMPLETED", 10.0, np.nan)  # none if failed
    grid = pattern_table.assign(strategy="tpe", trial=pattern_table["run_number"], rung=0,
                                phase="search", epochs_trained=epochs)  # fmt: skip
    overview = search_overview(grid)
    assert analysis.strategy_summary(overview) == "TPE (Optuna): 12 trials, 110 epochs trained"
    header = report_header(grid, overview)
    assert "- **Strategy:** TPE (Optuna): 12 trials, 110 epochs trained" in header
    assert "- **Runs:** 12: 11 completed, 1 failed" in header
    old = search_overview(pattern_table)
    assert old["strategy"] is None and analysis.strategy_summary(old) is None
    assert (old["trials"], old["pruned"], old["repeats"], old["epochs_trained"]) == (12, 0, 0, None)
    assert "Strategy" not in report_header(pattern_table, old)
    odd = grid.assign(strategy="<b>x</b>")
    assert "- **Strategy:** &lt;b&gt;x&lt;/b&gt;: 12 trials" in report_header(odd)


def test_every_strategy_has_words_for_the_report():
    from tennis_lab.results import STRATEGIES

    assert set(analysis.STRATEGY_WORDS) == set(STRATEGIES)


@pytest.fixture(scope="module")
def mlflow_halving(tmp_path_factory) -> dict:
    """A halving search in a real SQLite store: trial 1 at rungs 0 and 1 (the same config
    id), trial 2 KILLED and then run again and PRUNED (the runner's status tag), and two
    repeats of trial 1's configuration with the verdict's tags and metrics."""
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    from tennis_lab import tracking

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow_halving') / 'mlflow.db'}"
    experiment_id = tracking.ensure_experiment("halving_test", tracking_uri=uri)
    search = "20260401_120000_small"
    parent = tracking.start_parent_run(
        experiment_id, f"grid_search_small_{search}",
        tags={"search_id": search, "grid": "small", "strategy": "halving"}, tracking_uri=uri,
    )  # fmt: skip
    client = MlflowClient(tracking_uri=uri)

    def child(name, config, tags, metrics, status="FINISHED", lstm_units=16):
        tags = {"mlflow.parentRunId": parent, "search_id": search, "config_id": config,
                "grid": "small", "strategy": "halving", **tags}  # fmt: skip
        run_id = client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
        client.log_param(run_id, "lstm_units", str(lstm_units))
        client.log_batch(run_id, metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()])
        client.set_terminated(run_id, status)
        return run_id

    search_tags = {"phase": "search"}
    ids = {
        "1-0": child("grid_search_small_run_001", "c1",
                     {**search_tags, "trial": "1", "rung": "0", "epochs_budget": "3",
                      "initial_epoch": "0", "status": "COMPLETED"},
                     {SELECTION_METRIC: 0.6, "epochs_trained_this_run": 3.0}),
        "1-1": child("grid_search_small_run_001_rung1", "c1",
                     {**search_tags, "trial": "1", "rung": "1", "epochs_budget": "9",
                      "initial_epoch": "3", "status": "COMPLETED"},
                     {SELECTION_METRIC: 0.8, "epochs_trained_this_run": 6.0}),
        "2-killed": child("grid_search_small_run_002", "c2",
                          {**search_tags, "trial": "2", "rung": "0", "epochs_budget": "3"},
                          {}, status="KILLED", lstm_units=32),
        "2-0": child("grid_search_small_run_002", "c2",
                     {**search_tags, "trial": "2", "rung": "0", "epochs_budget": "3",
                      "initial_epoch": "0", "status": "PRUNED"},
                     {SELECTION_METRIC: 0.5, "epochs_trained_this_run": 3.0}, lstm_units=32),
    }  # fmt: skip
    verdict = {"finalist_mean": 0.9, "finalist_ci_low": 0.85, "finalist_ci_high": 0.95}
    for number, score in ((3, 0.91), (4, 0.89)):
        ids[f"repeat-{number}"] = child(
            f"grid_search_small_run_{number:03d}", "c1",
            {"phase": "repeat", "trial": str(number), "rung": "0", "epochs_budget": "9",
             "status": "COMPLETED", "finalist": "1", "finalist_trial": "1",
             "tied_with_best": "True"},
            {SELECTION_METRIC: score, "epochs_trained_this_run": 9.0, **verdict},
        )  # fmt: skip
    return {"uri": uri, "parent": parent, "ids": ids}


def test_load_results_mlflow_reads_a_strategys_rungs_statuses_and_verdict(mlflow_halving):
    s = mlflow_halving
    df = load_results_mlflow("halving_test", s["parent"], tracking_uri=s["uri"])
    ids = s["ids"]
    assert df["run_id"].tolist() == [ids["1-0"], ids["1-1"], ids["2-0"], ids["repeat-3"],
                                     ids["repeat-4"]]  # fmt: skip
    assert df["run_number"].tolist() == [1, 1, 2, 3, 4]
    assert df["rung"].tolist() == [0, 1, 0, 0, 0] and df["trial"].tolist() == [1, 1, 2, 3, 4]
    assert df["status"].tolist() == ["COMPLETED", "COMPLETED", "PRUNED", "COMPLETED",
                                     "COMPLETED"]  # fmt: skip
    assert df["phase"].tolist() == ["search"] * 3 + ["repeat"] * 2
    assert df["strategy"].tolist() == ["halving"] * 5
    assert df["epochs_budget"].tolist() == [3, 9, 3, 9, 9]
    assert [bool(v) for v in df["tied_with_best"][3:]] == [True, True]
    assert df["tied_with_best"][:3].isna().all()
    assert df["finalist_mean"].tolist()[3:] == [0.9, 0.9]
    assert list(df.columns[:5]) == ["run_number", "run_id", "config_id", "status", "error"]
    assert parameter_columns(df) == ["lstm_units"]
    assert completed(df)["run_id"].tolist() == [ids["1-1"]]
    table = analysis.finalists_table(df)
    assert table["trial"].tolist() == [1] and table["best_run"].tolist() == [3]
    assert (table.loc[1, "mean"], table.loc[1, "ci_low"], table.loc[1, "ci_high"]) == (
        0.9, 0.85, 0.95,
    )  # fmt: skip
    assert table["repeats"].tolist() == [2] and table["tied"].tolist() == [True]
    assert table.attrs["provisional"] is False
    overview = search_overview(df)
    assert (overview["trials"], overview["pruned"], overview["repeats"]) == (2, 1, 2)
    assert overview["epochs_trained"] == 3 + 6 + 3 + 9 + 9


# --------------------------------------------------------------------------- the notebook


def report_rows(table: pd.DataFrame) -> list[dict]:
    """``table``'s rows with the scores every section of the report draws."""
    scored = table[SELECTION_METRIC].notna()
    extra = {"test_stroke_macro_f1": 0.8, "worst_group_macro_f1": 0.6, "val_macro_f1_score": 0.7,
             "macro_f1_score": 0.7, "test_accuracy": 0.75, "train_macro_f1_score": 0.9,
             "forehand_recall": 0.8, "serve_recall": 0.7, "trainable_params": 1000,
             "inference_ms_per_window": 2.0}  # fmt: skip
    out = table.copy()
    for column, value in extra.items():
        out[column] = np.where(scored, value, np.nan)
    return out.to_dict("records")


@pytest.mark.slow  # starts a kernel (no training)
def test_the_report_has_a_finalists_section_only_when_there_are_finalists(tmp_path, monkeypatch):
    from tennis_lab.report import build_report

    monkeypatch.setenv("TENNIS_LAB_ROOT", str(Path(analysis.__file__).resolve().parents[2]))
    out, reports = tmp_path / "out", tmp_path / "reports"
    write_search(out, "20260501_120000", grid="small", rows=report_rows(halving_table()))
    page = build_report("20260501_120000_small", reports_dir=reports, output_dir=out)
    html = page.read_text(encoding="utf-8")
    assert '<h2 id="Finalists">' in html
    assert "Trial 1 is ahead of the other finalists: 0.9300 [0.8900, 0.9700]" in html
    assert "Welch's t-test at the 5 % level finds each of the others worse" in html.replace(
        "&#x27;", "'"
    )
    assert "<th>ci_<wbr/>low</th>" in html and "<td>0.8933</td>" in html
    assert "successive halving: 6 trials, 3 pruned, 231 epochs trained" in html
    assert "No finalists" not in html
    executed = json.loads(page.with_suffix(".ipynb").read_text(encoding="utf-8"))
    finalists_cell = next(c for c in executed["cells"] if "finalists_table" in "".join(c["source"]))
    images = [o for o in finalists_cell["outputs"] if "image/png" in o.get("data", {})]
    assert len(images) == 1  # the finalists figure

    write_search(out, "20260502_120000", grid="plain", rows=report_rows(halving_table(False)))
    html = build_report("20260502_120000_plain", reports_dir=reports, output_dir=out).read_text(
        encoding="utf-8"
    )
    assert '<h2 id="Finalists">' not in html and "No finalists: this search did not re-run" in html
