"""results: trial statuses, names, rows and the results CSV (no runs needed)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tennis_lab.results import (
    RUN_COLUMNS,
    STATUSES,
    ResultsError,
    parent_run_name,
    read_completed,
    read_rows,
    result_row,
    results_csv_name,
    run_name,
    trial_file,
    write_csv_atomic,
)


def test_statuses_are_the_five_words_of_a_trial():
    assert STATUSES == ("RUNNING", "COMPLETED", "FAILED", "PRUNED", "KILLED")
    with pytest.raises(ValueError, match="status must be one of"):
        result_row(1, "abc", {}, "DONE", Path("x.ipynb"))


def test_one_place_builds_run_notebook_and_csv_names():
    assert run_name("small", 7) == "r007 · grid_search_small"
    params = {"lstm_layers": [128, 64], "learning_rate": 0.001, "dense_units": 32}
    named = run_name("small", 7, 0, params, ["lstm_layers", "learning_rate"])
    assert named == "r007 lstm128-64 lr1e-3 · grid_search_small"
    # names that differ only in their parameters differ in their first characters
    other = run_name("small", 8, 0, {**params, "learning_rate": 0.0005}, ["lstm_layers"])
    assert named[:4] != other[:4] and other == "r008 lstm128-64 · grid_search_small"
    long = run_name("small", 1, 0, {"lstm_layers": [256] * 30}, ["lstm_layers"])
    assert len(long) < 100 and long.endswith("… · grid_search_small")
    assert parent_run_name("small", "20261202_1") == "grid_search_small_20261202_1"
    assert trial_file("runs/s1", 7, "c0ffee", ".ipynb") == Path("runs/s1/007-c0ffee.ipynb")
    assert results_csv_name("20261202_143651") == "grid_search_results_20261202_143651.csv"


def test_rows_round_trip_through_the_csv_with_the_guide_columns_first(tmp_path):
    rows = [
        result_row(2, "b2", {"lstm_layers": [64, 32]}, "FAILED", Path("2.ipynb"), error="boom"),
        result_row(
            1, "a1", {"lstm_layers": [128, 64], "learning_rate": 0.001}, "COMPLETED",
            Path("1.ipynb"), result={"run_id": "r1", "metrics": {"macro_avg_f1_score": 0.9},
                                     "data": {"split_by": "player"}}, seconds=12.34,
        ),
    ]  # fmt: skip
    csv = tmp_path / "out" / "results.csv"
    write_csv_atomic(rows, csv)
    header = csv.read_text().splitlines()[0].split(",")
    known = [c for c in RUN_COLUMNS if c in header]  # the guide's columns first, in order
    assert header[: len(known)] == known and known[:5] == list(RUN_COLUMNS[:5])
    assert "notebook" in header and "run_seconds" in header
    back = read_rows(csv)
    assert [r["run_number"] for r in back] == [1, 2]  # sorted by run number
    assert back[0]["lstm_layers"] == "[128, 64]" and back[0]["macro_f1_score"] == 0.9
    assert back[0]["split_by_resolved"] == "player" and back[0]["run_seconds"] == 12.3
    assert list(read_completed(csv)) == ["a1"]


def test_the_csv_is_readable_by_colleagues_not_only_its_writer(tmp_path):
    csv = tmp_path / "results.csv"
    old = os.umask(0o022)
    try:
        write_csv_atomic([], csv)
    finally:
        os.umask(old)
    assert stat.S_IMODE(csv.stat().st_mode) == 0o644
    assert csv.read_text().strip() == ",".join(RUN_COLUMNS)  # no rows: the header alone


def test_missing_empty_and_broken_files(tmp_path):
    assert read_rows(tmp_path / "missing.csv") == []
    (tmp_path / "empty.csv").write_text("")
    assert read_completed(tmp_path / "empty.csv") == {}
    (tmp_path / "broken.csv").write_text('a,b\n"unclosed,1\n')
    with pytest.raises(ResultsError, match="cannot read the results CSV .*broken.csv"):
        read_rows(tmp_path / "broken.csv")


def test_analysis_reads_results_without_importing_the_runner():
    code = "import sys, tennis_lab.analysis; print('tennis_lab.search' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_the_search_state_file_is_named_found_and_read_in_one_place(tmp_path):
    from tennis_lab.results import (
        TableError,
        csv_path,
        latest_search,
        notebooks_folder,
        read_state,
        state_for_csv,
        state_path,
    )

    out = tmp_path / "out"
    assert latest_search(out) is None
    first, second = state_path(out, "20260101_1_small"), state_path(out, "20260102_1_small")
    assert first == out / "searches" / "20260101_1_small.json"
    assert csv_path(out, "20260102_1") == out / "grid_search_results_20260102_1.csv"
    first.parent.mkdir(parents=True)
    first.write_text(json.dumps({"search_id": "20260101_1_small", "csv_path": "/gone/a.csv"}))
    second.write_text(json.dumps({"search_id": "20260102_1_small",
                                  "csv_path": str(csv_path(out, "20260102_1"))}))  # fmt: skip
    assert latest_search(out) == "20260102_1_small"
    assert read_state(first)["csv_path"] == "/gone/a.csv"
    assert state_for_csv(csv_path(out, "20260102_1"), out)["search_id"] == "20260102_1_small"
    assert state_for_csv(out / "other.csv", out) is None
    (first.parent / "bad.json").write_text("{")
    with pytest.raises(TableError, match="cannot read search state .*bad.json"):
        read_state(first.parent / "bad.json")
    (first.parent / "odd.json").write_text("[]")
    with pytest.raises(TableError, match="has no csv_path"):
        read_state(first.parent / "odd.json")
    # run notebooks: <reports dir>/<search id>/007-<config id>[-rung1].ipynb
    folder = notebooks_folder(tmp_path / "runs", "20260102_1_small")
    assert trial_file(folder, 7, "c0", ".ipynb", 1) == folder / "007-c0-rung1.ipynb"


def test_results_import_nothing_of_the_package_but_errors():
    code = (
        "import sys, tennis_lab; before = set(sys.modules); import tennis_lab.results; "
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('tennis_lab.') "
        "and not m.startswith('tennis_lab.results')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("[]", "['tennis_lab.errors']")
