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
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import torch
import torch.nn.functional as F
from PIL import Image

from ..deprecation import renamed_function
from ..device import resolve_device
from ..image import resize_long_side, rgb_to_yiq, to_pil, to_tensor
from ..options import PAPER_STYLE_LAYERS, StyleOptions
from ..transfer import ImageInput, as_image
from ..vgg import VGG19, canonical_layer
from .plotting import Drawing, panel_figure
from .runner import OnStep, Panel, ViewSettings, render_run, total_steps

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


def growing_subsets(layers: Sequence[str] = PAPER_STYLE_LAYERS) -> list[tuple[str, ...]]:
    """(conv1_1,), (conv1_1, conv2_1), … : the paper's style rows."""
    names = [canonical_layer(name) for name in layers]
    return [tuple(names[: i + 1]) for i in range(len(names))]


def subset_label(layers: Sequence[str]) -> str:
    """'conv1_1' or 'conv1_1 … conv3_1' for a row or column title."""
    return layers[0] if len(layers) == 1 else f"{layers[0]} … {layers[-1]}"


@dataclass(frozen=True)
class Figure1Settings(ViewSettings):
    """Figure 1's settings that differ from a stylisation's defaults, and why:

    - one scale: coarse-to-fine would hand every panel the large structures found at the
      coarse scale, hiding what the layers alone produce (the point of the figure);
    - average pooling: the paper's choice for synthesis ("improves the gradient flow");
    - 150 steps at the CPU's cell size: a whole figure in about fifteen minutes on one busy
      CPU core (:meth:`options` picks the size for the device in use);
    - ``prior``: the content reconstructions' prior, see :data:`PRIOR_TV_WEIGHT`.
    """

    OWN: ClassVar[tuple[str, ...]] = ("prior",)

    size: int = CELL_SIZES["cpu"]
    scales: int = 1
    steps: int = 150
    pooling: str = "avg"
    content_layers: tuple[str, ...] = FIGURE1_CONTENT_LAYERS
    prior: bool = True

    def options(self, options: StyleOptions | None = None) -> StyleOptions:
        """``options`` as given, or the stylisation defaults with these settings and the
        cell size of the device they run on (:func:`cell_size`)."""
        if options is not None:
            return options
        defaults = StyleOptions(**self.style_fields())
        return defaults.replace(size=cell_size(defaults.device))

    def step_count(self, options: StyleOptions | None = None) -> int:
        """Total optimiser steps of :func:`figure1`: the length of its progress bar."""
        settings = self.options(options)
        return total_steps(settings) * len(figure1_panels(settings))


FIGURE1_SETTINGS = Figure1Settings()
# The names the tests (and callers before the settings) use.
figure_options = FIGURE1_SETTINGS.options
figure1_steps = FIGURE1_SETTINGS.step_count


def figure1_panels(settings: StyleOptions) -> list[tuple[str, tuple[str, ...]]]:
    """The figure's runs in the order :func:`figure1` makes them: ("content", (layer,)) for
    each content layer, then ("style", subset) for each growing subset of the style layers."""
    return ([("content", (layer,)) for layer in settings.content_layers]
            + [("style", layers) for layers in growing_subsets(settings.style_layers)])


def content_reconstruction_options(options: StyleOptions, layer: str) -> StyleOptions:
    """From noise, only α·L_content at ``layer`` (β·L_style is switched off by no layers).

    With the paper's literal sum: the image prior's TV weight (:data:`PRIOR_TV_WEIGHT`) was
    measured against it, at the cell's own pixel count."""
    return options.replace(
        content_layers=(canonical_layer(layer),), style_layers=(), style_layer_weights=None,
        init="noise", alpha=1.0, beta=1.0, strength=1.0, color="none", style_blend=None,
        literal_sum=True,
    )


def style_synthesis_options(options: StyleOptions, layers: Sequence[str]) -> StyleOptions:
    """From noise, only Σ w_l E_l over ``layers`` with w_l = 1/|layers| (no content layer)."""
    return options.replace(
        content_layers=(), style_layers=tuple(canonical_layer(n) for n in layers),
        style_layer_weights=None, init="noise", alpha=1.0, beta=1.0, strength=1.0,
        color="none", style_blend=None, style_scale=1.0,
    )


