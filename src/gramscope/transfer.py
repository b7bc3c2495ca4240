"""The optimisation: one engine that yields a record per step.

The CLI progress bar, the saved loss history, the report and the web demo all consume the
stream of :class:`StepRecord` from :func:`run` (most through :func:`gramscope.stylize`);
none of them has a loop of its own. The objective is in objective.py, the memory plan in
memory.py, checkpoints in checkpoint.py.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from . import memory
from .checkpoint import Checkpoint, as_checkpoint, make_checkpoint
from .device import (
    OUT_OF_MEMORY,
    deterministic_kernels,
    network_for,
    release_cached_memory,
    resolve_device,
)
from .errors import GramscopeError, OptionsError
from .image import (
    check_size,
    load_image,
    long_side_size,
    luminance_only,
    match_color_statistics,
    recombine_luminance,
    resize_long_side,
    to_rgb,
    to_tensor,
)
from .lbfgs import DeviceLBFGS
from .masks import MaskInput, Masks, prepare_masks
from .objective import Objective
from .options import StyleOptions
from .temporal import PreviousFrame
from .vgg import VGG19

#: Times a scale is restarted from its best image after a non-finite or diverged loss.
MAX_RECOVERIES = 3
#: A loss this many times the best seen at its scale means the optimiser has diverged:
#: L-BFGS without a line search can leap to a saturated image and stay there (seen in about
#: one run in twenty of the noise-started figure cells).
DIVERGENCE_FACTOR = 4.0


@dataclass
class StepRecord:
    """What happened at one optimiser step (losses at the image *before* the step's update).

    ``content`` is α·L_content, ``style`` holds each w_l·E_l (so :attr:`style_total`,
    β·Σ_l w_l E_l, is the style part of ``total``), ``tv`` is the weighted TV term and
    ``temporal`` the weighted temporal term of a video frame (None when there is none).
    ``event`` notes a recovery or a failure; ``failed`` means the run ended on an error and
    ``image`` is the last good one.
    """

    step: int  # counted over all scales, from 1
    scale: int  # index into the schedule
    size: tuple[int, int]  # (width, height) being optimised
    seconds: float  # since the run started
    content: float
    style: dict[str, float]
    beta: float
    tv: float
    total: float
    image: torch.Tensor | None = field(default=None, repr=False)  # (1, 3, H, W) RGB 0-255
    checkpoint: Checkpoint | None = field(default=None, repr=False)
    event: str | None = None
    failed: bool = False
    temporal: float | None = None

    @property
    def style_total(self) -> float:
        """β·L_style = β·Σ_l w_l E_l: the style part of ``total``."""
        return self.beta * sum(self.style.values())

    def to_dict(self) -> dict:
        out = {
            "step": self.step, "scale": self.scale, "size": list(self.size),
            "seconds": round(self.seconds, 4), "content": self.content, "style": self.style,
            "beta": self.beta, "tv": self.tv, "total": self.total,
        }
        if self.temporal is not None:
            out["temporal"] = self.temporal
        if self.event:
            out["event"] = self.event
        return out


ImageInput = str | Path | Image.Image


def as_image(value: ImageInput) -> Image.Image:
    if isinstance(value, Image.Image):
        check_size(value.size, "image")
        return to_rgb(value)
    return load_image(value)


def scaled(image: Image.Image, long_side: int) -> torch.Tensor:
    return to_tensor(resize_long_side(image, long_side))


class NonFiniteLoss(Exception):
    """Raised inside a step when the loss or its gradient is NaN or infinite."""


class Diverged(Exception):
    """The loss at the current image is far above the best one seen at this scale."""


def initial_image(options: StyleOptions, inputs: ScaleInputs, generator: torch.Generator,
                  guides: Sequence[torch.Tensor] | None = None,
                  previous: PreviousFrame | None = None,
                  init: Image.Image | None = None) -> torch.Tensor:
    """The first scale's start: ``options.init`` at the first scale's size (``init``: that
    file's image, when the caller has read it already). ``guides`` (one mask per painting,
    at the image's size) make the matched start regional; a video's ``previous`` frame
    replaces it wherever that frame's moved result holds."""
    own = _own_start(options, inputs, generator, guides, init)
    return own if previous is None else previous.start(own)


def _own_start(options: StyleOptions, inputs: ScaleInputs, generator: torch.Generator,
               guides: Sequence[torch.Tensor] | None, init: Image.Image | None,
               ) -> torch.Tensor:
    content = inputs.net_content
    if options.init == "content":
        return content.clone()
    if options.init == "matched":
        # Ours, an optimisation start (the loss is unchanged): the photo recoloured to the
        # paintings' pixel mean and covariance. L-BFGS then spends its steps on texture
        # rather than on moving every pixel's colour (see bench/RESULTS.md, "the start").
        if guides is None:
            return match_color_statistics(content, _pooled(inputs.styles))
        return _regionally_matched(content, inputs.styles, guides)
    if options.init == "noise":
        # White noise around mid-grey with the spread of natural images' pixels.
        return (torch.randn(content.shape, generator=generator) * 50 + 128).to(content)
    if init is None:
        init = load_image(options.init)
    image = to_tensor(init.resize((content.shape[-1], content.shape[-2]),
                                  Image.Resampling.LANCZOS))
    return image.to(content)


def _regionally_matched(content: torch.Tensor, styles: Sequence[torch.Tensor],
                        guides: Sequence[torch.Tensor]) -> torch.Tensor:
    """Each region recoloured to its own painting; where no mask reaches, the photo."""
    share = torch.stack(list(guides)).sum(0).clamp_min(1.0)  # overlaps: weights sum to 1
    start = content.clone()
    for style, guide in zip(styles, guides, strict=True):
        start += guide / share * (match_color_statistics(content, style) - content)
    return start


def _pooled(styles: Sequence[torch.Tensor]) -> torch.Tensor:
    """Every painting's pixels side by side, shaped (1, 3, 1, Σ pixels): one colour
    distribution for several styles."""
    return torch.cat([s.reshape(1, 3, 1, -1) for s in styles], dim=-1)


class ScaleRun:
    """The optimiser's state at one scale: the image, the optimiser and the loss scale."""

    def __init__(
        self, objective: Objective, image: torch.Tensor, options: StyleOptions,
        history: int, lr_factor: float = 1.0,
    ) -> None:
        self.objective, self.options, self.history = objective, options, history
        self.image = image.detach().contiguous().requires_grad_(True)
        self.lr_factor = lr_factor
        self.loss_scale: float | None = None
        self.parts: dict[str, Any] = {}
        self.optimizer: Any
        lr = options.step_size * lr_factor
        if options.optimizer == "lbfgs":
            # One iteration per step() so that every step yields a record; the curvature
            # history persists across calls, so this is one continuous L-BFGS run. Ours on
            # every device, not torch's: torch's first step, 1/‖g‖₁, is ≈ 0 at a large
            # scale and its next step overshoots (speckle that 10 steps at 1024 px left).
            self.optimizer = DeviceLBFGS(self.image, lr=lr, history_size=history)
        elif options.optimizer == "adam":
            self.optimizer = torch.optim.Adam([self.image], lr=lr)
        else:
            # x ← x − η∇L_total: the paper's update rule, nothing added (no momentum).
            self.optimizer = torch.optim.SGD([self.image], lr=lr, momentum=0.0)

    def closure(self) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        first = self.loss_scale is None
        raw = self.objective.loss_and_grad(self.image, 1.0 if first else self.loss_scale)
        grad = self.image.grad
        if grad is None:
            raise NonFiniteLoss
        if first:
            # The optimiser sees the loss times a constant that gives the first gradient an
            # RMS of one pixel level. The minimiser is unchanged; without it E_l's 1/M²
            # makes per-pixel gradients so small that L-BFGS's curvature test (yᵀs > 1e-10)
            # never passes, and extreme α/β would overflow or underflow.
            rms = float(grad.pow(2).mean().sqrt())
            self.loss_scale = 1.0 / rms if rms > 0 and math.isfinite(rms) else 1.0
            grad.mul_(self.loss_scale)
        # Checked after the step, with the losses, in one read-back (see step()).
        self._raw = torch.cat([raw, torch.isfinite(grad).all().to(raw.dtype).view(1)])
        return self.objective.optimised_total(raw) * self.loss_scale

    def step(self) -> None:
        """One optimiser step; reads its numbers back from the device once.

        A non-finite loss, gradient or image raises NonFiniteLoss after the step: the caller
        restarts the scale from the image before it, so the update that was made is dropped.
        """
        self.optimizer.step(self.closure)  # type: ignore[arg-type]
        with torch.no_grad():
            if self.options.optimizer != "lbfgs":  # first-order steps may leave 0-255
                self.image.clamp_(0, 255)
            image_finite = torch.isfinite(self.image).all().to(self._raw.dtype).view(1)
            values = torch.cat([self._raw, image_finite]).tolist()  # the step's one sync
        *raw, grad_finite, image_finite_ = values
        if not (grad_finite and image_finite_ and all(map(math.isfinite, raw))):
            raise NonFiniteLoss
        parts = self.objective.parts(raw)
        if not math.isfinite(parts["total"]):
            raise NonFiniteLoss
        self.parts = parts

    def zero_grad(self) -> None:
        """Drop a gradient half-made by a step that failed."""
        self.image.grad = None

    def restart(self, image: torch.Tensor) -> None:
        """Start this scale again from ``image`` with half the step size and a fresh
        optimiser (its curvature history led it astray)."""
        self.__init__(self.objective, image, self.options, self.history,  # type: ignore[misc]
                      self.lr_factor / 2)

    def state(self) -> dict[str, Any]:
        """Copies: the image and the optimiser's buffers are updated in place, and a
        checkpoint must stay as it was at its step (DeviceLBFGS copies its own)."""
        optimizer = self.optimizer.state_dict()
        if self.options.optimizer != "lbfgs":
            optimizer = copy.deepcopy(optimizer)
        return {"image": self.image.detach().cpu().clone(), "optimizer": optimizer,
                "loss_scale": self.loss_scale, "lr_factor": self.lr_factor}

    def load(self, checkpoint: Checkpoint) -> None:
        """Continue from ``checkpoint``, which stays as it was (it may be resumed again)."""
        optimizer = checkpoint.optimizer
        if self.options.optimizer != "lbfgs":
            optimizer = copy.deepcopy(optimizer)
        self.optimizer.load_state_dict(optimizer)
        self.loss_scale = checkpoint.loss_scale



@dataclass
class ScaleInputs:
    """What one scale optimises against, on the device."""

    content: torch.Tensor  # (1, 3, H, W) the photo at this scale, RGB 0-255
    net_content: torch.Tensor  # what the network sees of it (luminance-only if asked)
    styles: list[torch.Tensor]  # each painting at the matching size, colour-controlled

    @property
    def size(self) -> tuple[int, int]:
        return (self.content.shape[-1], self.content.shape[-2])

    @property
    def pixels(self) -> int:
        return self.content[0, 0].numel()


def scale_inputs(
    options: StyleOptions, content: Image.Image, styles: Sequence[Image.Image],
    long_side: int, device: torch.device,
) -> ScaleInputs:
    """The photo at ``long_side`` and each painting at the size its scale asks for, with
    the colour control applied (Gatys et al. 2017)."""
    content_t = scaled(content, long_side).to(device)
    style_long_side = max(16, round(long_side * options.style_scale))
    style_ts = [scaled(s, style_long_side).to(device) for s in styles]
    if options.color == "histogram":
        style_ts = [match_color_statistics(s, content_t) for s in style_ts]
    net_content = content_t
    if options.color == "luminance":
        style_ts = [luminance_only(s, like=content_t) for s in style_ts]
        net_content = luminance_only(content_t)
    return ScaleInputs(content_t, net_content, style_ts)


def scale_alpha(
    options: StyleOptions, content_size: tuple[int, int], scale: int, pixels: int
) -> float:
    """The content weight at one scale of the schedule: ``options.content_weight``
    (α/strength) weighed for the pixels of this scale.

    The one place α is weighed. ``Objective.norm`` and ``ScaleRun.loss_scale`` multiply
    every term of L_total alike (for floating point's range and L-BFGS's curvature test),
    so they leave the balance, and the minimiser, as they are."""
    alpha = options.content_weight
    sizes = options.scale_sizes
    if not options.literal_sum:
        # Departure (named option, the default): L_content sums over positions while E_l
        # is size-normalised, so with the literal sum the content's weight grows with the
        # pixels. α is scaled by reference_size's pixel count over this scale's, so that
        # α/β states one balance (a reference_size-px result's) at every size and scale.
        alpha *= memory.pixels_at(content_size, options.reference_size) / pixels
    elif options.balance_scales and scale < len(sizes) - 1:
        # Departure (ours, optimisation only): with the literal sum a coarse scale would
        # weigh content by its pixel share; scale α so each coarse scale approximates the
        # final scale's balance.
        alpha *= memory.pixels_at(content_size, sizes[-1]) / pixels
    return alpha


def start_image(
    options: StyleOptions, previous: torch.Tensor | None, inputs: ScaleInputs,
    generator: torch.Generator, guides: Sequence[torch.Tensor] | None = None,
    frame: PreviousFrame | None = None, init: Image.Image | None = None,
) -> torch.Tensor:
    """The first scale starts from ``options.init`` (``init``: its image, already read;
    and a video's previous ``frame``); each later one from the previous scale's result,
    upsampled."""
    if previous is None:
        return initial_image(options, inputs, generator, guides, frame, init)
    return F.interpolate(previous, size=inputs.content.shape[-2:], mode="bicubic",
                         align_corners=False).clamp(0, 255)


@dataclass
class Scale:
    """One scale of a run's schedule, built in one place (:meth:`of`): its side and steps,
    the photo and paintings at that size (:class:`ScaleInputs`), α there
    (:func:`scale_alpha`) and the masks at that size. The engine optimises it; explain's
    pull maps build the same one to take each term's gradient."""

    index: int  # into options.scale_sizes
    long_side: int
    steps: int
    inputs: ScaleInputs
    alpha: float
    guides: list[torch.Tensor] | None = None  # one mask per painting, at this size
    coarse: bool = False  # the last of inputs.styles is the coarse-structure painting

    @classmethod
    def of(cls, options: StyleOptions, content: Image.Image, styles: Sequence[Image.Image],
           index: int, device: torch.device, *, masks: Masks | None = None,
           coarse: Image.Image | None = None) -> Scale:
        """Scale ``index`` of ``options``' schedule for ``content`` after ``styles`` (and
        ``coarse``'s large structure)."""
        long_side = options.scale_sizes[index]
        paintings = list(styles) + ([coarse] if coarse is not None else [])
        inputs = scale_inputs(options, content, paintings, long_side, device)
        alpha = scale_alpha(options, content.size, index, inputs.pixels)
        guides = None if masks is None else masks.guides(inputs.size, device)
        return cls(index, long_side, options.steps_per_scale[index], inputs, alpha, guides,
                   coarse is not None)

    def objective(self, net: VGG19, options: StyleOptions, blend: Sequence[float],
                  tile: int | None = None, previous: PreviousFrame | None = None,
                  ) -> Objective:
        """L_total at this scale (see :class:`~gramscope.objective.Objective`)."""
        styles, coarse = self.inputs.styles, None
        if self.coarse:
            styles, coarse = styles[:-1], styles[-1]
        return Objective(net, options, self.inputs.net_content, styles, blend, self.alpha,
                         tile, self.guides, coarse, previous)

    def start(self, options: StyleOptions, generator: torch.Generator,
              previous: torch.Tensor | None = None, frame: PreviousFrame | None = None,
              init: Image.Image | None = None) -> torch.Tensor:
        """Where this scale's optimisation starts (see :func:`start_image`)."""
        return start_image(options, previous, self.inputs, generator, self.guides, frame,
                           init)


@dataclass
class Position:
    """Where a run is: the step counted over all scales, and the clock."""

    step: int
    started: float

    def seconds(self) -> float:
        return time.perf_counter() - self.started


class OutOfMemory(GramscopeError):
    """Even the smallest tiles do not fit in the device's memory."""


@dataclass
class Fit:
    """Builds a scale's objective, and again in smaller exact tiles after running out of
    memory (the tiled loss is the same loss, so the optimiser's state stays valid)."""

    build: Callable[[int | None], Objective]
    long_side: int
    device: torch.device
    tile: int | None  # core tile side; None: untiled
    note: str | None = None  # said on the scale's first record when it had to shrink

    def objective(self) -> Objective:
        first = self.tile
        while True:
            try:
                objective = self.build(self.tile)
            except OUT_OF_MEMORY:
                self.shrink()
                continue
            if self.tile != first:
                self.note = (f"out of memory for this scale's targets: continuing in exact "
                             f"{self.tile}-px tiles")
            return objective

    def smaller(self) -> Objective:
        """The objective in tiles half the size of the ones that did not fit."""
        self.shrink()
        return self.objective()

    def shrink(self) -> None:
        release_cached_memory(self.device)
        side = (self.tile or self.long_side) // 2 // memory.MIN_TILE * memory.MIN_TILE
        if side < memory.MIN_TILE:
            raise OutOfMemory(
                f"out of memory on {self.device.type} even in {memory.MIN_TILE}-px tiles; "
                "try a smaller --size" + (" or --device cpu" if self.device.type != "cpu"
                                          else ""))
        self.tile = side


@dataclass
class Best:
    """The best image seen at a scale (its loss was measured there), and the restarts."""

    total: float
    image: torch.Tensor
    restarts: int = 0

    def update(self, total: float, measured_at: torch.Tensor) -> None:
        if total > DIVERGENCE_FACTOR * self.total:
            raise Diverged
        if total <= self.total:
            self.total, self.image = total, measured_at


def _restart(current: ScaleRun, best: Best, problem: Exception, at: Position,
             ) -> tuple[str, bool]:
    """Restart the scale from its best image with half the step size: (event, whether it
    could; after MAX_RECOVERIES restarts, or before any good step, it cannot)."""
    what = "diverged" if isinstance(problem, Diverged) else "non-finite"
    best.restarts += 1
    if best.restarts > MAX_RECOVERIES or not current.parts:
        return (f"the loss kept going {what}; kept the best image (try a smaller learning "
                "rate, other weights or --optimizer adam)"), False
    current.restart(best.image)
    return (f"{what} loss at step {at.step + 1}: restarted the scale from its best image "
            f"with learning rate ×{current.lr_factor:g}"), True


def _shrink(current: ScaleRun, fit: Fit, at: Position) -> tuple[str, bool]:
    """Continue the scale in smaller exact tiles after running out of memory."""
    current.zero_grad()
    try:
        current.objective = fit.smaller()
    except OutOfMemory as problem:
        return f"{problem}; kept the latest image", False
    return f"out of memory at step {at.step + 1}: continuing in exact {fit.tile}-px tiles", True


def optimise_scale(
    current: ScaleRun, fit: Fit, options: StyleOptions, inputs: ScaleInputs, scale: int,
    steps: range, at: Position, *, stop: Callable[[], bool] | None, image_every: int,
    checkpoint_every: int,
) -> Generator[StepRecord, None, bool]:
    """Run ``steps`` (indices within the scale) of one scale, yielding a record per step.

    A non-finite or diverged loss restarts the scale from its best image with half the
    step size, at most MAX_RECOVERIES times; running out of memory continues in smaller
    exact tiles (see :class:`Fit`). Returns True when the run must end here: ``stop()``
    said so, or the loss could not be recovered.
    """
    event = fit.note
    best = Best(math.inf, current.image.detach().clone())
    i = steps.start
    while i < steps.stop:
        attempt = _attempt(current, fit, best, at, stop)
        if not attempt.stepped:
            event = attempt.event
            if attempt.failed is not None:
                yield _failure(options, inputs, scale, at, attempt.failed, attempt.event or "")
                return True
            continue
        at.step += 1
        i += 1
        wants_image = attempt.stopping or i == steps.stop or bool(
            image_every and at.step % image_every == 0)
        record = _record(current, options, inputs, scale, at, event, wants_image)
        if checkpoint_every and (at.step % checkpoint_every == 0 or attempt.stopping):
            record.checkpoint = make_checkpoint(
                options, scale=scale, step_in_scale=i, step=at.step, seconds=record.seconds,
                state=current.state())
        yield record
        event = None
        if attempt.stopping:
            return True
    return False


@dataclass
class Attempt:
    """How one step went: taken (and whether the run stops after it), or not taken, with
    what was done about it and, when nothing could be, the image to keep."""

    stepped: bool
    stopping: bool = False
    event: str | None = None
    failed: torch.Tensor | None = None  # not stepped and not recoverable: the image to keep


def _attempt(current: ScaleRun, fit: Fit, best: Best, at: Position,
             stop: Callable[[], bool] | None) -> Attempt:
    """One optimiser step, recovering from a non-finite or diverged loss (a restart from
    the best image) and from running out of memory (smaller tiles) where it can."""
    good = current.image.detach().clone()
    try:
        current.step()
        best.update(current.parts["total"], good)
        return Attempt(True, stop is not None and stop())
    except (NonFiniteLoss, Diverged) as problem:
        event, recovered = _restart(current, best, problem, at)
        return Attempt(False, event=event, failed=None if recovered else best.image)
    except OUT_OF_MEMORY:
        event, recovered = _shrink(current, fit, at)
        return Attempt(False, event=event, failed=None if recovered else good)
    except KeyboardInterrupt:
        # Ctrl-C mid-step: the image is still a valid iterate; hand it over and end.
        if not current.parts:
            raise
        return Attempt(True, True)


def _record(
    current: ScaleRun, options: StyleOptions, inputs: ScaleInputs, scale: int, at: Position,
    event: str | None, with_image: bool,
) -> StepRecord:
    parts = current.parts
    return StepRecord(
        step=at.step, scale=scale, size=inputs.size, seconds=at.seconds(),
        content=parts["content"], style=parts["style"], beta=options.beta,
        tv=parts["tv"], total=parts["total"], event=event, temporal=parts["temporal"],
        image=_presentable(current.image, options, inputs.content) if with_image else None,
    )


def _failure(
    options: StyleOptions, inputs: ScaleInputs, scale: int, at: Position,
    image: torch.Tensor, event: str,
) -> StepRecord:
    """The last record of a run that cannot go on: it carries the image to keep."""
    return StepRecord(
        step=at.step, scale=scale, size=inputs.size, seconds=at.seconds(),
        content=float("nan"), style={}, beta=options.beta, tv=float("nan"),
        total=float("nan"), image=_presentable(image, options, inputs.content),
        failed=True, event=event,
    )


def style_list(styles: ImageInput | Sequence[ImageInput]) -> list[ImageInput]:
    """One style image or several, as a list (at least one)."""
    out = [styles] if isinstance(styles, str | Path | Image.Image) else list(styles)
    if not out:
        raise OptionsError("give at least one style image")
    return out


def _blend(options: StyleOptions, count: int) -> tuple[float, ...]:
    blend = options.style_blend or tuple(1.0 for _ in range(count))
    if len(blend) != count:
        raise OptionsError(f"{len(blend)} blend weights given for {count} style images")
    return tuple(w / sum(blend) for w in blend)


def run(
    content: ImageInput,
    styles: ImageInput | Sequence[ImageInput],
    options: StyleOptions | None = None,
    *,
    stop: Callable[[], bool] | None = None,
    image_every: int = 0,
    checkpoint_every: int = 0,
    resume: Checkpoint | dict[str, Any] | None = None,
    net: VGG19 | None = None,
    masks: Sequence[MaskInput] | Masks | None = None,
    coarse_style: ImageInput | None = None,
    previous_frame: PreviousFrame | None = None,
    init: ImageInput | None = None,
) -> Iterator[StepRecord]:
    """Stylise ``content`` after ``styles``, yielding a :class:`StepRecord` per step.

    ``masks`` (one greyscale image per style, see masks.py) puts each painting's style only
    where its mask is white; elsewhere the photo is held by the content term alone.
    ``coarse_style`` gives the style layers from ``options.coarse_from`` on their targets
    (large structure from it, brushwork from ``styles``). ``previous_frame`` (a video's
    frame t−1 moved onto this one, see temporal.py) gives a warped start and a temporal
    term; its size must be the result's. ``init`` is ``options.init``'s image when the
    caller has read that file already (:class:`gramscope.api.Run` does).

    ``stop()`` is polled between steps; when it returns true the run ends after yielding
    the last record (which always carries the image). Every ``image_every`` steps, and at
    the end of each scale, a record carries the current image (RGB 0-255, colour control
    applied), so a consumer never needs a second way in. Every ``checkpoint_every`` steps a
    record carries a resumable ``checkpoint``; passing it back as ``resume`` continues the
    run to the same result (same inputs, options and device).
    """
    options = options or StyleOptions()
    at = Position(step=0, started=time.perf_counter())
    torch.manual_seed(options.seed)
    generator = torch.Generator().manual_seed(options.seed)
    run_inputs = RunInputs.prepare(options, content, styles, net=net, masks=masks,
                                   coarse_style=coarse_style, previous_frame=previous_frame,
                                   init=init)
    if resume is not None:
        resume = as_checkpoint(resume)
        resume.check(options)
        at.started -= resume.seconds
    with deterministic_kernels(run_inputs.device, options.deterministic):
        yield from _run_scales(run_inputs, at, generator, stop=stop, image_every=image_every,
                               checkpoint_every=checkpoint_every, resume=resume)


@dataclass
class RunInputs:
    """What stays the same over every scale of a run."""

    options: StyleOptions
    content: Image.Image
    styles: list[Image.Image]
    blend: tuple[float, ...]
    net: VGG19
    device: torch.device
    plan: memory.MemoryPlan  # of the final scale
    masks: Masks | None = None
    coarse: Image.Image | None = None
    previous: PreviousFrame | None = None  # a video's frame t−1, moved onto this one
    init: Image.Image | None = None  # options.init's image, when it names a file

    @classmethod
    def prepare(
        cls, options: StyleOptions, content: ImageInput,
        styles: ImageInput | Sequence[ImageInput], *, net: VGG19 | None,
        masks: Sequence[MaskInput] | Masks | None, coarse_style: ImageInput | None,
        previous_frame: PreviousFrame | None, init: ImageInput | None,
    ) -> RunInputs:
        """Every input read and checked (see :func:`run`) before the network loads."""
        paintings = style_list(styles)
        blend = _blend(options, len(paintings))
        device = resolve_device(options.device)
        content_image = as_image(content)
        style_images = [as_image(s) for s in paintings]
        # Read once, here: a broken start image is reported before the network loads.
        init_image = None if options.init_file is None else as_image(
            options.init_file if init is None else init)
        if masks is not None and not isinstance(masks, Masks):
            masks = prepare_masks(masks, len(style_images), content_image.size)
        if masks is not None and coarse_style is not None:
            raise OptionsError("masks and a coarse style image do not combine; choose one")
        coarse_image = None if coarse_style is None else as_image(coarse_style)
        if previous_frame is not None:
            _check_frame_size(previous_frame, content_image.size, options.size)
        final_plan = memory.run_plan(options, content_image.size, device=device)
        return cls(options, content_image, style_images, blend,
                   network_for(options) if net is None else net, device, final_plan, masks,
                   coarse_image, previous_frame, init_image)

    def scale(self, index: int) -> Scale:
        """Scale ``index`` of the schedule, with this run's masks and coarse painting."""
        return Scale.of(self.options, self.content, self.styles, index, self.device,
                        masks=self.masks, coarse=self.coarse)

    def fit(self, scale: Scale) -> Fit:
        """The scale's objective, tiled when the final plan is and the scale is larger than
        a tile."""
        tile = self.plan.tile_side
        use_tile = tile if tile is not None and scale.inputs.pixels > tile * tile else None

        def build(tile: int | None) -> Objective:
            return scale.objective(self.net, self.options, self.blend, tile, self.previous)

        return Fit(build, scale.long_side, self.device, use_tile)

    def begin(self, scale: Scale, objective: Objective, image: torch.Tensor | None,
              generator: torch.Generator, at: Position, resume: Checkpoint | None,
              ) -> tuple[ScaleRun, int]:
        """The optimiser at ``scale``'s start (from the previous scale's ``image``, or
        ``resume``'s checkpoint), and the step within the scale it starts at."""
        options, device = self.options, self.device
        # From the memory of the machine or device, not what is free now: the same seed
        # must give the same image however busy the machine is.
        history = memory.lbfgs_history(scale.inputs.pixels, memory.total_bytes(device),
                                       scale.steps)
        if resume is not None:
            # A copy: the optimiser updates its image in place, and the checkpoint may be
            # resumed again.
            current = ScaleRun(objective, resume.image.to(device, copy=True), options, history,
                               resume.lr_factor)
            current.load(resume)
            at.step = resume.step
            return current, resume.step_in_scale
        start = scale.start(options, generator, image, self.previous, self.init)
        return ScaleRun(objective, start, options, history), 0


def _run_scales(
    run_inputs: RunInputs, at: Position, generator: torch.Generator, *,
    stop: Callable[[], bool] | None, image_every: int, checkpoint_every: int,
    resume: Checkpoint | None,
) -> Iterator[StepRecord]:
    options = run_inputs.options
    image: torch.Tensor | None = None
    first = 0 if resume is None else resume.scale
    for index in range(first, len(options.scale_sizes)):
        scale = run_inputs.scale(index)
        fit = run_inputs.fit(scale)
        if image is None and run_inputs.masks is not None and run_inputs.masks.notes:
            fit.note = "; ".join(run_inputs.masks.notes)
        try:
            objective = fit.objective()
        except OutOfMemory as problem:
            if image is None:
                raise
            yield _failure(options, scale.inputs, index, at, scale.start(options, generator, image),
                           f"{problem}; kept the previous scale's image")
            return
        current, first_step = run_inputs.begin(scale, objective, image, generator, at, resume)
        resume = None
        ended = yield from optimise_scale(
            current, fit, options, scale.inputs, index, range(first_step, scale.steps), at,
            stop=stop, image_every=image_every, checkpoint_every=checkpoint_every)
        if ended:
            return
        image = current.image.detach()
    if image is not None and sum(options.steps_per_scale) == 0:
        yield StepRecord(step=0, scale=len(options.scale_sizes) - 1,
                         size=(image.shape[-1], image.shape[-2]), seconds=at.seconds(),
                         content=0.0, style={}, beta=options.beta, tv=0.0, total=0.0,
                         image=_presentable(image, options, scale.inputs.content))


def _check_frame_size(frame: PreviousFrame, content_size: tuple[int, int],
                      long_side: int) -> None:
    """A previous frame must be the size of the result (the photo at ``long_side``)."""
    expected = long_side_size(content_size, long_side)
    if frame.size != expected:
        raise OptionsError(f"the previous frame is {frame.size[0]}x{frame.size[1]}, the "
                           f"result {expected[0]}x{expected[1]}")


def _presentable(image: torch.Tensor, options: StyleOptions, content: torch.Tensor):
    """The image as handed to consumers: clamped, colour control applied, on the CPU."""
    result = image.detach().clamp(0, 255)
    if options.color == "luminance":
        result = recombine_luminance(result, content)
    return result.cpu().clone()
