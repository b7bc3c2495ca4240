"""One look at every size: the default's judge scores at two sizes (issue: one look)."""

from __future__ import annotations

import pytest
from bench.judge import JudgeSettings, judge

import gramscope

#: The judge at the test's scale: both results are graded at 64 px long side.
SMALL_JUDGE = JudgeSettings(size=64)


@pytest.fixture(scope="module")
def looks(vgg, tiny_content, tiny_style):
    """The default at 64 and 96 px (one scale each, as below 512 px), judged."""
    return {size: judge(gramscope.stylize(tiny_content, tiny_style, size=size, device="cpu",
                                          net=vgg).image, tiny_content, tiny_style,
                        SMALL_JUDGE)
            for size in (64, 96)}


def test_the_default_look_holds_across_two_sizes(looks, tiny_content, tiny_style):
    # Measured at α = 5e-6 (64 / 96 px): content 0.246 / 0.194, style 0.0463 / 0.0484; the
    # photo's style is 0.075 (at α = 1.6e-4: 0.201 / 0.069 and 0.0487 / 0.0554; at 8e-5:
    # 0.222 / 0.110 and 0.0478 / 0.0536; at 2e-5: 0.252 / 0.184 and 0.0465 / 0.0497); an
    # older default, whose photo vanished when small, scored 0.79 at 256 px against 0.54
    # at 512 px. The judge's content score itself depends on the size
    # (an 11-px SSIM window, a 2-px edge blur), and at 64 px conv4_2 is 8 × 6 positions,
    # so the bound is loose. The exact balance is tested in
    # test_objective.py, and the look at 256–512 px in bench/RESULTS.md.
    photo = judge(tiny_content, tiny_content, tiny_style, SMALL_JUDGE)
    small, large = looks[64], looks[96]
    assert abs(small["content"] - large["content"]) < 0.15, (small, large)
    assert small["style"] == pytest.approx(large["style"], rel=0.15)
    for look in (small, large):
        assert look["content"] > 0.05  # painted over, not the photo
        assert look["style"] < 0.8 * photo["style"]  # nearer the painting than the photo is
