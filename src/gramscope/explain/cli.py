"""``gramscope explain``: the report and each of its views as its own command.

    gramscope explain CONTENT STYLE -o report/      (same as: gramscope explain report …)
    gramscope explain figure1 | figure3 | layers | shuffle | features | gram | losses |
                      compare | optimizers | pulls …

Long views show one progress bar over all their optimiser steps.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..arguments import (
    add_renamed_flag,
    add_style_options,
    image_arguments,
    options_from_args,
    prepare_output,
)
from ..errors import GramscopeError, OptionsError
from ..options import StyleOptions

if TYPE_CHECKING:
    from ..transfer import StepRecord
    from .figure3 import Figure3
    from .grams import GramViews
    from .plotting import Drawing
    from .runner import OnStep, ViewSettings
    from .shuffle import TileShuffle

#: The view used when ``gramscope explain`` is followed by image names.
DEFAULT_VIEW = "report"


class _DefaultView(argparse._SubParsersAction):  # argparse offers no public hook for this
    """``explain CONTENT STYLE …`` means ``explain report CONTENT STYLE …``."""

    class _AnyName(dict):
        def __contains__(self, name: object) -> bool:  # accept image names as well as views
            return True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = self._AnyName(self._name_parser_map)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        if values and values[0] not in self._name_parser_map:
            values = [DEFAULT_VIEW, *values]
        super().__call__(parser, namespace, values, option_string)


class StepBar:
    """One tqdm bar over every step of a view; the current panel's name beside it."""

    def __init__(self, total: int, quiet: bool, what: str) -> None:
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="step", dynamic_ncols=True, file=sys.stderr,
                            desc=what)
        self.label = ""

    def __call__(self, label: str, record: StepRecord) -> None:
        if self.bar is None:
            return
        if label != self.label:
            self.label = label
            self.bar.set_postfix_str(label, refresh=False)
        if self.bar.total is not None and self.bar.n >= self.bar.total:
            self.bar.total += 1  # a diverged panel is being made again (runner.render_run)
        self.bar.update(1)

    def __enter__(self) -> OnStep:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _with_defaults(parser: argparse.ArgumentParser, defaults: dict[str, Any]) -> None:
    """Give a view its own defaults and keep each flag's help text truthful about them."""
    parser.set_defaults(**defaults)
    for action in parser._actions:
        if action.dest in defaults and action.help:
            value = defaults[action.dest]
            shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
            action.help = re.sub(r"\(default: [^)]*\)$", f"(default: {shown})", action.help)


def _common(parser: argparse.ArgumentParser, output: str, help_output: str,
            images: bool = True) -> None:
    if images:
        parser.add_argument("images", nargs="*", metavar="CONTENT STYLE",
                            help="content and style image (files or sample names; default: "
                            "tubingen starry_night)")
    parser.add_argument("-o", "--output", type=Path, default=Path(output),
                        help=f"{help_output} (default: {output})")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _numbers(kind: type, what: str):
    """An argparse type for a comma-separated list of ``kind`` with a readable error."""

    def convert(text: str) -> tuple:
        try:
            return tuple(kind(part) for part in text.replace(",", " ").split())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None

    return convert


def _check_png(path: Path, overwrite: bool) -> Path:
    if path.suffix.lower() != ".png":
        raise GramscopeError(f"figures are PNG files; give a name ending in .png, not {path}")
    return prepare_output(path, overwrite)


def _draw(
    args: argparse.Namespace, what: str, make: Callable[..., Drawing],
    steps: Callable[[StyleOptions], int] | None = None, *, summarise: bool = False,
) -> int:
    """The shape every figure view shares: read the settings (and CONTENT STYLE when the
    view takes them), check the output before any work, call ``make(options, *images,
    on_step)`` under one progress bar over ``steps(options)`` optimiser steps (no bar
    without ``steps``), print the drawing's ``summary()`` if ``summarise``, save the
    figure and say where."""
    options = options_from_args(args)
    images = _pair(args.images) if "images" in vars(args) else ()
    output = _check_png(args.output, args.overwrite)
    total = steps(options) if steps is not None else 0
    with StepBar(total, args.quiet or steps is None, what) as bar:
        drawing = make(options, *images, bar)
        if summarise:
            print(drawing.summary())
    drawing.save(output)
    print(f"wrote {output}")
    return 0


