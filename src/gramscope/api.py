"""The library face: ``gramscope.stylize(content, style, **options)``."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from .errors import GramscopeError
from .image import to_pil
from .interrupt import StopFlag
from .options import StyleOptions
from .transfer import ImageInput, StepRecord, cached_vgg19, resolve_device, run


@dataclass
class Result:
    """A finished (or stopped) run: the picture, every step's losses and how it was made."""

    image: Image.Image
    history: list[StepRecord]
    metadata: dict[str, Any]
    interrupted: bool = False


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("gramscope")
    except PackageNotFoundError:
        return "0+unknown"


def describe_input(value: ImageInput | Sequence[ImageInput]) -> Any:
    if isinstance(value, str | Path):
        return str(value)
    if isinstance(value, Image.Image):
        return f"<image {value.size[0]}x{value.size[1]}>"
    return [describe_input(v) for v in value]


def run_metadata(
    options: StyleOptions, content: Any, styles: Any, history: Sequence[StepRecord],
    seconds: float, interrupted: bool,
) -> dict[str, Any]:
    """Everything needed to make the same picture again."""
    device = resolve_device(options.device)
    net = cached_vgg19(options.weights, options.pooling, options.normalisation, str(device))
    last = history[-1] if history else None
    return {
        "gramscope": version(),
        "options": options.to_dict(),
        "content": describe_input(content),
        "styles": describe_input(styles),
        "weights": {"source": net.source, "sha256": net.sha256},
        "seed": options.seed,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "steps_done": last.step if last else 0,
        "interrupted": interrupted,
        "seconds": round(seconds, 3),
        "final_losses": last.to_dict() if last else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def stylize(
    content: ImageInput,
    style: ImageInput | Sequence[ImageInput],
    *,
    on_step: Callable[[StepRecord], None] | None = None,
    stop: Callable[[], bool] | None = None,
    image_every: int = 0,
    **options: Any,
) -> Result:
    """Stylise ``content`` after ``style`` (a path, a PIL image or a list of them).

    Keyword options are the fields of :class:`~gramscope.options.StyleOptions`, with the
    same defaults as the CLI. ``on_step`` sees every :class:`StepRecord` as it happens.
    """
    settings = StyleOptions(**options)
    started = time.perf_counter()
    history: list[StepRecord] = []
    latest: torch.Tensor | None = None
    ctrl_c = StopFlag(announce=False)

    def stopping() -> bool:
        return ctrl_c() or (stop is not None and stop())

    # Ctrl-C ends the run after the current step and still returns its picture.
    with ctrl_c.installed():
        for record in run(content, style, settings, stop=stopping, image_every=image_every):
            if record.image is not None:
                latest = record.image
            history.append(record)
            if on_step is not None:
                on_step(record)
    interrupted = stopping() or (bool(history) and history[-1].failed)
    if latest is None:
        raise GramscopeError("the run ended before it produced an image")
    metadata = run_metadata(settings, content, style, history,
                            time.perf_counter() - started, interrupted)
    return Result(to_pil(latest), history, metadata, interrupted)
