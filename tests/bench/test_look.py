"""One look at every size: the default's judge scores at two sizes (issue: one look)."""

from __future__ import annotations

import pytest
from bench.judge import JudgeSettings, judge

import gramscope

#: The judge at the test's scale: both results are graded at 64 px long side.
SMALL_JUDGE = JudgeSettings(size=64)


@pytest.fixture(scope="module")
def looks(vgg, tiny_content, tiny_style):
    """The default at 64 and 96 px (one scale each: 'auto' starts at 128 px), judged."""
    return {size: judge(gramscope.stylize(tiny_content, tiny_style, size=size, device="cpu",
                                          net=vgg).image, tiny_content, tiny_style,
                        SMALL_JUDGE)
            for size in (64, 96)}


def test_the_default_look_holds_across_two_sizes(looks, tiny_content, tiny_style):
    # Measured: content 0.252 / 0.184, style 0.0465 / 0.0497; the photo's style is 0.075.
    # At these sizes the content term pulls little in 20 steps, so the paper's literal sum
    # scores alike (0.254 / 0.204); the exact balance is tested in test_objective.py, and
    # the look at 256–512 px in bench/RESULTS.md.
    photo = judge(tiny_content, tiny_content, tiny_style, SMALL_JUDGE)
    small, large = looks[64], looks[96]
    assert abs(small["content"] - large["content"]) < 0.08, (small, large)
    assert small["style"] == pytest.approx(large["style"], rel=0.15)
    for look in (small, large):
        assert look["content"] > 0.05  # painted over, not the photo
        assert look["style"] < 0.8 * photo["style"]  # nearer the painting than the photo is
