"""The bodies of the model families beyond the LSTM: GRU, TCN, transformer, ST-GCN.

Each ``*_body(x, p, ...)`` takes the standardised windows (a Keras tensor, batch x
frames x features) and the checked parameters, and returns a pooled (batch, units)
tensor; :func:`tennis_lab.model.build_model` adds the dense head. Layer names are
stable (``gru_1``, ``tcn_block_1_conv_a``, ...), so two builds with one seed match.
"""

from __future__ import annotations

from typing import Any


def _norm_drop(x, p: dict[str, Any], name: str):
    """Batch normalisation (when use_batch_norm), then dropout."""
    from keras import layers

    if p["use_batch_norm"]:
        x = layers.BatchNormalization(name=f"batch_norm_{name}")(x)
    return layers.Dropout(p["dropout"], name=f"dropout_{name}")(x)


def gru_body(x, p: dict[str, Any]):
    """Stacked GRU layers (bidirectional when use_bidirectional), the last one pooled."""
    from keras import layers

    last = len(p["gru_layers"]) - 1
    for i, units in enumerate(p["gru_layers"]):
        gru = layers.GRU(units, return_sequences=i < last, name=f"gru_{i + 1}")
        if p["use_bidirectional"]:
            gru = layers.Bidirectional(gru, name=f"bidirectional_{i + 1}")
        x = _norm_drop(gru(x), p, str(i + 1))
    return x


def tcn_body(x, p: dict[str, Any]):
    """Residual blocks of two causal dilated 1-D convolutions, one block per dilation,
    then the mean over frames."""
    from keras import layers

    filters, kernel = p["tcn_filters"], p["tcn_kernel_size"]
    for i, rate in enumerate(p["tcn_dilations"]):
        name = f"tcn_block_{i + 1}"
        y = x
        for part in ("a", "b"):
            y = layers.Conv1D(filters, kernel, dilation_rate=rate, padding="causal",
                              activation="relu", name=f"{name}_conv_{part}")(y)  # fmt: skip
            y = _norm_drop(y, p, f"{name}_{part}")
        shortcut = (
            x if x.shape[-1] == filters else layers.Conv1D(filters, 1, name=f"{name}_shortcut")(x)
        )
        x = layers.Activation("relu", name=f"{name}_out")(
            layers.Add(name=f"{name}_add")([y, shortcut])
        )
    return layers.GlobalAveragePooling1D(name="pool")(x)


def transformer_body(x, p: dict[str, Any]):
    """A dense projection to the model width, a learned embedding of each frame's position,
    pre-norm encoder blocks (multi-head self-attention, a two-layer feed-forward, residual
    connections), then the mean over frames."""
    from keras import layers

    from tennis_lab.model.layers import FramePositions

    width, heads = p["transformer_width"], p["transformer_heads"]
    x = layers.Dense(width, name="project")(x)
    x = FramePositions(name="frame_positions")(x)
    for i in range(p["transformer_blocks"]):
        name = f"encoder_{i + 1}"
        h = layers.LayerNormalization(name=f"{name}_norm_a")(x)
        h = layers.MultiHeadAttention(heads, width // heads, dropout=p["dropout"],
                                      name=f"{name}_attention")(h, h)  # fmt: skip
        x = layers.Add(name=f"{name}_add_a")([x, layers.Dropout(p["dropout"])(h)])
        h = layers.LayerNormalization(name=f"{name}_norm_b")(x)
        h = layers.Dense(2 * width, activation="relu", name=f"{name}_feed_a")(h)
        h = layers.Dense(width, name=f"{name}_feed_b")(h)
        x = layers.Add(name=f"{name}_add_b")([x, layers.Dropout(p["dropout"])(h)])
    x = layers.LayerNormalization(name="encoder_norm")(x)
    return layers.GlobalAveragePooling1D(name="pool")(x)


def stgcn_body(x, p: dict[str, Any], landmarks: int, adjacency):
    """Spatial-temporal graph blocks over (frames, landmarks, channels): mix each landmark
    with its neighbours (normalised adjacency), a per-landmark dense layer, a temporal
    convolution over frames, a residual connection; then the mean over frames and
    landmarks."""
    from keras import layers

    from tennis_lab.model.layers import GraphMix

    frames, features = int(x.shape[1]), int(x.shape[2])
    x = layers.Reshape((frames, landmarks, features // landmarks), name="landmarks")(x)
    for i, channels in enumerate(p["stgcn_channels"]):
        name = f"stgcn_block_{i + 1}"
        y = GraphMix(adjacency, name=f"{name}_graph")(x)
        y = layers.Dense(channels, name=f"{name}_spatial")(y)
        if p["use_batch_norm"]:
            y = layers.BatchNormalization(name=f"batch_norm_{name}_spatial")(y)
        y = layers.Activation("relu", name=f"{name}_spatial_relu")(y)
        y = layers.Conv2D(channels, (p["stgcn_kernel_size"], 1), padding="same",
                          name=f"{name}_temporal")(y)  # fmt: skip
        if p["use_batch_norm"]:
            y = layers.BatchNormalization(name=f"batch_norm_{name}_temporal")(y)
        shortcut = (
            x if x.shape[-1] == channels else layers.Dense(channels, name=f"{name}_shortcut")(x)
        )
        x = layers.Activation("relu", name=f"{name}_out")(
            layers.Add(name=f"{name}_add")([y, shortcut])
        )
        x = layers.Dropout(p["dropout"], name=f"dropout_{name}")(x)
    return layers.GlobalAveragePooling2D(name="pool")(x)
