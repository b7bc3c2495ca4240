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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from ..deprecation import old_keywords
from ..device import network_for
from ..errors import GramscopeError, OptionsError
from ..image import atomic_write_bytes, resize_long_side, save_image
from ..masks import MaskInput, Masks, prepare_masks
from ..options import StyleOptions, describe_balance
from ..transfer import ImageInput, StepRecord, as_image
from ..vgg import VGG19, canonical_layer
from .anatomy import LossAnatomy
from .compare import COMPARISON_SETTINGS, EXPLANATION, compare_representations
from .features import NORMALISE_HELP, feature_grid
from .figure1 import FIGURE1_SETTINGS, Figure1, Figure1Settings, figure1
from .figure3 import FIGURE3_SETTINGS, Figure3, Figure3Settings, figure3
from .grams import gram_views
from .layers import LAYERS_SETTINGS, ROW_LABELS, layer_paintings
from .optimisers import EXPLANATION as OPTIMISERS_EXPLANATION
from .optimisers import OPTIMISER_SETTINGS, compare_optimizers, run_options
from .pulls import EXPLANATION as PULLS_EXPLANATION
from .pulls import default_steps, image_every, pull_maps
from .runner import OnStep, Panel, render_run, total_steps
from .shuffle import SEAMS_NOTE, shuffle_painting

#: What the report shows feature maps of: an edge layer, a texture layer, the content layer.
DEFAULT_FEATURE_LAYERS = ("conv1_1", "conv3_1", "conv4_2")
#: 256 channels: enough structure to see blocks, small enough to read.
DEFAULT_GRAM_LAYER = "conv3_1"


@dataclass(frozen=True)
class PaperFigure:
    """How the report makes one of the paper's figures, and what it says about it."""

    make: Callable[..., Figure1 | Figure3]
    settings: Figure1Settings | Figure3Settings  # its defaults and its step count
    title: str
    caption: str


PAPER_FIGURES = {
    1: PaperFigure(
        figure1, FIGURE1_SETTINGS, "What each layer keeps (the paper's Figure 1)",
        "Top: images found from noise whose response at one layer matches the photo's. "
        "conv1_2 keeps almost every pixel; by conv5_2 the layout survives but detail and "
        "colour are gone. Not in the paper: these start from noise low-passed by a 4-px "
        "Gaussian with a small total-variation prior (weight 5e-5, colour differences 60× "
        "brightness differences), because plain white noise leaves pixel speckle and "
        "coloured blotches where a deep layer cannot see it. Measured on tubingen at 128 px, "
        "150 steps: conv4_2's fine detail (mean |Laplacian|) is 1.2× the photo's in "
        "luminance and 0.2× in chroma, PSNR 12.7 dB, against 4.8×, 22× and 11.3 dB from "
        "white noise (gramscope explain figure1 --no-prior). Bottom: textures found from "
        "white noise whose Gram matrices match the style image's on conv1_1 and each layer "
        "added to its left; with each layer the matched structures grow in scale and "
        "complexity."),
    3: PaperFigure(
        figure3, FIGURE3_SETTINGS, "Content against style (the paper's Figure 3)",
        "Rows: the style matched on more and more layers; columns: the style strength "
        "(the content weight used is α/strength), from more of the photo (left) to more of "
        "the painting (right), each labelled with the α/β it puts in use, by default a "
        "reference-size result's balance at every size. With the paper's exact formulas "
        "L_content sums over pixels while E_l is normalised by size, so the paper's α/β "
        "for the same look is shown in brackets."),
}


#: Teaching views the report can add (``views=``), each also a ``gramscope explain`` view.
EXTRA_VIEWS = ("layers", "shuffle")
#: Sections that take the result as one of their own, unmasked runs: with masks they would
#: compare a masked picture with unmasked ones (and mean/std cannot be masked at all).
UNMASKED_SECTIONS = {"compare": "the mean/std comparison", "optimizers": "the optimisers",
                     "pulls": "the pulls"}


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
    views: Sequence[str] = (), layers_settings: StyleOptions | None = None,
    optimizers: bool = False,
) -> int:
    """Optimiser steps :func:`write_report` will take: the length of its progress bar."""
    steps = COMPARISON_SETTINGS.step_count(options) if compare else total_steps(options)
    if optimizers:
        steps += OPTIMISER_SETTINGS.step_count(options)
        if reuses_result(options):
            steps -= total_steps(options)
    for number, own in ((1, figure1_settings), (3, figure3_settings)):
        if number in figures:
            steps += PAPER_FIGURES[number].settings.step_count(own)
    if "layers" in views:
        steps += LAYERS_SETTINGS.step_count(layers_settings)  # the shuffle only runs forward
    return steps


