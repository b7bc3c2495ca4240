"""What each layer keeps: the paper's Figure 1.

Content reconstruction (Mahendran & Vedaldi's inversion, as in Gatys et al. Fig. 1): start
from white noise and minimise L_content = ½ Σ (F^l − P^l)² at *one* layer l. Low layers
keep the exact pixels; high layers keep the arrangement of objects but not their detail.

Style reconstruction (texture synthesis, Gatys et al. 2015): start from white noise and
minimise Σ_l w_l E_l over a growing set of layers conv1_1, +conv2_1, … +conv5_1. Each added
layer matches correlations over a larger receptive field, so the texture grows in scale and
complexity.

Both are plain calls of the one engine (:func:`gramscope.api.stylize`, through
:func:`.runner.render_run`) with one of the two loss terms switched off, never a separate
loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from PIL import Image

from ..device import resolve_device
from ..image import resize_long_side, to_tensor
from ..options import PAPER_STYLE_LAYERS, StyleOptions
from ..transfer import ImageInput, as_image
from ..vgg import VGG19, canonical_layer
from .plotting import Drawing, panel_figure
from .runner import OnStep, Panel, render_run, total_steps

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The paper's Figure 1 content layers.
FIGURE1_CONTENT_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")

#: Long side of one figure cell (Figures 1 and 3) by the kind of device that runs it: the
#: paper's panels are about 256 px, which a GPU draws in seconds; on a CPU 128 px keeps a
#: whole figure to about fifteen minutes.
CELL_SIZES = {"cpu": 128, "cuda": 256}


def cell_size(device: str = "auto") -> int:
    """The figures' default cell size on ``device`` (cpu, cuda, cuda:N or auto)."""
    return CELL_SIZES[resolve_device(device).type]


#: Figure settings that differ from a stylisation's defaults, and why:
#: - one scale: coarse-to-fine would hand every panel the large structures found at the
#:   coarse scale, hiding what the layers alone produce (the point of the figure);
#: - average pooling: the paper's choice for synthesis ("improves the gradient flow");
#: - 150 steps at the CPU's cell size: a whole figure in about fifteen minutes on one busy
#:   CPU core (:func:`figure_options` picks the size for the device in use).
FIGURE1_DEFAULTS = {
    "size": CELL_SIZES["cpu"], "scales": 1, "steps": 150, "pooling": "avg",
    "content_layers": FIGURE1_CONTENT_LAYERS,
}


def growing_subsets(layers: Sequence[str] = PAPER_STYLE_LAYERS) -> list[tuple[str, ...]]:
    """(conv1_1,), (conv1_1, conv2_1), … : the paper's style rows."""
    names = [canonical_layer(name) for name in layers]
    return [tuple(names[: i + 1]) for i in range(len(names))]


def subset_label(layers: Sequence[str]) -> str:
    """'conv1_1' or 'conv1_1 … conv3_1' for a row or column title."""
    return layers[0] if len(layers) == 1 else f"{layers[0]} … {layers[-1]}"


def figure_options(options: StyleOptions | None = None) -> StyleOptions:
    """``options`` as given, or the stylisation defaults with :data:`FIGURE1_DEFAULTS` and
    the cell size of the device they run on (:func:`cell_size`)."""
    if options is not None:
        return options
    defaults = StyleOptions(**FIGURE1_DEFAULTS)
    return defaults.replace(size=cell_size(defaults.device))


def content_reconstruction_options(options: StyleOptions, layer: str) -> StyleOptions:
    """From noise, only α·L_content at ``layer`` (β·L_style is switched off by no layers)."""
    return options.replace(
        content_layers=(canonical_layer(layer),), style_layers=(), style_layer_weights=None,
        init="noise", alpha=1.0, beta=1.0, color="none", style_blend=None,
    )


def style_synthesis_options(options: StyleOptions, layers: Sequence[str]) -> StyleOptions:
    """From noise, only Σ w_l E_l over ``layers`` with w_l = 1/|layers| (no content layer)."""
    return options.replace(
        content_layers=(), style_layers=tuple(canonical_layer(n) for n in layers),
        style_layer_weights=None, init="noise", alpha=1.0, beta=1.0, color="none",
        style_blend=None, style_scale=1.0,
    )


