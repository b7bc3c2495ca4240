"""The network judge (VGG-16 + LPIPS heads): the numbers it must get right to grade."""

from __future__ import annotations

import pytest
from bench.netjudge import WEIGHTS, NetJudgeSettings, judge
from PIL import Image, ImageFilter

from tests.conftest import tiny

if not WEIGHTS.is_file():  # `make test` brings them (python bench/netjudge.py --fetch)
    pytest.skip("the judge's VGG-16 weights are not fetched", allow_module_level=True)

SMALL = NetJudgeSettings(size=64, directions=32, quantiles=64)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return tiny("tubingen", 64)


@pytest.fixture(scope="module")
def painting() -> Image.Image:
    return tiny("starry_night", 96)


def test_an_image_judged_against_itself_scores_zero(photo):
    scores = judge(photo, photo, photo, SMALL)
    assert scores["content"] == pytest.approx(0, abs=1e-9)
    assert scores["style"] == pytest.approx(0, abs=1e-9)
    assert scores["gram"] == pytest.approx(0, abs=1e-9)


def test_a_crop_of_the_painting_is_closer_in_style_than_the_photo(photo, painting):
    crop = painting.crop((0, 0, painting.width * 3 // 4, painting.height * 3 // 4))
    own = judge(crop, photo, painting, SMALL)
    other = judge(photo, photo, painting, SMALL)
    assert 0 < own["style"] < 0.6 * other["style"]
    assert own["gram"] < other["gram"]
    assert set(own["style_per_layer"]) == set(SMALL.style_layers)


def test_blurring_the_photo_moves_it_away_in_content_more_the_more_it_is_blurred(photo,
                                                                                painting):
    light, heavy = (judge(photo.filter(ImageFilter.GaussianBlur(r)), photo, painting, SMALL)
                    for r in (1, 3))
    assert 0.02 < light["content"] < heavy["content"]


def test_the_photo_scores_zero_content_at_any_result_size(photo, painting):
    # The photo is resized to the result's judged shape: a larger copy is no different.
    larger = photo.resize((photo.width * 2, photo.height * 2), Image.Resampling.LANCZOS)
    assert judge(larger, photo, painting, SMALL)["content"] < 0.05
