"""The bench's pairs: every image it names is one it can find, with its licence."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import bench.pairs
import pytest
from bench.pairs import BENCH, IMAGES, PAINTINGS, PAIRS, Source, pair_named
from PIL import Image


def test_every_pair_is_a_listed_photo_and_painting_and_named_once():
    for pair in PAIRS:
        assert pair.photo in IMAGES and pair.photo not in PAINTINGS
        assert pair.painting in PAINTINGS
    assert len({p.name for p in PAIRS}) == len(PAIRS) >= 12
    assert {p.painting for p in PAIRS} == set(PAINTINGS)
    assert pair_named("tubingen-starry_night") == PAIRS[0]
    with pytest.raises(KeyError, match="choose from"):
        pair_named("tubingen-mona_lisa")


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_each_image_opens_where_its_package_is_installed(name):
    source = IMAGES[name]
    assert source.licence and source.what
    if importlib.util.find_spec(source.package) is None:
        pytest.skip(f"{source.package} not installed (the bench extra)")
    with Image.open(source.locate()) as image:
        assert image.convert("RGB").size[0] >= 256


def test_every_painting_kept_in_bench_has_its_source_recorded_beside_it():
    kept = [s for s in IMAGES.values() if s.package == BENCH]
    assert len(kept) >= 4
    sources = (Path(bench.pairs.__file__).parent / "paintings" / "SOURCES.md").read_text()
    for source in kept:
        assert source.locate().is_file()
        assert f"| {Path(source.path).name} |" in sources


def test_a_missing_package_or_file_is_a_lookup_error():
    with pytest.raises(LookupError, match="not installed"):
        Source("no_such_package_here", "x.png", "", "").locate()
    with pytest.raises(LookupError, match="has no"):
        Source("gramscope", "samples/no_such.jpg", "", "").locate()
    with pytest.raises(LookupError, match="has no"):
        Source(BENCH, "paintings/no_such.jpg", "", "").locate()
