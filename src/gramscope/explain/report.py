"""One self-contained HTML page that explains a style transfer.

Every picture is embedded as a ``data:`` URI, the styling is inline and nothing is fetched,
so the page opens offline and can be mailed as one file; the same PNGs (and the loss
history as CSV/JSON) are also written beside it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ..device import network_for
from ..errors import GramscopeError, OptionsError
from ..image import atomic_write_bytes, resize_long_side, save_image
from ..options import StyleOptions
from ..transfer import ImageInput, as_image
from ..vgg import VGG19, canonical_layer
from .anatomy import LossAnatomy
from .compare import EXPLANATION, compare_representations, comparison_steps
from .features import NORMALISE_HELP, feature_grid
from .figure1 import figure1, figure1_steps, figure_options
from .figure3 import figure3, figure3_options, figure3_steps
from .grams import gram_views
from .runner import OnStep, render_run, total_steps

#: What the report shows feature maps of: an edge layer, a texture layer, the content layer.
DEFAULT_FEATURE_LAYERS = ("conv1_1", "conv3_1", "conv4_2")
#: 256 channels: enough structure to see blocks, small enough to read.
DEFAULT_GRAM_LAYER = "conv3_1"
FIGURES = (1, 3)


@dataclass
class Section:
    """A heading, pictures (PNG bytes, file name, alt text) and a caption."""

    title: str
    caption: str
    pictures: list[tuple[bytes, str, str]] = field(default_factory=list)
    extra_html: str = ""  # already escaped
    side_by_side: bool = False  # small pictures in one row; figures get the full width


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


STYLE_SHEET = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
figure { margin: 1em 0; } img { max-width: 100%; height: auto; border: 1px solid #eee; }
.row { display: flex; flex-wrap: wrap; gap: 1em; } .row figure { flex: 1 1 300px; }
.row img { width: 100%; image-rendering: auto; }
figcaption, .caption { font-size: 0.92em; color: #444; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ddd;
       padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def render_html(title: str, sections: Sequence[Section], parameters: dict) -> str:
    """The page: each section's pictures inline, then the parameters used."""
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>", f"<style>{STYLE_SHEET}</style>", "</head>",
        "<body>", f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        if section.side_by_side:
            parts.append('<div class="row">')
        for png, name, alt in section.pictures:
            parts.append(
                f'<figure><a href="{html.escape(name)}"><img src="{data_uri(png)}" '
                f'alt="{html.escape(alt)}"></a><figcaption>{html.escape(alt)}</figcaption>'
                "</figure>")
        if section.side_by_side:
            parts.append("</div>")
        parts.append(f'<p class="caption">{html.escape(section.caption)}</p>')
        parts.append(section.extra_html)
        parts.append("</section>")
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td><code>{html.escape(json.dumps(v))}</code>"
        "</td></tr>" for k, v in parameters.items())
    parts += ["<section><h2>Parameters</h2>", f"<table>{rows}</table></section>",
              "</body>", "</html>"]
    return "\n".join(parts)


def report_steps(
    options: StyleOptions, *, compare: bool = True, figures: Sequence[int] = (),
    figure1_settings: StyleOptions | None = None, figure3_settings: StyleOptions | None = None,
) -> int:
    """Optimiser steps :func:`write_report` will take: the length of its progress bar."""
    steps = comparison_steps(options) if compare else total_steps(options)
    if 1 in figures:
        steps += figure1_steps(figure1_settings)
    if 3 in figures:
        steps += figure3_steps(figure3_settings)
    return steps


