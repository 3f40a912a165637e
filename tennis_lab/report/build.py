"""HTML reports of a search: notebooks/analysis.ipynb executed by papermill, then nbconvert.

``build_report(search)`` (``tennis-lab report``, ``make report``) runs the analysis
notebook for one search in a fresh kernel, keeps the executed notebook beside the
report, and writes ``reports/<search id>.html``: one self-contained file that reads
the same offline and online. Figures are embedded images and tables plain HTML; the
page loads no script (no require.js, MathJax or widget manager from a CDN) and
carries no widget state or progress bar. Each run in the leaderboard links to an HTML
rendering of its executed notebook, written beside the notebook
(:func:`notebook_html`). The report and the results CSV are also logged to the
search's MLflow parent run (artifacts ``report/``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from tennis_lab import paths
from tennis_lab.errors import TennisLabError

# The most one cell of the analysis notebook may take (the slowest take seconds): a
# stalled kernel ends in a clear error instead of a report that never comes.
CELL_TIMEOUT_SECONDS = 600

# nbconvert template (tennis_lab/templates/report): JupyterLab's export without scripts.
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE = "report"

# Output types that need a live kernel or a script to show anything.
_LIVE_OUTPUTS = ("application/vnd.jupyter.widget-view+json", "application/javascript")


class ReportError(TennisLabError, RuntimeError):
    """The report could not be built; the message says which step and why."""


def static_notebook(nb):
    """``nb`` without what needs a live kernel: widget state, widget views, scripts.

    Returns the same notebook object, changed in place: its ``widgets`` metadata
    removed, and every output that is only a widget view or a script dropped (an
    output that also has text or an image keeps those).
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None:
                for mime in _LIVE_OUTPUTS:
                    data.pop(mime, None)
                if not data:
                    continue
            kept.append(output)
        cell.outputs = kept
    return nb


def html_exporter(include_code: bool = False):
    """An nbconvert ``HTMLExporter`` for pages without scripts (the ``report`` template)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name=TEMPLATE,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=not include_code,
    )
    exporter.exclude_input_prompt = not include_code
    exporter.exclude_output_prompt = True
    return exporter


def write_html(notebook: str | os.PathLike, html_path: str | os.PathLike, include_code: bool):
    """Render the executed ``notebook`` to ``html_path`` (atomically: a reader never sees half)."""
    import nbformat

    nb = static_notebook(nbformat.read(notebook, as_version=4))
    body, _ = html_exporter(include_code).from_notebook_node(nb)
    html_path = Path(html_path)
    partial = html_path.with_name(f".{html_path.name}.partial")
    partial.write_text(body, encoding="utf-8")
    os.replace(partial, html_path)
    return html_path


def notebook_html(notebook: str | os.PathLike) -> Path | None:
    """The HTML rendering of a run's executed notebook, beside it (``007-<id>.html``).

    Written when missing or older than the notebook, with the code (a reviewer wants
    to see what ran). Returns None when the notebook does not exist or does not
    render (the leaderboard then links the notebook itself).
    """
    notebook = Path(notebook)
    html_path = notebook.with_suffix(".html")
    if not notebook.is_file():
        return None
    if html_path.is_file() and html_path.stat().st_mtime >= notebook.stat().st_mtime:
        return html_path
    try:
        return write_html(notebook, html_path, include_code=True)
    except Exception:  # noqa: BLE001 - a damaged notebook is linked as it is
        return None


def render_run_notebooks(results: pd.DataFrame) -> int:
    """Write :func:`notebook_html` for every run of ``results``; return how many exist."""
    if "notebook" not in results:
        return 0
    found = [notebook_html(p) for p in results["notebook"].dropna().unique() if str(p)]
    return sum(path is not None for path in found)


def _log_to_parent(results: pd.DataFrame, html_path: Path, tracking_uri: str | None) -> str:
    """Log the report and the results CSV to the search's parent run; a note, or ""."""
    from tennis_lab import tracking

    parent = results.attrs.get("parent_run_id")
    uri = tracking_uri or results.attrs.get("tracking_uri")
    if not parent or not uri:
        return ""
    try:
        tracking.log_artifact(parent, html_path, "report", uri)
        csv = results.attrs.get("csv_path")
        if csv and Path(csv).is_file():
            tracking.log_artifact(parent, csv, "report", uri)
    except Exception as exc:  # noqa: BLE001 - the report itself is written
        return f"Note: the report was not logged to MLflow run {parent} ({exc})."
    return ""


