"""How a search's parameters relate to its scores: a metric by each value of one parameter,
over pairs of parameters, and the parameters' importance (the analysis notebook and the
report show them)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tennis_lab.plots.search.table import (
    HIGHLIGHT_GID,
    check_table,
    column_label,
    numeric,
    run_set,
    sentence,
)
from tennis_lab.plots.style import rotate_xticks
from tennis_lab.results import SELECTION_METRIC, ordered_values, value_key, value_label

CAUTION_GID = "caution"


def _runs_by_value(df: pd.DataFrame, param: str, metric: str) -> tuple[pd.DataFrame, list]:
    """The runs with a value of ``metric`` (columns value, metric, run and x, the value's
    position) and the values' labels in their display order."""
    data = pd.DataFrame(
        {
            "value": [value_label(v) for v in df[param]],
            "metric": numeric(df[metric]),
            "run": df["run_number"].to_numpy() if "run_number" in df.columns else df.index,
        }
    )
    finite = np.isfinite(data["metric"]).to_numpy()
    if not finite.any():
        raise ValueError(f"no run in df has a value of {metric!r}; all {len(df)} are NaN.")
    kept = [v for v, keep in zip(df[param], finite, strict=True) if keep]
    order = list(dict.fromkeys(value_label(v) for v in ordered_values(kept)))
    data = data[finite]
    data["x"] = data["value"].map({v: i for i, v in enumerate(order)}).astype(float)
    return data, order


def _star_runs(ax: Axes, top_data: pd.DataFrame, color: tuple) -> None:
    """The top runs as stars, each labelled with its run number."""
    ax.scatter(
        top_data["x"],
        top_data["metric"],
        s=150,
        marker="*",
        color=color,
        edgecolors="black",
        linewidths=0.6,
        zorder=4,
        gid=HIGHLIGHT_GID,
        label="top runs",
    )
    # Labels alternate right and left within a value, so runs with equal scores stay legible.
    side = top_data.sort_values("metric", ascending=False).groupby("x").cumcount() % 2
    for x, y, run, left in zip(
        top_data["x"],
        top_data["metric"],
        top_data["run"],
        side.loc[top_data.index],
        strict=True,
    ):
        ax.annotate(
            f"run {value_label(run)}",
            (x, y),
            xytext=(-7 if left else 7, 0),
            textcoords="offset points",
            ha="right" if left else "left",
            va="center",
            fontsize="x-small",
            gid=HIGHLIGHT_GID,
            zorder=5,
            # a box of the background's colour: whiskers and caps do not cross it
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
        )


def metric_by_value_figure(
    df: pd.DataFrame,
    param: str,
    metric: str = SELECTION_METRIC,
    top_runs: Iterable[int] | None = None,
    title: str | None = None,
) -> Figure:
    """Box plot and individual runs of a metric for each value of one parameter.

    Parameters
    ----------
    df : pandas.DataFrame
        Results table (as the search's CSV): columns ``param`` and ``metric``, and
        ``run_number`` when ``top_runs`` is given. Rows whose metric is NaN (failed
        runs) are left out.
    param : str
        Parameter column. Its values become category labels (``45``, ``0.001``,
        ``[128, 64]``; JSON text is parsed, so equal values group together), in a
        stable sorted order: numbers by size, then lists (shorter first, then element
        by element), then text, missing values (``n/a``) last.
    metric : str
        Metric column; defaults to the selection metric (validation macro F1 over
        strokes).
    top_runs : iterable of int, optional
        Run numbers to emphasise: drawn as labelled stars (gid ``"highlight"``) instead
        of plain points. Run numbers not in ``df`` are ignored.
    title : str, optional
        Defaults to "<metric label> by <param>".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: parameter values on x, the metric on y; a box per value (no
        fliers: every run is drawn as a point, jittered reproducibly).

    Raises
    ------
    ValueError
        When ``df`` is empty, lacks a column, or no row has a value of ``metric``.
    """
    needed = [param, metric] + (["run_number"] if top_runs is not None else [])
    check_table(df, "df", needed, "pass the results table of a search.")
    data, order = _runs_by_value(df, param, metric)
    top = run_set(top_runs)
    highlighted = np.array([pd.notna(r) and float(r) in top for r in data["run"]], dtype=bool)

    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(max(6.0, 0.9 * len(order) + 2.5), 4.8))
        ax = fig.subplots()
    palette = sns.color_palette()
    # Matplotlib's own box plot: seaborn 0.13's passes the deprecated ``vert`` argument.
    ax.boxplot(
        [data.loc[data["value"] == v, "metric"].to_numpy() for v in order],
        positions=np.arange(len(order)),
        widths=0.6,
        showfliers=False,
        manage_ticks=False,
        boxprops={"color": palette[0]},
        whiskerprops={"color": palette[0]},
        capprops={"color": palette[0]},
        medianprops={"color": palette[0], "linewidth": 2},
    )
    ax.set_xticks(np.arange(len(order)), order)
    ax.set_xlim(-0.5, len(order) - 0.5)
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.15, 0.15, size=len(data))
    plain = data[~highlighted]
    ax.scatter(
        plain["x"] + jitter[~highlighted],
        plain["metric"],
        s=18,
        color="0.25",
        alpha=0.7,
        linewidths=0,
        zorder=3,
        label="run",
    )
    if highlighted.any():
        _star_runs(ax, data[highlighted], palette[3])
        ax.legend(fontsize="small", loc="best")
    rotate_xticks(ax, order)
    ax.set_xlabel(param)
    ax.set_ylabel(column_label(metric))
    ax.set_title(title or sentence(f"{column_label(metric)} by {param}"))
    fig.tight_layout()
    return fig


