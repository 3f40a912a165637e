"""Logging one training run: its parameters and the data's facts, its metrics and
per-epoch and per-fold series, its model, figures and files, as one (child) run.

Figures come already drawn or as matplotlib figures MLflow draws; nothing here draws
a figure or imports a plotting module.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tennis_lab.tracking.models import MODEL_ARTIFACT, save_model
from tennis_lab.tracking.runs import (
    FOLD_PREFIX,
    HISTORY_PREFIX,
    _create_run,
    _json_default,
    _log_metrics,
    _log_params,
    _param_value,
    run_params,
    warnings_tag,
)
from tennis_lab.tracking.store import DEFAULT_EXPERIMENT, ensure_experiment
from tennis_lab.tracking.store import client as _client

if TYPE_CHECKING:
    from tennis_lab.training import RunResult

SPLITS = ("train", "val", "test")


def _data_params(result: RunResult) -> dict[str, str]:
    """Facts of the data as params: samples and class counts per split, classes, shape."""
    data = dict(result.data or {})
    classes = list(data.get("classes") or result.classes)
    out: dict[str, Any] = {"num_classes": data.get("num_classes", len(classes))}
    for split in SPLITS:
        if f"{split}_samples" in data:
            out[f"{split}_samples"] = data[f"{split}_samples"]
    if "input_shape" in data:
        out["input_shape"] = list(data["input_shape"])
    out["classes"] = classes
    for split in SPLITS:
        for cls, count in (data.get(f"{split}_class_counts") or {}).items():
            out[f"{split}_count_{cls}"] = count
    return {k: _param_value(v) for k, v in out.items()}


def _is_matplotlib_figure(figure: object) -> bool:
    """Whether ``figure`` is a matplotlib Figure (matplotlib is loaded if it is one)."""
    module = sys.modules.get("matplotlib.figure")
    return module is not None and isinstance(figure, module.Figure)


def _log_figure(client, run_id: str, name: str, figure: object) -> None:
    """Log ``figure`` as ``plots/<name>.png``.

    A figure drawn once already (an object with PNG bytes in ``png``, as
    :func:`tennis_lab.plots.render_png` returns) is logged as it is; a matplotlib
    Figure is drawn by MLflow.
    """
    png = getattr(figure, "png", None)
    if isinstance(png, bytes):
        with tempfile.TemporaryDirectory(prefix="tennis_lab_plot_") as tmp:
            path = Path(tmp) / f"{name}.png"
            path.write_bytes(png)
            client.log_artifact(run_id, str(path), "plots")
    elif _is_matplotlib_figure(figure):
        client.log_figure(run_id, figure, f"plots/{name}.png")
    else:
        raise TypeError(
            f"figures[{name!r}] must be a matplotlib Figure or a RenderedFigure "
            f"(tennis_lab.plots.render_png); got {type(figure).__name__}."
        )


def _log_artifacts(client, run_id: str, result: RunResult, figures, extra_artifacts) -> None:
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="tennis_lab_run_") as tmp:
        if result.model is not None and result.preprocessing:
            model_dir = save_model(result, Path(tmp) / MODEL_ARTIFACT)
            client.log_artifacts(run_id, str(model_dir), MODEL_ARTIFACT)
        elif result.model is not None:  # a model without its data parameters
            model_dir = Path(tmp) / MODEL_ARTIFACT
            model_dir.mkdir()
            result.model.save(model_dir / "model.keras")
            client.log_artifact(run_id, str(model_dir / "model.keras"), MODEL_ARTIFACT)
    for name, figure in (figures or {}).items():
        _log_figure(client, run_id, name, figure)
    classes = [str(c) for c in result.classes]
    client.log_text(run_id, result.report or "", "classification_report.txt")
    client.log_dict(run_id, classes, "label_classes.json")
    if result.confusion is not None:
        matrix = np.asarray(result.confusion).tolist()
        confusion = {"classes": classes, "rows": "true", "columns": "predicted", "matrix": matrix}
        client.log_dict(run_id, confusion, "confusion_matrix.json")
    if result.data:
        client.log_text(
            run_id, json.dumps(result.data, indent=2, default=_json_default), "data.json"
        )
    if result.groups:  # test strokes scored per player (session, video), worst first
        client.log_text(
            run_id, json.dumps(result.groups, indent=2, default=_json_default), "per_group.json"
        )
    if result.folds:
        client.log_text(
            run_id, json.dumps(result.folds, indent=2, default=_json_default), "folds.json"
        )
    for subdir, local in (extra_artifacts or {}).items():
        local = Path(local)
        if not local.exists():
            raise FileNotFoundError(f"extra artifact {subdir!r}: {local} does not exist.")
        if local.is_dir():
            client.log_artifacts(run_id, str(local), subdir or None)
        else:
            client.log_artifact(run_id, str(local), subdir or None)


def _run_metrics(result: RunResult) -> list:
    """The run's metrics at step 0, its per-epoch curves (``epoch_<name>``, step = epoch)
    and each fold's headline metrics (``fold_<name>``, step = fold), all logged now."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(str(k), float(v), now, 0) for k, v in result.metrics.items()]
    for name, values in (result.history or {}).items():
        metrics += [
            Metric(f"{HISTORY_PREFIX}{name}", float(v), now, epoch)
            for epoch, v in enumerate(values, start=int(getattr(result, "first_epoch", 0)))
        ]
    for fold in result.folds or []:  # each fold's figures as a series over fold numbers
        metrics += [
            Metric(f"{FOLD_PREFIX}{name}", float(value), now, int(fold["fold"]))
            for name, value in fold.items()
            if name != "fold" and isinstance(value, int | float)
        ]
    return metrics


