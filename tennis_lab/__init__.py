"""tennis-lab: find the best LSTM for tennis stroke recognition from pose sequences.

The stable entry points of the data side::

    load_dataset(path)                  -> PoseDataset
    make_windows(dataset, **params)     -> WindowSet
    make_split(windows, split_by=...)   -> Split (grouped: no player or video in two parts)
    make_folds(windows, k, split_by=...) -> list of Split (grouped cross-validation)
    make_demo_dataset(path, seed=...)   -> Path
"""

__version__ = "0.1.0"

import os as _os

# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) drowns the training
# log in notebooks; keep it quiet unless the user chose a level (0 shows everything).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tennis_lab.backends import DEFAULT_BACKEND as _DEFAULT_BACKEND  # noqa: E402

# Keras' backend, fixed when keras is first imported: tennis-lab's default unless the
# user chose one (see tennis_lab.backends).
_os.environ.setdefault("KERAS_BACKEND", _DEFAULT_BACKEND)

# The data side's entry points, imported on first use, so that importing one module of
# the package (``tennis_lab.results``, say) loads only what that module needs.
_ENTRY_POINTS = {
    "make_demo_dataset": "tennis_lab.demo",
    "EvaluationError": "tennis_lab.evaluation",
    "Split": "tennis_lab.evaluation",
    "make_folds": "tennis_lab.evaluation",
    "make_split": "tennis_lab.evaluation",
    "DataFormatError": "tennis_lab.poses",
    "PoseDataset": "tennis_lab.poses",
    "Recording": "tennis_lab.poses",
    "load_dataset": "tennis_lab.poses",
    "WindowingError": "tennis_lab.windows",
    "WindowSet": "tennis_lab.windows",
    "make_windows": "tennis_lab.windows",
}


def __getattr__(name: str):
    if name in _ENTRY_POINTS:
        import importlib

        return getattr(importlib.import_module(_ENTRY_POINTS[name]), name)
    raise AttributeError(f"module 'tennis_lab' has no attribute {name!r}")


__all__ = [
    "DataFormatError",
    "EvaluationError",
    "PoseDataset",
    "Recording",
    "Split",
    "WindowSet",
    "WindowingError",
    "load_dataset",
    "make_demo_dataset",
    "make_folds",
    "make_split",
    "make_windows",
]
