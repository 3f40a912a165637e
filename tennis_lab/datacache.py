"""Prepared windows cached on disk, keyed by the dataset's files and the data parameters.

Each run of a search loads the same dataset and, for most combinations, cuts the
same windows. ``load_windows`` does that once per (dataset content, data
parameters) and keeps the result under ``<project>/.cache/windows/``; later runs
read it back in a fraction of the time. The key covers every file of the dataset
(path, size, modification time), so editing an annotation or a recording makes a
new entry; deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from tennis_lab import paths
from tennis_lab.poses import load_dataset
from tennis_lab.windows import WindowSet, make_windows

CACHE_VERSION = 2


def dataset_fingerprint(data_dir: str | Path) -> str:
    """A hash of every file under ``data_dir``: relative path, size, modification time."""
    root = Path(data_dir).resolve()
    digest = hashlib.sha256(str(root).encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_key(data_dir: str | Path, params: dict[str, Any]) -> str:
    """Key of the windows of ``data_dir`` cut with ``params``."""
    payload = json.dumps(
        {"version": CACHE_VERSION, "data": dataset_fingerprint(data_dir), "params": params},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _save(path: Path, windows: WindowSet, summary: dict, warned: list[str]) -> None:
    meta = {
        "warnings": warned,
        "window_size": windows.window_size,
        "classes": list(windows.classes),
        "feature_names": list(windows.feature_names),
        "params": windows.params,
        "counts": windows.counts,
        "landmark_names": list(windows.landmark_names),
        "channel_names": list(windows.channel_names),
        "video_ids": list(windows.video_ids),
        "videos": windows.videos,
        "summary": summary,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                frames=windows.frames,
                offsets=windows.offsets,
                y=windows.y,
                groups=windows.groups.astype(str),
                starts=windows.starts,
                video_offsets=windows.video_offsets,
                video_lengths=windows.video_lengths,
                stroke_video=windows.strokes["video"].astype(str),
                stroke_start=windows.strokes["start"],
                stroke_end=windows.strokes["end"],
                stroke_y=windows.strokes["y"],
                meta=np.array(json.dumps(meta, default=str)),
            )
        os.replace(tmp, path)  # atomic: concurrent runs never read a half-written file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load(path: Path) -> tuple[WindowSet, dict]:
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        windows = WindowSet(
            frames=npz["frames"],
            offsets=npz["offsets"],
            window_size=int(meta["window_size"]),
            y=npz["y"],
            groups=npz["groups"],
            starts=npz["starts"],
            classes=tuple(meta["classes"]),
            feature_names=tuple(meta["feature_names"]),
            params=meta["params"],
            counts=meta["counts"],
            landmark_names=tuple(meta["landmark_names"]),
            channel_names=tuple(meta["channel_names"]),
            video_ids=tuple(meta["video_ids"]),
            video_offsets=npz["video_offsets"],
            video_lengths=npz["video_lengths"],
            strokes={k: npz[f"stroke_{k}"] for k in ("video", "start", "end", "y")},
            videos=meta["videos"],
        )
    summary = meta["summary"]
    summary["fps"] = {float(k): v for k, v in summary["fps"].items()}
    for message in meta["warnings"]:
        warnings.warn(message, stacklevel=3)
    return windows, summary


def windows_folder(cache_root: str | Path | None = None) -> Path:
    """Where prepared windows are cached: ``<cache root>/windows`` (see :func:`paths.cache_dir`)."""
    return paths.cache_dir(cache_root) / "windows"


def load_windows(
    data_dir: str | Path,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    dataset: Any = None,
    **params: Any,
) -> tuple[WindowSet, dict]:
    """Windows of a dataset and its summary, from the cache when possible.

    Parameters
    ----------
    data_dir : path
        Dataset folder (see :func:`tennis_lab.poses.load_dataset`).
    cache : bool
        Read and write the cache; False always recomputes.
    cache_dir : path, optional
        The folder of cached windows; default :func:`windows_folder` (``<project>/.cache/windows``).
    dataset : PoseDataset, optional
        ``data_dir`` already loaded (by a caller that windows it several ways): used on
        a cache miss instead of reading the folder again.
    **params
        Passed to :func:`tennis_lab.windows.make_windows`.

    Returns
    -------
    windows : WindowSet
    summary : dict
        :meth:`tennis_lab.poses.PoseDataset.summary` of the dataset.

    Warnings from windowing (e.g. mixed frame rates without fps scaling) are
    issued again when the windows come from the cache.
    """
    folder = Path(cache_dir) if cache_dir is not None else windows_folder()
    path = folder / f"{cache_key(data_dir, params)}.npz" if cache else None
    if path is not None and path.is_file():
        try:
            return _load(path)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a broken entry is rebuilt below
    dataset = dataset if dataset is not None else load_dataset(data_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        windows = make_windows(dataset, **params)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    summary = dataset.summary()
    if path is not None:
        _save(path, windows, summary, [str(w.message) for w in caught])
    return windows, summary
