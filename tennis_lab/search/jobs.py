"""What a search's runs are: each trial spec made a job with its name, id, files, parameters.

:class:`Jobs` turns a strategy's :class:`tennis_lab.strategies.TrialSpec` into a
:class:`Job`: its MLflow run name, config id, executed notebook and result file
(:func:`tennis_lab.results.trial_file`), the notebook parameters the runner sets, the
CSV's trial columns and the console's label; it also keeps an adaptive trial's
checkpoints from rung to rung.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tennis_lab import grids
from tennis_lab.results import (
    ADAPTIVE_STRATEGIES,
    FIXED_STRATEGIES,
    PHASE_REPEAT,
    PHASE_SEARCH,
    run_name,
    trial_file,
)
from tennis_lab.search.config import SearchState
from tennis_lab.search.planning import run_parameters
from tennis_lab.search.ranking import varied
from tennis_lab.strategies import TrialSpec


@dataclass
class Job:
    """One run of a search: its spec and everything the runner derives from it."""

    spec: TrialSpec
    phase: str
    cid: str
    params: dict[str, Any]  # the notebook's tunable parameters of this run
    full_params: dict[str, Any]  # with the notebook's defaults: the CSV's columns
    notebook: Path  # the executed notebook
    result_file: Path
    name: str  # the MLflow run name
    extra: dict[str, Any]  # the CSV's trial columns (strategy, trial, rung, ...)
    label: str = ""  # "Run 3/12", "Trial 3 rung 1 (9 epochs)", "Repeat run 13 (...)"
    note: str = ""  # what the header says beside the run's number
    number: int | None = None  # the header's run number (None: the count of runs started)
    item: tuple = ()  # what the executor runs: (notebook, executed notebook, parameters)
    started: float | None = None  # when it began here (sequential runs)

    @property
    def tags(self) -> dict[str, Any]:
        """The trial columns that have a value: tags of its MLflow run."""
        return {k: v for k, v in self.extra.items() if v is not None and v != ""}


class Jobs:
    """The jobs of one search: run names, config ids, parameters, labels and checkpoints."""

    def __init__(self, state: SearchState, defaults: Mapping[str, Any], notebook: Path) -> None:
        self.state = state
        self.defaults = defaults
        self.notebook = notebook  # the notebook every run executes
        self.checkpoints = Path(state.notebooks_dir) / "checkpoints"
        self.repeat_info: dict[tuple[int, int], dict[str, Any]] = {}

    @property
    def settings(self) -> dict[str, Any]:
        """The search's settings (its flags, as the state file keeps them)."""
        return self.state.settings

    def run_name(self, trial: int, rung: int, params: Mapping[str, Any]) -> str:
        """The MLflow name of a run (:func:`tennis_lab.results.run_name`), with the
        parameters the search varies (a TPE trial: those it drew)."""
        names = self.varied_names if self.state.combinations else sorted(params)
        shown = [k for k in names if k not in ("seed", "epochs")]
        return run_name(self.state.grid, trial, rung, params, shown)

    @functools.cached_property
    def varied_names(self) -> list[str]:
        """The parameters whose value differs between the search's combinations."""
        combos = self.state.combinations
        return varied(combos, sorted({k for c in combos for k in c}))

    def cid(self, spec: TrialSpec, phase: str) -> str:
        """The config id of a run: a fixed search's own, else from its parameters."""
        ids = self.state.config_ids
        if phase == PHASE_SEARCH and self.state.strategy in FIXED_STRATEGIES:
            if 1 <= spec.trial <= len(ids):
                return ids[spec.trial - 1]
        return grids.config_id(run_parameters(spec.params, self.state.overrides))

    def checkpoint(self, trial: int, cid: str, rung: int) -> Path:
        """The checkpoint an adaptive trial writes at ``rung``."""
        return trial_file(self.checkpoints, trial, cid, ".keras", rung)

    def _repeat_seeds(self, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """A repeat's ``seed`` and ``split_seed``: the repeat's new seed goes where
        ``repeat_over`` says; the other keeps the finalist's own."""
        split = params.get("split_seed")
        split = params.get("seed") if split is None else split
        over = self.settings.get("repeat_over") or "seeds"
        if over == "seeds":
            return {"seed": seed, "split_seed": split}
        if over == "splits":
            return {"split_seed": seed}
        return {"seed": seed, "split_seed": None}

    def _parameters(self, spec: TrialSpec, phase: str) -> dict[str, Any]:
        """The run's notebook parameters: its combination, the overrides, its seeds, epochs."""
        params = run_parameters(spec.params, self.state.overrides)
        if phase == PHASE_REPEAT and spec.seed is not None:
            params.update(self._repeat_seeds(params, spec.seed))
        elif spec.seed is not None:
            params["seed"] = spec.seed
        if spec.epochs is not None:
            params["epochs"] = spec.epochs
        return params

    def _describe(
        self, spec: TrialSpec, phase: str, params: Mapping[str, Any], extra: dict[str, Any],
        total: int,
    ) -> tuple[int | None, str, str]:  # fmt: skip
        """The header's run number (None: the count of runs started), the label, the note."""
        adaptive = phase == PHASE_SEARCH and self.state.strategy in ADAPTIVE_STRATEGIES
        if phase == PHASE_REPEAT:
            extra.update(self.repeat_info.get(spec.key, {}))
            origin = extra.get("finalist_trial")
            note = f"finalist trial {origin}, seed {params['seed']}" + (
                f", split seed {params['split_seed']}"
                if params.get("split_seed") is not None
                else ""
            )
            return None, f"Repeat run {spec.trial} ({note})", note
        if adaptive:
            label = f"Trial {spec.trial} rung {spec.rung} ({spec.epochs} epochs)"
            note = f"trial {spec.trial}, rung {spec.rung}: {spec.epochs} epochs"
            if spec.initial_epoch:
                note = (
                    f"trial {spec.trial}, rung {spec.rung}: epochs {spec.initial_epoch} -> "
                    f"{spec.epochs}, continued from its checkpoint"
                )
            return None, label, note
        return spec.trial, f"Run {spec.trial}/{total}", ""

    def job(self, spec: TrialSpec, phase: str, total: int) -> Job:
        """The job of ``spec`` in ``phase``; ``total`` is the runs planned (for its label)."""
        state = self.state
        params = self._parameters(spec, phase)
        cid = self.cid(spec, phase)
        folder = state.notebooks_dir
        name = self.run_name(spec.trial, spec.rung, spec.params)
        notebook = trial_file(folder, spec.trial, cid, ".ipynb", spec.rung)
        result_file = trial_file(folder, spec.trial, cid, ".json", spec.rung)
        extra: dict[str, Any] = {
            "strategy": state.strategy, "trial": spec.trial, "rung": spec.rung,
            "epochs_budget": spec.epochs, "phase": phase,
        }  # fmt: skip
        run_params = {
            **params,
            "tracking_uri": state.tracking_uri,
            "experiment": state.experiment,
            "parent_run_id": state.parent_run_id,
            "search_id": state.search_id,
            "config_id": cid,
            "run_name": name,
            "result_path": str(result_file),
        }
        if phase == PHASE_SEARCH and state.strategy in ADAPTIVE_STRATEGIES:
            extra["initial_epoch"] = spec.initial_epoch
            run_params["initial_epoch"] = spec.initial_epoch
            run_params["checkpoint_path"] = str(self.checkpoint(spec.trial, cid, spec.rung))
        number, label, note = self._describe(spec, phase, params, extra, total)
        return Job(
            spec=spec, phase=phase, cid=cid, params=params,
            full_params={**self.defaults, **params}, notebook=notebook,
            result_file=result_file, name=name, extra=extra, label=label, note=note,
            number=number, item=(str(self.notebook), str(notebook), run_params),
        )  # fmt: skip

    # ------------------------------------------------------------ checkpoints

    def checkpoint_files(self, trial: int, cid: str, rung: int) -> list[Path]:
        """The checkpoint files of a trial's rung (one per fold when it has folds)."""
        path = self.checkpoint(trial, cid, rung)
        stem = path.name[: -len(path.suffix)]
        return sorted(path.parent.glob(f"{stem}.keras")) + sorted(
            path.parent.glob(f"{stem}.fold*.keras")
        )

    def carry_checkpoint(self, job: Job) -> None:
        """Copy the previous rung's checkpoint to this rung's path (the run overwrites it).

        So a rung that is run again after a kill starts from the same files.
        """
        spec = job.spec
        target = self.checkpoint(spec.trial, job.cid, spec.rung)
        old_stem = self.checkpoint(spec.trial, job.cid, spec.rung - 1).name[: -len(".keras")]
        new_stem = target.name[: -len(".keras")]
        for source in self.checkpoint_files(spec.trial, job.cid, spec.rung - 1):
            dest = source.with_name(new_stem + source.name[len(old_stem) :])
            tmp = dest.with_name(dest.name + ".copying")
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)

    def drop_checkpoint(self, trial: int, cid: str, rung: int) -> None:
        """Delete the checkpoint files of a trial's rung."""
        for path in self.checkpoint_files(trial, cid, rung):
            path.unlink(missing_ok=True)
