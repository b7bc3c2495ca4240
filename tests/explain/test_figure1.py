"""Figure 1's building blocks: reconstructions through the one engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gramscope.explain.figure1 import (
    FIGURE1_CONTENT_LAYERS,
    cell_size,
    content_reconstruction_options,
    figure1,
    figure1_steps,
    figure_options,
    growing_subsets,
    high_frequency,
    high_frequency_ratio,
    psnr,
    reconstruct_content,
    smooth_noise,
    style_synthesis_options,
    synthesize_style,
)
from gramscope.explain.figure3 import figure3_options
from gramscope.explain.runner import Panel
from gramscope.image import resize_long_side
from gramscope.options import StyleOptions


def tiny_options(**changes) -> StyleOptions:
    return StyleOptions(**{"size": 32, "scales": 1, "steps": 60, "pooling": "max", **changes})


def test_growing_subsets_are_the_papers_rows():
    assert growing_subsets() == [
        ("conv1_1",), ("conv1_1", "conv2_1"), ("conv1_1", "conv2_1", "conv3_1"),
        ("conv1_1", "conv2_1", "conv3_1", "conv4_1"),
        ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
    ]
    assert growing_subsets(["relu2_1", "conv4_1"]) == [("conv2_1",), ("conv2_1", "conv4_1")]


def dot(rgb, side: int = 4) -> Image.Image:
    """A black square with one coloured pixel at (1, 1)."""
    pixels = np.zeros((side, side, 3), np.uint8)
    pixels[1, 1] = rgb
    return Image.fromarray(pixels)


def test_high_frequency_by_hand():
    # 4 × 4, so the Laplacian is taken at the 2 × 2 interior: −4·100 at the dot, +100 at
    # its two interior neighbours, 0 at the diagonal one → mean |∇²| = 600 / 4 = 150.
    grey = high_frequency(dot((100, 100, 100)))
    assert grey.luminance == pytest.approx(150)
    assert grey.chroma == pytest.approx(0, abs=1e-4)  # grey has no I or Q
    # Pure red 100: Y = 29.9, I = 59.5716, Q = 21.1456 (the NTSC matrix of gramscope.image,
    # to six places); chroma is the mean over I and Q.
    red = high_frequency(dot((100, 0, 0)))
    assert red.luminance == pytest.approx(29.9 * 6 / 4, rel=1e-4)
    assert red.chroma == pytest.approx((59.5716 + 21.1456) / 2 * 6 / 4, rel=1e-5)
    flat = high_frequency(Image.new("RGB", (8, 8), (200, 30, 90)))
    assert flat.luminance == pytest.approx(0, abs=1e-4)
    assert flat.chroma == pytest.approx(0, abs=1e-4)


def test_high_frequency_ratio_compares_with_the_photo_at_the_images_size():
    ratio = high_frequency_ratio(dot((200, 200, 200), 4), dot((100, 0, 0), 4))
    assert ratio.luminance == pytest.approx(300 / 44.85, rel=1e-4)
    assert ratio.chroma < 1e-5
    same = high_frequency_ratio(dot((100, 0, 0), 4), dot((100, 0, 0), 4))
    assert same.luminance == pytest.approx(1) and same.chroma == pytest.approx(1)


def test_each_reconstruction_switches_one_term_off():
    base = StyleOptions()
    content = content_reconstruction_options(base, "relu3_2")
    assert content.content_layers == ("conv3_2",) and content.style_layers == ()
    assert content.init == "noise" and content.alpha > 0
    style = style_synthesis_options(base, ["conv1_1", "conv2_1"])
    assert style.content_layers == () and style.style_layers == ("conv1_1", "conv2_1")
    assert style.layer_weights == {"conv1_1": 0.5, "conv2_1": 0.5}
    assert style.init == "noise" and style.beta > 0


def test_conv1_2_reconstruction_from_noise_gets_close_to_the_photo(vgg, tiny_content):
    image = resize_long_side(tiny_content, 32)
    panel = reconstruct_content(image, "conv1_2", tiny_options(steps=40), net=vgg)
    start = panel.history[0].content
    # Measured: the content loss falls to 5e-4 of its start (the total, with the prior's TV
    # term, which the photo's own edges keep above zero, to 3e-3); PSNR 32 dB against the
    # photo, up from 9 dB for the noise it starts from (12 dB when inverting conv4_2).
    assert panel.history[-1].content < 2e-3 * start
    assert psnr(panel.image, image) > 16
    assert panel.note.startswith("PSNR")


def test_deep_layer_keeps_less_than_a_low_one(vgg, tiny_content):
    image = resize_long_side(tiny_content, 32)
    low = reconstruct_content(image, "conv1_2", tiny_options(steps=30), net=vgg)
    deep = reconstruct_content(image, "conv4_2", tiny_options(steps=30), net=vgg)
    assert psnr(deep.image, image) < psnr(low.image, image) - 3


def test_smooth_noise_keeps_the_spread_and_loses_the_grain():
    start = smooth_noise(40, 30, 4.0, seed=3)
    assert start.size == (40, 30) and smooth_noise(40, 30, 4.0, seed=3) == start
    pixels = np.asarray(start, np.float32)
    assert pixels.std(axis=(0, 1)) == pytest.approx([50, 50, 50], abs=3)
    white = Image.fromarray(np.random.default_rng(3).normal(128, 50, (30, 40, 3))
                            .clip(0, 255).astype(np.uint8))
    ratio = high_frequency_ratio(start, white)
    assert ratio.luminance < 0.1 and ratio.chroma < 0.1


def test_prior_removes_the_pixel_noise_of_a_deep_reconstruction(vgg, tiny_content):
    image = resize_long_side(tiny_content, 32)
    options = tiny_options(steps=30)
    plain = reconstruct_content(image, "conv4_2", options, prior=False, net=vgg)
    smooth = reconstruct_content(image, "conv4_2", options, net=vgg)
    assert plain.options.init == "noise" and plain.options.tv_weight == 0
    assert smooth.options.tv_weight > 0 and smooth.options.tv_chroma > 1
    before, after = high_frequency_ratio(plain.image, image), high_frequency_ratio(
        smooth.image, image)
    # Measured at 32 px, 30 steps: luminance 3.4× → 1.4× the photo's, chroma 16.5× → 0.5×,
    # PSNR 11.6 → 11.3 dB (at 128 px, the figure's size, it rises: 11.3 → 12.7 dB).
    assert after.luminance < 0.6 * before.luminance
    assert after.chroma < 0.1 * before.chroma
    assert psnr(smooth.image, image) > psnr(plain.image, image) - 1.0
    assert "× chroma" in smooth.note


def test_texture_synthesis_lowers_the_style_error(vgg, tiny_style):
    options = tiny_options(size=48, steps=30)
    panel = synthesize_style(tiny_style, ["conv1_1", "conv2_1"], options, net=vgg)
    first, last = panel.history[0], panel.history[-1]
    assert set(last.style) == {"conv1_1", "conv2_1"} and last.content == 0.0
    # Measured: 0.68 -> 0.022 in 30 steps, 0.069 in 20 (from noise the first 8 steps are
    # cautious; at 32 px conv2_1 is too small to settle as fast).
    assert last.total < 0.1 * first.total
    assert panel.image.size == resize_long_side(tiny_style, 48).size


def test_figure1_runs_every_panel_and_counts_its_steps(vgg, tiny_content, tiny_style):
    options = tiny_options(steps=2, content_layers=("conv1_2", "conv3_2"),
                           style_layers=("conv1_1", "conv2_1"))
    seen: list[str] = []
    result = figure1(tiny_content, tiny_style, options, net=vgg,
                     on_step=lambda label, record: seen.append(label))
    assert [p.label for p in result.content_panels] == ["conv1_2", "conv3_2"]
    assert [p.options.style_layers for p in result.style_panels] == growing_subsets(
        ["conv1_1", "conv2_1"])
    assert len(seen) == figure1_steps(options) == 8
    assert all(isinstance(p, Panel) for p in result.content_panels)
    png = result.png()
    assert png.startswith(b"\x89PNG")


def test_default_figure1_uses_the_papers_layers():
    settings = figure_options(None)
    assert settings.content_layers == FIGURE1_CONTENT_LAYERS
    assert settings.scales == 1 and settings.pooling == "avg"


def test_cells_are_256_px_on_a_gpu_and_quick_on_the_cpu(monkeypatch):
    assert cell_size("cpu") == 128
    if not torch.cuda.is_available():
        assert cell_size("auto") == 128 and figure_options(None).size == 128
        assert figure3_options(None).size == 128
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cell_size("cuda") == cell_size("auto") == 256
    assert figure_options(None).size == figure3_options(None).size == 256
    assert figure_options(StyleOptions(size=64)).size == 64  # given options are kept