def _display_positions(values: Sequence[object]) -> list[int]:
    """Positions of ``values`` in the display order of parameter values (as
    :func:`tennis_lab.results.ordered_values` orders them)."""
    return sorted(range(len(values)), key=lambda i: (value_key(values[i]), value_label(values[i])))


def interaction_heatmap(table: pd.DataFrame, metric_label: str, title: str | None = None) -> Figure:
    """Heatmap of a metric's mean over the combinations of two parameters.

    Parameters
    ----------
    table : pandas.DataFrame
        Pivot table: index = values of parameter a, columns = values of parameter b,
        cells = the mean metric (NaN where no run had that pair). The index and
        column names, when set, label the axes. Rows and columns are drawn in the
        stable sorted order of their values (as ``metric_by_value_figure``).
    metric_label : str
        What the cells are, for the colour bar (e.g. "mean validation macro F1").
    title : str, optional
        Defaults to "<metric_label> by <a> and <b>".

    Returns
    -------
    matplotlib.figure.Figure
        One heatmap axes and its colour bar; each cell annotated with its value to 3
        decimals, NaN cells blank and unannotated.

    Raises
    ------
    ValueError
        When ``table`` has no rows, no columns, or no value.
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame; got {type(table).__name__}.")
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise ValueError(
            f"table is empty (shape {table.shape}); pass a pivot table of means with "
            "one row per value of one parameter and one column per value of another."
        )
    rows = _display_positions(list(table.index))
    cols = _display_positions(list(table.columns))
    values = table.iloc[rows, cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).any():
        raise ValueError(f"table has no values: all {values.size} cells are NaN.")
    row_labels = [value_label(table.index[i]) for i in rows]
    col_labels = [value_label(table.columns[j]) for j in cols]
    annot = np.array([[f"{v:.3f}" if np.isfinite(v) else "" for v in row] for row in values])
    a = str(table.index.name) if table.index.name is not None else ""
    b = str(table.columns.name) if table.columns.name is not None else ""

    n_rows, n_cols = values.shape
    size = (max(5.5, 0.95 * n_cols + 3.0), max(3.5, 0.55 * n_rows + 2.0))
    with sns.axes_style("white"):
        fig = Figure(figsize=size)
        ax = fig.subplots()
    sns.heatmap(
        values,
        annot=annot,
        fmt="",
        cmap="viridis",
        linewidths=0.5,
        xticklabels=col_labels,
        yticklabels=row_labels,
        cbar_kws={"label": metric_label},
        ax=ax,
    )
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    ax.tick_params(axis="y", labelrotation=0)
    rotate_xticks(ax, col_labels)
    by = " and ".join(name for name in (a, b) if name)
    ax.set_title(title or sentence(f"{metric_label} by {by}" if by else metric_label))
    fig.tight_layout()
    return fig


def importance_figure(
    importance: pd.DataFrame, caution: str | None = None, title: str | None = None
) -> Figure:
    """Horizontal bars of parameter importance, most important on top.

    Parameters
    ----------
    importance : pandas.DataFrame
        Columns ``parameter`` and ``importance`` (0 to 1), one row per parameter.
        Rows are sorted by importance, largest first; a NaN importance is drawn last,
        without a bar, labelled "n/a".
    caution : str, optional
        A note on how far to trust the ranking (few runs, correlated parameters),
        shown under the axes (gid ``"caution"``).
    title : str, optional
        Defaults to "Parameter importance".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: one bar per parameter, labelled with its value; x from 0 to 1.1.

    Raises
    ------
    ValueError
        When ``importance`` is empty or lacks a column.
    """
    check_table(
        importance,
        "importance",
        ["parameter", "importance"],
        "pass one row per parameter with its importance.",
    )
    names = [str(p) for p in importance["parameter"]]
    scores = numeric(importance["importance"])
    order = sorted(
        range(len(names)), key=lambda i: (np.isnan(scores[i]), -np.nan_to_num(scores[i]))
    )
    names = [names[i] for i in order]
    scores = scores[order]

    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7.0, max(2.5, 0.45 * len(names) + 1.6)))
        ax = fig.subplots()
    bars = ax.barh(
        np.arange(len(names)),
        np.nan_to_num(scores, nan=0.0),
        color=sns.color_palette()[0],
        height=0.7,
        tick_label=names,
    )
    ax.bar_label(
        bars,
        labels=[f"{s:.2f}" if np.isfinite(s) else "n/a" for s in scores],
        fontsize="small",
        padding=2,
    )
    ax.invert_yaxis()
    ax.set_xlim(0.0, max(1.1, float(np.nanmax(scores, initial=0.0)) * 1.1))
    ax.set_xlabel("importance")
    ax.set_ylabel("")
    ax.grid(axis="y", visible=False)
    ax.set_title(title or "Parameter importance")
    if caution:
        width = max(40, int(fig.get_figwidth() * 13))
        ax.annotate(
            "\n".join(textwrap.wrap(str(caution), width)),
            xy=(0.0, 0.0),
            xycoords=("axes fraction", ax.xaxis.label),
            xytext=(0, -8),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize="small",
            fontstyle="italic",
            color="0.3",
            gid=CAUTION_GID,
        )
    fig.tight_layout()
    return fig
