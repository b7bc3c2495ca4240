"""The network: named layers, partial forward, frozen weights and the paper's normalisation."""

from __future__ import annotations

import pytest
import torch

from gramscope import vgg as vgg_module
from gramscope.errors import OptionsError
from gramscope.image import load_image, resize_long_side, to_tensor
from gramscope.samples import NORMALISATION_SAMPLES, sample_path
from gramscope.vgg import (
    NORMALISATION_SIZE,
    VGG19,
    mean_activations,
    normalisation_means,
    normalise,
)
from gramscope.weights import CONV_LAYERS, load_weights


def test_output_shapes_per_layer(vgg, tiny_content):
    image = to_tensor(tiny_content)  # (1, 3, 48, 64)
    out = vgg(image, ["conv1_1", "pool1", "conv3_1", "conv5_1"])
    assert tuple(out["conv1_1"].shape) == (1, 64, 48, 64)
    assert tuple(out["pool1"].shape) == (1, 64, 24, 32)
    assert tuple(out["conv3_1"].shape) == (1, 256, 12, 16)
    assert tuple(out["conv5_1"].shape) == (1, 512, 3, 4)
    assert all((feature >= 0).all() for feature in out.values())  # rectified


def test_forward_stops_at_the_deepest_layer_asked_for(vgg, tiny_content, monkeypatch):
    calls = []
    real = torch.nn.functional.conv2d
    monkeypatch.setattr(vgg_module.F, "conv2d", lambda *a, **k: calls.append(1) or real(*a, **k))
    vgg(to_tensor(tiny_content), ["conv2_1"])
    assert len(calls) == 3  # conv1_1, conv1_2, conv2_1


def test_weights_never_get_gradients(vgg, tiny_content):
    assert list(vgg.parameters()) == []
    image = to_tensor(tiny_content).requires_grad_(True)
    vgg(image, ["conv3_1"])["conv3_1"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(buffer.grad is None and not buffer.requires_grad for buffer in vgg.buffers())


@pytest.mark.slow
def test_pooling_choice(tiny_content):
    weights = load_weights()
    image = to_tensor(tiny_content)
    maxed = VGG19(weights, "max")(image, ["pool1"])["pool1"]
    averaged = VGG19(weights, "avg")(image, ["pool1"])["pool1"]
    conv = VGG19(weights, "max")(image, ["conv1_2"])["conv1_2"]
    assert torch.allclose(averaged, torch.nn.functional.avg_pool2d(conv, 2))
    assert (maxed >= averaged).all() and (maxed > averaged).any()
    with pytest.raises(OptionsError):
        VGG19(weights, "median")  # type: ignore[arg-type]


@pytest.mark.slow
def test_normalised_network_is_the_original_divided_by_mean_activation(tiny_content):
    """Parity with the paper's normalisation: every rectified map is the original map divided
    by its filter's mean activation, and downstream layers are unchanged up to that scale."""
    weights = load_weights()
    means = normalisation_means(weights)
    original = VGG19(weights)
    normalised = VGG19(normalise(weights, means))
    image = to_tensor(tiny_content)
    layers = ["conv1_1", "conv3_4", "conv5_1", "pool5"]
    a, b = original(image, layers), normalised(image, layers)
    for layer in ["conv1_1", "conv3_4", "conv5_1"]:
        expected = a[layer] / means[layer].view(1, -1, 1, 1)
        assert torch.allclose(b[layer], expected, rtol=1e-3, atol=1e-5), layer
    expected_pool = a["pool5"] / means["conv5_4"].view(1, -1, 1, 1)
    assert torch.allclose(b["pool5"], expected_pool, rtol=1e-3, atol=1e-5)


@pytest.mark.slow
def test_shipped_normalisation_matches_a_fresh_measurement():
    """The factors shipped for the default weights are what the samples give, and after
    normalising each filter's mean activation over them is 1."""
    weights = load_weights()
    images = [
        to_tensor(resize_long_side(load_image(sample_path(n)), NORMALISATION_SIZE))
        for n in NORMALISATION_SAMPLES
    ]
    shipped = normalisation_means(weights)
    fresh = mean_activations(weights, images)
    for name in CONV_LAYERS:
        assert torch.allclose(shipped[name], fresh[name], rtol=1e-3), name
    after = mean_activations(normalise(weights, shipped), images)
    for name in ("conv1_1", "conv3_1", "conv5_1"):
        alive = fresh[name] != 1  # filters that never fired are left as they are
        assert torch.allclose(after[name][alive], torch.ones(int(alive.sum())), rtol=1e-3)
    # The raw network's scale spreads over two orders of magnitude, as DESIGN.md measured.
    assert 20 < shipped["conv1_1"].mean() < 35 and 500 < shipped["conv3_4"].mean() < 800
