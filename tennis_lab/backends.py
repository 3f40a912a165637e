"""Which engine Keras trains on (TensorFlow or JAX), and how many CPU cores it may use.

Keras 3 runs the same model on TensorFlow, JAX or PyTorch; the backend is fixed when
``keras`` is first imported, from the ``KERAS_BACKEND`` environment variable. A run
chooses it with the notebook parameter ``keras_backend`` (the search's ``--backend``):
empty keeps ``$KERAS_BACKEND``, else :data:`DEFAULT_BACKEND`. JAX is the default: on
the minimal grid (demo data, 2 CPU cores) it ran a whole run 1.56x faster than
TensorFlow and its epochs 1.9x faster, with the same scores for the same seed
(``bench/bench_training.py``). TensorFlow is always installed and chosen with
``--backend tensorflow``. A model saved on one backend loads on the other (the
``.keras`` format does not depend on it). JAX compiles the training step in the
first epoch; the compiled steps are kept in ``<cache>/jax`` (beside the prepared
windows), so later runs of the same architecture, on this machine, skip most of it.

Parallel searches give each run a share of the machine's cores (``cpu_threads``).
TensorFlow takes its thread counts through ``tf.config``; JAX has no such setting
(its CPU client sizes its thread pool by the cores the process may run on), so a JAX
run is pinned to ``cpu_threads`` cores of its own: :func:`claim_cores` takes them
through lock files that the operating system releases when the process ends, so runs
at once on one machine, even of different searches, get different cores.

Every function here but :func:`keras_spares_tensorflow` runs before ``keras`` is
imported, and none of them imports it.
"""

from __future__ import annotations

import fcntl
import functools
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from tennis_lab import paths
from tennis_lab.errors import TennisLabError

BACKENDS = ("jax", "tensorflow")
DEFAULT_BACKEND = "jax"
# What to install for a backend that is missing (both come with tennis-lab).
_INSTALL_HINT = {"jax": "pip install 'jax>=0.4.30'", "tensorflow": "pip install tensorflow"}
# XLA's own CPU threading switches, set with a JAX run's core share (the cores it is
# pinned to are what holds the limit; these keep XLA from planning for more).
_XLA_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={n}"

_claimed: list = []  # open lock files of the cores this process holds


class BackendError(TennisLabError, ValueError):
    """A backend that is unknown, not installed, or can no longer be chosen."""


def resolve_backend(name: str | None = "") -> str:
    """The backend a run with ``keras_backend=name`` uses.

    Empty or None: ``$KERAS_BACKEND`` when set, else :data:`DEFAULT_BACKEND`.
    """
    chosen = (name or os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND).strip().lower()
    return chosen


def check_backend(name: str | None = "", *, source: str = "keras_backend") -> str:
    """Validate a backend choice before any run starts; return the resolved name.

    Raises
    ------
    BackendError
        Naming the value and where it came from (``source``, or ``$KERAS_BACKEND``
        when ``name`` is empty): not one of :data:`BACKENDS`, or its package is not
        installed (with the command that installs it).
    """
    chosen = resolve_backend(name)
    where = source if name else ("$KERAS_BACKEND" if os.environ.get("KERAS_BACKEND") else source)
    if chosen not in BACKENDS:
        raise BackendError(
            f"{where} {chosen!r} is not a backend tennis-lab supports; use one of "
            f"{', '.join(BACKENDS)}."
        )
    if importlib.util.find_spec(chosen) is None:
        raise BackendError(
            f"{where} {chosen!r}: the {chosen} package is not installed; "
            f"{_INSTALL_HINT.get(chosen, f'pip install {chosen}')}, or choose another backend."
        )
    return chosen


def use_backend(
    name: str | None = "", cpu_threads: int = 0, cache_root: str | Path | None = None
) -> str:
    """Make Keras use ``name`` with at most ``cpu_threads`` cores (0: no limit); return it.

    Call before ``keras`` is imported (the first cell of a notebook does). With JAX and
    a limit, the process is pinned to that many cores of its own (:func:`claim_cores`)
    before JAX starts; with TensorFlow, its intra- and inter-op thread counts are set.
    With JAX, compiled steps are kept in ``<cache_root>/jax`` (default cache root:
    :func:`tennis_lab.paths.cache_dir`) and reused by later runs.

    Raises
    ------
    BackendError
        From :func:`check_backend`; or Keras was already imported with another backend
        in this process (restart the kernel to change it).
    """
    chosen = check_backend(name)
    keras = sys.modules.get("keras")
    if keras is not None:
        current = keras.backend.backend()
        if current != chosen:
            raise BackendError(
                f"keras_backend {chosen!r}: Keras is already running on {current!r} in this "
                "process; restart the kernel (the backend is fixed at Keras' first import)."
            )
    os.environ["KERAS_BACKEND"] = chosen
    threads = int(cpu_threads or 0)
    if threads > 0 and chosen == "jax":
        _limit_jax(threads)
    elif threads > 0 and chosen == "tensorflow":
        _limit_tensorflow(threads)
    if chosen == "jax":
        keep_compiled_steps(paths.cache_dir(cache_root) / "jax")
    return chosen


