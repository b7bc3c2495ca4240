"""Gram matrices forget where: a tile shuffle barely moves G and moves F a lot."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from gramscope.errors import OptionsError
from gramscope.explain.shuffle import (
    derangement,
    relative_change,
    shuffle_painting,
    shuffle_tiles,
    tile_alignment,
    tile_sides,
)
from gramscope.options import StyleOptions
from gramscope.samples import sample_path

#: The vgg fixture's network: max pooling, as the stylisation defaults.
OPTIONS = StyleOptions(pooling="max")


def test_tiles_align_with_the_deepest_layer_and_all_move():
    assert tile_alignment(["conv1_1", "conv4_2"]) == 8
    assert tile_alignment(OPTIONS.style_layers) == 16  # conv5_1: four poolings
    assert tile_sides((100, 70), 2, 16) == (48, 32)
    with pytest.raises(OptionsError, match="cannot hold 4×4 tiles"):
        tile_sides((60, 40), 4, 16)
    order = derangement(16, 0)
    assert sorted(order) == list(range(16)) and all(i != j for i, j in enumerate(order))
    assert derangement(1, 0) == [0]


def test_shuffled_picture_is_the_crop_rearranged():
    picture = Image.effect_noise((70, 50), 60).convert("RGB")
    crop, shuffled, order = shuffle_tiles(picture, 2, seed=3, align=16)
    assert crop.size == shuffled.size == (64, 32)
    # Tile 0 of the shuffled picture is tile order[0] of the crop.
    sy, sx = divmod(order[0], 2)
    assert shuffled.crop((0, 0, 32, 16)).tobytes() == \
        crop.crop((sx * 32, sy * 16, sx * 32 + 32, sy * 16 + 16)).tobytes()
    assert sorted(crop.tobytes()) == sorted(shuffled.tobytes())  # the same pixels, moved


def test_relative_change_by_hand():
    before = torch.tensor([3.0, 4.0])
    assert relative_change(before, torch.tensor([3.0, 0.0])) == pytest.approx(0.8)
    assert relative_change(torch.zeros(2), torch.ones(2)) == 0.0


def test_gram_matrices_barely_change_and_content_features_do(vgg):
    # The sharp painting, not a blurred upscale: seams matter more in a blurred one.
    shuffle = shuffle_painting(sample_path("starry_night"), grid=2, size=256, options=OPTIONS,
                               net=vgg)
    assert len(shuffle.order) == 4 and shuffle.tile_size[0] % 16 == 0
    assert set(shuffle.gram_change) == set(OPTIONS.style_layers)
    gram, features = shuffle.gram_change["conv1_1"], shuffle.feature_change["conv4_2"]
    # Measured: conv1_1's Gram moves 6.5 %, conv4_2's maps 121 % (8 × 8 tiles or 128 px
    # give more seams: 15-30 %); only conv1_1 units within 2 px of a seam see a change.
    assert gram < 0.1 and features > 1.0 and features > 10 * gram
    # Each deeper layer reaches further across the seams, so its Gram changes more.
    assert shuffle.gram_change["conv5_1"] > shuffle.gram_change["conv1_1"]
    assert shuffle.png().startswith(b"\x89PNG")


def test_one_tile_is_the_identity_and_changes_nothing(vgg, tiny_style):
    shuffle = shuffle_painting(tiny_style, grid=1, size=64, options=OPTIONS, net=vgg)
    assert shuffle.order == [0] and shuffle.painting.tobytes() == shuffle.shuffled.tobytes()
    assert all(change == 0.0 for change in shuffle.gram_change.values())
    assert shuffle.feature_change == {"conv4_2": 0.0}


@pytest.mark.slow
def test_shuffle_command_writes_the_figure_and_prints_the_numbers(tmp_path, capsys):
    from gramscope.cli import main

    out = tmp_path / "shuffle.png"
    assert main(["explain", "shuffle", "starry_night", "--size", "128", "--grid", "2",
                 "--pooling", "max", "-o", str(out)]) == 0
    assert Image.open(out).format == "PNG"
    printed = capsys.readouterr().out
    assert "conv1_1 Gram matrix:" in printed and "conv4_2 feature maps:" in printed


@pytest.mark.parametrize("argv, message", [
    (["--grid", "0"], "at least 1 tile"),
    (["--grid", "8", "--size", "64"], "cannot hold 8×8 tiles"),
    (["-o", "x.jpg"], "PNG"),
])
def test_shuffle_command_refuses_bad_input_in_one_line(argv, message, capsys, tmp_path,
                                                        monkeypatch):
    from gramscope.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["explain", "shuffle", "starry_night", *argv]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gramscope: error:") and message in err[-1]
    assert not any("Traceback" in line for line in err)


def test_report_adds_the_shuffle_section(tmp_path, tiny_content, tiny_style, vgg):
    from gramscope.explain.report import write_report

    index = write_report(tiny_content, tiny_style, tmp_path / "r",
                         StyleOptions(size=32, scales=1, steps=1), compare=False,
                         feature_layers=("conv1_1",), gram_layer="conv1_1",
                         views=("shuffle",), net=vgg)
    page = index.read_text(encoding="utf-8")
    assert "Gram matrices forget where" in page and "conv4_2" in page
    assert (index.parent / "shuffle.png").is_file()
    with pytest.raises(OptionsError, match="unknown view 'colour'"):
        write_report(tiny_content, tiny_style, tmp_path / "r2", views=("colour",))
