"""Where each term pulls: per-pixel maps of |∇_x α·L_content| and of each |∇_x β·w_l·E_l|.

The optimiser follows ∇_x L_total = α ∇L_content + β Σ_l w_l ∇E_l (+ the TV term when it
is on). Each map is one of those addends at the picture a run had reached by some step,
its absolute value summed over the colour channels: where that term asks the pixels to
change, and how hard. The addends sum to the total's gradient exactly (the tests check
it against the engine's whole objective), so the maps split the pull, they do not
approximate it.

Each term's gradient comes from the engine's own :class:`~gramscope.objective.Objective`,
built for that one term with the run's options, targets and α at that scale, so the
formulas are the engine's and nothing is written twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from PIL import Image

from .. import losses
from ..device import network_for, resolve_device
from ..errors import OptionsError
from ..image import luminance_only, to_pil
from ..objective import Objective
from ..options import StyleOptions
from ..transfer import ImageInput, Scale, ScaleInputs, as_image
from ..vgg import VGG19
from .plotting import Drawing, new_figure, show_image
from .runner import OnStep, Panel, ViewSettings, render_run, total_steps

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CONTENT = "content"
TV = "tv"


@dataclass(frozen=True)
class PullsSettings(ViewSettings):
    """The view's own settings, and why: one scale, so every row is the same picture size
    and the same objective; 128 px and 60 steps took 70 s on a shared two-core CPU.
    (:func:`pull_maps` given no options runs the stylisation defaults.)"""

    size: int = 128
    scales: int = 1
    steps: int = 60

    def step_count(self, options: StyleOptions | None = None) -> int:
        """Optimiser steps :func:`pull_maps` takes: one run."""
        return total_steps(options or StyleOptions())


PULLS_SETTINGS = PullsSettings()

#: The colour scale of a row spans this many decades below its largest pixel: the terms
#: differ by orders of magnitude, and a linear scale would show only the largest one.
DECADES = 4

EXPLANATION = (
    "Each map is |∂/∂x| of one part of L_total at the picture on the left, summed over the "
    "colour channels: bright where that term pulls the pixels hardest. A row shares one "
    "logarithmic colour scale, so the maps in it compare directly; the number under each is "
    "its total Σ|∇|. The parts' gradients add up exactly to the total's, which is all the "
    "optimiser sees. From a content start the content term pulls nowhere (the picture is "
    "the photo), so the first steps are driven by style alone; as the picture leaves the "
    "photo the content term starts to pull it back."
)


def term_names(options: StyleOptions) -> list[str]:
    """The parts of L_total that can pull: content, each weighted style layer, TV."""
    names = [CONTENT] if options.content_layers and options.content_weight > 0 else []
    if options.beta > 0:
        names += [layer for layer, w in options.layer_weights.items() if w > 0]
    return names + ([TV] if options.tv_weight > 0 else [])


def term_options(options: StyleOptions, term: str) -> StyleOptions:
    """The run's options with every part of L_total but ``term`` switched off."""
    if term == CONTENT:
        return options.replace(style_layers=(), style_layer_weights=None, tv_weight=0.0)
    return options.replace(content_layers=(), style_layers=(term,), tv_weight=0.0,
                           style_layer_weights=(options.layer_weights[term],))


def term_objectives(
    net: VGG19, options: StyleOptions, inputs: ScaleInputs, alpha: float,
) -> dict[str, Objective]:
    """One engine objective per network term at one scale (its targets computed once)."""
    return {term: Objective(net, term_options(options, term), inputs.net_content,
                            inputs.styles, (1.0,), alpha)
            for term in term_names(options) if term != TV}


