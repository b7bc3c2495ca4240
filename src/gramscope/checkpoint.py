"""Resumable runs: what a checkpoint holds, where it is kept, and how it is read back.

The engine puts a checkpoint on a step record every ``checkpoint_every`` steps; handing it
back as ``resume`` continues the run to the image the uninterrupted run would have made.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GramscopeError
from .options import StyleOptions

if TYPE_CHECKING:
    import torch

#: Bumped whenever the layout of a checkpoint changes.
CHECKPOINT_VERSION = 2  # 2: L-BFGS state is DeviceLBFGS's on the CPU too


def checkpoint_path(output: Path) -> Path:
    """Where the CLI keeps the resumable state of the run writing ``output``."""
    return output.with_suffix(output.suffix + ".ckpt")


@dataclass
class Checkpoint:
    """The state of a run between two steps: handed back as ``resume``, it continues the
    run. On disk it is :meth:`to_dict`'s plain dictionary (``torch.load`` with
    ``weights_only`` reads nothing else)."""

    options: dict[str, Any]  # StyleOptions.to_dict() of the run
    scale: int  # the scale it is at
    step_in_scale: int  # steps already taken at that scale
    step: int  # steps already taken, over all scales
    seconds: float  # on the run's clock
    image: torch.Tensor  # the optimiser's image, on the CPU
    optimizer: dict[str, Any]  # its state_dict()
    loss_scale: float | None  # ScaleRun's constant, fixed at the scale's first step
    lr_factor: float  # the step size's factor after restarts
    history: list[dict[str, Any]] = field(default_factory=list)  # the CLI's records so far
    version: int = CHECKPOINT_VERSION

    def __post_init__(self) -> None:
        # Options an earlier release saved under old field names, read under the new ones.
        if isinstance(self.options, dict):
            self.options = StyleOptions.upgrade_dict(self.options)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Checkpoint:
        """A checkpoint from its dictionary; one of another format is refused."""
        names = {f.name for f in dataclasses.fields(cls)}
        if state.get("version") != CHECKPOINT_VERSION or not names >= set(state) or not (
                set(state) >= names - {"history"}):
            raise GramscopeError("the checkpoint is from another version of the format")
        return cls(**state)

    def check(self, options: StyleOptions) -> None:
        """Refuse to resume with other settings than the run's."""
        if self.options != options.to_dict():
            changed = sorted(k for k, v in options.to_dict().items()
                             if self.options.get(k) != v)
            raise GramscopeError(
                f"the checkpoint was made with other settings ({', '.join(changed)}); resume "
                "with the same options"
            )


def make_checkpoint(
    options: StyleOptions, *, scale: int, step_in_scale: int, step: int, seconds: float,
    state: dict[str, Any],
) -> Checkpoint:
    """The state of a run between two steps (``state``: the optimiser's, see ScaleRun)."""
    return Checkpoint(options.to_dict(), scale, step_in_scale, step, seconds, **state)


def as_checkpoint(state: Checkpoint | dict[str, Any]) -> Checkpoint:
    """A :class:`Checkpoint`, or its dictionary as an earlier release handed it out."""
    return state if isinstance(state, Checkpoint) else Checkpoint.from_dict(state)


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Write atomically: a kill mid-write leaves the previous checkpoint intact."""
    import torch

    from .image import atomic_write_bytes

    buffer = io.BytesIO()
    torch.save(checkpoint.to_dict(), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> Checkpoint:
    import torch

    if not path.is_file():
        raise GramscopeError(f"nothing to resume: {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # corrupt or foreign: torch raises many kinds
        raise GramscopeError(f"{path} is not a readable checkpoint") from None
    if not isinstance(state, dict):
        raise GramscopeError(f"{path} is not a readable checkpoint")
    return Checkpoint.from_dict(state)
