"""What every importer shares: the source files, the fps checks, the report, and the
one write step that converts and checks every source before it writes any."""

from __future__ import annotations

import math
import numbers
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tennis_lab.poses import (
    POSES_DIR,
    VIDEOS_CSV,
    DataFormatError,
    Recording,
    Skipped,
    read_videos_csv,
    write_recording,
)

# The fix named by every error about a missing or bad frame rate.
FPS_FIX = "pass --fps N (fps=N in Python), N being the video's frame rate, e.g. --fps 30."

# What an importer reads: a folder, one file, or a list of files.
Sources = str | os.PathLike | Iterable[str | os.PathLike]


@dataclass
class ImportReport:
    """What an importer did.

    Attributes
    ----------
    dest : Path
        The dataset folder written to (recordings under ``dest/poses/``).
    imported : list of str
        Video ids written, in source order.
    frames, missing_frames : dict of str to int
        Per video: frames, and frames without a pose (all NaN).
    fps : dict of str to float
        Per video: the frame rate stored.
    layout : dict of str to str
        Per video: the source layout, in words.
    skipped : list of Skipped
        Source files not imported, each with the reason.
    notes : list of str
        Decisions worth knowing (an fps argument not used, a replaced file, ...).
    videos_csv : Path or None
        The ``videos.csv`` written into the dataset (``videos=``), else None.
    videos_described : int
        Recordings of the dataset that ``videos.csv`` has a line for.
    """

    dest: Path
    imported: list[str] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)
    missing_frames: dict[str, int] = field(default_factory=dict)
    fps: dict[str, float] = field(default_factory=dict)
    layout: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    videos_csv: Path | None = None
    videos_described: int = 0

    def format(self) -> str:
        """Human-readable text of the report."""
        lines = [f"Imported {len(self.imported)} video(s) into {self.dest / POSES_DIR}"]
        width = max((len(v) for v in self.imported), default=0)
        for vid in self.imported:
            lines.append(
                f"  {vid:<{width}}  {self.frames[vid]:6d} frames, {self.missing_frames[vid]:5d} "
                f"without a pose, {self.fps[vid]:g} fps  [{self.layout[vid]}]"
            )
        if self.skipped:
            lines.append(f"Skipped {sum(s.count for s in self.skipped)}:")
            lines += [f"  {s.source}: {s.reason}" for s in self.skipped]
        else:
            lines.append("Skipped:     nothing")
        if self.videos_csv is not None:
            lines.append(
                f"Videos file: {self.videos_csv} ({self.videos_described} video(s) described)"
            )
        if self.notes:
            lines.append("Notes:")
            lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


@dataclass
class Converted:
    """One source file converted: its recording, its layout in words, and notes."""

    source: Path
    recording: Recording
    layout: str
    notes: list[str] = field(default_factory=list)


def check_fps_argument(fps: float | None) -> None:
    """Raise DataFormatError unless ``fps`` is None or a positive finite number."""
    if fps is None:
        return
    if (
        isinstance(fps, bool)
        or not isinstance(fps, numbers.Real)
        or not math.isfinite(fps)
        or fps <= 0
    ):
        raise DataFormatError(
            "fps", f"is {fps!r}; it must be a positive number of frames per second.", FPS_FIX
        )


def source_files(sources: Sources, suffix: str) -> tuple[list[Path], list[Skipped]]:
    """Files to import: every ``*suffix`` of a folder, or the given file(s)."""
    if isinstance(sources, str | os.PathLike):
        folder = Path(sources)
        if folder.is_dir():
            entries = sorted(folder.iterdir())
            files = [e for e in entries if e.is_file() and e.suffix.lower() == suffix]
            skipped = [
                Skipped(
                    str(e),
                    "a folder (not searched; pass it to import its files)"
                    if e.is_dir()
                    else f"not a {suffix} file",
                )
                for e in entries
                if e not in files
            ]
            if not files:
                raise DataFormatError(
                    folder,
                    f"no *{suffix} files found (it holds {len(entries)} other entries).",
                    f"give the folder holding one <video_id>{suffix} per video, or a list of "
                    "files.",
                )
            return files, skipped
        sources = [folder]
    files = [Path(s) for s in sources]
    if not files:
        raise DataFormatError(
            "sources", "no files given.", f"pass a folder or a list of {suffix} files."
        )
    for f in files:
        if not f.is_file():
            raise DataFormatError(f, "does not exist or is not a file.", "check the path.")
    return files, []


