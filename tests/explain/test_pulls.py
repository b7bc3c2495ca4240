"""Where each term pulls: the per-term gradients split the engine's gradient exactly."""

from __future__ import annotations

import pytest
import torch

from gramscope.errors import OptionsError
from gramscope.explain.pulls import (
    CONTENT,
    TV,
    pull_maps,
    term_gradients,
    term_names,
    term_objectives,
)
from gramscope.objective import Objective
from gramscope.options import StyleOptions
from gramscope.transfer import scale_alpha, scale_inputs

TINY = StyleOptions(size=32, scales=1, steps=4, style_layers=("conv1_1", "conv2_1", "conv3_1"),
                    init="content")


@pytest.fixture(scope="module")
def maps(vgg, tiny_content, tiny_style):
    return pull_maps(tiny_content, tiny_style, TINY, net=vgg)


def test_at_a_content_start_only_style_pulls(maps):
    assert [row.step for row in maps.rows] == [0, 2, 4]  # start, middle, end
    start = maps.rows[0]
    assert list(start.maps) == [CONTENT, "conv1_1", "conv2_1", "conv3_1"]
    # The picture is the photo: F = P at every position, so not one pixel is pulled by it.
    assert start.totals[CONTENT] == 0.0 and start.values[CONTENT] == 0.0
    assert all(start.totals[layer] > 0 for layer in ("conv1_1", "conv2_1", "conv3_1"))
    assert maps.rows[-1].totals[CONTENT] > 0  # once the picture moved, content pulls back
    for row in maps.rows:
        assert row.maps[CONTENT].shape == (row.picture.height, row.picture.width)
        assert sum(row.shares().values()) == pytest.approx(1.0)
    assert "step 0: content 0 %" in maps.summary()


def test_the_terms_gradients_add_up_to_the_engines_gradient(vgg, tiny_content, tiny_style):
    """At a noise start (every term pulls), with TV on, and α, β, w_l all unequal."""
    # fp32: the check is the decomposition to 1e-4, below bf16's rounding (the default on a
    # CPU with native bf16 is off from it by about 7e-4 of the largest value).
    options = TINY.replace(init="noise", tv_weight=3e-4, style_layer_weights=(0.5, 0.2, 0.3),
                           precision="fp32")
    inputs = scale_inputs(options, tiny_content, [tiny_style], options.size, torch.device("cpu"))
    alpha = scale_alpha(options, tiny_content.size, 0, inputs.pixels)
    image = torch.randn(inputs.content.shape, generator=torch.Generator().manual_seed(1)) * 50
    image = (image + 128).clamp(0, 255)
    gradients, values = term_gradients(term_objectives(vgg, options, inputs, alpha), options,
                                       image)
    assert list(gradients) == term_names(options) == [CONTENT, "conv1_1", "conv2_1", "conv3_1",
                                                      TV]
    whole = Objective(vgg, options, inputs.net_content, inputs.styles, (1.0,), alpha)
    x = image.clone().requires_grad_(True)
    raw = whole.loss_and_grad(x, whole.norm)
    assert x.grad is not None
    summed = sum(gradients.values())
    assert isinstance(summed, torch.Tensor)
    scale = float(x.grad.abs().max())
    assert float((summed - x.grad).abs().max()) <= 1e-4 * scale
    # Every term matters: dropping any one of them breaks the sum by far more than that.
    for term, gradient in gradients.items():
        assert float((summed - gradient - x.grad).abs().max()) > 1e-3 * scale, term
    assert sum(values.values()) == pytest.approx(whole.parts(raw.tolist())["total"], rel=1e-5)


def test_steps_outside_the_run_are_refused(tiny_content, tiny_style, vgg):
    with pytest.raises(OptionsError, match="from 0 to the run's 4 steps"):
        pull_maps(tiny_content, tiny_style, TINY, at=(0, 9), net=vgg)
    with pytest.raises(OptionsError, match="nothing pulls"):
        pull_maps(tiny_content, tiny_style, TINY.replace(content_layers=(), beta=0.0), net=vgg)
