"""Content against style: the paper's Figure 3.

Rows match the style on a growing set of layers (conv1_1; conv1_1 … conv2_1; …
conv1_1 … conv5_1); columns move the style strength (``StyleOptions.strength``: the
content weight used is α/strength), from more of the photo to more of the painting.
Every cell is one run of the engine.

About the α/β values. With the paper's exact formulas on the normalised network,
L_content = ½ Σ (F − P)² sums over all N_l·M_l positions, while E_l is divided by M_l²
(it compares size-normalised Gram matrices). So the balance between the two terms moves
with 1/pixels, and the paper's printed α/β (1e-5 … 1e-2) give an almost untouched photo
here. Measured on tubingen × starry_night, the paper's look at α/β = 1e-3 needs
α/β ≈ 1e-7 at 512 × 384 px. Each column is labelled with its strength, the α/β it puts in
use and the paper's α/β for the same look (:func:`paper_ratio_for`).

By default (no ``literal_sum``) α/β states a ``reference_size``-px result's balance at
every size, so a strength means the same in a 128-px cell and a 512-px print, and the
paper's value is translated from the photo's pixels at that size, not the cell's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from PIL import Image

from ..errors import OptionsError
from ..image import long_side_size
from ..memory import pixels_at
from ..options import StyleOptions
from ..options_grid import FIGURE3_STRENGTHS, Cell, grid, strength_axis, style_layers_axis
from ..transfer import ImageInput, as_image
from ..vgg import VGG19, canonical_layer
from .figure1 import CELL_SIZES, cell_size, growing_subsets, subset_label
from .plotting import Drawing, panel_figure
from .runner import OnStep, Panel, ViewSettings, render_run, total_steps

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Measured: our α/β that looks like the paper's 1e-3 at 512 × 384 px is ≈ 1e-7.
RATIO_CALIBRATION = (1e-3, 1e-7, 512 * 384)  # (paper α/β, ours, at this many pixels)

def equivalent_ratio(paper_ratio: float, pixels: int) -> float:
    """Our α/β for the look of the paper's ``paper_ratio`` on an image of ``pixels``.

    α·L_content grows with the pixel count and β·E_l does not, so the ratio scales with
    1/pixels from the calibration point (see the module docstring).
    """
    paper, ours, at_pixels = RATIO_CALIBRATION
    return paper_ratio * (ours / paper) * (at_pixels / pixels)


def paper_ratio_for(ratio: float, pixels: int) -> float:
    """The inverse of :func:`equivalent_ratio`: which paper α/β a value stands for."""
    return ratio / equivalent_ratio(1.0, pixels)


def schedule(options: StyleOptions) -> str:
    """'80 at 64 px + 50 at 128 px': the coarse-to-fine steps, for a caption."""
    return " + ".join(f"{steps} at {size} px" for size, steps in
                      zip(options.scale_sizes, options.steps_per_scale, strict=True))


def balance_pixels(content: Image.Image, options: StyleOptions) -> int:
    """The pixel count whose balance α/β states: the result's own with the paper's literal
    sum, else the photo's at ``reference_size`` (see the module docstring)."""
    return pixels_at(content.size, options.size if options.literal_sum
                     else options.reference_size)


@dataclass
class Figure3(Drawing):
    """The style-strength × style-layers grid and how to draw it."""

    content: Image.Image
    style: Image.Image
    options: StyleOptions
    subsets: list[tuple[str, ...]]
    strengths: list[float]
    cells: dict[tuple[int, int], Panel] = field(default_factory=dict)

    @property
    def pixels(self) -> int:
        return balance_pixels(self.content, self.options)

    def column_label(self, strength: float) -> str:
        """'strength 4', then the α/β it puts in use and the paper's α/β for that look."""
        ratio = self.options.replace(strength=strength).ratio
        return (f"strength {strength:g}\nα/β {ratio:.1e} "
                f"(paper ≈ {paper_ratio_for(ratio, self.pixels):.0e})")

    def figure(self) -> Figure:
        rows = [
            [(self.cells[r, c].image, self.column_label(strength) if r == 0 else "", "")
             for c, strength in enumerate(self.strengths) if (r, c) in self.cells]
            for r in range(len(self.subsets))
        ]
        filled = [i for i, row in enumerate(rows) if row]
        width, height = long_side_size(self.content.size, self.options.size)
        return panel_figure(
            [rows[i] for i in filled],
            row_labels=[subset_label(self.subsets[i]) for i in filled],
            title="Content against style: style strength and the style layers "
                  "(Gatys et al., Fig. 3)",
            footer=(
                f"Each cell: white noise → {schedule(self.options)} L-BFGS steps "
                f"({width}×{height} px at the end), content layer "
                f"{', '.join(self.options.content_layers)}; rows match the style from conv1_1 "
                "up to the named layer. Columns: the style strength (content weight α/strength"
                f", α = {self.options.alpha:.3g}, β = {self.options.beta:.3g}) and the α/β "
                "it puts in use"
                + (f" (a {self.options.reference_size}-px result's balance, at every size)"
                   if not self.options.literal_sum else "")
                + "; the paper's α/β for the same look is shown in brackets."
            ),
        )