def term_gradients(
    objectives: dict[str, Objective], options: StyleOptions, image: torch.Tensor,
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """∇_x of each part of L_total at ``image`` (each (1, 3, H, W)), and each part's value
    (α·L_content, β·w_l·E_l, or the weighted TV term)."""
    gradients: dict[str, torch.Tensor] = {}
    values: dict[str, float] = {}
    for term, objective in objectives.items():
        x = image.detach().clone().requires_grad_(True)
        # loss_and_grad differentiates scale·L/norm; with scale = norm that is ∇L itself.
        raw = objective.loss_and_grad(x, objective.norm)
        assert x.grad is not None
        gradients[term] = x.grad.detach()
        values[term] = objective.parts(raw.tolist())["total"]
    if options.tv_weight > 0:
        x = image.detach().clone().requires_grad_(True)
        tv = options.tv_weight * losses.total_variation(x, options.tv_chroma)
        tv.backward()
        assert x.grad is not None
        gradients[TV], values[TV] = x.grad.detach(), float(tv.detach())
    return gradients, values


@dataclass
class PullRow:
    """The pulls at the picture a run had reached after ``step`` steps."""

    step: int
    scale: int
    picture: Image.Image
    maps: dict[str, torch.Tensor]  # term -> (H, W) Σ over colour channels of |∂ term/∂x|
    values: dict[str, float]  # term -> α·L_content, β·w_l·E_l or the TV term

    @property
    def totals(self) -> dict[str, float]:
        """Σ|∇| of each map: how hard each term pulls over the whole picture."""
        return {term: float(m.sum()) for term, m in self.maps.items()}

    def shares(self) -> dict[str, float]:
        """Each term's part of the row's summed Σ|∇| (0 to 1)."""
        totals = self.totals
        whole = sum(totals.values())
        return {term: t / whole if whole > 0 else 0.0 for term, t in totals.items()}


@dataclass
class PullMaps(Drawing):
    """Per-pixel pull of every part of L_total, at a few steps of one run."""

    options: StyleOptions
    rows: list[PullRow]
    run: Panel | None = field(default=None, repr=False)

    def summary(self) -> str:
        """One line per row, e.g. 'step 0: content 0 %, conv1_1 41 %, …'."""
        return "\n".join(
            f"step {row.step}: " + ", ".join(f"{term} {100 * share:.0f} %"
                                             for term, share in row.shares().items())
            for row in self.rows)

    def figure(self) -> Figure:
        from matplotlib.colors import LogNorm

        terms = list(self.rows[0].maps)
        columns = len(terms) + 1
        first = self.rows[0].picture
        aspect = first.height / first.width
        figure = new_figure(1.9 * columns + 1.2, (1.9 * aspect + 0.75) * len(self.rows) + 1.0)
        figure.set_layout_engine("constrained")
        axes = figure.subplots(len(self.rows), columns, squeeze=False)
        for r, row in enumerate(self.rows):
            show_image(axes[r][0], row.picture, "picture" if r == 0 else "",
                       f"{row.picture.width}×{row.picture.height} px")
            axes[r][0].set_ylabel(self.row_label(row), fontsize=10, fontweight="bold")
            top = max((float(m.max()) for m in row.maps.values()), default=0.0)
            norm = LogNorm(vmin=top * 10.0**-DECADES, vmax=top) if top > 0 else None
            shown = None
            for c, term in enumerate(terms, start=1):
                ax = axes[r][c]
                # A zero map (content at a content start) has no log: draw it as the floor.
                data = row.maps[term].clamp_min(top * 10.0**-DECADES if top > 0 else 0.0)
                shown = ax.imshow(data.numpy(), cmap="magma", norm=norm,
                                  interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(term_title(term), fontsize=9)
                ax.set_xlabel(f"Σ|∇| = {row.totals[term]:.2e}", fontsize=8)
            if shown is not None:
                bar = figure.colorbar(shown, ax=list(axes[r][1:]), shrink=0.9, pad=0.01)
                bar.set_label("|∂/∂x| per pixel", fontsize=8)
                bar.ax.tick_params(labelsize=7)
        figure.suptitle("Where each term pulls: |∇ₓ| of each part of L_total", fontsize=12)
        return figure

    def row_label(self, row: PullRow) -> str:
        last = self.rows[-1].step
        when = "start" if row.step == 0 else "end" if row.step == last else "midway"
        return f"step {row.step} ({when})"


def term_title(term: str) -> str:
    if term == CONTENT:
        return "α·L_content"
    if term == TV:
        return "TV term"
    return f"β·w·E  {term}"


def default_steps(options: StyleOptions) -> tuple[int, ...]:
    """The start, the middle (rounded up) and the end of the run."""
    total = total_steps(options)
    return tuple(sorted({0, math.ceil(total / 2), total}))


def image_every(steps: Sequence[int]) -> int:
    """How often a run must hand out its picture to have one at each of ``steps``."""
    return math.gcd(*steps)


def pull_maps(
    content: ImageInput, style: ImageInput, options: StyleOptions | None = None, *,
    at: Sequence[int] | None = None, on_step: OnStep | None = None, net: VGG19 | None = None,
    run: Panel | None = None,
) -> PullMaps:
    """Stylise once, keeping the picture after each step in ``at`` (default: the start, the
    middle and the end), and map each part of L_total's gradient at each of them.

    ``run`` may be a panel already made with these options whose history carries the
    pictures at those steps (``image_every``), e.g. the report's result.
    """
    settings = options or StyleOptions()
    steps = tuple(sorted(set(at))) if at is not None else default_steps(settings)
    last = total_steps(settings)
    if not steps or steps[0] < 0 or steps[-1] > last:
        raise OptionsError(f"steps to map must be from 0 to the run's {last} steps, not "
                           f"{', '.join(map(str, steps)) or 'none'}")
    if not term_names(settings):
        raise OptionsError("no part of L_total has a weight; nothing pulls")
    content_image, style_image = as_image(content), as_image(style)
    net = net or network_for(settings)
    if run is None:
        run = render_run("pulls", content_image, style_image, settings, on_step=on_step,
                         net=net, image_every=image_every(steps))
    settings = run.options  # a diverged run is made again from the next seed (runner.py)
    pictures = {r.step: (r.scale, r.image) for r in run.history if r.image is not None}
    missing = [s for s in steps if s > 0 and s not in pictures]
    if missing:
        raise OptionsError(f"the run kept no picture at step {missing[0]}")
    device = resolve_device(settings.device)
    by_scale: dict[int, tuple[Scale, dict[str, Objective]]] = {}
    rows = []
    for step in steps:
        scale = 0 if step == 0 else pictures[step][0]
        if scale not in by_scale:
            built = Scale.of(settings, content_image, [style_image], scale, device)
            by_scale[scale] = built, term_objectives(net, settings, built.inputs, built.alpha)
        built, objectives = by_scale[scale]
        picture = first_image(settings, built).cpu() if step == 0 else pictures[step][1]
        image = network_image(picture, settings).to(device)
        gradients, values = term_gradients(objectives, settings, image)
        maps = {term: g.abs().sum(dim=1)[0].float().cpu() for term, g in gradients.items()}
        rows.append(PullRow(step, scale, to_pil(picture.clamp(0, 255)), maps, values))
    return PullMaps(settings, rows, run)


def first_image(options: StyleOptions, scale: Scale) -> torch.Tensor:
    """The engine's start (the photo, the seed's noise or an image file) at scale 0."""
    return scale.start(options, torch.Generator().manual_seed(options.seed))


def network_image(picture: torch.Tensor, options: StyleOptions) -> torch.Tensor:
    """What the network sees of a recorded picture: with ``color='luminance'`` the engine
    optimises a grey luminance image and hands it out with the photo's colours around it,
    so the luminance is taken back out (the start is grey already)."""
    return luminance_only(picture) if options.color == "luminance" else picture
