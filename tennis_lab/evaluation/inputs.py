"""The evaluation's error, and the whole-number check its modules share."""

from __future__ import annotations

from typing import Any

import numpy as np

from tennis_lab.errors import TennisLabError


class EvaluationError(TennisLabError, ValueError):
    """A split, fold or scoring request that cannot work; the message says why and the fix."""


def whole_number(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int, or EvaluationError when it is not a whole number >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise EvaluationError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
    return int(value)
