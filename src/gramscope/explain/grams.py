"""What a Gram matrix records, and where a result's differs from the style's.

G^l_ij = Σ_k F^l_ik F^l_jk says how often channels i and j fire *together*, summed over all
positions, so it keeps which features co-occur and throws away where. Each Gram is shown
divided by its own M_l (the engine compares them that way, exact when sizes agree), and
E_l = Σ_ij (G_ij/M − A_ij/M)² / (4 N_l²) comes from :mod:`gramscope.losses`, as in the
engine.

Channels come in network order, which is arbitrary; ordering them by clustering the style
Gram puts channels that fire together next to each other, so its blocks become visible.

With a guide (a mask over the result: one region of a masked run), the result's side is the
guided Gram matrix G_r = (F∘T_r)(F∘T_r)ᵀ / Σ_k T_rk² of that region (Gatys et al. 2017, §4),
which the engine drives towards the whole painting's A/M.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from PIL import Image

from ..errors import OptionsError
from ..image import resize_long_side
from ..losses import gram_error, guide_at, guided_gram, normalised_gram
from ..masks import Masks
from ..options import StyleOptions
from ..transfer import ImageInput, as_image
from ..vgg import VGG19, canonical_layer
from .features import feature_maps
from .plotting import Drawing, new_figure
from .runner import ViewSettings

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class GramSettings(ViewSettings):
    """The Gram view's defaults: conv3_1 (256 channels: blocks show, and it stays readable),
    both pictures at 256 px, the 8 most mismatched channels listed. Only forward passes:
    no optimiser steps to count."""

    OWN: ClassVar[tuple[str, ...]] = ("layer", "top")

    layer: str = "conv3_1"
    top: int = 8
    size: int = 256


GRAM_SETTINGS = GramSettings()


def channel_similarity(gram: torch.Tensor) -> np.ndarray:
    """Cosine similarity of channel responses: C_ij = G_ij / √(G_ii G_jj) (0 for dead ones)."""
    g = gram.detach().double().cpu().numpy()
    norms = np.sqrt(np.clip(np.diag(g), 0, None))
    outer = np.outer(norms, norms)
    return np.divide(g, outer, out=np.zeros_like(g), where=outer > 0)


def cluster_order(gram: torch.Tensor) -> list[int]:
    """A permutation of the channels that groups those which fire together.

    Average-linkage agglomerative clustering on the distance 1 − C_ij; when two clusters
    merge, their channel lists are joined in whichever orientation puts the two most
    similar end channels side by side, so the leaf order runs smoothly across blocks.
    """
    similarity = channel_similarity(gram)
    n = similarity.shape[0]
    distance = 1.0 - similarity
    np.fill_diagonal(distance, np.inf)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    for _ in range(n - 1):
        flat = int(np.argmin(distance))
        i, j = divmod(flat, n)
        a, b = members.pop(i), members.pop(j)
        # Four ways to join two chains; keep the one whose touching ends are most alike.
        joins = [(a, b), (a, b[::-1]), (a[::-1], b), (a[::-1], b[::-1])]
        left, right = max(joins, key=lambda pair: similarity[pair[0][-1], pair[1][0]])
        members[i] = left + right
        size_a, size_b = len(a), len(b)
        merged = (size_a * distance[i] + size_b * distance[j]) / (size_a + size_b)
        distance[i, :] = merged
        distance[:, i] = merged
        distance[i, i] = np.inf
        distance[j, :] = np.inf
        distance[:, j] = np.inf
    (order,) = members.values()
    return order


def mismatch_by_channel(difference: torch.Tensor) -> torch.Tensor:
    """Each channel's share of E_l: Σ_j (G_ij/M − A_ij/M)², normalised to sum to 1.

    The squared difference is symmetric, so row sums split Σ_ij exactly twice over channels.
    """
    rows = difference.pow(2).sum(dim=1)  # (N,)
    total = rows.sum()
    return rows / total if total > 0 else rows


@dataclass
class GramViews(Drawing):
    """Style Gram, result Gram and their difference at one layer (each divided by M)."""

    layer: str
    style: torch.Tensor  # (N, N) A / M_style
    result: torch.Tensor  # (N, N) G / M_result
    order: list[int]  # channel permutation from clustering the style Gram
    top: int = 8
    region: str = ""  # set when ``result`` is the guided Gram of one region

    @property
    def difference(self) -> torch.Tensor:
        return self.result - self.style  # (N, N)

    @property
    def style_error(self) -> float:
        """E_l for these two Grams: Σ (G/M − A/M)² / (4 N²)."""
        return float(gram_error(self.result, self.style, self.style.shape[0]))

    def mismatched(self) -> list[tuple[int, float]]:
        """(channel, share of E_l) for the ``top`` most mismatched channels, worst first."""
        share = mismatch_by_channel(self.difference)
        ranked = torch.sort(share, descending=True, stable=True)
        count = min(self.top, share.numel())
        return [(int(c), float(s)) for c, s in zip(ranked.indices[:count],
                                                  ranked.values[:count], strict=True)]

    def figure(self) -> Figure:
        from matplotlib.colors import PowerNorm

        idx = torch.tensor(self.order)
        style = self.style[idx][:, idx].numpy()
        result = self.result[idx][:, idx].numpy()
        difference = self.difference[idx][:, idx].numpy()
        figure = new_figure(15, 4.6)
        axes = figure.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 0.8]})
        top = float(max(style.max(), result.max(), 1e-12))
        # √-scaled colours: a few large diagonal entries would otherwise hide the blocks.
        norm = PowerNorm(0.5, vmin=0, vmax=top)
        result_title = f"result in {self.region}  G_r" if self.region else "result  G/M"
        for ax, matrix, title in ((axes[0], style, "style image  A/M"),
                                  (axes[1], result, result_title)):
            image = ax.imshow(matrix, cmap="viridis", norm=norm, interpolation="nearest")
            ax.set_title(title, fontsize=10)
            figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        limit = float(np.percentile(np.abs(difference), 99.5)) or 1e-12
        image = axes[2].imshow(difference, cmap="RdBu_r", vmin=-limit, vmax=limit,
                               interpolation="nearest")
        axes[2].set_title("difference  G_r − A/M" if self.region else "difference  G/M − A/M",
                          fontsize=10)
        figure.colorbar(image, ax=axes[2], fraction=0.046, pad=0.03)
        for ax in axes[:3]:
            ax.set_xlabel("channel (clustered order)", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        worst = self.mismatched()
        axes[3].barh([f"#{c}" for c, _ in worst][::-1], [100 * s for _, s in worst][::-1],
                     color="#c0392b")
        axes[3].set_xlabel("share of this layer's style error (%)", fontsize=8)
        axes[3].set_title("most mismatched channels", fontsize=10)
        axes[3].tick_params(labelsize=8)
        guided = f", the result's guided by {self.region}" if self.region else ""
        figure.suptitle(
            f"{self.layer}: Gram matrices{guided} ({self.style.shape[0]} channels, ordered by "
            f"clustering the style Gram; colours √-scaled); E_l = {self.style_error:.3g}",
            fontsize=11)
        figure.tight_layout(rect=(0, 0, 1, 0.94))
        return figure


def gram_views(
    style: ImageInput, result: ImageInput, layer: str, *, size: int = GRAM_SETTINGS.size,
    top: int = GRAM_SETTINGS.top, options: StyleOptions | None = None, net: VGG19 | None = None,
    guide: Image.Image | None = None, region: str = "region",
) -> GramViews:
    """Compare the Gram matrices of ``style`` and ``result`` at ``layer``.

    Both images are scaled to ``size`` px (long side); ``options`` chooses the network
    (weights, pooling, normalisation) as the engine would. ``guide`` (a greyscale mask over
    the result, white = inside ``region``) makes the result's side its guided Gram matrix
    in that region, the guide carried to the layer as the engine carries it.
    """
    layer = canonical_layer(layer)
    if top < 1:
        raise OptionsError(f"top must be 1 or more, not {top}")
    style_gram = normalised_gram(feature_maps(style, [layer], size=size, options=options,
                                              net=net)[layer])
    result_features = feature_maps(result, [layer], size=size, options=options,
                                   net=net)[layer]  # (1, N, H_l, W_l)
    if guide is None:
        result_gram, region = normalised_gram(result_features), ""
    else:
        picture = resize_long_side(as_image(result), size).size  # what the network saw
        # Masks.guides is the engine's own mask -> guide conversion, at the picture's size.
        (whole,) = Masks((guide.convert("L"),), ({},)).guides(picture, result_features.device)
        result_gram = guided_gram(result_features, guide_at(whole, result_features.shape[-2:]))
    return GramViews(layer, style_gram, result_gram, cluster_order(style_gram), top, region)
