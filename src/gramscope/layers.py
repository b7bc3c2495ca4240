"""The names of VGG-19's layers, one table for the whole package (no PyTorch needed).

Names follow the paper: ``conv4_2`` is the *rectified* output of that conv layer
("conv4_2" in Gatys et al. always means the ReLU's output); ``relu4_2`` is accepted as the
same thing; ``pool1`` … ``pool5`` are the pooling outputs.
"""

from __future__ import annotations

import re
from typing import Literal

from .errors import OptionsError

#: The sixteen convolutions, in forward order.
CONV_LAYERS: tuple[str, ...] = (
    "conv1_1", "conv1_2",
    "conv2_1", "conv2_2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4",
    "conv5_1", "conv5_2", "conv5_3", "conv5_4",
)  # fmt: skip

Pooling = Literal["max", "avg"]
Normalization = Literal["mean-activation", "none"]
Normalisation = Normalization  # the old name, kept for type hints written against it

#: Every output the network can return, in forward order.
LAYERS: tuple[str, ...] = tuple(
    name
    for conv in CONV_LAYERS
    for name in ((conv, f"pool{conv[4]}") if conv in {"conv1_2", "conv2_2", "conv3_4",
                                                       "conv4_4", "conv5_4"} else (conv,))
)
LAYER_INDEX = {name: i for i, name in enumerate(LAYERS)}

#: Number of channels (N_l in the paper) at each layer.
CHANNELS: dict[str, int] = {
    name: {"1": 64, "2": 128, "3": 256, "4": 512, "5": 512}[re.findall(r"\d", name)[0]]
    for name in LAYERS
}


def canonical_layer(name: str) -> str:
    """``relu4_2`` -> ``conv4_2``; unknown names raise with the list of valid ones."""
    key = name.strip().lower()
    if key.startswith("relu"):
        key = "conv" + key[4:]
    if key not in LAYER_INDEX:
        raise OptionsError(
            f"unknown layer {name!r}; choose from conv1_1 … conv5_4 (rectified outputs) "
            "or pool1 … pool5"
        )
    return key


def downsampling(layer: str) -> int:
    """How many times smaller than the input a layer's feature map is (1, 2, 4, 8, 16, 32)."""
    block = int(canonical_layer(layer)[4])
    return 2 ** (block - (0 if layer.startswith("pool") else 1))
