"""Gram matrices forget where: shuffle a painting's tiles and measure what changed.

G^l = Σ_k F_ik F_jk sums over positions k, so any permutation of the positions leaves it
exactly as it was. Cutting the painting into a grid of tiles and shuffling them permutes
the positions of every layer's feature map, *if* each tile covers whole cells of that map
(tile sides a multiple of the layer's stride, so no pooling window spans two tiles) and
*except* where a unit's receptive field crosses a seam (or the image border, whose zero
padding now meets another tile). So the Gram matrices change only by those seam bands,
which widen with depth, while the content representation F^l (conv4_2), compared
position by position as L_content does, changes as much as the picture moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import torch
from PIL import Image

from ..errors import OptionsError
from ..image import resize_long_side
from ..losses import normalised_gram
from ..options import StyleOptions
from ..tiling import receptive_radius
from ..transfer import ImageInput, as_image
from ..vgg import VGG19, canonical_layer, downsampling
from .features import feature_maps
from .plotting import Drawing, new_figure, show_image
from .runner import ViewSettings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

@dataclass(frozen=True)
class ShuffleSettings(ViewSettings):
    """512 px in 4 × 4 tiles (128 × 80 px on starry_night): the seam bands are a small share
    of each tile up to conv4_1 (measured conv1_1 Gram change 6 %, against 15 % at 256 px and
    32 % with 8 × 8 tiles there), and the whole view takes about 4 s on one busy CPU core.
    Only forward passes: no optimiser steps to count."""

    OWN: ClassVar[tuple[str, ...]] = ("grid", "seed")

    size: int = 512
    grid: int = 4
    seed: int = 0  # of the shuffle, not of StyleOptions


SHUFFLE_SETTINGS = ShuffleSettings()

#: Where the residual Gram change comes from, for the figure and the report.
SEAMS_NOTE = (
    "Tile sides are multiples of the deepest layer's stride, so every pooling window lies "
    "in one tile and the shuffle only moves feature-map cells. What is left of the Gram "
    "change comes from units whose reach (± px under each bar) crosses a seam or the "
    "picture's edge: they see new neighbours. That band widens with depth, hence the rise "
    "to conv5_1; F is compared position by position, so it changes as much as the tiles "
    "moved."
)


def relative_change(before: torch.Tensor, after: torch.Tensor) -> float:
    """‖after − before‖ / ‖before‖ (Frobenius norms; 0 when nothing changed)."""
    norm = float(before.norm())
    return float((after - before).norm()) / norm if norm > 0 else 0.0


def tile_alignment(layers: Sequence[str]) -> int:
    """The stride of the deepest layer: tile sides are multiples of it."""
    return max(downsampling(layer) for layer in layers)


def tile_sides(size: tuple[int, int], grid: int, align: int) -> tuple[int, int]:
    """(width, height) of one tile: the largest multiple of ``align`` that ``grid`` tiles fit."""
    if grid < 1:
        raise OptionsError(f"the grid needs at least 1 tile a side, not {grid}")
    sides = tuple(side // grid // align * align for side in size)
    if min(sides) < align:
        raise OptionsError(
            f"a {size[0]}×{size[1]} image cannot hold {grid}×{grid} tiles of at least "
            f"{align} px; use a larger --size or a smaller --grid")
    return sides[0], sides[1]


def derangement(count: int, seed: int) -> list[int]:
    """A permutation of range(count) that moves every item (the identity for one item),
    drawn with ``seed``: no tile stays in place, so none hides the content change."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(count, generator=generator).tolist()
        if count == 1 or all(i != j for i, j in enumerate(order)):
            return order


def shuffle_tiles(
    image: Image.Image, grid: int, seed: int, align: int
) -> tuple[Image.Image, Image.Image, list[int]]:
    """(the centre crop the tiles cover, its tiles shuffled, the order): tile i of the
    shuffled picture is tile order[i] of the crop, counted row by row."""
    width, height = tile_sides(image.size, grid, align)
    left = (image.width - grid * width) // 2
    top = (image.height - grid * height) // 2
    crop = image.crop((left, top, left + grid * width, top + grid * height))
    order = derangement(grid * grid, seed)
    shuffled = Image.new("RGB", crop.size)
    for target, source in enumerate(order):
        sy, sx = divmod(source, grid)
        ty, tx = divmod(target, grid)
        tile = crop.crop((sx * width, sy * height, (sx + 1) * width, (sy + 1) * height))
        shuffled.paste(tile, (tx * width, ty * height))
    return crop, shuffled, order


