"""Optical flow between video frames, and where it can be trusted (Ruder et al. 2016, §3.2).

Flow is OpenCV's DIS (dense inverse search; no learned weights, a few milliseconds per
frame pair on a CPU), from the ``video`` extra. Conventions, for frames shaped (H, W, 3):

- ``dense_flow(a, b)[y, x] = (dx, dy)`` means that a's pixel (x, y) is b's pixel
  (x + dx, y + dy): a(p) ≈ b(p + f(p)).
- ``warp(image, f)`` samples ``image`` at p + f(p), so ``warp(b, dense_flow(a, b)) ≈ a``.
  To carry frame t−1's stylised result onto frame t: ``warp(result, backward)`` with
  ``backward = dense_flow(frame_t, frame_t_minus_1)``.
- ``consistency(backward, forward)`` is 1 where the backward flow can be trusted and 0 at
  disocclusions (forward and backward disagree) and motion boundaries (the flow changes
  fast), with Ruder et al.'s thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import GramscopeError

if TYPE_CHECKING:
    from ..temporal import PreviousFrame


def _cv2():
    try:
        import cv2
    except ImportError as error:  # pragma: no cover - the extra is installed by make test
        raise GramscopeError(
            "optical flow needs OpenCV: pip install 'gramscope[video]'") from error
    return cv2


def _grey(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB, or (H, W) grey → (H, W) uint8 luminance."""
    frame = np.asarray(frame)
    if frame.ndim == 3:
        cv2 = _cv2()
        frame = cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2GRAY)
    if frame.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames, got {frame.dtype}")
    return frame


def dense_flow(a: np.ndarray, b: np.ndarray, preset: str = "medium") -> np.ndarray:
    """The flow from frame ``a`` to frame ``b``, shaped (H, W, 2) float32 (dx, dy)."""
    cv2 = _cv2()
    presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
               "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
    grey_a, grey_b = _grey(a), _grey(b)
    if grey_a.shape != grey_b.shape:
        raise ValueError(f"frames differ in size: {grey_a.shape} and {grey_b.shape}")
    dis = cv2.DISOpticalFlow_create(presets[preset])
    return dis.calc(grey_a, grey_b, None)


def warp(image: np.ndarray, flow: np.ndarray, sharp: bool = False) -> np.ndarray:
    """``image`` sampled at p + flow(p), positions outside repeating the border.

    Bilinear by default (what the warped error measures with). ``sharp`` samples with
    Lanczos-4 instead: a stylised frame is warped once per frame, and bilinear sampling at
    half-pixel offsets averages neighbours, a blur that the next frames inherit and
    compound.
    """
    cv2 = _cv2()
    height, width = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32),
                         np.arange(height, dtype=np.float32))
    return cv2.remap(np.ascontiguousarray(image), xs + flow[..., 0], ys + flow[..., 1],
                     cv2.INTER_LANCZOS4 if sharp else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def consistency(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Weights c in {0, 1}, shaped (H, W) float32, for frame t's backward flow.

    ``backward`` = dense_flow(frame_t, frame_t−1), ``forward`` = dense_flow(frame_t−1,
    frame_t). With w the backward flow and w̃ the forward flow read at p + w(p):

    - disoccluded where |w + w̃|² > 0.01 (|w|² + |w̃|²) + 0.5 (following the flow there and
      back does not return to p: the pixel was hidden in frame t−1);
    - a motion boundary where |∇w_x|² + |∇w_y|² > 0.01 |w|² + 0.002.

    c is 0 at either and 1 elsewhere (Ruder, Dosovitskiy & Brox 2016, §3.2).
    """
    returned = warp(forward, backward)
    round_trip = np.sum((backward + returned) ** 2, axis=-1)
    magnitudes = np.sum(backward ** 2, axis=-1) + np.sum(returned ** 2, axis=-1)
    disoccluded = round_trip > 0.01 * magnitudes + 0.5
    gradient = sum(np.gradient(backward[..., k], axis=axis) ** 2
                   for k in range(2) for axis in range(2))
    boundary = gradient > 0.01 * np.sum(backward ** 2, axis=-1) + 0.002
    return (~(disoccluded | boundary)).astype(np.float32)


@dataclass(frozen=True)
class FramePairFlow:
    """What frame t needs of frame t−1: the backward flow and its consistency weights."""

    backward: np.ndarray  # (H, W, 2): frame t's pixel p is frame t−1's p + backward[p]
    weights: np.ndarray  # (H, W): 1 where the warped frame t−1 can be trusted


def pair_flow(previous: np.ndarray, current: np.ndarray,
              preset: str = "medium") -> FramePairFlow:
    """Forward and backward flow between two consecutive frames, computed once, and the
    consistency weights that say where the warped previous frame holds."""
    backward = dense_flow(current, previous, preset)
    forward = dense_flow(previous, current, preset)
    return FramePairFlow(backward, consistency(backward, forward))


def warped_error(current: np.ndarray, previous: np.ndarray, flow: FramePairFlow) -> float:
    """Mean |x_t − ω(x_{t−1})| in pixel levels over the pixels the consistency check keeps:
    how much of frame t does not follow the motion from frame t−1 (0 for a perfectly
    warped sequence)."""
    moved = warp(np.asarray(previous, dtype=np.float32), flow.backward)
    difference = np.abs(np.asarray(current, dtype=np.float32) - moved).mean(axis=-1)
    kept = flow.weights > 0
    return float(difference[kept].mean()) if kept.any() else 0.0


def moved_result(previous_result: Path, previous_source: Path, source: Path,
                 temporal_weight: float = 0.0) -> PreviousFrame:
    """Frame t−1's result (a file) carried onto frame t by the flow between the two source
    frames, with the consistency weights: what :func:`gramscope.stylize` takes as
    ``previous_frame``."""
    from ..image import load_image
    from ..temporal import PreviousFrame

    result, before, now = (np.asarray(load_image(path)) for path in
                           (previous_result, previous_source, source))
    if not result.shape == before.shape == now.shape:
        raise GramscopeError(
            f"{previous_result} ({result.shape[1]}x{result.shape[0]}) and the source frames "
            f"{previous_source}, {source} must have one size")
    flow = pair_flow(before, now)
    return PreviousFrame.from_arrays(warp(result, flow.backward, sharp=True), flow.weights,
                                     temporal_weight)
