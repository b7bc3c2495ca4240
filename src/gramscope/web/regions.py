"""The demo's regions: brush strokes over the photo, or an uploaded mask, as one mask per
painting (see :mod:`gramscope.masks`, which checks them and says what is wrong).

The brush has a fixed palette, one colour per region and each region its own painting. A
stroke's opacity is its weight: anti-aliased and half-opaque edges become grey, the soft
edge the engine blends across. Where two colours' edges overlap the canvas mixes them, so
each painted pixel belongs to the nearest palette colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import InputImageError
from ..masks import MIN_COVER, masks_from_map

#: The brush's colours, (name, hex), one region and one painting picker each; the two
#: differ in hue and in lightness, so they stay apart for red-green colour blindness too.
REGION_COLOURS = (("red", "#e6194b"), ("blue", "#4363d8"))
#: An uploaded mask counts as greyscale when no pixel's channels differ by more than this
#: (of 255): a JPEG of a grey mask carries a little colour noise.
GREY_TOLERANCE = 16


@dataclass(frozen=True)
class Regions:
    """The regions found: which palette colour each is (an index into the palette), its
    mask (mode "L", white = that colour's painting here) and a name for the metadata."""

    colours: tuple[int, ...]
    masks: tuple[Image.Image, ...]
    names: tuple[str, ...]


def _rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour.lstrip("#"), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def painted_regions(
    layers: Sequence[Image.Image], palette: Sequence[tuple[str, str]] = REGION_COLOURS,
) -> Regions | None:
    """One region per palette colour painted on the editor's layers (RGBA, transparent =
    unpainted), or None when nothing is painted."""
    if not layers:
        return None
    strokes = Image.new("RGBA", layers[0].size, (0, 0, 0, 0))
    for layer in layers:
        strokes = Image.alpha_composite(strokes, layer.convert("RGBA").resize(strokes.size))
    pixels = np.asarray(strokes, dtype=np.float32)  # (H, W, 4)
    colours = np.array([_rgb(hex_) for _, hex_ in palette], dtype=np.float32)  # (K, 3)
    distance = ((pixels[:, :, None, :3] - colours) ** 2).sum(axis=-1)  # (H, W, K)
    nearest = distance.argmin(axis=-1)  # (H, W)
    found = []
    for index, (name, hex_) in enumerate(palette):
        weight = np.where(nearest == index, pixels[..., 3], 0).astype(np.uint8)  # (H, W)
        if weight.max() >= MIN_COVER:
            found.append((index, Image.fromarray(weight, "L"), f"painted {name} {hex_}"))
    if not found:
        return None
    return Regions(*(tuple(column) for column in zip(*found, strict=True)))


def uploaded_regions(
    image: Image.Image, name: str, palette: Sequence[tuple[str, str]] = REGION_COLOURS,
) -> Regions:
    """Regions from an uploaded mask: a greyscale one is the first colour's region; a map
    painted in the palette's colours gives one region per colour it holds."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)  # (H, W, 3)
    if int((rgb.max(axis=-1) - rgb.min(axis=-1)).max()) <= GREY_TOLERANCE:
        return Regions((0,), (image.convert("L"),), (name,))
    # Exact colours: a map's regions are flat (as for gramscope stylize --mask-map).
    present = [index for index, (_, hex_) in enumerate(palette)
               if (rgb == np.array(_rgb(hex_), dtype=np.int16)).all(axis=-1).any()]
    if not present:
        listed = ", ".join(f"{colour} {hex_}" for colour, hex_ in palette)
        raise InputImageError(f"mask {name} is neither greyscale nor painted in the brush "
                              f"colours ({listed})")
    masks, _ = masks_from_map(image, [palette[i][1] for i in present], len(present))
    return Regions(tuple(present), tuple(masks),
                   tuple(f"{name} {palette[i][0]} {palette[i][1]}" for i in present))
