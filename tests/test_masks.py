"""Where each style goes: guided Gram matrices, masks and mask maps (Gatys et al. 2017 §4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gramscope import cli, losses
from gramscope.api import stylize
from gramscope.errors import InputImageError, OptionsError
from gramscope.image import load_image, resize_long_side, to_tensor
from gramscope.masks import masks_from_map, prepare_masks
from gramscope.objective import Objective
from gramscope.options import StyleOptions
from gramscope.samples import sample_path


@pytest.fixture(scope="module")
def second_style() -> Image.Image:
    return resize_long_side(load_image(sample_path("woman_with_hat")), 64)


def halves(size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    width, height = size
    left = Image.new("L", size, 0)
    left.paste(255, (0, 0, width // 2, height))
    return left, Image.eval(left, lambda v: 255 - v)


def colour_histogram(pixels: np.ndarray) -> np.ndarray:
    """4×4×4 colour bins: a statistic the optimiser never sees."""
    q = (pixels.reshape(-1, 3) // 64).astype(int)
    counts = np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64)
    return counts / counts.sum()


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a - b).sum())


def test_a_guide_of_ones_is_the_plain_normalised_gram():
    features = torch.rand(1, 4, 5, 6)
    assert torch.allclose(losses.guided_gram(features, torch.ones(1, 1, 5, 6)),
                          losses.normalised_gram(features))
    half = torch.zeros(1, 1, 5, 6)
    half[..., :3] = 1
    # Only the guided positions count, over their own number of positions.
    assert torch.allclose(losses.guided_gram(features, half),
                          losses.normalised_gram(features[..., :3]), atol=1e-6)


@pytest.mark.slow
def test_left_and_right_each_end_closer_to_their_own_painting(
        tiny_content, tiny_style, second_style):
    left, right = halves(tiny_content.size)
    result = stylize(tiny_content, [tiny_style, second_style], masks=[left, right], size=64,
                     scales=1, steps=30, device="cpu")
    out = np.asarray(result.image, dtype=np.float64)
    half = out.shape[1] // 2
    own = [colour_histogram(np.asarray(s, dtype=np.float64)) for s in (tiny_style,
                                                                       second_style)]
    left_h, right_h = colour_histogram(out[:, :half]), colour_histogram(out[:, half:])
    assert distance(left_h, own[0]) < distance(left_h, own[1])
    assert distance(right_h, own[1]) < distance(right_h, own[0])
    assert [m["mask"] for m in result.metadata["masks"]] == ["<mask 1>", "<mask 2>"]
    assert all(len(m["sha256"]) == 64 for m in result.metadata["masks"])


@pytest.mark.slow
def test_at_the_default_strength_each_half_leans_to_its_own_painting(
        tiny_content, tiny_style, second_style):
    # Absolute distances to two different paintings are not comparable, so each half's
    # lean is measured from where its photo half started: how much closer to painting p it
    # came. The half painted with p must come closer to p than the other half does.
    left, right = halves(tiny_content.size)
    result = stylize(tiny_content, [tiny_style, second_style], masks=[left, right], size=64,
                     device="cpu")  # the default strength, schedule and start
    out = np.asarray(result.image, dtype=np.float64)
    photo = np.asarray(tiny_content.resize(result.image.size), dtype=np.float64)
    half = out.shape[1] // 2
    paintings = [colour_histogram(np.asarray(s, dtype=np.float64)) for s in (tiny_style,
                                                                             second_style)]

    def lean(side: slice, painting: np.ndarray) -> float:
        return (distance(colour_histogram(photo[:, side]), painting)
                - distance(colour_histogram(out[:, side]), painting))

    left_side, right_side = slice(0, half), slice(half, None)
    assert lean(left_side, paintings[0]) > lean(right_side, paintings[0]) + 0.05
    assert lean(right_side, paintings[1]) > lean(left_side, paintings[1]) + 0.05


@pytest.mark.slow
def test_where_no_mask_reaches_the_photo_stays(tiny_content, tiny_style):
    left, _ = halves(tiny_content.size)
    result = stylize(tiny_content, tiny_style, masks=[left], size=64, scales=1, steps=30,
                     device="cpu")
    out = np.asarray(result.image, dtype=np.float64)
    photo = np.asarray(tiny_content.resize(result.image.size), dtype=np.float64)
    half = out.shape[1] // 2
    styled = np.abs(out[:, :half] - photo[:, :half]).mean()
    kept = np.abs(out[:, half:] - photo[:, half:]).mean()
    assert kept < 0.6 * styled, (kept, styled)  # measured: 10.4 against 23.6


def test_masked_tiles_give_the_untiled_loss_and_gradient(vgg, tiny_content, tiny_style,
                                                         second_style):
    options = StyleOptions(size=96, scales=1)
    image = torch.nn.functional.interpolate(to_tensor(tiny_content), size=(72, 96),
                                            mode="bilinear")
    guides = [torch.zeros(1, 1, 72, 96), torch.zeros(1, 1, 72, 96)]
    guides[0][..., :40], guides[1][..., 30:] = 1.0, 0.7  # overlapping, one soft

    def evaluate(tile):
        objective = Objective(vgg, options, image.flip(-1), [to_tensor(tiny_style),
                              to_tensor(second_style)], [0.5, 0.5], options.alpha, tile,
                              guides)
        x = image.clone().requires_grad_(True)
        return objective.parts(objective.loss_and_grad(x, 1.0).tolist()), x.grad

    plain, plain_grad = evaluate(None)
    tiled, tiled_grad = evaluate(64)
    for layer, value in plain["style"].items():
        assert tiled["style"][layer] == pytest.approx(value, rel=1e-3), layer
    cosine = torch.nn.functional.cosine_similarity(plain_grad.flatten(), tiled_grad.flatten(), 0)
    assert cosine > 0.9999


def test_bad_masks_are_refused_in_one_line(tiny_content, tmp_path):
    left, _ = halves(tiny_content.size)
    with pytest.raises(OptionsError, match="1 masks given for 2 style images"):
        prepare_masks([left], 2, tiny_content.size)
    with pytest.raises(InputImageError, match="all black"):
        prepare_masks([Image.new("L", tiny_content.size, 3)], 1, tiny_content.size)
    with pytest.raises(InputImageError, match="far from the photo's shape"):
        prepare_masks([Image.new("L", (200, 40), 255)], 1, tiny_content.size)
    stretched = prepare_masks([Image.new("L", (64, 40), 255)], 1, tiny_content.size)
    assert stretched.notes and "stretched" in stretched.notes[0]
    same_shape = prepare_masks([left.resize((32, 24))], 1, tiny_content.size)
    assert not same_shape.notes and same_shape.images[0].size == tiny_content.size


def test_a_colour_map_gives_one_mask_per_colour(tmp_path):
    painted = Image.new("RGB", (40, 20), (255, 0, 0))
    painted.paste((0, 0, 255), (30, 0, 40, 20))
    masks, names = masks_from_map(painted, None, 2)  # most frequent first: red, then blue
    assert [np.asarray(m).mean() / 255 for m in masks] == pytest.approx([0.75, 0.25])
    masks, names = masks_from_map(painted, ["#0000ff", "#ff0000"], 2)
    assert np.asarray(masks[0])[:, 30:].min() == 255 and names[0].endswith("#0000ff")
    with pytest.raises(InputImageError, match="#00ff00 is nowhere"):
        masks_from_map(painted, ["#00ff00", "#ff0000"], 2)
    with pytest.raises(OptionsError, match="2 colours"):
        masks_from_map(painted, None, 3)


def test_the_cli_refuses_a_bad_mask_before_anything_is_written(tmp_path, capsys):
    black = tmp_path / "black.png"
    Image.new("L", (64, 48), 0).save(black)
    out = tmp_path / "out.png"
    code = cli.main(["stylize", "tubingen", "starry_night", "--masks", str(black), "-o",
                     str(out), "--size", "32", "--scales", "1", "--steps", "1", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("gramscope: error: mask") and err.count("\n") == 1
    assert not out.exists()
