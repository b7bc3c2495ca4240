"""The objective at one scale: targets, terms, and the scale-control split (2017 §5)."""

from __future__ import annotations

import pytest
import torch

from gramscope import losses
from gramscope.errors import OptionsError
from gramscope.image import to_tensor
from gramscope.objective import Objective
from gramscope.options import StyleOptions


def test_coarse_style_supplies_the_layers_from_coarse_from_on(vgg, tiny_content, tiny_style):
    fine, coarse = to_tensor(tiny_style), to_tensor(tiny_content).flip(-1)
    options = StyleOptions(coarse_from="conv3_1", precision="fp32")  # compared in fp32
    objective = Objective(vgg, options, to_tensor(tiny_content), [fine], [1.0],
                          options.alpha, coarse=coarse)
    layers = list(options.layer_weights)
    fine_features = vgg(fine, layers)
    coarse_features = vgg(coarse, layers)
    for layer in layers:
        source = coarse_features if layer >= "conv3_1" else fine_features
        assert torch.allclose(objective.style_targets[layer],
                              losses.normalised_gram(source[layer])), layer


def test_a_coarse_split_at_an_unknown_layer_is_refused():
    with pytest.raises(OptionsError, match="unknown layer"):
        StyleOptions(coarse_from="conv9_1")


def test_raw_terms_and_their_weighted_parts_add_up(vgg, tiny_content, tiny_style):
    options = StyleOptions(tv_weight=1e-3, tv_chroma=10.0)
    image = to_tensor(tiny_content)
    objective = Objective(vgg, options, image.flip(-1), [to_tensor(tiny_style)], [1.0],
                          options.alpha)
    x = image.clone().requires_grad_(True)
    raw = objective.loss_and_grad(x, 1.0)
    parts = objective.parts(raw.tolist())
    # [L_content, Σ w_l E_l, L_tv, L_temporal, E_l…]: the second is the weighted sum of the
    # E_l; without a previous frame L_temporal is 0 and has no part.
    weights = list(options.layer_weights.values())
    assert raw[3].item() == 0 and parts["temporal"] is None
    assert raw[1].item() == pytest.approx(sum(w * e for w, e in zip(weights, raw[4:].tolist(),
                                                                      strict=True)), rel=1e-5)
    assert parts["total"] == pytest.approx(
        parts["content"] + options.beta * sum(parts["style"].values()) + parts["tv"], rel=1e-6)
    assert objective.optimised_total(raw).item() * objective.norm == pytest.approx(
        parts["total"], rel=1e-5)
    assert parts["tv"] == pytest.approx(
        1e-3 * losses.total_variation(image, chroma=10.0).item(), rel=1e-5)


def test_the_literal_sum_is_the_papers_formula_and_the_default_weighs_a_512px_result(
        vgg, tiny_content, tiny_style):
    """--literal-sum: α·½Σ(F − P)² exactly (eq. 1 and 7). Default: the same sum with α
    scaled by reference_size's pixel count over this image's, so that α·L_content — a sum
    over positions — weighs as it would on a 512-px result, at any size."""
    from gramscope.memory import pixels_at
    from gramscope.transfer import scale_alpha

    content, style = to_tensor(tiny_content), to_tensor(tiny_style)  # 64 × 48
    x = content.flip(-1).clone().requires_grad_(True)
    pixels = content[0, 0].numel()
    features = vgg(x.detach(), ["conv4_2"])["conv4_2"]
    target = vgg(content, ["conv4_2"])["conv4_2"]
    by_hand = 0.5 * (features - target).pow(2).sum().item()
    for literal, factor in ((True, 1.0), (False, pixels_at(tiny_content.size, 512) / pixels)):
        # fp32: the formula is checked to float32 rounding, below bf16's.
        options = StyleOptions(size=64, scales=1, literal_sum=literal, precision="fp32")
        alpha = scale_alpha(options, tiny_content.size, 0, pixels)
        assert alpha == pytest.approx(options.alpha * factor, rel=1e-12)
        objective = Objective(vgg, options, content, [style], [1.0], alpha)
        parts = objective.parts(objective.loss_and_grad(x, 1.0).tolist())
        assert parts["content"] == pytest.approx(options.alpha * factor * by_hand, rel=1e-5)
        x.grad = None
    assert pixels_at(tiny_content.size, 512) == 512 * 384
    # The default's α·pixels is one number at every size: one balance.
    sizes = [(64, 48), (128, 96), (1024, 768)]
    weighted = {scale_alpha(StyleOptions(), size, 0, w * h) * w * h for size in sizes
                for w, h in [size]}
    assert max(weighted) == pytest.approx(min(weighted), rel=1e-12)