def _pair(images: Sequence[str]) -> tuple[Path, Path]:
    from ..image import load_image

    content, styles = image_arguments(images)
    if len(styles) != 1:
        raise OptionsError("give one content and one style image")
    load_image(content), load_image(styles[0])  # fail now, not after minutes of work
    return content, styles[0]


def _with_masks(images: Sequence[str], masks: int) -> tuple[Path, list[Path]]:
    """CONTENT and one style image per mask, each loaded now, not after minutes of work."""
    from ..image import load_image

    content, styles = image_arguments(images)
    if len(styles) != masks:
        raise OptionsError(f"{masks} masks given for {len(styles)} style images; give one "
                           "mask per style image")
    for path in (content, *styles):
        load_image(path)
    return content, styles


# ---- views ---------------------------------------------------------------------------

#: Flags a figure sets itself (each run switches terms on and off).
_FIGURE1_FIXED = ("alpha", "beta", "strength", "init", "style_layer_weights", "style_blend",
                  "color", "style_scale", "style_representation", "balance_scales",
                  "reference_size")
# Figure 3's columns set the strength; the paper's α/β in each label is translated
# (figure3.balance_pixels) from the default reference size or, with --literal-sum, from
# the cell's own pixels.
_FIGURE3_FIXED = ("strength", "style_layer_weights", "style_blend", "reference_size")
# Each column puts all of the style weight on one layer of one image.
_LAYERS_FIXED = ("style_layer_weights", "style_blend")


def _size_by_device(parser: argparse.ArgumentParser) -> None:
    """--size left out means the figures' cell size for --device (figure1.cell_size), read
    after parsing by :func:`_cell_size`; the help lists the sizes from the same table."""
    from .figure1 import CELL_SIZES

    parser.set_defaults(size=None)
    shown = ", ".join(f"{size} on {'a CUDA GPU' if kind == 'cuda' else 'the CPU'}"
                      for kind, size in CELL_SIZES.items())
    for action in parser._actions:
        if action.dest == "size" and action.help:
            action.help = re.sub(r"\(default: [^)]*\)$", f"(default: {shown})", action.help)


