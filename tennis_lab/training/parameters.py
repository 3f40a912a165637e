"""A run's parameters, checked before any data is loaded.

:func:`check_run_params` sorts the values of the notebook's parameters cell into the
groups of the parameter contract (:mod:`tennis_lab.params`) and checks each group
with the function of the module that uses it, so that a bad value raises that
module's error (``WindowingError``, ``ModelParamError``, ``EvaluationError``,
``TrainingError``) with ``key``, ``value`` and ``fix`` set. The training notebook
calls it in its first code cell; the search's preflight calls it for every
combination of a grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tennis_lab import params as contract
from tennis_lab.evaluation import EvaluationError, check_evaluation_params
from tennis_lab.model import check_model_params
from tennis_lab.training.fitting import check_training_params
from tennis_lab.windows import check_data_params


@dataclass(frozen=True)
class RunParams:
    """A run's checked parameters: one dict per group, as its modules take them.

    Attributes
    ----------
    data : dict
        For :func:`tennis_lab.windows.make_windows` (and the windows cache).
    model : dict
        For :func:`tennis_lab.model.build_model`, checked (whole numbers and floats).
    training : dict
        Every training setting (:func:`tennis_lab.training.check_training_params`).
    evaluation : dict
        For :func:`tennis_lab.evaluation.make_splits`; ``test_groups`` as a list.
    folds : int
        1: one split; k > 1: k folds; 0: leave one group out.
    """

    data: dict[str, Any]
    model: dict[str, Any]
    training: dict[str, Any]
    evaluation: dict[str, Any]
    folds: int


def check_run_params(values: Mapping[str, Any]) -> RunParams:
    """Check a run's parameters group by group: data, model, evaluation, training.

    Parameters
    ----------
    values : mapping
        Parameter name -> value, such as a notebook's ``globals()``: the run
        parameters among them (:func:`tennis_lab.params.pick`) are checked, a group's
        missing ones take their defaults, other names are left alone.

    Returns
    -------
    RunParams

    Raises
    ------
    WindowingError, ModelParamError, EvaluationError, TrainingError
        The first bad value, in that order of groups, with ``key``, ``value`` and
        ``fix`` set; a continued run (``initial_epoch`` > 0) without its checkpoint
        file(s) included.
    """
    run = contract.split(contract.pick(values), fill=True)
    check_data_params(run.data)
    model = check_model_params(run.model)
    evaluation = dict(run.evaluation, test_groups=list(run.evaluation["test_groups"]))
    folds = check_evaluation_params(
        evaluation["split_by"], evaluation["cv_folds"], evaluation["test_groups"]
    )
    with contract.reported_as(EvaluationError):
        contract.check(evaluation)
    training = check_training_params(run.training, folds=folds)
    return RunParams(run.data, model, training, evaluation, folds)