def import_recordings(
    files: list[Path],
    skipped: list[Skipped],
    dest: str | os.PathLike,
    convert: Callable[[Path], Converted | str],
    videos: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> ImportReport:
    """Convert every file (a str result is a skip reason), check, then write all."""
    dest = Path(dest)
    if videos is not None and not Path(videos).is_file():
        raise DataFormatError(videos, "does not exist or is not a file.", "check the path.")
    if dest.exists() and not dest.is_dir():
        raise DataFormatError(dest, "is a file; the destination must be a dataset folder.")
    poses_dir = dest / POSES_DIR
    report = ImportReport(dest=dest, skipped=list(skipped))
    seen: dict[str, Path] = {}
    converted: list[Converted] = []
    for f in files:
        vid = f.stem
        if vid in seen:
            raise DataFormatError(
                f,
                f"has the same video id {vid!r} as {seen[vid]} (the id is the file name "
                "without extension).",
                "rename one of them, or import them into different dataset folders.",
            )
        seen[vid] = f
        out = poses_dir / f"{vid}.npz"
        if out.exists() and out.resolve() == f.resolve():
            raise DataFormatError(
                f,
                "is the file its import would be written to; importing would replace the source.",
                "import into another dataset folder.",
            )
        result = convert(f)
        if isinstance(result, str):
            report.skipped.append(Skipped(str(f), result))
        else:
            converted.append(result)

    if converted:
        first = converted[0]
        key = (first.recording.landmark_names, first.recording.channel_names)
        for c in converted[1:]:
            if (c.recording.landmark_names, c.recording.channel_names) != key:
                raise DataFormatError(
                    c.source,
                    f"its layout ({c.layout}) differs from {first.source.name}'s ({first.layout}); "
                    "every recording of a dataset must share one layout.",
                    "import files of one layout into one dataset folder.",
                )

    videos_plan = None
    if videos is not None:
        videos_plan = _check_videos_csv(Path(videos), dest, converted, overwrite)

    for c in converted:
        rec = c.recording
        out = poses_dir / f"{rec.video_id}.npz"
        if out.exists():
            report.notes.append(f"{rec.video_id}: replaced the existing {out}.")
        write_recording(rec, out)
        report.imported.append(rec.video_id)
        report.frames[rec.video_id] = rec.n_frames
        report.missing_frames[rec.video_id] = rec.missing_frames
        report.fps[rec.video_id] = rec.fps
        report.layout[rec.video_id] = c.layout
        report.notes.extend(f"{rec.video_id}: {n}" for n in c.notes)
    if videos_plan is not None:
        source, target, described, undescribed = videos_plan
        if not (target.exists() and target.resolve() == source.resolve()):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        report.videos_csv = target
        report.videos_described = described
        if undescribed:
            report.notes.append(
                f"{VIDEOS_CSV}: no line for {len(undescribed)} video(s) "
                f"({', '.join(undescribed[:5])}{' ...' if len(undescribed) > 5 else ''}); "
                "their player and handedness are unknown."
            )
    return report


def _check_videos_csv(
    source: Path, dest: Path, converted: list[Converted], overwrite: bool
) -> tuple[Path, Path, int, list[str]]:
    """Validate ``source`` against the recordings the dataset will hold; plan its copy.

    The recordings are those imported now and those already in ``dest/poses/``.
    Returns (source, target, videos described, video ids without a line).
    """
    existing = {f.stem for f in (dest / POSES_DIR).glob("*.npz")}
    video_ids = existing | {c.recording.video_id for c in converted}
    table = read_videos_csv(source, video_ids)
    target = dest / VIDEOS_CSV
    if (
        target.exists()
        and not overwrite
        and target.resolve() != source.resolve()
        and target.read_bytes() != source.read_bytes()
    ):
        raise DataFormatError(
            target,
            f"already exists and differs from {source}.",
            "pass overwrite=True (--overwrite) to replace it, or merge the two by hand.",
        )
    described = set(table["video_id"])
    return source, target, len(described), sorted(video_ids - described)


def fps_value(path: Path, value: object, where: str) -> float:
    """A positive finite fps read from a file, else DataFormatError."""
    try:
        fps = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        fps = math.nan
    if not (math.isfinite(fps) and fps > 0):
        raise DataFormatError(
            path, f"{where} is {value!r}; expected one positive number.", "store the video's fps."
        )
    return fps
