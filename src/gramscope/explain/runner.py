"""How explain's long figures run the engine and report progress.

Every reconstruction, synthesis and grid cell is one call of :func:`gramscope.transfer.run`;
:func:`render_run` consumes its stream to the final image and forwards each step to an
``on_step(label, record)`` callback, which the CLI turns into one progress bar per figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from ..errors import GramscopeError
from ..image import to_pil
from ..options import StyleOptions
from ..transfer import DIVERGENCE_FACTOR, ImageInput, StepRecord, run
from ..vgg import VGG19

#: Called after every optimiser step of every panel: (panel label, the engine's record).
OnStep = Callable[[str, StepRecord], None]


@dataclass
class Panel:
    """One picture of a figure, with what made it."""

    label: str
    image: Image.Image
    options: StyleOptions
    history: list[StepRecord] = field(default_factory=list, repr=False)
    seconds: float = 0.0
    note: str = ""  # a measured number shown under the picture (e.g. PSNR)

    @property
    def final_loss(self) -> float:
        return self.history[-1].total if self.history else float("nan")


#: A run whose last loss is this many times its best at the final scale has diverged: the
#: engine's own threshold, so both sides agree on what divergence is.
DIVERGED = DIVERGENCE_FACTOR


def diverged(history: list[StepRecord]) -> bool:
    """L-BFGS without a line search can leap to a saturated image and stay there (seen in
    about one figure cell in twenty); its loss then ends far above the best it reached."""
    if not history:
        return False
    last = history[-1]
    best = min(r.total for r in history if r.scale == last.scale)
    return not last.total <= DIVERGED * best


def render_run(
    label: str, content: ImageInput, style: ImageInput, options: StyleOptions, *,
    on_step: OnStep | None = None, net: VGG19 | None = None,
) -> Panel:
    """Run the engine to its end and keep the last image it hands over.

    A run that diverged (see :func:`diverged`) is made once more from the next seed, so one
    unlucky cell does not spoil a figure; the panel's note says so.
    """
    panel = _render_once(label, content, style, options, on_step, net)
    if diverged(panel.history):
        retry = _render_once(label, content, style, options.replace(seed=options.seed + 1),
                             on_step, net)
        retry.seconds += panel.seconds
        retry.note = f"seed {options.seed + 1} (seed {options.seed} diverged)"
        return retry
    return panel


def _render_once(
    label: str, content: ImageInput, style: ImageInput, options: StyleOptions,
    on_step: OnStep | None, net: VGG19 | None,
) -> Panel:
    started = time.perf_counter()
    history: list[StepRecord] = []
    latest = None
    for record in run(content, style, options, net=net):
        history.append(record)
        if record.image is not None:
            latest = record.image
        if on_step is not None:
            on_step(label, record)
    if latest is None:
        raise GramscopeError(f"{label}: the engine produced no image")
    return Panel(label, to_pil(latest), options, history, time.perf_counter() - started)


def total_steps(options: StyleOptions) -> int:
    """Steps one run of ``options`` takes: what a progress bar counts towards."""
    return sum(options.steps_per_scale)


def network(options: StyleOptions) -> VGG19:
    """The engine's own cached network for ``options`` (same weights, pooling, scaling)."""
    from ..device import cached_vgg19, resolve_device

    return cached_vgg19(options.weights, options.pooling, options.normalisation,
                        str(resolve_device(options.device)))
