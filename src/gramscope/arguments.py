"""The glue between argparse and :class:`~gramscope.options.StyleOptions`, shared by every face.

One ``--flag`` per StyleOptions field, its default, type, choices and help read from the
field (:func:`add_style_options`), and the parsed flags back as options
(:func:`options_from_args`); with them the CONTENT STYLE arguments every face takes
(:func:`image_arguments`) and the check that an output may be written
(:func:`prepare_output`). ``gramscope.cli`` and the faces that add their own subcommands
(explain, demo, batch, sweep, video) import it; it imports none of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import GramscopeError, OptionsError
from .options import RENAMED_FIELDS, StyleOptions


def split_words(text: str) -> list[str]:
    """'a, b c' -> ['a', 'b', 'c']: a list flag's parts, commas or spaces between."""
    return [part for part in text.replace(",", " ").split() if part]


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in split_words(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _counts(text: str) -> int | tuple[int, ...]:
    try:
        parts = [int(part) for part in split_words(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers, got {text!r}") from None
    if not parts:
        raise argparse.ArgumentTypeError("give a step count or one per coarse scale")
    return parts[0] if len(parts) == 1 else tuple(parts)


def _scales(text: str) -> int | tuple[int, ...] | str:
    if text.strip() == "auto":
        return "auto"
    try:
        parts = [int(part) for part in split_words(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of scales or comma-separated sizes, got {text!r}"
        ) from None
    if not parts:
        raise argparse.ArgumentTypeError("give a number of scales or comma-separated sizes")
    return parts[0] if len(parts) == 1 and parts[0] < 16 else tuple(parts)


@functools.cache
def _option_types() -> dict[str, Any]:
    """StyleOptions' annotations, evaluated once: every face adds the style options to its
    parser, and evaluating them per field cost 4.4 s per process on Python 3.12 (measured)."""
    return typing.get_type_hints(StyleOptions)


def _parser_for(field: dataclasses.Field) -> tuple[Callable[[str], Any], str | None]:
    """(converter, metavar) for a StyleOptions field, from its type annotation."""
    annotation = _option_types()[field.name]
    args = set(typing.get_args(annotation))
    if field.name == "scales":
        return _scales, "auto|N|SIZES"
    if field.name == "coarse_steps":
        return _counts, "N|N,N,…"
    if field.name in ("content_layers", "style_layers"):
        return lambda text: tuple(split_words(text)), "LAYERS"
    if tuple[float, ...] in args:
        return _floats, "W,W,…"
    if annotation is float or float in args:
        return float, "X"
    if annotation is int or int in args:
        return int, "N"
    return str, None


def add_style_options(parser: argparse.ArgumentParser, *, skip: Sequence[str] = ()) -> None:
    """One ``--flag`` per StyleOptions field, with its default and help."""
    group = parser.add_argument_group(
        "style options (the paper's defaults, except where a help text says otherwise)")
    added: dict[str, argparse.Action] = {}
    for field in dataclasses.fields(StyleOptions):
        if field.name in skip:
            continue
        flag = "--" + field.name.replace("_", "-")
        default = field.default
        help_text = field.metadata.get("help", "")
        if isinstance(default, bool):
            added[field.name] = group.add_argument(
                flag, dest=field.name, action=argparse.BooleanOptionalAction, default=default,
                help=help_text)
            continue
        converter, metavar = _parser_for(field)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        added[field.name] = group.add_argument(
            flag, dest=field.name, type=converter, default=default, metavar=metavar,
            choices=field.metadata.get("choices"), help=f"{help_text} (default: {shown})",
        )
    for old, new in RENAMED_FIELDS.items():
        if new in added:
            add_renamed_flag(group, "--" + old.replace("_", "-"), added[new])
    if "alpha" not in skip:
        # Deprecated, so not in the help: the balance is stated as --strength, or as
        # --alpha and --beta for experts; --ratio X still sets α = X·β.
        group.add_argument("--ratio", type=float, default=None, help=argparse.SUPPRESS)


def add_renamed_flag(parser: Any, old: str, new: argparse.Action) -> None:
    """``old`` (a flag's earlier spelling) as a hidden alias of the flag ``new``: the same
    destination and values, with a note on stderr when it is used."""

    class Renamed(type(new)):  # type: ignore[misc,valid-type]
        def __call__(self, parser: Any, namespace: Any, values: Any,
                     option_string: str | None = None) -> None:
            print(f"gramscope: {old} is deprecated; use {new.option_strings[0]}",
                  file=sys.stderr)
            super().__call__(parser, namespace, values, option_string)

    settings: dict[str, Any] = {"dest": new.dest, "default": argparse.SUPPRESS,
                                "help": argparse.SUPPRESS}
    if new.nargs != 0:  # a flag that takes a value (not store_true)
        settings.update(type=new.type, choices=new.choices, metavar=new.metavar)
    parser.add_argument(old, action=Renamed, **settings)


def options_from_args(args: argparse.Namespace, **overrides: Any) -> StyleOptions:
    """The StyleOptions the parsed flags (and ``overrides``) ask for; ``--ratio`` sets α."""
    values = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(StyleOptions)
        if hasattr(args, field.name)
    }
    ratio = getattr(args, "ratio", None)
    if ratio is not None and not (math.isfinite(ratio) and ratio >= 0):
        raise OptionsError(f"--ratio must be a finite number zero or more, not {ratio}")
    if ratio is not None:
        print("gramscope: --ratio is deprecated: use --strength, or --alpha and --beta "
              f"(--ratio {ratio:g} is --alpha {ratio:g}×β)", file=sys.stderr)
    values.update(overrides)
    if isinstance(values.get("scales"), tuple) and "size" not in overrides:
        values["size"] = values["scales"][-1]
    options = StyleOptions(**values)
    if ratio is not None and "alpha" not in overrides:
        options = options.with_ratio(ratio)
    return options


def image_arguments(images: Sequence[str]) -> tuple[Path, list[Path]]:
    """CONTENT STYLE… as paths (a sample's name works too); none means the samples."""
    from .samples import DEFAULT_CONTENT, DEFAULT_STYLE, resolve_image_argument, sample_path

    if not images:
        return sample_path(DEFAULT_CONTENT), [sample_path(DEFAULT_STYLE)]
    if len(images) == 1:
        raise OptionsError(
            "give a style image after the content image (or neither, for the samples)"
        )
    return resolve_image_argument(images[0]), [resolve_image_argument(s) for s in images[1:]]


def prepare_output(output: Path, overwrite: bool) -> Path:
    """``output`` checked writable; it and its sidecar are refused if they exist, unless
    ``overwrite``."""
    from .image import check_writable

    output = check_writable(output)
    for path in (output, sidecar_path(output)):
        if path.exists() and not overwrite:
            raise GramscopeError(f"{path} exists; pass --overwrite to replace it")
    return output


def sidecar_path(output: Path) -> Path:
    """OUTPUT.json beside OUTPUT: its parameters and loss history."""
    return output.with_suffix(output.suffix + ".json")
