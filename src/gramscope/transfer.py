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

import torch
import torch.nn.functional as F
from PIL import Image

from . import losses
from .errors import OptionsError
from .image import (
    check_size,
    load_image,
    luminance_only,
    match_color_statistics,
    recombine_luminance,
    resize_long_side,
    to_tensor,
)
from .options import StyleOptions
from .vgg import CHANNELS, VGG19, canonical_layer, load_vgg19


@dataclass
class StepRecord:
    """What happened at one optimiser step (losses at the image *before* the step's update).

    ``content`` is α·L_content, ``style`` holds each w_l·E_l (so β·Σ style is the style part
    of ``total``), ``tv`` is the weighted TV term.
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

    def to_dict(self) -> dict:
        return {
            "step": self.step, "scale": self.scale, "size": list(self.size),
            "seconds": round(self.seconds, 4), "content": self.content, "style": self.style,
            "beta": self.beta, "tv": self.tv, "total": self.total,
        }


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
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise OptionsError("--device cuda asked for, but no CUDA GPU is available here")
    return resolved


ImageInput = str | Path | Image.Image


def as_image(value: ImageInput) -> Image.Image:
    if isinstance(value, Image.Image):
        check_size(value.size, "image")
        return value.convert("RGB")
    return load_image(value)


def scaled(image: Image.Image, long_side: int) -> torch.Tensor:
    return to_tensor(resize_long_side(image, long_side))


class Objective:
    """The paper's loss at one scale: targets from the content and style images at that size."""

    def __init__(
        self, net: VGG19, options: StyleOptions, content: torch.Tensor,
        styles: Sequence[torch.Tensor], blend: Sequence[float], alpha: float,
    ) -> None:
        self.net, self.options, self.alpha = net, options, alpha
        self.content_layers = [canonical_layer(name) for name in options.content_layers]
        self.layer_weights = options.layer_weights
        self.layers = sorted(set(self.content_layers) | set(self.layer_weights))
        with torch.no_grad():
            self.content_targets = net(content, self.content_layers)
            self.style_targets: dict[str, torch.Tensor] = {}
            for style, weight in zip(styles, blend, strict=True):
                features = net(style, self.layer_weights)
                for layer, feature in features.items():
                    # Several styles blend as a weighted mean of their size-normalised Grams.
                    target = self._style_statistic(feature) * weight
                    previous = self.style_targets.get(layer)
                    self.style_targets[layer] = target if previous is None else previous + target

    def _style_statistic(self, feature: torch.Tensor) -> torch.Tensor:
        if self.options.style_representation == "gram":
            return losses.gram_matrix(feature) / feature[0, 0].numel()  # A / M
        flat = losses.flatten_features(feature)
        return torch.stack([flat.mean(dim=1), flat.var(dim=1, unbiased=False).sqrt()])

    def style_errors(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        errors = {}
        for layer in self.layer_weights:
            feature, target = features[layer], self.style_targets[layer]
            if self.options.style_representation == "gram":
                gram = losses.gram_matrix(feature)
                errors[layer] = losses.layer_style_error(
                    gram, target, CHANNELS[layer], feature[0, 0].numel(), target_positions=1
                )
            else:
                flat = losses.flatten_features(feature)
                mean, std = flat.mean(dim=1), (flat.var(dim=1, unbiased=False) + 1e-8).sqrt()
                errors[layer] = ((mean - target[0]).pow(2).sum()
                                 + (std - target[1]).pow(2).sum()) / CHANNELS[layer]
        return errors

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict]:
        features = self.net(image, self.layers)
        content = sum(
            losses.content_loss(features[layer], self.content_targets[layer])
            for layer in self.content_layers
        )
        errors = self.style_errors(features)
        style = losses.style_loss(errors, self.layer_weights) if errors else 0.0
        tv_weight = self.options.tv_weight
        tv = tv_weight * losses.total_variation(image) if tv_weight else 0.0
        total = losses.total_loss(content, style, self.alpha, self.options.beta) + tv
        parts = {
            "content": float(self.alpha * content.detach()) if self.content_layers else 0.0,
            "style": {layer: float(self.layer_weights[layer] * e.detach())
                      for layer, e in errors.items()},
            "tv": float(tv.detach()) if torch.is_tensor(tv) else 0.0,
        }
        return total, parts


def initial_image(options: StyleOptions, content: torch.Tensor, generator: torch.Generator):
    if options.init == "content":
        return content.clone()
    if options.init == "noise":
        # White noise around mid-grey with the spread of natural images' pixels.
        return (torch.randn(content.shape, generator=generator) * 50 + 128).to(content)
    image = to_tensor(load_image(options.init).resize(
        (content.shape[-1], content.shape[-2]), Image.Resampling.LANCZOS))
    return image.to(content)


def make_optimizer(options: StyleOptions, image: torch.Tensor) -> torch.optim.Optimizer:
    if options.optimizer == "lbfgs":
        # One iteration per step() so that every step yields a record; the curvature
        # history persists across calls, so this is one continuous L-BFGS run.
        return torch.optim.LBFGS(
            [image], lr=options.learning_rate or 1.0, max_iter=1, history_size=100,
            tolerance_grad=0.0, tolerance_change=0.0,
        )
    return torch.optim.Adam([image], lr=options.learning_rate or 4.0)


