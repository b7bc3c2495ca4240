"""Feature-map grids: the right channels, in the right order, on the right scale."""

from __future__ import annotations

import pytest
import torch

from gramscope.errors import OptionsError
from gramscope.explain.features import (
    channel_strengths,
    feature_grid,
    normalise_maps,
    strongest_channels,
)
from gramscope.image import to_tensor


def test_strongest_channels_come_first():
    features = torch.zeros(1, 5, 2, 2)
    for channel, level in enumerate([0.5, 3.0, 0.0, 2.0, 1.0]):
        features[0, channel] = level
    assert channel_strengths(features).tolist() == [0.5, 3.0, 0.0, 2.0, 1.0]
    assert strongest_channels(features, 3) == [1, 3, 4]
    assert strongest_channels(features, 99) == [1, 3, 4, 0, 2]


def test_normalisation_per_channel_and_per_layer():
    maps = torch.tensor([[[1.0, 2.0]], [[0.0, 8.0]]])  # (2, 1, 2)
    per_channel = normalise_maps(maps, "channel")
    assert per_channel.tolist() == [[[0.5, 1.0]], [[0.0, 1.0]]]
    per_layer = normalise_maps(maps, "layer")
    assert per_layer.tolist() == [[[0.125, 0.25]], [[0.0, 1.0]]]
    assert normalise_maps(torch.zeros(1, 2, 2), "channel").abs().sum() == 0  # dead channel
    with pytest.raises(OptionsError):
        normalise_maps(maps, "image")  # type: ignore[arg-type]


def test_feature_grid_shapes_and_order(vgg, tiny_content):
    grid = feature_grid(tiny_content, "relu2_1", count=6, size=64, net=vgg)
    assert grid.layer == "conv2_1"
    # 64×48 input, one pooling before conv2_1: 32×24 maps.
    assert grid.maps.shape == (6, 24, 32)
    assert grid.strengths == sorted(grid.strengths, reverse=True)
    features = vgg(to_tensor(grid.image), ["conv2_1"])["conv2_1"]
    assert grid.channels == strongest_channels(features, 6)
    assert torch.allclose(grid.maps.flatten(1).amax(dim=1), torch.ones(6))
    layer_grid = feature_grid(tiny_content, "conv2_1", count=6, size=64, normalize="layer",
                              net=vgg)
    peaks = layer_grid.maps.flatten(1).amax(dim=1)
    assert float(peaks.max()) == pytest.approx(1.0) and float(peaks.min()) < 1.0
    assert grid.png().startswith(b"\x89PNG")


def test_feature_grid_rejects_bad_requests(vgg, tiny_content):
    with pytest.raises(OptionsError, match="unknown layer"):
        feature_grid(tiny_content, "conv9_1", net=vgg)
    with pytest.raises(OptionsError, match="count"):
        feature_grid(tiny_content, "conv1_1", count=0, net=vgg)
