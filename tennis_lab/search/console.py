"""What the search prints: run headers, progress, a run's outcome, the summary, the verdict.

Every function returns text; the runner decides when to print it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from tennis_lab import paths, tracking
from tennis_lab.evaluation import INTERVAL_LEVEL, TIE_LEVEL, TIE_TEST, new_group_text
from tennis_lab.results import (
    PHASE_REPEAT,
    SELECTION_METRIC,
    SEPARATE_FIX,
    STATUS_FAILED,
    STATUS_KILLED,
    STATUS_PRUNED,
    WARNINGS_SEPARATOR,
    finite_number,
    short_value,
)
from tennis_lab.search.config import absolute
from tennis_lab.search.ranking import (
    Standings,
    epochs_budget,
    finalist_verdict,
    ranked_rows,
    repeat_rows,
    repeats_varied,
    standings,
    varied,
)


def sayer(out: TextIO) -> Callable[[str], None]:
    """A function printing a message to ``out`` at once."""
    return lambda text: print(text, file=out, flush=True)


def _bar(fraction: float, width: int = 30) -> str:
    filled = int(round(fraction * width))
    return "█" * filled + "░" * (width - filled)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def format_header(
    number: int, total: int, params: Mapping[str, Any], title: str = "GRID SEARCH",
    note: str = "",
) -> str:  # fmt: skip
    """The banner before a run: its number, what it is (``note``) and its parameters."""
    bar = "=" * 70
    lines = [bar, f"{title} RUN {number}/{total}" + (f"  ({note})" if note else ""), bar]
    lines.append("Parameters:")
    lines += [f"  {k}: {json.dumps(v) if isinstance(v, list) else v}" for k, v in params.items()]
    return "\n".join([*lines, bar])


def format_progress(done: int, total: int, elapsed: float, finished_here: int) -> str:
    """Progress with a bar; the remaining time extrapolates this session's pace."""
    remaining = elapsed / finished_here * (total - done) if finished_here else 0.0
    return (
        f"📊 Progress: {done}/{total} ({done / total:.1%}) {_bar(done / total)}\n"
        f"⏱️  Elapsed: {_minutes(elapsed)} | Estimated remaining: {_minutes(remaining)}"
    )


def score_text(row: Mapping[str, Any], metric: str, spread: bool = True) -> str:
    """A metric of a results row, with its spread over folds when the run has folds
    (and ``spread``: not for a minimum such as the worst group's)."""
    value = row.get(metric)
    if value is None or pd.isna(value):
        return "n/a"
    std = row.get(f"{metric}_std") if spread else None
    return f"{float(value):.4f}" + (
        f" ± {float(std):.4f}" if std is not None and not pd.isna(std) else ""
    )


def group_word(row: Mapping[str, Any]) -> str:
    """What a run's held-out groups are: player, session or video (else group)."""
    by = row.get("split_by_resolved")
    return by if by in ("player", "session", "video") else "group"


def _interval(entry: Mapping[str, Any]) -> str:
    if pd.isna(entry["low"]):
        return f"{entry['mean']:.4f} (one score: no interval)"
    return f"{entry['mean']:.4f} [{entry['low']:.4f}, {entry['high']:.4f}]"