def prepare_folder(folder: str | Path, overwrite: bool) -> Path:
    """Create the report folder (its parent must exist); refuse to replace a report."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise GramscopeError(f"{folder} exists and is not a folder; give a folder for the report")
    if not folder.parent.is_dir():
        raise GramscopeError(f"cannot create {folder}: folder {folder.parent} does not exist")
    if (folder / "index.html").exists() and not overwrite:
        raise GramscopeError(f"{folder} already holds a report; pass --overwrite to replace it")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise GramscopeError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return folder


def write_report(
    content: ImageInput, style: ImageInput, folder: str | Path,
    options: StyleOptions | None = None, *, compare: bool = True, figures: Sequence[int] = (),
    figure1_settings: StyleOptions | None = None, figure3_settings: StyleOptions | None = None,
    feature_layers: Sequence[str] = DEFAULT_FEATURE_LAYERS,
    gram_layer: str = DEFAULT_GRAM_LAYER, overwrite: bool = False,
    on_step: OnStep | None = None, net: VGG19 | None = None,
) -> Path:
    """Stylise, look inside, and write ``folder/index.html`` with PNGs beside it.

    ``figures`` may include 1 and 3 (the paper's Figures 1 and 3; minutes each).
    """
    from ..api import run_metadata

    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        raise OptionsError(f"unknown figure {unknown[0]}; the report can add figures 1 and 3")
    # Check every name before minutes of optimisation, not after.
    feature_layers = [canonical_layer(name) for name in feature_layers]
    gram_layer = canonical_layer(gram_layer)
    settings = options or StyleOptions()
    folder = prepare_folder(folder, overwrite)
    content_image, style_image = as_image(content), as_image(style)
    net = net or network_for(settings)
    started = time.perf_counter()
    sections: list[Section] = []

    def write(png: bytes, name: str) -> bytes:
        atomic_write_bytes(folder / name, png)
        return png

    # 1. The result: one run of the engine; its history drives the loss anatomy.
    result = render_run("result", content_image, style_image, settings, on_step=on_step, net=net)
    metadata = run_metadata(settings, content, style, result.history, result.seconds, False)
    save_image(result.image, folder / "result.png", metadata)
    size = settings.size
    sections.append(Section(
        "The result",
        f"{content_image.width}×{content_image.height} content, painted after the style image "
        f"at {result.image.width}×{result.image.height} px: α/β = "
        f"{settings.alpha / settings.beta:.1e}, content layers "
        f"{', '.join(settings.content_layers) or 'none'}, style layers "
        f"{', '.join(settings.style_layers) or 'none'}, {result.history[-1].step} steps in "
        f"{result.seconds:.0f} s.",
        [(write(png_bytes(resize_long_side(content_image, size)), "content.png"),
          "content.png", "content image"),
         (write(png_bytes(resize_long_side(style_image, size)), "style.png"), "style.png",
          "style image"),
         (png_bytes(result.image), "result.png", "result")],
        side_by_side=True,
    ))

    # 2. What the layers respond to.
    grids = [feature_grid(content_image, layer, size=size, options=settings, net=net)
             for layer in feature_layers]
    sections.append(Section(
        "Feature maps: what each layer responds to",
        "The 16 channels of each layer with the largest mean activation on the content image "
        f"(normalised per channel: {NORMALISE_HELP['channel']}). Early layers answer to edges "
        "and colours at each pixel; deeper ones to larger, more specific patterns at coarser "
        "resolution. The network is normalised the paper's way, so a mean of 1 is typical.",
        [(write(g.png(), f"features_{g.layer}.png"), f"features_{g.layer}.png",
          f"feature maps at {g.layer}") for g in grids],
    ))

    # 3. What a Gram matrix records.
    views = gram_views(style_image, result.image, gram_layer, size=size, options=settings,
                       net=net)
    worst = ", ".join(f"#{c} ({100 * s:.0f} %)" for c, s in views.mismatched()[:5])
    sections.append(Section(
        f"Gram matrices at {views.layer}",
        "Entry (i, j) says how strongly channels i and j fire together anywhere in the image "
        "(divided by the number of positions). Where they fire is gone: that is why matching "
        "Gram matrices copies texture, not layout. Channels are ordered by clustering the "
        "style image's Gram, so groups that fire together form blocks. The difference panel "
        f"shows what the optimisation did not match; the most mismatched channels are {worst} "
        "of this layer's error.",
        [(write(views.png(), f"gram_{views.layer}.png"), f"gram_{views.layer}.png",
          f"Gram matrices at {views.layer}")],
    ))

    # 4. How the loss terms moved.
    anatomy = LossAnatomy.from_records(result.history)
    anatomy.save(folder)
    sections.append(Section(
        "Loss anatomy",
        "α·L_content and each style layer's β·w_l·E_l over the run, on a log scale: each curve "
        "is a part of the total the optimiser minimises, so the highest one is what it is "
        f"working on. Largest term: {anatomy.summary()}.",
        [(anatomy.png(), "loss_anatomy.png", "loss terms over steps")],
        '<p class="caption">Data: <a href="loss_anatomy.csv">loss_anatomy.csv</a>, '
        '<a href="loss_anatomy.json">loss_anatomy.json</a>.</p>',
    ))

    # 5. Gram against mean/std (reuses the result when it was made with Gram matrices).
    if compare:
        done = {settings.style_representation: result}
        comparison = compare_representations(content_image, style_image, settings,
                                             on_step=on_step, net=net, done=done)
        sections.append(Section(
            "Why Gram matrices?", EXPLANATION,
            [(write(comparison.png(), "compare.png"), "compare.png",
              "Gram matrices against channel mean and std")],
        ))

    # 6. The paper's figures, when asked for (each takes minutes).
    if 1 in figures:
        fig1 = figure1(content_image, style_image, figure_options(figure1_settings),
                       on_step=on_step)
        sections.append(Section(
            "What each layer keeps (the paper's Figure 1)",
            "Top: images found from white noise whose response at one layer matches the photo's. "
            "conv1_2 keeps almost every pixel; by conv5_2 the layout survives but detail and "
            "colour are gone. Bottom: textures found from noise whose Gram matrices match the "
            "style image's on conv1_1 and each layer added to its left; with each layer the "
            "matched structures grow in scale and complexity.",
            [(write(fig1.png(), "figure1.png"), "figure1.png", "Figure 1 reproduction")],
        ))
    if 3 in figures:
        fig3 = figure3(content_image, style_image, figure3_options(figure3_settings),
                       on_step=on_step)
        sections.append(Section(
            "Content against style (the paper's Figure 3)",
            "Rows: the style matched on more and more layers; columns: α/β over four decades, "
            "from almost pure texture (left) to almost the photo (right). The values are those "
            "used here; because L_content sums over pixels while E_l is normalised by size, "
            "the paper's α/β for the same look is shown in brackets.",
            [(write(fig3.png(), "figure3.png"), "figure3.png", "Figure 3 reproduction")],
        ))

    parameters = {**settings.to_dict(), "weights source": metadata["weights"],
                  "seconds": round(time.perf_counter() - started, 1),
                  "gramscope": metadata["gramscope"]}
    page = render_html("gramscope: inside a style transfer", sections, parameters)
    index = folder / "index.html"
    atomic_write_bytes(index, page.encode("utf-8"))
    return index
