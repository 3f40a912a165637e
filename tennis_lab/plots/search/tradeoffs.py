"""What a search's scores cost: the Pareto front of score against training time, and a
score against model size and inference time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tennis_lab.plots.search.table import (
    ERRORBAR_GID,
    HIGHLIGHT_GID,
    check_table,
    column_label,
    flag_column,
    fold_spread,
    numeric,
    run_set,
)
from tennis_lab.results import SELECTION_METRIC, value_label

PARETO_FRONT_GID = "pareto_front"


def _finite_rows(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The rows of ``df`` whose ``columns`` are all finite numbers, those columns as floats."""
    data = pd.DataFrame({c: numeric(df[c]) for c in columns}, index=df.index)
    return data[np.isfinite(data.to_numpy(dtype=float)).all(axis=1)]


def _front_flags(df: pd.DataFrame, on_front: pd.Series | Sequence[bool]) -> np.ndarray:
    """``on_front`` as one boolean per row of ``df`` (a Series aligned by index)."""
    if isinstance(on_front, pd.Series):
        flags = on_front if on_front.index.equals(df.index) else on_front.reindex(df.index)
    else:
        flags = pd.Series(list(on_front), dtype=object)
        if len(flags) != len(df):
            raise ValueError(
                f"on_front has {len(flags)} flags for {len(df)} rows of df; pass one per row "
                "or a boolean Series with df's index."
            )
        flags.index = df.index
    return flag_column(pd.DataFrame({"f": flags.to_numpy()}), "f")


def _draw_front(ax: Axes, front: pd.DataFrame, x: str, y: str, color: tuple) -> None:
    """The front as a step line through its points, each labelled."""
    ax.plot(
        front[x],
        front[y],
        drawstyle="steps-post",
        color=color,
        linewidth=1.5,
        gid=PARETO_FRONT_GID,
        label="Pareto front",
    )
    ax.scatter(
        front[x],
        front[y],
        s=45,
        color=color,
        edgecolors="black",
        linewidths=0.5,
        zorder=3,
        gid=HIGHLIGHT_GID,
        label="_nolegend_",
    )
    # Labels alternate right and left along the front, so close points stay legible.
    for k, (px, py, text) in enumerate(zip(front[x], front[y], front["label"], strict=True)):
        ax.annotate(
            text,
            (px, py),
            xytext=(-5, 5) if k % 2 else (5, 5),
            textcoords="offset points",
            ha="right" if k % 2 else "left",
            fontsize="small",
            gid=PARETO_FRONT_GID,
        )


def pareto_figure(
    df: pd.DataFrame,
    on_front: pd.Series | Sequence[bool],
    x: str = "training_time_minutes",
    y: str = SELECTION_METRIC,
    label: str = "run_number",
    title: str | None = None,
) -> Figure:
    """Scatter of every run with its Pareto front (lower ``x``, higher ``y``) as a step line.

    Parameters
    ----------
    df : pandas.DataFrame
        Results table with columns ``x``, ``y`` and ``label``; rows with NaN ``x`` or
        ``y`` are left out. With a ``<y>_std`` column (cross-validated runs), each run
        with a std gets a vertical error bar of ± one std (gid ``"std"``).
    on_front : pandas.Series of bool, or sequence of bool
        Which rows are on the front (as computed by the analysis). A Series is
        aligned with ``df`` by index (missing or NaN counts as False); a sequence
        must have one flag per row.
    x, y : str
        Columns for the axes; by default training time and the selection metric.
    label : str
        Column whose values label the front's points (run numbers by default).
    title : str, optional
        Defaults to "Pareto front: <y label> against <x label>".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: all runs as points, front points emphasised and labelled, joined in
        order of ``x`` by a step line (gid ``"pareto_front"``, ``steps-post``).

    Raises
    ------
    ValueError
        When ``df`` is empty, lacks a column, has no row with both values, or
        ``on_front`` has the wrong length.
    """
    check_table(df, "df", [x, y, label], "pass the results table of a search.")
    front_mask = _front_flags(df, on_front)
    df = df.reset_index(drop=True)
    data = _finite_rows(df, x, y)
    if data.empty:
        raise ValueError(f"no run in df has values of both {x!r} and {y!r}.")
    data["label"] = [value_label(v) for v in df.loc[data.index, label]]
    data["front"] = front_mask[data.index]
    front = data[data["front"]].sort_values([x, y], ascending=[True, False], kind="stable")
    others = data[~data["front"]]
    spread = fold_spread(df, y)

    palette = sns.color_palette()
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7.5, 5.0))
        ax = fig.subplots()
    if spread is not None:
        std = spread[data.index]
        known = np.isfinite(std)
        ax.errorbar(
            data[x][known], data[y][known], yerr=std[known], fmt="none", ecolor="0.6",
            elinewidth=1, capsize=2, zorder=1, gid=ERRORBAR_GID, label="± std over folds",
        )  # fmt: skip
    ax.scatter(others[x], others[y], s=22, color="0.55", alpha=0.8, linewidths=0, label="runs")
    if not front.empty:
        _draw_front(ax, front, x, y, palette[3])
    ax.legend(fontsize="small", loc="lower right")
    ax.set_xlabel(column_label(x))
    ax.set_ylabel(column_label(y))
    ax.set_title(title or f"Pareto front: {column_label(y)} against {column_label(x)}")
    fig.tight_layout()
    return fig


