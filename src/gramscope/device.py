"""Where a run computes: the device, and the one cached network per device and setting."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import torch

from .errors import OptionsError
from .vgg import VGG19, load_vgg19

if TYPE_CHECKING:
    from .options import StyleOptions


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when present, else the CPU; anything unusable is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise OptionsError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if resolved.type not in ("cpu", "cuda"):
        raise OptionsError(f"device {device!r} is not supported; use cpu, cuda, cuda:N or auto")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionsError("--device cuda asked for, but no CUDA GPU is available here")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise OptionsError(f"{device} asked for, but there are only "
                               f"{torch.cuda.device_count()} CUDA devices")
    return resolved


@functools.lru_cache(maxsize=4)
def cached_vgg19(
    weights: str | None, pooling: str, normalisation: str, device: str
) -> VGG19:
    """One network per process and setting: weights are read-only, so runs may share it."""
    return load_vgg19(weights, pooling=pooling, normalisation=normalisation,  # type: ignore[arg-type]
                      device=device)


def network_for(options: StyleOptions) -> VGG19:
    """The engine's cached network for ``options`` (same weights, pooling, scaling, device)."""
    return cached_vgg19(options.weights, options.pooling, options.normalisation,
                        str(resolve_device(options.device)))
