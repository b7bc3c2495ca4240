"""How explain's figures run the engine: each panel is one :func:`gramscope.api.stylize`.

Every reconstruction, synthesis and grid cell goes through the same consumer path as
``gramscope stylize``; :func:`render_run` keeps its picture and history as a :class:`Panel`
and forwards each step to an ``on_step(label, record)`` callback, which the CLI turns into
one progress bar per figure. Each view's own defaults are one frozen
:class:`ViewSettings` in its module, read by the CLI, the demo's tabs and the report.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PIL import Image

from ..api import stylize
from ..masks import Masks
from ..options import StyleOptions
from ..transfer import DIVERGENCE_FACTOR, ImageInput, StepRecord
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
    label: str, content: ImageInput, style: ImageInput | Sequence[ImageInput],
    options: StyleOptions, *, on_step: OnStep | None = None, net: VGG19 | None = None,
    image_every: int = 0, masks: Masks | None = None,
) -> Panel:
    """Stylise once and keep the picture, its history and what made it as a panel.

    ``image_every`` (as in :func:`~gramscope.api.stylize`) makes every k-th record of the
    history carry the picture at that step, for views that look at a run midway; ``masks``
    (one per style image) are handed to it too.

    The engine already restarts a scale whose loss blew up; a run that still ends far above
    its best (see :func:`diverged`) is made once more from the next seed, through the same
    call, so one unlucky cell does not spoil a figure; the panel's note says so.
    """
    panel = _render_once(label, content, style, options, on_step, net, image_every, masks)
    if diverged(panel.history):
        retry = _render_once(label, content, style, options.replace(seed=options.seed + 1),
                             on_step, net, image_every, masks)
        retry.seconds += panel.seconds
        retry.note = f"seed {options.seed + 1} (seed {options.seed} diverged)"
        return retry
    return panel


def _render_once(
    label: str, content: ImageInput, style: ImageInput | Sequence[ImageInput],
    options: StyleOptions, on_step: OnStep | None, net: VGG19 | None, image_every: int = 0,
    masks: Masks | None = None,
) -> Panel:
    forward = None if on_step is None else (lambda record: on_step(label, record))
    started = time.perf_counter()
    result = stylize(content, style, options=options, net=net, on_step=forward,
                     image_every=image_every, masks=masks)
    if result.stopped:
        # stylize turns Ctrl-C into "stop after this step"; a figure stops as a whole.
        raise KeyboardInterrupt
    return Panel(label, result.image, options, result.history, time.perf_counter() - started)


def total_steps(options: StyleOptions) -> int:
    """Steps one run of ``options`` takes: what a progress bar counts towards."""
    return sum(options.steps_per_scale)


@dataclass(frozen=True)
class ViewSettings:
    """A view's own settings: the StyleOptions fields it sets differently from a
    stylisation, and the knobs only it has (named in :attr:`OWN`). The one place a view's
    defaults live; ``gramscope explain``, the demo's tabs and the report read them."""

    #: The fields that are the view's own knobs, not StyleOptions fields.
    OWN: ClassVar[tuple[str, ...]] = ()

    def style_fields(self) -> dict[str, Any]:
        """The settings that are StyleOptions fields, as ``StyleOptions(**…)``,
        ``options.replace(**…)`` and argparse's ``set_defaults`` take them."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in self.OWN}