def verdict_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The summary's finalists block: each finalist's mean and interval, and the verdict."""
    verdict = finalist_verdict(rows)
    if not verdict:
        return []
    n = max(len(v["scores"]) for v in verdict)
    lines = [
        "",
        f"🎯 FINALISTS (re-run {n} times varying {repeats_varied(rows)}; mean and "
        f"{INTERVAL_LEVEL:.0%} interval of validation macro F1 over strokes):",
    ]
    for rank, entry in enumerate(verdict, 1):
        how = (
            "best"
            if rank == 1
            else "tied with the best"
            if entry["tied"]
            else f"worse than the best (p = {entry['p']:.3f})"
        )
        lines.append(
            f"   {rank}. trial {entry['finalist_trial']}: {_interval(entry)} over "
            f"{len(entry['scores'])} seeds, {how}"
        )
    tied = [e for e in verdict if e["tied"]]
    test = f"{TIE_TEST} at the {TIE_LEVEL:.0%} level"
    if len(verdict) == 1:
        lines.append("   Verdict: one finalist; nothing to compare it with.")
    elif len(tied) > 1:
        names = ", ".join(f"trial {e['finalist_trial']}" for e in tied)
        lines.append(
            f"   Verdict: TIED. {names} are statistically tied ({test}): these scores do not "
            "separate them; the champion below is the first of equals."
        )
    else:
        lines.append(
            f"   Verdict: trial {verdict[0]['finalist_trial']} is ahead of the other finalists "
            f"({test})."
        )
    return lines


def viewing_hint(
    tracking_uri: str | None, search_id: str | None = None, experiment_id: str | None = None,
    output_dir: str | Path | None = None,
) -> list[str]:  # fmt: skip
    """How to look at a search's results: the MLflow UI on the store it used, the report.

    The report command names the search's output folder when it is not the project's
    default, so that it finds the search from any working directory (the run
    notebooks' folder needs no flag: the results CSV holds their paths).
    """
    uri = tracking.absolute_tracking_uri(tracking.resolve_tracking_uri(tracking_uri))
    default = tracking.absolute_tracking_uri(paths.default_tracking_uri())
    served = uri.startswith(("http://", "https://"))
    if served:
        ui = f"open {tracking.ui_url(experiment_id, uri)}"
    elif uri == default and not os.environ.get("MLFLOW_TRACKING_URI"):
        ui = "make mlflow-ui"
    else:
        ui = f"mlflow ui --backend-store-uri {uri}   (make mlflow-ui TRACKING_URI={uri})"
    report = f"tennis-lab report --search {search_id}" if search_id else "tennis-lab report"
    folders = ""
    if output_dir is not None and absolute(output_dir) != absolute(paths.output_dir()):
        folders = f" --output-dir {absolute(output_dir)}"
    report += folders
    page = [] if served else [f"   then open {tracking.ui_url(experiment_id)}"]
    return [
        f"✅ View all results in MLflow: {ui}",
        *page,
        f"📄 HTML report with figures: {report}"
        + ("" if folders else "   (make report" + (f" SEARCH={search_id})" if search_id else ")")),
    ]


def new_group_line(row: Mapping[str, Any]) -> str | None:
    """The console's line on the score to expect on a new player (grouped
    cross-validation), or None."""
    text = new_group_text(row, group_word(row))
    return f"{text[0].upper()}{text[1:]}: the number to quote" if text else None


def warning_lines(row: Mapping[str, Any]) -> list[str]:
    """A row's warnings column as lines (empty without warnings)."""
    text = row.get("warnings")
    if not isinstance(text, str) or not text.strip():
        return []
    return [line for line in text.split(WARNINGS_SEPARATOR) if line.strip()]


def run_names(rows: list[dict[str, Any]]) -> str:
    """Run numbers as words: ``3``, ``3 and 5``, ``3, 4 and 5``."""
    names = [str(r["run_number"]) for r in rows]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def verdict_summary(stand: Standings, registers: bool = True) -> list[str]:
    """The lines that say whether the data separates the winner, and what limits it.

    Undecided between runs the data cannot separate (instead of crowning one), the
    method and level; a validation score at its ceiling; the fix.
    """
    from tennis_lab.evaluation import CEILING

    winner = stand.winner
    if winner is None:
        return []
    lines, fix = [], SEPARATE_FIX
    strokes = finite_number(winner.get("val_strokes"))
    on = f" on {int(strokes)} validation strokes" if strokes else ""
    rule = (
        "the best mean, then its best repeat"
        if stand.finalists
        else "the higher score, then the earlier run"
    )
    score = finite_number(winner.get(SELECTION_METRIC))
    ceiling = score is not None and score >= CEILING and len(stand.ranked) > 1
    if ceiling:
        lines.append(
            f"⚠️  Validation at its ceiling ({score:.4f}{on}): it cannot rank the runs that "
            "reach it" + ("." if stand.undecided else f"; {fix}.")
        )
    if stand.undecided:
        lines.append(
            f"⚖️  UNDECIDED between runs {run_names(stand.undecided)}: these scores cannot "
            f"separate them ({stand.method}). Run {winner['run_number']} is "
            f"{'registered' if registers else 'named'}, "
            f"first by the rule ({rule}); {fix}."
        )
    elif len(stand.ranked) > 1:
        lines.append(
            f"⚖️  Run {winner['run_number']} is ahead of the runs below it ({stand.method})."
        )
    return lines