def _cell_size(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with --size filled in for the device when it was not given."""
    from .figure1 import cell_size

    if args.size is None:
        args.size = cell_size(args.device)
    return args


def _add_report(subparsers: Any) -> None:
    from .report import DEFAULT_FEATURE_LAYERS, DEFAULT_GRAM_LAYER

    parser = subparsers.add_parser(
        "report", help="stylise and write one self-contained HTML page explaining it",
        description="Stylise CONTENT after STYLE and write OUTPUT/index.html (opens offline; "
        "images embedded) with the result, feature maps, Gram matrices, the loss anatomy and "
        "the Gram-against-mean/std comparison (and, when asked, the optimisers and where "
        "each term pulls), plus each PNG, CSV and JSON beside it.",
    )
    _common(parser, "report", "folder for index.html and its PNGs")
    parser.add_argument("--figures", type=_numbers(int, "figure numbers such as 1,3"),
                        default=(), metavar="1,3",
                        help="also add the paper's Figure 1 and/or 3 (about 15 min each)")
    parser.add_argument("--views", type=_numbers(str, "view names such as layers,shuffle"),
                        default=(), metavar="layers,shuffle",
                        help="also add what each layer paints (about 15 min) and/or the tile "
                        "shuffle (seconds)")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the mean/std comparison (saves one whole run)")
    add_renamed_flag(parser, "--optimisers", parser.add_argument(
        "--optimizers", action="store_true",
        help="add gd and Adam against L-BFGS on the same transfer (two more runs)"))
    parser.add_argument("--pulls", action="store_true",
                        help="add where each loss term pulls, per pixel, at the start, "
                        "middle and end of the run")
    parser.add_argument("--feature-layers", type=_numbers(str, "layer names"),
                        default=DEFAULT_FEATURE_LAYERS, metavar="LAYERS",
                        help=f"layers to show feature maps of (default: "
                        f"{','.join(DEFAULT_FEATURE_LAYERS)})")
    parser.add_argument("--gram-layer", default=DEFAULT_GRAM_LAYER, metavar="LAYER",
                        help=f"layer whose Gram matrices to show (default: {DEFAULT_GRAM_LAYER})")
    parser.add_argument("--masks", nargs="+", metavar="MASK",
                        help="one greyscale mask per style image (give several styles after "
                        "CONTENT): a masked result and each region's guided Gram matrices; "
                        "the mean/std comparison, which cannot be masked, is left out")
    add_style_options(parser)
    parser.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from .report import report_steps, write_report

    options = options_from_args(args)
    if args.masks:
        content, style = _with_masks(args.images, len(args.masks))
    else:
        content, style = _pair(args.images)
    compare = args.compare and not args.masks
    with StepBar(report_steps(options, compare=compare, figures=args.figures,
                              views=args.views, optimizers=args.optimizers),
                 args.quiet, "report") as bar:
        index = write_report(content, style, args.output, options, compare=compare,
                             figures=args.figures, feature_layers=args.feature_layers,
                             gram_layer=args.gram_layer, overwrite=args.overwrite,
                             views=args.views, on_step=bar, optimizers=args.optimizers,
                             pulls=args.pulls, masks=args.masks)
    print(f"wrote {index}")
    return 0


def _add_figure1(subparsers: Any) -> None:
    from .figure1 import FIGURE1_SETTINGS

    parser = subparsers.add_parser(
        "figure1", help="the paper's Figure 1: what each layer keeps",
        description="Reconstruct CONTENT from white noise using one content layer at a time "
        "(--content-layers), and synthesise STYLE's texture from the growing subsets of "
        "--style-layers (conv1_1; conv1_1+conv2_1; …), as one labelled PNG.",
    )
    _common(parser, "figure1.png", "the figure (PNG)")
    parser.add_argument("--prior", action=argparse.BooleanOptionalAction,
                        default=FIGURE1_SETTINGS.prior,
                        help="content reconstructions start from low-passed noise with a "
                        "small TV term (not in the paper); --no-prior gives the paper's "
                        "plain reconstructions from white noise (default: "
                        f"{'on' if FIGURE1_SETTINGS.prior else 'off'})")
    add_style_options(parser, skip=_FIGURE1_FIXED)
    _with_defaults(parser, FIGURE1_SETTINGS.style_fields())
    _size_by_device(parser)
    parser.set_defaults(handler=cmd_figure1)


def cmd_figure1(args: argparse.Namespace) -> int:
    from .figure1 import FIGURE1_SETTINGS, figure1

    return _draw(_cell_size(args), "figure 1", lambda options, content, style, bar: figure1(
        content, style, options, prior=args.prior, on_step=bar), FIGURE1_SETTINGS.step_count)


def _add_figure3(subparsers: Any) -> None:
    from .figure3 import FIGURE3_SETTINGS

    parser = subparsers.add_parser(
        "figure3", help="the paper's Figure 3: style strength against the style layers",
        description="Stylise CONTENT after STYLE for every growing subset of --style-layers "
        "(rows) and every style strength (columns), as one labelled PNG. Each column is "
        "labelled with its strength, the α/β it puts in use and the paper's α/β for the same "
        "look (see the figure's footnote).",
    )
    _common(parser, "figure3.png", "the figure (PNG)")
    parser.add_argument("--strengths", type=_numbers(float, "numbers such as 0.5,1,2"),
                        default=None, metavar="S,S,…",
                        help="the style strength of each column, as --strength in stylize "
                        f"(default: {','.join(f'{s:g}' for s in FIGURE3_SETTINGS.strengths)})")
    add_style_options(parser, skip=_FIGURE3_FIXED)
    _with_defaults(parser, FIGURE3_SETTINGS.style_fields())
    _size_by_device(parser)
    parser.set_defaults(handler=cmd_figure3)


def cmd_figure3(args: argparse.Namespace) -> int:
    from .figure1 import growing_subsets
    from .figure3 import FIGURE3_SETTINGS, figure3

    def make(options: StyleOptions, content: Path, style: Path, bar: OnStep) -> Figure3:
        return figure3(content, style, options, subsets=growing_subsets(options.style_layers),
                       strengths=args.strengths, on_step=bar)

    def steps(options: StyleOptions) -> int:
        return FIGURE3_SETTINGS.step_count(options, growing_subsets(options.style_layers),
                                           args.strengths)

    return _draw(_cell_size(args), "figure 3", make, steps)


def _add_layers(subparsers: Any) -> None:
    from .layers import LAYERS_SETTINGS

    parser = subparsers.add_parser(
        "layers", help="what each style layer paints on its own",
        description="For each of --style-layers alone: synthesise STYLE's texture from white "
        "noise, and stylise CONTENT after STYLE with all of the style weight on that layer; "
        "one labelled PNG with each panel's E_l on its own layer.",
    )
    _common(parser, "layers.png", "the figure (PNG)")
    add_style_options(parser, skip=_LAYERS_FIXED)
    _with_defaults(parser, LAYERS_SETTINGS.style_fields())
    parser.set_defaults(handler=cmd_layers)


def cmd_layers(args: argparse.Namespace) -> int:
    from .layers import LAYERS_SETTINGS, layer_paintings

    return _draw(args, "layers", lambda options, content, style, bar: layer_paintings(
        content, style, options, on_step=bar), LAYERS_SETTINGS.step_count)


def _network_flags(parser: argparse.ArgumentParser, settings: ViewSettings,
                   also: Sequence[str] = ()) -> None:
    """Only the fields that choose the network and the image size (and those in ``also``),
    with the view's ``settings`` as their defaults."""
    keep = {"size", "pooling", "normalization", "weights", "device", *also}
    import dataclasses

    add_style_options(parser, skip=[f.name for f in dataclasses.fields(StyleOptions)
                                    if f.name not in keep])
    _with_defaults(parser, settings.style_fields())


def _add_features(subparsers: Any) -> None:
    from .features import FEATURES_SETTINGS as DEFAULTS

    parser = subparsers.add_parser(
        "features", help="a grid of one layer's strongest channel activations",
        description="Show the channels of LAYER with the largest mean activation on IMAGE.",
    )
    parser.add_argument("image", metavar="IMAGE", help="an image file or sample name")
    parser.add_argument("--layer", default=DEFAULTS.layer,
                        help=f"layer (default: {DEFAULTS.layer})")
    parser.add_argument("--count", type=int, default=DEFAULTS.count,
                        help=f"channels shown (default: {DEFAULTS.count})")
    add_renamed_flag(parser, "--normalise", parser.add_argument(
        "--normalize", choices=("channel", "layer"), default=DEFAULTS.normalize,
        help="scale each map to its own maximum (channel) or all to the layer's (layer) "
        f"(default: {DEFAULTS.normalize})"))
    _common(parser, "features.png", "the figure (PNG)", images=False)
    _network_flags(parser, DEFAULTS)
    parser.set_defaults(handler=cmd_features)


def cmd_features(args: argparse.Namespace) -> int:
    from ..samples import resolve_image_argument
    from .features import feature_grid

    return _draw(args, "features", lambda options, _: feature_grid(
        resolve_image_argument(args.image), args.layer, count=args.count,
        normalize=args.normalize, size=options.size, options=options))


def _add_shuffle(subparsers: Any) -> None:
    from .shuffle import SHUFFLE_SETTINGS as DEFAULTS

    parser = subparsers.add_parser(
        "shuffle", help="Gram matrices forget where: shuffle a painting's tiles",
        description="Cut STYLE into a GRID×GRID grid of tiles, shuffle them, and compare the "
        "Gram matrices of --style-layers and the feature maps of --content-layers before and "
        "after (relative change), as one PNG.",
    )
    parser.add_argument("style", metavar="STYLE", help="the painting (file or sample name)")
    parser.add_argument("--grid", type=int, default=DEFAULTS.grid,
                        help=f"tiles a side (default: {DEFAULTS.grid})")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed,
                        help=f"seed of the shuffle (default: {DEFAULTS.seed})")
    _common(parser, "shuffle.png", "the figure (PNG)", images=False)
    _network_flags(parser, DEFAULTS, also=("style_layers", "content_layers"))
    parser.set_defaults(handler=cmd_shuffle)