def figure3_cells(
    settings: StyleOptions, rows: Sequence[Sequence[str]], strengths: Sequence[float]
) -> list[Cell]:
    """The figure's cells, row by row, from the grid builder ``gramscope sweep`` uses too:
    each row matches its style layers with equal weights (w_l = 1/number of layers, as in
    the paper) and each column sets the style strength (α and β stay)."""
    return grid(settings.replace(style_layer_weights=None),
                [style_layers_axis(rows), strength_axis(strengths)])


@dataclass(frozen=True)
class Figure3Settings(ViewSettings):
    """Figure 3's settings that differ from a stylisation's defaults, and why:

    - white-noise start, as in the paper: a content start would keep the photo in every cell;
    - two scales: the coarse scale settles the layout from noise cheaply (20 cells must fit
      in about fifteen minutes on two CPU cores at the CPU's cell size; on a CUDA GPU
      :meth:`options` makes the cells 256 px, see :data:`.figure1.CELL_SIZES`);
    - average pooling: the paper's choice for synthesis;
    - ``strengths``: the columns' style strengths, around the default look.
    """

    OWN: ClassVar[tuple[str, ...]] = ("strengths",)

    size: int = CELL_SIZES["cpu"]
    scales: int = 2
    coarse_steps: int = 80
    steps: int = 50
    pooling: str = "avg"
    init: str = "noise"
    strengths: tuple[float, ...] = FIGURE3_STRENGTHS

    def options(self, options: StyleOptions | None = None) -> StyleOptions:
        """``options`` as given, or the stylisation defaults with these settings and the
        cell size of the device they run on (:func:`.figure1.cell_size`)."""
        if options is not None:
            return options
        defaults = StyleOptions(**self.style_fields())
        return defaults.replace(size=cell_size(defaults.device))

    def step_count(
        self, options: StyleOptions | None = None, subsets: Sequence[Sequence[str]] | None = None,
        strengths: Sequence[float] | None = None,
    ) -> int:
        """Total optimiser steps of :func:`figure3` with the same arguments: the length of
        its progress bar."""
        _, _, cells = self.plan(self.options(options), subsets, strengths)
        return sum(total_steps(cell.options) for cell in cells)

    def plan(
        self, settings: StyleOptions, subsets: Sequence[Sequence[str]] | None,
        strengths: Sequence[float] | None,
    ) -> tuple[list[tuple[str, ...]], list[float], list[Cell]]:
        """(rows, columns, cells) of :func:`figure3`: ``subsets`` (default: the growing
        subsets of the paper's style layers) by ``strengths`` (default: :attr:`strengths`),
        each checked before any run."""
        rows = [tuple(canonical_layer(n) for n in s) for s in (subsets or growing_subsets())]
        columns = list(self.strengths if strengths is None else strengths)
        if not rows or not columns or any(not row for row in rows):
            raise OptionsError(
                "figure 3 needs at least one style-layer row and one strength column")
        return rows, columns, figure3_cells(settings, rows, columns)  # refuses bad strengths


FIGURE3_SETTINGS = Figure3Settings()
# The name the tests (and callers before the settings) use.
figure3_options = FIGURE3_SETTINGS.options


def figure3(
    content: ImageInput, style: ImageInput, options: StyleOptions | None = None, *,
    subsets: Sequence[Sequence[str]] | None = None, strengths: Sequence[float] | None = None,
    on_step: OnStep | None = None, net: VGG19 | None = None,
) -> Figure3:
    """Stylise ``content`` for every (style-layer subset, style strength) pair; α and β stay
    ``options``' and each column's strength replaces ``options.strength``.

    ``strengths`` are the columns (default: :attr:`Figure3Settings.strengths`, around the
    default look); each is checked as ``StyleOptions.strength`` is, before any run.
    """
    settings = FIGURE3_SETTINGS.options(options)
    content_image, style_image = as_image(content), as_image(style)
    rows, columns, cells = FIGURE3_SETTINGS.plan(settings, subsets, strengths)
    result = Figure3(content_image, style_image, settings, rows, columns)
    for index, cell in enumerate(cells):
        r, c = divmod(index, len(columns))
        label = f"{subset_label(rows[r])}, strength {columns[c]:g}"
        result.cells[r, c] = render_run(label, content_image, style_image, cell.options,
                                        on_step=on_step, net=net)
    return result