def _top_lines(top: list[dict[str, Any]], stand: Standings, param_names) -> list[str]:
    """The summary's top runs: rank, scores, a mark on those the strokes cannot separate
    from the best, epochs as trained against the budget, the parameters that vary."""
    lines = []
    differing = varied(top, [k for k in param_names if k != "seed"])
    for r in top:
        budget = epochs_budget(r)
        trained = finite_number(r.get("epochs_trained"))
        epochs = (
            f", Epochs={int(trained) if trained is not None else '?'}/{int(budget)}"
            if budget != float("inf")
            else f", Epochs={int(trained)}"
            if trained is not None
            else ""
        )
        tie = " (cannot be separated from the best)" if (
            r is not top[0] and r.get("tied_with_best") is True and not stand.finalists
        ) else ""  # fmt: skip
        rank = (
            f"Rank {r['rank']}, "
            if r.get("rank") is not None
            else "Finalist (ranked by its repeats), "
            if stand.finalists
            else ""
        )
        shown = " ".join(f"{k}={short_value(r.get(k))}" for k in differing)
        lines.append(
            f"   {r['run_number']:>3}. {rank}ValF1={score_text(r, SELECTION_METRIC)}{tie}, "
            f"TestF1={score_text(r, 'test_stroke_macro_f1')}, "
            f"Worst={score_text(r, 'worst_group_macro_f1', spread=False)}, "
            f"Acc={float(r['test_accuracy']):.4f}, "
            f"Time={float(r['training_time_minutes']):.1f}min"
            + epochs
            + (f"\n        {shown}" if shown else "")
        )
    return lines


def _best_lines(
    best: dict[str, Any], stand: Standings, ranked: list[dict[str, Any]], param_names,
    registers: bool,
) -> list[str]:  # fmt: skip
    """The summary's block on the winner: its scores, warnings, parameters, the verdict."""
    how = (
        f" (the best-scoring repeat of finalist trial {best.get('finalist_trial')}, "
        "the finalist with the best mean)"
        if stand.finalists
        else ""
    )
    lines = [
        "",
        "🏆 BEST MODEL (by validation macro F1 over strokes)"
        + (", registered as the champion:" if registers else ":"),
        f"   Run: {best['run_number']}{how}",
        f"   Validation Macro F1 (strokes): {score_text(best, SELECTION_METRIC)}",
        f"   Macro F1-Score (test strokes): {score_text(best, 'test_stroke_macro_f1')}",
        f"   Worst {group_word(best)} (test strokes): "
        f"{score_text(best, 'worst_group_macro_f1', spread=False)}",
        f"   Macro F1-Score (test windows): {float(best['macro_avg_f1_score']):.4f}",
        f"   Test Accuracy: {float(best['test_accuracy']):.4f}",
        f"   MLflow Run ID: {best['run_id']}",
    ]
    new_group = new_group_line(best)
    if new_group:
        lines.append(f"   {new_group}")
    lines += [f"   ⚠️  {line}" for line in warning_lines(best)]
    lines += ["", "   Parameters:"]
    lines += [f"     {k}: {best[k]}" for k in param_names if k in best]
    lines += ["", *verdict_summary(stand, registers)]
    warned = [r for r in ranked if r is not best and warning_lines(r)]
    if warned:
        lines.append(
            f"⚠️  {len(warned)} other run(s) have warnings (weak players, gaps, thin "
            "splits): the CSV's warnings column, the report"
        )
    lines += ["", "📈 TOP 5 MODELS (by validation macro F1 over strokes):"]
    return lines + _top_lines(ranked[:5], stand, param_names)


def _failed_lines(failed: list[dict[str, Any]]) -> list[str]:
    """The summary's failed runs, grouped by error."""
    lines = ["", "❌ FAILED RUNS (grouped by error):"]
    for error, n in Counter(r["error"] or "unknown error" for r in failed).most_common():
        numbers = [str(r["run_number"]) for r in failed if (r["error"] or "unknown error") == error]
        lines.append(f"   {n} x {error}  (runs {', '.join(numbers)})")
    return lines


