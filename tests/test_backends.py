"""Choosing the Keras backend and holding a run to its share of the cores (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from tennis_lab import backends
from tennis_lab.backends import BackendError, check_backend, resolve_backend

TWO_CORES = len(os.sched_getaffinity(0)) >= 2


def test_the_backend_is_the_parameter_else_the_environment_else_the_default(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert resolve_backend("") == backends.DEFAULT_BACKEND
    assert resolve_backend("TensorFlow") == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert resolve_backend("") == "jax" and resolve_backend(None) == "jax"
    assert resolve_backend("tensorflow") == "tensorflow"


def test_an_unknown_backend_is_named_with_the_choices(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    with pytest.raises(BackendError, match=r"--backend 'theano' .*jax, tensorflow"):
        check_backend("theano", source="--backend")
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    with pytest.raises(BackendError, match=r"\$KERAS_BACKEND 'numpy'"):
        check_backend("")


def test_both_backends_are_installed():
    assert check_backend("tensorflow") == "tensorflow"
    assert check_backend("jax") == "jax"
    assert backends.DEFAULT_BACKEND in backends.BACKENDS


def _python(code: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})}, **kw,
    )  # fmt: skip


CLAIM = """
    import json, os, sys, time
    from tennis_lab.backends import claim_cores
    claimed = sorted(claim_cores(1))
    print(json.dumps([claimed, sorted(os.sched_getaffinity(0))]), flush=True)
    time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


def _claim(env: dict) -> list[int]:
    out, err = _python(CLAIM, env).communicate(timeout=60)
    claimed, pinned = json.loads(out)
    assert claimed == pinned, err  # the process runs on the cores it claimed
    return claimed


@pytest.mark.skipif(not TWO_CORES, reason="needs two cores")
def test_runs_at_once_get_cores_of_their_own_and_a_dead_run_frees_its_core(tmp_path):
    env = {"TMPDIR": str(tmp_path)}  # a private set of core locks
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CLAIM), "60"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, **env},
    )  # fmt: skip
    try:
        first, pinned = json.loads(holder.stdout.readline())
        assert len(first) == 1 and first == pinned
        second = _claim(env)
        assert len(second) == 1 and second != first
    finally:
        holder.kill()  # as a crash would: the operating system drops its lock
        holder.wait()
    assert _claim(env) == first  # free again (the lowest free core comes first)


JAX_TRAINING = """
    import os, resource, time
    from tennis_lab.backends import use_backend
    use_backend("jax", 1)
    import numpy as np, keras
    assert keras.backend.backend() == "jax"
    X = np.random.rand(512, 30, 20).astype("float32"); y = np.random.randint(0, 3, 512)
    model = keras.Sequential([keras.Input((30, 20)), keras.layers.LSTM(32),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)  # compiles
    use = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    cpu, wall = use(), time.perf_counter()
    model.fit(X, y, epochs=3, batch_size=32, verbose=0)
    print(len(os.sched_getaffinity(0)), (use() - cpu) / (time.perf_counter() - wall))
"""


@pytest.mark.slow
@pytest.mark.skipif(not TWO_CORES, reason="needs two cores to show a limit")
def test_a_jax_run_limited_to_one_core_uses_one(tmp_path):
    proc = _python(JAX_TRAINING, {"TMPDIR": str(tmp_path), "KERAS_BACKEND": ""})
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    cores, busy = out.split()
    assert int(cores) == 1
    assert float(busy) < 1.15, f"JAX kept {float(busy):.2f} cores busy with a limit of 1"


@pytest.mark.slow
def test_the_backend_cannot_change_once_keras_runs():
    proc = _python(
        """
        import keras
        from tennis_lab.backends import BackendError, use_backend
        assert use_backend("tensorflow") == "tensorflow"  # the one running: fine
        try:
            use_backend("jax")
        except BackendError as error:
            print(error)
        """,
        {"KERAS_BACKEND": "tensorflow"},
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert "already running on 'tensorflow'" in out and "restart the kernel" in out


def test_claiming_every_core_pins_nothing(tmp_path):
    started = time.perf_counter()
    proc = _python(
        """
        import os
        from tennis_lab.backends import claim_cores
        every = os.sched_getaffinity(0)
        assert claim_cores(len(every)) == every and claim_cores(0) == every
        assert os.sched_getaffinity(0) == every
        print("ok")
        """,
        {"TMPDIR": str(tmp_path)},
    )
    out, err = proc.communicate(timeout=60)
    assert out.strip() == "ok", err
    assert time.perf_counter() - started < 60


def test_a_search_with_an_unknown_backend_stops_before_anything_runs(tmp_path):
    from tennis_lab.paths import notebooks_dir
    from tennis_lab.search import SearchConfig, SearchError, plan, tunable_defaults

    defaults = tunable_defaults(notebooks_dir() / "train.ipynb")
    cfg = SearchConfig(backend="theano", output_dir=str(tmp_path))
    with pytest.raises(SearchError, match=r"--backend 'theano' is not a backend"):
        plan(cfg, defaults, check=False)
    _, _, overrides = plan(SearchConfig(backend="tensorflow"), defaults, check=False)
    assert overrides["keras_backend"] == "tensorflow"  # given to every run


SPARES_TENSORFLOW = """
    import os, sys
    from tennis_lab.backends import keras_spares_tensorflow, use_backend
    from tennis_lab.training import set_seed
    work = os.environ["WORK"]
    use_backend("jax", cache_root=work)
    import numpy as np, keras

    def trained():
        set_seed(7)
        X = np.random.rand(64, 10, 4).astype("float32"); y = np.random.randint(0, 3, 64)
        model = keras.Sequential([keras.Input((10, 4)), keras.layers.LSTM(8),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(X, y, epochs=1, batch_size=16, verbose=0)
        return model

    first, second = trained(), trained()
    same = all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights()))
    first.save(work + "/m.keras")
    keras.models.load_model(work + "/m.keras")
    print("seeded alike:", same, "tensorflow imported:", "tensorflow" in sys.modules)
    assert keras_spares_tensorflow()  # again: nothing changes
    import tensorflow
    from keras.src.utils import module_utils
    print("seen once imported:", module_utils.tensorflow.available)
"""


@pytest.mark.slow
def test_a_jax_run_seeds_saves_and_loads_without_importing_tensorflow(tmp_path):
    proc = _python(SPARES_TENSORFLOW, {"KERAS_BACKEND": "", "WORK": str(tmp_path)})
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    # the same seed gives the same model, and TensorFlow (3-4 s to import) never loaded
    assert "seeded alike: True tensorflow imported: False" in out
    assert "seen once imported: True" in out  # imported by someone else: Keras uses it


@pytest.mark.slow
def test_tensorflow_runs_are_left_as_they_are():
    proc = _python(
        """
        from tennis_lab.backends import keras_spares_tensorflow, use_backend
        use_backend("tensorflow")
        print(keras_spares_tensorflow())
        """,
        {"KERAS_BACKEND": "tensorflow"},
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert out.strip() == "False"
