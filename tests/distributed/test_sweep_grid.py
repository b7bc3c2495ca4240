"""The sweep's grid, its labels and its contact sheet (no network needed)."""

from __future__ import annotations

import pytest
from PIL import Image

from gramscope.distributed.sweep import (
    Cell,
    contact_sheet,
    field_axis,
    grid,
    strength_axis,
    style_layers_axis,
)
from gramscope.errors import OptionsError
from gramscope.options import StyleOptions


def test_the_grid_is_cartesian_with_the_last_axis_fastest_and_labels_the_strength():
    base = StyleOptions(alpha=1e-3, beta=1e3)
    cells = grid(base, [style_layers_axis([["conv1_1"], ["conv1_1", "conv2_1"]]),
                        strength_axis([0.5, 4])])
    assert [c.options.style_layers for c in cells] == [
        ("conv1_1",), ("conv1_1",), ("conv1_1", "conv2_1"), ("conv1_1", "conv2_1")]
    assert [c.options.strength for c in cells] == [0.5, 4.0, 0.5, 4.0]
    assert [c.options.content_weight for c in cells] == pytest.approx([2e-3, 2.5e-4] * 2)
    assert {c.options.alpha for c in cells} == {1e-3}  # α as given; the strength divides it
    assert cells[1].labels == ("style layers=conv1_1", "strength=4")


def test_strength_divides_each_cells_own_alpha_and_is_checked_up_front():
    cells = grid(StyleOptions(), [strength_axis([2]), field_axis("alpha", ["1e-3", "1e-1"])])
    assert [c.options.content_weight for c in cells] == pytest.approx([5e-4, 5e-2])
    assert field_axis("strength", ["0.5"]).values == (("0.5", {"strength": 0.5}),)
    with pytest.raises(OptionsError, match="strength must be a finite number more than zero"):
        grid(StyleOptions(), [strength_axis([1, 0])])


def test_vary_parses_values_like_the_cli_and_rejects_what_it_would():
    assert [v[1] for v in field_axis("style-scale", ["0.5", "2"]).values] == [
        {"style_scale": 0.5}, {"style_scale": 2.0}]
    assert field_axis("scales", ["64,128"]).values[0][1] == {"scales": (64, 128)}
    assert field_axis("balance_scales", ["off"]).values[0][1] == {"balance_scales": False}
    # Explicit scales carry the size with them, as on the command line.
    assert grid(StyleOptions(), [field_axis("scales", ["64,128"])])[0].options.size == 128
    with pytest.raises(OptionsError, match="no setting called 'colour'"):
        field_axis("colour", ["none"])
    with pytest.raises(OptionsError, match="invalid choice"):
        field_axis("pooling", ["median"])
    with pytest.raises(OptionsError, match="at least one axis"):
        grid(StyleOptions(), [])
    # Two layers with three weights: caught when the grid is built, before any work.
    with pytest.raises(OptionsError, match="style layer weights"):
        grid(StyleOptions(style_layers=("conv1_1", "conv2_1", "conv3_1"),
                          style_layer_weights=(1.0, 1.0, 1.0)),
             [style_layers_axis([["conv1_1", "conv2_1"]])])


def test_the_contact_sheet_places_every_cell_and_greys_out_failures():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), None, (255, 255, 0), (0, 255, 255)]
    images = [Image.new("RGB", (30, 20), c) if c else None for c in colours]
    cells = [Cell((f"row={r}", f"col={c}"), StyleOptions()) for r in range(2) for c in range(3)]
    sheet = contact_sheet(images, cells, columns=3, title="a title")
    found = {sheet.getpixel((x, y)) for x in range(sheet.width) for y in range(sheet.height)}
    assert all(c in found for c in colours if c) and (200, 200, 200) in found

    def centre_of(colour):
        xs, ys = zip(*[(x, y) for x in range(sheet.width) for y in range(sheet.height)
                       if sheet.getpixel((x, y)) == colour], strict=True)
        assert len(xs) == 30 * 20  # pasted whole, nothing drawn over it
        return sum(xs) / len(xs), sum(ys) / len(ys)

    red, green, blue = (centre_of(c) for c in colours[:3])
    yellow = centre_of(colours[4])
    assert red[0] < green[0] < blue[0] and red[1] == green[1] == blue[1]  # first row
    assert yellow[0] == green[0] and yellow[1] > green[1]  # second row, second column
