"""Scores that mean what they say, arrays in and arrays out (no I/O, no training).

Modules
-------
splits
    Grouped train / validation / test splits and cross-validation folds; a split
    never puts one group (video, player or session) in two parts.
scoring
    Stroke-level scoring, the one macro-F1 rule and per-group scores.
events
    Strokes detected on continuous recordings, matched to the annotated ones.
statistics
    Student-t intervals, ties with the best, the paired bootstrap and the
    finalists' verdict.
diagnostics
    Weak groups, the new-player estimate, and a split's and a run's warnings.
inputs
    :class:`EvaluationError` and the checks the modules share.

This package imports nothing else of ``tennis_lab`` but its errors; every public
name of its modules is importable from ``tennis_lab.evaluation``.
"""

from tennis_lab.evaluation.diagnostics import (
    CEILING,
    THIN_VALIDATION,
    VAL_TEST_GAP,
    WEAK_GROUP_MARGIN,
    new_group_estimate,
    new_group_text,
    run_warnings,
    split_warnings,
    weak_group_lines,
    weak_groups,
)
from tennis_lab.evaluation.events import (
    default_min_frames,
    detect_strokes,
    event_scores,
    frame_probabilities,
    match_events,
    score_detections,
)
from tennis_lab.evaluation.inputs import (
    EvaluationError,
)
from tennis_lab.evaluation.scoring import (
    accuracy,
    aggregate_strokes,
    group_scores,
    macro_f1,
    mean_std,
    predict_strokes,
)
from tennis_lab.evaluation.splits import (
    LEAVE_ONE_OUT,
    PARTS,
    SPLIT_BY,
    Split,
    check_evaluation_params,
    check_folds,
    check_split_by,
    group_folds,
    make_folds,
    make_split,
    make_splits,
    resolve_split_by,
    split_by_group,
    video_groups,
)
from tennis_lab.evaluation.statistics import (
    BOOTSTRAP_LEVEL,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_TEST,
    INTERVAL_LEVEL,
    TIE_LEVEL,
    TIE_TEST,
    mean_interval,
    paired_bootstrap,
    tie_method,
    tied_with_best,
    verdict,
    worse_than_best_p,
)

__all__ = [
    "EvaluationError",
    "SPLIT_BY",
    "PARTS",
    "LEAVE_ONE_OUT",
    "Split",
    "check_split_by",
    "resolve_split_by",
    "video_groups",
    "split_by_group",
    "group_folds",
    "check_folds",
    "check_evaluation_params",
    "make_split",
    "make_folds",
    "make_splits",
    "macro_f1",
    "accuracy",
    "aggregate_strokes",
    "predict_strokes",
    "group_scores",
    "mean_std",
    "default_min_frames",
    "frame_probabilities",
    "detect_strokes",
    "match_events",
    "event_scores",
    "score_detections",
    "mean_interval",
    "worse_than_best_p",
    "tied_with_best",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_LEVEL",
    "BOOTSTRAP_TEST",
    "paired_bootstrap",
    "INTERVAL_LEVEL",
    "TIE_LEVEL",
    "TIE_TEST",
    "tie_method",
    "verdict",
    "WEAK_GROUP_MARGIN",
    "VAL_TEST_GAP",
    "CEILING",
    "THIN_VALIDATION",
    "weak_groups",
    "new_group_estimate",
    "weak_group_lines",
    "new_group_text",
    "split_warnings",
    "run_warnings",
]
