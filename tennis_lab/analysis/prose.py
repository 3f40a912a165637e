"""A search's results in plain sentences, for the notebook and the report.

Patterns of the best runs, whether the data separates the winner, what limits its
ranking, the finalists' verdict, how a strategy searched; and how values and scores
are written in them. Sentences are plain text, not escaped: whoever writes them into
HTML or Markdown escapes them (:mod:`tennis_lab.report.markup`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from tennis_lab.analysis.columns import (
    _float,
    _is_numeric,
    _is_repeat,
    _keys,
    _metric,
    _missing,
    _number,
    _ranked,
    group_word,
    std_column,
    varied_parameters,
)
from tennis_lab.analysis.finalists import finalists_table
from tennis_lab.analysis.standings import (
    _board_rows,
    _standing_rows,
    _verdicts,
    has_verdict,
    tied_with_best,
    undecided_runs,
    winner_row,
)
from tennis_lab.evaluation import (
    BOOTSTRAP_TEST,
    CEILING,
    INTERVAL_LEVEL,
    TIE_LEVEL,
    TIE_TEST,
    tie_method,
)
from tennis_lab.evaluation import new_group_text as _new_group_text
from tennis_lab.results import (
    ADAPTIVE_STRATEGIES,
    LEGACY_SELECTION_METRIC,
    SELECTION_METRIC,
    SEPARATE_FIX,
)

STRATEGY_WORDS = {
    "grid": "grid search",
    "random": "random search",
    "halving": "successive halving",
    "hyperband": "Hyperband",
    "tpe": "TPE (Optuna)",
}
# How the selection metrics are named in sentences.
METRIC_WORDS = {
    SELECTION_METRIC: "validation macro F1 over strokes",
    LEGACY_SELECTION_METRIC: "validation macro F1 over windows",
}


def value_text(value: Any) -> str:
    """A parameter value as the sentences show it."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "None"
        return f"{float(value):g}"
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def score_text(value: Any, std: Any = None, digits: int = 4) -> str:
    """``0.8123 ± 0.0400``; the value alone without a std; ``n/a`` without a value."""
    value, std = _float(value), _float(std)
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _percent(level: float) -> str:
    return f"{100 * level:g} %"


def pattern_sentences(df: pd.DataFrame, k: int = 5, metric: str | None = None) -> list[str]:
    """What the best ``k`` runs have in common, as plain sentences.

    One sentence per varied parameter: for a numeric one, its range in the top ``k``
    against its range over all runs; for any other (booleans, lists, text), its most
    frequent value in the top ``k`` (ties: the better run's value) and that value's
    share of all runs. "All runs" are the completed runs with a value for ``metric``.

    Parameters
    ----------
    df : pandas.DataFrame
    k : int
    metric : str, optional
        Default: :func:`selection_metric`.

    Returns
    -------
    list of str
        E.g. ``"All of the top 5 use use_batch_norm = True (50% of all runs)."``. With
        no more than ``k`` completed runs, one sentence saying so instead.
    """
    metric = _metric(df, metric)
    ranked = _ranked(df, metric)
    n, k = len(ranked), max(int(k), 1)
    if n == 0:
        return [f"No completed runs with {metric} yet: nothing to compare."]
    if n <= k:
        return [
            f"Only {plural(n, 'completed run')}: the top {k} would be all of them, so "
            "there is nothing to compare; use a smaller k or run more combinations."
        ]
    varied = varied_parameters(ranked)
    if not varied:
        return [f"No parameter varies across the {n} completed runs."]
    top = ranked.head(k)
    sentences = []
    for param in varied:
        if _is_numeric(ranked[param]):
            sentences.append(
                f"{param} in the top {k}: {_span(top[param])} (all runs: {_span(ranked[param])})."
            )
            continue
        top_keys, all_keys = _keys(top[param]), _keys(ranked[param])
        counts = top_keys.value_counts(dropna=False, sort=False)
        best = max(counts.index, key=lambda v: (counts[v], -_first(top_keys, v)))
        share = _share(all_keys, best)
        if counts[best] == k:
            sentences.append(
                f"All of the top {k} use {param} = {value_text(best)} ({share:.0%} of all runs)."
            )
        else:
            sentences.append(
                f"{param} {value_text(best)} in {counts[best]} of the top {k} "
                f"({share:.0%} of all runs)."
            )
    return sentences


