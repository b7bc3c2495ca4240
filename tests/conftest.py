"""Shared fixtures: tiny real images and the real network (loaded once per session).

Tests that run the real VGG-19 are marked ``slow``, so that ``pytest -m "not slow"`` is a
fast loop: a test asking for a network fixture (:data:`REAL_NETWORK_FIXTURES`, directly or
through another fixture) is marked here; a test reaching the network another way (through
``gramscope.stylize``, the engine, the CLI, a view) carries the mark itself. A test without
the mark that runs the real network anyway fails, so none is missed silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from gramscope.device import cached_vgg19
from gramscope.image import load_image, resize_long_side
from gramscope.samples import sample_path
from gramscope.vgg import VGG19
from gramscope.weights import CAFFE_SHA256

#: Fixtures that hand a test the real network: every test using one is marked ``slow``.
REAL_NETWORK_FIXTURES = frozenset({"vgg", "avg_vgg"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_NETWORK_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


class RealNetworkInFastTest(BaseException):
    """Raised by the real network in a test not marked ``slow``; a BaseException so that
    the faces' ``except Exception`` cannot turn it into an ordinary failed run."""


#: The test being run (set around its whole protocol, so a module- or session-scoped
#: fixture's setup counts for the first test that asks for it) and its network calls.
_running: dict[str, pytest.Item | list[str] | None] = {"item": None, "calls": []}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _running["item"], _running["calls"] = item, []
    try:
        return (yield)
    finally:
        _running["item"] = None


_forward = VGG19.forward


def _guarded_forward(self: VGG19, *args, **kwargs):
    item = _running["item"]
    if (self.sha256 == CAFFE_SHA256 and isinstance(item, pytest.Item)
            and item.get_closest_marker("slow") is None):
        _running["calls"].append(item.nodeid)  # type: ignore[union-attr]
        raise RealNetworkInFastTest(
            f"{item.nodeid} runs the real VGG-19 network: mark it @pytest.mark.slow (or "
            "use the vgg fixture, which marks it)")
    return _forward(self, *args, **kwargs)


VGG19.forward = _guarded_forward  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _real_network_only_in_slow_tests():
    yield
    if _running["calls"]:  # caught and swallowed somewhere: still a missing mark
        pytest.fail(f"{_running['calls'][0]} ran the real VGG-19 network without the slow "
                    "mark", pytrace=False)


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