def psnr(image: Image.Image, reference: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB: 10·log10(255² / mean squared pixel error)."""
    a = to_tensor(image)
    b = to_tensor(reference.resize(image.size, Image.Resampling.LANCZOS))
    mse = float((a - b).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


#: RGB → YIQ (NTSC): Y is luminance, I and Q the two chroma axes (orange–blue, purple–green).
YIQ = torch.tensor([[0.299, 0.587, 0.114],
                    [0.596, -0.274, -0.322],
                    [0.211, -0.523, 0.312]])


@dataclass(frozen=True)
class HighFrequency:
    """Mean |∇²| of an image's luminance and of its chroma (in pixel levels per pixel), or
    the ratio of two images' values (see :func:`high_frequency_ratio`)."""

    luminance: float
    chroma: float


def high_frequency(image: Image.Image) -> HighFrequency:
    """High-frequency energy: the mean absolute 4-neighbour Laplacian
    ∇²x_ij = x_i−1,j + x_i+1,j + x_i,j−1 + x_i,j+1 − 4·x_ij over the interior pixels, of
    Y (luminance) and of I and Q together (chroma), 0–255 scale.

    Pixel noise raises it and smooth shading does not: a reconstruction covered in magenta
    and green speckle has several times the photo's chroma value.
    """
    yiq = torch.einsum("cd,dhw->chw", YIQ, to_tensor(image)[0])  # (3, H, W)
    laplacian = (yiq[:, :-2, 1:-1] + yiq[:, 2:, 1:-1] + yiq[:, 1:-1, :-2] + yiq[:, 1:-1, 2:]
                 - 4 * yiq[:, 1:-1, 1:-1]).abs()  # (3, H − 2, W − 2)
    return HighFrequency(float(laplacian[0].mean()), float(laplacian[1:].mean()))


def high_frequency_ratio(image: Image.Image, reference: Image.Image) -> HighFrequency:
    """:func:`high_frequency` of ``image`` over that of ``reference`` resized to its size:
    1 is as much fine detail as the photo, 4 is four times as much."""
    mine = high_frequency(image)
    theirs = high_frequency(reference.resize(image.size, Image.Resampling.LANCZOS))
    return HighFrequency(mine.luminance / theirs.luminance, mine.chroma / theirs.chroma)


def reconstruct_content(
    content: ImageInput, layer: str, options: StyleOptions | None = None, *,
    on_step: OnStep | None = None, net: VGG19 | None = None,
) -> Panel:
    """An image whose ``layer`` response matches ``content``'s, found from white noise."""
    settings = content_reconstruction_options(figure_options(options), layer)
    image = as_image(content)
    panel = render_run(layer, image, image, settings, on_step=on_step, net=net)
    target = resize_long_side(image, settings.size)
    panel.note = f"PSNR {psnr(panel.image, target):.1f} dB"
    return panel


def synthesise_style(
    style: ImageInput, layers: Sequence[str], options: StyleOptions | None = None, *,
    on_step: OnStep | None = None, net: VGG19 | None = None,
) -> Panel:
    """A texture whose Gram matrices on ``layers`` match ``style``'s, found from white noise.

    The style image is also passed as the engine's content image: it only sets the canvas
    shape (no content layer is used).
    """
    settings = style_synthesis_options(figure_options(options), layers)
    image = as_image(style)
    label = subset_label(settings.style_layers)
    return render_run(label, image, image, settings, on_step=on_step, net=net)


@dataclass
class Figure1(Drawing):
    """The reconstructions of the paper's Figure 1 and how to draw them."""

    content: Image.Image
    style: Image.Image
    options: StyleOptions
    content_panels: list[Panel] = field(default_factory=list)
    style_panels: list[Panel] = field(default_factory=list)

    def figure(self) -> Figure:
        size = self.options.size
        content_row = [(resize_long_side(self.content, size), "content image", "")]
        content_row += [(p.image, p.label, p.note) for p in self.content_panels]
        style_row = [(resize_long_side(self.style, size), "style image", "")]
        style_row += [(p.image, ("+ " if i else "") + p.options.style_layers[-1], "")
                      for i, p in enumerate(self.style_panels)]
        pooling = "average" if self.options.pooling == "avg" else "max"
        return panel_figure(
            [content_row, style_row],
            row_labels=["content reconstructions", "style reconstructions"],
            title="What each VGG-19 layer keeps (Gatys et al., Fig. 1)",
            footer=(
                f"All from white noise, {self.options.steps} L-BFGS steps at "
                f"{size} px, {pooling} pooling. Top: match one layer's responses; PSNR "
                "against the photo. Bottom: match Gram matrices of conv1_1 and each layer "
                "added to its left (w_l = 1/number of layers)."
            ),
        )


def figure1_steps(options: StyleOptions | None = None) -> int:
    """Total optimiser steps of :func:`figure1`: the length of its progress bar."""
    settings = figure_options(options)
    return total_steps(settings) * (len(settings.content_layers) + len(settings.style_layers))


def figure1(
    content: ImageInput, style: ImageInput, options: StyleOptions | None = None, *,
    on_step: OnStep | None = None, net: VGG19 | None = None,
) -> Figure1:
    """Reconstruct ``content`` from each of ``options.content_layers`` alone and synthesise
    ``style`` from each growing subset of ``options.style_layers``.

    Default options: :data:`FIGURE1_DEFAULTS` (the paper's five content layers and five
    style layers).
    """
    settings = figure_options(options)
    result = Figure1(as_image(content), as_image(style), settings)
    for layer in settings.content_layers:
        result.content_panels.append(
            reconstruct_content(result.content, layer, settings, on_step=on_step, net=net))
    for layers in growing_subsets(settings.style_layers):
        result.style_panels.append(
            synthesise_style(result.style, layers, settings, on_step=on_step, net=net))
    return result
