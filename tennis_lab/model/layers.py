"""The model's own Keras layers, registered for saving (package ``tennis_lab``), so a
saved ``.keras`` file or a logged model loads wherever ``tennis_lab.model`` is imported.

Keras 3 operations only (:mod:`keras.ops`): every backend runs them.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

_PACKAGE = "tennis_lab"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FrameFeatures(keras.layers.Layer):
    """Raw windows (batch, frames, landmarks x channels) -> positions and one derived
    quantity per landmark and channel: (batch, frames, landmarks x 2 channels).

    ``mode``: ``positions+velocity`` (frame-to-frame differences, zero at the first
    frame) or ``positions+bones`` (each landmark minus its skeleton parent; zero for a
    root). The output stays landmark-major: landmark 0's channels, then its derived
    channels, then landmark 1's, ...
    """

    def __init__(self, mode: str, landmarks: int, channels: int,
                 parents: Sequence[int] | None = None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.mode = str(mode)
        self.landmarks = int(landmarks)
        self.channels = int(channels)
        self.parents = [int(i) for i in parents] if parents is not None else None

    def call(self, x):
        frames = x.shape[1]
        p = ops.reshape(x, (-1, frames, self.landmarks, self.channels))
        if self.mode == "positions+bones":
            extra = p - ops.take(p, np.asarray(self.parents, dtype="int32"), axis=2)
        else:
            step = p[:, 1:] - p[:, :-1]
            extra = ops.concatenate([ops.zeros_like(p[:, :1]), step], axis=1)
        both = ops.concatenate([p, extra], axis=-1)
        return ops.reshape(both, (-1, frames, self.landmarks * 2 * self.channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.landmarks * 2 * self.channels)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "landmarks": self.landmarks,
                "channels": self.channels, "parents": self.parents}  # fmt: skip


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FramePositions(keras.layers.Layer):
    """Adds a learned embedding of each frame's position: (batch, frames, width)."""

    def build(self, input_shape):
        self.positions = self.add_weight(
            shape=(int(input_shape[1]), int(input_shape[2])),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="positions",
        )

    def call(self, x):
        return x + self.positions

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GraphMix(keras.layers.Layer):
    """Mixes each landmark's features with its neighbours': (batch, frames, landmarks, c)
    times a fixed normalised adjacency (landmarks x landmarks)."""

    def __init__(self, adjacency, **kwargs):
        super().__init__(**kwargs)
        self.adjacency = [[float(v) for v in row] for row in np.asarray(adjacency)]

    def call(self, x):
        a = ops.convert_to_tensor(np.asarray(self.adjacency, dtype="float32"))
        return ops.einsum("vw,btwc->btvc", a, x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "adjacency": self.adjacency}
