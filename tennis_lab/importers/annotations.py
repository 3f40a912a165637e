"""Stroke annotations (an annotations CSV or Label Studio exports), checked and copied
into a dataset folder."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tennis_lab.poses import (
    ANNOTATIONS_CSV,
    LABELSTUDIO_DIR,
    DataFormatError,
    Skipped,
    read_annotations_csv,
    read_labelstudio,
)


@dataclass
class AnnotationsReport:
    """What :func:`copy_annotations` did.

    Attributes
    ----------
    written : list of Path
        Files written into the dataset (unchanged copies of the sources).
    strokes : int
        Stroke annotations the copied files hold.
    skipped : list of Skipped
        Files of a source folder that are not Label Studio exports, and what the
        Label Studio reader skips (results of other types, cancelled annotations ...).
    """

    written: list[Path] = field(default_factory=list)
    strokes: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def copy_annotations(
    src: str | os.PathLike, dest: str | os.PathLike, overwrite: bool = False
) -> AnnotationsReport:
    """Copy stroke annotations into a dataset folder, after checking they parse.

    Parameters
    ----------
    src : path
        An annotations CSV (``video_id, start_frame, end_frame, label``; copied to
        ``dest/annotations.csv``), a Label Studio JSON export, or a folder of them
        (copied to ``dest/labelstudio/``, file names kept).
    dest : path
        The dataset folder.
    overwrite : bool
        Replace a different file already there; otherwise that is an error.

    Returns
    -------
    AnnotationsReport

    Raises
    ------
    DataFormatError
        When a source does not parse (see :func:`tennis_lab.poses.read_annotations_csv`
        and :func:`tennis_lab.poses.read_labelstudio`), is of an unknown kind, or a
        different file is already at the target and ``overwrite`` is False. Nothing
        is copied then. Video ids and frame ranges are checked against the
        recordings by :func:`tennis_lab.poses.load_dataset`.
    """
    src, dest = Path(src), Path(dest)
    report = AnnotationsReport()
    if src.is_dir():
        entries = sorted(src.iterdir())
        sources = [e for e in entries if e.is_file() and e.suffix.lower() == ".json"]
        report.skipped += [
            Skipped(str(e), "not a Label Studio .json export") for e in entries if e not in sources
        ]
        if not sources:
            raise DataFormatError(
                src,
                "no Label Studio *.json exports found.",
                "give an annotations .csv, a Label Studio .json export, or a folder of exports.",
            )
    elif src.is_file():
        if src.suffix.lower() not in (".csv", ".json"):
            raise DataFormatError(
                src,
                f"has extension {src.suffix!r}; expected an annotations .csv or a Label "
                "Studio .json.",
                "export annotations as CSV (video_id,start_frame,end_frame,label) or as "
                "Label Studio JSON.",
            )
        sources = [src]
    else:
        raise DataFormatError(src, "does not exist.", "check the path.")

    plan: list[tuple[Path, Path]] = []
    for s in sources:
        if s.suffix.lower() == ".csv":
            report.strokes += len(read_annotations_csv(s))
            target = dest / ANNOTATIONS_CSV
        else:
            df, skipped = read_labelstudio(s)
            report.strokes += len(df)
            report.skipped += skipped
            target = dest / LABELSTUDIO_DIR / s.name
        if target.exists() and not overwrite and target.read_bytes() != s.read_bytes():
            raise DataFormatError(
                target,
                f"already exists and differs from {s}.",
                "pass overwrite=True (--overwrite) to replace it, or merge the two by hand.",
            )
        plan.append((s, target))

    for s, target in plan:
        if not (target.exists() and target.resolve() == s.resolve()):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(s, target)
        report.written.append(target)
    return report
