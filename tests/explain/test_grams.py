"""Gram views: clustering order, mismatch ranking, parity with the engine's E_l."""

from __future__ import annotations

import torch

from gramscope.explain.grams import (
    channel_similarity,
    cluster_order,
    gram_views,
    mismatch_by_channel,
)
from gramscope.losses import gram_matrix, layer_style_error, normalised_gram, positions


def block_features(groups: int = 3, per_group: int = 5, positions: int = 200, seed: int = 0):
    """Channels in ``groups`` that fire together, shuffled: (1, N, 1, M) and the labels."""
    generator = torch.Generator().manual_seed(seed)
    prototypes = torch.rand(groups, positions, generator=generator).pow(4)  # sparse-ish
    labels = torch.arange(groups).repeat_interleave(per_group)
    noise = 0.05 * torch.rand(len(labels), positions, generator=generator)
    features = prototypes[labels] + noise  # (N, M)
    shuffle = torch.randperm(len(labels), generator=generator)
    return features[shuffle][None, :, None, :], labels[shuffle]


def test_cluster_order_is_a_permutation_that_groups_correlated_channels():
    features, labels = block_features()
    gram = gram_matrix(features)
    order = cluster_order(gram)
    assert sorted(order) == list(range(len(labels)))
    ordered = labels[order].tolist()
    changes = sum(a != b for a, b in zip(ordered, ordered[1:], strict=False))
    assert changes == 2  # three contiguous blocks
    assert labels.tolist() != sorted(labels.tolist())  # the input really was shuffled


def test_similarity_is_cosine_and_dead_channels_are_zero():
    features = torch.tensor([[[[1.0, 0.0]], [[2.0, 0.0]], [[0.0, 3.0]], [[0.0, 0.0]]]])
    similarity = channel_similarity(gram_matrix(features))
    assert similarity[0, 1] == 1.0 and similarity[0, 2] == 0.0
    assert (similarity[3] == 0).all()
    assert sorted(cluster_order(gram_matrix(features))) == [0, 1, 2, 3]


def test_mismatch_ranks_the_channel_that_differs():
    difference = torch.zeros(4, 4)
    difference[2, :] = difference[:, 2] = 1.0
    difference[0, 1] = difference[1, 0] = 0.1
    share = mismatch_by_channel(difference)
    assert torch.sort(share, descending=True).indices[0] == 2
    assert float(share.sum()) == 1.0


def test_gram_views_match_the_engine_formula(vgg, tiny_content, tiny_style):
    views = gram_views(tiny_style, tiny_content, "conv2_1", size=64, net=vgg, top=5)
    assert views.style.shape == views.result.shape == (128, 128)
    assert sorted(views.order) == list(range(128))
    # E_l from the views equals the losses module's E_l on the same features.
    from gramscope.explain.features import feature_maps

    style_f = feature_maps(tiny_style, ["conv2_1"], size=64, net=vgg)["conv2_1"]
    result_f = feature_maps(tiny_content, ["conv2_1"], size=64, net=vgg)["conv2_1"]
    expected = layer_style_error(gram_matrix(result_f), gram_matrix(style_f), 128,
                                 positions(result_f), positions(style_f))
    assert abs(views.style_error - float(expected)) <= 1e-5 * float(expected)
    assert torch.allclose(views.style, normalised_gram(style_f))
    worst = views.mismatched()
    assert len(worst) == 5 and [s for _, s in worst] == sorted((s for _, s in worst),
                                                                reverse=True)
    assert views.png().startswith(b"\x89PNG")


def test_an_image_against_itself_has_no_mismatch(vgg, tiny_style):
    views = gram_views(tiny_style, tiny_style, "conv1_1", size=48, net=vgg)
    assert views.style_error == 0.0
    assert float(views.difference.abs().max()) == 0.0


def test_guided_views_hold_the_regions_guided_gram(vgg, tiny_content, tiny_style):
    """The result's side, given a mask, is G_r = (F∘T)(F∘T)ᵀ / ΣT² with T the mask carried
    to the layer by area averaging: by hand, and through the losses module."""
    from PIL import Image

    from gramscope.explain.features import feature_maps
    from gramscope.losses import guide_at, guided_gram

    picture = tiny_content.resize((48, 36))
    mask = Image.new("L", (48, 36), 0)
    mask.paste(255, (0, 0, 20, 36))
    mask.paste(128, (20, 0, 24, 36))  # a soft edge
    views = gram_views(tiny_style, picture, "conv2_1", size=48, net=vgg, guide=mask,
                       region="the left")
    features = feature_maps(picture, ["conv2_1"], size=48, net=vgg)["conv2_1"]  # (1, 128, 18, 24)
    guide = torch.zeros(1, 1, 36, 48)
    guide[..., :20] = 1.0
    guide[..., 20:24] = 128 / 255
    at_layer = torch.nn.functional.avg_pool2d(guide, 2)  # conv2_1 is half the picture's size
    weighted = (features * at_layer).flatten(2)[0]  # (128, 432)
    by_hand = weighted @ weighted.T / at_layer.pow(2).sum()
    assert torch.allclose(views.result, by_hand, rtol=1e-5, atol=1e-6)
    assert torch.allclose(views.result, guided_gram(features, guide_at(guide, features.shape[-2:])))
    assert torch.allclose(views.style, normalised_gram(
        feature_maps(tiny_style, ["conv2_1"], size=48, net=vgg)["conv2_1"]))
    assert not torch.allclose(views.result, normalised_gram(features))  # the mask mattered
    assert "result in the left" in " ".join(t.get_text() for a in views.figure().axes
                                            for t in [a.title])
