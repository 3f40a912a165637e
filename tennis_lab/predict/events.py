"""Scoring detections against annotations: a dataset's recordings predicted, their
detected strokes matched to the annotated ones, scores per class and overall."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tennis_lab import evaluation
from tennis_lab.poses import load_dataset
from tennis_lab.predict.model import PredictError, StrokeModel
from tennis_lab.predict.recording import Timeline, predict_recording
from tennis_lab.windows import IDLE, stroke_frames

# Default tolerance of event matching, in seconds (see evaluation.match_events).
DEFAULT_TOLERANCE_SECONDS = 0.25


def annotated_strokes(
    rows: pd.DataFrame, classes: Sequence[str], scale: float, n_frames: int
) -> dict[str, np.ndarray]:
    """Annotation rows of one recording on the model's timeline (as training places them).

    ``scale`` is the model's frames per recording frame and ``n_frames`` the length of
    that timeline; labels must be in ``classes``.
    """
    start, end = stroke_frames(rows["start_frame"], rows["end_frame"], scale, n_frames)
    labels = [list(classes).index(c) for c in rows["label"]]
    return {"start": start, "end": end, "label": np.array(labels, dtype=np.int64)}


def event_evaluation(
    model: StrokeModel,
    data_dir: str | Path,
    *,
    videos: Sequence[str] | None = None,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    threshold: float = 0.0,
    min_frames: int | None = None,
    stride: int | None = None,
    progress=None,
) -> dict[str, Any]:
    """Detected strokes of a dataset's recordings matched to its annotations.

    Parameters
    ----------
    model : StrokeModel
    data_dir : path
        A dataset folder (see :func:`tennis_lab.poses.load_dataset`); left-handed
        players (its videos.csv) are mirrored when the model was trained so.
    videos : sequence of str, optional
        Only these video ids (default every recording).
    tolerance_seconds : float
        A detection and an annotated stroke match when they overlap or lie at most
        this far apart (see :func:`tennis_lab.evaluation.match_events`).
    threshold, min_frames, stride
        As :func:`predict_recording`.
    progress : callable, optional
        Called with (done, total, video_id) after each recording.

    Returns
    -------
    dict
        :func:`tennis_lab.evaluation.event_scores` (``per_class``, ``overall``,
        ``macro_f1``, ``confusion``) plus ``classes``, ``videos``, ``tolerance_frames``,
        ``timelines`` (video id -> :class:`Timeline`, with ``annotated``).
    """
    dataset = load_dataset(data_dir)
    wanted = list(dataset.video_ids) if videos is None else list(videos)
    unknown = sorted(set(wanted) - set(dataset.video_ids))
    if unknown:
        raise PredictError(f"{data_dir}: no recordings for video ids {unknown[:6]}.")
    classes = model.classes
    unknown_labels = sorted(set(dataset.annotations["label"]) - set(classes))
    if unknown_labels:
        raise PredictError(
            f"{data_dir}: annotated classes {unknown_labels} are not among the model's "
            f"{list(classes)}; map them in dataset.yaml or evaluate another model."
        )
    mirror = bool(model.spec.get("mirror_left_handed", False))
    timelines: dict[str, Timeline] = {}
    tolerance_frames = 0
    for i, video_id in enumerate(wanted):
        rec = dataset.recordings[video_id]
        hand = dataset.handedness.get(video_id)
        timeline = predict_recording(
            model, rec, left_handed=mirror and hand == "left", stride=stride,
            threshold=threshold, min_frames=min_frames, source=f"{data_dir}/poses/{video_id}.npz",
            handedness=hand,
        )  # fmt: skip
        rows = dataset.annotations[dataset.annotations["video_id"] == video_id]
        timeline.annotated = annotated_strokes(
            rows, classes, timeline.timeline_fps / rec.fps, len(timeline.frame_probs)
        )
        timelines[video_id] = timeline
        tolerance_frames = int(round(tolerance_seconds * timeline.timeline_fps))
        if progress is not None:
            progress(i + 1, len(wanted), video_id)
    scores = evaluation.score_detections(
        ((t.detected, t.annotated) for t in timelines.values()),
        classes,
        tolerance=tolerance_frames,
        idle=IDLE,
    )
    scores.update(
        videos=wanted,
        tolerance_frames=tolerance_frames,
        tolerance_seconds=tolerance_seconds,
        timelines=timelines,
    )
    return scores


def scores_table(scores: Mapping[str, Any]) -> pd.DataFrame:
    """Per-class precision, recall and F1 of :func:`event_evaluation`, with the overall row."""
    rows = [{"class": name, **values} for name, values in scores["per_class"].items()]
    overall = scores["overall"]
    rows.append(
        {
            "class": "all strokes",
            "precision": overall["precision"],
            "recall": overall["recall"],
            "f1": overall["f1"],
            "detected": sum(r["detected"] for r in rows),
            "annotated": sum(r["annotated"] for r in rows),
            "matched": sum(r["matched"] for r in rows),
        }
    )
    return pd.DataFrame(rows).set_index("class")


def format_scores(scores: Mapping[str, Any]) -> str:
    """A console rendering of :func:`event_evaluation`: per class, overall, confusion."""

    def num(v: float) -> str:
        return "  n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:5.3f}"

    table = scores_table(scores)
    width = max(12, *(len(c) for c in table.index))
    lines = [
        f"Strokes of {len(scores['videos'])} recordings, matched within "
        f"{scores['tolerance_seconds']:g} s ({scores['tolerance_frames']} frames):",
        f"  {'class':<{width}} precision  recall     f1  detected  annotated",
    ]
    for name, row in table.iterrows():
        lines.append(
            f"  {name:<{width}}     {num(row['precision'])}   {num(row['recall'])}  "
            f"{num(row['f1'])}  {int(row['detected']):8d}  {int(row['annotated']):9d}"
        )
    lines.append(f"  macro F1 over annotated classes: {num(scores['macro_f1'])}")
    names = [*scores["classes"], "none"]
    cw = max(6, *(len(n) for n in names))
    lines.append("Confusion (rows: annotated, columns: detected; none: missed / spurious):")
    lines.append("  " + " " * width + "".join(f"{n:>{cw + 1}}" for n in names))
    for name, row in zip(names, np.asarray(scores["confusion"]), strict=True):
        lines.append(f"  {name:<{width}}" + "".join(f"{int(v):>{cw + 1}d}" for v in row))
    return "\n".join(lines)
