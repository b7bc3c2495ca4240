"""The library face: ``gramscope.stylize(content, style, **options)``."""

from __future__ import annotations

import dataclasses
import platform
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from . import transfer
from .checkpoint import Checkpoint
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
    stopped: bool = False  # a stop was asked for (Ctrl-C, SIGTERM or ``stop()``)
    failed: bool = False  # the loss could not be recovered; ``image`` is the best one

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    @property
    def finished(self) -> bool:
        """Every step was taken: neither stopped nor failed."""
        return not (self.stopped or self.failed)

    @property
    def interrupted(self) -> bool:
        """Deprecated: ``not finished``, one flag for two endings; read :attr:`stopped` and
        :attr:`failed` (or :attr:`finished`)."""
        warnings.warn("Result.interrupted is deprecated: read Result.stopped and "
                      "Result.failed, or Result.finished", DeprecationWarning, stacklevel=2)
        return not self.finished


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


class Run:
    """One run as the engine's stream, made by :func:`stream`: iterating it yields a
    :class:`StepRecord` per step; :meth:`stop` (or the ``stop`` callable, Ctrl-C or SIGTERM
    in the main thread) ends it after the current step, keeping its picture; :meth:`result`
    is the :class:`Result` once the stream is done. The photo, the paintings, the masks and
    the start image are read and checked here, once, before the network loads.
    """

    def __init__(
        self, content: ImageInput, style: ImageInput | Sequence[ImageInput],
        options: StyleOptions, *, stop: Callable[[], bool] | None = None,
        image_every: int = 0, checkpoint_every: int = 0, resume: Checkpoint | None = None,
        net: VGG19 | None = None, masks: Sequence[MaskInput] | Masks | None = None,
        coarse_style: ImageInput | None = None, previous_frame: PreviousFrame | None = None,
        announce_stop: bool = False, keep_images: bool = True,
    ) -> None:
        self.options, self.described, self.described_styles = options, content, style
        self.content = transfer.as_image(content)
        self.styles = [transfer.as_image(s) for s in transfer.style_list(style)]
        self.init = None if options.init_file is None else transfer.as_image(options.init_file)
        self.masks = masks if masks is None or isinstance(masks, Masks) else prepare_masks(
            masks, len(self.styles), self.content.size)
        self.coarse_style = coarse_style
        self.coarse = None if coarse_style is None else transfer.as_image(coarse_style)
        self.previous_frame, self.resume, self.net = previous_frame, resume, net
        self.image_every, self.checkpoint_every = image_every, checkpoint_every
        self.keep_images = keep_images
        self.history: list[StepRecord] = []
        self.latest: torch.Tensor | None = None  # the newest picture (1, 3, H, W), 0-255
        self.asked = False
        self._stopped: bool | None = None  # whether it had been stopped when it ended
        self._stop = stop
        self._ctrl_c = StopFlag(announce=announce_stop)
        self._started = time.perf_counter()

    def stop(self) -> None:
        """End the run after the current step; its picture is kept."""
        self.asked = True

    @property
    def stopped(self) -> bool:
        """A stop was asked for (:meth:`stop`, ``stop()``, Ctrl-C or SIGTERM), as it stood
        when the stream ended (or now, while it runs)."""
        if self._stopped is not None:
            return self._stopped
        return self.asked or self._ctrl_c() or (self._stop is not None and self._stop())

    @property
    def failed(self) -> bool:
        """The loss could not be recovered; :attr:`latest` is the best picture."""
        return bool(self.history) and self.history[-1].failed

    def __iter__(self) -> Iterator[StepRecord]:
        self._started, self._stopped = time.perf_counter(), None
        try:
            yield from self._records()
        finally:
            self._stopped = self.stopped

    def _records(self) -> Iterator[StepRecord]:
        with self._ctrl_c.installed():
            # Looked up on the module, not bound at import: tests replace the engine there.
            for record in transfer.run(
                    self.content, self.styles, self.options, stop=lambda: self.stopped,
                    image_every=self.image_every, checkpoint_every=self.checkpoint_every,
                    resume=self.resume, net=self.net, masks=self.masks,
                    coarse_style=self.coarse, previous_frame=self.previous_frame,
                    init=self.init):
                if record.image is not None:
                    self.latest = record.image
                # A checkpoint is handed out once, with its record (the CLI saves it then);
                # kept in the history, every one of them would stay in memory.
                kept = dataclasses.replace(record, checkpoint=None)
                if not self.keep_images:
                    kept.image = None
                self.history.append(kept)
                yield record

    def result(self) -> Result:
        """The picture and how it was made (raises when no step made a picture)."""
        if self.latest is None:
            raise GramscopeError("the run stopped before it produced an image; nothing written")
        stopped, failed = self.stopped, self.failed
        metadata = run_metadata(
            self.options, self.described, self.described_styles, self.history,
            time.perf_counter() - self._started, stopped or failed, self.net, self.masks)
        if self.coarse_style is not None:
            metadata["coarse_style"] = describe_input(self.coarse_style)
        frame = self.previous_frame
        if frame is not None:
            metadata["previous_frame"] = {"temporal_weight": frame.weight,
                                          "warped_start": frame.warped_start,
                                          "trusted": round(float(frame.weights.mean()), 4)}
        return Result(to_pil(self.latest), self.history, metadata, stopped, failed)


