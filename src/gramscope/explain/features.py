"""What a layer responds to: a grid of its channel activations F^l_i (rectified outputs).

Channels are ranked by their mean activation over the image's positions. On the paper's
normalised network every filter averages 1 over natural images, so a mean well above 1
marks a filter this particular image drives hard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from PIL import Image

from ..deprecation import old_keywords, warn_renamed
from ..device import network_for
from ..errors import OptionsError
from ..image import resize_long_side, to_tensor
from ..losses import mean_std
from ..options import StyleOptions
from ..transfer import ImageInput, as_image
from ..vgg import CHANNELS, VGG19, canonical_layer
from .plotting import Drawing, new_figure, show_image
from .runner import ViewSettings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Normalise = Literal["channel", "layer"]
NORMALISE_HELP = {
    "channel": "each map scaled to its own maximum (shows where; hides how strongly)",
    "layer": "all maps on one scale, the largest activation shown (shows how strongly)",
}


@dataclass(frozen=True)
class FeaturesSettings(ViewSettings):
    """The feature-map view's defaults: conv3_1's 16 strongest channels of the picture at
    256 px, each map on its own scale. Only a forward pass: no optimiser steps to count."""

    OWN: ClassVar[tuple[str, ...]] = ("layer", "count", "normalize")

    layer: str = "conv3_1"
    count: int = 16
    normalize: Normalise = "channel"
    size: int = 256

    @property
    def normalise(self) -> Normalise:
        """Deprecated: the old name of :attr:`normalize`."""
        warn_renamed("FeaturesSettings.normalise", "FeaturesSettings.normalize")
        return self.normalize


FEATURES_SETTINGS = FeaturesSettings()


def channel_strengths(features: torch.Tensor) -> torch.Tensor:
    """Mean activation μ_i of each channel over positions: (1, N, H, W) -> (N,)."""
    return mean_std(features)[0]


def strongest_channels(features: torch.Tensor, count: int) -> list[int]:
    """Indices of the ``count`` channels with the largest mean activation, strongest first."""
    strengths = channel_strengths(features)
    count = min(count, strengths.numel())
    # Stable sort: equal strengths keep channel order, so the grid is reproducible.
    return torch.sort(strengths, descending=True, stable=True).indices[:count].tolist()


def normalise_maps(maps: torch.Tensor, mode: Normalise) -> torch.Tensor:
    """(k, H, W) non-negative activations -> 0..1, per channel or over the whole layer."""
    if mode not in NORMALISE_HELP:
        raise OptionsError(f"normalize must be 'channel' or 'layer', not {mode!r}")
    if mode == "channel":
        peak = maps.flatten(1).amax(dim=1).clamp_min(1e-12)[:, None, None]  # (k, 1, 1)
    else:
        peak = maps.max().clamp_min(1e-12)
    return (maps / peak).clamp(0, 1)


@dataclass
class FeatureGrid(Drawing):
    """The strongest channels of one layer for one image."""

    image: Image.Image
    layer: str
    channels: list[int]
    strengths: list[float]
    maps: torch.Tensor  # (k, H_l, W_l), 0..1 after normalisation
    normalize: Normalise

    @property
    def normalise(self) -> Normalise:
        """Deprecated: the old name of :attr:`normalize`."""
        warn_renamed("FeatureGrid.normalise", "FeatureGrid.normalize")
        return self.normalize

    def figure(self, columns: int | None = None) -> Figure:
        count = len(self.channels)
        columns = columns or min(8, count)
        rows = math.ceil(count / columns) + 1  # first row: the input image
        aspect = self.maps.shape[1] / self.maps.shape[2]
        figure = new_figure(1.5 * columns, 1.5 * aspect * rows + 0.9)
        grid = figure.add_gridspec(rows, columns)
        show_image(figure.add_subplot(grid[0, :]), self.image, "input")
        for k, (channel, strength) in enumerate(zip(self.channels, self.strengths, strict=True)):
            ax = figure.add_subplot(grid[1 + k // columns, k % columns])
            ax.imshow(self.maps[k].numpy(), cmap="magma", vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"#{channel}  mean {strength:.2g}", fontsize=7)
        figure.suptitle(
            f"{self.layer}: {count} strongest of {CHANNELS[self.layer]} channels "
            f"(normalised per {self.normalize}: {NORMALISE_HELP[self.normalize]})",
            fontsize=9, wrap=True,
        )
        figure.tight_layout(rect=(0, 0, 1, 0.95))
        return figure


def feature_maps(
    image: ImageInput, layers: list[str], *, size: int = 256, options: StyleOptions | None = None,
    net: VGG19 | None = None,
) -> dict[str, torch.Tensor]:
    """``{layer: (1, N, H, W)}`` for ``image`` scaled to ``size`` px (long side)."""
    net = net or network_for(options or StyleOptions())
    device = next(iter(net.buffers())).device
    tensor = to_tensor(resize_long_side(as_image(image), size)).to(device)  # (1, 3, H, W)
    with torch.no_grad():
        return {k: v.cpu() for k, v in net(tensor, layers).items()}


def feature_grid(
    image: ImageInput, layer: str, *, count: int = FEATURES_SETTINGS.count,
    normalize: Normalise = FEATURES_SETTINGS.normalize, size: int = FEATURES_SETTINGS.size,
    options: StyleOptions | None = None, net: VGG19 | None = None, **deprecated: Any,
) -> FeatureGrid:
    """The ``count`` strongest channels of ``layer`` for ``image`` (``normalise=``, the old
    spelling of ``normalize=``, still works, deprecated)."""
    if deprecated:
        normalize = old_keywords(deprecated, {"normalise": "normalize"},
                                 "feature_grid")["normalize"]
    layer = canonical_layer(layer)
    if count < 1:
        raise OptionsError(f"count must be 1 or more, not {count}")
    picture = resize_long_side(as_image(image), size)
    features = feature_maps(picture, [layer], size=size, options=options, net=net)[layer]
    channels = strongest_channels(features, count)
    strengths = channel_strengths(features)
    maps = normalise_maps(features[0, channels], normalize)  # (k, H, W)
    return FeatureGrid(picture, layer, channels, [float(strengths[c]) for c in channels],
                       maps, normalize)
