"""The model's parameters (the contract's model group), their check, and its error."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from tennis_lab import params as contract
from tennis_lab.errors import TennisLabError

# What the builder takes: the contract's model group (family, architecture, learning rate).
MODEL_DEFAULTS: dict[str, Any] = contract.defaults("model")
MODEL_PARAMS = contract.names("model")
MODEL_FAMILIES = contract.MODEL_FAMILIES
FEATURES = contract.FEATURES
_INT_LISTS = ("lstm_layers", "gru_layers", "tcn_dilations", "stgcn_channels")
_INTS = ("dense_units", "tcn_filters", "tcn_kernel_size", "transformer_width",
         "transformer_heads", "transformer_blocks", "stgcn_kernel_size")  # fmt: skip


class ModelParamError(TennisLabError, ValueError):
    """An architecture parameter that cannot build a model; ``key`` names it."""


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_model_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate architecture parameters and fill in defaults.

    Parameters
    ----------
    values : mapping
        Any of :data:`MODEL_PARAMS`; a missing one takes its value from
        :data:`MODEL_DEFAULTS`.

    Returns
    -------
    dict
        Every model parameter, validated.

    Raises
    ------
    ModelParamError
        Naming the parameter (``key``), its value and the fix: unknown name, empty or
        non-positive layers, dropout rates whose count does not match the layers or
        outside [0, 1), learning rate <= 0, non-boolean switches, an unknown family or
        features, heads that do not divide the transformer's width.
    """
    unknown = sorted(set(values) - set(MODEL_PARAMS))
    if unknown:
        raise ModelParamError(
            f"unknown model parameter(s) {unknown}; the model takes {list(MODEL_PARAMS)}.",
            key=unknown[0],
            value=values[unknown[0]],
        )
    p = {**MODEL_DEFAULTS, **values}
    with contract.reported_as(ModelParamError):
        contract.check(p)
    for name in _INT_LISTS:
        p[name] = [int(u) for u in p[name]]
    for name in _INTS:
        p[name] = int(p[name])
    p["dropout_rates"] = [float(r) for r in p["dropout_rates"]]
    p["dropout"] = float(p["dropout"])
    p["learning_rate"] = float(p["learning_rate"])
    return p