def reuses_result(options: StyleOptions) -> bool:
    """Whether the optimiser comparison can take the report's result as one of its runs."""
    run = run_options(options, options.optimizer, {})
    return run.step_size == options.step_size


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


@dataclass
class ReportInputs:
    """What every section of one report reads, and the folder its files go to."""

    folder: Path
    content: Image.Image
    style: Image.Image
    options: StyleOptions
    net: VGG19
    on_step: OnStep | None
    styles: tuple[Image.Image, ...] = ()  # every style image; ``style`` is the first
    masks: Masks | None = None  # one per style image, at the content's size

    def picture(self, png: bytes, name: str, alt: str) -> tuple[bytes, str, str]:
        """Write ``png`` beside the page as ``name``; a picture for a :class:`Section`."""
        atomic_write_bytes(self.folder / name, png)
        return png, name, alt


def write_report(
    content: ImageInput, style: ImageInput | Sequence[ImageInput], folder: str | Path,
    options: StyleOptions | None = None, *, compare: bool = True, figures: Sequence[int] = (),
    figure1_settings: StyleOptions | None = None, figure3_settings: StyleOptions | None = None,
    feature_layers: Sequence[str] = DEFAULT_FEATURE_LAYERS,
    gram_layer: str = DEFAULT_GRAM_LAYER, overwrite: bool = False,
    views: Sequence[str] = (), layers_settings: StyleOptions | None = None,
    on_step: OnStep | None = None, net: VGG19 | None = None, optimizers: bool = False,
    pulls: bool = False, masks: Sequence[MaskInput] | Masks | None = None,
    **deprecated: Any,
) -> Path:
    """Stylise, look inside, and write ``folder/index.html`` with PNGs beside it.

    ``figures`` may include 1 and 3 (the paper's Figures 1 and 3; minutes each); ``views``
    may include 'layers' (what each layer paints; minutes) and 'shuffle' (seconds).
    ``optimizers`` adds gd and Adam runs beside the result (two more runs); ``pulls`` maps
    where each loss term pulls at the start, middle and end of the result's own run.
    ``masks`` (one greyscale mask per style image; ``style`` may then be several) makes the
    result a masked run and adds each region's guided Gram matrices; it excludes
    ``compare``, ``optimizers`` and ``pulls``, whose own runs are unmasked.
    ``optimisers=``, the old spelling, still works (deprecated).
    """
    if deprecated:
        optimizers = old_keywords(deprecated, {"optimisers": "optimizers"},
                                  "write_report")["optimizers"]
    check_request(figures, views, masks is not None,
                  {"compare": compare, "optimizers": optimizers, "pulls": pulls})
    # Check every name before minutes of optimisation, not after.
    feature_layers = [canonical_layer(name) for name in feature_layers]
    gram_layer = canonical_layer(gram_layer)
    settings = options or StyleOptions()
    inputs = report_inputs(prepare_folder(folder, overwrite), content, style, masks, settings,
                           net or network_for(settings), on_step)
    started = time.perf_counter()
    result, metadata = run_result(inputs, content, style, pulls)
    sections = [result_section(inputs, result), features_section(inputs, feature_layers),
                gram_section(inputs, result.image, gram_layer),
                *region_sections(inputs, result.image, gram_layer),
                anatomy_section(inputs, result.history)]
    if compare:
        sections.append(comparison_section(inputs, result))
    if optimizers:
        sections.append(optimisers_section(inputs, result))
    if pulls:
        sections.append(pulls_section(inputs, result))
    sections += extra_sections(inputs, figures, {1: figure1_settings, 3: figure3_settings},
                               views, layers_settings)
    page = render_html("gramscope: inside a style transfer", sections,
                       report_parameters(settings, metadata, time.perf_counter() - started))
    index = inputs.folder / "index.html"
    atomic_write_bytes(index, page.encode("utf-8"))
    return index


