"""The loss terms of Gatys, Ecker & Bethge (2015), as pure functions.

F^l is a layer's rectified response reshaped to N_l × M_l (filters × positions). Every
function takes feature maps shaped (1, N, H, W) as the network returns them.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def layer_style_error(
    gram: torch.Tensor, target_gram: torch.Tensor, n_filters: int, positions: int,
    target_positions: int | None = None,
) -> torch.Tensor:
    """E_l = 1 / (4 N_l² M_l²) · Σ_ij (G^l_ij − A^l_ij)²   (eq. 4).

    When the style image has a different number of positions ``target_positions`` (another
    size or aspect ratio), each Gram matrix is first divided by its own M; with equal sizes
    this is exactly the paper's formula:
    Σ (G/M − A/M)² / (4 N²) = Σ (G − A)² / (4 N² M²).
    """
    if target_positions is None:
        target_positions = positions
    difference = gram / positions - target_gram / target_positions
    return difference.pow(2).sum() / (4 * n_filters**2)


def style_loss(errors: Mapping[str, torch.Tensor], layer_weights: Mapping[str, float]):
    """L_style(a, x) = Σ_l w_l E_l   (eq. 5)."""
    return sum(layer_weights[layer] * errors[layer] for layer in layer_weights)


def total_loss(content: Tensorish, style: Tensorish, alpha: float, beta: float) -> Tensorish:
    """L_total(p, a, x) = α L_content + β L_style   (eq. 7)."""
    return alpha * content + beta * style


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Σ (x_{i,j+1} − x_ij)² + (x_{i+1,j} − x_ij)²: not in the paper; an optional smoothness
    prior (Mahendran & Vedaldi 2015) against high-frequency noise, off by default."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).sum() + dy.pow(2).sum()


def mean_std_error(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Σ_i (μ_i − μ'_i)² + (σ_i − σ'_i)² / N: per-channel statistics instead of a Gram matrix.

    Li et al. (2017), "Demystifying neural style transfer": matching these (batch-norm
    statistics) transfers style too; Gram matching is an MMD with the kernel (xᵀy)².
    Used by the explain report as a teaching contrast, not by default.
    """
    flat, flat_target = flatten_features(features), flatten_features(target)
    mean, mean_target = flat.mean(dim=1), flat_target.mean(dim=1)
    std = (flat.var(dim=1, unbiased=False) + 1e-8).sqrt()
    std_target = (flat_target.var(dim=1, unbiased=False) + 1e-8).sqrt()
    n = flat.shape[0]
    return ((mean - mean_target).pow(2).sum() + (std - std_target).pow(2).sum()) / n
