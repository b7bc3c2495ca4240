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

from . import transfer
from .device import network_for, network_precision, resolve_device
from .errors import GramscopeError
from .image import to_pil
from .interrupt import StopFlag
from .masks import MaskInput, Masks, prepare_masks
from .options import StyleOptions
from .temporal import PreviousFrame
from .transfer import ImageInput, StepRecord
from .version import version
from .vgg import VGG19


@dataclass
class Result:
    """A finished (or stopped) run: the picture, every step's losses and how it was made."""

    image: Image.Image
    history: list[StepRecord]
    metadata: dict[str, Any]
    interrupted: bool = False  # stopped early, or failed (then ``failed`` is true too)
    stopped: bool = False  # a stop was asked for (Ctrl-C, SIGTERM or ``stop()``)
    failed: bool = False  # the loss could not be recovered; ``image`` is the best one

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def describe_input(value: ImageInput | Sequence[ImageInput]) -> Any:
    if isinstance(value, str | Path):
        return str(value)
    if isinstance(value, Image.Image):
        return f"<image {value.size[0]}x{value.size[1]}>"
    return [describe_input(v) for v in value]


def run_metadata(
    options: StyleOptions, content: Any, styles: Any, history: Sequence[StepRecord],
    seconds: float, interrupted: bool, net: VGG19 | None = None, masks: Masks | None = None,
) -> dict[str, Any]:
    """Everything needed to make the same picture again."""
    device = resolve_device(options.device)
    net = network_for(options) if net is None else net
    last = history[-1] if history else None
    extra = {} if masks is None else {"masks": list(masks.described)}
    return {
        "gramscope": version(),
        "options": options.to_dict(),
        "content": describe_input(content),
        "styles": describe_input(styles),
        "weights": {"source": net.source, "sha256": net.sha256},
        "seed": options.seed,
        "device": str(device),
        # What --precision auto chose here: the same options on another machine may not.
        "precision": network_precision(options.precision, device),
        "torch_threads": torch.get_num_threads(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "steps_done": last.step if last else 0,
        "interrupted": interrupted,
        "seconds": round(seconds, 3),
        "final_losses": last.to_dict() if last else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
    }


def stylize(
    content: ImageInput,
    style: ImageInput | Sequence[ImageInput],
    *,
    options: StyleOptions | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    stop: Callable[[], bool] | None = None,
    image_every: int = 0,
    checkpoint_every: int = 0,
    resume: dict[str, Any] | None = None,
    net: VGG19 | None = None,
    masks: Sequence[MaskInput] | Masks | None = None,
    coarse_style: ImageInput | None = None,
    previous_frame: PreviousFrame | None = None,
    announce_stop: bool = False,
    **option_values: Any,
) -> Result:
    """Stylise ``content`` after ``style`` (a path, a PIL image or a list of them).

    Keyword options are the fields of :class:`~gramscope.options.StyleOptions`, with the
    same defaults as the CLI (or pass ``options``; keywords then override its fields).
    ``on_step`` sees every :class:`StepRecord` as it happens: the CLI's progress bar, its
    checkpoints and the explain figures are such callbacks. ``checkpoint_every``,
    ``resume``, ``net``, ``masks`` (one greyscale image per style: white = that style
    here) and ``coarse_style`` (a painting for the large structure, see
    ``StyleOptions.coarse_from``) and ``previous_frame`` (a video's frame t−1 moved onto
    this one) are handed to :func:`gramscope.transfer.run`. Ctrl-C (or
    SIGTERM) ends the run after the current step and still returns its picture;
    ``announce_stop`` says so on stderr when it happens.
    """
    settings = StyleOptions(**option_values) if options is None else (
        options.replace(**option_values) if option_values else options)
    started = time.perf_counter()
    history: list[StepRecord] = []
    latest: torch.Tensor | None = None
    ctrl_c = StopFlag(announce=announce_stop)

    def stopping() -> bool:
        return ctrl_c() or (stop is not None and stop())

    prepared, described = None, content
    if masks is not None:
        photo = transfer.as_image(content)
        prepared = masks if isinstance(masks, Masks) else prepare_masks(
            masks, len(transfer.style_list(style)), photo.size)
        content = photo
    with ctrl_c.installed():
        # Looked up on the module, not bound at import: tests replace the engine there.
        for record in transfer.run(content, style, settings, stop=stopping,
                                   image_every=image_every, checkpoint_every=checkpoint_every,
                                   resume=resume, net=net, masks=prepared,
                                   coarse_style=coarse_style, previous_frame=previous_frame):
            if record.image is not None:
                latest = record.image
            history.append(record)
            if on_step is not None:
                on_step(record)
    failed = bool(history) and history[-1].failed
    stopped = stopping()
    if latest is None:
        raise GramscopeError("the run stopped before it produced an image; nothing written")
    metadata = run_metadata(settings, described, style, history,
                            time.perf_counter() - started, stopped or failed, net, prepared)
    if coarse_style is not None:
        metadata["coarse_style"] = describe_input(coarse_style)
    if previous_frame is not None:
        metadata["previous_frame"] = {"temporal_weight": previous_frame.weight,
                                      "warped_start": previous_frame.warped_start,
                                      "trusted": round(float(previous_frame.weights.mean()), 4)}
    return Result(to_pil(latest), history, metadata, stopped or failed, stopped, failed)
