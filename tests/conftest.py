"""Shared fixtures: tiny real images and the real network (loaded once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from gramscope.device import cached_vgg19
from gramscope.image import load_image, resize_long_side
from gramscope.samples import sample_path


@pytest.fixture(scope="session")
def vgg():
    """The real Caffe VGG-19, normalised the paper's way, on the CPU."""
    return cached_vgg19(None, "max", "mean-activation", "cpu")


def tiny(name: str, long_side: int) -> Image.Image:
    return resize_long_side(load_image(sample_path(name)), long_side)


@pytest.fixture(scope="session")
def tiny_content() -> Image.Image:
    return tiny("tubingen", 64)


@pytest.fixture(scope="session")
def tiny_style() -> Image.Image:
    return tiny("starry_night", 64)


@pytest.fixture
def image_files(tmp_path: Path, tiny_content: Image.Image, tiny_style: Image.Image):
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    tiny_content.save(content)
    tiny_style.save(style)
    return content, style


@pytest.fixture(autouse=True)
def _deterministic_threads():
    # Results are bit-identical only for a fixed thread count; keep it fixed for every test.
    torch.set_num_threads(2)
    yield
