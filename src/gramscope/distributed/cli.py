"""``gramscope batch | sweep | video``: many independent images, locally or on Ray.

Style options come from :func:`gramscope.arguments.add_style_options`, so defaults stay in
:class:`~gramscope.options.StyleOptions`. Every command runs locally (with a progress bar)
unless ``--ray`` or ``--ray-address`` is given; the work is the same either way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..arguments import add_style_options, options_from_args
from ..errors import OptionsError
from ..options import PAPER_STYLE_LAYERS
from ..options_grid import FIGURE3_STRENGTHS
from .executors import DEFAULT_RETRIES, Backend, Summary, make_backend, print_summary
from .video import DEFAULT_LATER_STEPS, DEFAULT_OVERLAP, DEFAULT_TEMPORAL_WEIGHT


def register(subparsers: Any) -> None:
    """Add the ``batch``, ``sweep`` and ``video`` subcommands to the main parser."""
    _add_batch(subparsers)
    _add_sweep(subparsers)
    _add_video(subparsers)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where the work runs")
    group.add_argument("--ray", action="store_true",
                       help="run one Ray task per image (a local Ray unless --ray-address)")
    group.add_argument("--ray-address", metavar="ADDR",
                       help="join this Ray cluster (e.g. ray://head:10001 or auto); implies --ray")
    group.add_argument("--workers", type=int, metavar="N",
                       help="images at a time (default: 1 locally; on Ray, as many as the "
                       "cluster's CPUs or GPUs allow)")
    group.add_argument("--cpus-per-task", type=float, default=1.0, metavar="X",
                       help="CPUs per Ray task; also its torch threads (default: 1)")
    group.add_argument("--gpus-per-task", type=float, default=None, metavar="X",
                       help="GPUs per Ray task (default: 1 where the cluster has GPUs, else 0)")
    group.add_argument("--retries", type=int, default=DEFAULT_RETRIES, metavar="N",
                       help="retries of an image that failed unexpectedly (a bad file is "
                       f"not retried) (default: {DEFAULT_RETRIES})")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _backend(args: argparse.Namespace) -> Backend:
    return make_backend(ray=args.ray, address=args.ray_address, workers=args.workers,
                        cpus_per_task=args.cpus_per_task, gpus_per_task=args.gpus_per_task,
                        retries=args.retries)


def _images(names: list[str]) -> list[Path]:
    """Image arguments as paths; a bundled sample's name (``starry_night``) works too."""
    from ..samples import resolve_image_argument

    return [resolve_image_argument(name) for name in names]


def _finish(summary: Summary, what: str) -> int:
    print_summary(summary, what)
    return summary.exit_code


# ---- batch ----------------------------------------------------------------------------

def _add_batch(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "batch", help="stylise every image of a folder or glob",
        description="Stylise every image in CONTENT (a folder, or a quoted glob such as "
        "'photos/*.jpg') after STYLE into OUT_DIR/<name>.png. Finished images (checked by the "
        "settings stored in each PNG) are skipped, so a stopped batch resumes; a failed image "
        "is reported and the others carry on; the exit code is 1 if any image failed.",
    )
    parser.add_argument("content", metavar="CONTENT_DIR_OR_GLOB")
    parser.add_argument("styles", nargs="+", metavar="STYLE",
                        help="style image(s); several blend (a bundled sample name works too)")
    parser.add_argument("-o", "--output-dir", type=Path, required=True, metavar="OUT_DIR")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo every image, even finished ones, and replace foreign files")
    _add_run_options(parser)
    add_style_options(parser)
    parser.set_defaults(handler=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import collect_contents, run_batch

    options = options_from_args(args)
    contents = collect_contents(args.content)  # before Ray starts: a typo fails in a second
    with _backend(args) as backend:
        summary = run_batch(contents, _images(args.styles), options, args.output_dir,
                            backend, overwrite=args.overwrite, progress=not args.quiet)
    return _finish(summary, f"batch into {args.output_dir}")


# ---- sweep ----------------------------------------------------------------------------

def _add_sweep(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sweep", help="a grid of settings as parallel jobs, on one labelled contact sheet",
        description="Stylise CONTENT after STYLE for every combination of the given values "
        "and draw them on one labelled sheet (the last axis across, the others down). "
        f"The paper's Figure 3: --style-layers {_growing_layer_sets()} "
        f"--strength {','.join(f'{s:g}' for s in FIGURE3_STRENGTHS)} (style strength, as in "
        "stylize: the content weight used is α/strength; the title shows α and β).",
    )
    parser.add_argument("content", metavar="CONTENT")
    parser.add_argument("styles", nargs="+", metavar="STYLE")
    parser.add_argument("-o", "--output", type=Path, default=Path("sweep.png"),
                        help="the contact sheet (.png); cells go to OUTPUT_cells/ "
                        "(default: sweep.png)")
    parser.add_argument("--style-layers", dest="style_layer_sets", nargs="+", metavar="LAYERS",
                        help="one grid value per argument, each a comma-separated layer list")
    parser.add_argument("--strength", dest="strengths", type=_strengths, metavar="S,S,…",
                        help="style strengths, across (each divides α, as --strength does "
                        "for one image; without it every cell has the default strength)")
    parser.add_argument("--vary", nargs="+", action="append", metavar=("SETTING", "VALUE"),
                        help="another axis: a style option and its values, e.g. "
                        "--vary style_scale 0.5 1 2 (repeatable)")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo every cell and replace the sheet")
    _add_run_options(parser)
    add_style_options(parser, skip=("style_layers", "strength"))
    parser.set_defaults(handler=cmd_sweep)


def _growing_layer_sets() -> str:
    """The rows of the paper's Figure 3 as --style-layers values: conv1_1, then up to
    conv2_1, and so on to all of the paper's style layers."""
    return " ".join(",".join(PAPER_STYLE_LAYERS[:k]) for k in range(1, len(PAPER_STYLE_LAYERS) + 1))


def _strengths(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}"
                                         ) from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one strength")
    return values


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..image import load_image
    from .sweep import field_axis, grid, run_sweep, strength_axis, style_layers_axis

    axes = []
    if args.style_layer_sets:
        axes.append(style_layers_axis(
            [[layer for layer in text.replace(",", " ").split()] for text in
             args.style_layer_sets]))
    for vary in args.vary or []:
        if len(vary) < 2:
            raise OptionsError(f"--vary {vary[0]}: give the setting and at least one value")
        axes.append(field_axis(vary[0], vary[1:]))
    if args.strengths:
        # Across, as the balance is in the paper's Figure 3.
        axes.append(strength_axis(args.strengths))
    options = options_from_args(args)
    grid(options, axes)  # an impossible combination fails before any work starts
    content = _images([args.content])[0]
    load_image(content)
    with _backend(args) as backend:
        summary, sheet = run_sweep(content, _images(args.styles), options, axes, args.output,
                                   backend, overwrite=args.overwrite, progress=not args.quiet)
    print(f"wrote {sheet}")
    return _finish(summary, "sweep")


