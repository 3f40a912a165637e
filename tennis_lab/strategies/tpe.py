"""TPE: Optuna's tree-structured Parzen estimator over a ranges file, by ask and tell."""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tennis_lab import grids
from tennis_lab.results import STATUS_COMPLETED, STATUS_FAILED
from tennis_lab.strategies.base import (
    Outcome,
    Strategy,
    TrialSpec,
    whole_number,
)

TRIAL_ATTR = "tennis_lab_trial"  # an Optuna trial's user attribute: our trial number
ROLE_ATTR = "tennis_lab_role"  # "duplicate" or "invalid": Optuna trials never run
SPACE_ATTR = "tennis_lab_space"  # the study's user attribute: its search space
PATIENCE = 10  # proposals in a row that repeat a trial before random draws are used
ENUMERATE_UP_TO = 10_000  # a finite space this small is listed: its end is known


def _ranges_json(ranges: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Ranges as JSON: a :class:`grids.Range` as ``[low, high, kind]``, choices as given."""
    out: dict[str, list[Any]] = {}
    for key, spec in ranges.items():
        if isinstance(spec, grids.Range):
            out[key] = [spec.low, spec.high, spec.kind]
        elif isinstance(spec, list | tuple) and spec:
            out[key] = json.loads(json.dumps(list(spec)))
        else:
            raise ValueError(
                f"ranges[{key!r}] is {spec!r}; expected a non-empty list of choices or a range "
                "[min, max, int|float|log] (see grids.load_ranges)."
            )
    return out


def _as_range(key: str, spec: list[Any]) -> grids.Range | list[Any]:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in spec[:2])
    if len(spec) == 3 and spec[2] in grids.RANGE_TYPES and numbers:
        low, high, kind = spec
        if not low < high or (kind == "log" and low <= 0):
            raise ValueError(
                f"ranges[{key!r}] = {spec!r} needs min < max"
                + (" and min > 0 for log." if kind == "log" else ".")
            )
        return grids.Range(float(low), float(high), kind)
    return list(spec)


def _whole_default(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sqlite_url(storage: str | Path) -> str:
    text = str(storage)
    if text.startswith("sqlite:"):
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class TPEStrategy(Strategy):
    """Tree-structured Parzen estimator search through Optuna's ask-and-tell.

    Each proposal is ``study.ask()`` over the ranges; its result is told with
    ``study.tell`` (a failed run as ``TrialState.FAIL``). Encoding: an ``int`` range,
    and a ``float`` or ``log`` range of a whole-number parameter (by ``defaults``),
    is an integer distribution (ints); ``float`` and ``log`` ranges are float ones;
    a list of choices is categorical, over each choice's JSON text when a choice is
    a list (``lstm_layers``), decoded back. Optuna trials that are not run are marked
    with the user attribute ``tennis_lab_role``: a proposal with overlap >=
    window_size is told FAIL (``invalid``); one that repeats a told combination is
    told that combination's value (or FAIL), one that repeats a running combination
    FAIL (``duplicate``). Then it asks again. After :data:`PATIENCE` such proposals
    in a row, the next ones are seeded random draws: of the combinations not yet
    tried when the space is finite and small (at most :data:`ENUMERATE_UP_TO`),
    else by Optuna's ``RandomSampler``. The space is ``exhausted`` when every valid
    combination of a small finite space is tried, or after ``max_tries`` proposals
    in a row without a new one; the search then finishes with fewer trials.

    Parameters
    ----------
    ranges : mapping
        ``grids.load_ranges`` output (or its JSON form: ``[min, max, kind]`` or a list
        of choices per name).
    n_trials : int
        Trials to run in all (a resumed study counts those it holds).
    seed : int
        The sampler's seed (a resumed study's sampler gets ``seed`` plus its number of
        Optuna trials, so it does not propose the same startup trials again).
    defaults : mapping, optional
        The notebook's parameters: whole-number parameters, and ``window_size`` /
        ``overlap`` when the ranges leave them out.
    storage : str or path, optional
        An SQLite file (or ``sqlite:///`` URL) for the study; only the search process
        writes it. If it holds the study already, the search resumes it: its
        finished trials count, its running ones are ``running`` (to run again or
        tell). None: in memory, resumed by :meth:`Strategy.from_state`.
    workers : int
        At most this many trials in flight: ``ask()`` returns at most ``workers -
        len(running)``.
    n_startup_trials : int
        Random trials before TPE models the results (Optuna's default 10).
    max_tries : int
        Proposals in a row that may be duplicates or invalid.
    study_name : str
        The study's name in ``storage``.
    """

    name = "tpe"

    def __init__(
        self,
        ranges: Mapping[str, Any],
        n_trials: int,
        seed: int = 42,
        defaults: Mapping[str, Any] | None = None,
        storage: str | Path | None = None,
        workers: int = 1,
        n_startup_trials: int = 10,
        max_tries: int = 100,
        study_name: str = "tennis_lab_tpe",
    ) -> None:
        import optuna

        super().__init__()
        if not isinstance(ranges, Mapping) or not ranges:
            raise ValueError(
                f"ranges must be a non-empty mapping of name -> choices or range; got {ranges!r}."
                " Load one with grids.load_ranges."
            )
        self.ranges = {k: _as_range(k, v) for k, v in _ranges_json(ranges).items()}
        self.n_trials = whole_number(n_trials, "n_trials", 1)
        self.seed = whole_number(seed, "seed", 0)
        self.defaults = json.loads(json.dumps(dict(defaults or {})))
        self.storage = None if storage is None else str(storage)
        self.workers = whole_number(workers, "workers", 1)
        self.n_startup_trials = whole_number(n_startup_trials, "n_startup_trials", 0)
        self.max_tries = whole_number(max_tries, "max_tries", 1)
        self.study_name = study_name
        self._replays = storage is None
        self._distributions, self._encoded = self._make_distributions()
        self.exhausted = False
        self._optuna: dict[int, int] = {}  # our trial number -> Optuna's
        self._known: dict[str, float | None] = {}  # config id -> score of told trials
        self._pending: set[str] = set()  # config ids asked and not told
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(
            study_name=study_name,
            storage=None if storage is None else optuna.storages.RDBStorage(_sqlite_url(storage)),
            direction="maximize",
            load_if_exists=True,
        )
        seed = self.seed + len(self.study.trials)
        self._tpe = optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup_trials)
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._rng = random.Random(seed)
        self.study.sampler = self._tpe
        self._finite = self._enumerate()
        self._load()

    def _make_distributions(self) -> tuple[dict[str, Any], set[str]]:
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        out, encoded = {}, set()
        for key, spec in sorted(self.ranges.items()):
            if isinstance(spec, list):
                if any(isinstance(c, list | dict) for c in spec):
                    encoded.add(key)
                    spec = [json.dumps(c) for c in spec]
                out[key] = CategoricalDistribution(spec)
            elif spec.kind == "int" or _whole_default(self.defaults.get(key)):
                low, high = math.ceil(spec.low), math.floor(spec.high)
                if low > high:
                    raise ValueError(
                        f"ranges[{key!r}] = [{spec.low:g}, {spec.high:g}, {spec.kind}] holds no "
                        f"whole number, but {key} takes whole numbers; widen the range."
                    )
                out[key] = IntDistribution(low, high, log=spec.kind == "log")
            else:
                out[key] = FloatDistribution(spec.low, spec.high, log=spec.kind == "log")
        return out, encoded

    def _decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        combo = {k: json.loads(v) if k in self._encoded else v for k, v in sorted(params.items())}
        return grids.coerce(combo, self.defaults)

    def _load(self) -> None:
        """Bookkeeping from the study's trials (a resumed study); check its space."""
        from optuna.distributions import distribution_to_json
        from optuna.trial import TrialState

        space = {k: json.loads(distribution_to_json(d)) for k, d in self._distributions.items()}
        stored = self.study.user_attrs.get(SPACE_ATTR)
        if stored is None:
            self.study.set_user_attr(SPACE_ATTR, space)
        elif stored != space:
            raise ValueError(
                f"storage {self.storage} holds study {self.study_name!r} over other ranges "
                f"({stored}); resume with the same ranges and defaults, or give a new storage "
                "path for a new search."
            )
        for frozen in self.study.get_trials(deepcopy=False):
            number = frozen.user_attrs.get(TRIAL_ATTR)
            if number is None:  # a duplicate or invalid proposal the last process left open
                if frozen.state == TrialState.RUNNING:
                    self.study.tell(frozen.number, state=TrialState.FAIL)
                continue
            spec = TrialSpec(number, self._decode(frozen.params))
            self._optuna[number] = frozen.number
            if frozen.state == TrialState.RUNNING:
                self._running[spec.key] = spec
                self._pending.add(spec.config_id)
            elif frozen.state == TrialState.COMPLETE:
                self._known[spec.config_id] = frozen.value
                self.outcomes.append(Outcome(spec, frozen.value, STATUS_COMPLETED))
            else:
                self._known[spec.config_id] = None
                self.outcomes.append(Outcome(spec, None, STATUS_FAILED))

    def _enumerate(self) -> dict[str, dict[str, Any]] | None:
        """Config id -> Optuna params of every valid combination of a small finite space."""
        from optuna.distributions import CategoricalDistribution, IntDistribution

        values = []
        for dist in self._distributions.values():
            if isinstance(dist, CategoricalDistribution):
                values.append(list(dist.choices))
            elif isinstance(dist, IntDistribution):
                values.append(list(range(dist.low, dist.high + 1, dist.step)))
            else:
                return None  # a float range: infinite
        if math.prod(len(v) for v in values) > ENUMERATE_UP_TO:
            return None
        out = {}
        for combo in itertools.product(*values):
            params = dict(zip(self._distributions, combo, strict=True))
            decoded = self._decode(params)
            if grids.overlap_ok(decoded, self.defaults):
                out.setdefault(grids.config_id(decoded), params)
        return out

    def _propose(self) -> TrialSpec | None:
        from optuna.trial import TrialState

        for attempt in range(self.max_tries):
            if self._finite is not None:
                left = sorted(set(self._finite) - self._pending - set(self._known))
                if not left:
                    return None  # every valid combination is told or running
            if attempt >= PATIENCE and self._finite is not None:
                self.study.enqueue_trial(self._finite[self._rng.choice(left)])
            if attempt >= PATIENCE and self._finite is None:
                self.study.sampler = self._random
            try:
                trial = self.study.ask(self._distributions)
            finally:
                self.study.sampler = self._tpe
            combo = self._decode(trial.params)
            cid = grids.config_id(combo)
            if not grids.overlap_ok(combo, self.defaults):
                trial.set_user_attr(ROLE_ATTR, "invalid")
                self.study.tell(trial, state=TrialState.FAIL)
            elif cid in self._pending or cid in self._known:
                trial.set_user_attr(ROLE_ATTR, "duplicate")
                value = self._known.get(cid)
                if value is None:
                    self.study.tell(trial, state=TrialState.FAIL)
                else:
                    self.study.tell(trial, value)
            else:
                number = len(self._optuna) + 1
                trial.set_user_attr(TRIAL_ATTR, number)
                self._optuna[number] = trial.number
                self._pending.add(cid)
                return TrialSpec(number, combo)
        return None

    def _next(self) -> list[TrialSpec]:
        room = min(self.workers - len(self._running), self.n_trials - len(self._optuna))
        specs: list[TrialSpec] = []
        while len(specs) < room and not self.exhausted:
            spec = self._propose()
            if spec is None:
                self.exhausted = True
            else:
                specs.append(spec)
        return specs

    def _record(self, spec: TrialSpec, score: float | None) -> None:
        from optuna.trial import TrialState

        number = self._optuna[spec.trial]
        if score is None:
            self.study.tell(number, state=TrialState.FAIL)
        else:
            self.study.tell(number, score)
        self._pending.discard(spec.config_id)
        self._known[spec.config_id] = score

    def _done(self) -> bool:
        return self.exhausted or len(self._optuna) >= self.n_trials

    @classmethod
    def create(cls, combinations: Sequence[Mapping[str, Any]], **options: Any) -> Strategy:
        """A new TPE search over ``options["ranges"]`` (it proposes its own combinations)."""
        return cls(
            options["ranges"], options["n_trials"], seed=options["seed"],
            defaults=options["defaults"], storage=options["storage"], workers=options["workers"],
        )  # fmt: skip

    def planned_runs(self) -> int:
        """Its trials."""
        return self.n_trials

    def _config(self) -> dict[str, Any]:
        return {
            "ranges": _ranges_json(self.ranges),
            "n_trials": self.n_trials,
            "seed": self.seed,
            "defaults": self.defaults,
            "storage": self.storage,
            "workers": self.workers,
            "n_startup_trials": self.n_startup_trials,
            "max_tries": self.max_tries,
            "study_name": self.study_name,
        }
