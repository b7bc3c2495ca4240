"""The bench's judge: numbers it must get right before it may grade a picture."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bench.judge import (
    JudgeSettings,
    content_score,
    judge,
    projection_directions,
    rgb_tensor,
    sliced_wasserstein,
    ssim,
    style_score,
)
from PIL import Image, ImageFilter

from tests.conftest import tiny

# Small enough to judge in milliseconds, large enough for 7×7 patches at half size.
SMALL = JudgeSettings(size=64, directions=32, quantiles=64)


@pytest.fixture(scope="module")
def photo(tiny_content: Image.Image) -> Image.Image:
    return tiny_content


@pytest.fixture(scope="module")
def painting(tiny_style: Image.Image) -> Image.Image:
    return tiny_style


def noisy(image: Image.Image, sigma: float) -> Image.Image:
    rng = np.random.default_rng(0)
    array = np.asarray(image, dtype=np.float64) + rng.normal(0, sigma * 255, (*image.size[::-1], 3))
    return Image.fromarray(np.clip(array + 0.5, 0, 255).astype(np.uint8), "RGB")


def test_ssim_of_two_flat_images_is_the_luminance_term():
    # Flat images: variances and covariance vanish, SSIM = (2ab + C1) / (a² + b² + C1).
    a, b = torch.full((1, 1, 20, 20), 0.3, dtype=torch.float64), torch.full(
        (1, 1, 20, 20), 0.6, dtype=torch.float64)
    c1 = 0.01**2
    assert ssim(a, b) == pytest.approx((2 * 0.3 * 0.6 + c1) / (0.3**2 + 0.6**2 + c1), rel=1e-9)


def test_sliced_wasserstein_of_two_flat_images_by_hand():
    # Every patch is c·1, so each projection is a point mass at c·(θ·1).
    a = torch.full((1, 3, 16, 16), 0.2, dtype=torch.float64)
    b = torch.full((1, 3, 16, 16), 0.7, dtype=torch.float64)
    theta = projection_directions(3 * SMALL.patch**2, SMALL)
    expected = 0.5 * float(torch.sqrt((theta.sum(dim=0) ** 2).mean()))
    assert sliced_wasserstein(a, b, SMALL) == pytest.approx(expected, rel=1e-9)


def test_content_score_is_zero_for_the_photo_itself(photo):
    assert content_score(photo, photo, SMALL) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("spoil", [
    lambda im, k: im.filter(ImageFilter.GaussianBlur(k)),
    lambda im, k: noisy(im, 0.05 * k),
], ids=["blur", "noise"])
def test_content_score_grows_with_the_damage(photo, spoil):
    scores = [content_score(spoil(photo, k), photo, SMALL) for k in (0.5, 1, 2, 4)]
    assert 0 < scores[0]
    assert all(a < b for a, b in zip(scores, scores[1:], strict=False)), scores


def test_style_score_is_zero_for_the_painting_itself(painting):
    assert style_score(painting, painting, SMALL) == pytest.approx(0.0, abs=1e-12)


def test_a_crop_or_flip_of_the_painting_is_closer_than_a_photo(photo, painting):
    # A central 7/8 crop keeps most of the painting's mix of sky, village and cypress; a
    # corner crop of the sky alone has another colour distribution (0.09 at 64 px, against
    # the photo's 0.08): the score is about the whole painting's patches.
    width, height = painting.size
    astronaut = tiny("astronaut", 64)
    photo_score = min(style_score(p, painting, SMALL) for p in (photo, astronaut))
    flipped = style_score(painting.transpose(Image.Transpose.FLIP_LEFT_RIGHT), painting, SMALL)
    box = (width // 16, height // 16, width - width // 16, height - height // 16)
    cropped = style_score(painting.crop(box), painting, SMALL)
    assert 0 < flipped < cropped < photo_score / 2, (flipped, cropped, photo_score)


def test_deterministic_for_a_seed_and_the_seed_matters(photo, painting):
    first, again = judge(photo, photo, painting, SMALL), judge(photo, photo, painting, SMALL)
    assert first == again
    other = style_score(photo, painting, JudgeSettings(size=64, directions=32, quantiles=64,
                                                       seed=1))
    assert other != first["style"]


def test_rgb_tensor_is_in_unit_range(photo):
    x = rgb_tensor(photo)
    assert x.shape == (1, 3, photo.size[1], photo.size[0])
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
