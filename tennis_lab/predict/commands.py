"""The ``tennis-lab predict``, ``evaluate`` and ``promote`` commands: their flags, their
console lines and files, and their exit status (2 for an input or model they cannot use)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from tennis_lab.errors import TennisLabError
from tennis_lab.poses import Recording, load_dataset, read_annotations_csv
from tennis_lab.predict.events import (
    DEFAULT_TOLERANCE_SECONDS,
    annotated_strokes,
    event_evaluation,
    format_scores,
)
from tennis_lab.predict.model import (
    DEFAULT_MODEL,
    PredictError,
    StrokeModel,
    load_model,
    split_videos,
)
from tennis_lab.predict.output import _figure_note, _plot_paths, _write_timeline
from tennis_lab.predict.recording import (
    check_layout,
    handedness_of,
    handedness_warning,
    no_idle_note,
    predict_recording,
    read_recordings,
)
from tennis_lab.tracking import CHAMPION_ALIAS, DEFAULT_MODEL_NAME


def _model_arguments(parser) -> None:
    parser.add_argument(
        "--model", default=None, metavar="MODEL",
        help=f"a run id, runs:/RUN_ID/model, models:/NAME@ALIAS or a model folder "
        f"(default {DEFAULT_MODEL})",
    )  # fmt: skip
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow store (default: sqlite mlflow.db)"
    )


def _detection_arguments(parser) -> None:
    parser.add_argument(
        "--threshold", type=float, default=0.0,
        help="a frame is a stroke only when its class is at least this probable (0-1)",
    )  # fmt: skip
    parser.add_argument(
        "--min-frames", type=int, default=None,
        help="shortest stroke in the model's frames (default: a third of a window)",
    )  # fmt: skip
    parser.add_argument(
        "--stride", type=int, default=None,
        help="frames between windows (default: the model's training stride)",
    )  # fmt: skip


def add_predict_arguments(parser) -> None:
    """Flags of ``tennis-lab predict``."""
    parser.add_argument("recordings", nargs="+", metavar="RECORDING", help="pose .npz files")
    _model_arguments(parser)
    parser.add_argument(
        "--output", default=None,
        help="stroke timeline CSV (default output/predictions/timeline_<time>.csv)",
    )  # fmt: skip
    parser.add_argument(
        "--windows", default=None, metavar="CSV", help="also write per-window probabilities"
    )
    parser.add_argument(
        "--plot", default=None, metavar="PNG",
        help="timeline figure; with several recordings one file each (<name>_<video>.png)",
    )  # fmt: skip
    parser.add_argument(
        "--annotations", default=None, metavar="CSV",
        help="annotations.csv of these recordings: drawn under the detections in --plot",
    )  # fmt: skip
    hands = parser.add_mutually_exclusive_group()
    hands.add_argument(
        "--left-handed", action="store_true", help="the player is left-handed: mirror first"
    )
    hands.add_argument(
        "--videos", default=None, metavar="CSV",
        help="videos.csv naming each recording's handedness",
    )  # fmt: skip
    _detection_arguments(parser)


def _check_detection_args(args) -> None:
    if not 0 <= args.threshold <= 1:
        raise PredictError(f"--threshold must be in [0, 1]; got {args.threshold:g}.")
    if args.min_frames is not None and args.min_frames < 1:
        raise PredictError(f"--min-frames must be at least 1; got {args.min_frames}.")
    if args.stride is not None and args.stride < 1:
        raise PredictError(f"--stride must be at least 1; got {args.stride}.")


def _handedness_notes(model: StrokeModel, args, recordings, hands: Mapping) -> dict[str, str]:
    """Video id -> the warning for each recording read as right-handed for want of better."""
    if args.left_handed or not model.mirrors:
        return {}
    return {
        rec.video_id: handedness_warning(rec.video_id, args.videos)
        for _, rec in recordings
        if hands.get(rec.video_id) not in ("left", "right")
    }


def _predict_one(model: StrokeModel, args, path: Path, rec: Recording, hand, annotations, out):
    """One recording's :class:`Timeline`, with its annotations when given."""
    timeline = predict_recording(
        model, rec, left_handed=hand == "left" and model.mirrors, stride=args.stride,
        threshold=args.threshold, min_frames=args.min_frames, source=path, handedness=hand,
    )  # fmt: skip
    if annotations is not None:
        rows = annotations[annotations["video_id"] == rec.video_id]
        known = rows["label"].isin(model.classes)
        if not known.all():
            print(
                f"Note: {int((~known).sum())} annotations of {rec.video_id} have labels the "
                f"model does not know ({sorted(set(rows['label'][~known]))}); not drawn.",
                file=out,
            )
        timeline.annotated = annotated_strokes(
            rows[known], model.classes, timeline.timeline_fps / rec.fps,
            len(timeline.frame_probs),
        )  # fmt: skip
    return timeline


