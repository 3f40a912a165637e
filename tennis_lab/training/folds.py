"""One configuration over a run's splits: one split, or the folds of a grouped
cross-validation, fitted one by one and combined into one :class:`RunResult`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tennis_lab import evaluation
from tennis_lab.evaluation import Split
from tennis_lab.results import SELECTION_METRIC, SUMMED_METRICS
from tennis_lab.training.fitting import (
    FittedSplit,
    PreparedFit,
    TrainingError,
    _fit_prepared,
    _prepare_split,
    fit_split,
    fold_checkpoint,
)
from tennis_lab.training.scoring import SPREAD_METRICS, RunResult, evaluate_split, window_report
from tennis_lab.windows import WindowSet


def train_and_evaluate(
    windows: WindowSet,
    split: Split,
    params: Mapping[str, Any],
    seed: int = 42,
    verbose: int = 0,
    callbacks: list | None = None,
) -> RunResult:
    """Train on ``split.train``, select on ``split.val``, report on ``split.test``.

    :func:`fit_split` then :func:`evaluate_split`; the parameters are theirs.

    Returns
    -------
    RunResult
        Window-level and stroke-level metrics (see :class:`RunResult`), with the
        test strokes scored per group.
    """
    fitted = fit_split(windows, split, params, seed, verbose, callbacks)
    return evaluate_split(windows, split, fitted)


FOLD_COLUMNS = (
    SELECTION_METRIC, "test_stroke_macro_f1", "worst_group_macro_f1", "val_macro_f1_score",
    "macro_avg_f1_score", "test_accuracy", "epochs_trained", "training_time_minutes",
)  # fmt: skip


def cross_validate(
    windows: WindowSet,
    splits: list[Split],
    params: Mapping[str, Any],
    seed: int = 42,
    verbose: int = 0,
    callbacks: list | None = None,
) -> RunResult:
    """Train and evaluate one configuration on every fold; combine the results.

    :func:`fit_folds` then :func:`evaluate_folds` (the notebook runs them in two
    cells, so that a search can start its next run once the training is done).

    Parameters
    ----------
    windows : WindowSet
    splits : list of Split
        From :func:`tennis_lab.evaluation.make_splits`: the folds (each group is
        tested once), or one split, which is :func:`train_and_evaluate` itself.
    params, seed, verbose, callbacks
        As :func:`fit_split` (the same seed on every fold). With folds,
        each fold saves (and, with ``initial_epoch`` > 0, continues) its own
        checkpoint, :func:`fold_checkpoint` of ``checkpoint_path``
        (``t3.keras`` -> ``t3.fold1.keras``, ``t3.fold2.keras``, ...).

    Returns
    -------
    RunResult
        ``metrics``: the mean over folds (training times: the sum), ``<metric>_std``
        for :data:`SPREAD_METRICS`, ``cv_folds``; ``worst_group_macro_f1`` is the
        worst group over all folds. ``groups``: every group, from the fold that
        tested it. ``folds``: each fold's headline metrics. The model, history and
        report of the fold that scored best on validation; the confusion matrix
        and test predictions pooled over folds.
    """
    fitted = fit_folds(windows, splits, params, seed, verbose, callbacks)
    return evaluate_folds(windows, splits, fitted)


def fit_folds(
    windows: WindowSet,
    splits: list[Split],
    params: Mapping[str, Any],
    seed: int = 42,
    verbose: int = 0,
    callbacks: list | None = None,
    prepared: PreparedFit | None = None,
) -> list[FittedSplit]:
    """Train one configuration on every split of ``splits`` (:func:`fit_split` each).

    Parameters as :func:`cross_validate`; ``prepared``: the first split made ready by
    :func:`prepare_fit` with the same arguments. Returns the models, one per split,
    for :func:`evaluate_folds`.
    """
    if not splits:
        raise TrainingError("cross_validate needs at least one fold.")
    if prepared is not None and prepared.split is not splits[0]:
        raise TrainingError("prepared is not of these splits: call prepare_fit with them.")
    fitted = []
    for i, split in enumerate(splits):
        if verbose and not _one_split(splits):
            print(f"\n--- {split.describe()}")
        ready = prepared if i == 0 and prepared is not None else None
        ready = ready or _prepare_split(windows, split, _fold_params(params, splits, i), seed)
        fitted.append(_fit_prepared(ready, verbose, callbacks))
    return fitted


def prepare_fit(
    windows: WindowSet, splits: list[Split], params: Mapping[str, Any], seed: int = 42
) -> PreparedFit:
    """The first split of ``splits`` ready for ``model.fit``: checked, seeded, its model
    built or its checkpoint loaded; pass it to :func:`fit_folds` (same arguments).

    Done apart, it takes the model's build out of the training (a search's next run
    prepares while the current one trains); the scores are those of :func:`fit_folds`
    alone, as nothing draws random numbers in between.
    """
    if not splits:
        raise TrainingError("cross_validate needs at least one fold.")
    return _prepare_split(windows, splits[0], _fold_params(params, splits, 0), seed)


def _one_split(splits: list[Split]) -> bool:
    return len(splits) == 1 and splits[0].fold is None


def _fold_params(params: Mapping[str, Any], splits: list[Split], index: int) -> Mapping[str, Any]:
    """The parameters of split ``index``: with folds, its own checkpoint file."""
    if _one_split(splits) or not params.get("checkpoint_path"):
        return params
    path = fold_checkpoint(params["checkpoint_path"], splits[index].fold or index + 1)
    return {**params, "checkpoint_path": str(path)}


def evaluate_folds(windows: WindowSet, splits: list[Split], fitted: list[FittedSplit]) -> RunResult:
    """Score the models :func:`fit_folds` trained, one per split; combine the folds.

    Returns
    -------
    RunResult
        As :func:`cross_validate`.
    """
    if len(fitted) != len(splits):
        raise TrainingError(f"{len(fitted)} trained models for {len(splits)} splits.")
    if _one_split(splits):
        return evaluate_split(windows, splits[0], fitted[0])
    results = [
        evaluate_split(windows, split, model) for split, model in zip(splits, fitted, strict=True)
    ]
    names = list(results[0].metrics)
    metrics: dict[str, float] = {}
    for name in names:
        values = [r.metrics[name] for r in results]
        if name in SUMMED_METRICS:
            metrics[name] = float(np.nansum(values))
        else:
            metrics[name] = evaluation.mean_std(values)[0]
        if name in SPREAD_METRICS:
            metrics[f"{name}_std"] = evaluation.mean_std(values)[1]
    groups = sorted(
        (g for r in results for g in r.groups), key=lambda g: (g["macro_f1"], g["group"])
    )
    metrics["worst_group_macro_f1"] = min((g["macro_f1"] for g in groups), default=float("nan"))
    metrics["val_groups"] = float(min(r.metrics["val_groups"] for r in results))
    metrics["cv_folds"] = float(len(splits))
    metrics.update(evaluation.new_group_estimate(groups))
    folds = [
        {"fold": split.fold or i + 1, "test_groups": " ".join(split.test_groups),
         **{k: r.metrics[k] for k in FOLD_COLUMNS}}
        for i, (split, r) in enumerate(zip(splits, results, strict=True))
    ]  # fmt: skip
    best = max(range(len(results)), key=lambda i: results[i].metrics[SELECTION_METRIC])
    test_true = np.concatenate([r.test_true for r in results])
    test_pred = np.concatenate([r.test_pred for r in results])
    data = dict(results[best].data)
    data.update(
        cv_folds=len(splits),
        model_fold=best + 1,
        checkpoint_paths=[r.data["checkpoint_path"] for r in results],
        test_groups=sorted({g for s in splits for g in s.test_groups}),
        test_samples=int(len(test_true)),
    )
    return RunResult(
        metrics=metrics,
        history=results[best].history,
        confusion=sum(r.confusion for r in results),
        classes=windows.classes,
        report=window_report(test_true, test_pred, windows.classes),
        data=data,
        model=results[best].model,
        groups=groups,
        folds=folds,
        test_true=test_true,
        test_pred=test_pred,
        preprocessing=results[best].preprocessing,
        first_epoch=results[best].first_epoch,
        val_strokes={
            key: [v for r in results for v in r.val_strokes[key]] for key in results[0].val_strokes
        },
        warnings=evaluation.weak_group_lines(splits[0].by, groups)
        + [line for r in results for line in r.warnings],
    )
