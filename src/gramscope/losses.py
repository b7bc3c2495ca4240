"""The loss terms of Gatys, Ecker & Bethge (2015), as pure functions.

F^l is a layer's rectified response reshaped to N_l × M_l (filters × positions). Every
function takes feature maps shaped (1, N, H, W) as the network returns them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import torch

Tensorish = TypeVar("Tensorish", torch.Tensor, float)


def flatten_features(features: torch.Tensor) -> torch.Tensor:
    """(1, N, H, W) -> F, shaped (N, M) with M = H·W."""
    if features.dim() != 4 or features.shape[0] != 1:
        raise ValueError(f"expected features shaped (1, N, H, W), got {tuple(features.shape)}")
    return features.flatten(2).squeeze(0)  # (N, M)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_content(p, x, l) = ½ Σ_ij (F^l_ij − P^l_ij)²   (eq. 1)."""
    return 0.5 * (features - target).pow(2).sum()


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G^l_ij = Σ_k F^l_ik F^l_jk   (eq. 3): (1, N, H, W) -> (N, N)."""
    flat = flatten_features(features)  # (N, M)
    return flat @ flat.T  # (N, N)


def positions(features: torch.Tensor) -> int:
    """M_l: the number of positions (H·W) of a feature map shaped (1, N, H, W)."""
    return features[0, 0].numel()


def normalised_gram(features: torch.Tensor) -> torch.Tensor:
    """G^l / M_l: the Gram matrix divided by its number of positions, (N, N).

    Dividing each Gram matrix by its own M makes images of different sizes comparable;
    for equal sizes it changes nothing in E_l (see :func:`gram_error`).
    """
    return gram_matrix(features) / positions(features)


def guided_positions(guide: torch.Tensor) -> torch.Tensor:
    """Σ_k T_rk²: the effective number of positions of a guide T_r shaped (1, 1, H, W), what
    its guided Gram matrix is divided by (M_l for a guide of ones); never below 1e-12, so an
    empty guide divides by a tiny number, not zero."""
    return guide.pow(2).sum().clamp_min(1e-12)


def guided_gram(features: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """G_r = (F∘T_r)(F∘T_r)ᵀ / Σ_k T_rk²: the Gram matrix of the features weighted by a
    guidance channel T_r (Gatys et al. 2017, §4), normalised by its effective number of
    positions so that it compares with a whole painting's A/M. (1, N, H, W) × (1, 1, H, W)
    -> (N, N); a guide of ones gives :func:`normalised_gram`."""
    return gram_matrix(features * guide) / guided_positions(guide)


def guide_at(guide: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """A guide (1, 1, H, W) in [0, 1] carried to a layer's resolution ``size`` (H_l, W_l)
    by averaging over each feature's footprint (the paper's "resizing" option)."""
    if tuple(guide.shape[-2:]) == tuple(size):
        return guide
    return torch.nn.functional.interpolate(guide, size=tuple(size), mode="area")


def gram_error(gram: torch.Tensor, target: torch.Tensor, n_filters: int) -> torch.Tensor:
    """E_l from size-normalised Gram matrices G/M and A/M:  Σ_ij (G/M − A/M)² / (4 N_l²).

    With equal sizes this is exactly the paper's eq. 4:
    Σ (G/M − A/M)² / (4 N²) = Σ (G − A)² / (4 N² M²).
    """
    return (gram - target).pow(2).sum() / (4 * n_filters**2)


def gram_error_and_gradient(
    gram: torch.Tensor, m: int, target: torch.Tensor, n_filters: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """E_l and ∂E_l/∂G for an *unnormalised* Gram matrix G of M = ``m`` positions.

    E = Σ (G/M − Â)² / (4N²)  ⇒  ∂E/∂G = (G/M − Â) / (2 N² M), with Â = A/M_style. The
    tiled evaluation needs the derivative by G explicitly (see tiling.py).
    """
    difference = gram / m - target
    return difference.pow(2).sum() / (4 * n_filters**2), difference / (2 * n_filters**2 * m)


def layer_style_error(
    gram: torch.Tensor, target_gram: torch.Tensor, n_filters: int, positions: int,
    target_positions: int | None = None,
) -> torch.Tensor:
    """E_l = 1 / (4 N_l² M_l²) · Σ_ij (G^l_ij − A^l_ij)²   (eq. 4), from raw Gram matrices.

    When the style image has a different number of positions ``target_positions`` (another
    size or aspect ratio), each Gram matrix is first divided by its own M.
    """
    if target_positions is None:
        target_positions = positions
    return gram_error(gram / positions, target_gram / target_positions, n_filters)


def style_loss(errors: Mapping[str, torch.Tensor], layer_weights: Mapping[str, float]):
    """L_style(a, x) = Σ_l w_l E_l   (eq. 5)."""
    return sum(layer_weights[layer] * errors[layer] for layer in layer_weights)


def total_loss(content: Tensorish, style: Tensorish, alpha: float, beta: float) -> Tensorish:
    """L_total(p, a, x) = α L_content + β L_style   (eq. 7)."""
    return alpha * content + beta * style


#: An orthonormal colour basis: grey (1, 1, 1)/√3 first, then two colour-difference axes.
#: Being a rotation of RGB, squared differences in it sum to the RGB ones.
GREY_CHROMA = torch.tensor([[1 / 3**0.5, 1 / 3**0.5, 1 / 3**0.5],
                            [1 / 2**0.5, -1 / 2**0.5, 0.0],
                            [1 / 6**0.5, 1 / 6**0.5, -2 / 6**0.5]])


def total_variation(image: torch.Tensor, chroma: float = 1.0) -> torch.Tensor:
    """Σ (x_{i,j+1} − x_ij)² + (x_{i+1,j} − x_ij)²: not in the paper; an optional smoothness
    prior (Mahendran & Vedaldi 2015) against high-frequency noise, off by default.

    With ``chroma`` ≠ 1 the differences are taken in :data:`GREY_CHROMA` and those of the two
    colour axes weighed by ``chroma``: the brightness term plus ``chroma`` × the colour term
    (with 1, exactly the RGB sum)."""
    if chroma != 1.0:
        image = torch.einsum("ij,bjhw->bihw", GREY_CHROMA.to(image), image)
        weights = image.new_tensor([1.0, chroma**0.5, chroma**0.5]).view(1, 3, 1, 1)
        image = image * weights  # a difference of scaled values is the scaled difference
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).sum() + dy.pow(2).sum()


#: Added to the variance under the square root of the *generated* image's σ: its gradient
#: is infinite where a channel is constant (a dead filter at the start).
STD_EPS = 1e-8


def mean_std(features: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Per-channel mean μ_i and standard deviation σ_i of F^l, stacked as (2, N)."""
    flat = flatten_features(features)  # (N, M)
    return torch.stack([flat.mean(dim=1), (flat.var(dim=1, unbiased=False) + eps).sqrt()])