def _spans_decades(values: pd.Series, decades: float = 1.0) -> bool:
    """Whether positive ``values`` span more than ``decades`` powers of ten (a log axis)."""
    x = pd.to_numeric(values, errors="coerce")
    x = x[x > 0]
    return bool(len(x)) and float(np.log10(x.max() / x.min())) > decades


def tradeoff_figure(
    df: pd.DataFrame,
    y: str = SELECTION_METRIC,
    title: str | None = None,
    highlight: Iterable[int] | None = None,
) -> Figure:
    """A metric against model size and against inference time, side by side.

    Parameters
    ----------
    df : pandas.DataFrame
        Results table with columns ``y``, ``trainable_params`` and
        ``inference_ms_per_window`` (and ``run_number`` when ``highlight`` is given).
        Each panel leaves out the rows whose values it needs are NaN (or, on the log
        axis, not positive); a panel without any says "no data".
    y : str
        Metric column; defaults to the selection metric.
    title : str, optional
        Figure title; defaults to "Trade-offs of <y label>".
    highlight : iterable of int, optional
        Run numbers to emphasise as stars (gid ``"highlight"``).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes sharing y: "Model size" (trainable parameters, log x) and
        "Inference time" (ms per window).

    Raises
    ------
    ValueError
        When ``df`` is empty, lacks a column, or no row has a value of ``y``.
    """
    panels = (("Model size", "trainable_params"), ("Inference time", "inference_ms_per_window"))
    needed = [y] + [c for _, c in panels] + (["run_number"] if highlight is not None else [])
    check_table(df, "df", needed, "pass the results table of a search.")
    if not np.isfinite(numeric(df[y])).any():
        raise ValueError(f"no run in df has a value of {y!r}; all {len(df)} are NaN.")
    df = df.reset_index(drop=True)
    top = run_set(highlight)
    runs = numeric(df["run_number"]) if "run_number" in df.columns else np.full(len(df), np.nan)
    emphasised = np.isin(runs, list(top))

    palette = sns.color_palette()
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(11.0, 4.6))
        axes = fig.subplots(1, 2, sharey=True)
    for ax, (name, column) in zip(axes, panels, strict=True):
        data = _finite_rows(df, column, y)
        if column == "trainable_params":
            data = data[data[column] > 0]
        star = emphasised[data.index]
        logged = False
        if data.empty:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center")
        else:
            plain = data[~star]
            ax.scatter(plain[column], plain[y], s=24, color=palette[0], alpha=0.75, linewidths=0)
            if star.any():
                ax.scatter(
                    data[column][star],
                    data[y][star],
                    s=150,
                    marker="*",
                    color=palette[3],
                    edgecolors="black",
                    linewidths=0.6,
                    zorder=3,
                    gid=HIGHLIGHT_GID,
                    label="highlighted runs",
                )
                ax.legend(fontsize="small", loc="lower right")
            logged = column == "trainable_params" and _spans_decades(data[column])
            if logged:
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.xaxis.set_minor_locator(ticker.NullLocator())
            if column == "trainable_params":  # 12k, 150k, 1.2M
                if not logged:  # within one decade a log axis shows a single tick
                    ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
                ax.xaxis.set_major_formatter(ticker.EngFormatter(sep=""))
        ax.set_title(name)
        ax.set_xlabel(column_label(column) + (" (log scale)" if logged else ""))
    axes[0].set_ylabel(column_label(y))
    fig.suptitle(title or f"Trade-offs of {column_label(y)}")
    fig.tight_layout()
    return fig
