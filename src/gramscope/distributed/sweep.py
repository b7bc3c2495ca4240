"""``gramscope sweep``: a Cartesian grid of settings, one job per cell, one contact sheet.

The paper's Figure 3 is such a grid: rows add style layers (conv1_1, then up to conv2_1, …,
conv5_1), columns move the balance of content and style (here ``--strength``, the style
strength). The cells come from :mod:`gramscope.options_grid`, as Figure 3's do; this module
parses ``--vary`` axes, runs the cells and draws the sheet. Every label on the sheet shows
a value actually used, and the title the settings every cell shares (α and β among them).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..arguments import add_style_options
from ..errors import OptionsError
from ..options import StyleOptions
from ..options_grid import Axis, Cell, grid, strength_axis, style_layers_axis
from .executors import Backend, Summary, execute
from .jobs import ImageJob

__all__ = [
    "Axis", "Cell", "contact_sheet", "field_axis", "grid", "plan_sweep", "run_sweep",
    "strength_axis", "style_layers_axis",
]


def field_axis(name: str, texts: Sequence[str]) -> Axis:
    """Any StyleOptions field, its values parsed exactly as the CLI parses that flag."""
    fields = {f.name: f for f in dataclasses.fields(StyleOptions)}
    key = name.replace("-", "_")
    if key not in fields:
        raise OptionsError(f"--vary: no setting called {name!r}; choose from {', '.join(fields)}")
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    add_style_options(parser)
    flag = "--" + key.replace("_", "-")
    values = []
    for text in texts:
        if isinstance(fields[key].default, bool):
            if text.lower() not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
                raise OptionsError(f"--vary {name}: expected true or false, got {text!r}")
            argv = [flag if text.lower() in ("true", "yes", "on", "1") else f"--no-{flag[2:]}"]
        else:
            argv = [f"{flag}={text}"]
        try:
            namespace, _ = parser.parse_known_args(argv)
        except argparse.ArgumentError as exc:
            raise OptionsError(f"--vary {name}: {exc.message}") from None
        values.append((text, {key: getattr(namespace, key)}))
    return Axis(key, tuple(values))


def plan_sweep(
    content: Path, styles: Sequence[Path], cells: Sequence[Cell], cells_dir: Path
) -> list[ImageJob]:
    """One job per cell, written to ``cells_dir/NNN_<labels>.png``."""
    jobs = []
    for index, cell in enumerate(cells):
        slug = re.sub(r"[^A-Za-z0-9.+-]+", "_", "_".join(cell.labels)).strip("_")[:80]
        jobs.append(ImageJob(content, tuple(styles), cell.options,
                             cells_dir / f"{index:03d}_{slug}.png", label=", ".join(cell.labels)))
    return jobs


def contact_sheet(
    images: Sequence[Image.Image | None],
    cells: Sequence[Cell],
    columns: int,
    title: str = "",
) -> Image.Image:
    """Images in a grid of ``columns``: column headers from each cell's last label, row
    labels from the others, ``title`` on top; a missing (failed) image is a grey box."""
    font = _font()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line = probe.textbbox((0, 0), "Ag", font=font)[3] + 4
    pad = 6
    present = [im for im in images if im is not None]
    cell_w = max((im.width for im in present), default=64)
    cell_h = max((im.height for im in present), default=64)
    rows = (len(cells) + columns - 1) // columns
    row_labels = ["\n".join(cells[r * columns].labels[:-1]) for r in range(rows)]
    col_labels = [cells[c].labels[-1] for c in range(min(columns, len(cells)))]
    # A column is as wide as its picture or its longest unbreakable piece of label.
    col_w = max([cell_w] + [probe.textbbox((0, 0), token, font=font)[2]
                            for text in col_labels for token in _tokens(text)])
    label_w = max((probe.multiline_textbbox((0, 0), t, font=font)[2] for t in row_labels
                   if t), default=0)
    label_w = label_w + 2 * pad if label_w else 0
    wrapped = ["\n".join(_wrap(t, col_w, font, probe)) for t in col_labels]
    col_lines = max(text.count("\n") + 1 for text in wrapped)
    top = (line + pad if title else 0) + col_lines * line + pad
    title_w = probe.textbbox((0, 0), title, font=font)[2] + 2 * pad if title else 0
    width = max(label_w + columns * (col_w + pad) + pad, title_w)
    row_h = max(cell_h, (row_labels[0].count("\n") + 1) * line)
    height = top + rows * (row_h + pad) + pad
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, pad // 2), title, fill="black", font=font)
    for c, text in enumerate(wrapped):
        x = label_w + pad + c * (col_w + pad)
        draw.multiline_text((x, top - col_lines * line - pad // 2), text, fill="black", font=font)
    for r, text in enumerate(row_labels):
        draw.multiline_text((pad, top + r * (row_h + pad) + pad), text, fill="black", font=font)
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        x, y = label_w + pad + c * (col_w + pad), top + r * (row_h + pad)
        if image is None:
            draw.rectangle((x, y, x + col_w - 1, y + cell_h - 1), fill=(200, 200, 200))
            draw.text((x + pad, y + pad), "failed", fill="black", font=font)
        else:
            sheet.paste(image, (x + (col_w - image.width) // 2, y))
    return sheet


def _title(content: Path, styles: Sequence[Path], base: StyleOptions, axes: Sequence[Axis]) -> str:
    """Inputs and the settings every cell shares (those an axis changes are on the labels)."""
    varied = {key for axis in axes for _, change in axis.values for key in change}
    names = ["size", "coarse_steps", "steps", "strength", "alpha", "beta"]
    if len(base.scale_sizes) == 1:
        names.remove("coarse_steps")  # a single scale has no coarse steps
    shared = [f"{name.replace('_', ' ')} {getattr(base, name):g}" for name in names
              if name not in varied]
    return f"{content.name} x {', '.join(s.name for s in styles)}: " + ", ".join(shared)


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=12)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _tokens(text: str) -> list[str]:
    """A label's pieces that may start a new line: after spaces, '+' and ','."""
    return re.split(r"(?<=[ +,])", text)