def format_summary(
    rows: list[dict[str, Any]], csv_path: Path, seconds: float, param_names,
    tracking_uri: str | None = None, search_id: str | None = None,
    experiment_id: str | None = None, stand: Standings | None = None,
    output_dir: str | Path | None = None, registers: bool = True,
) -> str:  # fmt: skip
    """The final summary: CSV, the winner with its test figures and verdict, the top 5.

    The winner is :func:`standings`' (the champion's). Each of the top 5 shows its
    rank (equal scores, equal ranks) and the parameters that vary among them. With
    finalists, their means, intervals and the verdict follow; the last lines say how
    to open the results (the MLflow store the search used, the report).
    """
    stand = stand or standings(rows)
    bar = "=" * 70
    search = [r for r in rows if r.get("phase") != PHASE_REPEAT]
    ranked = ranked_rows(rows)
    pruned = [r for r in search if r["status"] == STATUS_PRUNED]
    failed = [r for r in rows if r["status"] in (STATUS_FAILED, STATUS_KILLED)]
    lines = [bar, "GRID SEARCH COMPLETE!", bar, "", f"✅ Results saved to: {csv_path}"]
    lines.append(
        f"   {len(ranked)} completed, {len(failed)} failed"
        + (f", {len(pruned)} pruned at a rung" if pruned else "")
        + (f", {len(repeat_rows(rows))} finalist repeats" if repeat_rows(rows) else "")
    )
    if stand.winner is not None:
        lines += _best_lines(stand.winner, stand, ranked, param_names, registers)
    lines += verdict_lines(rows)
    if failed:
        lines += _failed_lines(failed)
    hours = seconds / 3600
    total = f"{hours:.2f} hours" if hours >= 1 else f"{seconds / 60:.1f} minutes"
    lines += [
        "",
        f"⏱️  Total grid search time: {total}",
        *viewing_hint(tracking_uri, search_id, experiment_id, output_dir),
    ]
    lines.append(bar)
    return "\n".join(lines)


def completed_text(
    label: str, result: Mapping[str, Any], row: Mapping[str, Any], initial_epoch: int, rung: int
) -> str:
    """A completed run's lines: its test and validation scores, worst group, warnings, time."""
    m = result["metrics"]
    worst = min(result.get("groups") or [{}], key=lambda g: g.get("macro_f1", 1.0))
    continued = (
        f"   Epochs: {initial_epoch} -> {int(m['epochs_trained'])} (continued from "
        f"rung {rung - 1})\n"
        if initial_epoch and "epochs_trained" in m
        else ""
    )
    new_group = new_group_line(row)
    return (
        f"\n✅ {label} complete:\n"
        f"   Test Accuracy: {m['test_accuracy']:.4f}\n"
        f"   Macro F1-Score: {score_text(m, 'test_stroke_macro_f1')} on test strokes "
        f"(validation {score_text(m, SELECTION_METRIC)}; "
        f"{m['macro_avg_f1_score']:.4f} on test windows)\n"
        + (
            f"   Worst {result['data'].get('split_by', 'group')}: {worst['group']} "
            f"{worst['macro_f1']:.4f} ({worst['strokes']} strokes)\n"
            if worst.get("group")
            else ""
        )
        + continued
        + (f"   {new_group}\n" if new_group else "")
        + "".join(f"   ⚠️  {line}\n" for line in warning_lines(row))
        + f"   Training Time: {m['training_time_minutes']:.2f} min\n"
        f"   MLflow Run ID: {result['run_id']}"
    )


def failed_text(label: str, error: str, notebook: Path, kernel_log: Path) -> str:
    """A failed run's lines: its error, its executed notebook and its kernel's log."""
    return f"\n❌ {label} FAILED: {error}\n   Notebook: {notebook}" + (
        f"\n   Kernel log: {kernel_log}" if kernel_log.is_file() else ""
    )


def resume_hint(search_id: str) -> str:
    """How to resume the search ``search_id``."""
    return f"Resume with: tennis-lab grid --resume {search_id}   (make grid RESUME=1)"


def champion_text(name: str, alias: str, version: Any, best: Mapping[str, Any]) -> str:
    """The lines on the registered champion and how to use it."""
    return (
        f"🏅 Champion: models:/{name}@{alias} = version {version.version} (run "
        f"{best['run_number']}, {SELECTION_METRIC} {float(best[SELECTION_METRIC]):.4f})\n"
        "   Use it: tennis-lab predict RECORDING.npz   (make predict RECORDING=...)"
    )
