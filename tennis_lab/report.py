"""HTML reports of a search: notebooks/analysis.ipynb executed by papermill, then nbconvert.

``build_report(search)`` (``tennis-lab report``, ``make report``) runs the analysis
notebook for one search in a fresh kernel, keeps the executed notebook beside the
report, and writes ``reports/<search id>.html``: one self-contained file (figures
embedded as images, no code unless asked) that reads well offline.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tennis_lab import paths

# The most one cell of the analysis notebook may take (the slowest take seconds): a
# stalled kernel ends in a clear error instead of a report that never comes.
CELL_TIMEOUT_SECONDS = 600


class ReportError(RuntimeError):
    """The report could not be built; the message says which step and why."""


def build_report(
    search: str | None = None,
    reports_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    include_code: bool = False,
    source: str = "csv",
    top_k: int = 5,
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

    Returns
    -------
    Path
        The HTML file.
    """
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    from tennis_lab.analysis import load_results

    # The notebook's kernel runs in the project root: paths are taken from here first.
    if search and Path(search).expanduser().exists():
        search = str(Path(search).expanduser().resolve())
    output_dir = Path(output_dir).expanduser().resolve() if output_dir else None
    reports_dir = Path(reports_dir).expanduser().resolve() if reports_dir else None
    results = load_results(search, output_dir=output_dir)  # fails early, naming what is missing
    name = results.attrs.get("search_id") or Path(results.attrs.get("csv_path", "search")).stem
    folder = Path(reports_dir) if reports_dir else paths.reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    executed = folder / f"{name}.ipynb"
    html_path = folder / f"{name}.html"
    try:
        papermill.execute_notebook(
            str(paths.notebooks_dir() / "analysis.ipynb"),
            str(executed),
            parameters={
                "search": str(results.attrs.get("csv_path") or search or ""),
                "output_dir": str(output_dir or ""),
                "source": source,
                "top_k": top_k,
                "links_relative_to": str(folder.resolve()),
                # no widgets: they need a live kernel, and executing them can stall
                "interactive": False,
            },
            progress_bar=False,
            cwd=str(paths.project_root()),
            execution_timeout=CELL_TIMEOUT_SECONDS,
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
    exporter = HTMLExporter(template_name="lab", exclude_input=not include_code)
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    html_path.write_text(body, encoding="utf-8")
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


def run_command(args) -> int:
    """Run ``tennis-lab report`` from parsed arguments; return the exit status."""
    from tennis_lab.analysis import AnalysisError

    try:
        path = build_report(
            args.search,
            reports_dir=args.reports_dir,
            output_dir=args.output_dir,
            include_code=args.include_code,
            source=args.source,
            top_k=args.top_k,
        )
    except (AnalysisError, ReportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Report written to {path}")
    return 0
