"""Where a search's runs stand: the ranking with each score's spread over folds, and the
finalists' means over seeds with their confidence intervals."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from tennis_lab.plots.search.table import (
    ERRORBAR_GID,
    FLAG_COLOR,
    check_table,
    colour_flagged,
    column_label,
    flag_column,
    flagged_labels,
    fold_spread,
    numeric,
    run_labels,
    run_set,
)
from tennis_lab.results import SELECTION_METRIC, value_label

TIED_GID = "tied"
INTERVAL_GID = "interval"  # a finalist's confidence interval of the mean
BEHIND_GID = "behind"  # finalists found worse than the best
_FINALIST_COLUMNS = ("mean", "ci_low", "ci_high")


def ranking_figure(
    board: pd.DataFrame,
    metric: str = SELECTION_METRIC,
    tied: Iterable[int] | None = None,
    title: str | None = None,
) -> Figure:
    """The ranked runs' scores as points with ± one std, best at the top.

    Parameters
    ----------
    board : pandas.DataFrame
        One row per run, in rank order (as the leaderboard): ``run_number`` (else
        the index numbers the runs), ``metric`` and optionally ``<metric>_std``
        (missing or NaN: no error bar). Rows without a value of ``metric`` are left out.
    metric : str
        Defaults to the selection metric.
    tied : iterable of int, optional
        Run numbers the best is tied with (computed by the analysis): drawn in red
        (gid ``"tied"``), their tick labels "run N (tied)".
    title : str, optional
        Defaults to "Ranking by <metric label>".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: a row per run, the first at the top; each score a point with a
        horizontal error bar of its std (gid ``"std"``; none without a std); the best
        run's interval shaded.

    Raises
    ------
    ValueError
        When ``board`` is empty, lacks ``metric``, or no row has a value of it.
    """
    check_table(board, "board", [metric], "pass the leaderboard of a search.")
    scores = numeric(board[metric])
    keep = np.isfinite(scores)
    if not keep.any():
        raise ValueError(f"no run in board has a value of {metric!r}; all {len(board)} are NaN.")
    table = board[keep]
    scores = scores[keep]
    spread = fold_spread(table, metric)
    labels = run_labels(table)
    runs = numeric(table["run_number"]) if "run_number" in table.columns else np.full(
        len(table), np.nan
    )  # fmt: skip
    flags = np.isin(runs, list(run_set(tied)))
    labels = flagged_labels(labels, flags, "(tied)")
    positions = np.arange(len(table))

    palette = sns.color_palette()
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7.0, max(2.4, 0.42 * len(table) + 1.5)))
        ax = fig.subplots()
    if spread is not None:
        best_std = spread[0] if np.isfinite(spread[0]) else 0.0
        ax.axvspan(scores[0] - best_std, scores[0] + best_std, color=palette[0], alpha=0.12,
                   linewidth=0, zorder=0, label="best ± std")  # fmt: skip
        known = np.isfinite(spread)
        ax.errorbar(
            scores[known], positions[known], xerr=spread[known], fmt="none",
            ecolor="0.35", elinewidth=1.2, capsize=3, zorder=2, gid=ERRORBAR_GID,
        )  # fmt: skip
    plain = ~flags
    ax.scatter(scores[plain], positions[plain], s=40, color=palette[0], zorder=3, label="run")
    if flags.any():
        ax.scatter(scores[flags], positions[flags], s=55, color=FLAG_COLOR, zorder=4,
                   gid=TIED_GID, label="tied with the best")  # fmt: skip
    ax.set_yticks(positions, labels)
    colour_flagged(ax.get_yticklabels(), flags)
    ax.invert_yaxis()
    ax.set_xlabel(column_label(metric) + (" (± std over folds)" if spread is not None else ""))
    ax.set_ylabel("")
    ax.legend(fontsize="small", loc="best")
    ax.set_title(title or f"Ranking by {column_label(metric)}")
    fig.tight_layout()
    return fig


def _finalist_labels(table: pd.DataFrame) -> list[str]:
    """``trial 3 (5 seeds)`` per finalist (``config <id>`` where no trial is known)."""
    labels = []
    for i, (_, row) in enumerate(table.iterrows()):
        trial = row.get("trial")
        if trial is not None and pd.notna(trial):
            name = f"trial {value_label(trial)}"
        elif pd.notna(row.get("config_id")):
            name = f"config {row['config_id']}"
        else:
            name = f"finalist {value_label(table.index[i])}"
        seeds = row.get("repeats")
        if seeds is not None and pd.notna(seeds):
            name += f" ({int(seeds)} seed{'' if int(seeds) == 1 else 's'})"
        labels.append(name)
    return labels


def finalists_figure(
    table: pd.DataFrame,
    metric: str = SELECTION_METRIC,
    level: float = 0.05,
    interval: float = 0.95,
    title: str | None = None,
) -> Figure:
    """Each finalist's mean score over its repeats with its confidence interval.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per finalist, best first (as ``analysis.finalists_table``): ``mean``,
        ``ci_low``, ``ci_high`` (NaN: no interval, e.g. a single repeat), ``tied``
        (True: not found worse than the best; missing or NaN counts as False),
        optionally ``trial`` (names the row; else ``config_id``, else the index) and
        ``repeats`` (seeds, shown in the label). Rows without a mean are left out.
    metric : str
        The score the means are of (its label names the x axis).
    level : float
        The significance level of the tie test, for the legend.
    interval : float
        The confidence level of the intervals, for the axis label and legend.
    title : str, optional
        Defaults to "Finalists over seeds: mean and <interval> interval".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: a row per finalist, the best at the top; each mean a point with a
        horizontal error bar from ci_low to ci_high (gid ``"interval"``; none where
        the interval is unknown); tied finalists (the best included) drawn in red
        (gid ``"tied"``, their tick labels in bold red), the others in blue (gid
        ``"behind"``); the best's interval shaded; a legend below the axes saying
        what the colours mean and which test decided.

    Raises
    ------
    ValueError
        When ``table`` is empty, lacks ``mean``, ``ci_low`` or ``ci_high``, or no row
        has a mean.
    """
    check_table(table, "table", list(_FINALIST_COLUMNS), "pass analysis.finalists_table(results).")
    means = numeric(table["mean"])
    keep = np.isfinite(means)
    if not keep.any():
        raise ValueError(f"no finalist in table has a mean; all {len(table)} are NaN.")
    table = table[keep]
    means = means[keep]
    low, high = numeric(table["ci_low"]), numeric(table["ci_high"])
    tied = flag_column(table, "tied")
    labels = _finalist_labels(table)
    positions = np.arange(len(table), dtype=float)

    palette = sns.color_palette()
    percent = f"{100 * interval:g} %"
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7.5, max(2.4, 0.5 * len(table) + 1.6)))
        ax = fig.subplots()
    if np.isfinite(low[0]) and np.isfinite(high[0]):
        ax.axvspan(low[0], high[0], color=FLAG_COLOR if tied[0] else palette[0], alpha=0.1,
                   linewidth=0, zorder=0, label=f"the best's {percent} interval")  # fmt: skip
    known = np.isfinite(low) & np.isfinite(high)
    if known.any():
        below = np.clip(means[known] - low[known], 0.0, None)
        above = np.clip(high[known] - means[known], 0.0, None)
        ax.errorbar(means[known], positions[known], xerr=np.vstack([below, above]), fmt="none",
                    ecolor="0.35", elinewidth=1.2, capsize=4, zorder=2,
                    gid=INTERVAL_GID)  # fmt: skip
    test = f"one-sided Welch's t-test, {100 * level:g} % level"
    if tied.any():
        ax.scatter(means[tied], positions[tied], s=60, color=FLAG_COLOR, zorder=4, gid=TIED_GID,
                   label=f"the best and those tied with it ({test})")  # fmt: skip
    if (~tied).any():
        ax.scatter(means[~tied], positions[~tied], s=45, color=palette[0], zorder=3,
                   gid=BEHIND_GID, label="worse than the best")  # fmt: skip
    ax.set_yticks(positions, labels)
    colour_flagged(ax.get_yticklabels(), tied)
    ax.set_ylim(len(table) - 0.5, -0.5)  # the best at the top
    ax.set_xlabel(f"{column_label(metric)}: mean over seeds with its {percent} interval")
    ax.set_ylabel("")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    ax.set_title(title or f"Finalists over seeds: mean and {percent} interval")
    fig.tight_layout()
    return fig