def build_report(
    search: str | None = None,
    reports_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    include_code: bool = False,
    source: str = "csv",
    top_k: int = 5,
    tracking_uri: str | None = None,
    log_to_mlflow: bool = True,
) -> Path:
    """Execute the analysis notebook for ``search`` and write its HTML report.

    Parameters
    ----------
    search : str, optional
        A search id, a results CSV path, or None for the latest search.
    reports_dir : path, optional
        Default ``<project>/reports``.
    output_dir : path, optional
        Where the searches' results live (default ``<project>/output``).
    include_code : bool
        Keep the code cells in the HTML.
    source : {"csv", "mlflow"}
        Read the results from the CSV or from the search's MLflow runs.
    top_k : int
    tracking_uri : str, optional
        The MLflow store of the search's runs, when it moved (default: the one the
        search recorded).
    log_to_mlflow : bool
        Also log the HTML and the results CSV to the search's parent run.

    Returns
    -------
    Path
        The HTML file.
    """
    import papermill
    from nbclient.exceptions import DeadKernelError

    from tennis_lab import tracking
    from tennis_lab.analysis import load_results
    from tennis_lab.kernels import execute_notebook, kernel_log_path

    # The notebook's kernel runs in the project root: paths are taken from here first.
    if search and Path(search).expanduser().exists():
        search = str(Path(search).expanduser().resolve())
    output_dir = Path(output_dir).expanduser().resolve() if output_dir else None
    reports_dir = Path(reports_dir).expanduser().resolve() if reports_dir else None
    if tracking_uri:
        tracking_uri = tracking.absolute_tracking_uri(tracking_uri)
    # fails early, naming what is missing
    results = load_results(search, output_dir=output_dir, tracking_uri=tracking_uri)
    name = results.attrs.get("search_id") or Path(results.attrs.get("csv_path", "search")).stem
    folder = Path(reports_dir) if reports_dir else paths.reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    executed = folder / f"{name}.ipynb"
    html_path = folder / f"{name}.html"
    render_run_notebooks(results)  # the leaderboard links to them
    try:
        execute_notebook(
            paths.notebooks_dir() / "analysis.ipynb",
            executed,
            parameters={
                "search": str(results.attrs.get("csv_path") or search or ""),
                "output_dir": str(output_dir or ""),
                "source": source,
                "top_k": top_k,
                "tracking_uri": tracking_uri or "",
                "links_relative_to": str(folder.resolve()),
                # no widgets: they need a live kernel, and executing them can stall
                "interactive": False,
            },
            timeout=CELL_TIMEOUT_SECONDS,
        )
    except papermill.PapermillExecutionError as exc:
        raise ReportError(
            f"the analysis notebook failed ({exc.ename}: {exc.evalue}); see {executed}."
        ) from exc
    except TimeoutError as exc:  # nbclient's CellTimeoutError is one
        raise ReportError(
            f"a cell of the analysis notebook ran longer than {CELL_TIMEOUT_SECONDS} s "
            f"({exc}); see {executed}."
        ) from exc
    except DeadKernelError as exc:
        log = kernel_log_path(executed)
        raise ReportError(f"the analysis notebook's kernel died ({exc}); see {log}.") from exc
    write_html(executed, html_path, include_code)
    if log_to_mlflow:
        note = _log_to_parent(results, html_path, tracking_uri)
        if note:
            print(note, file=sys.stderr)
    return html_path


def add_arguments(parser) -> None:
    """Flags of ``tennis-lab report``."""
    parser.add_argument(
        "--search", default=None, help="search id or results CSV (default: the latest search)"
    )
    parser.add_argument("--source", choices=["csv", "mlflow"], default="csv")
    parser.add_argument("--top-k", type=int, default=5, help="runs in the leaderboard and patterns")
    parser.add_argument("--include-code", action="store_true", help="keep code cells in the HTML")
    parser.add_argument("--output-dir", default=None, help="where results live (default output/)")
    parser.add_argument(
        "--reports-dir", default=None, help="where the report goes (default reports/)"
    )
    parser.add_argument(
        "--tracking-uri", default=None,
        help="the MLflow store of the search's runs (default: the one the search used)",
    )  # fmt: skip
    parser.add_argument(
        "--no-mlflow", action="store_true",
        help="do not log the report and the results CSV to the search's MLflow parent run",
    )  # fmt: skip


def run_command(args) -> int:
    """Run ``tennis-lab report`` from parsed arguments; return the exit status."""

    try:
        path = build_report(
            args.search,
            reports_dir=args.reports_dir,
            output_dir=args.output_dir,
            include_code=args.include_code,
            source=args.source,
            top_k=args.top_k,
            tracking_uri=args.tracking_uri,
            log_to_mlflow=not args.no_mlflow,
        )
    except TennisLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Report written to {path}")
    print(f"Open it in a browser: file://{path}")
    return 0
