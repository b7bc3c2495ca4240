"""``gramscope explain …`` end to end, through the real entry point."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
from PIL import Image

from gramscope.cli import main

FAST = ["--size", "32", "--scales", "1", "--steps", "2", "-q"]


@pytest.mark.slow
def test_bare_explain_writes_the_report(image_files, tmp_path, capsys):
    content, style = image_files
    folder = tmp_path / "report"
    assert main(["explain", str(content), str(style), "-o", str(folder), "--no-compare",
                 "--feature-layers", "conv1_1", "--gram-layer", "conv1_1", *FAST]) == 0
    assert (folder / "index.html").is_file() and not (folder / "compare.png").exists()
    assert "wrote" in capsys.readouterr().out


@pytest.mark.slow
def test_report_with_masks_shows_each_region(image_files, tmp_path):
    content, style = image_files
    width, height = Image.open(content).size
    masks = []
    for name, box in (("left", (0, 0, width // 2, height)),
                      ("right", (width // 2, 0, width, height))):
        mask = Image.new("L", (width, height), 0)
        mask.paste(255, box)
        mask.save(tmp_path / f"{name}.png")
        masks.append(str(tmp_path / f"{name}.png"))
    folder = tmp_path / "report"
    assert main(["explain", "report", str(content), str(style), str(style), "-o", str(folder),
                 "--masks", *masks, "--feature-layers", "conv1_1", "--gram-layer", "conv1_1",
                 *FAST]) == 0
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "Region 2: guided Gram matrices" in page and "left.png" in page
    assert not (folder / "compare.png").exists()  # the mean/std comparison cannot be masked


@pytest.mark.slow
def test_figure1_command(image_files, tmp_path):
    content, style = image_files
    out = tmp_path / "f1.png"
    assert main(["explain", "figure1", str(content), str(style), "-o", str(out),
                 "--content-layers", "conv1_2,conv2_2", "--style-layers", "conv1_1,conv2_1",
                 "--no-prior", *FAST]) == 0
    assert Image.open(out).format == "PNG"


@pytest.mark.slow
def test_figure3_command(image_files, tmp_path):
    content, style = image_files
    out = tmp_path / "f3.png"
    assert main(["explain", "figure3", str(content), str(style), "-o", str(out),
                 "--style-layers", "conv1_1,conv2_1", "--strengths", "0.5,2",
                 "--content-layers", "conv2_2", *FAST]) == 0
    assert Image.open(out).size[0] > 200


@pytest.mark.slow
def test_features_gram_and_losses_commands(image_files, tmp_path, capsys):
    content, style = image_files
    assert main(["explain", "features", str(content), "--layer", "conv1_1", "--count", "4",
                 "--size", "32", "-o", str(tmp_path / "feat.png")]) == 0
    assert main(["explain", "gram", str(style), str(content), "--layer", "conv1_1",
                 "--top", "3", "--size", "32", "-o", str(tmp_path / "gram.png")]) == 0
    out = capsys.readouterr().out
    assert out.count("% of conv1_1's style error") == 3
    stylized = tmp_path / "s.png"
    assert main(["stylize", str(content), str(style), "-o", str(stylized), *FAST]) == 0
    sidecar = tmp_path / "s.png.json"
    assert main(["explain", "losses", str(sidecar), "-o", str(tmp_path / "a.png")]) == 0
    header = (tmp_path / "a.csv").read_text().splitlines()[0]
    assert header.startswith("step,scale,content,conv1_1")
    assert json.loads((tmp_path / "a.json").read_text())["phases"]


@pytest.mark.slow
def test_optimisers_and_pulls_commands(image_files, tmp_path, capsys):
    content, style = image_files
    out = tmp_path / "o.png"
    assert main(["explain", "optimizers", str(content), str(style), "-o", str(out),
                 "--eta", "2", *FAST]) == 0
    assert Image.open(out).format == "PNG"
    assert "gradient descent, η = 2: final L_total" in capsys.readouterr().out
    out = tmp_path / "p.png"
    assert main(["explain", "pulls", str(content), str(style), "-o", str(out),
                 "--style-layers", "conv1_1,conv2_1", "--at", "0,2", "--init", "content",
                 *FAST]) == 0
    assert Image.open(out).format == "PNG"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("step 0: content 0 %, conv1_1") and lines[1].startswith("step 2")


def test_figure_defaults_show_in_help(capsys):
    assert main(["explain", "figure1", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert "(default: 128 on the CPU, 256 on a CUDA GPU)" in text and "(default: avg)" in text
    assert "--alpha" not in text  # each panel sets its own α, β


def test_figure_size_follows_the_device_unless_given(monkeypatch):
    from gramscope.explain.cli import _cell_size

    assert _cell_size(argparse.Namespace(size=None, device="cpu")).size == 128
    assert _cell_size(argparse.Namespace(size=48, device="cpu")).size == 48
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _cell_size(argparse.Namespace(size=None, device="auto")).size == 256
    assert _cell_size(argparse.Namespace(size=96, device="cuda")).size == 96


@pytest.mark.parametrize("argv, message", [
    (["explain", "features", "tubingen", "--layer", "conv9_9", "-o", "x.png"], "unknown layer"),
    (["explain", "figure1", "tubingen", "-o", "x.png"], "give a style image"),
    (["explain", "figure3", "tubingen", "starry_night", "-o", "x.jpg"], "PNG"),
    (["explain", "losses", "missing.json"], "does not exist"),
    (["explain", "optimizers", "tubingen", "starry_night", "--eta", "0"], "--eta"),
    (["explain", "optimizers", "tubingen", "-o", "x.png"], "give a style image"),
    (["explain", "pulls", "tubingen", "starry_night", "--steps", "4", "--at", "0,9"],
     "from 0 to the run's 4 steps"),
    (["explain", "pulls", "tubingen", "starry_night", "-o", "x.jpg"], "PNG"),
    (["explain", "report", "tubingen", "starry_night", "--masks", "a.png", "b.png"],
     "2 masks given for 1 style images"),
])
def test_bad_input_is_a_one_line_error(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gramscope: error:") and message in err[-1]
    assert not any("Traceback" in line for line in err)