@dataclass
class TileShuffle(Drawing):
    """A painting, its tiles shuffled, and how much each representation changed."""

    painting: Image.Image  # the crop the tiles cover
    shuffled: Image.Image
    grid: int
    seed: int
    order: list[int]
    gram_change: dict[str, float]  # style layer -> ‖G − G'‖ / ‖G‖ of G/M
    feature_change: dict[str, float]  # content layer -> ‖F − F'‖ / ‖F‖

    @property
    def tile_size(self) -> tuple[int, int]:
        return self.painting.width // self.grid, self.painting.height // self.grid

    def bars(self) -> list[tuple[str, float, str]]:
        """(label, relative change, colour) for each measured representation."""
        return ([(f"G {layer}\n±{receptive_radius(layer)} px", change, "#2e86c1")
                 for layer, change in self.gram_change.items()]
                + [(f"F {layer}", change, "#c0392b")
                   for layer, change in self.feature_change.items()])

    def figure(self) -> Figure:
        figure = new_figure(11.5, 4.0)
        grid = figure.add_gridspec(1, 3, width_ratios=(1, 1, 1.6))
        width, height = self.tile_size
        show_image(figure.add_subplot(grid[0, 0]), self.painting, "painting")
        show_image(figure.add_subplot(grid[0, 1]), self.shuffled,
                   f"{self.grid}×{self.grid} tiles shuffled", f"{width}×{height} px tiles, "
                   f"seed {self.seed}")
        ax = figure.add_subplot(grid[0, 2])
        labels, values, colours = zip(*self.bars(), strict=True)
        ax.bar(range(len(values)), [100 * v for v in values], color=colours)
        for x, value in enumerate(values):
            ax.text(x, 100 * value, f"{100 * value:.3g} %", ha="center", va="bottom",
                    fontsize=8)
        ax.set_xticks(range(len(values)), labels, fontsize=7)
        ax.set_ylabel("relative change (%)", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title("what the shuffle changed", fontsize=10)
        figure.suptitle("Gram matrices forget where: ‖G − G′‖/‖G‖ (blue) against "
                        "‖F − F′‖/‖F‖ (red)", fontsize=11)
        figure.text(0.5, 0.01, SEAMS_NOTE, ha="center", va="bottom", fontsize=8,
                    color="#333333", wrap=True)
        figure.tight_layout(rect=(0, 0.08, 1, 0.94))
        return figure


def shuffle_painting(
    style: ImageInput, *, grid: int = SHUFFLE_SETTINGS.grid,
    seed: int = SHUFFLE_SETTINGS.seed, size: int = SHUFFLE_SETTINGS.size,
    options: StyleOptions | None = None, net: VGG19 | None = None,
) -> TileShuffle:
    """Shuffle ``style``'s tiles (scaled to ``size`` px, long side) and measure the relative
    change of G/M on each of ``options.style_layers`` and of F on its content layers.

    ``options`` chooses the network and the layers as the engine would (default: the
    stylisation defaults).
    """
    settings = options or StyleOptions()
    style_layers = [canonical_layer(name) for name in settings.style_layers]
    content_layers = [canonical_layer(name) for name in settings.content_layers]
    layers = style_layers + [name for name in content_layers if name not in style_layers]
    if not layers:
        raise OptionsError("give at least one style or content layer to measure")
    picture = resize_long_side(as_image(style), size)
    painting, shuffled, order = shuffle_tiles(picture, grid, seed, tile_alignment(layers))
    # Measured at the crop's own size: feature_maps must not scale it again.
    long_side = max(painting.size)
    before = feature_maps(painting, layers, size=long_side, options=settings, net=net)
    after = feature_maps(shuffled, layers, size=long_side, options=settings, net=net)
    return TileShuffle(
        painting, shuffled, grid, seed, order,
        {name: relative_change(normalised_gram(before[name]), normalised_gram(after[name]))
         for name in style_layers},
        {name: relative_change(before[name], after[name]) for name in content_layers},
    )