# ---- video ----------------------------------------------------------------------------

def _add_video(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "video", help="stylise every frame of a video, keeping its frame rate and audio",
        description="Stylise every frame of INPUT after STYLE and write OUTPUT (.mp4, H.264) "
        "at the source frame rate with the source audio. Frame t starts from frame t−1's "
        "result moved along the optical flow, a temporal loss keeps its strokes where they "
        "moved to, and it runs --later-steps steps at one scale (Ruder et al. 2016); frames "
        "are cut into --segments runs that proceed in parallel; each after the first starts "
        "--overlap frames early and fades in over the one before. --independent starts "
        "every frame from its own content: most parallel, most flicker. Stylised frames "
        "wait in OUTPUT_frames/ until the video is written, so a stopped run carries on "
        "with --resume.",
    )
    parser.add_argument("input", type=Path, metavar="INPUT")
    parser.add_argument("styles", nargs="+", metavar="STYLE")
    parser.add_argument("-o", "--output", type=Path, default=Path("stylized.mp4"),
                        help="result video, .mp4 (default: stylized.mp4)")
    parser.add_argument("--segments", type=int, metavar="K",
                        help="warm-started runs processed in parallel (default: one per "
                        "worker)")
    parser.add_argument("--overlap", type=int, default=DEFAULT_OVERLAP, metavar="N",
                        help="frames by which a segment starts early and cross-fades over "
                        f"the one before, hiding its restart (default: {DEFAULT_OVERLAP}; 0: "
                        "a hard restart)")
    parser.add_argument("--independent", action="store_true",
                        help="no warm start: every frame from its own content image")
    motion = parser.add_argument_group("how a frame follows the one before it")
    motion.add_argument("--temporal-weight", type=float, default=DEFAULT_TEMPORAL_WEIGHT,
                        metavar="W", help="weight of the temporal loss, which holds each "
                        "stroke where the motion carried it; 0 turns it off (default: "
                        f"{DEFAULT_TEMPORAL_WEIGHT:g})")
    motion.add_argument("--later-steps", type=int, default=DEFAULT_LATER_STEPS, metavar="N",
                        help="optimiser steps of a frame that starts from the one before, at "
                        f"one scale (default: {DEFAULT_LATER_STEPS}; the first frame of a "
                        "segment runs --steps)")
    motion.add_argument("--no-flow", action="store_true",
                        help="start from the previous result where it lies, not moved with "
                        "the picture, and no temporal loss (strokes stay on the screen while "
                        "the scene moves under them)")
    parser.add_argument("--max-frames", type=int, metavar="N",
                        help="only the first N frames (a preview)")
    parser.add_argument("--keep-frames", action="store_true",
                        help="keep OUTPUT_frames/ after the video is written")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--resume", action="store_true",
                        help="carry on from the frames a stopped run left in OUTPUT_frames/ "
                        "(those made with other settings are redone)")
    _add_run_options(parser)
    add_style_options(parser)
    parser.set_defaults(handler=cmd_video)


def cmd_video(args: argparse.Namespace) -> int:
    from .video import Continuity, run_video

    if args.max_frames is not None and args.max_frames < 1:
        raise OptionsError(f"--max-frames must be 1 or more, not {args.max_frames}")
    options = options_from_args(args)
    continuity = Continuity(flow=not args.no_flow,
                            temporal_weight=0.0 if args.no_flow else args.temporal_weight,
                            later_steps=args.later_steps)
    with _backend(args) as backend:
        summary, written = run_video(
            args.input, _images(args.styles), options, args.output, backend,
            segments=args.segments, independent=args.independent, continuity=continuity,
            overlap=args.overlap, max_frames=args.max_frames, keep_frames=args.keep_frames,
            overwrite=args.overwrite, resume=args.resume, progress=not args.quiet,
        )
    if written is not None:
        print(f"wrote {written}")
    else:
        print(f"no video written: fix the failed frames and run again with --resume "
              f"(finished frames are kept in "
              f"{args.output.with_name(args.output.stem + '_frames')})", file=sys.stderr)
    return _finish(summary, "video")
