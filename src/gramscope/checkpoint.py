"""Resumable runs: what a checkpoint holds, where it is kept, and how it is read back.

The engine puts a checkpoint on a step record every ``checkpoint_every`` steps; handing it
back as ``resume`` continues the run to the image the uninterrupted run would have made.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .errors import GramscopeError
from .options import StyleOptions

#: Bumped whenever the layout of a checkpoint changes.
CHECKPOINT_VERSION = 2  # 2: L-BFGS state is DeviceLBFGS's on the CPU too


def checkpoint_path(output: Path) -> Path:
    """Where the CLI keeps the resumable state of the run writing ``output``."""
    return output.with_suffix(output.suffix + ".ckpt")


def make_checkpoint(
    options: StyleOptions, *, scale: int, step_in_scale: int, step: int, seconds: float,
    state: dict[str, Any],
) -> dict[str, Any]:
    """The state of a run between two steps (``state``: the optimiser's, see ScaleRun)."""
    return {
        "version": CHECKPOINT_VERSION, "options": options.to_dict(),
        "scale": scale, "step_in_scale": step_in_scale, "step": step,
        "seconds": seconds, **state,
    }


def check_resumable(state: dict[str, Any], options: StyleOptions) -> None:
    """Refuse a checkpoint of another format or made with other settings."""
    if state.get("version") != CHECKPOINT_VERSION:
        raise GramscopeError("the checkpoint is from another version of the format")
    if state["options"] != options.to_dict():
        changed = sorted(k for k, v in options.to_dict().items() if state["options"].get(k) != v)
        raise GramscopeError(
            f"the checkpoint was made with other settings ({', '.join(changed)}); resume with "
            "the same options"
        )


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a kill mid-write leaves the previous checkpoint intact."""
    import torch

    from .image import atomic_write_bytes

    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    if not path.is_file():
        raise GramscopeError(f"nothing to resume: {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # corrupt or foreign: torch raises many kinds
        raise GramscopeError(f"{path} is not a readable checkpoint") from None
