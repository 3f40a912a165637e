"""Stroke annotations (``annotations.csv``), the dataset's ``dataset.yaml`` (class map,
ignored labels) and :class:`Skipped`, what a loader leaves out on purpose."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from tennis_lab.poses.layout import ANNOTATION_COLUMNS, DataFormatError


@dataclass(frozen=True)
class Skipped:
    """Something a loader left out on purpose, with how many and why."""

    source: str
    reason: str
    count: int = 1


@dataclass(frozen=True)
class DatasetConfig:
    """The optional ``dataset.yaml``.

    ``class_map`` maps an annotation label to a class name; ``ignore_labels`` are
    labels that are skipped (and counted). Without a class map every label is its
    own class.
    """

    class_map: Mapping[str, str] = field(default_factory=dict)
    ignore_labels: frozenset[str] = frozenset()
    description: str = ""

    def resolve(self, label: str) -> str | None:
        """Class of ``label``; ``None`` when the label is ignored; ``KeyError`` when unknown."""
        if label in self.ignore_labels:
            return None
        if not self.class_map:
            return label
        if label in self.class_map:
            return self.class_map[label]
        if label in set(self.class_map.values()):
            return label
        raise KeyError(label)


def annotation_frame(rows: Iterable[Mapping], source: str) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=[*ANNOTATION_COLUMNS, "source"])
    if df.empty:
        return df.astype({"start_frame": int, "end_frame": int})
    df["source"] = df["source"].fillna(source)
    return df


def read_annotations_csv(path: str | Path) -> pd.DataFrame:
    """Read ``annotations.csv`` (video_id, start_frame, end_frame, label; end exclusive)."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"video_id": str, "label": str})
    except Exception as exc:
        raise DataFormatError(path, f"cannot be read as CSV ({exc}).") from exc
    missing = [c for c in ANNOTATION_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(
            path,
            f"missing column(s) {missing}; found {list(df.columns)}.",
            "the header must be: video_id,start_frame,end_frame,label",
        )
    for col in ("start_frame", "end_frame"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | (values != values.round())
        if bad.any():
            row = int(bad.idxmax())
            raise DataFormatError(
                path,
                f"row {row + 2}: {col} is {df[col].iloc[row]!r}; expected a whole frame number.",
            )
        df[col] = values.astype(int)
    empty = df["video_id"].isna() | df["label"].isna()
    if empty.any():
        row = int(empty.idxmax())
        raise DataFormatError(path, f"row {row + 2}: video_id or label is empty.")
    df = df[list(ANNOTATION_COLUMNS)].copy()
    df["source"] = str(path)
    return df


def write_annotations_csv(annotations: pd.DataFrame, path: str | Path) -> Path:
    """Write annotations (video_id, start_frame, end_frame, label) as CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    annotations[list(ANNOTATION_COLUMNS)].to_csv(path, index=False)
    return path


def read_dataset_config(path: str | Path) -> DatasetConfig:
    """Read ``dataset.yaml``: class_map, ignore_labels, description (all optional)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataFormatError(path, f"is not valid YAML ({exc}).") from exc
    if not isinstance(raw, dict):
        raise DataFormatError(path, "must be a mapping (class_map, ignore_labels, description).")
    unknown = sorted(set(raw) - {"class_map", "ignore_labels", "description"})
    if unknown:
        raise DataFormatError(
            path,
            f"unknown key(s) {unknown}.",
            "use only class_map, ignore_labels and description.",
        )
    class_map = raw.get("class_map") or {}
    if not isinstance(class_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in class_map.items()
    ):
        raise DataFormatError(
            path,
            f"class_map must map label to class name (text to text); got {class_map!r}.",
            'write e.g. class_map: {"Fronthand": forehand, "saque": serve}',
        )
    ignore = raw.get("ignore_labels") or []
    if not isinstance(ignore, list) or not all(isinstance(v, str) for v in ignore):
        raise DataFormatError(path, f"ignore_labels must be a list of labels; got {ignore!r}.")
    return DatasetConfig(
        class_map=dict(class_map),
        ignore_labels=frozenset(ignore),
        description=str(raw.get("description") or ""),
    )
