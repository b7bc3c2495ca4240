"""Figure 3's strength columns, their α/β labels and its grid of cells."""

from __future__ import annotations

import sys

import pytest

from gramscope.errors import OptionsError
from gramscope.explain.figure3 import (
    Figure3,
    equivalent_ratio,
    figure3,
    figure3_cells,
    paper_ratio_for,
    schedule,
)
from gramscope.options import StyleOptions
from gramscope.options_grid import FIGURE3_STRENGTHS


def test_ratio_translation_follows_the_pixel_count():
    assert equivalent_ratio(1e-3, 512 * 384) == pytest.approx(1e-7)
    # A quarter of the pixels: α·L_content is four times smaller, so α/β four times larger.
    assert equivalent_ratio(1e-3, 256 * 192) == pytest.approx(4e-7)
    assert paper_ratio_for(equivalent_ratio(1e-5, 12288), 12288) == pytest.approx(1e-5)


def test_default_columns_are_strengths_around_the_default_look():
    assert 1.0 in FIGURE3_STRENGTHS and list(FIGURE3_STRENGTHS) == sorted(FIGURE3_STRENGTHS)
    assert min(FIGURE3_STRENGTHS) < 1 < max(FIGURE3_STRENGTHS)


def test_columns_are_labelled_by_strength_with_the_ratio_in_use(tiny_content, tiny_style):
    # tiny_content is 4:3. By default α/β is a reference_size-px (512 × 384) result's
    # balance, where the calibration puts the paper's α/β at 1e4 times ours, whatever the
    # cell's size; with the literal sum the cell's own 64 × 48 px count, 64 times fewer.
    options = StyleOptions(size=64)
    ratio = options.ratio / 4  # strength 4: a quarter of the default α/β
    label = Figure3(tiny_content, tiny_style, options, [], [4.0]).column_label(4.0)
    assert label == f"strength 4\nα/β {ratio:.1e} (paper ≈ {ratio * 1e4:.0e})"
    bigger = Figure3(tiny_content, tiny_style, options.replace(size=128), [], [4.0])
    assert bigger.column_label(4.0) == label
    literal = Figure3(tiny_content, tiny_style, options.replace(literal_sum=True), [], [4.0])
    assert literal.column_label(4.0).endswith(f"(paper ≈ {ratio * 1e4 / 64:.0e})")
    assert Figure3(tiny_content, tiny_style, options, [], [1.0]).column_label(0.25) \
        .startswith(f"strength 0.25\nα/β {options.ratio * 4:.1e} ")


def test_schedule_caption():
    options = StyleOptions(size=128, scales=2, coarse_steps=80, steps=50)
    assert schedule(options) == "80 at 64 px + 50 at 128 px"


def test_figure3_rejects_empty_or_impossible_columns_before_any_run(tiny_content, tiny_style,
                                                                    monkeypatch):
    def render_run(*args, **kwargs):
        raise AssertionError("a cell ran before every column was checked")

    # By the module object: the package's name figure3 is the function.
    monkeypatch.setattr(sys.modules["gramscope.explain.figure3"], "render_run", render_run)
    with pytest.raises(OptionsError, match="one strength column"):
        figure3(tiny_content, tiny_style, StyleOptions(size=32), strengths=[])
    with pytest.raises(OptionsError, match="strength must be a finite number more than zero"):
        figure3(tiny_content, tiny_style, StyleOptions(size=32), strengths=[1.0, -1.0])



def test_cells_weigh_each_row_equally_and_set_the_strength_of_their_column():
    settings = StyleOptions(alpha=1e-4, beta=1e3, strength=3.0,
                            style_layers=("conv1_1", "conv2_1", "conv3_1"),
                            style_layer_weights=(1.0, 2.0, 3.0))
    rows = [("conv1_1",), ("conv1_1", "conv2_1")]
    cells = figure3_cells(settings, rows, [0.5, 4])
    assert [c.options.style_layers for c in cells] == [rows[0], rows[0], rows[1], rows[1]]
    # The column's strength replaces the settings' 3 and divides their α.
    assert [c.options.content_weight for c in cells] == pytest.approx([2e-4, 2.5e-5] * 2)
    assert cells[3].options.layer_weights == {"conv1_1": 0.5, "conv2_1": 0.5}
    # Nothing else moves: the cell is the settings with its layers and strength, exactly.
    assert cells[1].options == settings.replace(style_layers=rows[0], style_layer_weights=None,
                                                strength=4.0)