def psnr(image: Image.Image, reference: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB: 10·log10(255² / mean squared pixel error)."""
    a = to_tensor(image)
    b = to_tensor(reference.resize(image.size, Image.Resampling.LANCZOS))
    mse = float((a - b).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


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
    # YIQ (NTSC): Y is luminance, I and Q the two chroma axes (orange–blue, purple–green).
    yiq = rgb_to_yiq(to_tensor(image))[0]  # (3, H, W)
    laplacian = (yiq[:, :-2, 1:-1] + yiq[:, 2:, 1:-1] + yiq[:, 1:-1, :-2] + yiq[:, 1:-1, 2:]
                 - 4 * yiq[:, 1:-1, 1:-1]).abs()  # (3, H − 2, W − 2)
    return HighFrequency(float(laplacian[0].mean()), float(laplacian[1:].mean()))


def high_frequency_ratio(image: Image.Image, reference: Image.Image) -> HighFrequency:
    """:func:`high_frequency` of ``image`` over that of ``reference`` resized to its size:
    1 is as much fine detail as the photo, 4 is four times as much."""
    mine = high_frequency(image)
    theirs = high_frequency(reference.resize(image.size, Image.Resampling.LANCZOS))
    return HighFrequency(mine.luminance / theirs.luminance, mine.chroma / theirs.chroma)


def measured_note(image: Image.Image, photo: Image.Image) -> str:
    """A content panel's note: PSNR and the high-frequency ratios against the photo."""
    ratio = high_frequency_ratio(image, photo)
    return (f"PSNR {psnr(image, photo):.1f} dB\n"
            f"fine detail {ratio.luminance:.1f}× lum, {ratio.chroma:.1f}× chroma")


# ---- the reconstruction prior (not in the paper) ------------------------------------
# Departure from the paper, for Figure 1's content reconstructions only (the engine's
# defaults do not change): the paper's method leaves the white-noise start's finest grain
# wherever the layer is blind to it, so conv4_2 and conv5_2 panels come out covered in
# magenta and green speckle. Two priors together remove it: the start noise is low-passed
# (Gaussian, σ = SMOOTH_START_SIGMA px; the spread stays the white noise's 50 levels), and a
# small total-variation term (Mahendran & Vedaldi 2015) is added whose colour differences
# weigh PRIOR_TV_CHROMA times its brightness differences (natural photographs change colour
# far less often than brightness; ``losses.total_variation``). Measured at conv4_2, 128 px,
# 150 L-BFGS steps on tubingen (fine-detail ratio to the photo: luminance, chroma; PSNR;
# seconds on a shared CPU core):
#   paper (white noise)            4.8×  22×   11.3 dB  170 s
#   TV 1e-5 / 1e-4 alone           1.8×  5.0×  13.5 dB / 0.66× 0.84× 15.0 dB (blurred)
#   300 steps instead of 150       4.4×  22×   12.6 dB  180 s
#   jitter ±2 px, 10 × 15 steps    4.7×  22×   11.2 dB  (no help in 150 steps)
#   chroma blur between 10 rounds  4.8×  0.3×  12.4 dB  (luminance noise stays)
#   low-passed start σ 4 px        2.0×  1.5×  12.0 dB
#   σ 4 px + TV 1e-5               1.6×  1.4×  12.6 dB
#   σ 4 px + TV 3e-5               1.3×  1.2×  12.7 dB   64 s
#   σ 4 px + TV 5e-5, chroma × 60  1.2×  0.2×  12.7 dB   31 s  (chosen)
#   σ 4 px + TV 1e-4, chroma × 30  0.9×  0.2×  12.9 dB        (below the photo's detail)
# The Laplacian is too fine to see what was left with TV 3e-5 alone: magenta and green
# blotches on the layer's 8-px grid. Their energy in the 2–8 px band (difference of
# Gaussians, σ 1 and 4 px, in YIQ chroma) was 3.0× the photo's; weighing colour 60× brings
# it to 1.1×, and the luminance band from 1.3× to 1.2×. The chosen prior keeps the photo's
# own fine detail (ratio above 1) where a stronger TV blurs below it and would credit the
# layer with a smoothness the prior supplied.
SMOOTH_START_SIGMA = 4.0
PRIOR_TV_WEIGHT = 5e-5
PRIOR_TV_CHROMA = 60.0


def smooth_noise(width: int, height: int, sigma: float, seed: int) -> Image.Image:
    """White noise around mid-grey, blurred by a Gaussian of ``sigma`` px and rescaled to
    the engine's spread (50 levels per channel): the start of a reconstruction with the
    prior. Seeded on the CPU, so every device starts from the same picture."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((1, 3, height, width), generator=generator)
    radius = max(1, math.ceil(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).expand(3, 1, -1)  # (3, 1, 2r + 1): one per channel
    noise = F.conv2d(F.pad(noise, (radius, radius, 0, 0), mode="reflect"),
                     kernel.unsqueeze(2), groups=3)  # along rows
    noise = F.conv2d(F.pad(noise, (0, 0, radius, radius), mode="reflect"),
                     kernel.unsqueeze(3), groups=3)  # along columns
    noise = noise / noise.std(dim=(2, 3), keepdim=True)
    return to_pil(noise * 50 + 128)


def with_prior(settings: StyleOptions, canvas: tuple[int, int], folder: Path) -> StyleOptions:
    """``settings`` starting from :func:`smooth_noise` (written into ``folder``, as the
    engine reads a start image from a file) with the TV weight :data:`PRIOR_TV_WEIGHT`
    and colour weight :data:`PRIOR_TV_CHROMA`, each unless ``settings`` gives its own (a
    TV weight above zero, a colour weight other than 1)."""
    start = folder / "smooth_noise.png"
    smooth_noise(*canvas, SMOOTH_START_SIGMA, settings.seed).save(start)
    return settings.replace(
        init=str(start), tv_weight=settings.tv_weight or PRIOR_TV_WEIGHT,
        tv_chroma=PRIOR_TV_CHROMA if settings.tv_chroma == 1 else settings.tv_chroma)


def reconstruct_content(
    content: ImageInput, layer: str, options: StyleOptions | None = None, *,
    prior: bool = FIGURE1_SETTINGS.prior, on_step: OnStep | None = None,
    net: VGG19 | None = None,
) -> Panel:
    """An image whose ``layer`` response matches ``content``'s, found from noise.

    With ``prior`` (the figure's default; not in the paper) the noise is low-passed and a
    small TV term added, see :data:`PRIOR_TV_WEIGHT`; without it, the paper's plain
    reconstruction from white noise.
    """
    settings = content_reconstruction_options(FIGURE1_SETTINGS.options(options), layer)
    image = as_image(content)
    target = resize_long_side(image, settings.size)
    with tempfile.TemporaryDirectory() as folder:
        if prior:
            settings = with_prior(settings, target.size, Path(folder))
        panel = render_run(layer, image, image, settings, on_step=on_step, net=net)
    panel.note = measured_note(panel.image, target)
    return panel


def synthesize_style(
    style: ImageInput, layers: Sequence[str], options: StyleOptions | None = None, *,
    on_step: OnStep | None = None, net: VGG19 | None = None,
) -> Panel:
    """A texture whose Gram matrices on ``layers`` match ``style``'s, found from white noise.

    The style image is also passed as the engine's content image: it only sets the canvas
    shape (no content layer is used).
    """
    settings = style_synthesis_options(FIGURE1_SETTINGS.options(options), layers)
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
    prior: bool = True  # the content reconstructions' prior (see PRIOR_TV_WEIGHT)

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
                f"{self.options.steps} L-BFGS steps at {size} px, {pooling} pooling. Top: "
                f"match one layer's responses from {self.content_start()}; PSNR and fine "
                "detail (mean |Laplacian|) against the photo's. Bottom: from white noise, "
                "match Gram matrices of conv1_1 and each layer added to its left "
                "(w_l = 1/number of layers)."
            ),
        )


    def content_start(self) -> str:
        if not self.prior:
            return "white noise as in the paper, no prior"
        first = self.content_panels[0].options if self.content_panels else None
        tv = first.tv_weight if first else PRIOR_TV_WEIGHT
        chroma = first.tv_chroma if first else PRIOR_TV_CHROMA
        colour = f", colour differences × {chroma:g}" if chroma != 1 else ""
        return (f"noise low-passed by a {SMOOTH_START_SIGMA:g}-px Gaussian with TV weight "
                f"{tv:g}{colour} (a prior not in the paper, against the pixel noise a "
                "white-noise start leaves; --no-prior shows that)")


def figure1(
    content: ImageInput, style: ImageInput, options: StyleOptions | None = None, *,
    prior: bool = FIGURE1_SETTINGS.prior, on_step: OnStep | None = None,
    net: VGG19 | None = None,
) -> Figure1:
    """Reconstruct ``content`` from each of ``options.content_layers`` alone and synthesise
    ``style`` from each growing subset of ``options.style_layers``.

    Default options: :data:`FIGURE1_SETTINGS` (the paper's five content layers and five
    style layers). ``prior`` (default on, not in the paper) smooths the content
    reconstructions, see :func:`reconstruct_content`; the style syntheses never use it.
    """
    settings = FIGURE1_SETTINGS.options(options)
    result = Figure1(as_image(content), as_image(style), settings, prior=prior)
    for kind, layers in figure1_panels(settings):
        if kind == "content":
            result.content_panels.append(reconstruct_content(
                result.content, layers[0], settings, prior=prior, on_step=on_step, net=net))
        else:
            result.style_panels.append(
                synthesize_style(result.style, layers, settings, on_step=on_step, net=net))
    return result


#: The name before the American spelling (issue 22): deprecated, warning when called.
synthesise_style = renamed_function(synthesize_style, "synthesise_style")
