"""Where a search's runs stand: ranking, the finalists' verdict, the one winner.

Pure: rows in, rows and tables out; the only reading is of a run's result JSON (its
validation strokes, for the paired comparison with the best run).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tennis_lab.evaluation import tie_method, verdict
from tennis_lab.results import (
    PHASE_REPEAT,
    PHASE_SEARCH,
    SELECTION_METRIC,
    STANDING_COLUMNS,
    STATUS_COMPLETED,
    finite_number,
    row_key,
)
from tennis_lab.search.config import REPEAT_OVER


def epochs_budget(row: Mapping[str, Any]) -> float:
    """A row's epoch budget (infinite when the run had none: it trained to the end)."""
    value = row.get("epochs_budget")
    return float("inf") if value is None or value == "" or pd.isna(value) else float(value)


def ranked_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The search's completed trials, best first.

    One row per trial: its last rung's (a promoted trial's earlier rungs trained
    fewer epochs). Repeats of finalists are left out. Trials that trained to more
    epochs rank first (a score after 3 epochs is not comparable to one after 27),
    then by the selection metric, then the earlier run.
    """
    last: dict[int, dict[str, Any]] = {}
    for row in rows:
        phase = row.get("phase")
        if isinstance(phase, str) and phase != PHASE_SEARCH:
            continue
        trial, rung = row_key(row)
        if trial not in last or row_key(last[trial])[1] < rung:
            last[trial] = row
    done = [r for r in last.values() if r["status"] == STATUS_COMPLETED]
    return sorted(
        done,
        key=lambda r: (-epochs_budget(r), -float(r.get(SELECTION_METRIC) or 0), r["run_number"]),
    )


# --------------------------------------------------------------------------- the verdict


def _same_score(a: Any, b: Any) -> bool:
    return (
        finite_number(a) is not None
        and finite_number(b) is not None
        and abs(float(a) - float(b)) <= 1e-12
    )


def _val_strokes(row: Mapping[str, Any]) -> dict[str, list] | None:
    """The validation strokes a run scored (its result file beside its notebook), or None."""
    notebook = row.get("notebook")
    if not isinstance(notebook, str) or not notebook:
        return None
    try:
        result = json.loads(Path(notebook).with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    strokes = result.get("val_strokes") or None
    return strokes if strokes and strokes.get("true") else None


def _paired(best: Mapping[str, list], other: Mapping[str, list]) -> tuple[float, float, float]:
    """:func:`tennis_lab.evaluation.paired_bootstrap` of two runs on their common strokes.

    Runs of one search are split alike, so their strokes are the same; runs whose
    validation strokes differ (another split seed) cannot be paired: NaN.
    """
    from tennis_lab.evaluation import paired_bootstrap

    def keyed(strokes: Mapping[str, list]) -> dict[tuple, tuple[int, int]]:
        return {
            (str(f), str(v), int(s)): (int(t), int(p))
            for f, v, s, t, p in zip(strokes["fold"], strokes["video"], strokes["start"],
                                     strokes["true"], strokes["pred"], strict=True)
        }  # fmt: skip

    try:
        a, b = keyed(best), keyed(other)
    except (KeyError, TypeError, ValueError):  # a result file of another shape: not paired
        return float("nan"), float("nan"), float("nan")
    if a.keys() != b.keys() or any(a[k][0] != b[k][0] for k in a):
        return float("nan"), float("nan"), float("nan")
    keys = sorted(a)
    return paired_bootstrap(
        [a[k][0] for k in keys], [a[k][1] for k in keys], [b[k][1] for k in keys],
        folds=[k[0] for k in keys],
    )  # fmt: skip


@dataclass
class Standings:
    """Where a search's configurations stand: one rule for every place that names a winner.

    The rule: with finalists, the finalist with the best mean over its repeats wins,
    and its best-scoring repeat (on validation) is its model; without, the top of
    :func:`ranked_rows` (most epochs, then the selection metric, then the earlier
    run). Equal scores share a rank, as scikit-learn's ``rank_test_score``.
    """

    ranked: list[dict[str, Any]]  # the rows that stand for a configuration, in rank order
    winner: dict[str, Any] | None
    undecided: list[dict[str, Any]]  # rows the data cannot separate from the winner (winner first)
    method: str  # how "cannot separate" was decided
    finalists: bool


def standings(rows: list[dict[str, Any]]) -> Standings:
    """Rank the configurations of ``rows`` and mark the one winner; fills in the rows.

    Each ranked row gets ``rank``, ``winner`` and ``tied_with_best``; a search row
    also ``diff_to_best``, ``diff_ci_low`` and ``diff_ci_high``: the best search
    run's validation macro F1 minus its own, with the :data:`evaluation.BOOTSTRAP_LEVEL`
    interval of a paired bootstrap over the validation strokes both scored (every
    configuration is scored on the same strokes, so this needs no re-training). The
    interval holding 0 (or touching it) means the strokes cannot separate the two:
    ``tied_with_best``. A finalist's representative gets the verdict of its repeats
    instead (:func:`finalist_verdict`).
    """
    for row in rows:
        for column in STANDING_COLUMNS:
            row.pop(column, None)
    search = ranked_rows(rows)
    if search:
        best_strokes = _val_strokes(search[0])
        for row in search:
            same_budget = epochs_budget(row) == epochs_budget(search[0])
            other = _val_strokes(row) if same_budget and best_strokes else None
            if row is search[0]:
                diff, low, high = 0.0, 0.0, 0.0
            elif other is None:
                diff = low = high = float("nan")
            else:
                diff, low, high = _paired(best_strokes, other)
            row.update(diff_to_best=diff, diff_ci_low=low, diff_ci_high=high,
                       tied_with_best=bool(low == low and low <= 0))  # fmt: skip
    verdict = finalist_verdict(rows)
    if verdict:
        stand = []
        for entry in verdict:
            row = _best_repeat(rows, entry["config_id"])
            row["tied_with_best"] = bool(entry["tied"])
            stand.append((row, entry["mean"]))
        chosen = {entry["config_id"] for entry in verdict}
        stand += [(r, r[SELECTION_METRIC]) for r in search if r["config_id"] not in chosen]
    else:
        stand = [(r, r[SELECTION_METRIC]) for r in search]
    ranked = []
    for i, (row, score) in enumerate(stand):
        previous = stand[i - 1] if i else None
        tie = (
            previous is not None
            and epochs_budget(previous[0]) == epochs_budget(row)
            and _same_score(previous[1], score)
            and (previous[0].get("phase") == PHASE_REPEAT) == (row.get("phase") == PHASE_REPEAT)
        )
        row["rank"] = ranked[-1]["rank"] if tie else i + 1
        row["winner"] = i == 0
        ranked.append(row)
    n_final = len(verdict)
    undecided = [r for r in ranked[: n_final or None] if r.get("tied_with_best")]
    return Standings(ranked, ranked[0] if ranked else None, undecided if len(undecided) > 1
                     else [], tie_method(bool(verdict)), bool(verdict))  # fmt: skip


def repeat_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the finalists' repeats."""
    return [r for r in rows if r.get("phase") == PHASE_REPEAT]


