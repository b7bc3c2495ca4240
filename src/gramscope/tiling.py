"""Exact evaluation of the losses over an image too large for one forward pass.

The image is cut into core tiles; each is run through the network with a halo of context
at least the deepest layer's receptive radius, and only its core features are used. Tile
origins are multiples of the largest pooling stride, so every core feature equals the
feature of the whole image, and the per-layer Gram matrices G = Σ_tiles F_core F_coreᵀ are
exact: no seams, nothing approximated.

The gradient of E_l needs the whole image's G before any tile can be differentiated, so a
step is two passes: a forward-only pass accumulates G, then each tile is differentiated
through the surrogate ⟨D_l, F Fᵀ⟩ with D_l = ∂E_l/∂G fixed, whose gradient is exactly
∂E_l/∂F = 2 D_l F.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import torch

from .losses import gram_matrix
from .losses import positions as positions_of
from .vgg import LAYERS, canonical_layer, downsampling

#: What computes features: the network itself, or the objective's wrapper of it.
FeatureExtractor = Callable[[torch.Tensor, Iterable[str]], dict[str, torch.Tensor]]

#: Tile origins are multiples of this: the stride of pool5, the coarsest grid.
ALIGN = 32


def receptive_radius(layer: str) -> int:
    """Pixels of context on each side that a feature of ``layer`` depends on."""
    size, stride = 1, 1
    for name in LAYERS[: LAYERS.index(canonical_layer(layer)) + 1]:
        if name.startswith("pool"):
            size += stride  # 2×2 window, stride 2
            stride *= 2
        else:
            size += 2 * stride  # 3×3 conv
    return size // 2 + 1


def halo_for(layers: Iterable[str]) -> int:
    radius = max(receptive_radius(layer) for layer in layers)
    return math.ceil(radius / ALIGN) * ALIGN


@dataclass(frozen=True)
class Tile:
    """Core rows/cols [y0, y1) × [x0, x1) and the halo-extended input window."""

    y0: int
    y1: int
    x0: int
    x1: int
    ey0: int
    ey1: int
    ex0: int
    ex1: int

    def core_of(self, feature: torch.Tensor, layer: str) -> torch.Tensor:
        """The core part of this tile's own feature map (computed on its window)."""
        return self._cut(feature, layer, self.ey0, self.ex0)

    def core_of_whole(self, feature: torch.Tensor, layer: str) -> torch.Tensor:
        """The same region cut from a feature map of the whole image."""
        return self._cut(feature, layer, 0, 0)

    def _cut(self, feature: torch.Tensor, layer: str, origin_y: int, origin_x: int):
        d = downsampling(layer)
        top, left = (self.y0 - origin_y) // d, (self.x0 - origin_x) // d
        # A core that ends at the image edge takes everything to the end: pooling floors
        # the odd remainder the same way for the window and for the whole image.
        bottom = None if self.y1 == self.ey1 else (self.y1 - origin_y) // d
        right = None if self.x1 == self.ex1 else (self.x1 - origin_x) // d
        return feature[:, :, top:bottom, left:right]


def tiles(height: int, width: int, tile: int, halo: int) -> Iterator[Tile]:
    """Core tiles of about ``tile`` px (rounded to ALIGN) covering the image."""
    step = max(ALIGN, tile // ALIGN * ALIGN)
    for y0 in range(0, height, step):
        y1 = min(height, y0 + step)
        if height - y1 < ALIGN:  # no sliver rows: the last tile takes them
            y1 = height
        for x0 in range(0, width, step):
            x1 = min(width, x0 + step)
            if width - x1 < ALIGN:
                x1 = width
            yield Tile(y0, y1, x0, x1, max(0, y0 - halo), min(height, y1 + halo),
                       max(0, x0 - halo), min(width, x1 + halo))
            if x1 == width:
                break
        if y1 == height:
            break


def tiled_features(
    net: FeatureExtractor, image: torch.Tensor, layers: Iterable[str], tile: int
) -> dict[str, torch.Tensor]:
    """Whole-image feature maps, computed tile by tile without gradients (for targets)."""
    layers = [canonical_layer(layer) for layer in layers]
    halo = halo_for(layers)
    height, width = image.shape[-2:]
    rows: dict[str, dict[int, list[torch.Tensor]]] = {layer: {} for layer in layers}
    with torch.no_grad():
        for t in tiles(height, width, tile, halo):
            features = net(image[:, :, t.ey0:t.ey1, t.ex0:t.ex1], layers)
            for layer in layers:
                rows[layer].setdefault(t.y0, []).append(t.core_of(features[layer], layer))
    return {
        layer: torch.cat([torch.cat(row, dim=3) for _, row in sorted(by_row.items())], dim=2)
        for layer, by_row in rows.items()
    }


def _tile_cores(
    net: FeatureExtractor, image: torch.Tensor, layers: Iterable[str], tile: int
) -> Iterator[tuple[Tile, str, torch.Tensor]]:
    """(tile, layer, the tile's core features (1, N, h, w)) over the whole image, no grad."""
    layers = [canonical_layer(layer) for layer in layers]
    halo = halo_for(layers)
    height, width = image.shape[-2:]
    with torch.no_grad():
        for t in tiles(height, width, tile, halo):
            features = net(image[:, :, t.ey0:t.ey1, t.ex0:t.ex1], layers)
            for layer in layers:
                yield t, layer, t.core_of(features[layer], layer)


def _accumulate(sums: dict[str, torch.Tensor], layer: str, value: torch.Tensor) -> None:
    sums[layer] = value if layer not in sums else sums[layer] + value


def tiled_grams(
    net: FeatureExtractor, image: torch.Tensor, layers: Iterable[str], tile: int
) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """Σ over tiles of F_core F_coreᵀ per layer, and the positions M per layer."""
    grams: dict[str, torch.Tensor] = {}
    positions: dict[str, int] = {}
    for _, layer, core in _tile_cores(net, image, layers, tile):
        _accumulate(grams, layer, gram_matrix(core))  # this tile's share of G
        positions[layer] = positions.get(layer, 0) + positions_of(core)
    return grams, positions


def tiled_guided_grams(
    net: FeatureExtractor, image: torch.Tensor, layers: Iterable[str], tile: int,
    guides: list[dict[str, torch.Tensor]],
) -> list[dict[str, torch.Tensor]]:
    """Per region r and layer, Σ over tiles of (F_core∘T_core)(F_core∘T_core)ᵀ, where
    ``guides[r][layer]`` is the region's guide at that layer's whole-image resolution; the
    guided counterpart of :func:`tiled_grams` (divide by Σ T² for the normalised Gram)."""
    grams: list[dict[str, torch.Tensor]] = [{} for _ in guides]
    for t, layer, core in _tile_cores(net, image, layers, tile):
        for region, guide in zip(grams, guides, strict=True):
            _accumulate(region, layer, gram_matrix(core * t.core_of_whole(guide[layer], layer)))
    return grams