def _span(values: pd.Series) -> str:
    lo, hi = values.min(), values.max()
    if pd.isna(lo):
        return "None"
    return value_text(lo) if lo == hi else f"{value_text(lo)} to {value_text(hi)}"


def _first(values: pd.Series, value: Hashable) -> int:
    matches = values.isna() if _missing(value) else values == value
    return int(np.argmax(matches.to_numpy()))


def _share(values: pd.Series, value: Hashable) -> float:
    matches = values.isna() if _missing(value) else values == value
    return float(matches.mean())


def tie_sentence(df: pd.DataFrame, metric: str | None = None) -> str | None:
    """A plain sentence on whether the scores decide the top of the ranking.

    Returns
    -------
    str or None
        Where the table holds the search's verdict: :func:`winner_sentence` (the
        same words as the report's header). Otherwise, when the table has
        ``<metric>_std`` for a ranked run and at least two runs are ranked: which
        runs the best is tied with by the mean ± std rule (see
        :func:`tied_with_best`), or that it is ahead of the next by more than their
        stds combined. None otherwise (no uncertainty known, or nothing to compare).
    """
    metric = _metric(df, metric)
    if has_verdict(df, metric):
        return winner_sentence(df, metric)
    spread = std_column(metric)
    ranked = _ranked(df, metric)
    if len(ranked) < 2 or spread not in ranked.columns:
        return None
    if pd.to_numeric(ranked[spread], errors="coerce").isna().all():
        return None

    def describe(row: pd.Series) -> str:
        number = _number(row.get("run_number"))
        name = f"run {number}" if number is not None else "a run"
        return f"{name} ({score_text(row[metric], row.get(spread))})"

    best = describe(ranked.iloc[0])
    best = best[:1].upper() + best[1:]
    tied = tied_with_best(ranked, metric)
    if tied.empty:
        return (
            f"{best} is ahead of every other run by {metric} by more than their "
            f"stds combined; the next is {describe(ranked.iloc[1])}."
        )
    others = [describe(row) for _, row in tied.iterrows()]
    listed = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
    return (
        f"{best} is not clearly better than {listed}: their mean ± std intervals of "
        f"{metric} overlap, so the ranking between them is not decided by these scores."
    )


def _tie_method(df: pd.DataFrame) -> str:
    """How the search decided which runs the data cannot separate (as its console says)."""
    rows = _standing_rows(df, SELECTION_METRIC)
    return tie_method(rows is not None and bool(_is_repeat(rows).any()))


def winner_sentence(df: pd.DataFrame, metric: str | None = None) -> str | None:
    """Whether the data separates the winner, as one plain sentence (not escaped).

    Returns
    -------
    str or None
        ``"Undecided between runs 2, 3 and 4: these scores cannot separate them
        (<method>). Run 2 is registered as the champion, the first by the search's
        rule; to separate them: ..."``; or ``"Run 2 is ahead of the runs below it
        (<method>)."`` (with how many runs could not be compared). None without the
        search's verdict or with fewer than two ranked runs.
    """
    metric = _metric(df, metric)
    rows = _standing_rows(df, metric)
    best = winner_row(df, metric)
    if rows is None or best is None or len(rows) < 2:
        return None
    number, method = _number(best.get("run_number")), _tie_method(df)
    tied = undecided_runs(df, metric)
    if len(tied):
        names = listed([str(_number(n)) for n in tied["run_number"]])
        trials = _trials_of(tied)
        return (
            f"Undecided between runs {names}{trials}: these scores cannot separate them "
            f"({method}). Run {number} is registered as the champion, the first by the "
            f"search's rule; {SEPARATE_FIX}."
        )
    verdicts = _verdicts(rows)
    unpaired = 0 if _is_repeat(rows).any() else verdicts.count("")
    why = "no validation strokes in common, or fewer epochs trained"
    if unpaired and not verdicts.count("behind"):
        return (
            f"Run {number} ranks first by the score; the {BOOTSTRAP_TEST} could not "
            f"compare it with the {plural(unpaired, 'run')} below it ({why})."
        )
    text = f"Run {number} is ahead of the runs below it ({method})."
    if unpaired:
        text += f" {plural(unpaired, 'run')} could not be compared with it ({why})."
    return text