def stream(
    content: ImageInput, style: ImageInput | Sequence[ImageInput], *,
    options: StyleOptions | None = None, stop: Callable[[], bool] | None = None,
    image_every: int = 0, checkpoint_every: int = 0, resume: Checkpoint | None = None,
    net: VGG19 | None = None, masks: Sequence[MaskInput] | Masks | None = None,
    coarse_style: ImageInput | None = None, previous_frame: PreviousFrame | None = None,
    announce_stop: bool = False, keep_images: bool = True, **option_values: Any,
) -> Run:
    """A run of ``content`` after ``style`` to iterate step by step (see :class:`Run`):
    the same arguments as :func:`stylize`, which is this with a loop. ``keep_images=False``
    keeps the history's losses but not its intermediate pictures (3 MB each at 512 px)."""
    settings = StyleOptions(**option_values) if options is None else (
        options.replace(**option_values) if option_values else options)
    return Run(content, style, settings, stop=stop, image_every=image_every,
               checkpoint_every=checkpoint_every, resume=resume, net=net, masks=masks,
               coarse_style=coarse_style, previous_frame=previous_frame,
               announce_stop=announce_stop, keep_images=keep_images)


def stylize(
    content: ImageInput,
    style: ImageInput | Sequence[ImageInput],
    *,
    options: StyleOptions | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    **arguments: Any,
) -> Result:
    """Stylise ``content`` after ``style`` (a path, a PIL image or a list of them).

    Keyword options are the fields of :class:`~gramscope.options.StyleOptions`, with the
    same defaults as the CLI (or pass ``options``; keywords then override its fields).
    ``on_step`` sees every :class:`StepRecord` as it happens: the CLI's progress bar, its
    checkpoints and the explain figures are such callbacks. The other keywords are
    :func:`stream`'s: ``stop`` (polled between steps), ``image_every``,
    ``checkpoint_every``, ``resume``, ``net``, ``masks`` (one greyscale image per style:
    white = that style here), ``coarse_style`` (a painting for the large structure, see
    ``StyleOptions.coarse_from``) and ``previous_frame`` (a video's frame t−1 moved onto
    this one), handed on to :func:`gramscope.transfer.run`. Ctrl-C (or SIGTERM) ends the
    run after the current step and still returns its picture; ``announce_stop`` says so on
    stderr when it happens.
    """
    run = stream(content, style, options=options, **arguments)
    for record in run:
        if on_step is not None:
            on_step(record)
    return run.result()
