"""What each layer paints: the style matched on one layer at a time.

Figure 1's bottom row adds layers (conv1_1, then conv1_1 + conv2_1, …), so each panel
mixes every scale below it. Here each column puts the whole style term on *one* layer:

- top row: a texture synthesised from white noise that matches the painting's Gram matrix
  on that layer alone (Σ_l w_l E_l with one term, w_l = 1);
- bottom row: the photo → painting transfer with ``style_layers=(layer,)`` and every other
  setting as given (default: a stylisation's defaults, at this view's size and steps).

The paper's account (Gatys, Ecker & Bethge 2015/2016): a low layer sees a few pixels, so
its Gram matrix holds colours and brushstroke texture; middle layers hold swirls and
repeated patterns; the highest layers hold larger structures. Under each panel is E_l on
its own layer, measured again on the finished picture, and the lowest E on that layer
among the other panels of the row: the check that each panel matched what it was made
for. :attr:`LayerPaintings.errors` holds every panel's E on every layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from PIL import Image

from ..device import network_for
from ..image import resize_long_side
from ..losses import gram_error, normalised_gram
from ..options import StyleOptions, describe_balance
from ..transfer import ImageInput, as_image
from ..vgg import VGG19, canonical_layer
from .features import feature_maps
from .figure1 import FIGURE1_SETTINGS, style_synthesis_options
from .plotting import Drawing, panel_figure
from .runner import OnStep, Panel, ViewSettings, render_run, total_steps

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Row names, also the keys of :attr:`LayerPaintings.panels` and ``errors``.
ROWS = ("texture", "transfer")
ROW_LABELS = {"texture": "texture from noise", "transfer": "photo → painting"}


def texture_options(options: StyleOptions, layer: str) -> StyleOptions:
    """From white noise, only E_l of ``layer`` (Figure 1's synthesis with one layer)."""
    return style_synthesis_options(options, (layer,))


def transfer_options(options: StyleOptions, layer: str) -> StyleOptions:
    """``options`` with all of β on ``layer``: style_layers=(layer,), w_l = 1."""
    return options.replace(style_layers=(canonical_layer(layer),), style_layer_weights=None)


ROW_OPTIONS = {"texture": texture_options, "transfer": transfer_options}


def layer_runs(settings: StyleOptions) -> list[tuple[str, str, StyleOptions]]:
    """(row, layer, the run's options) of each panel, in the order :func:`layer_paintings`
    makes them: every layer of ``settings.style_layers`` in each row of :data:`ROWS`."""
    layers = [canonical_layer(name) for name in settings.style_layers]
    return [(row, layer, ROW_OPTIONS[row](settings, layer)) for row in ROWS for layer in layers]


@dataclass(frozen=True)
class LayersSettings(ViewSettings):
    """Figure 1's settings and reasons (one scale, average pooling, 128 px, 150 steps: ten
    panels in about fifteen minutes on one busy core), without its five content layers: the
    transfer row uses the stylisation's content layer."""

    size: int = FIGURE1_SETTINGS.size
    scales: int = FIGURE1_SETTINGS.scales
    steps: int = FIGURE1_SETTINGS.steps
    pooling: str = FIGURE1_SETTINGS.pooling

    def options(self, options: StyleOptions | None = None) -> StyleOptions:
        """``options`` as given, or the stylisation defaults with these settings."""
        return options if options is not None else StyleOptions(**self.style_fields())

    def step_count(self, options: StyleOptions | None = None) -> int:
        """Total optimiser steps of :func:`layer_paintings`: the length of its progress bar."""
        return sum(total_steps(run) for _, _, run in layer_runs(self.options(options)))


LAYERS_SETTINGS = LayersSettings()
# The names the tests (and callers before the settings) use.
LAYERS_DEFAULTS = LAYERS_SETTINGS.style_fields()
layers_steps = LAYERS_SETTINGS.step_count


def gram_targets(
    style: ImageInput, layers: Sequence[str], size: int, net: VGG19
) -> dict[str, torch.Tensor]:
    """A/M of ``style`` at ``size`` px (long side) on each layer, (N_l, N_l) each."""
    features = feature_maps(style, list(layers), size=size, net=net)
    return {layer: normalised_gram(features[layer]) for layer in layers}


def style_errors(
    image: ImageInput, targets: dict[str, torch.Tensor], size: int, net: VGG19
) -> dict[str, float]:
    """E_l = Σ (G/M − A/M)² / (4 N_l²) of ``image`` against each target Gram."""
    features = feature_maps(image, list(targets), size=size, net=net)
    return {layer: float(gram_error(normalised_gram(features[layer]), target, target.shape[0]))
            for layer, target in targets.items()}


@dataclass
class LayerPaintings(Drawing):
    """One texture and one transfer per style layer, and every panel's E on every layer."""

    content: Image.Image
    style: Image.Image
    options: StyleOptions
    layers: tuple[str, ...]
    panels: dict[str, list[Panel]] = field(default_factory=dict)  # row -> one per layer
    errors: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # row -> E_l

    def own_error(self, row: str, column: int) -> float:
        """E on the layer the panel was made for."""
        return self.errors[row][column][self.layers[column]]

    def lowest_other_error(self, row: str, column: int) -> float:
        """The lowest E on the same layer among the row's other panels."""
        layer = self.layers[column]
        return min((e[layer] for i, e in enumerate(self.errors[row]) if i != column),
                   default=float("nan"))

    def note(self, row: str, column: int) -> str:
        return (f"E = {self.own_error(row, column):.2g}; "
                f"others ≥ {self.lowest_other_error(row, column):.2g}")

    def figure(self) -> Figure:
        rows = [[(p.image, f"{p.label} alone", self.note(row, c))
                 for c, p in enumerate(self.panels[row])] for row in ROWS if row in self.panels]
        steps = " + ".join(map(str, self.options.steps_per_scale))
        return panel_figure(
            rows, row_labels=[ROW_LABELS[row] for row in ROWS if row in self.panels],
            title="What each layer paints: the style matched on one layer at a time",
            footer=(
                f"Top: noise → {steps} L-BFGS steps on one Gram matrix. Bottom: the photo with "
                f"all of β on one layer ({describe_balance(self.options)}). Under each: E_l of the "
                "picture on its own layer, and the least any other panel of the row reaches."
            ),
        )


def layer_paintings(
    content: ImageInput, style: ImageInput, options: StyleOptions | None = None, *,
    on_step: OnStep | None = None, net: VGG19 | None = None,
) -> LayerPaintings:
    """Synthesise ``style``'s texture and stylise ``content`` once per layer of
    ``options.style_layers``, each with the style term on that layer alone, then measure
    every panel's E_l on every one of those layers.

    Default options: :data:`LAYERS_SETTINGS` (the paper's five style layers).
    """
    settings = LAYERS_SETTINGS.options(options)
    layers = tuple(canonical_layer(name) for name in settings.style_layers)
    result = LayerPaintings(as_image(content), as_image(style), settings, layers,
                            {row: [] for row in ROWS})
    for row, layer, run in layer_runs(settings):
        # A texture needs only the canvas shape: the style image stands in as content.
        source = result.style if row == "texture" else result.content
        result.panels[row].append(
            render_run(layer, source, result.style, run, on_step=on_step, net=net))
    measure = net or network_for(settings)
    targets = gram_targets(resize_long_side(result.style, settings.size), layers,
                           settings.size, measure)
    for row, panels in result.panels.items():
        result.errors[row] = [style_errors(p.image, targets, settings.size, measure)
                              for p in panels]
    return result
