"""Figure 3's α/β translation and its grid of cells."""

from __future__ import annotations

import pytest

from gramscope.errors import OptionsError
from gramscope.explain.figure3 import (
    PAPER_RATIOS,
    default_ratios,
    equivalent_ratio,
    figure3,
    paper_ratio_for,
    schedule,
)
from gramscope.options import StyleOptions


def test_ratio_translation_follows_the_pixel_count():
    assert equivalent_ratio(1e-3, 512 * 384) == pytest.approx(1e-7)
    # A quarter of the pixels: α·L_content is four times smaller, so α/β four times larger.
    assert equivalent_ratio(1e-3, 256 * 192) == pytest.approx(4e-7)
    assert paper_ratio_for(equivalent_ratio(1e-5, 12288), 12288) == pytest.approx(1e-5)


def test_default_columns_span_the_papers_four_decades(tiny_content):
    options = StyleOptions(size=64)
    ratios = default_ratios(tiny_content, options)
    assert len(ratios) == len(PAPER_RATIOS) == 4
    assert ratios[-1] / ratios[0] == pytest.approx(1e3)
    assert ratios[2] == pytest.approx(equivalent_ratio(1e-3, 64 * 48))


def test_schedule_caption():
    options = StyleOptions(size=128, scales=2, coarse_steps=80, steps=50)
    assert schedule(options) == "80 at 64 px + 50 at 128 px"


def test_figure3_rejects_empty_or_negative_columns(tiny_content, tiny_style):
    with pytest.raises(OptionsError):
        figure3(tiny_content, tiny_style, StyleOptions(size=32), ratios=[])
    with pytest.raises(OptionsError):
        figure3(tiny_content, tiny_style, StyleOptions(size=32), ratios=[1e-6, -1.0])

