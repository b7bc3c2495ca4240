"""Why Gram matrices? The same transfer with two style representations, side by side.

Li, Wang, Liu & Hou (2017), "Demystifying Neural Style Transfer": matching Gram matrices
is minimising the maximum mean discrepancy between the two sets of feature vectors {f_k}
(one per position) with the kernel k(x, y) = (xᵀy)²; matching only each channel's mean and
standard deviation (the statistics batch normalisation keeps) is another distribution
match that also transfers style. The Gram keeps which channels fire *together*; mean/std
treats every channel on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from ..image import resize_long_side
from ..options import StyleOptions, describe_balance
from ..transfer import ImageInput, as_image
from ..vgg import VGG19
from .plotting import Drawing, panel_figure
from .runner import OnStep, Panel, ViewSettings, render_run, total_steps

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EXPLANATION = (
    "Both results minimise the same α·L_content plus a style term on the same layers; only "
    "the style statistic differs. Gram matching (the paper) compares G_ij = Σ_k F_ik F_jk, "
    "which Li et al. (2017) showed is a maximum mean discrepancy between the style's and the "
    "result's feature vectors with the polynomial kernel (xᵀy)². Mean/std matching compares "
    "only each channel's average and spread, so it cannot ask two features to appear "
    "together; it still moves colours and stroke statistics, but tends to keep less of the "
    "style's structure. The two errors have different sizes, so the same α/β does not give "
    "the same balance."
)

LABELS = {"gram": "Gram matrices (the paper)", "mean-std": "channel mean & std (Li et al. 2017)"}


@dataclass
class Comparison(Drawing):
    """One content/style pair stylised with each style representation."""

    content: Image.Image
    style: Image.Image
    options: StyleOptions
    panels: dict[str, Panel]

    def figure(self) -> Figure:
        size = self.options.size
        row = [(resize_long_side(self.content, size), "content", ""),
               (resize_long_side(self.style, size), "style", "")]
        row += [(p.image, LABELS[name], f"{p.seconds:.0f} s") for name, p in self.panels.items()]
        return panel_figure(
            [row], row_labels=[""], panel_inches=3.2,
            title="Why Gram matrices? The same transfer, two style statistics",
            footer=f"{describe_balance(self.options)}, "
                   f"style layers {', '.join(self.options.style_layers)}; "
                   f"{sum(self.options.steps_per_scale)} steps each.",
        )


def representation_options(options: StyleOptions, representation: str) -> StyleOptions:
    """``options`` matching the style with ``representation`` ('gram' or 'mean-std')."""
    return options.replace(style_representation=representation)


@dataclass(frozen=True)
class ComparisonSettings(ViewSettings):
    """The view has no settings of its own: it runs the options it is given, or the
    stylisation defaults, once per style representation."""

    def step_count(self, options: StyleOptions | None = None) -> int:
        """Optimiser steps :func:`compare_representations` takes: one run per
        representation in :data:`LABELS`."""
        settings = options or StyleOptions()
        return sum(total_steps(representation_options(settings, name)) for name in LABELS)


COMPARISON_SETTINGS = ComparisonSettings()


def compare_representations(
    content: ImageInput, style: ImageInput, options: StyleOptions | None = None, *,
    on_step: OnStep | None = None, net: VGG19 | None = None,
    done: dict[str, Panel] | None = None,
) -> Comparison:
    """Run the transfer with ``style_representation`` 'gram' and 'mean-std'.

    ``done`` may hold a run already made (e.g. the report's result) so it is not repeated.
    """
    settings = options or StyleOptions()
    content_image, style_image = as_image(content), as_image(style)
    panels = dict(done or {})
    for representation in LABELS:
        if representation not in panels:
            panels[representation] = render_run(
                LABELS[representation], content_image, style_image,
                representation_options(settings, representation),
                on_step=on_step, net=net)
    return Comparison(content_image, style_image, settings,
                      {name: panels[name] for name in LABELS})
