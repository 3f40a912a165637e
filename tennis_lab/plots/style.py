"""Styling shared by the figures: tick labels that stay readable when there are many."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes


def crowded(labels: Sequence[str]) -> bool:
    """Whether x tick labels need rotating to stay readable."""
    return len(labels) > 6 or sum(len(str(s)) for s in labels) > 48


def rotate_xticks(ax: Axes, labels: Sequence[str]) -> None:
    """Rotate ``ax``'s x tick labels when :func:`crowded` says they need it."""
    if crowded(labels):
        ax.tick_params(axis="x", labelrotation=40)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
