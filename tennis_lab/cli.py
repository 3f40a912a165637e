"""The ``tennis-lab`` command (also ``python -m tennis_lab``): parsing and calling only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tennis_lab import __version__
from tennis_lab.demo import (
    DEMO_DIFFICULTY,
    DEMO_PLAYERS,
    DEMO_SECONDS_PER_VIDEO,
    DEMO_SEED,
    DEMO_VIDEOS_PER_PLAYER,
    DIFFICULTIES,
)
from tennis_lab.errors import TennisLabError


def _data_demo(args: argparse.Namespace) -> int:
    from tennis_lab.demo import check_demo_args, make_demo_dataset
    from tennis_lab.poses import format_summary, load_dataset

    settings = dict(
        seed=args.seed,
        n_players=args.players,
        videos_per_player=args.videos,
        seconds_per_video=args.seconds,
        difficulty=args.difficulty,
    )
    try:
        check_demo_args(args.dir, **settings)
        root = make_demo_dataset(args.dir, **settings, progress=True)
    except OSError as exc:
        print(f"error: cannot write the demo dataset to {args.dir}: {exc}", file=sys.stderr)
        return 2
    print(format_summary(load_dataset(root).summary()))
    return 0


def _data_summary(args: argparse.Namespace) -> int:
    import warnings

    from tennis_lab.poses import format_summary, load_dataset

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_dataset(args.dir)
    print(format_summary(dataset.summary()))
    for warning in caught:  # e.g. recordings without any pose
        print(f"warning: {warning.message}", file=sys.stderr)
    return 0


def _data_import(args: argparse.Namespace) -> int:
    from tennis_lab import importers
    from tennis_lab.poses import format_summary, load_dataset

    importer = (
        importers.import_mediapipe_npz
        if args.format == "mediapipe"
        else importers.import_keypoint_csv
    )
    report = importer(
        args.source, args.dest, fps=args.fps, videos=args.videos, overwrite=args.overwrite
    )
    print(report.format())
    if args.annotations:
        copied = importers.copy_annotations(args.annotations, args.dest, overwrite=args.overwrite)
        print(
            f"Annotations: {copied.strokes} strokes copied to {', '.join(map(str, copied.written))}"
        )
        for item in copied.skipped:
            print(f"  skipped {item.count} x {item.reason} ({item.source})")
        print()
        print(format_summary(load_dataset(args.dest).summary()))
    return 0


def _grid(args: argparse.Namespace) -> int:
    from tennis_lab.search import run_command

    return run_command(args)


def _report(args: argparse.Namespace) -> int:
    from tennis_lab.report import run_command

    return run_command(args)


def _predict(args: argparse.Namespace) -> int:
    from tennis_lab.predict import predict_command

    return predict_command(args)


def _evaluate(args: argparse.Namespace) -> int:
    from tennis_lab.predict import evaluate_command

    return evaluate_command(args)


def _promote(args: argparse.Namespace) -> int:
    from tennis_lab.predict import promote_command

    return promote_command(args)


def _grids(args: argparse.Namespace) -> int:
    from tennis_lab.grids import main as list_grids

    return list_grids()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tennis-lab``: its commands, each with its own options."""
    parser = argparse.ArgumentParser(
        prog="tennis-lab",
        description="Find the best LSTM for tennis stroke recognition from pose sequences.",
    )
    parser.add_argument("--version", action="version", version=f"tennis-lab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_model_commands(commands)
    _add_data_commands(commands)
    return parser


def _add_model_commands(commands) -> None:
    """``grid``, ``grids``, ``report``, ``predict``, ``evaluate``, ``promote``."""
    from tennis_lab.search import add_arguments as add_search_arguments

    grid = commands.add_parser(
        "grid", help="run a grid or random search (one notebook per combination)"
    )
    add_search_arguments(grid)
    grid.set_defaults(func=_grid)
    grids_cmd = commands.add_parser("grids", help="list the predefined grids and their sizes")
    grids_cmd.set_defaults(func=_grids)
    from tennis_lab.report import add_arguments as add_report_arguments

    report = commands.add_parser("report", help="write the HTML report of a search")
    add_report_arguments(report)
    report.set_defaults(func=_report)

    from tennis_lab.predict import (
        add_evaluate_arguments,
        add_predict_arguments,
        add_promote_arguments,
    )

    predict = commands.add_parser(
        "predict", help="detect strokes in recordings with a trained model (the champion)"
    )
    add_predict_arguments(predict)
    predict.set_defaults(func=_predict)
    evaluate = commands.add_parser(
        "evaluate", help="event-level scores of a model on an annotated dataset"
    )
    add_evaluate_arguments(evaluate)
    evaluate.set_defaults(func=_evaluate)
    promote = commands.add_parser("promote", help="make a run's model the registry's champion")
    add_promote_arguments(promote)
    promote.set_defaults(func=_promote)


def _add_data_commands(commands) -> None:
    """``data demo``, ``data summary``, ``data import``."""
    data = commands.add_parser("data", help="create, inspect and import pose datasets")
    data_cmds = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    demo = data_cmds.add_parser("demo", help="write the synthetic demo dataset to DIR")
    demo.add_argument("dir", type=Path, help="dataset folder to create")
    demo.add_argument(
        "--difficulty",
        default=DEMO_DIFFICULTY,
        metavar="{standard,hard}",
        help="standard (default): the demo a classifier nearly saturates; hard: more players "
        "and styles, any camera angle, look-alike strokes, noisier and missing keypoints",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"random seed (default {DEMO_SEED}; hard: {DIFFICULTIES['hard'].seed})",
    )
    demo.add_argument(
        "--players",
        type=int,
        default=None,
        help=f"players (default {DEMO_PLAYERS}; hard: {DIFFICULTIES['hard'].players})",
    )
    demo.add_argument(
        "--videos",
        type=int,
        default=DEMO_VIDEOS_PER_PLAYER,
        help=f"videos per player (default {DEMO_VIDEOS_PER_PLAYER})",
    )
    demo.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=f"seconds per video (default {DEMO_SECONDS_PER_VIDEO:g}; "
        f"hard: {DIFFICULTIES['hard'].seconds:g})",
    )
    demo.set_defaults(func=_data_demo)

    summary = data_cmds.add_parser("summary", help="videos, frames, strokes and what was skipped")
    summary.add_argument("dir", type=Path, help="dataset folder")
    summary.set_defaults(func=_data_summary)

    _add_import_command(data_cmds)