def log_training_run(
    result: RunResult,
    params: Mapping[str, Any],
    *,
    experiment: str = DEFAULT_EXPERIMENT,
    experiment_id: str | None = None,
    tracking_uri: str | None = None,
    parent_run_id: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    figures: Mapping[str, Any] | None = None,
    extra_artifacts: Mapping[str, str | os.PathLike] | None = None,
    started_at: float | None = None,
) -> str:
    """Log one training run to MLflow as one (child) run.

    Parameters
    ----------
    result : RunResult
        From :func:`tennis_lab.training.train_and_evaluate`.
    params : mapping
        The run's parameters, logged through :func:`run_params`.
    experiment : str
        Experiment name, created when missing (ignored with ``experiment_id`` or
        ``parent_run_id``).
    experiment_id : str, optional
    tracking_uri : str, optional
    parent_run_id : str, optional
        Nest under this run (tag ``mlflow.parentRunId``), in the parent's experiment.
    run_name : str, optional
    tags : mapping, optional
        E.g. search_id, config_id, grid, status.
    figures : mapping of str to matplotlib Figure or RenderedFigure, optional
        Logged as ``plots/<name>.png`` (a figure's PNG bytes, as
        :func:`tennis_lab.plots.render_png` returns them and the notebook showed them,
        not drawn again).
    extra_artifacts : mapping of str to path, optional
        Artifact folder (``""`` for the root) to a local file or folder.
    started_at : float, optional
        When the run's work began (``time.time()`` at the notebook's start): the run's
        start time, so its Duration is the time it took; default now.

    Returns
    -------
    str
        The run id, FINISHED. When logging fails midway, the run is ended FAILED
        (KILLED on KeyboardInterrupt), tagged ``error``, and the error re-raised.
    """
    client = _client(tracking_uri)
    if parent_run_id:
        parent_experiment = client.get_run(parent_run_id).info.experiment_id
        if experiment_id is not None and str(experiment_id) != parent_experiment:
            raise ValueError(
                f"experiment_id {experiment_id!r} differs from the experiment "
                f"{parent_experiment!r} of parent run {parent_run_id}; omit experiment_id."
            )
        experiment_id = parent_experiment
    elif experiment_id is None:
        experiment_id = ensure_experiment(experiment, tracking_uri)

    run_tags = dict(tags or {})
    if parent_run_id:
        run_tags["mlflow.parentRunId"] = parent_run_id
    if getattr(result, "warnings", None):  # weak players, gaps, thin splits: in the UI
        run_tags["warnings"] = warnings_tag(result.warnings)
    run_id = _create_run(client, experiment_id, run_name, run_tags, started_at).info.run_id
    try:
        all_params = run_params(params)
        for key, value in _data_params(result).items():
            all_params.setdefault(key, value)
        _log_params(client, run_id, all_params)

        _log_metrics(client, run_id, _run_metrics(result))

        _log_artifacts(client, run_id, result, figures, extra_artifacts)
    except BaseException as error:
        status = "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED"
        try:
            client.set_tag(run_id, "error", f"{type(error).__name__}: {error}"[:8000])
            client.set_terminated(run_id, status)
        except Exception:  # noqa: BLE001 - keep the original error
            pass
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id
