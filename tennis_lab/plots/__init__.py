"""Seaborn figures by audience, shared by the notebooks, predict and the report.

- :mod:`tennis_lab.plots.run`: a run's figures (learning curves, confusion matrix, scores
  per class and per group, windows per class), which the training notebook shows and logs;
- :mod:`tennis_lab.plots.timeline`: the prediction timeline of a recording;
- :mod:`tennis_lab.plots.search`: a search's figures from its results table (a metric by
  parameter value, Pareto front, trade-offs, overfitting, ranking, finalists);
- :mod:`tennis_lab.plots.render`: a figure drawn once as PNG bytes, to show and log alike.

Every function takes results that were already computed and returns a
:class:`matplotlib.figure.Figure`; nothing here computes a metric beyond normalising
what it is given for display. Figures are made without pyplot (``Figure`` and
``fig.subplots``): nothing is registered globally, so a long search never accumulates
open figures, and a notebook shows a figure exactly once, with ``display(fig)`` or as a
cell's last value. Of the package, figures import only :mod:`tennis_lab.results` (the
selection metric and the one ordering and label of parameter values).
"""

from tennis_lab.plots.render import RenderedFigure, render_png
from tennis_lab.plots.run import (
    BEST_EPOCH_GID,
    HANDEDNESS_COLORS,
    PER_CLASS_METRICS,
    UNKNOWN_COLOR,
    class_counts_figure,
    confusion_matrix_figure,
    group_scores_figure,
    learning_curves_figure,
    per_class_figure,
)
from tennis_lab.plots.search import (
    BEHIND_GID,
    CAUTION_GID,
    ERRORBAR_GID,
    FLAG_COLOR,
    FLAGGED_GID,
    HIGHLIGHT_GID,
    INTERVAL_GID,
    PARETO_FRONT_GID,
    SELECTION_METRIC,
    STD_SUFFIX,
    TIED_GID,
    class_recall_figure,
    finalists_figure,
    importance_figure,
    interaction_heatmap,
    metric_by_value_figure,
    overfitting_figure,
    pareto_figure,
    ranking_figure,
    tradeoff_figure,
)
from tennis_lab.plots.timeline import (
    ANNOTATED_GID,
    CAPTION_GID,
    CONFIDENCE_CAPTION,
    DETECTED_GID,
    IDLE_COLOR,
    NOTE_COLOR,
    NOTE_GID,
    PROBABILITY_CAPTION,
    SCORES_CAPTION,
    TIMELINE_MAX_WIDTH,
    UNCOVERED_GID,
    timeline_figure,
)

__all__ = [
    "ANNOTATED_GID",
    "BEHIND_GID",
    "BEST_EPOCH_GID",
    "CAPTION_GID",
    "CAUTION_GID",
    "CONFIDENCE_CAPTION",
    "DETECTED_GID",
    "ERRORBAR_GID",
    "FLAGGED_GID",
    "FLAG_COLOR",
    "HANDEDNESS_COLORS",
    "HIGHLIGHT_GID",
    "IDLE_COLOR",
    "INTERVAL_GID",
    "NOTE_COLOR",
    "NOTE_GID",
    "PARETO_FRONT_GID",
    "PER_CLASS_METRICS",
    "PROBABILITY_CAPTION",
    "RenderedFigure",
    "SCORES_CAPTION",
    "SELECTION_METRIC",
    "STD_SUFFIX",
    "TIED_GID",
    "TIMELINE_MAX_WIDTH",
    "UNCOVERED_GID",
    "UNKNOWN_COLOR",
    "class_counts_figure",
    "class_recall_figure",
    "confusion_matrix_figure",
    "finalists_figure",
    "group_scores_figure",
    "importance_figure",
    "interaction_heatmap",
    "learning_curves_figure",
    "metric_by_value_figure",
    "overfitting_figure",
    "pareto_figure",
    "per_class_figure",
    "ranking_figure",
    "render_png",
    "timeline_figure",
    "tradeoff_figure",
]