def _trials_of(rows: pd.DataFrame) -> str:
    """`` (finalist trials 1 and 4)`` for repeats that stand for finalists, else ``""``."""
    if not _is_repeat(rows).all() or "finalist_trial" not in rows.columns:
        return ""
    trials = pd.to_numeric(rows["finalist_trial"], errors="coerce")
    if trials.isna().any():
        return ""
    return f" (finalist trials {listed([str(int(t)) for t in trials])})"


def limit_lines(df: pd.DataFrame, metric: str | None = None) -> list[tuple[str, str]]:
    """What limits the winner's ranking beyond its own warnings, one ``(label, sentence)``
    each (not escaped): a validation score at its ceiling (:data:`CEILING`: it cannot
    rank the runs that reach it) when more than one run ranks, with the fix. A thin
    validation split and a class missing from a split are among the run's warnings
    (:func:`winner_warnings`), each with its fix.
    """
    metric = _metric(df, metric)
    best = winner_row(df, metric)
    if best is None:
        return []
    rows, _ = _board_rows(df, metric)
    score, strokes = _float(best.get(metric)), _float(best.get("val_strokes"))
    if metric not in METRIC_WORDS or score is None or score < CEILING or len(rows) < 2:
        return []
    on = f"its {int(strokes)} validation strokes" if strokes else "validation"
    return [("At its ceiling", (
        f"run {_number(best.get('run_number'))} scores {score:.4f} on {on}: validation "
        f"cannot rank the runs that reach it; {SEPARATE_FIX}."
    ))]  # fmt: skip


def new_group_text(row: pd.Series | None) -> str | None:
    """The score to expect on a new group (grouped cross-validation), or None.

    E.g. ``"to expect on a new player: 0.937 (held-out players 0.77–0.99, 6 players)"``
    (:func:`tennis_lab.evaluation.new_group_text`, in the group's word). Not escaped.
    """
    return None if row is None else _new_group_text(row, group_word(row))


def _finalist_name(row: pd.Series) -> str:
    trial = row.get("trial")
    return f"trial {int(trial)}" if not pd.isna(trial) else f"configuration {row['config_id']}"


def _names(rows: pd.DataFrame) -> str:
    """``trials 3, 7 and 1``; each named alone when a trial is not known."""
    if rows["trial"].notna().all():
        numbers = [str(int(t)) for t in rows["trial"]]
        return ("trial " if len(numbers) == 1 else "trials ") + listed(numbers)
    return listed([_finalist_name(row) for _, row in rows.iterrows()])


def _interval_text(row: pd.Series) -> str:
    """``0.9100 [0.8900, 0.9300]``; ``0.9100 (one score, no interval)``."""
    if _float(row.get("ci_low")) is None or _float(row.get("ci_high")) is None:
        return f"{score_text(row['mean'])} (one score, no interval)"
    return f"{score_text(row['mean'])} [{score_text(row['ci_low'])}, {score_text(row['ci_high'])}]"


def _seeds(rows: pd.DataFrame) -> str:
    """``5 seeds each``; ``5, 5 and 4 seeds``; ``1 seed``."""
    counts = [int(n) for n in rows["repeats"]]
    if len(set(counts)) == 1:
        return plural(counts[0], "seed") + (" each" if len(counts) > 1 else "")
    return f"{listed([str(n) for n in counts])} seeds"


