"""Loading, saving and colour helpers."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from gramscope.errors import InputImageError
from gramscope.image import (
    load_image,
    long_side_size,
    match_color_statistics,
    read_metadata,
    resize_long_side,
    save_image,
    to_pil,
    to_tensor,
)


def test_round_trip_and_metadata(tmp_path, tiny_content):
    tensor = to_tensor(tiny_content)
    assert tensor.shape == (1, 3, 48, 64) and tensor.dtype == torch.float32
    assert to_pil(tensor).tobytes() == tiny_content.tobytes()
    path = save_image(tensor, tmp_path / "a.png", {"seed": 5, "name": "ü"})
    assert read_metadata(path) == {"seed": 5, "name": "ü"}
    assert load_image(path).tobytes() == tiny_content.tobytes()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]
    umask = os.umask(0o022)
    try:
        path = save_image(tensor, tmp_path / "b.png")
        assert path.stat().st_mode & 0o777 == 0o644  # as any other file, not mkstemp's 0600
    finally:
        os.umask(umask)


def test_resize_keeps_aspect(tiny_content):
    assert resize_long_side(tiny_content, 32).size == (32, 24)


def test_long_side_size_rounds_each_side_and_keeps_at_least_one_pixel():
    assert long_side_size((768, 576), 64) == (64, 48)
    assert long_side_size((576, 768), 100) == (75, 100)
    assert long_side_size((300, 200), 100) == (100, 67)  # 66.67 rounds up
    assert long_side_size((1000, 3), 100) == (100, 1)  # 0.3 px would be none


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "I;16"])
def test_other_modes_become_rgb(tmp_path, mode):
    array = (np.arange(32 * 40) % 251).reshape(32, 40)
    if mode == "I;16":
        image = Image.fromarray((array * 256).astype(np.uint16))
    else:
        image = Image.fromarray(array.astype(np.uint8), "L").convert(mode)
    path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    image.save(path)
    loaded = load_image(path)
    assert loaded.mode == "RGB" and loaded.size == (40, 32)
    if mode == "I;16":  # scaled, not clipped at 255
        assert np.asarray(loaded)[0, 0:3, 0].tolist() == [0, 1, 2]


def test_transparent_pixels_become_white(tmp_path):
    image = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    image.save(tmp_path / "t.png")
    assert load_image(tmp_path / "t.png").getpixel((3, 3)) == (255, 255, 255)


def test_too_small_and_bomb_are_refused(tmp_path, monkeypatch):
    Image.new("RGB", (10, 40)).save(tmp_path / "small.png")
    with pytest.raises(InputImageError, match="at least 16 px"):
        load_image(tmp_path / "small.png")
    Image.new("RGB", (400, 300)).save(tmp_path / "big.png")
    monkeypatch.setattr("gramscope.image.MAX_PIXELS", 100_000)
    with pytest.raises(InputImageError, match="refusing to decode"):
        load_image(tmp_path / "big.png")


def test_match_color_statistics_matches_mean_and_covariance():
    torch.manual_seed(0)
    source = torch.rand(1, 3, 20, 20) * 100
    target = torch.rand(1, 3, 20, 20) * 50 + torch.tensor([100.0, 20.0, 60.0]).view(1, 3, 1, 1)
    matched = match_color_statistics(source, target)

    def stats(x):
        p = x.reshape(3, -1).double()
        return p.mean(1), torch.cov(p, correction=0)

    mean_m, cov_m = stats(matched)
    mean_t, cov_t = stats(target)
    assert torch.allclose(mean_m, mean_t, atol=0.5)
    assert torch.allclose(cov_m, cov_t, atol=1.0)
