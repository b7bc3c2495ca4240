"""The objective at one scale: L_total = α L_content + β Σ_l w_l E_l (+ optional TV and
temporal terms).

Targets (P^l from the photo, A^l/M from each painting) are computed once per scale; each
evaluation fills ``image.grad`` and returns the weighted terms for the step record. The
formulas themselves live in :mod:`gramscope.losses`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch

from . import losses
from .device import network_precision
from .errors import OptionsError
from .options import StyleOptions
from .temporal import PreviousFrame
from .tiling import halo_for, tiled_features, tiled_grams, tiled_guided_grams, tiles
from .vgg import CHANNELS, LAYER_INDEX, VGG19, canonical_layer, downsampling

#: A term of L_total: a tensor while the gradient is taken, a float in a step record.
Total = TypeVar("Total", torch.Tensor, float)


@dataclass
class Region:
    """Where one painting's style goes (Gatys et al. 2017, §4): a guide in [0, 1] over the
    image, its painting's A^l/M on each style layer, and a weight (its blend share)."""

    guide: torch.Tensor  # (1, 1, H, W) at the scale's resolution
    targets: dict[str, torch.Tensor]
    weight: float
    _at: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict, repr=False)

    def at(self, size: tuple[int, int]) -> torch.Tensor:
        """The guide at a layer's resolution (cached: the same every step)."""
        if size not in self._at:
            self._at[size] = losses.guide_at(self.guide, size)
        return self._at[size]

    def error(self, layer: str, features: torch.Tensor) -> torch.Tensor:
        """This region's share of E_l: its area share × E_l of its guided Gram matrix."""
        guide = self.at(tuple(features.shape[-2:]))
        return self.weight * guide.mean() * losses.gram_error(
            losses.guided_gram(features, guide), self.targets[layer], CHANNELS[layer])