def mean_std_error(statistics: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Σ_i (μ_i − μ'_i)² + (σ_i − σ'_i)²  / N, from :func:`mean_std` statistics.

    Li et al. (2017), "Demystifying neural style transfer": matching these per-channel
    (batch-norm) statistics transfers style too, while Gram matching is an MMD with the
    kernel (xᵀy)². The engine uses it as the style representation ``mean-std``, a teaching
    contrast to the paper's Gram matrices; it is not the default.
    """
    n = statistics.shape[1]
    return ((statistics[0] - target[0]).pow(2).sum() + (statistics[1] - target[1]).pow(2).sum()) / n


def temporal_loss(image: torch.Tensor, warped_previous: torch.Tensor,
                  weights: torch.Tensor) -> torch.Tensor:
    """Ruder, Dosovitskiy & Brox (2016), eq. 6: L_temporal = (1/D) Σ_k c_k (x_k − ω_k)².

    ``image`` (1, 3, H, W) is frame t's result, ``warped_previous`` frame t−1's result
    carried onto frame t by the optical flow, ``weights`` c (H, W) or (1, 1, H, W) the
    flow's consistency (0 where it cannot be trusted); D = 3·H·W. Not part of Gatys et
    al.'s method: it only ties a video's frames together.
    """
    if image.shape != warped_previous.shape:
        raise ValueError(f"image {tuple(image.shape)} and warped previous frame "
                         f"{tuple(warped_previous.shape)} differ")
    c = weights.reshape(1, 1, *image.shape[-2:]).to(image)
    return (c * (image - warped_previous) ** 2).sum() / image[0].numel()