def finalist_verdict(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each finalist's mean, interval and tie with the best, from its repeats' rows.

    Returns
    -------
    list of dict
        Best mean first: ``config_id``, ``finalist_trial`` (its trial in the search),
        ``scores``, ``mean``, ``low``, ``high`` (the :data:`INTERVAL_LEVEL` Student-t
        interval; NaN with one score), ``tied`` (a one-sided Welch's t-test at
        :data:`TIE_LEVEL` does not find it worse than the best) and ``p`` (that
        test's p-value; 1 for the best). Finalists with no scored repeat are left out.
    """
    groups: dict[str, list[float]] = {}
    origin: dict[str, Any] = {}
    for row in repeat_rows(rows):
        score = row.get(SELECTION_METRIC)
        origin.setdefault(row["config_id"], row.get("finalist_trial"))
        if row["status"] == STATUS_COMPLETED and score is not None and not pd.isna(score):
            groups.setdefault(row["config_id"], []).append(float(score))
    return [{**e, "finalist_trial": origin.get(e["config_id"])} for e in verdict(groups)]


def _best_repeat(rows: list[dict[str, Any]], config_id: str) -> dict[str, Any]:
    """The completed repeat of finalist ``config_id`` that scored best on validation
    (the earlier run among equals): the model that stands for the finalist."""
    mine = [
        r for r in repeat_rows(rows)
        if r["config_id"] == config_id and r["status"] == STATUS_COMPLETED
    ]  # fmt: skip
    return max(mine, key=lambda r: (float(r[SELECTION_METRIC]), -r["run_number"]))


def best_finalist_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best-scoring repeat of the finalist with the best mean (None without finalists)."""
    verdict = finalist_verdict(rows)
    return _best_repeat(rows, verdict[0]["config_id"]) if verdict else None


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The search's one winner (the champion): the best finalist's best repeat, else the
    top ranked (see :class:`Standings`)."""
    best = best_finalist_row(rows)
    if best is None:
        ranked = ranked_rows(rows)
        best = ranked[0] if ranked else None
    return best


def repeats_varied(rows: list[dict[str, Any]]) -> str:
    """What the finalists' repeats varied, read from their rows (``seed``, ``split_seed``)."""

    def shown(value: Any) -> Any:
        return None if value is None or (isinstance(value, float) and value != value) else value

    seeds, splits = set(), set()
    for row in repeat_rows(rows):
        seed, split = shown(row.get("seed")), shown(row.get("split_seed"))
        seeds.add((row["config_id"], seed))
        splits.add((row["config_id"], seed if split is None else split))
    configs = {c for c, _ in seeds}
    seed_varies, split_varies = len(seeds) > len(configs), len(splits) > len(configs)
    if seed_varies and not split_varies:
        return REPEAT_OVER["seeds"]
    if split_varies and not seed_varies:
        return REPEAT_OVER["splits"]
    return REPEAT_OVER["both"]


def varied(rows: list[dict[str, Any]], names) -> list[str]:
    """The parameters among ``names`` whose value differs between ``rows``."""
    return [
        k for k in names
        if len({json.dumps(r.get(k), sort_keys=True, default=str) for r in rows}) > 1
    ]  # fmt: skip