def predict_command(args, out=None) -> int:
    """``tennis-lab predict``: stroke timelines of recordings; returns the exit status."""
    import sys
    import time

    from tennis_lab import paths

    out = out or sys.stdout
    try:
        _check_detection_args(args)
        recordings = read_recordings(args.recordings)  # every file read before the model
        hands = handedness_of([r for _, r in recordings], args.videos)
        annotations = read_annotations_csv(args.annotations) if args.annotations else None
        model = load_model(args.model, args.tracking_uri)
        for path, rec in recordings:  # every layout checked before any prediction
            check_layout(model, rec, path)
    except TennisLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"Model: {model.source}  ({', '.join(model.classes)}; windows of {model.window_size} "
        f"frames{f' at {model.timeline_fps:g} fps' if model.timeline_fps else ''})",
        file=out,
    )
    note = no_idle_note(model, args.threshold)
    if note:
        print(f"Note: {note}", file=out)
    unsure = _handedness_notes(model, args, recordings, hands)
    for warning in unsure.values():
        print(f"Warning: {warning}", file=out)
    timelines, seconds, started = [], 0.0, time.perf_counter()
    for path, rec in recordings:
        hand = "left" if args.left_handed else hands.get(rec.video_id)
        try:
            timeline = _predict_one(model, args, path, rec, hand, annotations, out)
        except PredictError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        timelines.append(timeline)
        seconds += rec.duration_seconds
        counts = timeline.strokes["label"].value_counts()
        found = ", ".join(f"{n} {label}" for label, n in counts.items()) or "no strokes"
        print(
            f"{path.name}: {rec.duration_seconds:.1f} s at {rec.fps:g} fps"
            f"{' (mirrored: left-handed)' if timeline.mirrored else ''}: {found}",
            file=out,
        )
    wall = time.perf_counter() - started
    output = (
        Path(args.output)
        if args.output
        else paths.output_dir() / "predictions" / f"timeline_{time.strftime('%Y%m%d_%H%M%S')}.csv"
    )
    _write_timeline(timelines, model, [n for n in (note, *unsure.values()) if n], output, out)
    if args.windows:
        table = pd.concat([t.window_table() for t in timelines], ignore_index=True)
        Path(args.windows).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.windows, index=False)
        print(f"Window probabilities ({len(table)} windows): {args.windows}", file=out)
    if args.plot:
        from tennis_lab.plots import timeline_figure

        for timeline, target in zip(
            timelines, _plot_paths(args.plot, [t.video_id for t in timelines]), strict=True
        ):
            figure = timeline_figure(
                timeline.frame_probs, timeline.classes, timeline.timeline_fps,
                detected=timeline.detected, annotated=timeline.annotated,
                title=f"{timeline.video_id}: strokes detected",
                note=_figure_note(note, unsure.get(timeline.video_id)),
            )  # fmt: skip
            target.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(target, dpi=110, bbox_inches="tight")
            print(f"Timeline figure: {target}", file=out)
    print(
        f"{seconds:.1f} s of recordings in {wall:.1f} s ({seconds / wall:.0f}x real time)", file=out
    )
    return 0


def add_evaluate_arguments(parser) -> None:
    """Flags of ``tennis-lab evaluate``."""
    parser.add_argument("dataset", help="dataset folder with annotations (and videos.csv)")
    _model_arguments(parser)
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--video", action="append", default=None, metavar="VIDEO_ID",
        help="evaluate only this video (repeatable; default every recording)",
    )  # fmt: skip
    which.add_argument(
        "--split", choices=("test", "val"), default=None,
        help="evaluate only the videos the model's run held out for this split "
        "(test: never seen in training or selection)",
    )  # fmt: skip
    parser.add_argument(
        "--tolerance", type=float, default=DEFAULT_TOLERANCE_SECONDS,
        help="seconds a detection may lie beside an annotated stroke and still match "
        f"(default {DEFAULT_TOLERANCE_SECONDS:g}; overlapping ones always match)",
    )  # fmt: skip
    parser.add_argument("--output", default=None, help="write the scores as JSON here")
    parser.add_argument(
        "--plots", default=None, metavar="DIR",
        help="write each recording's timeline figure (detected and annotated) here",
    )  # fmt: skip
    _detection_arguments(parser)