def verdict_sentence(df: pd.DataFrame) -> str | None:
    """The finalists' verdict as a plain sentence.

    Parameters
    ----------
    df : pandas.DataFrame
        A results table.

    Returns
    -------
    str or None
        None when the table has no finalist with a scored repeat. With several tied
        with the best (:func:`finalists_table`'s ``tied``): ``"No single winner:
        trials 3, 7 and 1 are statistically tied (one-sided Welch's t-test at the 5 %
        level over 5 seeds each; 95 % intervals of val_stroke_macro_f1: ...)."``,
        followed by the finalists found worse. When only the best is tied with
        itself: ``"Trial 3 is ahead of the other finalists: ..."``, naming the test,
        its level and each interval. With one finalist, that there is nothing to
        compare it with. While the repeats run (a provisional verdict), the sentence
        starts with how many of them are done.
    """
    table = finalists_table(df)
    table = table[table["mean"].notna()]
    if table.empty:
        return None
    attrs = table.attrs
    test = f"{TIE_TEST} at the {_percent(attrs.get('level', TIE_LEVEL))} level"
    what = f"{_percent(attrs.get('interval', INTERVAL_LEVEL))} interval"
    metric = attrs.get("metric", SELECTION_METRIC)

    def intervals(rows: pd.DataFrame) -> str:
        return "; ".join(f"{_finalist_name(r)} {_interval_text(r)}" for _, r in rows.iterrows())

    best = table.iloc[0]
    tied = table[table["tied"].astype(bool)]
    others = table[~table.index.isin(tied.index)]
    if len(table) == 1:
        text = (
            f"One finalist, {_finalist_name(best)}: {_interval_text(best)} ({what} of "
            f"{metric} over {_seeds(table)}); there is no other finalist to compare it with."
        )
    elif len(tied) > 1:
        text = (
            f"No single winner: {_names(tied)} are statistically tied ({test} over "
            f"{_seeds(tied)}; {what}s of {metric}: {intervals(tied)}); these scores do "
            "not separate them."
        )
        if len(others):
            text += (
                f" {_sentence_start(_names(others))} "
                f"{'is' if len(others) == 1 else 'are'} worse than the best: "
                f"{intervals(others)}."
            )
    else:
        text = (
            f"{_sentence_start(_finalist_name(best))} is ahead of the other finalists: "
            f"{_interval_text(best)} ({what} of {metric} over {_seeds(table.iloc[[0]])}); "
            f"a {test} finds each of the others worse ({intervals(others)})."
        )
    if attrs.get("provisional"):
        done, runs = attrs.get("done", 0), attrs.get("runs", 0)
        why = (
            f"the finalists' repeats are still running ({done} of {runs} done)"
            if done < runs
            else f"the runner has not recorded its verdict ({done} of {runs} repeats done)"
        )
        text = f"Provisional, worked out from the repeats' scores so far: {why}. {text}"
    return text


def strategy_words(strategy: Any) -> str:
    """What a strategy is called in sentences: ``halving`` -> ``successive halving``."""
    return STRATEGY_WORDS.get(str(strategy), str(strategy))


def strategy_summary(overview: dict[str, Any]) -> str | None:
    """One line on how a strategy searched, from :func:`search_overview`.

    Returns
    -------
    str or None
        E.g. ``"successive halving: 6 trials, 4 pruned, 22 epochs trained"`` (pruned
        trials are named for the adaptive strategies, halving and Hyperband, or when
        there are some); then the finalists' repeats when there are some (``"; 3
        finalists re-run with other seeds: 15 runs, 14 completed"``). None for a
        table without a strategy (an older search). Not escaped.
    """
    strategy = overview.get("strategy")
    if not strategy:
        return None
    parts = [plural(overview.get("trials", 0), "trial")]
    if strategy in ADAPTIVE_STRATEGIES or overview.get("pruned"):
        parts.append(f"{overview.get('pruned', 0)} pruned")
    if overview.get("epochs_trained") is not None:
        parts.append(f"{value_text(overview['epochs_trained'])} epochs trained")
    names = ", ".join(strategy_words(s) for s in str(strategy).split(", "))
    text = f"{names}: {', '.join(parts)}"
    if overview.get("repeats"):
        text += (
            f"; {plural(overview.get('finalists', 0), 'finalist')} re-run with other "
            f"seeds: {plural(overview['repeats'], 'run')}, "
            f"{overview.get('repeats_completed', 0)} completed"
        )
    return text
