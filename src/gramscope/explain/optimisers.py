"""Why the paper used L-BFGS: the same transfer minimised by three optimisers.

Gatys et al. minimise L_total "using L-BFGS"; their update rule, written out, is plain
gradient descent x ← x − η ∇L_total. The three runs here share the photo, the painting,
every option, the seed and the start; only the optimiser differs: gd (that rule, η fixed),
Adam (a per-pixel step size from running gradient moments) and L-BFGS (a step shaped by
an estimate of the curvature from the last few gradients). Each is one call of the engine
(:func:`.runner.render_run`), so the curves are the engine's own step records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from ..deprecation import module_aliases, renamed_function
from ..device import resolve_device
from ..options import Optimizer, StyleOptions, describe_balance
from ..transfer import ImageInput, as_image
from ..vgg import VGG19
from .plotting import Drawing, new_figure, show_image
from .runner import OnStep, Panel, ViewSettings, render_run, total_steps

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Slowest first: the order of the legend and of the pictures.
OPTIMISERS: tuple[Optimizer, ...] = ("gd", "adam", "lbfgs")
NAMES = {"gd": "gradient descent", "adam": "Adam", "lbfgs": "L-BFGS (the paper)"}
COLOURS = {"gd": "#1f77b4", "adam": "#ff7f0e", "lbfgs": "black"}


@dataclass(frozen=True)
class OptimiserSettings(ViewSettings):
    """The view's own settings, and why: one scale, so the curves have no jumps where a
    finer scale starts; 50 steps, well past the ~20 L-BFGS needs to pull ahead at 128 px.
    Three runs of 100 steps at 128 px did not finish in 280 s on a shared two-core CPU.
    (:func:`compare_optimizers` given no options runs the stylisation defaults.)"""

    size: int = 128
    scales: int = 1
    steps: int = 50

    def step_count(self, options: StyleOptions | None = None,
                   optimizers: Sequence[str] = OPTIMISERS) -> int:
        """Optimiser steps :func:`compare_optimizers` takes: one run per optimiser."""
        settings = options or StyleOptions()
        return sum(total_steps(run_options(settings, name, {})) for name in optimizers)


OPTIMISER_SETTINGS = OptimiserSettings()
# The name the tests (and callers before the settings) use.
optimiser_steps = OPTIMISER_SETTINGS.step_count

EXPLANATION = (
    "The same loss minimised from the same start by three optimisers, each at its default "
    "step size. Gradient descent moves every pixel by η times the gradient (scaled to one "
    "pixel level at the first step): a step small enough to be safe where the loss curves "
    "sharply is far too small where it is flat, so it crawls. Adam gives each pixel its own "
    "step, which helps early and then plateaus. L-BFGS estimates the curvature from its "
    "last gradients and takes steps shaped by it, reaching a lower loss in the same steps "
    "for about the same cost per step: why the paper used it."
)


def run_options(options: StyleOptions, optimiser: str,
                step_sizes: Mapping[str, float]) -> StyleOptions:
    """``options`` with ``optimiser`` at the step size ``step_sizes`` names, else its own
    default (:data:`~gramscope.options.DEFAULT_LEARNING_RATES`)."""
    return options.replace(optimizer=optimiser, learning_rate=step_sizes.get(optimiser))


@dataclass
class OptimizerRace(Drawing):
    """One transfer minimised by each optimiser; ``panels`` in :data:`OPTIMISERS` order."""

    content: Image.Image
    style: Image.Image
    options: StyleOptions
    panels: dict[str, Panel]

    def label(self, optimiser: str) -> str:
        step = self.panels[optimiser].options.step_size
        rate = f"η = {step:g}" if optimiser == "gd" else f"step size {step:g}"
        return f"{NAMES[optimiser]}, {rate}"

    def final_losses(self) -> dict[str, float]:
        """L_total at the last step of each run."""
        return {name: panel.final_loss for name, panel in self.panels.items()}

    def summary(self) -> str:
        return "; ".join(f"{self.label(name)}: final L_total {loss:.3g}"
                         for name, loss in self.final_losses().items())

    def figure(self) -> Figure:
        count = len(self.panels)
        figure = new_figure(13, max(4.6, 1.6 * count + 0.4))
        grid = figure.add_gridspec(count, 3, width_ratios=(3, 3, 1.25))
        by_step, by_time = figure.add_subplot(grid[:, 0]), figure.add_subplot(grid[:, 1])
        for i, (name, panel) in enumerate(self.panels.items()):
            steps = [r.step for r in panel.history]
            totals = [r.total for r in panel.history]
            seconds = [r.seconds for r in panel.history]
            style = {"color": COLOURS.get(name), "linewidth": 2.0 if name == "lbfgs" else 1.5}
            by_step.plot(steps, totals, label=self.label(name), **style)
            by_time.plot(seconds, totals, label=self.label(name), **style)
            note = f"{panel.final_loss:.3g} after {steps[-1] if steps else 0} steps"
            show_image(figure.add_subplot(grid[i, 2]), panel.image, NAMES[name],
                       note + (f"; {panel.note}" if panel.note else ""))
        for ax, what in ((by_step, "optimiser step"), (by_time, "seconds")):
            ax.set_yscale("log")
            ax.set_xlabel(what)
            ax.set_ylabel("L_total (log scale)")
            ax.grid(True, which="major", alpha=0.3)
        by_step.legend(fontsize=8)
        by_step.set_title("against steps", fontsize=10)
        by_time.set_title(f"against time on {resolve_device(self.options.device)}",
                          fontsize=10)
        figure.suptitle("Why L-BFGS? The same transfer, three optimisers", fontsize=12)
        figure.text(0.5, 0.01, f"{self.options.size} px, {describe_balance(self.options)}, "
                    f"start: {self.options.init}, seed {self.options.seed}",
                    ha="center", va="bottom", fontsize=8, color="#333333")
        figure.tight_layout(rect=(0, 0.04, 1, 0.96))
        return figure


def compare_optimizers(
    content: ImageInput, style: ImageInput, options: StyleOptions | None = None, *,
    optimizers: Sequence[Optimizer] = OPTIMISERS, step_sizes: Mapping[str, float] | None = None,
    on_step: OnStep | None = None, net: VGG19 | None = None,
    done: dict[str, Panel] | None = None,
) -> OptimizerRace:
    """Run the same transfer with each optimiser (``options.optimizer`` and
    ``options.learning_rate`` are set per run; ``step_sizes`` may name one for any of them).

    ``done`` may hold a run already made with exactly such options (e.g. the report's
    result) so it is not repeated.
    """
    settings = options or StyleOptions()
    sizes = dict(step_sizes or {})
    content_image, style_image = as_image(content), as_image(style)
    panels: dict[str, Panel] = {}
    for name in optimizers:
        run = run_options(settings, name, sizes)
        previous = (done or {}).get(name)
        if previous is not None and (previous.options.optimizer, previous.options.step_size) == (
                name, run.step_size):
            panels[name] = previous
            continue
        panels[name] = render_run(NAMES[name], content_image, style_image, run,
                                  on_step=on_step, net=net)
    return OptimizerRace(content_image, style_image, settings, panels)


# The names before the American spelling (issue 22): deprecated, warning when used.
compare_optimisers = renamed_function(compare_optimizers, "compare_optimisers",
                                      {"optimisers": "optimizers"})
__getattr__ = module_aliases(__name__, {"OptimiserRace": lambda: OptimizerRace})
