"""A Cartesian grid of settings: every combination of a few axes' values, one
:class:`~gramscope.options.StyleOptions` per cell.

The paper's Figure 3 is such a grid (rows: growing sets of style layers; columns: the
balance of content and style, here the style strength);
``gramscope explain figure3`` and ``gramscope sweep`` both build their cells here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import OptionsError
from .options import StyleOptions

#: The paper's Figure 3 columns in the strength scale, the default of ``explain figure3``
#: and the sweep's example: up to one step past the default look (1), a factor of four
#: apart; mostly below it, since from white noise at 128 px the default already leaves
#: little of the photo (α/β 8e-8 … 1.3e-9).
#: Departure: the paper's columns run the other way (α/β rising, from almost pure texture
#: to almost the photo) over three decades; here strength rises to the right, and the
#: figure labels each column with the paper's α/β for its look.
FIGURE3_STRENGTHS = (0.0625, 0.25, 1.0, 4.0)


@dataclass(frozen=True)
class Axis:
    """One dimension of the grid: a label and the settings it changes, for each value."""

    name: str
    values: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class Cell:
    """One point of the grid: the options it runs and one label per axis."""

    labels: tuple[str, ...]
    options: StyleOptions


def strength_axis(strengths: Sequence[float]) -> Axis:
    """Style strengths (``StyleOptions.strength``): each divides the cell's α."""
    return Axis("strength", tuple((f"{s:g}", {"strength": s}) for s in strengths))


def style_layers_axis(layer_sets: Sequence[Sequence[str]]) -> Axis:
    return Axis("style layers", tuple(
        ("+".join(layers), {"style_layers": tuple(layers)}) for layers in layer_sets
    ))


def apply(base: StyleOptions, overrides: dict[str, Any]) -> StyleOptions:
    """``base`` with ``overrides``, ``size`` following explicit ``scales``."""
    changes = dict(overrides)
    if isinstance(changes.get("scales"), tuple) and "size" not in changes:
        changes["size"] = changes["scales"][-1]
    return base.replace(**changes)


def grid(base: StyleOptions, axes: Sequence[Axis]) -> list[Cell]:
    """Every combination of the axes' values, the last axis varying fastest.

    Each cell is validated here, so an impossible combination is reported before any work.
    """
    if not axes:
        raise OptionsError("give at least one axis: --strength, --style-layers or --vary")
    cells = []
    for combination in itertools.product(*(axis.values for axis in axes)):
        overrides: dict[str, Any] = {}
        for _, change in combination:
            overrides.update(change)
        labels = tuple(f"{axis.name}={label}" for axis, (label, _) in
                       zip(axes, combination, strict=True))
        cells.append(Cell(labels, apply(base, overrides)))
    return cells
