"""Figure 3's α/β translation and its grid of cells."""

from __future__ import annotations

import pytest

from gramscope.errors import OptionsError
from gramscope.explain.figure3 import (
    PAPER_RATIOS,
    default_ratios,
    equivalent_ratio,
    figure3,
    figure3_cells,
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
    # tiny_content is 4:3. By default α/β is a reference_size-px result's balance, so the
    # columns do not depend on the cell's size; with the literal sum they do.
    options = StyleOptions(size=64)
    ratios = default_ratios(tiny_content, options)
    assert len(ratios) == len(PAPER_RATIOS) == 4
    assert ratios[-1] / ratios[0] == pytest.approx(1e3)
    assert ratios[2] == pytest.approx(equivalent_ratio(1e-3, 512 * 384))
    assert default_ratios(tiny_content, options.replace(size=128)) == ratios
    literal = default_ratios(tiny_content, options.replace(literal_sum=True))
    assert literal[2] == pytest.approx(equivalent_ratio(1e-3, 64 * 48))


def test_schedule_caption():
    options = StyleOptions(size=128, scales=2, coarse_steps=80, steps=50)
    assert schedule(options) == "80 at 64 px + 50 at 128 px"


def test_figure3_rejects_empty_or_negative_columns(tiny_content, tiny_style):
    with pytest.raises(OptionsError):
        figure3(tiny_content, tiny_style, StyleOptions(size=32), ratios=[])
    with pytest.raises(OptionsError):
        figure3(tiny_content, tiny_style, StyleOptions(size=32), ratios=[1e-6, -1.0])



def test_cells_weigh_each_row_equally_and_set_alpha_from_the_ratio():
    settings = StyleOptions(beta=1e3, style_layers=("conv1_1", "conv2_1", "conv3_1"),
                            style_layer_weights=(1.0, 2.0, 3.0))
    rows = [("conv1_1",), ("conv1_1", "conv2_1")]
    cells = figure3_cells(settings, rows, [1e-7, 1e-5])
    assert [c.options.style_layers for c in cells] == [rows[0], rows[0], rows[1], rows[1]]
    assert [c.options.alpha for c in cells] == pytest.approx([1e-4, 1e-2, 1e-4, 1e-2])
    assert cells[3].options.layer_weights == {"conv1_1": 0.5, "conv2_1": 0.5}
    # Nothing else moves: the cell is the settings with its layers and α, exactly.
    assert cells[1].options == settings.replace(style_layers=rows[0], style_layer_weights=None,
                                                alpha=1e-5 * 1e3)
