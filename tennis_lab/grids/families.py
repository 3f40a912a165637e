"""Which model family a grid's parameter belongs to (the contract's ``family`` field)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tennis_lab import params as contract

FAMILY = "model_family"


def _family_default(defaults: Mapping[str, Any]) -> str:
    return defaults.get(FAMILY, contract.BY_NAME[FAMILY].default)


def acts_in(sub: Mapping[str, Any], name: str, defaults: Mapping[str, Any]) -> bool:
    """Whether parameter ``name`` acts on some model family of sub-grid ``sub`` (its lists,
    or single fixed values)."""
    own = contract.FAMILY_OF.get(name)
    if not own:
        return True
    families = sub.get(FAMILY, _family_default(defaults))
    families = families if isinstance(families, list) else [families]
    return any(f in own for f in families)


def family_problem(
    merged: Mapping[str, list[Any]], defaults: Mapping[str, Any], ranges: bool = False
) -> tuple[str, str, str] | None:
    """(key, problem, fix) for a parameter of some families set in a sub-grid (``merged``:
    its fixed values and lists) whose ``model_family`` values are not all among them; for
    ``ranges``, only when none of the families drawn uses it. None when all is well."""
    families = merged.get(FAMILY, [_family_default(defaults)])
    for key in sorted(merged):
        own = contract.FAMILY_OF.get(key)
        if not own:
            continue
        others = [f for f in families if f not in own]
        if not others or (ranges and len(others) < len(families)):
            continue
        default = "" if FAMILY in merged else " (the default)"
        return (
            key,
            f"{key} {merged[key]!r} acts only on model_family {' or '.join(own)}, but "
            f"model_family {others[0]!r}{default} is set beside it.",
            f"put {key} in a sub-grid of its own with model_family: [{own[0]}] "
            "(see tennis_lab/grids/families.yaml), or remove it.",
        )
    return None


def family_defaults(
    combo: dict[str, Any], defaults: Mapping[str, Any], drawn: Sequence[str]
) -> dict[str, Any]:
    """``combo`` (drawn from ranges) with the drawn parameters of families other than its
    own at their defaults, so a run records no value that did not act."""
    family = combo.get(FAMILY, _family_default(defaults))
    for key in drawn:
        own = contract.FAMILY_OF.get(key)
        if own and family not in own:
            combo[key] = defaults.get(key, contract.BY_NAME[key].default)
    return combo
