"""The HTML report: opens, embeds its pictures, fetches nothing."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import pytest
import torch
from PIL import Image

from gramscope.errors import GramscopeError, OptionsError
from gramscope.explain.report import report_steps, write_report
from gramscope.image import read_metadata
from gramscope.options import StyleOptions

TINY = StyleOptions(size=32, scales=1, steps=3)


class Collector(HTMLParser):
    """Every tag's attributes, and whether the tags balance."""

    def __init__(self) -> None:
        super().__init__()
        self.attributes: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.attributes.append((tag, dict(attrs)))
        if tag not in {"meta", "img", "br", "link"}:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory, vgg, tiny_content, tiny_style):
    folder = tmp_path_factory.mktemp("r") / "report"
    steps: list[str] = []
    index = write_report(tiny_content, tiny_style, folder, TINY,
                         feature_layers=("conv1_1", "conv2_1"), gram_layer="conv1_1",
                         on_step=lambda label, record: steps.append(label), net=vgg)
    return index, steps


def test_report_is_one_offline_page(report):
    index, _ = report
    page = Collector()
    page.feed(index.read_text(encoding="utf-8"))
    page.close()
    assert page.open == []  # every tag closed
    images = [attrs for tag, attrs in page.attributes if tag == "img"]
    # result (3 pictures), 2 feature grids, Gram views, loss anatomy, comparison
    assert len(images) == 8
    for attrs in images:
        src = attrs["src"] or ""
        assert src.startswith("data:image/png;base64,")
        picture = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert picture.format == "PNG" and min(picture.size) > 0
        assert attrs["alt"]
    for _, attrs in page.attributes:
        for name in ("src", "href"):
            value = (attrs.get(name) or "").lower()
            assert not value.startswith(("http:", "https:", "//")), value
    for _, attrs in page.attributes:
        href = attrs.get("href")
        if href:
            assert (index.parent / href).is_file()  # links point at files beside the page
    text = " ".join(page.text)
    assert "Why Gram matrices?" in text and "Loss anatomy" in text and "Parameters" in text


def test_report_writes_its_files_and_counts_its_steps(report):
    index, steps = report
    names = {p.name for p in index.parent.iterdir()}
    assert {"index.html", "result.png", "content.png", "style.png", "features_conv1_1.png",
            "gram_conv1_1.png", "loss_anatomy.png", "loss_anatomy.csv",
            "loss_anatomy.json", "compare.png"} <= names
    assert read_metadata(index.parent / "result.png")["options"]["size"] == 32
    assert len(steps) == report_steps(TINY) == 6  # the result, then the mean/std run


def test_report_refuses_to_replace_a_report(report, tiny_content, tiny_style):
    index, _ = report
    with pytest.raises(GramscopeError, match="--overwrite"):
        write_report(tiny_content, tiny_style, index.parent, TINY)
    with pytest.raises(GramscopeError, match="unknown figure 2"):
        write_report(tiny_content, tiny_style, index.parent, TINY, figures=(2,),
                     overwrite=True)


@pytest.mark.slow
def test_optimisers_and_pulls_sections_reuse_the_result(tmp_path, tiny_content, tiny_style):
    labels: list[str] = []
    index = write_report(tiny_content, tiny_style, tmp_path / "r", TINY, compare=False,
                         feature_layers=("conv1_1",), gram_layer="conv1_1", optimizers=True,
                         pulls=True, on_step=lambda label, record: labels.append(label))
    # The result is L-BFGS's run and the pulls are mapped on it: only gd and Adam are added.
    assert len(labels) == report_steps(TINY, compare=False, optimizers=True) == 9
    assert sorted(set(labels)) == ["Adam", "gradient descent", "result"]
    assert report_steps(TINY.replace(learning_rate=0.5), compare=False, optimizers=True) == 12
    page = index.read_text(encoding="utf-8")
    assert "Why L-BFGS?" in page and "Where each term pulls" in page
    # The pulls at the start, the photo recoloured: its layout is the photo's, so the content
    # term barely pulls there (measured 1 % against conv5_1's 93 %).
    first = re.search(r"step 0: content (\d+) %", page)
    assert first is not None and int(first[1]) <= 3
    assert {"optimisers.png", "pulls.png"} <= {p.name for p in index.parent.iterdir()}


def halves(size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    """Two masks: the left half white, and the right half."""
    left = Image.new("L", size, 0)
    left.paste(255, (0, 0, size[0] // 2, size[1]))
    return left, Image.eval(left, lambda v: 255 - v)


@pytest.mark.slow
def test_a_masked_report_shows_each_regions_guided_grams(tmp_path, tiny_content, tiny_style):
    from gramscope.explain.grams import gram_views

    second = tiny_style.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    masks = halves(tiny_content.size)
    labels: list[str] = []
    index = write_report(tiny_content, [tiny_style, second], tmp_path / "r", TINY,
                         compare=False, feature_layers=("conv1_1",), gram_layer="conv1_1",
                         masks=masks, on_step=lambda label, record: labels.append(label))
    assert len(labels) == report_steps(TINY, compare=False) == 3  # one masked run, no other
    page = Collector()
    page.feed(index.read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert "Region 1: guided Gram matrices at conv1_1" in text
    assert "Region 2: guided Gram matrices at conv1_1" in text and "Region 3" not in text
    names = {p.name for p in index.parent.iterdir()}
    assert {"gram_conv1_1_region1.png", "gram_conv1_1_region2.png", "region1_mask.png",
            "region2_mask.png"} <= names
    metadata = read_metadata(index.parent / "result.png")
    assert [m["mask"] for m in metadata["masks"]] == ["<mask 1>", "<mask 2>"]
    # Each region's view compares its own painting with the result inside its mask.
    with Image.open(index.parent / "result.png") as result:
        right = gram_views(second, result.convert("RGB"), "conv1_1", size=32, guide=masks[1])
        whole = gram_views(second, result.convert("RGB"), "conv1_1", size=32)
    assert not torch.allclose(right.result, whole.result)
    assert f"E_l = {right.style_error:.3g} before" in text


def test_a_masked_report_refuses_what_it_cannot_mask(tmp_path, tiny_content, tiny_style):
    masks = halves(tiny_content.size)
    with pytest.raises(OptionsError, match="the mean/std comparison and the pulls run "
                       "unmasked"):
        write_report(tiny_content, [tiny_style, tiny_style], tmp_path / "a", TINY,
                     masks=masks, pulls=True)
    with pytest.raises(OptionsError, match="2 style images need masks"):
        write_report(tiny_content, [tiny_style, tiny_style], tmp_path / "b", TINY)
    with pytest.raises(GramscopeError, match="mask <mask 1> is all black"):
        write_report(tiny_content, [tiny_style], tmp_path / "c", TINY, compare=False,
                     masks=[Image.new("L", tiny_content.size, 0)])
