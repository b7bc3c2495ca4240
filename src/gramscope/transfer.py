"""The optimisation: one engine that yields a record per step.

The CLI progress bar, the saved loss history, the report and the web demo all consume the
stream of :class:`StepRecord` from :func:`run`; none of them has a loop of its own.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from . import losses, memory
from .errors import GramscopeError, OptionsError
from .image import (
    check_size,
    load_image,
    luminance_only,
    match_color_statistics,
    recombine_luminance,
    resize_long_side,
    to_rgb,
    to_tensor,
)
from .options import StyleOptions
from .tiling import tiled_features, tiled_grams, tiles
from .vgg import CHANNELS, VGG19, canonical_layer, load_vgg19

#: Times a scale is restarted from its best image after a non-finite or diverged loss.
MAX_RECOVERIES = 3
#: A loss this many times the best seen at its scale means the optimiser has diverged:
#: L-BFGS without a line search can leap to a saturated image and stay there (seen in about
#: one run in twenty of the noise-started figure cells).
DIVERGENCE_FACTOR = 4.0
CHECKPOINT_VERSION = 1


@dataclass
class StepRecord:
    """What happened at one optimiser step (losses at the image *before* the step's update).

    ``content`` is α·L_content, ``style`` holds each w_l·E_l (so β·Σ style is the style part
    of ``total``), ``tv`` is the weighted TV term. ``event`` notes a recovery or a failure;
    ``failed`` means the run ended on an error and ``image`` is the last good one.
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
    checkpoint: dict[str, Any] | None = field(default=None, repr=False)
    event: str | None = None
    failed: bool = False

    def to_dict(self) -> dict:
        out = {
            "step": self.step, "scale": self.scale, "size": list(self.size),
            "seconds": round(self.seconds, 4), "content": self.content, "style": self.style,
            "beta": self.beta, "tv": self.tv, "total": self.total,
        }
        if self.event:
            out["event"] = self.event
        return out


class NumericalError(GramscopeError):
    """The loss or the image became NaN or infinite and could not be recovered."""


@functools.lru_cache(maxsize=4)
def cached_vgg19(
    weights: str | None, pooling: str, normalisation: str, device: str
) -> VGG19:
    """One network per process and setting: weights are read-only, so runs may share it."""
    return load_vgg19(weights, pooling=pooling, normalisation=normalisation,  # type: ignore[arg-type]
                      device=device)


def resolve_device(device: str) -> torch.device:
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


ImageInput = str | Path | Image.Image


def as_image(value: ImageInput) -> Image.Image:
    if isinstance(value, Image.Image):
        check_size(value.size, "image")
        return to_rgb(value)
    return load_image(value)


def scaled(image: Image.Image, long_side: int) -> torch.Tensor:
    return to_tensor(resize_long_side(image, long_side))


class Objective:
    """The paper's loss at one scale, with targets from the content and style images.

    ``tile`` (core tile side in px) evaluates it tile by tile, exactly (see tiling.py).
    """

    def __init__(
        self, net: VGG19, options: StyleOptions, content: torch.Tensor,
        styles: Sequence[torch.Tensor], blend: Sequence[float], alpha: float,
        tile: int | None = None,
    ) -> None:
        self.net, self.options, self.alpha, self.tile = net, options, alpha, tile
        self.content_layers = [canonical_layer(name) for name in options.content_layers]
        self.layer_weights = options.layer_weights
        self.layers = sorted(set(self.content_layers) | set(self.layer_weights))
        self.gram = options.style_representation == "gram"
        # The gradient is computed with every coefficient divided by the largest one: the
        # minimiser depends only on their ratios, and α = 1e-30 with β = 1e30 would
        # otherwise overflow float32 in the backward pass. Reported values use the real ones.
        self.norm = max(alpha, options.beta * max(self.layer_weights.values(), default=0.0),
                        options.tv_weight, 1e-300)
        if tile is not None and not self.gram:
            raise OptionsError("the mean-std style representation is not available for tiled "
                               "(very large) runs; use --style-representation gram")
        with torch.no_grad():
            if tile is None:
                self.content_targets = net(content, self.content_layers)
            else:
                self.content_targets = tiled_features(net, content, self.content_layers, tile)
            self.style_targets: dict[str, torch.Tensor] = {}
            for style, weight in zip(styles, blend, strict=True):
                for layer, statistic in self._style_statistics(style).items():
                    # Several styles blend as a weighted mean of their size-normalised Grams.
                    previous = self.style_targets.get(layer)
                    target = statistic * weight
                    self.style_targets[layer] = target if previous is None else previous + target

    def _style_statistics(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        if not self.layer_weights:
            return {}
        if self.tile is not None:
            grams, positions = tiled_grams(self.net, style, self.layer_weights, self.tile)
            return {layer: grams[layer] / positions[layer] for layer in grams}  # A / M
        out = {}
        for layer, feature in self.net(style, self.layer_weights).items():
            if self.gram:
                out[layer] = losses.gram_matrix(feature) / feature[0, 0].numel()  # A / M
            else:
                flat = losses.flatten_features(feature)
                out[layer] = torch.stack([flat.mean(dim=1), flat.var(dim=1, unbiased=False).sqrt()])
        return out

    def _style_error(self, layer: str, feature: torch.Tensor) -> torch.Tensor:
        target = self.style_targets[layer]
        if self.gram:
            return losses.layer_style_error(
                losses.gram_matrix(feature), target, CHANNELS[layer], feature[0, 0].numel(),
                target_positions=1,
            )
        flat = losses.flatten_features(feature)
        mean, std = flat.mean(dim=1), (flat.var(dim=1, unbiased=False) + 1e-8).sqrt()
        return ((mean - target[0]).pow(2).sum() + (std - target[1]).pow(2).sum()) / CHANNELS[layer]

    def _parts(self, content: Any, errors: dict[str, torch.Tensor], tv: Any) -> dict[str, Any]:
        style = float(losses.style_loss(errors, self.layer_weights)) if errors else 0.0
        total = losses.total_loss(float(content), style, self.alpha, self.options.beta) + float(tv)
        return {
            "content": self.alpha * float(content),
            "style": {layer: self.layer_weights[layer] * float(e) for layer, e in errors.items()},
            "tv": float(tv), "total": total,
        }

    def loss_and_grad(self, image: torch.Tensor, scale: float) -> dict[str, Any]:
        """Evaluate the loss terms at ``image`` and put scale·∇L_total into ``image.grad``."""
        if self.tile is not None:
            return self._tiled_loss_and_grad(image, scale)
        features = self.net(image, self.layers)
        content = sum(
            (losses.content_loss(features[layer], self.content_targets[layer])
             for layer in self.content_layers), torch.zeros(()),
        )
        errors = {layer: self._style_error(layer, features[layer]) for layer in self.layer_weights}
        style = losses.style_loss(errors, self.layer_weights) if errors else torch.zeros(())
        tv = losses.total_variation(image) if self.options.tv_weight else torch.zeros(())
        beta, tv_weight = self.options.beta / self.norm, self.options.tv_weight / self.norm
        total = losses.total_loss(content, style, self.alpha / self.norm, beta) + tv_weight * tv
        (total * scale).backward()
        return self._parts(content.detach(), {k: v.detach() for k, v in errors.items()},
                           self.options.tv_weight * float(tv))

    def _tiled_loss_and_grad(self, image: torch.Tensor, scale: float) -> dict[str, Any]:
        assert self.tile is not None
        grams, positions = tiled_grams(self.net, image.detach(), self.layer_weights, self.tile)
        errors, dE_dG = {}, {}
        for layer, gram in grams.items():
            n, m = CHANNELS[layer], positions[layer]
            difference = gram / m - self.style_targets[layer]
            errors[layer] = difference.pow(2).sum() / (4 * n**2)
            # E = Σ (G/M − Â)² / (4N²)  ⇒  ∂E/∂G = (G/M − Â) / (2 N² M)
            dE_dG[layer] = difference / (2 * n**2 * m)
        halo = self._halo
        content_total = torch.zeros(())
        height, width = image.shape[-2:]
        for t in tiles(height, width, self.tile, halo):
            window = image[:, :, t.ey0:t.ey1, t.ex0:t.ex1]
            features = self.net(window, self.layers)
            surrogate = torch.zeros(())
            for layer in self.layer_weights:
                core = losses.flatten_features(t.core_of(features[layer], layer))  # (N, m)
                weight = self.options.beta * self.layer_weights[layer] / self.norm
                surrogate = surrogate + weight * (dE_dG[layer] * (core @ core.T)).sum()
            for layer in self.content_layers:
                target = t.core_of_whole(self.content_targets[layer], layer)
                term = losses.content_loss(t.core_of(features[layer], layer), target)
                content_total = content_total + term.detach()
                surrogate = surrogate + self.alpha / self.norm * term
            (surrogate * scale).backward()
        tv = 0.0
        if self.options.tv_weight:
            tv_term = losses.total_variation(image)
            (self.options.tv_weight / self.norm * tv_term * scale).backward()
            tv = self.options.tv_weight * float(tv_term)
        return self._parts(content_total, errors, tv)

    @functools.cached_property
    def _halo(self) -> int:
        from .tiling import halo_for

        return halo_for(self.layers)


class NonFiniteLoss(Exception):
    """Raised inside a step when the loss or its gradient is NaN or infinite."""


class Diverged(Exception):
    """The loss at the current image is far above the best one seen at this scale."""


def initial_image(options: StyleOptions, content: torch.Tensor, generator: torch.Generator):
    if options.init == "content":
        return content.clone()
    if options.init == "noise":
        # White noise around mid-grey with the spread of natural images' pixels.
        return (torch.randn(content.shape, generator=generator) * 50 + 128).to(content)
    image = to_tensor(load_image(options.init).resize(
        (content.shape[-1], content.shape[-2]), Image.Resampling.LANCZOS))
    return image.to(content)


class ScaleRun:
    """The optimiser's state at one scale: the image, the optimiser and the loss scale."""

    def __init__(
        self, objective: Objective, image: torch.Tensor, options: StyleOptions,
        history: int, lr_factor: float = 1.0,
    ) -> None:
        self.objective, self.options = objective, options
        self.image = image.detach().contiguous().requires_grad_(True)
        self.lr_factor = lr_factor
        self.loss_scale: float | None = None
        self.parts: dict[str, Any] = {}
        if options.optimizer == "lbfgs":
            # One iteration per step() so that every step yields a record; the curvature
            # history persists across calls, so this is one continuous L-BFGS run.
            self.optimizer: torch.optim.Optimizer = torch.optim.LBFGS(
                [self.image], lr=(options.learning_rate or 1.0) * lr_factor, max_iter=1,
                history_size=history, tolerance_grad=0.0, tolerance_change=0.0,
            )
        else:
            self.optimizer = torch.optim.Adam(
                [self.image], lr=(options.learning_rate or 4.0) * lr_factor
            )

    def closure(self) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        first = self.loss_scale is None
        parts = self.objective.loss_and_grad(self.image, 1.0 if first else self.loss_scale)
        grad = self.image.grad
        if not math.isfinite(parts["total"]) or grad is None or not torch.isfinite(grad).all():
            raise NonFiniteLoss
        if first:
            # The optimiser sees the loss times a constant that gives the first gradient an
            # RMS of one pixel level. The minimiser is unchanged; without it E_l's 1/M²
            # makes per-pixel gradients so small that L-BFGS's curvature test (yᵀs > 1e-10)
            # never passes, and extreme α/β would overflow or underflow.
            rms = float(grad.pow(2).mean().sqrt())
            self.loss_scale = 1.0 / rms if rms > 0 and math.isfinite(rms) else 1.0
            grad.mul_(self.loss_scale)
        self.parts = parts
        return torch.tensor(parts["total"] * self.loss_scale)

    def step(self) -> None:
        self.optimizer.step(self.closure)  # type: ignore[arg-type]
        with torch.no_grad():
            if self.options.optimizer == "adam":
                self.image.clamp_(0, 255)
            if not torch.isfinite(self.image).all():
                raise NonFiniteLoss

    def state(self) -> dict[str, Any]:
        return {"image": self.image.detach().cpu().clone(),
                "optimizer": self.optimizer.state_dict(), "loss_scale": self.loss_scale,
                "lr_factor": self.lr_factor}

    def load(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.loss_scale = state["loss_scale"]


def _pixels(size: tuple[int, int], long_side: int) -> int:
    width, height = size
    scale = long_side / max(width, height)
    return max(1, round(width * scale)) * max(1, round(height * scale))


def memory_plan(options: StyleOptions, content_size: tuple[int, int],
                available: int | None = None) -> memory.MemoryPlan:
    """The final scale's memory plan; refuses a run that cannot fit, naming what would."""
    available = memory.available_bytes() if available is None else available
    pixels = _pixels(content_size, options.size)
    tile = options.tile_size
    if tile is None:
        untiled = memory.plan(pixels, None, options.optimizer, available)
        if untiled.peak_bytes <= 0.8 * available:
            return untiled
        tile = DEFAULT_TILE
    tiled = memory.plan(pixels, tile * tile, options.optimizer, available)
    if tiled.peak_bytes > 0.8 * available:
        long_side = options.size
        while long_side > 64 and memory.plan(
            _pixels(content_size, long_side), tile * tile, options.optimizer, available
        ).peak_bytes > 0.8 * available:
            long_side = int(long_side * 0.9)
        raise GramscopeError(
            f"--size {options.size} needs about {tiled.peak_bytes / memory.GB:.1f} GB but "
            f"{available / memory.GB:.1f} GB is available; the largest size that fits is "
            f"about --size {long_side}"
        )
    return tiled


#: Core tile side when a run is too large for one pass (about 1 MP: ~3 GB of activations).
DEFAULT_TILE = 1024


def run(
    content: ImageInput,
    styles: ImageInput | Sequence[ImageInput],
    options: StyleOptions | None = None,
    *,
    stop: Callable[[], bool] | None = None,
    image_every: int = 0,
    checkpoint_every: int = 0,
    resume: dict[str, Any] | None = None,
    net: VGG19 | None = None,
) -> Iterator[StepRecord]:
    """Stylise ``content`` after ``styles``, yielding a :class:`StepRecord` per step.

    ``stop()`` is polled between steps; when it returns true the run ends after yielding
    the last record (which always carries the image). Every ``image_every`` steps, and at
    the end of each scale, a record carries the current image (RGB 0-255, colour control
    applied), so a consumer never needs a second way in. Every ``checkpoint_every`` steps a
    record carries a resumable ``checkpoint``; passing it back as ``resume`` continues the
    run to the same result (same inputs, options and device).
    """
    options = options or StyleOptions()
    style_list = [styles] if isinstance(styles, str | Path | Image.Image) else list(styles)
    if not style_list:
        raise OptionsError("give at least one style image")
    blend = options.style_blend or tuple(1.0 for _ in style_list)
    if len(blend) != len(style_list):
        raise OptionsError(f"{len(blend)} blend weights given for {len(style_list)} style images")
    blend = tuple(w / sum(blend) for w in blend)
    device = resolve_device(options.device)
    started = time.perf_counter()
    torch.manual_seed(options.seed)
    generator = torch.Generator().manual_seed(options.seed)

    content_image = as_image(content)
    style_images = [as_image(s) for s in style_list]
    if options.init not in ("content", "noise"):
        load_image(options.init)  # a broken start image is reported before the network loads
    available = memory.available_bytes()
    final_plan = memory_plan(options, content_image.size, available)
    if net is None:
        net = cached_vgg19(options.weights, options.pooling, options.normalisation, str(device))
    sizes = options.scale_sizes
    final_pixels = _pixels(content_image.size, sizes[-1])
    if resume is not None:
        check_resumable(resume, options)
        started -= resume["seconds"]
    image: torch.Tensor | None = None
    step = 0
    for scale, (long_side, n_steps) in enumerate(zip(sizes, options.steps_per_scale, strict=True)):
        if resume is not None and scale < resume["scale"]:
            continue
        content_t = scaled(content_image, long_side).to(device)
        style_long_side = max(16, round(long_side * options.style_scale))
        style_ts = [scaled(s, style_long_side).to(device) for s in style_images]
        if options.color == "histogram":
            style_ts = [match_color_statistics(s, content_t) for s in style_ts]
        net_content = content_t
        if options.color == "luminance":
            style_ts = [luminance_only(s, like=content_t) for s in style_ts]
            net_content = luminance_only(content_t)
        pixels = content_t[0, 0].numel()
        alpha = options.alpha
        if options.reference_size is not None:
            # Departure (named option): α is meant for a result of reference_size px, and
            # L_content grows with the pixels while E_l does not, so α is scaled by the pixel
            # ratio to keep that balance at every size and every scale.
            alpha *= _pixels(content_image.size, options.reference_size) / pixels
        elif options.balance_scales and scale < len(sizes) - 1:
            # Departure (ours, optimisation only): L_content sums over positions while E_l is
            # size-normalised, so a coarse scale would weigh content by its pixel share; scale
            # α so each coarse scale approximates the final scale's balance.
            alpha *= final_pixels / pixels
        tile = DEFAULT_TILE if options.tile_size is None else options.tile_size
        use_tile = tile if (final_plan.tiled and pixels > tile * tile) else None
        objective = Objective(net, options, net_content, style_ts, blend, alpha, use_tile)
        # From the machine's total memory, not what is free now: the same seed must give the
        # same image however busy the machine is.
        history = memory.lbfgs_history(pixels, memory.total_bytes())
        first_step = 0
        if resume is not None:
            image, step = resume["image"].to(device), resume["step"]
            first_step = resume["step_in_scale"]
        elif image is None:
            image = initial_image(options, net_content, generator)
        else:
            image = F.interpolate(image, size=content_t.shape[-2:], mode="bicubic",
                                  align_corners=False).clamp(0, 255)
        current = ScaleRun(objective, image, options, history,
                           resume["lr_factor"] if resume is not None else 1.0)
        if resume is not None:
            current.load(resume)
            resume = None
        size = (content_t.shape[-1], content_t.shape[-2])
        recoveries = 0
        event: str | None = None
        best_total, best_image = math.inf, current.image.detach().clone()
        i = first_step
        while i < n_steps:
            good = current.image.detach().clone()
            try:
                current.step()
                total = current.parts["total"]
                if total > DIVERGENCE_FACTOR * best_total:
                    raise Diverged
                if total <= best_total:
                    best_total, best_image = total, good  # the loss was measured at `good`
                stopping = stop is not None and stop()
            except (NonFiniteLoss, Diverged) as problem:
                what = "diverged" if isinstance(problem, Diverged) else "non-finite"
                recoveries += 1
                if recoveries > MAX_RECOVERIES or not current.parts:
                    yield StepRecord(
                        step=step, scale=scale, size=size,
                        seconds=time.perf_counter() - started, content=float("nan"), style={},
                        beta=options.beta, tv=float("nan"), total=float("nan"),
                        image=_presentable(best_image, options, content_t), failed=True,
                        event=f"the loss kept going {what}; kept the best image (try a "
                        "smaller learning rate, other weights or --optimizer adam)",
                    )
                    return
                # Restart this scale from its best image with half the step size.
                current = ScaleRun(objective, best_image, options, history,
                                   current.lr_factor / 2)
                event = (f"{what} loss at step {step + 1}: restarted the scale from its best "
                         f"image with learning rate ×{current.lr_factor:g}")
                continue
            except KeyboardInterrupt:
                # Ctrl-C mid-step: the image is still a valid iterate; hand it over and end.
                if not current.parts:
                    raise
                stopping = True
            step += 1
            i += 1
            end_of_scale = i == n_steps
            wants_image = stopping or end_of_scale or (image_every and step % image_every == 0)
            parts = current.parts
            record = StepRecord(
                step=step, scale=scale, size=size, seconds=time.perf_counter() - started,
                content=parts["content"], style=parts["style"], beta=options.beta,
                tv=parts["tv"], total=parts["total"], event=event,
                image=_presentable(current.image, options, content_t) if wants_image else None,
            )
            if checkpoint_every and (step % checkpoint_every == 0 or stopping):
                record.checkpoint = {
                    "version": CHECKPOINT_VERSION, "options": options.to_dict(),
                    "scale": scale, "step_in_scale": i, "step": step,
                    "seconds": record.seconds, **current.state(),
                }
            yield record
            event = None
            if stopping:
                return
        image = current.image.detach()
    if image is not None and sum(options.steps_per_scale) == 0:
        yield StepRecord(step=0, scale=len(sizes) - 1, size=(image.shape[-1], image.shape[-2]),
                         seconds=time.perf_counter() - started, content=0.0, style={},
                         beta=options.beta, tv=0.0, total=0.0,
                         image=_presentable(image, options, content_t))


def check_resumable(state: dict[str, Any], options: StyleOptions) -> None:
    if state.get("version") != CHECKPOINT_VERSION:
        raise GramscopeError("the checkpoint is from another version of the format")
    if state["options"] != options.to_dict():
        changed = sorted(k for k, v in options.to_dict().items() if state["options"].get(k) != v)
        raise GramscopeError(
            f"the checkpoint was made with other settings ({', '.join(changed)}); resume with "
            "the same options"
        )


def _presentable(image: torch.Tensor, options: StyleOptions, content: torch.Tensor):
    result = image.detach().clamp(0, 255)
    if options.color == "luminance":
        result = recombine_luminance(result, content)
    return result.cpu().clone()
