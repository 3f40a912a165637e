"""A search's figures, from its results table: how parameters relate to scores
(:mod:`.parameters`), what scores cost (:mod:`.tradeoffs`), warning signs across runs
(:mod:`.checks`) and where the runs stand (:mod:`.standings`).

Parameter values are ordered and labelled as everywhere else in the package
(:func:`tennis_lab.results.ordered_values`, :func:`tennis_lab.results.value_label`).
"""

from tennis_lab.plots.search.checks import (
    FLAGGED_GID,
    class_recall_figure,
    overfitting_figure,
)
from tennis_lab.plots.search.parameters import (
    CAUTION_GID,
    importance_figure,
    interaction_heatmap,
    metric_by_value_figure,
)
from tennis_lab.plots.search.standings import (
    BEHIND_GID,
    INTERVAL_GID,
    TIED_GID,
    finalists_figure,
    ranking_figure,
)
from tennis_lab.plots.search.table import ERRORBAR_GID, FLAG_COLOR, HIGHLIGHT_GID, STD_SUFFIX
from tennis_lab.plots.search.tradeoffs import PARETO_FRONT_GID, pareto_figure, tradeoff_figure
from tennis_lab.results import SELECTION_METRIC

__all__ = [
    "BEHIND_GID",
    "CAUTION_GID",
    "ERRORBAR_GID",
    "FLAGGED_GID",
    "FLAG_COLOR",
    "HIGHLIGHT_GID",
    "INTERVAL_GID",
    "PARETO_FRONT_GID",
    "SELECTION_METRIC",
    "STD_SUFFIX",
    "TIED_GID",
    "class_recall_figure",
    "finalists_figure",
    "importance_figure",
    "interaction_heatmap",
    "metric_by_value_figure",
    "overfitting_figure",
    "pareto_figure",
    "ranking_figure",
    "tradeoff_figure",
]
