"""Loss anatomy: how α·L_content and each layer's β·w_l·E_l move during a run.

Built only from the engine's :class:`~gramscope.transfer.StepRecord` stream (a live run, a
``gramscope stylize`` sidecar's ``history``, or a :class:`~gramscope.Result`). Each style
term is multiplied by β so that every curve is a part of L_total = α L_content + β Σ w_l E_l
and the curves can be compared directly: the highest one is what the optimiser is working
on at that step. A video frame tied to the one before (temporal.py) has a third kind of
term, the weighted temporal loss λ·L_temporal, drawn beside them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import GramscopeError
from ..image import atomic_write_bytes
from ..transfer import StepRecord
from .plotting import figure_png, new_figure, save_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CONTENT = "content"
TEMPORAL = "temporal"
#: How each kind of term is named in figures and summaries (a style layer: by its name).
TERM_LABELS = {CONTENT: "α·L_content", TEMPORAL: "λ·L_temporal"}


def _label(name: str, joiner: str = " of ") -> str:
    return TERM_LABELS.get(name, f"β·w·E{joiner}{name}")


@dataclass
class Phase:
    """A run of consecutive steps during which one term was the largest."""

    term: str
    first_step: int
    last_step: int


@dataclass
class LossAnatomy:
    """Per-step loss terms: ``terms[name][i]`` belongs to ``steps[i]``."""

    steps: list[int]
    scales: list[int]
    terms: dict[str, list[float]]  # "content" -> α·L_content, layer -> β·w_l·E_l,
    # "temporal" -> λ·L_temporal (a video frame's, only when the run had one)
    total: list[float]

    @classmethod
    def from_records(cls, records: Iterable[StepRecord | Mapping[str, Any]]) -> LossAnatomy:
        """From StepRecords or their ``to_dict()`` form (a stylize sidecar's ``history``)."""
        rows = [r.to_dict() if isinstance(r, StepRecord) else dict(r) for r in records]
        rows = [r for r in rows if r.get("step", 0) > 0]  # step 0: a run with no steps
        if not rows:
            raise GramscopeError("no optimiser steps recorded; nothing to draw")
        layers = list(dict.fromkeys(layer for r in rows for layer in r["style"]))
        terms: dict[str, list[float]] = {}
        if any(r["content"] for r in rows):
            terms[CONTENT] = [float(r["content"]) for r in rows]
        for layer in layers:
            terms[layer] = [float(r["beta"]) * float(r["style"].get(layer, 0.0)) for r in rows]
        if any(r.get(TEMPORAL) is not None for r in rows):
            terms[TEMPORAL] = [float(r.get(TEMPORAL) or 0.0) for r in rows]
        return cls([int(r["step"]) for r in rows], [int(r["scale"]) for r in rows], terms,
                   [float(r["total"]) for r in rows])

    @classmethod
    def from_sidecar(cls, path: str | Path) -> LossAnatomy:
        """From the JSON file ``gramscope stylize`` writes beside its result."""
        try:
            data = json.loads(Path(path).read_text())
            return cls.from_records(data["history"])
        except FileNotFoundError:
            raise GramscopeError(f"{path} does not exist") from None
        except (OSError, ValueError, KeyError, TypeError):
            raise GramscopeError(
                f"{path} is not a gramscope sidecar with a loss history (OUTPUT.png.json)"
            ) from None

    def dominant(self) -> list[str]:
        """The largest term at each step."""
        names = list(self.terms)
        return [max(names, key=lambda n: self.terms[n][i]) for i in range(len(self.steps))]

    def phases(self) -> list[Phase]:
        """Consecutive steps grouped by their dominant term: which layer dominates when."""
        phases: list[Phase] = []
        for step, term in zip(self.steps, self.dominant(), strict=True):
            if phases and phases[-1].term == term:
                phases[-1].last_step = step
            else:
                phases.append(Phase(term, step, step))
        return phases

    def summary(self) -> str:
        """One sentence per phase, e.g. 'steps 1–12: conv4_1 (style) is the largest term'."""
        parts = []
        for phase in self.phases():
            kind = _label(phase.term)
            span = (f"step {phase.first_step}" if phase.first_step == phase.last_step
                    else f"steps {phase.first_step}–{phase.last_step}")
            parts.append(f"{span}: {kind}")
        return "; ".join(parts)

    def scale_starts(self) -> list[int]:
        """First step of each coarse-to-fine scale after the first."""
        return [s for s, prev, cur in zip(self.steps[1:], self.scales[:-1], self.scales[1:],
                                          strict=True) if cur != prev]

    def rows(self) -> list[dict[str, Any]]:
        return [{"step": step, "scale": scale, **{n: v[i] for n, v in self.terms.items()},
                 "total": total}
                for i, (step, scale, total) in enumerate(zip(self.steps, self.scales, self.total,
                                                             strict=True))]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["step", "scale", *self.terms, "total"])
        writer.writeheader()
        writer.writerows(self.rows())
        return buffer.getvalue()

    def to_json(self) -> str:
        return json.dumps({
            "columns": {CONTENT: "α·L_content", "conv*": "β·w_l·E_l",
                        **({TEMPORAL: "λ·L_temporal"} if TEMPORAL in self.terms else {}),
                        "total": "L_total"},
            "steps": self.rows(),
            "phases": [vars(p) for p in self.phases()],
        }, indent=1)

    def figure(self) -> Figure:
        figure = new_figure(8, 4.5)
        ax = figure.subplots()
        positive = [v for values in self.terms.values() for v in values if v > 0]
        for name, values in self.terms.items():
            label = _label(name, joiner="  ")
            style = {CONTENT: {"color": "black", "linewidth": 2.2},
                     TEMPORAL: {"color": "black", "linewidth": 2.2, "linestyle": "--"},
                     }.get(name, {"linewidth": 1.4})
            # A zero term (content at a content start) has no place on a log axis: a gap.
            ax.plot(self.steps, [v if v > 0 else float("nan") for v in values], label=label,
                    **style)
        if positive:
            # Show eight decades below the largest term; tinier values only squash the rest.
            ax.set_ylim(bottom=max(min(positive), max(positive) * 1e-8) / 2)
        for start in self.scale_starts():
            ax.axvline(start - 0.5, color="#999999", linestyle=":", linewidth=1)
        ax.set_yscale("log")
        ax.set_xlabel("step (dotted lines: a new, finer scale starts)")
        ax.set_ylabel("loss term (log scale)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, ncol=2)
        ax.set_title("Loss anatomy: each part of L_total over the run", fontsize=11)
        figure.tight_layout()
        return figure

    def png(self) -> bytes:
        return figure_png(self.figure())

    def save(self, folder: str | Path, stem: str = "loss_anatomy") -> list[Path]:
        """``stem``.png, .csv and .json in ``folder``."""
        folder = Path(folder)
        paths = [save_png(self.png(), folder / f"{stem}.png")]
        for suffix, text in ((".csv", self.to_csv()), (".json", self.to_json())):
            path = folder / f"{stem}{suffix}"
            atomic_write_bytes(path, text.encode())
            paths.append(path)
        return paths


def loss_anatomy(records: Sequence[StepRecord | Mapping[str, Any]]) -> LossAnatomy:
    """Shorthand for :meth:`LossAnatomy.from_records`."""
    return LossAnatomy.from_records(records)