def cmd_shuffle(args: argparse.Namespace) -> int:
    from ..samples import resolve_image_argument
    from .shuffle import shuffle_painting

    def make(options: StyleOptions, _: OnStep) -> TileShuffle:
        shuffle = shuffle_painting(resolve_image_argument(args.style), grid=args.grid,
                                   seed=args.seed, size=options.size, options=options)
        for layer, change in shuffle.gram_change.items():
            print(f"{layer} Gram matrix: {100 * change:.3g} % changed")
        for layer, change in shuffle.feature_change.items():
            print(f"{layer} feature maps: {100 * change:.3g} % changed")
        return shuffle

    return _draw(args, "shuffle", make)


def _add_gram(subparsers: Any) -> None:
    from .grams import GRAM_SETTINGS as DEFAULTS

    parser = subparsers.add_parser(
        "gram", help="Gram matrices of a style image and a result, and their difference",
        description="Heatmaps of G/M at LAYER for STYLE and RESULT (channels ordered by "
        "clustering the style's), their difference, and the most mismatched channels.",
    )
    parser.add_argument("style", metavar="STYLE", help="style image (file or sample name)")
    parser.add_argument("result", metavar="RESULT", help="the stylised image")
    parser.add_argument("--layer", default=DEFAULTS.layer,
                        help=f"layer (default: {DEFAULTS.layer})")
    parser.add_argument("--top", type=int, default=DEFAULTS.top,
                        help=f"mismatched channels listed (default: {DEFAULTS.top})")
    _common(parser, "gram.png", "the figure (PNG)", images=False)
    _network_flags(parser, DEFAULTS)
    parser.set_defaults(handler=cmd_gram)


