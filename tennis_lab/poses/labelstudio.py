"""Label Studio video timeline exports (``labelstudio/*.json``): read, and write one
task per video; the video id of a Label Studio file name."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from tennis_lab.poses.annotations import Skipped, annotation_frame
from tennis_lab.poses.layout import DataFormatError

# Label Studio prefixes uploaded file names with 8 hex digits and a hyphen.
_LS_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")


def _video_reference(data: Mapping) -> str | None:
    for key in ("video", "video_url", "url"):
        if isinstance(data.get(key), str):
            return data[key]
    strings = [v for v in data.values() if isinstance(v, str)]
    return strings[0] if len(strings) == 1 else None


def video_id_from_path(reference: str) -> str:
    """Video id of a Label Studio task's video path: the file name without extension.

    Local-storage links (``/data/local-files/?d=videos/rally_07.mp4``) name the file
    in their ``d`` query parameter.
    """
    parts = urlsplit(reference.replace("\\", "/"))
    local = parse_qs(parts.query).get("d")
    path = local[0] if local else parts.path
    name = PurePosixPath(path).name
    return name.rsplit(".", 1)[0] if "." in name else name


def resolve_video_id(video_id: str, known: Collection[str]) -> str | None:
    if video_id in known:
        return video_id
    stripped = _LS_UPLOAD_PREFIX.sub("", video_id)
    return stripped if stripped in known else None


def read_labelstudio(path: str | Path) -> tuple[pd.DataFrame, list[Skipped]]:
    """Read a Label Studio video timeline export.

    Accepts a single task (an object) or a full project export (a list of tasks),
    with results under ``result`` or ``annotations[*].result``. Only results of type
    ``timelinelabels`` are strokes; Label Studio's frame ranges are 1-based and
    inclusive, so ``{start: s, end: e}`` becomes frames ``[s - 1, e)``.

    Returns
    -------
    annotations : DataFrame
        video_id, start_frame, end_frame, label, source.
    skipped : list of Skipped
        Tasks without a result, results of other types, and similar.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:
        raise DataFormatError(path, f"is not valid JSON ({exc}).") from exc
    tasks = payload if isinstance(payload, list) else [payload]
    rows: list[dict] = []
    skipped: Counter = Counter()
    for t_index, task in enumerate(tasks):
        where = f"task {task.get('id', t_index)}" if isinstance(task, dict) else f"task {t_index}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataFormatError(
                path,
                f"{where} has no 'data' object; this is not a Label Studio task export.",
                "export the project from Label Studio as JSON.",
            )
        reference = _video_reference(task["data"])
        if reference is None:
            raise DataFormatError(
                path,
                f"{where}: cannot tell the video from data {sorted(task['data'])}.",
                "name the video under data.video.",
            )
        video_id = video_id_from_path(reference)
        results = list(task.get("result") or [])
        for ann in task.get("annotations") or []:
            if ann.get("was_cancelled"):
                skipped["cancelled annotation"] += 1
                continue
            results.extend(ann.get("result") or [])
        if not results:
            skipped["task without annotations"] += 1
        for res in results:
            if res.get("type") != "timelinelabels":
                skipped[f"result of type {res.get('type')!r}"] += 1
                continue
            value = res.get("value") or {}
            labels = value.get("timelinelabels") or []
            ranges = value.get("ranges") or []
            if len(labels) != 1:
                raise DataFormatError(
                    path,
                    f"{where}: a timeline region has labels {labels}; expected exactly one.",
                )
            for rng in ranges:
                try:
                    start, end = float(rng["start"]), float(rng["end"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise DataFormatError(
                        path, f"{where}: range {rng!r} has no start and end frame."
                    ) from exc
                if not (start.is_integer() and end.is_integer()):
                    raise DataFormatError(
                        path,
                        f"{where}: range {rng!r} is not in whole frames.",
                        "label with <TimelineLabels> on a <Video>, whose ranges are frames.",
                    )
                start, end = int(start), int(end)
                rows.append(
                    {
                        "video_id": video_id,
                        "start_frame": start - 1,
                        "end_frame": end,
                        "label": labels[0],
                        "source": str(path),
                    }
                )
    return annotation_frame(rows, str(path)), [
        Skipped(str(path), reason, n) for reason, n in sorted(skipped.items())
    ]


def labelstudio_task(video_path: str, annotations: pd.DataFrame, task_id: int) -> dict:
    """A Label Studio task for a video's annotations (inverse of :func:`read_labelstudio`)."""
    result = [
        {
            "id": f"{task_id}_{i}",
            "type": "timelinelabels",
            "from_name": "stroke",
            "to_name": "video",
            "origin": "manual",
            "value": {
                "ranges": [{"start": int(row.start_frame) + 1, "end": int(row.end_frame)}],
                "timelinelabels": [str(row.label)],
            },
        }
        for i, row in enumerate(annotations.itertuples(index=False))
    ]
    return {
        "id": task_id,
        "data": {"video": video_path},
        "annotations": [{"id": task_id, "was_cancelled": False, "result": result}],
    }
