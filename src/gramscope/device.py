"""Where a run computes: the device, and the one cached network per device and setting."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from .errors import OptionsError
from .vgg import VGG19, load_vgg19

if TYPE_CHECKING:
    from .options import StyleOptions

# cuBLAS reads this when it creates its first handle, so it is set before any CUDA work:
# with it cuBLAS is deterministic (required by torch.use_deterministic_algorithms).
# A user's own setting wins. Nothing changes on the CPU.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


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


def network_precision(precision: str, device: torch.device) -> str:
    """The network's arithmetic for ``precision`` on ``device``: ``fp32`` or ``bf16``.

    ``auto`` is bf16 autocast on a CPU whose oneDNN has native bf16 convolutions (AVX-512
    BF16 or AMX) and fp32 everywhere else. Speed only: the losses and Gram matrices stay
    fp32 either way. Measured (bench/RESULTS.md): on the 2-core AVX-512 BF16 CPU the
    network's forward and backward pass at 512×384 takes 1.05 s in bf16 against 1.9 s in
    fp32, at the same network-judge scores for the same steps; on an H200 bf16 was slower
    than fp32 at 512 px (bench/RESULTS_gpu.md), so a GPU keeps fp32 unless asked.
    """
    if precision != "auto":
        return precision
    if device.type == "cpu" and torch.backends.mkldnn.is_available() and \
            torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "bf16"
    return "fp32"


@functools.lru_cache(maxsize=4)
def cached_vgg19(
    weights: str | None, pooling: str, normalization: str, device: str
) -> VGG19:
    """One network per process and setting: weights are read-only, so runs may share it."""
    return load_vgg19(weights, pooling=pooling, normalization=normalization,  # type: ignore[arg-type]
                      device=device)


def network_for(options: StyleOptions) -> VGG19:
    """The engine's cached network for ``options`` (same weights, pooling, scaling, device)."""
    return cached_vgg19(options.weights, options.pooling, options.normalization,
                        str(resolve_device(options.device)))


@contextlib.contextmanager
def deterministic_kernels(device: torch.device, enabled: bool) -> Iterator[None]:
    """On CUDA, deterministic cuDNN and cuBLAS kernels while inside (restored after).

    Without them two runs with the same seed differ by up to 180 levels at 256 px
    (measured on an H200): atomics in the convolutions' backward pass sum in varying
    order, and L-BFGS amplifies the difference. The CPU needs nothing.
    """
    if device.type != "cuda" or not enabled:
        yield
        return
    previous = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
                torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled())
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    _set_deterministic_algorithms(True, warn_only=False)
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = previous[:2]
        _set_deterministic_algorithms(previous[2], warn_only=previous[3])


def _set_deterministic_algorithms(mode: bool, *, warn_only: bool) -> None:
    """torch.use_deterministic_algorithms without its import of torch._inductor, which
    loads torch._dynamo: 1.9 s on this CPU and 4.4 s on the H200 machine before the first
    step of every process (measured); the engine never compiles anything."""
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # a PyTorch without the internal entry point
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
    else:
        setter(mode, warn_only=warn_only)


#: The errors that mean "this did not fit in memory" on the CPU or a GPU.
OUT_OF_MEMORY: tuple[type[BaseException], ...] = (torch.cuda.OutOfMemoryError, MemoryError)


def release_cached_memory(device: torch.device) -> None:
    """Give PyTorch's cached, unused GPU blocks back before trying again in less memory."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