def _wrap(text: str, width: int, font: Any, draw: ImageDraw.ImageDraw) -> list[str]:
    """Break a label between :func:`_tokens` so it fits over a column ``width`` px wide."""
    lines, current = [], ""
    for token in _tokens(text):
        candidate = current + token
        if current and draw.textbbox((0, 0), candidate, font=font)[2] > width:
            lines.append(current.rstrip())
            current = token
        else:
            current = candidate
    return [*lines, current.rstrip()] if current else lines or [""]


def run_sweep(
    content: Path,
    styles: Sequence[Path],
    base: StyleOptions,
    axes: Sequence[Axis],
    output: Path,
    backend: Backend,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> tuple[Summary, Path]:
    """Run every cell on an entered backend, then write the contact sheet to ``output``.

    Cells go to ``OUTPUT_cells/`` and are skipped on a rerun when already done; the sheet
    is always redrawn and carries every cell's label and options in its metadata.
    """
    from ..image import check_writable, save_image

    output = check_writable(output)
    if output.suffix.lower() != ".png":
        raise OptionsError(f"the sweep sheet {output} must be a .png (it carries the grid)")
    cells = grid(base, axes)
    cells_dir = output.with_name(output.stem + "_cells")
    cells_dir.mkdir(exist_ok=True)
    jobs = plan_sweep(content, styles, cells, cells_dir)
    summary = execute(jobs, backend, overwrite=overwrite, progress=progress, unit="cell")
    images = []
    for job, outcome in zip(jobs, summary.outcomes, strict=True):
        if outcome.status == "failed":
            images.append(None)
        else:
            with Image.open(job.output) as im:
                images.append(im.convert("RGB"))
    sheet = contact_sheet(images, cells, len(axes[-1].values), _title(content, styles, base,
                                                                       axes))
    metadata = {"sweep": [{"labels": list(cell.labels), "options": cell.options.to_dict(),
                           "output": str(job.output), "status": outcome.status}
                          for cell, job, outcome in zip(cells, jobs, summary.outcomes,
                                                        strict=True)]}
    save_image(sheet, output, metadata)
    return summary, output
