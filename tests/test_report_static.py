"""The report's HTML export without a kernel: no script, no widget state (fast)."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tennis_lab.report import notebook_html, static_notebook, write_html


def notebook_with_live_parts():
    widget = new_output(
        "display_data",
        data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "abc"},
            "text/plain": "Dropdown(...)",
        },  # fmt: skip
    )
    only_widget = new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "d"}}
    )
    script = new_output("display_data", data={"application/javascript": "alert(1)"})
    text = new_output("stream", name="stdout", text="kept\n")
    cell = new_code_cell("x", outputs=[widget, only_widget, script, text])
    nb = new_notebook(cells=[new_markdown_cell("# Title"), cell])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_static_notebook_drops_widget_state_views_and_scripts():
    nb = static_notebook(notebook_with_live_parts())
    assert "widgets" not in nb.metadata
    outputs = nb.cells[1].outputs
    assert len(outputs) == 2  # the widget's text stays; a bare view and a script go
    assert outputs[0]["data"] == {"text/plain": "Dropdown(...)"}
    assert outputs[1]["text"] == "kept\n"


def test_the_html_export_has_no_script_and_a_notebook_is_rendered_once(tmp_path):
    path = tmp_path / "007-abc.ipynb"
    nbformat.write(notebook_with_live_parts(), path)
    html_path = write_html(path, tmp_path / "page.html", include_code=False)
    page = html_path.read_text(encoding="utf-8")
    assert "<script" not in page and "cdnjs" not in page and "widget-state" not in page
    assert "Title" in page and "kept" in page
    rendered = notebook_html(path)
    assert rendered == tmp_path / "007-abc.html" and "jp-InputArea-editor" in rendered.read_text()
    before = rendered.stat().st_mtime_ns
    assert notebook_html(path) == rendered and rendered.stat().st_mtime_ns == before  # kept
    assert notebook_html(tmp_path / "missing.ipynb") is None
    (tmp_path / "broken.ipynb").write_text("not json")
    assert notebook_html(tmp_path / "broken.ipynb") is None  # linked as it is instead


def test_the_header_and_warnings_reach_the_html_page_escaped(tmp_path):
    import pandas as pd

    from tennis_lab.analysis import warnings_table
    from tennis_lab.report import report_header, table_html

    weak = "weak player <b>x</b>: 0.40 below the other players' mean"
    rows = [
        {"run_number": n, "run_id": f"r{n}", "config_id": f"c{n}", "status": "COMPLETED",
         "error": "", "val_stroke_macro_f1": score, "rank": n, "winner": n == 1,
         "tied_with_best": n == 1, "warnings": text, "split_by_resolved": "player"}
        for n, score, text in ((1, 0.9, weak), (2, 0.8, "gap <i>y</i>"))
    ]  # fmt: skip
    table = pd.DataFrame(rows)
    header = new_output("display_data", data={"text/markdown": report_header(table)})
    listed = new_output("display_data", data={"text/html": table_html(warnings_table(table))})
    nb = new_notebook(cells=[new_code_cell("x", outputs=[header, listed])])
    nbformat.write(nb, tmp_path / "page.ipynb")
    page = write_html(tmp_path / "page.ipynb", tmp_path / "page.html", False).read_text()
    assert "<b>x</b>" not in page and "<i>y</i>" not in page
    assert page.count("weak player &lt;b&gt;x&lt;/b&gt;") == 2  # header and Warnings table
    assert "&amp;#x27;" not in page  # an apostrophe in a nested list is not shown as code
    assert "Warnings of run 1:" in page and "Other runs with warnings:</strong> 1" in page
