"""How much memory a run needs, measured on this implementation, and what is available.

Peak resident memory of one forward+backward step grows linearly with the pixels the
network sees at once. Measured here (CPU, fp32, style layers conv1_1…conv5_1 + conv4_2):
+0.40 GB at 512×384 (0.197 MP) and +0.96 GB at 768×576 (0.442 MP) over a ~0.45 GB base
(Python, PyTorch, weights): about 2.2 kB per pixel. The estimate adds a margin to that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import GramscopeError

if TYPE_CHECKING:
    from .options import StyleOptions

#: Bytes of activations kept for the backward pass per input pixel (measured, + 25 %).
ACTIVATION_BYTES_PER_PIXEL = 2_800
#: Python, PyTorch and the network's weights.
BASE_BYTES = 600_000_000
#: Per pixel, outside the network: image, gradient, content/style tensors, L-BFGS scratch,
#: the content targets at conv4_2 (N/64 floats a pixel) and the PNG being encoded.
IMAGE_BYTES_PER_PIXEL = 3 * 4 * 8 + 32
#: L-BFGS keeps two image-sized vectors per remembered step.
LBFGS_MAX_HISTORY = 100
#: Share of the available memory the L-BFGS history may take.
HISTORY_SHARE = 0.25
GB = 1e9


def available_bytes() -> int:
    """MemAvailable from /proc/meminfo (Linux), else the physical memory, else 8 GB."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 10**9


def total_bytes() -> int:
    """Physical memory (a constant of the machine, unlike what is free right now)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 10**9


def lbfgs_history(pixels: int, available: int) -> int:
    """Remembered steps that fit in HISTORY_SHARE of memory (at most the usual 100)."""
    per_step = 2 * 3 * 4 * pixels
    return max(3, min(LBFGS_MAX_HISTORY, int(available * HISTORY_SHARE // per_step)))


@dataclass(frozen=True)
class MemoryPlan:
    pixels: int
    tile_pixels: int  # pixels the network sees at once (== pixels when untiled)
    history: int
    peak_bytes: int

    @property
    def tiled(self) -> bool:
        return self.tile_pixels < self.pixels


def plan(pixels: int, tile_pixels: int | None, optimizer: str, available: int) -> MemoryPlan:
    seen = pixels if tile_pixels is None else min(pixels, tile_pixels)
    history = lbfgs_history(pixels, total_bytes()) if optimizer == "lbfgs" else 0
    extra_vectors = 2 * history if optimizer == "lbfgs" else 2  # Adam: two moments
    peak = (
        BASE_BYTES
        + ACTIVATION_BYTES_PER_PIXEL * seen
        + IMAGE_BYTES_PER_PIXEL * pixels
        + extra_vectors * 3 * 4 * pixels
    )
    return MemoryPlan(pixels, seen, history, peak)


#: Core tile side when a run is too large for one pass (about 1 MP: ~3 GB of activations).
DEFAULT_TILE = 1024


def pixels_at(size: tuple[int, int], long_side: int) -> int:
    """Pixels of an image of ``size`` (width, height) resized to ``long_side``."""
    width, height = size
    scale = long_side / max(width, height)
    return max(1, round(width * scale)) * max(1, round(height * scale))


def run_plan(options: StyleOptions, content_size: tuple[int, int],
             available: int | None = None) -> MemoryPlan:
    """The final scale's memory plan; refuses a run that cannot fit, naming what would."""
    available = available_bytes() if available is None else available
    pixels = pixels_at(content_size, options.size)
    tile = options.tile_size
    if tile is None:
        untiled = plan(pixels, None, options.optimizer, available)
        if untiled.peak_bytes <= 0.8 * available:
            return untiled
        tile = DEFAULT_TILE
    tiled = plan(pixels, tile * tile, options.optimizer, available)
    if tiled.peak_bytes > 0.8 * available:
        long_side = options.size
        while long_side > 64 and plan(
            pixels_at(content_size, long_side), tile * tile, options.optimizer, available
        ).peak_bytes > 0.8 * available:
            long_side = int(long_side * 0.9)
        raise GramscopeError(
            f"--size {options.size} needs about {tiled.peak_bytes / GB:.1f} GB but "
            f"{available / GB:.1f} GB is available; the largest size that fits is "
            f"about --size {long_side}"
        )
    return tiled
