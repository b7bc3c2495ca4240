"""A judge the optimiser does not see: content and style scores from image statistics.

gramscope optimises the paper's losses (VGG-19 features: L_content on conv4_2, Gram
matrices on conv1_1…conv5_1). Grading a picture with those losses rewards whatever the
optimiser exploited; this judge uses no network at all, only pixel and patch statistics,
so nothing the optimiser minimised appears in it. Both scores: lower = closer, 0 = same.

**Content** (how much of the photo's layout survives), at ``size`` px long side, the photo
resized to exactly the result's judged shape:

    content = ½ (1 − SSIM(Y_result, Y_photo)) + ½ (1 − ρ(|∇G_σ * Y_result|, |∇G_σ * Y_photo|))

- SSIM is the mean structural similarity of Wang, Bovik, Sheikh & Simoncelli (2004) on
  luminance Y = 0.299 R + 0.587 G + 0.114 B in [0, 1]: an 11×11 Gaussian window of
  σ = 1.5, K1 = 0.01, K2 = 0.03, L = 1, averaged over the valid positions. It compares
  local means, contrasts and correlations of pixels; the content loss compares conv4_2
  activations. The two agree only in that both are 0 for the photo itself.
- ρ is the Pearson correlation of Sobel gradient magnitudes after a Gaussian blur of
  ``edge_sigma`` px: whether the photo's large edges (outlines, horizon, buildings) are
  where they were, blind to the texture that style transfer paints over flat regions —
  which the fine-scale SSIM punishes.

**Style** (how close the result's local look is to the painting's): the sliced
Wasserstein distance (Rabin, Peyré, Delon & Bernot 2011) between the distributions of all
``patch``×``patch``×3 colour patches (RGB in [0, 1], stride ``stride``) of the result and
of the painting, each image at its own size (``size`` px long side: patches are local, so
the two need not match in shape), and again at half that size, averaged:

    SW(P, Q) = sqrt( mean_θ mean_q (F⁻¹_{θ·P}(q) − F⁻¹_{θ·Q}(q))² )

over ``directions`` unit directions θ drawn once from a normal distribution with ``seed``
and ``quantiles`` evenly spaced quantile levels q. A Gram matrix keeps only second moments
of deep features; this compares the whole one-dimensional distributions of raw colour
patches (palette, contrast, stroke-sized structure), so a picture can lower its Gram loss
without moving this score, and the other way round.

Deterministic: no sampling beyond the fixed directions; the same inputs give the same
numbers. Not a perceptual metric: it measures the above and nothing more.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gramscope.image import long_side_size

ImageLike = Image.Image | str | Path

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601


@dataclass(frozen=True)
class JudgeSettings:
    """Every number the judge uses; recorded next to its scores."""

    size: int = 384  # long side, px, at which both scores are measured
    ssim_window: int = 11  # Wang et al. 2004
    ssim_sigma: float = 1.5
    edge_sigma: float = 2.0  # blur before the gradient: large edges only
    patch: int = 7
    stride: int = 1
    directions: int = 64
    quantiles: int = 256
    seed: int = 0
    style_scales: tuple[float, ...] = field(default=(1.0, 0.5))

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT = JudgeSettings()


def as_rgb(image: ImageLike) -> Image.Image:
    if isinstance(image, str | Path):
        with Image.open(image) as opened:
            return opened.convert("RGB")
    return image.convert("RGB")


def resized(image: Image.Image, long_side: int) -> Image.Image:
    """``image`` with its long side at ``long_side`` px, aspect kept (LANCZOS, as the judge
    has always resized; the engine's own resize may differ, only the arithmetic is shared)."""
    shape = long_side_size(image.size, long_side)
    return image if shape == image.size else image.resize(shape, Image.Resampling.LANCZOS)


def rgb_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> (1, 3, H, W) float64 in [0, 1]."""
    array = np.asarray(image, dtype=np.float64) / 255.0  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) -> (1, 1, H, W)."""
    weights = torch.tensor(LUMA, dtype=rgb.dtype).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


def gaussian_kernel(sigma: float, width: int | None = None) -> torch.Tensor:
    """(1, 1, w, w) normalised 2-D Gaussian; ``width`` defaults to 2⌈3σ⌉ + 1."""
    width = width if width is not None else 2 * math.ceil(3 * sigma) + 1
    x = torch.arange(width, dtype=torch.float64) - (width - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, width, width)


def ssim(a: torch.Tensor, b: torch.Tensor, settings: JudgeSettings = DEFAULT) -> float:
    """Mean SSIM of two (1, 1, H, W) images in [0, 1] (Wang et al. 2004, eq. 13, L = 1)."""
    c1, c2 = 0.01**2, 0.03**2
    window = gaussian_kernel(settings.ssim_sigma, settings.ssim_window)
    mu_a, mu_b = F.conv2d(a, window), F.conv2d(b, window)  # valid positions only
    var_a = F.conv2d(a * a, window) - mu_a**2
    var_b = F.conv2d(b * b, window) - mu_b**2
    cov = F.conv2d(a * b, window) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)
             / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))
    return float(index.mean())


