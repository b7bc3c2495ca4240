"""Labelled figures with matplotlib's Agg canvas (no display, no pyplot state).

matplotlib is imported inside functions so that ``import gramscope`` and
``gramscope stylize`` never pay for it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from ..errors import GramscopeError
from ..image import atomic_write_bytes, check_writable

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class Drawing:
    """A view drawn as one matplotlib figure, saved as PNG bytes or a PNG file."""

    def figure(self) -> Figure:
        raise NotImplementedError

    def png(self) -> bytes:
        return figure_png(self.figure())

    def save(self, path: str | Path) -> Path:
        return save_png(self.png(), path)


def new_figure(width: float, height: float) -> Figure:
    """A figure drawn by Agg, independent of any global pyplot state."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise GramscopeError(
            "figures need matplotlib: pip install 'gramscope[explain]'"
        ) from None
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def show_image(ax: Any, image: Image.Image, title: str = "", note: str = "") -> None:
    """A picture without axes ticks, a title above and a small measured note below."""
    ax.imshow(image, interpolation="lanczos")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    if note:
        ax.set_xlabel(note, fontsize=8, color="#444444")


def panel_figure(
    rows: Sequence[Sequence[tuple[Image.Image, str, str]]], *, row_labels: Sequence[str],
    title: str, footer: str = "", panel_inches: float = 2.2,
) -> Figure:
    """A grid of (image, title, note) cells; each row labelled on its left."""
    n_rows = len(rows)
    n_cols = max(len(row) for row in rows)
    first = rows[0][0][0]
    aspect = first.height / first.width
    figure = new_figure(panel_inches * n_cols + 0.6,
                        panel_inches * aspect * n_rows + 0.55 * n_rows + 0.6 + 0.3 * bool(footer))
    axes = figure.subplots(n_rows, n_cols, squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            if c < len(row):
                image, cell_title, note = row[c]
                show_image(ax, image, cell_title, note)
            else:
                ax.set_axis_off()
        axes[r][0].set_ylabel(row_labels[r], fontsize=10, fontweight="bold")
    figure.suptitle(title, fontsize=12)
    if footer:
        figure.text(0.5, 0.01, footer, ha="center", va="bottom", fontsize=8, color="#333333",
                    wrap=True)
    figure.tight_layout(rect=(0, 0.04 if footer else 0, 1, 0.97))
    return figure


def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes (what the report embeds and what is saved beside it)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    # Agg writes RGBA with an opaque background; as optimised RGB the file is ~15 % smaller
    # (docs figures stay under 1.5 MB) and looks the same.
    buffer.seek(0)
    with Image.open(buffer) as rendered:
        rgb = rendered.convert("RGB")
    out = io.BytesIO()
    rgb.save(out, format="PNG", optimize=True)
    return out.getvalue()


def save_png(data: bytes, path: str | Path) -> Path:
    """Write PNG bytes atomically, failing with a one-line message if the path is bad."""
    path = check_writable(path)
    if path.suffix.lower() != ".png":
        raise GramscopeError(f"figures are PNG files; give a name ending in .png, not {path}")
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise GramscopeError(f"could not write {path}: {exc.strerror or exc}") from None
    return path
