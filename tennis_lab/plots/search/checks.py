"""Warning signs across a search's runs: recall per class (unbalanced runs) and train,
validation and test scores side by side (overfitting runs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tennis_lab.plots.search.table import (
    ERRORBAR_GID,
    FLAG_COLOR,
    check_table,
    colour_flagged,
    flag_column,
    flagged_labels,
    fold_spread,
    numeric,
    run_labels,
)
from tennis_lab.plots.style import rotate_xticks

FLAGGED_GID = "flagged"
# Train macro F1 is only scored on windows: the three bars compare like with like.
_SPLIT_F1_COLUMNS = (
    ("train", "train_macro_f1_score"),
    ("validation", "val_macro_f1_score"),
    ("test", "macro_f1_score"),
)


def class_recall_figure(
    balance: pd.DataFrame, classes: Sequence[str], title: str | None = None
) -> Figure:
    """Heatmap of each run's recall per class, runs flagged as unbalanced marked.

    Parameters
    ----------
    balance : pandas.DataFrame
        One row per run, in the order drawn: ``<class>_recall`` for every class,
        ``run_number`` (else the index numbers the runs) and optionally a boolean
        ``unbalanced`` (missing or NaN counts as False). NaN recalls are blank.
    classes : sequence of str
        Class names, in column order.
    title : str, optional
        Defaults to "Recall per class".

    Returns
    -------
    matplotlib.figure.Figure
        One heatmap axes (rows "run N", columns classes, cells annotated to 2
        decimals, colours from 0 to 1) and its colour bar. Unbalanced rows have the
        tick label "run N (unbalanced)" in red.

    Raises
    ------
    ValueError
        When ``balance`` is empty, ``classes`` is empty, or a recall column is missing.
    """
    classes = [str(c) for c in classes]
    if not classes:
        raise ValueError("classes is empty; pass the class names whose recall to draw.")
    check_table(
        balance,
        "balance",
        [f"{c}_recall" for c in classes],
        "pass one row per run with its <class>_recall columns.",
    )
    values = np.column_stack([numeric(balance[f"{c}_recall"]) for c in classes])
    annot = np.array([[f"{v:.2f}" if np.isfinite(v) else "" for v in row] for row in values])
    flags = flag_column(balance, "unbalanced")
    rows = flagged_labels(run_labels(balance), flags, "(unbalanced)")

    n_rows, n_cols = values.shape
    size = (max(5.5, 1.1 * n_cols + 3.5), max(3.0, 0.42 * n_rows + 1.8))
    with sns.axes_style("white"):
        fig = Figure(figsize=size)
        ax = fig.subplots()
    sns.heatmap(
        values,
        annot=annot,
        fmt="",
        cmap="Blues",
        vmin=0.0,
        vmax=1.0,
        linewidths=0.5,
        xticklabels=classes,
        yticklabels=rows,
        cbar_kws={"label": "recall"},
        ax=ax,
    )
    ax.tick_params(axis="y", labelrotation=0)
    colour_flagged(ax.get_yticklabels(), flags)
    rotate_xticks(ax, classes)
    ax.set_xlabel("class")
    ax.set_ylabel("")
    ax.set_title(title or "Recall per class")
    fig.tight_layout()
    return fig


def overfitting_figure(table: pd.DataFrame, title: str | None = None) -> Figure:
    """Grouped bars of train, validation and test macro F1 per run, flagged runs marked.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per run, in the order drawn: ``train_macro_f1_score``,
        ``val_macro_f1_score`` and ``macro_f1_score`` (test), all over windows (train
        is only scored on windows), ``run_number`` (else the index numbers the runs)
        and optionally a boolean ``overfitting`` (missing or NaN counts as False). A
        NaN score has no bar and is labelled "n/a". A ``<score>_std`` column (spread
        over folds) gives that score's bars error bars of ± one std.
    title : str, optional
        Defaults to "Train, validation and test macro F1 (windows)".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: runs on x, three bars per run (train, validation, test, in that
        order, one container each) labelled with their values; y from 0 to 1.1.
        Flagged runs have a red band (gid ``"flagged"``) and the tick label
        "run N" and "(overfitting)" on a second line, in red.

    Raises
    ------
    ValueError
        When ``table`` is empty or lacks a score column.
    """
    check_table(
        table,
        "table",
        [c for _, c in _SPLIT_F1_COLUMNS],
        "pass one row per run with its train, validation and test macro F1.",
    )
    flags = flag_column(table, "overfitting")
    plain_runs = run_labels(table)
    runs = flagged_labels(plain_runs, flags, "(overfitting)", sep="\n")
    n = len(runs)
    width = 0.8 / len(_SPLIT_F1_COLUMNS)
    positions = np.arange(n, dtype=float)

    palette = sns.color_palette()
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(max(6.0, 1.1 * n + 3.0), 4.8))
        ax = fig.subplots()
    for k, (split, column) in enumerate(_SPLIT_F1_COLUMNS):
        scores = numeric(table[column])
        bars = ax.bar(
            positions + (k - 1) * width,
            np.nan_to_num(scores, nan=0.0),
            width=width,
            color=palette[k],
            label=split,
        )
        spread = fold_spread(table, column)
        if spread is not None:  # only the runs with a std (and a score) get a bar
            known = np.isfinite(spread) & np.isfinite(scores)
            ax.errorbar(positions[known] + (k - 1) * width, scores[known], yerr=spread[known],
                        fmt="none", ecolor="0.25", elinewidth=1, capsize=2, zorder=3,
                        gid=ERRORBAR_GID)  # fmt: skip
        ax.bar_label(
            bars,
            labels=[f"{s:.2f}" if np.isfinite(s) else "n/a" for s in scores],
            fontsize="x-small",
            padding=1,
        )
    for i in np.flatnonzero(flags):
        ax.axvspan(
            i - 0.47, i + 0.47, color=FLAG_COLOR, alpha=0.1, linewidth=0, zorder=0, gid=FLAGGED_GID
        )
    ax.set_xticks(positions, runs)
    colour_flagged(ax.get_xticklabels(), flags)
    rotate_xticks(ax, plain_runs)
    handles, labels = ax.get_legend_handles_labels()
    if flags.any():
        handles.append(Patch(color=FLAG_COLOR, alpha=0.15, label="flagged: overfitting"))
        labels.append("flagged: overfitting")
    ax.legend(handles, labels, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(0.0, 1.1)
    ax.set_xlabel("")
    ax.set_ylabel("macro F1")
    ax.set_title(title or "Train, validation and test macro F1 (windows)")
    fig.tight_layout()
    return fig
