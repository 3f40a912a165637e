"""Parameter values and result cells as data: one ordering and one label for every
table and figure."""

from __future__ import annotations

import json
import math
from typing import Any


def parse_value(value: Any) -> Any:
    """A parameter value as data: JSON text parsed (``"[128, 64]"``), NaN and None as None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        value = value.item()  # a NumPy scalar
    if isinstance(value, tuple) or hasattr(value, "tolist"):
        value = list(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def value_key(value: Any) -> tuple:
    """Sort key of a parameter value: numbers (and booleans) by size, then lists (shorter
    first, then element by element: ``[64]`` before ``[32, 16]``), then text; missing last."""
    parsed = parse_value(value)
    if parsed is None:
        return (3,)
    if isinstance(parsed, bool | int | float):
        return (0, float(parsed))
    if isinstance(parsed, list):
        return (1, len(parsed), tuple(value_key(item) for item in parsed))
    return (2, str(parsed))


def value_label(value: Any) -> str:
    """The label of a parameter value: ``45`` for 45.0, ``[128, 64]``, ``n/a`` when missing."""
    parsed = parse_value(value)
    if parsed is None:
        return "n/a"
    if isinstance(parsed, float) and parsed.is_integer():
        return str(int(parsed))
    if isinstance(parsed, list | dict):
        return json.dumps(parsed, sort_keys=True)
    return str(parsed)


def ordered_values(values: Any) -> list:
    """``values`` in the one display order of tables and figures (:func:`value_key`)."""
    return sorted(values, key=lambda v: (value_key(v), value_label(v)))


def finite_number(value: Any) -> float | None:
    """A results cell as a finite float; None when it is empty, text or not finite."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
