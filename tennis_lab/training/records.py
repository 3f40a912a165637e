"""A run's result for its readers: tables for the notebook, a JSON file for the runner."""

from __future__ import annotations

from typing import Any

import numpy as np

from tennis_lab.results import SELECTION_METRIC
from tennis_lab.training.scoring import RunResult


def metrics_table(result: RunResult):
    """The headline metrics of ``result`` as a one-column DataFrame (for display).

    Counts (epochs, parameters) are integers and scores rounded to 4 decimals, so the
    table reads ``65220`` and ``0.9866``, not ``65220.000000``.
    """
    import pandas as pd

    names = [
        SELECTION_METRIC, "test_stroke_macro_f1", "worst_group_macro_f1", "val_macro_f1_score",
        "train_macro_f1_score", "macro_avg_f1_score", "test_accuracy", "test_loss",
        "macro_avg_precision", "macro_avg_recall", "weighted_avg_f1_score", "epochs_trained",
        "epochs_trained_this_run", "training_time_minutes", "trainable_params",
        "inference_ms_per_window",
    ]  # fmt: skip
    counts = {"epochs_trained", "epochs_trained_this_run", "trainable_params"}

    def shown(name: str, value: Any) -> Any:  # counts as integers, scores to 4 decimals
        if value is None or not np.isfinite(float(value)):
            return None
        return int(round(float(value))) if name in counts else round(float(value), 4)

    rows = {
        n: [shown(n, result.metrics[n]), shown(n, result.metrics.get(f"{n}_std"))] for n in names
    }
    table = pd.DataFrame.from_dict(
        rows, orient="index", columns=["value", "std over folds"], dtype=object
    )
    return table if result.folds else table[["value"]]


def groups_table(result: RunResult):
    """Per-group test scores of ``result`` as a DataFrame, worst first (for display)."""
    import pandas as pd

    return pd.DataFrame(result.groups).set_index("group") if result.groups else pd.DataFrame()


def folds_table(result: RunResult):
    """Per-fold headline metrics of ``result`` as a DataFrame (empty without folds)."""
    import pandas as pd

    return pd.DataFrame(result.folds).set_index("fold") if result.folds else pd.DataFrame()


def write_result(result: RunResult, path, run_id: str | None = None) -> None:
    """Write the metrics, data facts and run id of ``result`` as JSON (atomically)."""
    import json
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "run_id": run_id,
        "metrics": result.metrics,
        "warnings": result.warnings,
        "val_strokes": result.val_strokes,
        "data": result.data,
        "classes": list(result.classes),
        "confusion": result.confusion.tolist(),
        "groups": result.groups,
        "folds": result.folds,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def read_result(path) -> dict:
    """Read what :func:`write_result` wrote."""
    import json
    from pathlib import Path

    return json.loads(Path(path).read_text(encoding="utf-8"))