def _add_import_command(data_cmds) -> None:
    """``data import FORMAT SOURCE DEST``."""
    imp = data_cmds.add_parser("import", help="convert pose-extraction output into a dataset")
    imp.add_argument(
        "format",
        choices=["mediapipe", "csv"],
        help="mediapipe: npz files with landmarks (frames, 60) and fps; "
        "csv: one keypoint CSV per video with <landmark>_<channel> columns",
    )
    imp.add_argument("source", type=Path, help="a file or a folder of files")
    imp.add_argument("dest", type=Path, help="dataset folder to write (poses/ inside)")
    imp.add_argument(
        "--fps",
        type=float,
        default=None,
        help="frame rate in fps: for mediapipe, used when a file has none; for csv, it "
        "overrides the files' fps column",
    )
    imp.add_argument(
        "--annotations",
        type=Path,
        default=None,
        help="annotations.csv or Label Studio JSON (file or folder) to copy into the dataset",
    )
    imp.add_argument(
        "--videos",
        type=Path,
        default=None,
        help="videos.csv (video_id, player, handedness, session) to check against the "
        "recordings and copy into the dataset",
    )
    imp.add_argument(
        "--overwrite",
        action="store_true",
        help="replace different annotation or videos.csv files already there",
    )
    imp.set_defaults(func=_data_import)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TennisLabError as exc:  # every error raised on purpose: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status


if __name__ == "__main__":
    sys.exit(main())