def edge_magnitude(y: torch.Tensor, sigma: float) -> torch.Tensor:
    """Sobel gradient magnitude of ``y`` blurred by a Gaussian of ``sigma`` px."""
    kernel = gaussian_kernel(sigma)
    blurred = F.conv2d(F.pad(y, [kernel.shape[-1] // 2] * 4, mode="replicate"), kernel)
    sobel_x = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=y.dtype) / 8
    gx = F.conv2d(blurred, sobel_x.view(1, 1, 3, 3))
    gy = F.conv2d(blurred, sobel_x.t().reshape(1, 1, 3, 3))
    return torch.sqrt(gx**2 + gy**2)


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two equal-shape tensors (0 where either is constant)."""
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    denominator = torch.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def content_parts(result: ImageLike, photo: ImageLike,
                  settings: JudgeSettings = DEFAULT) -> dict[str, float]:
    """SSIM, edge correlation and the content score of ``result`` against ``photo``."""
    judged = resized(as_rgb(result), settings.size)
    reference = as_rgb(photo).resize(judged.size, Image.Resampling.LANCZOS)
    y_result, y_photo = luminance(rgb_tensor(judged)), luminance(rgb_tensor(reference))
    structure = ssim(y_result, y_photo, settings)
    edges = correlation(edge_magnitude(y_result, settings.edge_sigma),
                        edge_magnitude(y_photo, settings.edge_sigma))
    return {"ssim": structure, "edge_correlation": edges,
            "content": 0.5 * (1 - structure) + 0.5 * (1 - edges)}


def content_score(result: ImageLike, photo: ImageLike,
                  settings: JudgeSettings = DEFAULT) -> float:
    """Lower = more of the photo's layout kept; 0 for the photo itself."""
    return content_parts(result, photo, settings)["content"]


def patches(rgb: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """All size×size colour patches of (1, 3, H, W): (N, 3·size²)."""
    return F.unfold(rgb, kernel_size=size, stride=stride)[0].t()  # (N, 3·size²)


def projection_directions(dimension: int, settings: JudgeSettings) -> torch.Tensor:
    """(dimension, directions) unit columns, fixed by ``settings.seed``."""
    generator = torch.Generator().manual_seed(settings.seed)
    theta = torch.randn(dimension, settings.directions, generator=generator,
                        dtype=torch.float64)
    return theta / theta.norm(dim=0, keepdim=True)


def projected_quantiles(points: torch.Tensor, theta: torch.Tensor,
                        levels: torch.Tensor) -> torch.Tensor:
    """Quantiles of each one-dimensional projection: (directions, quantiles)."""
    projected = (points @ theta).t().contiguous()  # (directions, N)
    return torch.quantile(projected, levels, dim=1).t()


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, settings: JudgeSettings) -> float:
    """SW₂ between the patch distributions of two (1, 3, H, W) images."""
    pa, pb = (patches(x, settings.patch, settings.stride) for x in (a, b))
    theta = projection_directions(pa.shape[1], settings)
    levels = (torch.arange(settings.quantiles, dtype=torch.float64) + 0.5) / settings.quantiles
    qa, qb = projected_quantiles(pa, theta, levels), projected_quantiles(pb, theta, levels)
    return float(torch.sqrt(((qa - qb) ** 2).mean()))


def style_parts(result: ImageLike, painting: ImageLike,
                settings: JudgeSettings = DEFAULT) -> dict[str, float | list[float]]:
    """The style score and its value at each scale of ``settings.style_scales``."""
    result_rgb, painting_rgb = as_rgb(result), as_rgb(painting)
    per_scale = []
    for scale in settings.style_scales:
        long_side = max(settings.patch, round(settings.size * scale))
        per_scale.append(sliced_wasserstein(rgb_tensor(resized(result_rgb, long_side)),
                                            rgb_tensor(resized(painting_rgb, long_side)),
                                            settings))
    return {"style": sum(per_scale) / len(per_scale), "style_per_scale": per_scale}


def style_score(result: ImageLike, painting: ImageLike,
                settings: JudgeSettings = DEFAULT) -> float:
    """Lower = local colour patches distributed more like the painting's; 0 for itself."""
    return float(style_parts(result, painting, settings)["style"])


def judge(result: ImageLike, photo: ImageLike, painting: ImageLike,
          settings: JudgeSettings = DEFAULT) -> dict[str, float | list[float]]:
    """Both scores and their parts, as one JSON-ready dict."""
    return {**content_parts(result, photo, settings), **style_parts(result, painting, settings)}
