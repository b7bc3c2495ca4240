"""The command line: ``gramscope stylize | explain | demo | batch | sweep | video``.

Style options are generated from :class:`~gramscope.options.StyleOptions` by
:mod:`gramscope.arguments`, so their defaults, choices and help live in one place; the
faces' own subcommands use the same glue.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import importlib.util
import json
import sys
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .arguments import (
    add_style_options,
    image_arguments,
    options_from_args,
    prepare_output,
    sidecar_path,
    split_words,
)
from .checkpoint import Checkpoint
from .errors import GramscopeError, OptionsError
from .options import StyleOptions

#: Faces that add their own subcommand through ``register(subparsers)``.
FACE_MODULES = ("gramscope.explain.cli", "gramscope.web.cli", "gramscope.distributed.cli")


# ---- stylize --------------------------------------------------------------------------

def _add_stylize(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stylize", help="paint a photo in the style of one or more images",
        description="Paint CONTENT in the style of STYLE (several styles blend). With no "
        "images, the bundled samples are used (tubingen × starry_night). An image argument may "
        "also name a bundled sample: tubingen, astronaut, starry_night, woman_with_hat.",
    )
    parser.add_argument("images", nargs="*", metavar="CONTENT STYLE",
                        help="content image, then one or more style images")
    parser.add_argument("-o", "--output", type=Path, default=Path("stylized.png"),
                        help="result file: .png (carries its parameters), .jpg or .webp "
                        "(default: stylized.png)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the output (and its sidecar) if it exists")
    parser.add_argument("--save-every", type=int, default=0, metavar="N",
                        help="also write the image every N steps into OUTPUT_steps/")
    parser.add_argument("--no-sidecar", dest="sidecar", action="store_false",
                        help="do not write OUTPUT.json (parameters and loss history)")
    parser.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                        help="keep a resumable state in OUTPUT.ckpt every N steps")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUTPUT.ckpt (same command otherwise); the result "
                        "is the one the uninterrupted run would have given")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    where = parser.add_argument_group(
        "where each style goes (Gatys et al. 2017, guided Gram matrices)")
    where.add_argument("--style-coarse", metavar="IMAGE",
                       help="a second painting for the large structure: the style layers "
                       "from --coarse-from on match it, the earlier ones (brushwork) the "
                       "style image (Gatys et al. 2017, §5)")
    where.add_argument("--masks", nargs="+", metavar="MASK",
                       help="one greyscale mask per style image (white = this style here, "
                       "grey = a soft edge); where no mask reaches, the photo stays")
    where.add_argument("--mask-map", metavar="MAP",
                       help="one image with a flat colour per style instead of --masks")
    where.add_argument("--mask-colors", type=split_words, metavar="#RGB,…",
                       help="the --mask-map colour of each style, in order (default: the "
                       "map's colours other than black, most frequent first)")
    add_style_options(parser)
    parser.set_defaults(handler=cmd_stylize)


@contextlib.contextmanager
def _progress(quiet: bool, options: StyleOptions, resume: Checkpoint | None) -> Iterator[Any]:
    """A tqdm bar over all steps of all scales (None when quiet)."""
    if quiet:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=sum(options.steps_per_scale), unit="step", dynamic_ncols=True,
              file=sys.stderr, initial=resume.step if resume else 0) as bar:
        yield bar


def _check_counts(args: argparse.Namespace) -> None:
    for flag in ("save_every", "checkpoint_every"):
        if getattr(args, flag) < 0:
            raise OptionsError(f"--{flag.replace('_', '-')} must be 0 or more, not "
                               f"{getattr(args, flag)}")


class StylizeProgress:
    """The CLI's consumer of the step stream: progress bar, events, the images saved every
    N steps and the checkpoints."""

    def __init__(self, args: argparse.Namespace, output: Path, bar: Any,
                 previous: list[dict]) -> None:
        from .checkpoint import checkpoint_path

        self.args, self.bar, self.previous = args, bar, previous
        self.checkpoint_file = checkpoint_path(output)
        self.steps_dir = output.with_name(output.stem + "_steps")
        self.records: list[dict] = []
        if args.save_every:
            self.steps_dir.mkdir(exist_ok=True)

    def __call__(self, record: Any) -> None:
        from .checkpoint import save_checkpoint
        from .image import save_image

        if not record.failed:
            self.records.append(record.to_dict())
        if record.event:
            (self.bar.write if self.bar is not None else print)(f"gramscope: {record.event}")
        if (record.image is not None and self.args.save_every
                and record.step % self.args.save_every == 0):
            save_image(record.image, self.steps_dir / f"step_{record.step:05d}.png")
        if record.checkpoint is not None:
            save_checkpoint(self.checkpoint_file, dataclasses.replace(
                record.checkpoint, history=self.previous + self.records))
        if self.bar is not None:
            self.bar.set_postfix_str(  # before update(), which redraws: no lag of a step
                f"{record.size[0]}x{record.size[1]} content {record.content:.3g} "
                f"style {record.style_total:.3g} total {record.total:.4g}", refresh=False)
            self.bar.update(1)


def cmd_stylize(args: argparse.Namespace) -> int:
    from .api import describe_input, stylize
    from .checkpoint import checkpoint_path, load_checkpoint
    from .image import atomic_write_bytes, load_image, save_image

    _check_counts(args)
    options = options_from_args(args)
    content, styles = image_arguments(args.images)
    # Decoded once, now, so a bad file fails before the weights load; the engine takes the
    # decoded images (the metadata still names the files). The start image is read by
    # gramscope.api's Run, also before the weights load.
    content_image, style_images = load_image(content), [load_image(s) for s in styles]
    masks = _masks(args, len(style_images), content_image.size)
    coarse = None
    if args.style_coarse:
        from .samples import resolve_image_argument

        coarse = load_image(resolve_image_argument(args.style_coarse))
    output = prepare_output(args.output, args.overwrite or args.resume)
    resume = load_checkpoint(checkpoint_path(output)) if args.resume else None
    previous: list[dict] = resume.history if resume else []
    with _progress(args.quiet, options, resume) as bar:
        progress = StylizeProgress(args, output, bar, previous)
        result = stylize(content_image, style_images, options=options, on_step=progress,
                         image_every=args.save_every, checkpoint_every=args.checkpoint_every,
                         resume=resume, masks=masks, coarse_style=coarse,
                         announce_stop=True)
    metadata = {**result.metadata, "content": describe_input(content),
                "styles": describe_input(styles)}
    if args.style_coarse:
        metadata["coarse_style"] = args.style_coarse
    save_image(result.image, output, metadata)
    if args.sidecar:
        sidecar = {**metadata, "history": previous + progress.records}
        atomic_write_bytes(sidecar_path(output), json.dumps(sidecar, indent=1).encode())
    return _report(result, output, progress.checkpoint_file)


def _masks(args: argparse.Namespace, styles: int, photo_size: tuple[int, int]) -> Any:
    """The run's masks from --masks or --mask-map, checked before the weights load."""
    from .masks import masks_from_map, prepare_masks

    if args.masks and args.mask_map:
        raise OptionsError("give --masks or --mask-map, not both")
    if args.mask_colors and not args.mask_map:
        raise OptionsError("--mask-colors goes with --mask-map")
    if args.mask_map:
        masks, names = masks_from_map(args.mask_map, args.mask_colors, styles)
        return prepare_masks(masks, styles, photo_size, names)
    return prepare_masks(args.masks, styles, photo_size) if args.masks else None


