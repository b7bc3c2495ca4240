"""The layer table: names, aliases, channels and how far each layer is downsampled."""

from __future__ import annotations

import pytest

from gramscope.errors import OptionsError
from gramscope.layers import CHANNELS, LAYERS, canonical_layer, downsampling


def test_layer_names_and_aliases():
    assert LAYERS[:5] == ("conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2")
    assert LAYERS[-1] == "pool5" and len(LAYERS) == 21
    assert canonical_layer("relu4_2") == "conv4_2"
    with pytest.raises(OptionsError, match="unknown layer 'conv6_1'"):
        canonical_layer("conv6_1")
    assert canonical_layer(" ReLU1_1 ") == "conv1_1"


def test_channels_and_downsampling_follow_vgg19_blocks():
    """Simonyan & Zisserman's VGG-19: blocks of 64, 128, 256, 512, 512 filters, each block
    after the first starting behind a 2x2 pooling."""
    assert [CHANNELS[f"conv{b}_1"] for b in range(1, 6)] == [64, 128, 256, 512, 512]
    assert CHANNELS["pool3"] == CHANNELS["conv3_4"] == 256
    assert [downsampling(f"conv{b}_1") for b in range(1, 6)] == [1, 2, 4, 8, 16]
    assert [downsampling(f"pool{b}") for b in range(1, 6)] == [2, 4, 8, 16, 32]
    assert downsampling("relu4_2") == downsampling("conv4_4") == 8
    with pytest.raises(OptionsError, match="unknown layer"):
        downsampling("conv6_1")
