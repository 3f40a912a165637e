"""Seaborn figures shared by the notebooks and the report.

Every function takes results that were already computed (a confusion matrix, a
training history, counts, flat metrics) and returns a :class:`matplotlib.figure.Figure`;
nothing here computes a metric beyond normalising what it is given for display.

Figures are made without pyplot (``Figure`` and ``fig.subplots``): nothing is
registered globally, so a long search never accumulates open figures, and a notebook
shows a figure exactly once, with ``display(fig)`` or as a cell's last value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

PER_CLASS_METRICS = ("precision", "recall", "f1_score")
_METRIC_LABELS = {"precision": "precision", "recall": "recall", "f1_score": "F1"}
BEST_EPOCH_GID = "best_epoch"


def _crowded(labels: Sequence[str]) -> bool:
    """Whether x tick labels need rotating to stay readable."""
    return len(labels) > 6 or sum(len(str(s)) for s in labels) > 48


def _rotate_xticks(ax: Axes, labels: Sequence[str]) -> None:
    if _crowded(labels):
        ax.tick_params(axis="x", labelrotation=40)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")


def confusion_matrix_figure(
    confusion: np.ndarray,
    classes: Sequence[str],
    normalize: bool = True,
    title: str | None = None,
) -> Figure:
    """Heatmap of a confusion matrix, true classes on y and predictions on x.

    Parameters
    ----------
    confusion : array-like of int, shape (n_classes, n_classes)
        Counts; rows are true classes, columns predictions (as
        ``RunResult.confusion``).
    classes : sequence of str
        Class names in row/column order.
    normalize : bool
        True: colour each cell by its share of the true class (recall along the
        diagonal) and annotate it with that percentage and the raw count. A class
        without support shows 0 % in its row. False: colour and annotate raw counts.
    title : str, optional
        Defaults to "Confusion matrix".

    Returns
    -------
    matplotlib.figure.Figure
        One heatmap axes and its colour bar.
    """
    counts = np.asarray(confusion)
    classes = [str(c) for c in classes]
    n = len(classes)
    if counts.ndim != 2 or counts.shape != (n, n):
        raise ValueError(
            f"confusion must be square with one row and column per class; got shape "
            f"{counts.shape} for {n} classes {classes}."
        )
    if normalize:
        support = counts.sum(axis=1, keepdims=True)
        values = np.divide(
            counts, support, out=np.zeros(counts.shape, dtype=float), where=support > 0
        )
        annot = np.array(
            [
                [f"{100 * values[i, j]:.0f}%\n({int(counts[i, j])})" for j in range(n)]
                for i in range(n)
            ]
        )
        vmax, cbar_label = 1.0, "share of true class (recall on the diagonal)"
    else:
        values = counts.astype(float)
        annot = np.array([[f"{int(counts[i, j])}" for j in range(n)] for i in range(n)])
        vmax, cbar_label = max(float(values.max(initial=0.0)), 1.0), "windows"

    size = (max(6.0, 1.1 * n + 2.5), max(5.0, 0.9 * n + 2.0))
    with sns.axes_style("white"):
        fig = Figure(figsize=size)
        ax = fig.subplots()
    sns.heatmap(
        values,
        annot=annot,
        fmt="",
        cmap="Blues",
        vmin=0.0,
        vmax=vmax,
        square=True,
        linewidths=0.5,
        xticklabels=classes,
        yticklabels=classes,
        cbar_kws={"label": cbar_label},
        ax=ax,
    )
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.tick_params(axis="y", labelrotation=0)
    _rotate_xticks(ax, classes)
    ax.set_title(title or "Confusion matrix")
    fig.tight_layout()
    return fig


def learning_curves_figure(
    history: Mapping[str, Sequence[float]], title: str | None = None
) -> Figure:
    """Per-epoch training curves, one panel per quantity, epochs counted from 1.

    Parameters
    ----------
    history : mapping of str to sequence of float
        Keras-style history (as ``RunResult.history``): any of ``loss``,
        ``val_loss``, ``accuracy``, ``val_accuracy``, ``learning_rate``; other keys
        are ignored. A panel is drawn for loss (``loss``/``val_loss``), accuracy
        (``accuracy``/``val_accuracy``) and, on a log scale, ``learning_rate``, each
        only when one of its keys is present. The epoch of the lowest ``val_loss``
        (whose weights early stopping restores) is marked by a vertical line in
        every panel.
    title : str, optional
        Figure title; defaults to "Learning curves".

    Returns
    -------
    matplotlib.figure.Figure
        One to three axes, sharing the epoch axis, titled "Loss", "Accuracy" and
        "Learning rate".

    Raises
    ------
    ValueError
        When ``history`` holds none of those keys.
    """
    panels = [
        (name, [(key, label) for key, label in keys if len(history.get(key, ()))])
        for name, keys in (
            ("Loss", (("loss", "train"), ("val_loss", "validation"))),
            ("Accuracy", (("accuracy", "train"), ("val_accuracy", "validation"))),
            ("Learning rate", (("learning_rate", "learning rate"),)),
        )
    ]
    panels = [(name, keys) for name, keys in panels if keys]
    if not panels:
        raise ValueError(
            "history has no loss, val_loss, accuracy, val_accuracy or learning_rate values; "
            f"got keys {sorted(history)}."
        )
    ratios = [1.0 if name == "Learning rate" else 2.5 for name, _ in panels]
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(7.0, 1.2 + 1.8 * sum(ratios) / 2.5))
        axes = fig.subplots(
            len(panels),
            1,
            sharex=True,
            squeeze=False,
            gridspec_kw={"height_ratios": ratios},
        )
    axes = axes[:, 0]

    best = None
    val_loss = np.asarray(history.get("val_loss", ()), dtype=float)
    if val_loss.size and not np.isnan(val_loss).all():
        i = int(np.nanargmin(val_loss))
        best = (i + 1, float(val_loss[i]))

    palette = sns.color_palette()
    for ax, (name, keys) in zip(axes, panels, strict=True):
        for k, (key, label) in enumerate(keys):
            values = np.asarray(history[key], dtype=float)
            epochs = np.arange(1, values.size + 1)
            style = {"drawstyle": "steps-post"} if key == "learning_rate" else {"marker": "."}
            color = palette[2] if key == "learning_rate" else palette[k]
            ax.plot(epochs, values, label=label, color=color, **style)
        if name == "Learning rate":
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_minor_locator(ticker.NullLocator())
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        elif name == "Accuracy":
            ax.set_ylim(0.0, 1.02)
        if best is not None:
            ax.axvline(
                best[0],
                color="0.3",
                linestyle="--",
                linewidth=1,
                gid=BEST_EPOCH_GID,
                label=(
                    f"best epoch {best[0]} (val_loss {best[1]:.3g})"
                    if ax is axes[0]
                    else "_nolegend_"
                ),
            )
        ax.set_title(name)
        ax.set_ylabel(name.lower())
        if name != "Learning rate":
            ax.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("epoch")
    axes[-1].xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title or "Learning curves")
    fig.tight_layout()
    return fig


def _grouped_bars(
    df: pd.DataFrame,
    x: str,
    y: str,
    hue: str,
    order: Sequence[str],
    hue_order: Sequence[str],
    fmt: str,
) -> tuple[Figure, Axes]:
    """A seaborn grouped bar chart of a tidy frame, one bar per (x, hue), values on top."""
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(max(6.0, 0.35 * len(order) * len(hue_order) + 3.0), 4.5))
        ax = fig.subplots()
    sns.barplot(
        data=df,
        x=x,
        y=y,
        hue=hue,
        order=list(order),
        hue_order=list(hue_order),
        errorbar=None,
        ax=ax,
    )
    for container in ax.containers:
        ax.bar_label(container, fmt=fmt, fontsize="x-small", padding=1)
    _rotate_xticks(ax, order)
    ax.legend(title=hue, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig, ax


def class_counts_figure(
    counts_by_split: Mapping[str, Mapping[str, int]], title: str | None = None
) -> Figure:
    """Grouped bar chart of windows per class in each split, to show class balance.

    Parameters
    ----------
    counts_by_split : mapping of str to mapping of str to int
        Split name (e.g. ``train``, ``val``, ``test``) to class name to window count,
        as ``RunResult.data["train_class_counts"]`` and friends. Splits keep their
        order; classes appear in first-seen order; a class missing from a split
        counts 0 there.
    title : str, optional
        Defaults to "Windows per class".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: classes on x, one bar per split (in split order) per class, each
        labelled with its count.
    """
    if not counts_by_split:
        raise ValueError("counts_by_split is empty; pass at least one split's class counts.")
    splits = [str(s) for s in counts_by_split]
    classes = list(dict.fromkeys(str(c) for counts in counts_by_split.values() for c in counts))
    if not classes:
        raise ValueError("counts_by_split has no classes in any split.")
    df = pd.DataFrame(
        [
            {"split": str(split), "class": c, "windows": int(counts.get(c, 0))}
            for split, counts in counts_by_split.items()
            for c in classes
        ]
    )
    fig, ax = _grouped_bars(df, "class", "windows", "split", classes, splits, "%d")
    ax.set_xlabel("class")
    ax.set_ylabel("windows")
    ax.set_title(title or "Windows per class")
    fig.tight_layout()
    return fig


def per_class_figure(
    metrics: Mapping[str, float], classes: Sequence[str], title: str | None = None
) -> Figure:
    """Bars of precision, recall and F1 for each class.

    Parameters
    ----------
    metrics : mapping of str to float
        Flat metric names (as ``RunResult.metrics``): ``<class>_precision``,
        ``<class>_recall`` and ``<class>_f1_score`` for every class; other keys are
        ignored.
    classes : sequence of str
        Class names, in the order drawn.
    title : str, optional
        Defaults to "Precision, recall and F1 per class".

    Returns
    -------
    matplotlib.figure.Figure
        One axes: classes on x, three bars per class (precision, recall, F1, in that
        order), each labelled with its value; y from 0 to 1.

    Raises
    ------
    ValueError
        When a class lacks one of the three metrics; the message lists them.
    """
    classes = [str(c) for c in classes]
    if not classes:
        raise ValueError("classes is empty; pass the class names whose metrics to draw.")
    missing = [f"{c}_{m}" for c in classes for m in PER_CLASS_METRICS if f"{c}_{m}" not in metrics]
    if missing:
        raise ValueError(f"metrics lacks {missing}; expected <class>_precision/_recall/_f1_score.")
    df = pd.DataFrame(
        [
            {"class": c, "metric": _METRIC_LABELS[m], "score": float(metrics[f"{c}_{m}"])}
            for c in classes
            for m in PER_CLASS_METRICS
        ]
    )
    hue_order = [_METRIC_LABELS[m] for m in PER_CLASS_METRICS]
    fig, ax = _grouped_bars(df, "class", "score", "metric", classes, hue_order, "%.2f")
    ax.set_ylim(0.0, 1.1)
    ax.set_xlabel("class")
    ax.set_ylabel("score")
    ax.set_title(title or "Precision, recall and F1 per class")
    fig.tight_layout()
    return fig
