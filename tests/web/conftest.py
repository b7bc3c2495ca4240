"""A demo served on 127.0.0.1 for the API and browser tests, stopped when they end."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gramscope.options import StyleOptions

#: Tiny runs: 48 px, one scale. Enough steps that a run is still going when a test stops it.
TINY = {"size": 48, "scales": 1, "steps": 400}
IMAGE_EVERY = 2


@dataclass
class Served:
    url: str
    demo: object  # gradio.Blocks
    options: StyleOptions  # the controls' starting values
    image_every: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def served(vgg) -> Iterator[Served]:
    """The app with tiny defaults, launched in a background thread (the network is loaded
    first through the shared ``vgg`` fixture, so no test times that)."""
    from gramscope.web.app import build_app, launch

    demo = build_app(StyleOptions(**TINY), image_every=IMAGE_EVERY)
    url = launch(demo, "127.0.0.1", free_port())
    try:
        yield Served(url, demo, StyleOptions(**TINY), IMAGE_EVERY)
    finally:
        demo.close()