def run_result(
    inputs: ReportInputs, content: ImageInput, style: ImageInput | Sequence[ImageInput],
    pulls: bool,
) -> tuple[Panel, dict]:
    """The report's one run of the engine, saved as result.png with its metadata; its
    picture and history feed every section. With ``pulls`` it keeps the pictures the pull
    maps need."""
    from ..api import run_metadata

    settings = inputs.options
    result = render_run("result", inputs.content, list(inputs.styles), settings,
                        on_step=inputs.on_step, net=inputs.net, masks=inputs.masks,
                        image_every=image_every(default_steps(settings)) if pulls else 0)
    metadata = run_metadata(settings, content, style, result.history, result.seconds, False,
                            masks=inputs.masks)
    save_image(result.image, inputs.folder / "result.png", metadata)
    return result, metadata


def extra_sections(
    inputs: ReportInputs, figures: Sequence[int],
    figure_settings: dict[int, StyleOptions | None], views: Sequence[str],
    layers_settings: StyleOptions | None,
) -> list[Section]:
    """The paper's figures and the teaching views asked for, each with its own settings."""
    sections = [figure_section(inputs, number, figure_settings[number])
                for number in PAPER_FIGURES if number in figures]
    if "layers" in views:
        sections.append(layers_section(inputs, layers_settings))
    if "shuffle" in views:
        sections.append(shuffle_section(inputs))
    return sections


def report_parameters(settings: StyleOptions, metadata: dict, seconds: float) -> dict:
    """The page's closing table: the options, the weights, the masks and the time taken."""
    return {**settings.to_dict(), "weights source": metadata["weights"],
            **({"masks": metadata["masks"]} if "masks" in metadata else {}),
            "seconds": round(seconds, 1), "gramscope": metadata["gramscope"]}


def check_request(
    figures: Sequence[int], views: Sequence[str], masked: bool, sections: dict[str, bool],
) -> None:
    """Refuse unknown figures and views, and sections that cannot show a masked run."""
    unknown = sorted(set(figures) - set(PAPER_FIGURES))
    if unknown:
        raise OptionsError(f"unknown figure {unknown[0]}; the report can add figures 1 and 3")
    unknown_views = sorted(set(views) - set(EXTRA_VIEWS))
    if unknown_views:
        raise OptionsError(f"unknown view {unknown_views[0]!r}; the report can add "
                           f"{' and '.join(EXTRA_VIEWS)}")
    clashing = [UNMASKED_SECTIONS[name] for name, wanted in sections.items() if wanted]
    if masked and clashing:
        raise OptionsError(f"{' and '.join(clashing)} run unmasked and cannot show a masked "
                           "result; leave them out (--no-compare) or the masks")


def report_inputs(
    folder: Path, content: ImageInput, style: ImageInput | Sequence[ImageInput],
    masks: Sequence[MaskInput] | Masks | None, options: StyleOptions, net: VGG19,
    on_step: OnStep | None,
) -> ReportInputs:
    """The pictures loaded and the masks checked (one per style image) before any run."""
    listed = [style] if isinstance(style, str | Path | Image.Image) else list(style)
    if masks is None and len(listed) != 1:
        raise OptionsError(f"{len(listed)} style images need masks, one per style image, to "
                           "say where each goes")
    photo, styles = as_image(content), tuple(as_image(s) for s in listed)
    prepared = masks if masks is None or isinstance(masks, Masks) else prepare_masks(
        masks, len(styles), photo.size)
    return ReportInputs(folder, photo, styles[0], options, net, on_step, styles, prepared)


def result_section(inputs: ReportInputs, result: Panel) -> Section:
    """The content, the style and the result side by side, with how it was made."""
    settings, size = inputs.options, inputs.options.size
    content, style = inputs.content, inputs.style
    return Section(
        "The result",
        f"{content.width}×{content.height} content, painted after the style image "
        f"at {result.image.width}×{result.image.height} px: {describe_balance(settings)}, "
        f"content layers {', '.join(settings.content_layers) or 'none'}, style layers "
        f"{', '.join(settings.style_layers) or 'none'}, {result.history[-1].step} steps in "
        f"{result.seconds:.0f} s.",
        [inputs.picture(png_bytes(resize_long_side(content, size)), "content.png",
                        "content image"),
         inputs.picture(png_bytes(resize_long_side(style, size)), "style.png", "style image"),
         (png_bytes(result.image), "result.png", "result")],  # saved with its metadata
        side_by_side=True,
    )