def keep_compiled_steps(folder: Path) -> None:
    """Keep what JAX compiles in ``folder`` and reuse it (JAX's persistent cache).

    Every program is kept, the small ones too: building a model compiles one per
    weight initializer. Measured on the demo data, with a run of the same architecture
    (any learning rate) cached: building the model took 1.2 s instead of 8.7 s, the
    first epoch 1.3 s instead of 6.0 s. The folder holds kilobytes per architecture.
    """
    import jax

    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def keras_spares_tensorflow() -> bool:
    """On a backend other than TensorFlow, keep Keras from importing TensorFlow for nothing.

    Keras 3 treats TensorFlow as an optional companion on every backend: seeding
    (``keras.utils.set_random_seed``) and saving a model (``model.save``) ask whether
    it is installed, and asking imports it. On JAX that import (once per process, by
    whichever asks first) took 3-4 s of every run, for a seed no JAX run uses and type
    checks no JAX model needs. After this call Keras sees TensorFlow only once
    something else has imported it (then as before). Call after the backend is
    chosen; calling it again does nothing. It changes nothing on TensorFlow, or where
    Keras keeps its optional modules otherwise (another Keras version): there
    TensorFlow is imported as before.

    Returns
    -------
    bool
        Whether Keras now spares the import.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        return False
    from keras.src.utils import module_utils

    lazy = getattr(module_utils, "tensorflow", None)
    base = getattr(module_utils, "LazyModule", None)
    if lazy is None or base is None:
        return False
    if isinstance(lazy, _imported_only(base)):
        return True
    if type(lazy) is not base or getattr(lazy, "module", None) is not None:
        return False  # another kind of module, or TensorFlow imported already
    lazy.__class__ = _imported_only(base)
    return True


@functools.cache
def _imported_only(base: type) -> type:
    """Keras' lazy module, available only when its module is imported already."""

    class ImportedOnly(base):
        @property
        def available(self) -> bool:
            if self.module is None and self.name not in sys.modules:
                return False  # not imported: do not import it only to ask
            return base.available.fget(self)

    return ImportedOnly


def _limit_tensorflow(threads: int) -> None:
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, threads // 2))
    except RuntimeError:  # TensorFlow already ran: its pools are sized for good
        current = tf.config.threading.get_intra_op_parallelism_threads()
        if current != threads:
            raise BackendError(
                f"cpu_threads {threads}: TensorFlow already runs with "
                f"{current or 'all the cores'} threads in this process; restart the kernel "
                "to change it."
            ) from None


def _limit_jax(threads: int) -> None:
    if "jax" in sys.modules and _jax_started():
        raise BackendError(
            f"cpu_threads {threads}: JAX already started in this process with its own thread "
            "pool; restart the kernel to limit it."
        )
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {_XLA_THREAD_FLAGS.format(n=threads)}".strip()
    claim_cores(threads)


def _jax_started() -> bool:
    from jax._src import xla_bridge

    return bool(getattr(xla_bridge, "_backends", None))


def cores_folder() -> Path:
    """Where the per-core lock files live (one folder per machine and user)."""
    return Path(tempfile.gettempdir()) / f"tennis_lab_cores_{os.getuid()}"


def claim_cores(count: int) -> set[int]:
    """Pin this process to ``count`` of the cores it may use, free ones first; return them.

    A core is claimed by holding an exclusive lock on ``cores_folder()/<core>.lock``
    for the life of the process: the lock goes when the process ends, however it ends,
    so a crashed run never keeps its cores. When fewer than ``count`` cores are free
    (more runs than cores), the rest are shared with other runs. ``count`` at or above
    the cores available leaves the process unpinned.
    """
    available = sorted(os.sched_getaffinity(0))
    if count <= 0 or count >= len(available):
        return set(available)
    folder = cores_folder()
    folder.mkdir(parents=True, exist_ok=True)
    taken: list[int] = []
    for core in available:
        if len(taken) == count:
            break
        handle = open(folder / f"{core}.lock", "a")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _claimed.append(handle)
        taken.append(core)
    # More runs than cores: the rest of the share on cores other runs hold.
    for core in available:
        if len(taken) == count:
            break
        if core not in taken:
            taken.append(core)
    os.sched_setaffinity(0, set(taken))
    return set(taken)