def _split_in_dataset(model: StrokeModel, split: str, data_dir, video_ids) -> list[str]:
    """The run's ``split`` videos, every one of them a recording of the dataset."""
    videos = split_videos(model, split)
    missing = sorted(set(videos) - set(video_ids))
    if missing:
        raise PredictError(
            f"{data_dir} has no recordings for {len(missing)} of the {len(videos)} {split} "
            f"videos of run {model.run_id} ({missing[:6]}): evaluate on the dataset the model "
            "was trained on, or choose videos with --video."
        )
    return videos


def evaluate_command(args, out=None) -> int:
    """``tennis-lab evaluate``: event-level scores of a model on a dataset."""
    import json
    import sys

    out = out or sys.stdout
    try:
        _check_detection_args(args)
        if args.tolerance < 0:
            raise PredictError(f"--tolerance must be >= 0 seconds; got {args.tolerance:g}.")
        if not Path(args.dataset).is_dir():
            raise PredictError(f"dataset folder {args.dataset} does not exist.")
        dataset = load_dataset(args.dataset)  # a bad dataset fails before the model is fetched
        model = load_model(args.model, args.tracking_uri)
        print(f"Model: {model.source}", file=out)
        note = no_idle_note(model, args.threshold)
        if note:
            print(f"Note: {note}", file=out)
        videos = args.video
        if args.split:
            videos = _split_in_dataset(model, args.split, args.dataset, dataset.video_ids)
            print(f"The {args.split} videos of run {model.run_id}: {', '.join(videos)}", file=out)
        scores = event_evaluation(
            model, args.dataset, videos=videos, tolerance_seconds=args.tolerance,
            threshold=args.threshold, min_frames=args.min_frames, stride=args.stride,
        )  # fmt: skip
    except TennisLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_scores(scores), file=out)
    if args.output:
        plain = {k: v for k, v in scores.items() if k != "timelines"}
        plain["confusion"] = np.asarray(plain["confusion"]).tolist()
        plain["model"] = model.source
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(
            json.dumps(plain, indent=2, default=lambda v: None if v is None else float(v))
        )
        print(f"Scores: {args.output}", file=out)
    if args.plots:
        from tennis_lab.plots import timeline_figure

        folder = Path(args.plots)
        folder.mkdir(parents=True, exist_ok=True)
        for video_id, timeline in scores["timelines"].items():
            figure = timeline_figure(
                timeline.frame_probs, timeline.classes, timeline.timeline_fps,
                detected=timeline.detected, annotated=timeline.annotated,
                title=f"{video_id}: detected and annotated strokes", note=_figure_note(note),
            )  # fmt: skip
            figure.savefig(folder / f"{video_id}.png", dpi=110, bbox_inches="tight")
        print(f"Timeline figures: {folder}/<video id>.png", file=out)
    return 0


def add_promote_arguments(parser) -> None:
    """Flags of ``tennis-lab promote``."""
    parser.add_argument("run_id", help="the run whose model becomes the champion")
    parser.add_argument(
        "--name", default=DEFAULT_MODEL_NAME,
        help=f"registered model name (default {DEFAULT_MODEL_NAME})",
    )  # fmt: skip
    parser.add_argument(
        "--alias", default=CHAMPION_ALIAS, help=f"alias to set (default {CHAMPION_ALIAS})"
    )
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow store (default: sqlite mlflow.db)"
    )


def promote_command(args, out=None) -> int:
    """``tennis-lab promote``: point the alias at a run's model (registered if needed)."""
    import sys

    from tennis_lab.tracking import TrackingError, model_version_by_alias, register_model

    out = out or sys.stdout
    before = model_version_by_alias(args.name, args.alias, args.tracking_uri)
    try:
        version = register_model(
            args.run_id, args.name, args.alias, tags={"promoted_by": "tennis-lab promote"},
            tracking_uri=args.tracking_uri,
        )  # fmt: skip
    except TrackingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    was = f" (was version {before.version}, run {before.run_id})" if before else ""
    print(
        f"models:/{args.name}@{args.alias} -> version {version.version} (run {args.run_id}){was}",
        file=out,
    )
    return 0
