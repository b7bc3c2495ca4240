"""A Cartesian grid of settings: every combination of a few axes' values, one
:class:`~gramscope.options.StyleOptions` per cell.

The paper's Figure 3 is such a grid (rows: growing sets of style layers; columns: α/β);
``gramscope explain figure3`` and ``gramscope sweep`` both build their cells here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import OptionsError
from .options import StyleOptions

#: Pseudo-field of an axis: α/β, applied after every other setting so it uses the cell's β.
RATIO = "ratio"


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


def ratio_axis(ratios: Sequence[float]) -> Axis:
    """α/β values; α = ratio·β with each cell's β (as ``--ratio`` does for one run)."""
    return Axis("alpha/beta", tuple((f"{r:g}", {RATIO: r}) for r in ratios))


def style_layers_axis(layer_sets: Sequence[Sequence[str]]) -> Axis:
    return Axis("style layers", tuple(
        ("+".join(layers), {"style_layers": tuple(layers)}) for layers in layer_sets
    ))


def apply(base: StyleOptions, overrides: dict[str, Any]) -> StyleOptions:
    """``base`` with ``overrides``; α/β last, and ``size`` following explicit ``scales``."""
    changes = {k: v for k, v in overrides.items() if k != RATIO}
    if isinstance(changes.get("scales"), tuple) and "size" not in changes:
        changes["size"] = changes["scales"][-1]
    if RATIO in overrides:
        return base.with_ratio(overrides[RATIO], **changes)
    return base.replace(**changes)


def grid(base: StyleOptions, axes: Sequence[Axis]) -> list[Cell]:
    """Every combination of the axes' values, the last axis varying fastest.

    Each cell is validated here, so an impossible combination is reported before any work.
    """
    if not axes:
        raise OptionsError("give at least one axis: --alpha-beta, --style-layers or --vary")
    cells = []
    for combination in itertools.product(*(axis.values for axis in axes)):
        overrides: dict[str, Any] = {}
        for _, change in combination:
            overrides.update(change)
        labels = tuple(f"{axis.name}={label}" for axis, (label, _) in
                       zip(axes, combination, strict=True))
        options = apply(base, overrides)
        if RATIO in overrides:
            labels = tuple(f"{label} (alpha={options.alpha:.3g})" if label.startswith(
                "alpha/beta=") else label for label in labels)
        cells.append(Cell(labels, options))
    return cells