def cmd_gram(args: argparse.Namespace) -> int:
    from ..samples import resolve_image_argument
    from .grams import gram_views

    def make(options: StyleOptions, _: OnStep) -> GramViews:
        views = gram_views(resolve_image_argument(args.style),
                           resolve_image_argument(args.result), args.layer,
                           size=options.size, top=args.top, options=options)
        for channel, share in views.mismatched():
            print(f"channel {channel}: {100 * share:.1f} % of {views.layer}'s style error")
        return views

    return _draw(args, "gram", make)


def _add_losses(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "losses", help="loss curves from a stylize sidecar (PNG, CSV, JSON)",
        description="Draw α·L_content and each β·w_l·E_l over the steps recorded in SIDECAR "
        "(the OUTPUT.png.json that gramscope stylize writes) and say which term dominates "
        "when. Writes OUTPUT and the same stem with .csv and .json.",
    )
    parser.add_argument("sidecar", metavar="SIDECAR", type=Path,
                        help="the .json written beside a stylize result")
    _common(parser, "loss_anatomy.png", "the figure (PNG)", images=False)
    parser.set_defaults(handler=cmd_losses)


def cmd_losses(args: argparse.Namespace) -> int:
    from .anatomy import LossAnatomy

    output = _check_png(args.output, args.overwrite)
    anatomy = LossAnatomy.from_sidecar(args.sidecar)
    for path in (output.with_suffix(".csv"), output.with_suffix(".json")):
        if path.exists() and not args.overwrite:
            raise GramscopeError(f"{path} exists; pass --overwrite to replace it")
    paths = anatomy.save(output.parent, output.stem)
    print(f"largest term: {anatomy.summary()}")
    print("wrote " + ", ".join(map(str, paths)))
    return 0