def features_section(inputs: ReportInputs, layers: Sequence[str]) -> Section:
    """What the layers respond to: the strongest channels of each layer on the content."""
    grids = [feature_grid(inputs.content, layer, size=inputs.options.size,
                          options=inputs.options, net=inputs.net) for layer in layers]
    typical = (" The network is normalised the paper's way, so a mean of 1 is typical."
               if inputs.options.normalization == "mean-activation" else "")
    return Section(
        "Feature maps: what each layer responds to",
        "The 16 channels of each layer with the largest mean activation on the content image "
        f"(normalised per channel: {NORMALISE_HELP['channel']}). Early layers answer to edges "
        "and colours at each pixel; deeper ones to larger, more specific patterns at coarser "
        f"resolution.{typical}",
        [inputs.picture(g.png(), f"features_{g.layer}.png", f"feature maps at {g.layer}")
         for g in grids],
    )


def gram_section(inputs: ReportInputs, result: Image.Image, layer: str) -> Section:
    """What a Gram matrix records: the style's, the result's and their difference."""
    views = gram_views(inputs.style, result, layer, size=inputs.options.size,
                       options=inputs.options, net=inputs.net)
    worst = ", ".join(f"#{c} ({100 * s:.0f} %)" for c, s in views.mismatched()[:5])
    return Section(
        f"Gram matrices at {views.layer}",
        "Entry (i, j) says how strongly channels i and j fire together anywhere in the image "
        "(divided by the number of positions). Where they fire is gone: that is why matching "
        "Gram matrices copies texture, not layout. Channels are ordered by clustering the "
        "style image's Gram, so groups that fire together form blocks. The difference panel "
        f"shows what the optimisation did not match; the most mismatched channels are {worst} "
        "of this layer's error.",
        [inputs.picture(views.png(), f"gram_{views.layer}.png",
                        f"Gram matrices at {views.layer}")],
    )


def region_sections(inputs: ReportInputs, result: Image.Image, layer: str) -> list[Section]:
    """Per region of a masked run: its painting's Gram (the target) against the result's
    Gram guided by the region's mask, and their difference; none without masks."""
    if inputs.masks is None:
        return []
    sections = []
    for number, (style, mask, described) in enumerate(zip(
            inputs.styles, inputs.masks.images, inputs.masks.described, strict=True), 1):
        views = gram_views(style, result, layer, size=inputs.options.size,
                           options=inputs.options, net=inputs.net, guide=mask,
                           region=f"region {number}")
        mask_file = f"region{number}_mask.png"
        inputs.picture(png_bytes(mask), mask_file, f"mask of region {number}")
        sections.append(Section(
            f"Region {number}: guided Gram matrices at {views.layer}",
            f"Where mask {described['mask']} is white, this region's painting is the target. "
            "The result's side is its guided Gram matrix G_r = (F∘T_r)(F∘T_r)ᵀ / Σ T_r² "
            "(Gatys et al. 2017, §4): the features weighted by the mask T_r carried to this "
            "layer, so only what fires together inside the region counts. The engine drives "
            "G_r towards the whole painting's A/M; the difference is what it did not match "
            f"there (E_l = {views.style_error:.3g} before the region's area share).",
            [inputs.picture(views.png(), f"gram_{views.layer}_region{number}.png",
                            f"region {number}: the painting's Gram against the result's "
                            f"guided Gram at {views.layer}")],
            f'<p class="caption">The mask: <a href="{mask_file}">{mask_file}</a>.</p>',
        ))
    return sections


def anatomy_section(inputs: ReportInputs, history: Sequence[StepRecord]) -> Section:
    """How the loss terms moved over the run (curves, CSV and JSON beside the page)."""
    anatomy = LossAnatomy.from_records(history)
    anatomy.save(inputs.folder)
    return Section(
        "Loss anatomy",
        "α·L_content and each style layer's β·w_l·E_l over the run, on a log scale: each curve "
        "is a part of the total the optimiser minimises, so the highest one is what it is "
        f"working on. Largest term: {anatomy.summary()}.",
        [(anatomy.png(), "loss_anatomy.png", "loss terms over steps")],
        '<p class="caption">Data: <a href="loss_anatomy.csv">loss_anatomy.csv</a>, '
        '<a href="loss_anatomy.json">loss_anatomy.json</a>.</p>',
    )


