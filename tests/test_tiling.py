"""Tiled evaluation is exact: same Gram statistics, same losses, same gradient."""

from __future__ import annotations

import pytest
import torch

from gramscope import losses
from gramscope.image import resize_long_side, to_tensor
from gramscope.objective import Objective
from gramscope.options import StyleOptions
from gramscope.tiling import halo_for, receptive_radius, tiled_features, tiled_grams, tiles

LAYERS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]


def test_receptive_field_and_halo():
    assert receptive_radius("conv1_1") == 2  # a 3×3 conv sees one pixel either side (+1)
    assert receptive_radius("conv5_1") == 79  # 156 px receptive field
    assert halo_for(["conv1_1", "conv5_1"]) == 96  # rounded up to the pooling grid


def test_tiles_cover_the_image_once():
    covered = torch.zeros(150, 230, dtype=torch.int32)
    for t in tiles(150, 230, 64, 96):
        covered[t.y0:t.y1, t.x0:t.x1] += 1
        assert t.y0 % 32 == 0 and t.x0 % 32 == 0 and t.ey0 % 32 == 0 and t.ex0 % 32 == 0
    assert bool((covered == 1).all())


@pytest.fixture(scope="module")
def picture(tiny_content_module):
    return to_tensor(tiny_content_module)


@pytest.fixture(scope="module")
def tiny_content_module():
    from tests.conftest import tiny

    return resize_long_side(tiny("tubingen", 200), 200)  # 200×150: several 64-px tiles


def test_tiled_grams_and_features_equal_the_whole_image(vgg, picture):
    whole = vgg(picture, LAYERS + ["conv4_2"])
    grams, positions = tiled_grams(vgg, picture, LAYERS, tile=64)
    for layer in LAYERS:
        expected = losses.gram_matrix(whole[layer])
        assert positions[layer] == whole[layer][0, 0].numel(), layer
        assert torch.allclose(grams[layer], expected, rtol=1e-4, atol=1e-3 * expected.abs().max())
    stitched = tiled_features(vgg, picture, ["conv4_2"], tile=64)["conv4_2"]
    assert stitched.shape == whole["conv4_2"].shape
    assert torch.allclose(stitched, whole["conv4_2"], rtol=1e-4, atol=1e-4)


def test_tiled_loss_and_gradient_equal_the_untiled_ones(vgg, picture, tiny_style):
    options = StyleOptions(size=200, scales=1, tv_weight=1e-3, tv_chroma=30.0)
    style = to_tensor(tiny_style)
    content = picture.flip(-1).contiguous()  # another image, so the content term is nonzero

    def evaluate(tile):
        objective = Objective(vgg, options, content, [style], [1.0], options.alpha, tile)
        image = picture.clone().requires_grad_(True)
        raw = objective.loss_and_grad(image, scale=1.0)
        return objective.parts(raw.tolist()), image.grad

    plain, plain_grad = evaluate(None)
    tiled, tiled_grad = evaluate(64)
    assert tiled["total"] == pytest.approx(plain["total"], rel=1e-4)
    assert tiled["content"] == pytest.approx(plain["content"], rel=1e-4)
    for layer, value in plain["style"].items():
        assert tiled["style"][layer] == pytest.approx(value, rel=1e-3), layer
    cosine = torch.nn.functional.cosine_similarity(plain_grad.flatten(), tiled_grad.flatten(), 0)
    assert cosine > 0.9999
    assert torch.allclose(tiled_grad, plain_grad, rtol=1e-3, atol=1e-4 * plain_grad.abs().max())
