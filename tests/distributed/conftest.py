"""Fixtures for the distributed tests: folders of small real photos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gramscope.image import load_image, resize_long_side
from gramscope.samples import SAMPLES, sample_path


def _make_photos(folder: Path, count: int, long_side: int = 40) -> list[Path]:
    """``count`` small real photos (the samples, cropped differently) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(SAMPLES)
    paths = []
    for i in range(count):
        image = load_image(sample_path(names[i % len(names)]))
        image = image.crop((i * 7, i * 5, image.width - i * 3, image.height))
        path = folder / f"photo{i}.jpg"
        resize_long_side(image, long_side).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def make_photos() -> Callable[..., list[Path]]:
    return _make_photos


@pytest.fixture
def quick() -> list[str]:
    """CLI flags for a run of a few dozen pixels and two steps."""
    return ["--size", "32", "--scales", "1", "--steps", "2", "-q"]