def comparison_section(inputs: ReportInputs, result: Panel) -> Section:
    """Gram matrices against mean/std; the result stands for its own representation."""
    comparison = compare_representations(
        inputs.content, inputs.style, inputs.options, on_step=inputs.on_step, net=inputs.net,
        done={inputs.options.style_representation: result})
    return Section(
        "Why Gram matrices?", EXPLANATION,
        [inputs.picture(comparison.png(), "compare.png",
                        "Gram matrices against channel mean and std")],
    )


def optimisers_section(inputs: ReportInputs, result: Panel) -> Section:
    """gd, Adam and L-BFGS on the same transfer; the result stands for its own optimiser."""
    race = compare_optimizers(inputs.content, inputs.style, inputs.options,
                              on_step=inputs.on_step, net=inputs.net,
                              done={inputs.options.optimizer: result})
    return Section(
        "Why L-BFGS?", f"{OPTIMISERS_EXPLANATION} Here: {race.summary()}.",
        [inputs.picture(race.png(), "optimisers.png",
                        "L_total against steps and seconds for gd, Adam and L-BFGS")],
    )


def pulls_section(inputs: ReportInputs, result: Panel) -> Section:
    """Per-pixel gradient of each loss term at the start, middle and end of the result."""
    maps = pull_maps(inputs.content, inputs.style, inputs.options, net=inputs.net, run=result)
    shares = "; ".join(maps.summary().splitlines())
    return Section(
        "Where each term pulls", f"{PULLS_EXPLANATION} Each term's share of Σ|∇|: {shares}.",
        [inputs.picture(maps.png(), "pulls.png", "where each loss term pulls, per pixel")],
    )


def figure_section(inputs: ReportInputs, number: int, settings: StyleOptions | None) -> Section:
    """One of the paper's figures (minutes each), with its own settings or defaults."""
    paper_figure = PAPER_FIGURES[number]
    figure = paper_figure.make(inputs.content, inputs.style,
                               paper_figure.settings.options(settings), on_step=inputs.on_step)
    return Section(paper_figure.title, paper_figure.caption,
                   [inputs.picture(figure.png(), f"figure{number}.png",
                                   f"Figure {number} reproduction")])


def layers_section(inputs: ReportInputs, settings: StyleOptions | None) -> Section:
    """What each style layer paints on its own (minutes), with every panel's E_l."""
    paintings = layer_paintings(inputs.content, inputs.style,
                                LAYERS_SETTINGS.options(settings), on_step=inputs.on_step)
    header = "".join(f"<th>E {html.escape(layer)}</th>" for layer in paintings.layers)
    rows = "".join(
        f"<tr><th>{html.escape(ROW_LABELS[row])}, {html.escape(layer)} alone</th>"
        + "".join(f"<td>{paintings.errors[row][c][other]:.3g}</td>" for other in paintings.layers)
        + "</tr>"
        for row in paintings.errors for c, layer in enumerate(paintings.layers))
    return Section(
        "What each layer paints",
        "Each column puts the whole style term on one layer. Top: a texture grown from white "
        "noise to match the painting's Gram matrix there; bottom: the photo stylised that "
        "way. The paper's account: low layers carry colour and brushstroke texture, middle "
        "ones swirls and repeated patterns, high ones larger structure. The table gives each "
        "picture's E_l on every layer, measured on the saved picture (clamped to 0-255, so "
        "it can sit above the optimiser's last loss); each panel should be lowest on its own "
        "layer.",
        [inputs.picture(paintings.png(), "layers.png", "what each layer paints")],
        f'<table><tr><th>picture</th>{header}</tr>{rows}</table>',
    )


def shuffle_section(inputs: ReportInputs) -> Section:
    """The painting's tiles shuffled: Gram matrices barely move, content features do."""
    shuffle = shuffle_painting(inputs.style, options=inputs.options, net=inputs.net)
    grams = ", ".join(f"{layer} {100 * v:.2g} %" for layer, v in shuffle.gram_change.items())
    features = ", ".join(f"{layer} {100 * v:.3g} %"
                         for layer, v in shuffle.feature_change.items())
    return Section(
        "Gram matrices forget where",
        f"The painting cut into {shuffle.grid}×{shuffle.grid} tiles and shuffled (every tile "
        f"moves). Relative change of the size-normalised Gram matrices: {grams}; of the "
        f"content feature maps: {features}. {SEAMS_NOTE}",
        [inputs.picture(shuffle.png(), "shuffle.png", "the painting with its tiles shuffled")],
    )
