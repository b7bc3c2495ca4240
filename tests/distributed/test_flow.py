"""Optical flow between frames and its consistency check, on small synthetic clips cut
from a real photo (so the texture is real, and the motion known exactly)."""

from __future__ import annotations

import numpy as np
import pytest

from gramscope.image import load_image, resize_long_side
from gramscope.samples import sample_path

pytest.importorskip("cv2")
from gramscope.distributed import flow  # noqa: E402


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    """Tübingen at 112 px long side: real texture, uint8 RGB (H, W, 3)."""
    return np.asarray(resize_long_side(load_image(sample_path("tubingen")), 112))


def crop(image: np.ndarray, x: int, y: int, size: int = 64) -> np.ndarray:
    return np.ascontiguousarray(image[y:y + size, x:x + size])


def test_a_known_translation_is_recovered_within_a_pixel(texture):
    # Frame b is frame a's view moved 3 px right and 2 px down, so a's pixel p is b's
    # p − (3, 2): the flow from a to b is (−3, −2) everywhere.
    a, b = crop(texture, 20, 10), crop(texture, 23, 12)
    f = flow.dense_flow(a, b)
    assert f.shape == (64, 64, 2) and f.dtype == np.float32
    inner = f[8:-8, 8:-8].reshape(-1, 2)  # away from the border, where content leaves
    error = np.linalg.norm(inner - np.array([-3.0, -2.0]), axis=1)
    assert np.median(error) < 0.5 and np.mean(error < 1.0) > 0.9


def test_warping_the_next_frame_by_the_flow_gives_back_this_one(texture):
    a, b = crop(texture, 20, 10), crop(texture, 23, 12)
    warped = flow.warp(b, flow.dense_flow(a, b)).astype(float)
    inner = (slice(8, -8), slice(8, -8))
    aligned = np.abs(warped[inner] - a[inner]).mean()
    unaligned = np.abs(b[inner].astype(float) - a[inner]).mean()
    assert aligned < 0.25 * unaligned


def test_a_sharp_warp_keeps_the_detail_that_a_bilinear_one_averages_away(texture):
    # Half a pixel there and back: bilinear sampling averages neighbours both times, a blur
    # that a chain of warped frames would compound; Lanczos-4 keeps most of the detail
    # (measured: 6.4 levels off bilinear, 2.5 sharp).
    image = crop(texture, 20, 10)
    half = np.full((64, 64, 2), 0.5, dtype=np.float32)
    inner = (slice(8, -8), slice(8, -8))
    errors = {}
    for sharp in (False, True):
        there = flow.warp(image, half, sharp=sharp)
        back = flow.warp(there, -half, sharp=sharp).astype(float)
        errors[sharp] = np.abs(back[inner] - image[inner]).mean()
    assert errors[True] < 0.5 * errors[False], errors
    whole = np.full((64, 64, 2), 2.0, dtype=np.float32)  # whole pixels: both exact
    assert np.array_equal(flow.warp(image, whole, sharp=True)[inner],
                          flow.warp(image, whole)[inner])


def test_occlusion_is_marked_where_an_object_uncovers_the_background():
    # A textured 64-px object (a crop of another photo) moves 8 px right over a still
    # 128-px background: in frame t the strip x 16–23 it has just left was hidden in
    # frame t−1, so nothing of frame t−1 can be carried there.
    background = np.asarray(resize_long_side(load_image(sample_path("tubingen")), 256))
    background = np.ascontiguousarray(background[:128, :128])
    thing = np.asarray(resize_long_side(load_image(sample_path("astronaut")), 64))[:64, :64]
    previous, current = background.copy(), background.copy()
    previous[32:96, 16:80] = thing
    current[32:96, 24:88] = thing
    pair = flow.pair_flow(previous, current)
    assert pair.weights.shape == (128, 128) and set(np.unique(pair.weights)) <= {0.0, 1.0}
    # The object's own motion is found: frame t's pixel p was frame t−1's p − (8, 0).
    inside = pair.backward[36:92, 28:84].reshape(-1, 2)
    assert np.allclose(np.median(inside, axis=0), [-8.0, 0.0], atol=0.5)
    uncovered = pair.weights[34:94, 17:23]
    far = np.concatenate([pair.weights[:16].ravel(), pair.weights[112:].ravel()])
    assert uncovered.mean() < 0.5  # mostly marked untrustworthy (measured: 0.39)
    assert far.mean() > 0.95  # the background far from the object is kept (1.0)


def test_a_still_clip_is_consistent_everywhere(texture):
    frame = crop(texture, 20, 10)
    pair = flow.pair_flow(frame, frame)
    assert np.abs(pair.backward).max() < 0.1 and pair.weights.mean() > 0.99
