"""What predict writes: the stroke timeline CSV with its ``<name>_about.json`` sidecar
saying what each column means, and the names of the timeline figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tennis_lab.predict.model import StrokeModel

CONFIDENCE_MEANING = (
    "the mean probability of the stroke's class over its frames, from the model's softmax "
    "output: the model's own score, not a calibrated probability (0.8 does not mean right "
    "8 times in 10)"
)
TIMELINE_COLUMN_MEANINGS = {
    "video_id": "the recording",
    "start_frame": "first frame of the stroke, in the recording's own frame numbering",
    "end_frame": "frame after the stroke's last (end exclusive)",
    "start_seconds": "start of the stroke, seconds from the recording's start",
    "end_seconds": "end of the stroke, seconds from the recording's start",
    "label": "the stroke class",
    "confidence": CONFIDENCE_MEANING,
    "handedness": "how the player was read: left (mirrored when the model was trained so), "
    "right, 'right (assumed)' when the handedness was not given, unknown when the model "
    "reads every player as recorded",
    "note": "empty, or a caveat about the model that applies to this row",
}


def _plot_paths(plot: str, video_ids: Sequence[str]) -> list[Path]:
    path = Path(plot)
    if len(video_ids) == 1:
        return [path]
    return [path.with_name(f"{path.stem}_{v}{path.suffix or '.png'}") for v in video_ids]


def timeline_about(model: StrokeModel, notes: Sequence[str]) -> dict[str, Any]:
    """The sidecar of a timeline CSV: the model, what each column means, the caveats."""
    return {
        "model": model.source,
        "run_id": model.run_id,
        "classes": list(model.classes),
        "columns": dict(TIMELINE_COLUMN_MEANINGS),
        "notes": list(notes),
    }


def about_path(output: str | Path) -> Path:
    """Where the sidecar of the timeline CSV ``output`` goes: ``<name>_about.json``."""
    output = Path(output)
    return output.with_name(f"{output.stem}_about.json")


def _write_timeline(timelines, model, notes: Sequence[str], output: Path, out) -> None:
    """The stroke timeline CSV and its ``_about.json`` sidecar."""
    import json

    strokes = pd.concat([t.strokes for t in timelines], ignore_index=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    strokes.to_csv(output, index=False)
    about = about_path(output)
    about.write_text(json.dumps(timeline_about(model, notes), indent=2) + "\n", encoding="utf-8")
    print(f"Stroke timeline ({len(strokes)} strokes): {output}", file=out)
    print(f"  confidence: {CONFIDENCE_MEANING}; every column explained in {about}", file=out)


def _figure_note(*notes: str | None) -> str | None:
    """The notes that apply to one figure, one paragraph each (None: none)."""
    return "\n".join(n[0].upper() + n[1:] for n in notes if n) or None
