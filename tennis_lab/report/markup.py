"""Results written into the report's HTML and Markdown: escaped text, tables, links.

Everything taken from a results table is escaped here: HTML (``&``, ``<``, ``>``,
quotes) and, in Markdown cells, Markdown's emphasis, link and heading marks.
"""

from __future__ import annotations

import html
import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from tennis_lab.analysis import format_scores, metric_columns, value_text


def escape_markdown(text: Any) -> str:
    """Text for a Markdown cell: HTML escaped, Markdown's emphasis and link marks escaped
    (a ``#`` too, but not the one of an entity such as ``&#x27;``: a nested list item
    would show it as text)."""
    return re.sub(r"([\\`*_\[\]|]|(?<!&)#)", r"\\\1", html.escape(str(text)))


def link_notebooks(board: pd.DataFrame, relative_to: str | Path) -> pd.DataFrame:
    """``board`` with its ``notebook`` column as HTML links, relative to ``relative_to``.

    Each run links to the HTML rendering of its executed notebook when one lies beside
    it (``tennis-lab report`` writes them), else to the notebook itself (JupyterLab
    opens it). ``relative_to`` is the folder of the page the links are in: the
    report's, or ``notebooks/`` in JupyterLab.
    """
    out = board.copy()
    if "notebook" not in out:
        return out

    def link(path: Any) -> str:
        if not isinstance(path, str) or not path:
            return ""
        rendered = Path(path).with_suffix(".html")
        shown = rendered if rendered.is_file() else Path(path)
        target = quote(Path(os.path.relpath(shown, relative_to)).as_posix())
        return f'<a href="{html.escape(target)}">{html.escape(shown.name)}</a>'

    out["notebook"] = out["notebook"].map(link)
    return out


_COUNTS = {"epochs_trained", "epochs_trained_this_run", "val_strokes", "test_strokes",
           "test_strokes_unreached", "trainable_params", "strokes", "cv_folds",
           "val_groups", "new_groups"}  # fmt: skip


def table_html(table: pd.DataFrame, relative_to: str | Path | None = None, digits: int = 4) -> str:
    """A results table (a leaderboard, a groups or folds table) as an HTML table.

    Scores with a ``_std`` column are shown as mean ± std (:func:`format_scores`),
    metric values to ``digits`` decimals, parameter values as the sentences show them;
    every cell, column name and index label is HTML-escaped, except the ``notebook``
    links (made by :func:`link_notebooks` when ``relative_to`` is given).
    """
    shown = format_scores(table, digits)
    scores = (set(metric_columns(shown)) | {"macro_f1", "accuracy", "mean", "ci_low",
                                             "ci_high", "diff_to_best"}) - _COUNTS  # fmt: skip

    def cell(value: Any, column: str) -> str:
        if isinstance(value, str):
            return html.escape(value)
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return ""
        if column in scores and isinstance(value, float | np.floating):
            return f"{float(value):.{digits}f}"
        return html.escape(value_text(value))

    out = pd.DataFrame(index=shown.index)
    for column in shown.columns:
        if column == "notebook" and relative_to is not None:
            out[column] = link_notebooks(shown[[column]], relative_to)[column]
        else:
            out[column] = [cell(v, column) for v in shown[column]]
    # a header may break after an underscore: wide tables fit the page
    out.columns = [html.escape(str(c)).replace("_", "_<wbr/>") for c in shown.columns]
    out.index = [html.escape(value_text(i)) for i in shown.index]
    out.index.name = html.escape(str(shown.index.name)) if shown.index.name else None
    return out.to_html(escape=False)
