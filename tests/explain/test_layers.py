"""What each layer paints: one style layer at a time, through the one engine."""

from __future__ import annotations

import pytest

from gramscope.device import cached_vgg19
from gramscope.explain.layers import (
    LAYERS_DEFAULTS,
    ROWS,
    layer_paintings,
    layers_steps,
    texture_options,
    transfer_options,
)
from gramscope.image import resize_long_side
from gramscope.options import StyleOptions


@pytest.fixture(scope="module")
def avg_vgg():
    """Average pooling, the view's default: texture synthesis from noise needs its gradient
    flow (with max pooling a 20-step conv2_1 texture stalled at 0.47 of its start loss)."""
    return cached_vgg19(None, "avg", "mean-activation", "cpu")


def test_each_column_puts_the_style_on_one_layer():
    base = StyleOptions(**LAYERS_DEFAULTS)
    texture = texture_options(base, "relu3_1")
    assert texture.style_layers == ("conv3_1",) and texture.content_layers == ()
    assert texture.init == "noise" and texture.layer_weights == {"conv3_1": 1.0}
    transfer = transfer_options(base.replace(style_layer_weights=(1, 0, 0, 0, 0)), "conv3_1")
    assert transfer.layer_weights == {"conv3_1": 1.0}
    assert transfer.content_layers == base.content_layers and transfer.init == base.init
    assert transfer.ratio == base.ratio
    assert "content_layers" not in LAYERS_DEFAULTS and LAYERS_DEFAULTS["scales"] == 1


def test_each_panel_matches_its_own_layer_best(avg_vgg, tiny_content, tiny_style):
    # The settings these margins were measured with: the paper's sum at 48 px and a photo
    # start. The test is about which layer each panel matches; the default's 512-px
    # balance weighs the photo about 45 times more at 48 px, and conv5_1's transfer panel
    # then leads by 2.5× instead of 3× (measured).
    options = StyleOptions(size=48, scales=1, steps=20, pooling="avg",
                           style_layers=("conv1_1", "conv5_1"), literal_sum=True, alpha=5e-5,
                           init="content")
    seen: list[str] = []
    result = layer_paintings(tiny_content, tiny_style, options, net=avg_vgg,
                             on_step=lambda label, record: seen.append(label))
    assert len(seen) == layers_steps(options) == 2 * 2 * 20
    assert [p.label for p in result.panels["texture"]] == ["conv1_1", "conv5_1"]
    assert result.panels["texture"][0].image.size == resize_long_side(tiny_style, 48).size
    assert result.panels["transfer"][1].image.size[0] == 48
    # Measured at 48 px, 20 steps: each panel's E on its own layer is 6.5-70 times lower
    # than the other panel's on that layer (texture conv1_1: 0.037 against 0.27).
    for row in ROWS:
        for column in range(2):
            assert result.own_error(row, column) < result.lowest_other_error(row, column) / 3
    assert result.note("texture", 0).startswith("E = ")
    assert result.png().startswith(b"\x89PNG")


def test_default_view_paints_the_papers_style_layers_in_the_steps_it_announces(
        monkeypatch, tiny_content, tiny_style):
    """With no options the view paints a texture and a transfer for each of the paper's five
    style layers, and its progress bar's length is the steps those runs take. The engine is
    replaced by one that reports each step it is asked for (no network)."""
    from gramscope.explain import layers as view
    from gramscope.explain.runner import Panel

    runs: list[tuple[str, StyleOptions]] = []
    steps = []

    def render_run(label, content, style, options, *, on_step=None, net=None):
        runs.append((label, options))
        for _ in range(sum(options.steps_per_scale)):
            steps.append(label)
            if on_step is not None:
                on_step(label, None)
        return Panel(label, resize_long_side(content, options.size), options)

    def targets(style, layers, size, net):
        return dict.fromkeys(layers)

    def errors(image, targets, size, net):
        return dict.fromkeys(targets, 1.0)

    monkeypatch.setattr(view, "render_run", render_run)
    monkeypatch.setattr(view, "gram_targets", targets)
    monkeypatch.setattr(view, "style_errors", errors)
    seen: list[str] = []
    result = layer_paintings(tiny_content, tiny_style, net=object(),  # type: ignore[arg-type]
                             on_step=lambda label, record: seen.append(label))
    paper = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    assert result.layers == tuple(paper)
    assert [label for label, _ in runs] == paper * 2  # the texture row, then the transfer row
    textures, transfers = [o for _, o in runs[:5]], [o for _, o in runs[5:]]
    assert [o.style_layers for o in textures + transfers] == [(layer,) for layer in paper] * 2
    assert all(o.init == "noise" and o.content_layers == () for o in textures)
    assert all(o.content_layers == StyleOptions().content_layers for o in transfers)
    assert seen == steps and len(seen) == layers_steps() > 0


@pytest.mark.slow
def test_layers_command_writes_the_figure(image_files, tmp_path):
    from PIL import Image

    from gramscope.cli import main

    content, style = image_files
    out = tmp_path / "layers.png"
    assert main(["explain", "layers", str(content), str(style), "-o", str(out), "--size", "32",
                 "--steps", "1", "--style-layers", "conv1_1,conv2_1", "-q"]) == 0
    assert Image.open(out).format == "PNG"


@pytest.mark.parametrize("argv, message", [
    (["tubingen"], "give a style image"),
    (["tubingen", "starry_night", "--style-layers", "conv9_9"], "unknown layer"),
    (["tubingen", "starry_night", "-o", "x.jpg"], "PNG"),
])
def test_layers_command_refuses_bad_input_in_one_line(argv, message, capsys, tmp_path,
                                                       monkeypatch):
    from gramscope.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["explain", "layers", *argv]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gramscope: error:") and message in err[-1]
    assert not any("Traceback" in line for line in err)


def test_report_counts_the_layers_view():
    from gramscope.explain.report import report_steps

    options = StyleOptions(size=32, scales=1, steps=3)
    assert report_steps(options, views=("layers", "shuffle")) == \
        report_steps(options) + layers_steps()