class Objective:
    """The paper's loss at one scale, with targets from the content and style images.

    ``tile`` (core tile side in px) evaluates it tile by tile, exactly (see tiling.py).
    ``guides`` (one (1, 1, H, W) mask in [0, 1] per style image) puts each painting's style
    only where its guide is: guided Gram matrices, one target per region (Gatys et al.
    2017, §4); where no guide reaches, only the content term acts. ``coarse`` (a second
    painting) supplies the targets of the style layers from ``options.coarse_from`` on: its
    large structure with the first painting's brushwork (the same paper, §5). ``previous``
    (a video's frame t−1, moved onto this frame) adds its weight × L_temporal (Ruder et al.
    2016; see temporal.py), not part of the paper's loss.
    """

    def __init__(
        self, net: VGG19, options: StyleOptions, content: torch.Tensor,
        styles: Sequence[torch.Tensor], blend: Sequence[float], alpha: float,
        tile: int | None = None, guides: Sequence[torch.Tensor] | None = None,
        coarse: torch.Tensor | None = None, previous: PreviousFrame | None = None,
    ) -> None:
        self.net, self.options, self.alpha, self.tile = net, options, alpha, tile
        # Only a weighted temporal term is evaluated: a warped start alone leaves L_total be.
        self.previous = previous if previous is not None and previous.weight > 0 else None
        self.content_layers = [canonical_layer(name) for name in options.content_layers]
        self.layer_weights = options.layer_weights
        self.layers = sorted(set(self.content_layers) | set(self.layer_weights))
        self.gram = options.style_representation == "gram"
        self.bf16 = network_precision(options.precision, content.device) == "bf16"
        # The gradient is computed with every coefficient divided by the largest one: the
        # minimiser depends only on their ratios, and α = 1e-30 with β = 1e30 would
        # otherwise overflow float32 in the backward pass. Reported values use the real ones.
        self.norm = max(alpha, options.beta * max(self.layer_weights.values(), default=0.0),
                        options.tv_weight, self.temporal_weight, 1e-300)
        if tile is not None and not self.gram:
            raise OptionsError("the mean-std style representation is not available for tiled "
                               "(very large) runs; use --style-representation gram")
        if guides is not None and not self.gram:
            raise OptionsError("masks need the Gram style representation; use "
                               "--style-representation gram")
        with torch.no_grad():
            if tile is None:
                self.content_targets = self._features(content, self.content_layers)
            else:
                self.content_targets = tiled_features(
                    self._features, content, self.content_layers, tile)
            self.regions: list[Region] | None = None
            if guides is None:
                self.style_targets = self._blended_style_targets(styles, blend)
                if coarse is not None:
                    self.style_targets.update(self._coarse_targets(coarse))
            else:
                # Each painting its own target; equal blend weights give each region weight 1.
                self.regions = [
                    Region(guide, self._style_statistics(style), weight * len(blend))
                    for guide, style, weight in zip(guides, styles, blend, strict=True)]

    @property
    def temporal_weight(self) -> float:
        """The weight of L_temporal in L_total (0 without a weighted previous frame)."""
        return 0.0 if self.previous is None else self.previous.weight

    def _temporal(self, image: torch.Tensor) -> torch.Tensor:
        """L_temporal at ``image`` (0, not evaluated, without a weighted previous frame)."""
        if self.previous is None:
            return torch.zeros((), device=image.device)
        return self.previous.loss(image)

    def _features(self, image: torch.Tensor, layers: Any) -> dict[str, torch.Tensor]:
        """The network's rectified features, in the run's precision and memory format.

        Departures for speed only, each a named option, off by default: ``channels_last``
        (NHWC convolutions) and ``precision="bf16"`` (autocast of the network; the features
        come back as fp32, so the Gram matrices and the losses are always fp32).
        """
        if self.options.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        if not self.bf16:
            return self.net(image, layers)
        with torch.autocast(image.device.type, dtype=torch.bfloat16):
            features = self.net(image, layers)
        return {layer: f.float() for layer, f in features.items()}

    def _blended_style_targets(
        self, styles: Sequence[torch.Tensor], blend: Sequence[float]
    ) -> dict[str, torch.Tensor]:
        targets: dict[str, torch.Tensor] = {}
        for style, weight in zip(styles, blend, strict=True):
            for layer, statistic in self._style_statistics(style).items():
                # Several styles blend as a weighted mean of their size-normalised Grams.
                previous = targets.get(layer)
                target = statistic * weight
                targets[layer] = target if previous is None else previous + target
        return targets

    def _coarse_targets(self, coarse: torch.Tensor) -> dict[str, torch.Tensor]:
        first = LAYER_INDEX[canonical_layer(self.options.coarse_from)]
        statistics = self._style_statistics(coarse)
        return {layer: statistic for layer, statistic in statistics.items()
                if LAYER_INDEX[layer] >= first}

    def _style_statistics(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        """A^l / M per style layer (or the per-channel mean and std for ``mean-std``)."""
        if not self.layer_weights:
            return {}
        if self.tile is not None:
            grams, positions = tiled_grams(self._features, style, self.layer_weights, self.tile)
            return {layer: grams[layer] / positions[layer] for layer in grams}
        features = self._features(style, self.layer_weights)
        if self.gram:
            return {layer: losses.normalised_gram(f) for layer, f in features.items()}
        return {layer: losses.mean_std(f) for layer, f in features.items()}

    def _style_error(self, layer: str, feature: torch.Tensor) -> torch.Tensor:
        if self.regions is not None:
            return sum((region.error(layer, feature) for region in self.regions),
                       feature.new_zeros(()))
        target = self.style_targets[layer]
        if self.gram:
            return losses.gram_error(losses.normalised_gram(feature), target, CHANNELS[layer])
        return losses.mean_std_error(losses.mean_std(feature, losses.STD_EPS), target)

    def _raw(self, content: torch.Tensor, style: torch.Tensor, tv: torch.Tensor,
             temporal: torch.Tensor, errors: dict[str, torch.Tensor], device: torch.device,
             ) -> torch.Tensor:
        """[L_content, Σ_l w_l E_l, L_tv, L_temporal, E_l for each style layer]: one fp32
        tensor on the device, so a step reads all its numbers back with a single
        synchronisation."""
        terms = [content, style, tv, temporal, *(errors[layer] for layer in self.layer_weights)]
        return torch.stack([t.detach().to(device, torch.float32).reshape(()) for t in terms])

    @property
    def weights(self) -> tuple[float, float, float, float]:
        """(α, β, TV weight, temporal weight): the coefficients of L_total's terms."""
        return self.alpha, self.options.beta, self.options.tv_weight, self.temporal_weight

    @property
    def normalised_weights(self) -> tuple[float, float, float, float]:
        """:attr:`weights` over :attr:`norm`: the coefficients the gradient is taken with."""
        return tuple(weight / self.norm for weight in self.weights)  # type: ignore[return-value]

    def total(self, content: Total, style: Total, tv: Total, temporal: Total,
              weights: tuple[float, float, float, float]) -> Total:
        """L_total = α L_content + β L_style + TV and temporal terms, with ``weights`` for
        the coefficients: the one place the terms are summed (the temporal term only with
        a weighted previous frame)."""
        alpha, beta, tv_weight, temporal_weight = weights
        total = losses.total_loss(content, style, alpha, beta) + tv_weight * tv
        if self.previous is not None:
            total = total + temporal_weight * temporal
        return total

    def optimised_total(self, raw: torch.Tensor) -> torch.Tensor:
        """L_total / norm from :meth:`_raw`'s values, on the device (what the gradient is of)."""
        return self.total(raw[0], raw[1], raw[2], raw[3], self.weights) / self.norm

    def parts(self, raw: list[float]) -> dict[str, Any]:
        """The weighted terms of a step record from :meth:`loss_and_grad`'s raw values."""
        _, _, tv_weight, temporal_weight = self.weights
        return {
            "content": self.alpha * raw[0],
            "style": {layer: self.layer_weights[layer] * e
                      for layer, e in zip(self.layer_weights, raw[4:], strict=True)},
            "tv": tv_weight * raw[2],
            "temporal": None if self.previous is None else temporal_weight * raw[3],
            "total": self.total(raw[0], raw[1], raw[2], raw[3], self.weights),
        }

    def loss_and_grad(self, image: torch.Tensor, scale: float) -> torch.Tensor:
        """Put scale·∇L_total at ``image`` into ``image.grad``; return the raw terms (see
        :meth:`_raw`, and :meth:`parts` for the weighted values)."""
        if self.tile is not None:
            return self._tiled_loss_and_grad(image, scale)
        zero = torch.zeros((), device=image.device)
        features = self._features(image, self.layers)
        content = sum(
            (losses.content_loss(features[layer], self.content_targets[layer])
             for layer in self.content_layers), zero,
        )
        errors = {layer: self._style_error(layer, features[layer]) for layer in self.layer_weights}
        style = losses.style_loss(errors, self.layer_weights) if errors else zero
        tv = (losses.total_variation(image, self.options.tv_chroma) if self.options.tv_weight
              else zero)
        temporal = self._temporal(image)
        total = self.total(content, style, tv, temporal, self.normalised_weights)
        (total * scale).backward()
        return self._raw(content, style, tv, temporal, errors, image.device)

    def _tiled_loss_and_grad(self, image: torch.Tensor, scale: float) -> torch.Tensor:
        """Two passes (see tiling.py): whole-image Gram matrices, then each tile's gradient
        through the surrogate ⟨∂E_l/∂G, F Fᵀ⟩, whose gradient is exactly ∂E_l/∂F."""
        assert self.tile is not None
        errors, dE_dG = self._tiled_style(image)
        alpha, _, tv_weight, temporal_weight = self.normalised_weights
        content_total = torch.zeros((), device=image.device)
        height, width = image.shape[-2:]
        for t in tiles(height, width, self.tile, self._halo):
            window = image[:, :, t.ey0:t.ey1, t.ex0:t.ex1]
            features = self._features(window, self.layers)
            surrogate = torch.zeros((), device=image.device)
            for layer in self.layer_weights:
                weight = self.options.beta * self.layer_weights[layer] / self.norm
                core = t.core_of(features[layer], layer)  # (1, N, h, w)
                for guide, d_gram in dE_dG[layer]:
                    guided = core if guide is None else core * t.core_of_whole(guide, layer)
                    gram = losses.gram_matrix(guided)  # (N, N), of this tile's core
                    surrogate = surrogate + weight * (d_gram * gram).sum()
            for layer in self.content_layers:
                target = t.core_of_whole(self.content_targets[layer], layer)
                term = losses.content_loss(t.core_of(features[layer], layer), target)
                content_total = content_total + term.detach()
                surrogate = surrogate + alpha * term
            (surrogate * scale).backward()
        tv = torch.zeros((), device=image.device)
        if self.options.tv_weight:
            tv = losses.total_variation(image, self.options.tv_chroma)
            (tv_weight * tv * scale).backward()
        temporal = self._temporal(image)  # per pixel: the whole image at once, like TV
        if self.previous is not None:
            (temporal_weight * temporal * scale).backward()
        style = losses.style_loss(errors, self.layer_weights) if errors else tv.new_zeros(())
        return self._raw(content_total, style, tv, temporal, errors, image.device)

    def _tiled_style(self, image: torch.Tensor) -> tuple[
            dict[str, torch.Tensor], dict[str, list[tuple[torch.Tensor | None, torch.Tensor]]]]:
        """E_l of the whole image from tile-accumulated Gram matrices, and for each layer
        the (guide, ∂E_l/∂G) pairs the tiles' surrogate needs (one pair, guide None, when
        unmasked)."""
        if self.regions is None:
            grams, positions = tiled_grams(
                self._features, image.detach(), self.layer_weights, self.tile)
            errors, dE_dG = {}, {}
            for layer, gram in grams.items():
                errors[layer], d_gram = losses.gram_error_and_gradient(
                    gram, positions[layer], self.style_targets[layer], CHANNELS[layer])
                dE_dG[layer] = [(None, d_gram)]
            return errors, dE_dG
        height, width = image.shape[-2:]
        guides = [{layer: region.at((height // downsampling(layer), width // downsampling(layer)))
                   for layer in self.layer_weights} for region in self.regions]
        grams = tiled_guided_grams(self._features, image.detach(), self.layer_weights,
                                   self.tile, guides)
        errors, dE_dG = {}, {}
        for layer in self.layer_weights:
            errors[layer], dE_dG[layer] = image.new_zeros(()), []
            for region, guide, gram in zip(self.regions, guides, grams, strict=True):
                share = region.weight * guide[layer].mean()
                error, d_gram = losses.gram_error_and_gradient(
                    gram[layer], losses.guided_positions(guide[layer]),
                    region.targets[layer], CHANNELS[layer])
                errors[layer] = errors[layer] + share * error
                dE_dG[layer].append((guide[layer], share * d_gram))
        return errors, dE_dG

    @functools.cached_property
    def _halo(self) -> int:
        return halo_for(self.layers)
