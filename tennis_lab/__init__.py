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

from tennis_lab.demo import make_demo_dataset  # noqa: E402
from tennis_lab.evaluation import EvaluationError, Split, make_folds, make_split  # noqa: E402
from tennis_lab.poses import DataFormatError, PoseDataset, Recording, load_dataset  # noqa: E402
from tennis_lab.windows import WindowingError, WindowSet, make_windows  # noqa: E402

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
