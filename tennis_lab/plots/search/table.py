"""A search's results table as the figures read it: checks, numbers, flags, run labels and
readable column names, shared by the figures of a search."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.text import Text

from tennis_lab.results import value_label

STD_SUFFIX = "_std"  # <metric>_std: the spread over a cross-validated run's folds
HIGHLIGHT_GID = "highlight"
ERRORBAR_GID = "std"
FLAG_COLOR = "tab:red"
_COLUMN_LABELS = {
    "val_stroke_macro_f1": "validation macro F1 (strokes)",
    "test_stroke_macro_f1": "test macro F1 (strokes)",
    "worst_group_macro_f1": "worst group macro F1",
    "val_stroke_accuracy": "validation accuracy (strokes)",
    "test_stroke_accuracy": "test accuracy (strokes)",
    "val_macro_f1_score": "validation macro F1 (windows)",
    "macro_f1_score": "test macro F1 (windows)",
    "train_macro_f1_score": "train macro F1 (windows)",
    "test_accuracy": "test accuracy (windows)",
    "training_time_minutes": "training time (minutes)",
    "trainable_params": "trainable parameters",
    "inference_ms_per_window": "inference (ms per window)",
}


def column_label(column: str) -> str:
    """A readable axis label for a results column (the name itself when unknown)."""
    if column.endswith(STD_SUFFIX) and column[: -len(STD_SUFFIX)] in _COLUMN_LABELS:
        return f"{_COLUMN_LABELS[column[: -len(STD_SUFFIX)]]} (std over folds)"
    return _COLUMN_LABELS.get(column, column)


def fold_spread(df: pd.DataFrame, column: str) -> np.ndarray | None:
    """``<column>_std`` as floats, or None when ``df`` has no finite one."""
    name = column + STD_SUFFIX
    if name not in df.columns:
        return None
    values = numeric(df[name])
    return values if np.isfinite(values).any() else None


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised, for a default title."""
    return text[:1].upper() + text[1:]


def check_table(df: pd.DataFrame, name: str, columns: Sequence[str], hint: str) -> None:
    """Raise ValueError when ``df`` has no rows or lacks one of ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame; got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {missing}; {hint} Its columns: {list(df.columns)}."
        )
    if df.empty:
        raise ValueError(f"{name} is empty; {hint}")


def numeric(column: pd.Series) -> np.ndarray:
    """A column as floats, anything that is not a number as NaN."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def run_set(runs: Iterable[object] | None) -> set[float]:
    """Run numbers to emphasise, as floats (missing ones skipped)."""
    return {float(r) for r in runs if pd.notna(r)} if runs is not None else set()


def run_labels(table: pd.DataFrame) -> list[str]:
    """``run N`` per row, from ``run_number`` (or the index when there is none)."""
    numbers = table["run_number"] if "run_number" in table.columns else table.index
    return [f"run {value_label(n)}" for n in numbers]


def flag_column(table: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean flag column as an array; missing column or values count as False."""
    if column not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return np.array([bool(v) if pd.notna(v) else False for v in table[column]], dtype=bool)


def flagged_labels(
    labels: Sequence[str], flags: np.ndarray, suffix: str, sep: str = " "
) -> list[str]:
    """``labels`` with ``sep`` and ``suffix`` appended to the flagged ones."""
    return [f"{t}{sep}{suffix}" if f else t for t, f in zip(labels, flags, strict=True)]


def colour_flagged(labels: Sequence[Text], flags: np.ndarray) -> None:
    """Draw the flagged tick labels in bold red."""
    for label, flagged in zip(labels, flags, strict=True):
        if flagged:
            label.set_color(FLAG_COLOR)
            label.set_fontweight("bold")
