"""VGG-19 as named layers that computes only as deep as it is asked to.

Layer names follow the paper: ``conv4_2`` is the *rectified* output of that conv layer
("conv4_2" in Gatys et al. always means the ReLU's output); ``relu4_2`` is accepted as the
same thing; ``pool1`` … ``pool5`` are the pooling outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .deprecation import old_keywords
from .errors import OptionsError
from .layers import (  # noqa: F401  (re-exported: the network's layer table)
    CHANNELS,
    CONV_LAYERS,
    LAYER_INDEX,
    LAYERS,
    Normalisation,
    Normalization,
    Pooling,
    canonical_layer,
    downsampling,
)
from .weights import Preprocessing, VGGWeights, load_weights


class VGG19(nn.Module):
    """Feature extractor over RGB images in 0-255; weights never receive gradients.

    ``forward(image, layers)`` returns ``{layer: (B, N_l, H_l, W_l)}`` for just the layers
    asked for and stops after the deepest of them.
    """

    def __init__(self, weights: VGGWeights, pooling: Pooling = "max") -> None:
        super().__init__()
        if pooling not in ("max", "avg"):
            raise OptionsError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        self.pooling: Pooling = pooling
        self.preprocessing: Preprocessing = weights.preprocessing
        self.source = weights.source
        self.sha256 = weights.sha256
        for name in CONV_LAYERS:
            weight, bias = weights.convs[name]
            # Buffers, not parameters: they move with .to(device) and never need a gradient.
            self.register_buffer(f"{name}_weight", weight.detach().clone().contiguous())
            self.register_buffer(f"{name}_bias", bias.detach().clone().contiguous())

    def conv_weight(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, f"{name}_weight"), getattr(self, f"{name}_bias")

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = {canonical_layer(name) for name in layers}
        if not wanted:
            return {}
        last = max(LAYER_INDEX[name] for name in wanted)
        x = self.preprocessing.to_network(image)  # (B, 3, H, W)
        out: dict[str, torch.Tensor] = {}
        for name in LAYERS[: last + 1]:
            if name.startswith("pool"):
                pool = F.max_pool2d if self.pooling == "max" else F.avg_pool2d
                x = pool(x, kernel_size=2, stride=2)  # (B, N, H/2, W/2)
            else:
                weight, bias = self.conv_weight(name)
                # In place is safe: conv's backward needs only its weight, ReLU its output.
                x = F.relu_(F.conv2d(x, weight, bias, padding=1))  # (B, N_l, H, W)
            if name in wanted:
                out[name] = x
        return out


def _data_dir() -> Path:
    return Path(__file__).parent / "data"


def mean_activations(
    weights: VGGWeights, images: Sequence[torch.Tensor], pooling: Pooling = "max"
) -> dict[str, torch.Tensor]:
    """The paper's normalisation factors: each filter's mean rectified activation.

    Averaged over ``images`` ((1, 3, H, W) RGB 0-255) and positions. Normalising layer by
    layer leaves every later layer's output unchanged until it is itself divided (see
    :func:`normalise`), so one pass through the unnormalised network measures all of them.
    """
    net = VGG19(weights, pooling)
    totals = {name: torch.zeros(CHANNELS[name]) for name in CONV_LAYERS}
    with torch.no_grad():
        for image in images:
            for name, feature in net(image, CONV_LAYERS).items():
                totals[name] += feature.mean(dim=(0, 2, 3))
    # A filter that never fires has nothing to normalise; leave it as it is.
    return {
        name: torch.where(total > 0, total / len(images), torch.ones_like(total))
        for name, total in totals.items()
    }


def normalise(weights: VGGWeights, means: dict[str, torch.Tensor]) -> VGGWeights:
    """Rescale weights so each filter's mean activation is 1 (Gatys et al., section 2).

    Filter o of layer l is divided by its mean m_l[o]; the next layer's input weights are
    multiplied by m_l so that nothing downstream changes but the scale. ReLU and max/avg
    pooling commute with positive scaling, so every rectified feature map is exactly the
    original one divided by its filter's mean.
    """
    convs = {}
    previous = torch.ones(3)
    for name in CONV_LAYERS:
        weight, bias = weights.convs[name]
        mean = means[name]
        convs[name] = (
            weight * previous.view(1, -1, 1, 1) / mean.view(-1, 1, 1, 1),
            bias / mean,
        )
        previous = mean
    return VGGWeights(convs, weights.preprocessing, weights.source, weights.sha256)


def normalisation_means(weights: VGGWeights) -> dict[str, torch.Tensor]:
    """Shipped factors for the default weights; measured on the bundled samples otherwise."""
    shipped = _data_dir() / f"mean_activations_{weights.sha256[:16]}.pt"
    if shipped.is_file():
        loaded = torch.load(shipped, map_location="cpu", weights_only=True)
        return {name: loaded[name] for name in CONV_LAYERS}
    from .image import load_image, resize_long_side, to_tensor
    from .samples import NORMALISATION_SAMPLES, sample_path

    images = [
        to_tensor(resize_long_side(load_image(sample_path(name)), NORMALISATION_SIZE))
        for name in NORMALISATION_SAMPLES
    ]
    return mean_activations(weights, images)


#: Long side at which the normalisation factors are measured on the samples.
NORMALISATION_SIZE = 256


def load_vgg19(
    weights_path: str | Path | None = None,
    *,
    pooling: Pooling = "max",
    normalization: Normalization = "mean-activation",
    device: str | torch.device = "cpu",
    **deprecated: Any,
) -> VGG19:
    """Build the feature extractor.

    ``normalization="mean-activation"`` is the paper's rescaled network (the default: without
    it raw E_l differ by five orders of magnitude between layers and w_l = 1/5 means one
    layer owns the style loss); ``"none"`` uses the weights as trained.
    """
    if deprecated:  # normalisation=, the old spelling, still accepted
        normalization = old_keywords(deprecated, {"normalisation": "normalization"},
                                     "load_vgg19")["normalization"]
    weights = load_weights(weights_path)
    if normalization == "mean-activation":
        weights = normalise(weights, normalisation_means(weights))
    elif normalization != "none":
        raise OptionsError(
            f"normalization must be 'mean-activation' or 'none', not {normalization!r}"
        )
    return VGG19(weights, pooling).to(device).eval()
