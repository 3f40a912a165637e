"""Searches on a Dask LocalCluster: runs in parallel, finishing out of order."""

from __future__ import annotations

import os

import pandas as pd
import yaml
from conftest import TINY_MODEL

from tennis_lab.executors import DaskExecutor, SequentialExecutor, make_executor
from tennis_lab.search import SearchConfig, run_search
from tennis_lab.tracking import runs_dataframe


def _square(x):
    if x == 3:
        raise ValueError("three is not allowed")
    return x * x


def test_executors_report_every_outcome_even_out_of_order():
    with SequentialExecutor() as seq:
        outcomes = list(seq.run(_square, [1, 3, 2]))
    assert [item for item, _ in outcomes] == [1, 3, 2]
    assert isinstance(outcomes[1][1], ValueError) and outcomes[0][1] is None
    with make_executor(workers=2) as dask_exec:
        assert isinstance(dask_exec, DaskExecutor) and dask_exec.workers == 2
        outcomes = dict(dask_exec.run(_square, [1, 2, 3, 4]))
    assert set(outcomes) == {1, 2, 3, 4}
    assert isinstance(outcomes[3], ValueError) and "three" in str(outcomes[3])
    assert outcomes[1] is None and outcomes[4] is None
    assert isinstance(make_executor(workers=1), SequentialExecutor)


def test_four_combinations_on_two_workers(tiny_demo, tmp_path):
    fixed = {k: v for k, v in TINY_MODEL.items() if k not in ("lstm_layers", "epochs")}
    grid = tmp_path / "four.yaml"
    grid.write_text(
        yaml.safe_dump(
            {"fixed": {**fixed, "window_size": 30, "overlap": 15},
             "grid": {"lstm_layers": [[8], [12]], "learning_rate": [0.01, 0.02]}}
        )
    )  # fmt: skip
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = SearchConfig(
        grid=str(grid), data_dir=str(tiny_demo), epochs=2, output_dir=str(tmp_path / "out"),
        reports_dir=str(tmp_path / "runs"), tracking_uri=uri, experiment="parallel_test",
        stream_output=False, workers=2,
    )  # fmt: skip
    rows = run_search(cfg, open(os.devnull, "w"))
    assert [r["run_number"] for r in rows] == [1, 2, 3, 4]
    assert {r["status"] for r in rows} == {"COMPLETED"}
    (csv,) = (tmp_path / "out").glob("grid_search_results_*.csv")
    table = pd.read_csv(csv)
    assert len(table) == 4 and table["config_id"].is_unique
    parent = rows[0]["run_id"]
    kids = runs_dataframe("parallel_test", tracking_uri=uri)
    children = kids[kids["tags.mlflow.parentRunId"].notna()]
    assert len(children) == 4 and set(children["status"]) == {"FINISHED"}
    assert set(children["run_id"]) == {r["run_id"] for r in rows} and parent in set(
        children["run_id"]
    )
