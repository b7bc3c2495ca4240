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
from .image import long_side_size

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


def _is_cuda(device: object) -> bool:
    return getattr(device, "type", str(device).split(":")[0]) == "cuda"


def available_bytes(device: object = None) -> int:
    """Memory a run may use now. CPU: MemAvailable from /proc/meminfo (Linux), else the
    physical memory, else 8 GB. CUDA: the device's free memory plus what PyTorch's cache
    holds unused, within the per-process cap if one is set."""
    if _is_cuda(device):
        return _cuda_available(device)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return total_bytes()


def _cuda_available(device: object) -> int:
    import torch

    free, total = torch.cuda.mem_get_info(device)  # type: ignore[arg-type]
    allocated = torch.cuda.memory_allocated(device)  # type: ignore[arg-type]
    cached_unused = torch.cuda.memory_reserved(device) - allocated  # type: ignore[arg-type]
    available = free + cached_unused
    fraction = _cuda_fraction(device)
    if fraction < 1.0:  # torch.cuda.set_per_process_memory_fraction
        available = min(available, int(total * fraction) - allocated)
    return max(0, available)


def _cuda_fraction(device: object) -> float:
    import torch

    getter = getattr(torch.cuda, "get_per_process_memory_fraction", None)
    if getter is None:  # older PyTorch: no cap can be read
        return 1.0
    try:
        return float(getter(device))
    except (RuntimeError, TypeError, ValueError):
        return 1.0


def total_bytes(device: object = None) -> int:
    """The memory of the machine or device (a constant, unlike what is free right now);
    on CUDA within the per-process cap."""
    if _is_cuda(device):
        import torch

        total = torch.cuda.get_device_properties(device).total_memory  # type: ignore[arg-type]
        return int(total * min(1.0, _cuda_fraction(device)))
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 10**9


def lbfgs_history(pixels: int, capacity: int, steps: int | None = None) -> int:
    """Remembered steps: what fits in HISTORY_SHARE of ``capacity``, at most the usual 100,
    and no more than the ``steps`` of the scale (a longer memory would never fill, so the
    optimiser is the same, and its buffers need not be allocated)."""
    per_step = 2 * 3 * 4 * pixels
    history = max(3, min(LBFGS_MAX_HISTORY, int(capacity * HISTORY_SHARE // per_step)))
    return history if steps is None else max(1, min(history, steps))


@dataclass(frozen=True)
class MemoryPlan:
    pixels: int
    tile_pixels: int  # pixels the network sees at once (== pixels when untiled)
    history: int
    peak_bytes: int

    @property
    def tiled(self) -> bool:
        return self.tile_pixels < self.pixels

    @property
    def tile_side(self) -> int | None:
        """The core tile side when tiled."""
        return round(self.tile_pixels**0.5) if self.tiled else None


def plan(pixels: int, tile_pixels: int | None, optimizer: str, history: int,
         base: int = BASE_BYTES) -> MemoryPlan:
    seen = pixels if tile_pixels is None else min(pixels, tile_pixels)
    history = history if optimizer == "lbfgs" else 0
    # L-BFGS: two vectors per remembered step; Adam: two moments; gd: none beyond the image.
    extra_vectors = {"lbfgs": 2 * history, "adam": 2}.get(optimizer, 0)
    peak = (
        base
        + ACTIVATION_BYTES_PER_PIXEL * seen
        + IMAGE_BYTES_PER_PIXEL * pixels
        + extra_vectors * 3 * 4 * pixels
    )
    return MemoryPlan(pixels, seen, history, peak)


#: Core tile side when a run is too large for one pass (about 1 MP: ~3 GB of activations).
DEFAULT_TILE = 1024
#: Tiles are never made smaller than this when a run runs out of memory.
MIN_TILE = 256
#: On a GPU the weights are in device memory and PyTorch is not; what the base covers there
#: is the cuDNN workspace and the allocator's slack.
CUDA_BASE_BYTES = 1_000_000_000
#: Share of the available memory a plan may fill.
FILL = 0.8


def pixels_at(size: tuple[int, int], long_side: int) -> int:
    """Pixels of an image of ``size`` (width, height) resized to ``long_side``."""
    width, height = long_side_size(size, long_side)
    return width * height


def largest_tile(pixels: int, optimizer: str, history: int, available: int, base: int) -> int:
    """The largest core tile side (a multiple of MIN_TILE, at least DEFAULT_TILE where it
    fits) whose plan fills at most FILL of ``available``; MIN_TILE if none does."""
    fixed = plan(pixels, 0, optimizer, history, base).peak_bytes
    room = FILL * available - fixed
    side = int((max(room, 0) / ACTIVATION_BYTES_PER_PIXEL) ** 0.5) // MIN_TILE * MIN_TILE
    return max(MIN_TILE, side)


def run_plan(options: StyleOptions, content_size: tuple[int, int],
             available: int | None = None, device: object = None,
             capacity: int | None = None) -> MemoryPlan:
    """The final scale's memory plan on ``device``; refuses a run that cannot fit, naming
    the largest size that would.

    Untiled when it fits; else tiled (``options.tile_size``, or DEFAULT_TILE on the CPU and
    the largest tile that fits on a GPU, where bigger tiles waste less on halos)."""
    available = available_bytes(device) if available is None else available
    capacity = total_bytes(device) if capacity is None else capacity
    base = CUDA_BASE_BYTES if _is_cuda(device) else BASE_BYTES
    pixels = pixels_at(content_size, options.size)
    # The final scale's own step count bounds its L-BFGS memory, as in the run (with the
    # taper a 4096-px result takes 6 steps there, not ``steps``).
    final_steps = options.steps_per_scale[-1]
    history = lbfgs_history(pixels, capacity, final_steps)
    tile = options.tile_size
    if tile is None:
        untiled = plan(pixels, None, options.optimizer, history, base)
        if untiled.peak_bytes <= FILL * available:
            return untiled
        tile = DEFAULT_TILE
        if _is_cuda(device):
            tile = largest_tile(pixels, options.optimizer, history, available, base)
    tiled = plan(pixels, tile * tile, options.optimizer, history, base)
    if tiled.peak_bytes > FILL * available:
        long_side = options.size
        while long_side > 64 and plan(
            pixels_at(content_size, long_side), tile * tile, options.optimizer,
            lbfgs_history(pixels_at(content_size, long_side), capacity, final_steps), base,
        ).peak_bytes > FILL * available:
            long_side = int(long_side * 0.9)
        raise GramscopeError(
            f"--size {options.size} needs about {tiled.peak_bytes / GB:.1f} GB but "
            f"{available / GB:.1f} GB is available; the largest size that fits is "
            f"about --size {long_side}"
        )
    return tiled
