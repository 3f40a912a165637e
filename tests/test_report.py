"""notebooks/analysis.ipynb and the HTML report, built from a real small search."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import TINY_MODEL

from tennis_lab.paths import notebooks_dir
from tennis_lab.report import build_report
from tennis_lab.search import SearchConfig, run_search

NOTEBOOK = notebooks_dir() / "analysis.ipynb"


def test_analysis_notebook_is_committed_clean():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)


@pytest.fixture(scope="module")
def searched(tiny_demo, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reported")
    grid = tmp / "g.yaml"
    fixed = {k: v for k, v in TINY_MODEL.items() if k not in ("lstm_layers", "epochs")}
    grid.write_text(
        yaml.safe_dump(
            {
                "fixed": {**fixed, "window_size": 30, "overlap": 15},
                "grid": [
                    {"lstm_layers": [[8], [12]]},
                    {"lstm_layers": [[8]], "window_size": [5000]},
                ],
            }
        )
    )
    cfg = SearchConfig(
        grid=str(grid), data_dir=str(tiny_demo), epochs=2, output_dir=str(tmp / "output"),
        reports_dir=str(tmp / "reports" / "runs"), tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}",
        experiment="report_test", stream_output=False,
    )  # fmt: skip
    rows = run_search(cfg, open(os.devnull, "w"))
    return tmp, rows


def test_report_is_one_html_file_with_header_leaderboard_and_figures(searched):
    tmp, rows = searched
    html_path = build_report(None, reports_dir=tmp / "reports", output_dir=tmp / "output")
    html = html_path.read_text(encoding="utf-8")
    assert html_path.parent == tmp / "reports" and html_path.suffix == ".html"
    search_id = html_path.stem
    assert search_id in html and "2 completed" in html and "1 failed" in html
    assert "Leaderboard" in html and "<table" in html and "run_number" in html
    images = re.findall(r'<img[^>]+src="data:image/png;base64,', html)
    assert len(images) >= 5  # figures are embedded, not linked
    assert 'jp-InputArea-editor"' not in html  # no code cells
    assert 'href="runs/' in html  # leaderboard links to the executed notebooks
    assert "No sequences created" in html  # the failed run and its error
    assert (tmp / "reports" / f"{search_id}.ipynb").is_file()
    assert not re.search(
        r'<script[^>]+src="http', html.split("</head>")[1]
    )  # nothing to fetch in the body


def test_report_with_code_on_request(searched):
    tmp, _ = searched
    html = build_report(
        None, reports_dir=tmp / "with_code", output_dir=tmp / "output", include_code=True
    ).read_text(encoding="utf-8")
    assert 'jp-InputArea-editor"' in html and "leaderboard" in html


def test_report_reads_results_from_mlflow(searched):
    tmp, _ = searched
    html = build_report(
        None, reports_dir=tmp / "from_mlflow", output_dir=tmp / "output", source="mlflow"
    ).read_text(encoding="utf-8")
    assert "2 completed" in html and "1 failed" in html


def test_report_without_any_search_says_so(tmp_path, capsys):
    from tennis_lab.cli import main

    code = main(
        ["report", "--output-dir", str(tmp_path / "nothing"), "--reports-dir", str(tmp_path)]
    )
    assert code == 2
    assert "make grid" in capsys.readouterr().err
    assert not list(Path(tmp_path).glob("*.html"))