def _add_compare(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare", help="Gram matrices against per-channel mean/std (Li et al. 2017)",
        description="Stylise CONTENT after STYLE twice, matching Gram matrices and then only "
        "each channel's mean and standard deviation, side by side.",
    )
    _common(parser, "compare.png", "the figure (PNG)")
    add_style_options(parser, skip=("style_representation",))
    parser.set_defaults(handler=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import COMPARISON_SETTINGS, compare_representations

    return _draw(args, "compare", lambda options, content, style, bar: compare_representations(
        content, style, options, on_step=bar), COMPARISON_SETTINGS.step_count)


def _add_optimizers(subparsers: Any) -> None:
    from ..options import DEFAULT_LEARNING_RATES
    from .optimisers import OPTIMISER_SETTINGS

    parser = subparsers.add_parser(
        "optimizers", aliases=["optimisers"],  # the old spelling, deprecated
        help="why L-BFGS: the same transfer with gd, Adam and L-BFGS",
        description="Stylise CONTENT after STYLE three times from the same start, with plain "
        "gradient descent, Adam and L-BFGS (the paper's), and plot L_total against steps "
        "and seconds beside the three pictures.",
    )
    _common(parser, "optimisers.png", "the figure (PNG)")
    parser.add_argument("--eta", type=float, default=DEFAULT_LEARNING_RATES["gd"],
                        metavar="η", help="gradient descent's step size η, in pixel levels "
                        "per unit of the gradient scaled to RMS 1 at the first step "
                        f"(default: {DEFAULT_LEARNING_RATES['gd']:g})")
    add_style_options(parser, skip=("optimizer", "learning_rate"))
    _with_defaults(parser, OPTIMISER_SETTINGS.style_fields())
    parser.set_defaults(handler=cmd_optimizers)


def cmd_optimizers(args: argparse.Namespace) -> int:
    from .optimisers import OPTIMISER_SETTINGS, compare_optimizers

    if not (args.eta > 0 and args.eta < float("inf")):
        raise OptionsError(f"--eta must be a finite number more than zero, not {args.eta}")
    if args.view == "optimisers":
        print("gramscope: 'explain optimisers' is deprecated; use 'explain optimizers'",
              file=sys.stderr)

    return _draw(args, "optimizers", lambda options, content, style, bar: compare_optimizers(
        content, style, options, step_sizes={"gd": args.eta}, on_step=bar),
        OPTIMISER_SETTINGS.step_count, summarise=True)


def _add_pulls(subparsers: Any) -> None:
    from .pulls import PULLS_SETTINGS

    parser = subparsers.add_parser(
        "pulls", help="where each loss term pulls: per-pixel gradient maps",
        description="Stylise CONTENT after STYLE and, at the start, the middle and the end "
        "of the run (or --at), map |∇ₓ| of α·L_content and of each style layer's β·w_l·E_l, "
        "summed over the colour channels, on one colour scale per row.",
    )
    _common(parser, "pulls.png", "the figure (PNG)")
    parser.add_argument("--at", type=_numbers(int, "step numbers such as 0,30,60"),
                        default=None, metavar="0,30,60",
                        help="steps to map, 0 being the start (default: start, middle, end)")
    add_style_options(parser)
    _with_defaults(parser, PULLS_SETTINGS.style_fields())
    parser.set_defaults(handler=cmd_pulls)


def cmd_pulls(args: argparse.Namespace) -> int:
    from .pulls import PULLS_SETTINGS, pull_maps

    return _draw(args, "pulls", lambda options, content, style, bar: pull_maps(
        content, style, options, at=args.at, on_step=bar), PULLS_SETTINGS.step_count,
        summarise=True)


def register(subparsers: Any) -> None:
    """Add ``gramscope explain`` and its views to the main parser."""
    parser = subparsers.add_parser(
        "explain", help="see inside the network: report, paper figures, feature maps, Grams",
        description="See why style transfer works. 'gramscope explain CONTENT STYLE -o "
        "report/' writes the HTML report; the views below make one figure each.",
    )
    views = parser.add_subparsers(dest="view", metavar="VIEW", action=_DefaultView)
    for add in (_add_report, _add_figure1, _add_figure3, _add_layers, _add_shuffle,
                _add_features, _add_gram, _add_losses, _add_compare, _add_optimizers,
                _add_pulls):
        add(views)
    parser.set_defaults(handler=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2
