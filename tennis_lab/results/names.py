"""Names of a search's runs and files: MLflow run names, run notebooks, the results CSV."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Short names of parameters in run names (others keep their own).
PARAM_ABBREVIATIONS = {
    "lstm_layers": "lstm", "dense_units": "dense", "dropout_rates": "drop",
    "learning_rate": "lr", "batch_size": "bs", "window_size": "win", "overlap": "ov",
    "use_batch_norm": "bn", "use_bidirectional": "bi", "class_weight": "cw",
    "augment_mirror": "aug", "normalization": "norm", "early_stopping_patience": "patience",
    "model_family": "", "features": "feat", "gru_layers": "gru", "tcn_filters": "tcn",
    "tcn_kernel_size": "k", "tcn_dilations": "dil", "transformer_width": "width",
    "transformer_heads": "heads", "transformer_blocks": "blocks", "stgcn_channels": "gcn",
    "stgcn_kernel_size": "k", "augment_scale": "aug_s", "augment_rotate": "aug_r",
    "augment_time_stretch": "aug_t", "augment_jitter": "aug_j", "augment_drop": "aug_d",
}  # fmt: skip
RUN_NAME_LIMIT = 60  # characters of parameters in a run name; the MLflow UI cuts long names
# The MLflow experiment of a search unless it names another.
DEFAULT_EXPERIMENT = "tennis_stroke_recognition"
# The reports folder's sub-folder of run notebooks: <reports>/runs/<search id>/ by default.
RUNS_FOLDER = "runs"


def short_value(value: Any) -> str:
    """A parameter value in a few characters: ``[128, 64]`` as ``128-64``, 0.001 as ``1e-3``.

    Lists given as JSON text (as a CSV holds them) are read first.
    """
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, list | tuple):
        return "-".join(short_value(v) for v in value)
    if isinstance(value, float) and value and abs(value) < 0.01:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return str(value)


def run_name(
    grid: str, number: int, rung: int = 0, params: Mapping[str, Any] | None = None,
    shown: Sequence[str] = (),
) -> str:  # fmt: skip
    """The MLflow name of a search's trial ``number`` at ``rung``.

    Distinct from its first characters, which is what the MLflow UI shows:
    ``r007 lstm128-64 lr1e-3 · grid_search_small``; a later rung adds it
    (``r007.1 ...``). ``shown`` names the parameters to put in (those the search
    varies, in that order), each abbreviated (:data:`PARAM_ABBREVIATIONS`); the
    search's grid ends the name, so ``tags.mlflow.runName LIKE '%grid_search%'``
    still finds every run. The full search id is the run's ``search_id`` tag.
    """
    head = f"r{number:03d}" + (f".{rung}" if rung else "")
    parts = [
        f"{PARAM_ABBREVIATIONS.get(k, k)}{short_value(params[k])}"
        for k in shown if params and k in params
    ]  # fmt: skip
    text = " ".join(parts)
    if len(text) > RUN_NAME_LIMIT:
        text = text[: RUN_NAME_LIMIT - 1] + "…"
    return f"{head} {text} · grid_search_{grid}" if text else f"{head} · grid_search_{grid}"


def parent_run_name(grid: str, search_id: str) -> str:
    """The MLflow name of a search's parent run."""
    return f"grid_search_{grid}_{search_id}"


def trial_file(
    folder: str | os.PathLike, number: int, config_id: str, suffix: str, rung: int = 0
) -> Path:
    """A trial's file beside its executed notebook: ``<folder>/007-<config id><suffix>``.

    A later rung adds it: ``<folder>/007-<config id>-rung1<suffix>``.
    """
    return Path(folder) / f"{number:03d}-{config_id}{f'-rung{rung}' if rung else ''}{suffix}"


def notebooks_folder(runs_dir: str | os.PathLike, search_id: str) -> Path:
    """The folder of a search's run notebooks: ``<runs_dir>/<search id>``.

    ``runs_dir`` is ``--reports-dir`` when given, else ``<reports>/``:data:`RUNS_FOLDER`.
    """
    return Path(runs_dir) / search_id


def row_key(row: Mapping[str, Any]) -> tuple[int, int]:
    """``(trial, rung)`` of a results row: what identifies a run within its search.

    Rows of older searches (no ``trial`` / ``rung`` column) are ``(run_number, 0)``.
    """

    def whole(value: Any, default: int) -> int:
        if value is None or (isinstance(value, float) and value != value):
            return default
        return int(value)

    number = whole(row.get("run_number"), 0)
    return whole(row.get("trial"), number), whole(row.get("rung"), 0)


def results_csv_name(stamp: str) -> str:
    """The results CSV of a search started at ``stamp``."""
    return f"grid_search_results_{stamp}.csv"
