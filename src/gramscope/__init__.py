"""gramscope: neural style transfer after Gatys, Ecker & Bethge, built to show why it works.

The names below are imported on first use, so ``gramscope --help`` or a usage error does
not wait for PyTorch to load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name → the module that defines it.
_EXPORTS = {
    "Result": "api", "Run": "api", "stream": "api", "stylize": "api",
    "GramscopeError": "errors", "InputImageError": "errors", "OptionsError": "errors",
    "WeightsError": "errors",
    "load_image": "image", "read_metadata": "image", "save_image": "image",
    "StyleOptions": "options",
    "StepRecord": "transfer", "run": "transfer",
    "VGG19": "vgg", "load_vgg19": "vgg",
}

__all__ = [
    "GramscopeError", "InputImageError", "OptionsError", "Result", "Run", "StepRecord",
    "StyleOptions", "VGG19", "WeightsError", "load_image", "load_vgg19", "read_metadata",
    "run", "save_image", "stream", "stylize",
]

if TYPE_CHECKING:
    from .api import Result, Run, stream, stylize
    from .errors import GramscopeError, InputImageError, OptionsError, WeightsError
    from .image import load_image, read_metadata, save_image
    from .options import StyleOptions
    from .transfer import StepRecord, run
    from .vgg import VGG19, load_vgg19


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gramscope' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