def run(
    content: ImageInput,
    styles: ImageInput | Sequence[ImageInput],
    options: StyleOptions | None = None,
    *,
    stop: Callable[[], bool] | None = None,
    image_every: int = 0,
    net: VGG19 | None = None,
) -> Iterator[StepRecord]:
    """Stylise ``content`` after ``styles``, yielding a :class:`StepRecord` per step.

    ``stop()`` is polled between steps; when it returns true the run ends after yielding
    the last record (which always carries the image). Every ``image_every`` steps, and at
    the end of each scale, a record carries the current image (RGB 0-255, colour control
    applied), so a consumer never needs a second way in.
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
    if net is None:
        net = cached_vgg19(options.weights, options.pooling, options.normalisation, str(device))
    sizes = options.scale_sizes
    final_pixels = _pixels(content_image.size, sizes[-1])
    image: torch.Tensor | None = None
    step = 0
    for scale, (long_side, n_steps) in enumerate(zip(sizes, options.steps_per_scale, strict=True)):
        content_t = scaled(content_image, long_side).to(device)
        style_long_side = max(16, round(long_side * options.style_scale))
        style_ts = [scaled(s, style_long_side).to(device) for s in style_images]
        if options.color == "histogram":
            style_ts = [match_color_statistics(s, content_t) for s in style_ts]
        elif options.color == "luminance":
            style_ts = [luminance_only(s, like=content_t) for s in style_ts]
            content_t_net = luminance_only(content_t)
        net_content = content_t_net if options.color == "luminance" else content_t
        alpha = options.alpha
        if options.balance_scales and scale < len(sizes) - 1:
            # Departure (ours, optimisation only): L_content sums over positions while E_l is
            # size-normalised, so a coarse scale would weigh content by its pixel share; scale
            # α so each coarse scale approximates the final scale's balance.
            alpha *= final_pixels / content_t[0, 0].numel()
        objective = Objective(net, options, net_content, style_ts, blend, alpha)
        if image is None:
            image = initial_image(options, net_content, generator)
        else:
            image = F.interpolate(image, size=content_t.shape[-2:], mode="bicubic",
                                  align_corners=False).clamp(0, 255)
        image = image.detach().contiguous().requires_grad_(True)
        optimizer = make_optimizer(options, image)
        size = (content_t.shape[-1], content_t.shape[-2])
        last_parts: dict = {}
        loss_scale: float | None = None

        def closure() -> torch.Tensor:
            nonlocal last_parts, loss_scale
            optimizer.zero_grad(set_to_none=True)
            total, last_parts = objective(image)
            last_parts["total"] = float(total.detach())
            if loss_scale is not None:
                total = total * loss_scale
            total.backward()
            if loss_scale is None:
                # The optimiser sees the loss times a constant that gives the first gradient
                # an RMS of one pixel level. The minimiser is unchanged; without it E_l's
                # 1/M² makes per-pixel gradients so small that L-BFGS's curvature test
                # (yᵀs > 1e-10) never passes and the image barely moves.
                assert image.grad is not None
                rms = float(image.grad.pow(2).mean().sqrt())
                loss_scale = 1.0 / rms if rms > 0 and math.isfinite(rms) else 1.0
                image.grad.mul_(loss_scale)
                total = total * loss_scale
            return total.detach()

        for i in range(n_steps):
            try:
                optimizer.step(closure)
                if options.optimizer == "adam":
                    with torch.no_grad():
                        image.clamp_(0, 255)
                stopping = stop is not None and stop()
            except KeyboardInterrupt:
                # Ctrl-C mid-step: the image is still a valid iterate; hand it over and end.
                if not last_parts:
                    raise
                stopping = True
            step += 1
            end_of_scale = i == n_steps - 1
            wants_image = stopping or end_of_scale or (image_every and step % image_every == 0)
            yield StepRecord(
                step=step, scale=scale, size=size, seconds=time.perf_counter() - started,
                content=last_parts["content"], style=last_parts["style"], beta=options.beta,
                tv=last_parts["tv"], total=last_parts["total"],
                image=_presentable(image, options, content_t) if wants_image else None,
            )
            if stopping:
                return
    if image is not None and sum(options.steps_per_scale) == 0:
        yield StepRecord(step=0, scale=len(sizes) - 1, size=(image.shape[-1], image.shape[-2]),
                         seconds=time.perf_counter() - started, content=0.0, style={},
                         beta=options.beta, tv=0.0, total=0.0,
                         image=_presentable(image, options, content_t))


def _pixels(size: tuple[int, int], long_side: int) -> int:
    width, height = size
    scale = long_side / max(width, height)
    return max(1, round(width * scale)) * max(1, round(height * scale))


def _presentable(image: torch.Tensor, options: StyleOptions, content: torch.Tensor):
    result = image.detach().clamp(0, 255)
    if options.color == "luminance":
        result = recombine_luminance(result, content)
    return result.cpu().clone()
