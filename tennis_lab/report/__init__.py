"""HTML reports of a search (``tennis-lab report``, ``make report``).

- :mod:`~tennis_lab.report.build`: runs notebooks/analysis.ipynb for one search and
  renders it, and each run's executed notebook, to pages without scripts; the
  command's flags.
- :mod:`~tennis_lab.report.markup`: results written into HTML and Markdown, escaped:
  tables, links to the run notebooks.
- :mod:`~tennis_lab.report.header`: the report's Markdown header.
"""

from __future__ import annotations

from tennis_lab.report.build import (
    CELL_TIMEOUT_SECONDS,
    TEMPLATE,
    TEMPLATE_DIR,
    ReportError,
    add_arguments,
    build_report,
    html_exporter,
    notebook_html,
    render_run_notebooks,
    run_command,
    static_notebook,
    write_html,
)
from tennis_lab.report.header import report_header
from tennis_lab.report.markup import escape_markdown, link_notebooks, table_html

__all__ = [
    "CELL_TIMEOUT_SECONDS", "TEMPLATE", "TEMPLATE_DIR", "ReportError", "add_arguments",
    "build_report", "escape_markdown", "html_exporter", "link_notebooks", "notebook_html",
    "render_run_notebooks", "report_header", "run_command", "static_notebook", "table_html",
    "write_html",
]  # fmt: skip
