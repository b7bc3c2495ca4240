"""Where each style goes: masks, one per style image, or one colour-coded map.

A mask is a greyscale image: white = this painting's style here, black = not, grey = a soft
edge. Where no mask reaches, the photo is only held by the content term. The engine turns
each mask into a guide for guided Gram matrices (Gatys et al. 2017, §4; objective.Region).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import InputImageError, OptionsError
from .image import load_image

#: A mask's aspect ratio may differ from the photo's by this factor and is then resized
#: (and the run says so); beyond it the mask was surely made for another picture.
MAX_ASPECT_MISMATCH = 1.25
#: A mask whose brightest pixel is below this (of 255) covers nothing.
MIN_COVER = 8

MaskInput = str | Path | Image.Image


@dataclass(frozen=True)
class Masks:
    """Masks ready for a run: greyscale images at the photo's size, what they were, and
    notes for the first step record (e.g. that one was resized)."""

    images: tuple[Image.Image, ...]  # mode "L", each the photo's size
    described: tuple[dict, ...]  # {"mask": name, "sha256": ...} for the metadata
    notes: tuple[str, ...] = ()

    def guides(self, size: tuple[int, int], device: torch.device) -> list[torch.Tensor]:
        """Each mask at ``size`` (width, height) as a (1, 1, H, W) guide in [0, 1]."""
        out = []
        for mask in self.images:
            resized = mask.resize(size, Image.Resampling.BILINEAR)
            array = np.asarray(resized, dtype=np.float32) / 255.0  # (H, W)
            out.append(torch.from_numpy(array)[None, None].to(device))
        return out


def _name(value: MaskInput, index: int) -> str:
    return str(value) if isinstance(value, str | Path) else f"<mask {index + 1}>"


def _as_grey(value: MaskInput, index: int) -> Image.Image:
    image = value if isinstance(value, Image.Image) else load_image(value)
    if image.mode == "RGBA":  # a painted layer: transparent = not here
        background = Image.new("RGB", image.size)
        background.paste(image, mask=image.getchannel("A"))
        image = background
    return image.convert("L")


def prepare_masks(
    masks: Sequence[MaskInput], styles: int, photo_size: tuple[int, int],
    names: Sequence[str] | None = None,
) -> Masks:
    """Check and load one mask per style image; every problem is a one-line error."""
    if len(masks) != styles:
        raise OptionsError(f"{len(masks)} masks given for {styles} style images; give one "
                           "mask per style image")
    images, described, notes = [], [], []
    for index, value in enumerate(masks):
        name = names[index] if names is not None else _name(value, index)
        grey = _as_grey(value, index)
        if max(grey.getextrema()) < MIN_COVER:
            raise InputImageError(f"mask {name} is all black: it puts its style nowhere")
        ratio = (grey.width / grey.height) / (photo_size[0] / photo_size[1])
        if max(ratio, 1 / ratio) > MAX_ASPECT_MISMATCH:
            raise InputImageError(
                f"mask {name} is {grey.width}x{grey.height}, far from the photo's shape "
                f"({photo_size[0]}x{photo_size[1]}); make the mask from the photo")
        if max(ratio, 1 / ratio) > 1.02:  # a smaller copy of the photo's shape is silent
            notes.append(f"mask {name} ({grey.width}x{grey.height}) was stretched to the "
                         f"photo's shape ({photo_size[0]}x{photo_size[1]})")
        if grey.size != photo_size:
            grey = grey.resize(photo_size, Image.Resampling.BILINEAR)
        images.append(grey)
        described.append({"mask": name, "sha256": hashlib.sha256(grey.tobytes()).hexdigest()})
    return Masks(tuple(images), tuple(described), tuple(notes))


def masks_from_map(
    path: MaskInput, colours: Sequence[str] | None, styles: int
) -> tuple[list[Image.Image], list[str]]:
    """One mask per style from a colour-coded map, and their names: the pixels of each
    flat colour (in the order of ``colours``, hex like ``#ff0000``; by default the map's
    colours other than black, most frequent first) are that style's region."""
    image = path if isinstance(path, Image.Image) else load_image(path)
    rgb = np.asarray(image.convert("RGB"), dtype=np.int32)  # (H, W, 3)
    codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    if colours is None:
        values, counts = np.unique(codes[codes != 0], return_counts=True)
        chosen = [int(v) for v in values[np.argsort(-counts, kind="stable")]]
    else:
        chosen = [_hex(colour) for colour in colours]
    if len(chosen) != styles:
        raise OptionsError(f"the mask map has {len(chosen)} colours (other than black) for "
                           f"{styles} style images; give --mask-colors, one per style")
    name = _name(path, 0) if isinstance(path, str | Path) else "the mask map"
    present = set(np.unique(codes).tolist())
    for code in chosen:
        if code not in present:
            raise InputImageError(f"colour #{code:06x} is nowhere in {name}")
    masks = [Image.fromarray(np.where(codes == code, 255, 0).astype(np.uint8), "L")
             for code in chosen]
    return masks, [f"{name} #{code:06x}" for code in chosen]


def _hex(colour: str) -> int:
    text = colour.strip().lstrip("#")
    if len(text) != 6:
        raise OptionsError(f"mask colour {colour!r} is not like #ff8800")
    try:
        return int(text, 16)
    except ValueError:
        raise OptionsError(f"mask colour {colour!r} is not like #ff8800") from None