def _report(result: Any, output: Path, checkpoint_file: Path) -> int:
    """The closing line, and the exit status: 0 done, 130 stopped, an error if it failed."""
    size = f"{result.size[0]}x{result.size[1]}"
    seconds = result.metadata["seconds"]
    if result.failed:
        raise GramscopeError(f"{result.history[-1].event}: {output}")
    if checkpoint_file.exists() and not result.stopped:
        checkpoint_file.unlink()  # finished: nothing left to resume
    if result.stopped:
        print(f"stopped at step {result.history[-1].step}; kept the latest image: {output} "
              f"({size}) after {seconds:.1f} s", file=sys.stderr)
        return 130
    first = result.history[0].seconds if result.history else seconds
    print(f"wrote {output} ({size}) in {seconds:.1f} s (first step done after {first:.1f} s)")
    return 0


# ---- entry point ----------------------------------------------------------------------

class OneLineParser(argparse.ArgumentParser):
    """Usage errors in the same one-line form as every other error, exit status 2."""

    def error(self, message: str) -> typing.NoReturn:
        print(f"gramscope: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from .version import version

    parser = OneLineParser(
        prog="gramscope",
        description="Neural style transfer after Gatys, Ecker & Bethge, and a look inside it.",
    )
    parser.add_argument("--version", action="version", version=f"gramscope {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_stylize(subparsers)
    for name in FACE_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version or a usage error (already printed)
        return int(exit_.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except GramscopeError as exc:
        print(f"gramscope: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, OptionsError) else 1
    except KeyboardInterrupt:
        print("gramscope: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("gramscope: error: out of memory; try a smaller --size", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
