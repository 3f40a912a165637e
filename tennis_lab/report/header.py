"""The Markdown header of a search's report: what was searched, how, and the winner.

Every value from the table is escaped (:func:`tennis_lab.report.markup.escape_markdown`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tennis_lab.analysis import (
    METRIC_WORDS,
    has_verdict,
    limit_lines,
    plural,
    score_text,
    search_overview,
    strategy_summary,
    warned_runs,
    winner_sentence,
    winner_warnings,
)
from tennis_lab.report.markup import escape_markdown
from tennis_lab.results import LEGACY_SELECTION_METRIC, PHASE_REPEAT, SELECTION_METRIC


def report_header(df: pd.DataFrame, overview: dict[str, Any] | None = None) -> str:
    """Markdown header of a search's report: search, grid, data, date, the strategy
    (:func:`strategy_summary`: trials, pruned, epochs trained, finalists' repeats),
    runs completed/pruned/failed, the best run and its scores. Every value from the
    table is escaped (HTML and Markdown)."""
    overview = overview or search_overview(df)
    attrs = df.attrs
    search = attrs.get("search_id") or Path(str(attrs.get("csv_path", "results"))).stem
    data = ", ".join(sorted({str(v) for v in df["data_dir"].dropna()})) if "data_dir" in df else ""
    date = ""
    if attrs.get("csv_path") and Path(attrs["csv_path"]).is_file():
        stamp = Path(attrs["csv_path"]).stat().st_mtime
        date = pd.Timestamp(stamp, unit="s").strftime("%Y-%m-%d %H:%M")
    running = f", {overview['running']} running" if overview.get("running") else ""
    if overview.get("runs", 0) > overview.get("trials", overview.get("runs", 0)):
        # Rungs and repeats: more rows than trials. Trials rank; runs fail or run.
        runs = (
            f"- **Runs:** {overview['runs']} (every rung of a trial and every repeat): "
            f"{plural(overview['completed'], 'trial')} completed"
            + (f", {overview['pruned']} pruned" if overview.get("pruned") else "")
            + f"; {plural(overview['failed'], 'run')} failed{running}"
        )
    else:
        runs = (
            f"- **Runs:** {overview['runs']}: {overview['completed']} completed"
            + (f", {overview['pruned']} pruned" if overview.get("pruned") else "")
            + f", {overview['failed']} failed{running}"
        )
    lines = [
        f"# Search {escape_markdown(search)}",
        "",
        f"- **Grid:** {escape_markdown(attrs.get('grid', 'unknown'))}",
        f"- **Data:** {escape_markdown(data) if data else 'the built-in demo dataset'}",
        f"- **Results:** {escape_markdown(attrs.get('csv_path', attrs.get('source', '')))}"
        + (f" ({date})" if date else ""),
    ]
    summary = strategy_summary(overview)
    if summary:
        lines.append(f"- **Strategy:** {escape_markdown(summary)}")
    lines.append(runs)
    metric = overview.get("metric", SELECTION_METRIC)
    if overview.get("best_run") is not None:
        verdict, undecided = _verdict(df, metric)
        if verdict and undecided:  # said instead of crowning one
            lines.append(f"- **Verdict:** {escape_markdown(verdict)}")
        lines.append(_best_line(overview, metric, undecided))
        if verdict and not undecided:
            lines.append(f"- **Verdict:** {escape_markdown(verdict)}")
        lines += _limits_and_warnings(df, overview, metric)
        if metric == LEGACY_SELECTION_METRIC:
            lines.append(
                f"- **Note:** these results have no {escape_markdown(SELECTION_METRIC)} "
                "(they predate stroke-level scores), so runs are ranked by the window-level "
                f"{escape_markdown(LEGACY_SELECTION_METRIC)}."
            )
    if overview.get("cross_validated"):
        lines.append(
            f"- **Cross-validation:** {overview['cross_validated']} of "
            f"{overview['completed']} completed runs; their scores are means over folds "
            "± the std over folds."
        )
    if overview.get("unranked"):
        numbers = ", ".join(str(n) for n in overview["unranked"] if n is not None)
        lines.append(
            f"- **Not ranked:** {len(overview['unranked'])} completed run(s) without "
            f"{escape_markdown(metric)}" + (f" (runs {numbers})" if numbers else "")
        )
    return "\n".join(lines)


def _best_line(overview: dict[str, Any], metric: str, undecided: bool) -> str:
    """The header's line on the winner: its scores and the score to expect on a new group."""
    words = METRIC_WORDS.get(metric, f"by {escape_markdown(metric)}")
    what = "validation" if metric in METRIC_WORDS else escape_markdown(metric)
    label = "Registered as the champion" if undecided else "Best"
    how = ""
    if overview.get("best_phase") == PHASE_REPEAT:
        trial = overview.get("best_finalist_trial")
        finalist = f"finalist trial {int(trial)}" if trial is not None else "a finalist"
        how = f" (the best-scoring repeat of {finalist}, the finalist with the best mean)"
    best = f"- **{label} ({words}):** run {overview['best_run']}{how}, {what} " + score_text(
        overview["best_score"], overview.get("best_score_std")
    )
    if overview.get("best_new_group"):
        best += f"; {escape_markdown(overview['best_new_group'])}"
    if metric == SELECTION_METRIC or overview.get("best_test_stroke_macro_f1") is not None:
        best += (
            f"; test macro F1 over strokes {score_text(overview.get('best_test_stroke_macro_f1'))}"
            f"; worst {overview.get('group_word', 'group')} "
            f"{score_text(overview.get('best_worst_group_macro_f1'))}"
            f"; test windows: macro F1 {score_text(overview.get('best_macro_f1_score'))}, "
            f"accuracy {score_text(overview.get('best_test_accuracy'))}"
        )
    else:
        best += (
            f"; test macro F1 {score_text(overview.get('best_macro_f1_score'))}"
            f"; test accuracy {score_text(overview.get('best_test_accuracy'))}"
        )
    return best


def _verdict(df: pd.DataFrame, metric: str) -> tuple[str | None, bool]:
    """The verdict sentence for the header and whether it is undecided: the table's
    (:func:`winner_sentence`), else the parent run's ``verdict`` tag as the search wrote
    it (MLflow source)."""
    sentence = winner_sentence(df, metric)
    if sentence is not None:
        return sentence, sentence.startswith("Undecided")
    tag = df.attrs.get("verdict")
    if not isinstance(tag, str) or not tag.strip() or metric != SELECTION_METRIC:
        return None, False
    if has_verdict(df):
        return None, False
    tag = tag.strip()
    return f"{tag} (the search's parent run).", tag.startswith(("undecided", "tied"))


def _limits_and_warnings(df: pd.DataFrame, overview: dict[str, Any], metric: str) -> list[str]:
    """The header's lines on what limits the winner (ceiling, thin validation, a class
    missing), its warnings, and how many other runs have warnings; escaped."""
    lines = [f"- **{label}:** {escape_markdown(text)}" for label, text in limit_lines(df, metric)]
    warnings = winner_warnings(df, metric)
    if warnings:
        lines.append(f"- **Warnings of run {overview['best_run']}:**")
        lines += [f"    - {escape_markdown(line)}" for line in warnings]
    others = warned_runs(df, metric)
    if others:
        numbers = ", ".join(str(n) for n in others if n is not None)
        lines.append(
            f"- **Other runs with warnings:** {len(others)} (runs {numbers}); the "
            "Warnings section lists them."
        )
    return lines
