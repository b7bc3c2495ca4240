"""A video frame's tie to the one before it (Ruder, Dosovitskiy & Brox 2016).

Not part of Gatys et al.'s method, which stylises one picture: a video stylised frame by
frame flickers, since each frame's optimisation lands in its own local minimum. A
:class:`PreviousFrame` carries frame t−1's result, already moved onto frame t by the
optical flow (:mod:`gramscope.distributed.flow`), and the weights c that say where that
move can be trusted. The engine uses it twice, each optional:

- **warped start**: frame t starts from the moved result where c = 1 and from its own
  start image (``options.init``) where c = 0, the pixels frame t−1 did not show;
- **temporal loss**: ``weight`` · L_temporal (:func:`gramscope.losses.temporal_loss`) joins
  L_total, so that strokes follow the motion instead of forming anew; 0 turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from . import losses


@dataclass
class PreviousFrame:
    """Frame t−1's result carried onto frame t, with its consistency weights."""

    image: torch.Tensor  # (1, 3, H, W) RGB 0-255: ω(x_{t−1}), at frame t's size
    weights: torch.Tensor  # (1, 1, H, W) in [0, 1]: c, 0 where the flow cannot be trusted
    weight: float = 0.0  # of L_temporal in L_total; 0: the warped start only
    warped_start: bool = True  # start from ``image`` where c = 1
    _at: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = field(
        default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.image.dim() != 4 or self.image.shape[:2] != (1, 3):
            raise ValueError("expected an image shaped (1, 3, H, W), got "
                             f"{tuple(self.image.shape)}")
        self.weights = self.weights.reshape(1, 1, *self.image.shape[-2:]).to(self.image)
        if not self.weight >= 0:
            raise ValueError(f"the temporal weight must be 0 or more, not {self.weight}")

    @classmethod
    def from_arrays(cls, warped: np.ndarray, weights: np.ndarray, weight: float = 0.0,
                    warped_start: bool = True) -> PreviousFrame:
        """From an (H, W, 3) picture (uint8 or 0-255 floats) and (H, W) weights."""
        image = torch.from_numpy(np.ascontiguousarray(warped, dtype=np.float32))
        return cls(image.permute(2, 0, 1).unsqueeze(0),
                   torch.from_numpy(np.ascontiguousarray(weights, dtype=np.float32)),
                   weight, warped_start)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return (self.image.shape[-1], self.image.shape[-2])

    def at(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The moved result and its weights at the size and on the device of ``like`` (a
        scale's image): resampled by area for a coarser scale, cached per size."""
        key = (like.shape[-2], like.shape[-1])
        if key not in self._at:
            image, weights = self.image, self.weights
            if tuple(image.shape[-2:]) != key:
                image = F.interpolate(image, size=key, mode="area")
                weights = F.interpolate(weights, size=key, mode="area")
            self._at[key] = (image.to(like), weights.to(like))
        return self._at[key]

    def start(self, own: torch.Tensor) -> torch.Tensor:
        """Frame t's start: the moved result where it holds, ``own`` (frame t's own start
        image at this scale) where it does not; ``own`` unchanged without a warped start."""
        if not self.warped_start:
            return own
        image, weights = self.at(own)
        return weights * image + (1 - weights) * own

    def loss(self, image: torch.Tensor) -> torch.Tensor:
        """L_temporal of ``image`` against the moved result (unweighted)."""
        target, weights = self.at(image)
        return losses.temporal_loss(image, target, weights)
