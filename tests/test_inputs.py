"""Every kind of image file a user may give: refused in one line, or read correctly.

Each bad file is made here. Refusals are checked through the library (the exact error and
its message), through ``gramscope.cli.main`` (one ``gramscope: error:`` line, a non-zero
exit, no output file) and, for a few, through a real ``gramscope`` subprocess.
"""

from __future__ import annotations

import io
import os
import re
import resource
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from gramscope import cli
from gramscope.errors import InputImageError
from gramscope.image import MAX_ASPECT, MAX_PIXELS, MIN_SIDE, load_image

TINY_RUN = ["--size", "40", "--scales", "1", "--steps", "1", "-q"]


# ---- files made by the tests ------------------------------------------------------------

def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with a correct CRC, so only what the test means to be wrong is wrong."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A valid 8-bit RGB PNG header claiming ``width`` x ``height`` with almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b""))


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def noise(width: int = 48, height: int = 32) -> Image.Image:
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def _missing(tmp: Path) -> Path:
    return tmp / "nope.jpg"


def _directory(tmp: Path) -> Path:
    (tmp / "photos.jpg").mkdir()
    return tmp / "photos.jpg"


def _write(name: str, data: Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(data())
        return path

    return make


def _cut(fmt: str, keep: float) -> Callable[[], bytes]:
    def data() -> bytes:
        whole = encoded(noise(), fmt)
        return whole[: int(len(whole) * keep)]

    return data


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.png")  # opening it to read would block for ever
    return tmp / "pipe.png"


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\nshowpage\n%%EOF\n"

#: (id, how to make the file, what the one-line message must contain)
BAD_FILES = [
    ("missing", _missing, "image not found"),
    ("directory", _directory, "is a directory"),
    ("fifo", _fifo, "not a regular file"),
    ("zero-bytes", _write("empty.png", lambda: b""), "empty (0 bytes)"),
    ("text-named-jpg", _write("notes.jpg", lambda: b"remember the milk\n" * 20),
     "not an image this tool can read"),
    # Pillow would read EPS through Ghostscript; refused before any decoder runs.
    ("eps", _write("drawing.eps", lambda: EPS), "not an image this tool can read"),
    ("truncated-jpeg", _write("cut.jpg", _cut("JPEG", 0.6)), "damaged or truncated"),
    ("truncated-png", _write("cut.png", _cut("PNG", 0.6)), "damaged or truncated"),
    ("truncated-png-end", _write("cut2.png", _cut("PNG", 0.98)), "damaged or truncated"),
    ("bomb", _write("bomb.png", lambda: png_claiming(100_000, 100_000)), "refusing to decode"),
    ("too-small", _write("small.png", lambda: encoded(noise(MIN_SIDE - 1, 40), "PNG")),
     f"at least {MIN_SIDE} px on each side"),
    ("too-narrow", _write("strip.png", lambda: encoded(noise(300, 17), "PNG")),
     f"beyond {MAX_ASPECT:g}:1"),
]
BAD_IDS = [case[0] for case in BAD_FILES]


# ---- refusals ---------------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [case[1:] for case in BAD_FILES], ids=BAD_IDS)
def test_bad_file_is_refused_in_one_line(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputImageError, match=re.escape(message)) as info:
        load_image(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text  # says which file, on one line


@pytest.mark.parametrize("make, message", [case[1:] for case in BAD_FILES], ids=BAD_IDS)
def test_bad_file_through_the_cli(tmp_path, make, message, image_files, capsys, monkeypatch):
    """``main`` as the entry point runs it: one error line, exit 1, nothing written."""
    content, style = image_files
    bad = make(tmp_path)
    out = tmp_path / "out" / "result.png"
    out.parent.mkdir()
    monkeypatch.setattr("gramscope.transfer.run", _no_run)
    # The bad file as the style image too, to check every image is checked before the run.
    for images in ([bad, style], [content, bad]):
        code = cli.main(["stylize", *map(str, images), "-o", str(out), *TINY_RUN])
        err = capsys.readouterr().err
        assert code == 1
        assert err.startswith("gramscope: error:") and err.count("\n") == 1, err
        assert message in err
    assert not any(out.parent.iterdir())


def _no_run(*args, **kwargs):
    raise AssertionError("the optimisation started although an input was bad")


@pytest.mark.slow
@pytest.mark.parametrize("make", [_write("cut.jpg", _cut("JPEG", 0.5)),
                                  _write("bomb.png", lambda: png_claiming(100_000, 100_000))],
                         ids=["truncated-jpeg", "bomb"])
def test_bad_file_through_a_real_subprocess(tmp_path, image_files, make):
    """As a user runs it, from a folder whose name has spaces and non-ASCII characters."""
    _, style = image_files
    folder = tmp_path / "mes images – Straße 東京"
    folder.mkdir()
    out = folder / "o.png"
    bad = make(folder)
    done = subprocess.run(
        [sys.executable, "-m", "gramscope", "stylize", str(bad), str(style),
         "-o", str(out), *TINY_RUN],
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"gramscope: error: {bad} ") and done.stderr.count("\n") == 1
    assert sorted(folder.iterdir()) == [bad] and done.stdout == ""


@pytest.mark.parametrize("width, height, message", [
    (9_000, 9_000, "claims 9000x9000 pixels, more than the 64 MP allowed"),
    (10_000, 10_000, "claims 100 MP, more than the 64 MP allowed"),
    (100_000, 100_000, "claims 10,000 MP, more than the 64 MP allowed"),
    (70_000, 1, "needs at least 16 px"),
], ids=["81MP", "100MP", "10GP", "70000x1"])
def test_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch, width, height,
                                                       message):
    """A 100-byte file claiming up to 10 gigapixels: no pixel memory, well under a second.

    81 MP is over our limit but under Pillow's warning threshold (89 MP); 100 MP lies in
    Pillow's warning range and 10 GP in its error range: each gets the same refusal. A
    size that is merely too small is refused from the header too.
    """
    assert MAX_PIXELS == 64_000_000 and MIN_SIDE == 16  # as the messages above say
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(width, height))
    assert path.stat().st_size < 200

    def decoding(self):
        raise AssertionError("pixel memory was allocated for a refused image")

    monkeypatch.setattr(ImageFile.ImageFile, "load_prepare", decoding)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    with pytest.raises(InputImageError, match=message):
        load_image(path)
    assert time.perf_counter() - started < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 50_000


def test_size_limits_are_inclusive(tmp_path):
    """Exactly MIN_SIDE px and exactly MAX_ASPECT:1 are allowed; one pixel less is not."""
    width = int(MIN_SIDE * MAX_ASPECT)
    for size in [(MIN_SIDE, MIN_SIDE), (width, MIN_SIDE), (MIN_SIDE, width)]:
        path = tmp_path / f"{size[0]}x{size[1]}.png"
        noise(*size).save(path)
        assert load_image(path).size == size
    noise(width + 1, MIN_SIDE).save(tmp_path / "wide.png")
    with pytest.raises(InputImageError, match="aspect"):
        load_image(tmp_path / "wide.png")


@pytest.mark.parametrize("fmt, params", [("PNG", {}), ("JPEG", {}),
                                         ("JPEG", {"progressive": True}), ("GIF", {}),
                                         ("WEBP", {"lossless": True}), ("TIFF", {})],
                         ids=["png", "jpeg", "progressive-jpeg", "gif", "webp", "tiff"])
def test_a_cut_file_is_never_decoded_partially(tmp_path, fmt, params):
    """At every cut, the loader refuses the file or returns every pixel of the whole one.

    (A PNG may lose its last bytes - checksum and end marker - with the pixels intact.)
    Partial decoding is Pillow's global LOAD_TRUNCATED_IMAGES; nothing in gramscope sets it.
    """
    import gramscope.cli  # noqa: F401  (the library and its faces, imported as the CLI does)

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    whole = encoded(noise(24, 16), fmt, **params)
    (tmp_path / "whole").write_bytes(whole)
    expected = load_image(tmp_path / "whole").tobytes()
    path = tmp_path / "cut"
    cuts = sorted({*range(1, len(whole), 7), *range(len(whole) - 40, len(whole))})
    refused = 0
    for cut in cuts:
        path.write_bytes(whole[:cut])
        try:
            pixels = load_image(path).tobytes()
        except InputImageError:
            refused += 1
            continue
        assert pixels == expected, f"{len(whole) - cut} bytes missing decoded partially"
    assert refused >= len(cuts) - 30


# ---- read correctly ---------------------------------------------------------------------

def load_saved(tmp_path: Path, image: Image.Image, name: str, **params) -> Image.Image:
    path = tmp_path / name
    image.save(path, **params)
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    return loaded


def test_grayscale_becomes_equal_channels(tmp_path):
    gray = Image.fromarray(np.arange(32 * 40, dtype=np.uint32).reshape(32, 40).astype(np.uint8))
    pixels = np.asarray(load_saved(tmp_path, gray, "gray.png"))
    assert pixels.shape == (32, 40, 3)
    for channel in range(3):
        assert np.array_equal(pixels[..., channel], np.asarray(gray))


def test_palette_without_and_with_transparency(tmp_path):
    palette = Image.new("P", (20, 20), 1)
    palette.putpalette([0, 0, 255] + [200, 30, 40] + [0, 0, 0] * 254)
    palette.paste(0, (0, 0, 10, 20))  # left half: index 0 (blue)
    plain = load_saved(tmp_path, palette, "p.png")
    assert plain.getpixel((2, 2)) == (0, 0, 255) and plain.getpixel((15, 2)) == (200, 30, 40)
    keyed = load_saved(tmp_path, palette, "p-transparent.png", transparency=0)
    assert keyed.getpixel((2, 2)) == (255, 255, 255)  # transparent index: white paper
    assert keyed.getpixel((15, 2)) == (200, 30, 40)
    gif = load_saved(tmp_path, palette, "p-transparent.gif", transparency=0)
    assert gif.getpixel((2, 2)) == (255, 255, 255) and gif.getpixel((15, 2)) == (200, 30, 40)


def test_alpha_is_flattened_onto_white(tmp_path):
    """Documented: transparency reads as white paper, partial alpha blends towards white."""
    rgba = Image.new("RGBA", (20, 20), (200, 0, 0, 255))
    rgba.paste((200, 0, 0, 0), (0, 0, 10, 20))
    rgba.paste((0, 0, 0, 128), (0, 0, 10, 10))
    loaded = load_saved(tmp_path, rgba, "rgba.png")
    assert loaded.getpixel((15, 15)) == (200, 0, 0)
    assert loaded.getpixel((5, 15)) == (255, 255, 255)
    assert all(abs(value - 127) <= 1 for value in loaded.getpixel((5, 5)))
    la = Image.merge("LA", (Image.new("L", (20, 20), 40), rgba.getchannel("A")))
    loaded = load_saved(tmp_path, la, "la.png")
    assert loaded.getpixel((15, 15)) == (40, 40, 40) and loaded.getpixel((5, 15)) == (255,) * 3


def test_rgb_with_a_transparent_colour_key(tmp_path):
    rgb = Image.new("RGB", (20, 20), (10, 20, 30))
    rgb.paste((90, 90, 90), (0, 0, 10, 20))
    loaded = load_saved(tmp_path, rgb, "key.png", transparency=(90, 90, 90))
    assert loaded.getpixel((2, 2)) == (255, 255, 255) and loaded.getpixel((15, 2)) == (10, 20, 30)


def test_cmyk_jpeg_keeps_its_colours(tmp_path):
    colour = (200, 40, 90)
    cmyk = Image.new("RGB", (32, 24), colour).convert("CMYK")
    path = tmp_path / "cmyk.jpg"
    cmyk.save(path, quality=95)
    with Image.open(path) as raw:
        assert raw.mode == "CMYK"
    pixel = load_image(path).getpixel((16, 12))
    assert all(abs(a - b) <= 6 for a, b in zip(pixel, colour, strict=True)), pixel


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16).repeat(16, axis=0).repeat(4, 1)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")  # "I;16" in current Pillow, "I" in older ones
    row = np.asarray(load_image(path))[0, ::4, 0].tolist()
    assert row == [0, 1, 128, 255]  # clipping would give [0, 255, 255, 255]


def test_16_bit_rgb_png_is_scaled_not_clipped(tmp_path):
    """Pillow cannot write one, so it is built by hand: 16x16 of (65535, 32896, 257)."""
    row = b"\0" + struct.pack(">HHH", 65535, 32896, 257) * 16  # filter byte, then pixels
    ihdr = struct.pack(">IIBBBBB", 16, 16, 16, 2, 0, 0, 0)  # 16 bits, truecolour
    path = tmp_path / "deep-rgb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
                     + png_chunk(b"IDAT", zlib.compress(row * 16)) + png_chunk(b"IEND", b""))
    assert load_image(path).getpixel((7, 7)) == (255, 128, 1)


def test_dark_16_bit_png_stays_dark(tmp_path):
    """A 16-bit picture whose values all lie below 256 is nearly black, not full range."""
    path = tmp_path / "dark.png"
    Image.fromarray(np.full((16, 16), 255, dtype=np.uint16)).save(path)
    assert load_image(path).getpixel((0, 0)) == (1, 1, 1)


def exif_jpeg(path: Path, orientation: int) -> None:
    """A 40x20 white JPEG with a red 8x8 block at the stored top-left corner."""
    image = Image.new("RGB", (40, 20), "white")
    image.paste((255, 0, 0), (0, 0, 8, 8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, quality=95, exif=exif.tobytes())


def is_red(pixel: tuple[int, int, int]) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def test_exif_orientation_is_applied_first(tmp_path):
    """Orientation 6: the camera was turned; the viewer turns the stored picture 90° right."""
    path = tmp_path / "turned.jpg"
    exif_jpeg(path, 6)
    loaded = load_image(path)
    assert loaded.size == (20, 40)
    assert is_red(loaded.getpixel((17, 2)))  # stored top-left is now top-right
    assert not is_red(loaded.getpixel((2, 2)))


def test_corrupt_exif_falls_back_to_the_stored_picture(tmp_path, monkeypatch):
    """Documented decision: unreadable EXIF is ignored, the intact pixels are used as stored."""
    path = tmp_path / "corrupt-exif.jpg"
    noise(40, 20).save(path, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12")
    assert load_image(path).size == (40, 20)  # Pillow itself only warns on this one

    def corrupt(self):
        raise SyntaxError("not a TIFF file (header b'garbage' not valid)")

    exif_jpeg(path, 6)
    monkeypatch.setattr(Image.Image, "getexif", corrupt)
    assert load_image(path).size == (40, 20)


@pytest.mark.parametrize("fmt, params", [("GIF", {}), ("WEBP", {"lossless": True})])
def test_animation_gives_its_first_frame(tmp_path, fmt, params):
    frames = [Image.new("RGB", (30, 20), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    path = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0, **params)
    with Image.open(path) as raw:
        assert raw.n_frames == 2
    assert load_image(path).getpixel((5, 5)) == (255, 0, 0)


def test_paths_with_spaces_and_non_ascii_characters(tmp_path):
    folder = tmp_path / "mes images – Straße 東京"
    folder.mkdir()
    path = folder / "ein Bild ç.png"
    noise().save(path)
    assert load_image(path).size == (48, 32)
    assert load_image(str(path)).size == (48, 32)
    # Messages name such paths faithfully too.
    with pytest.raises(InputImageError, match="Straße 東京"):
        load_image(folder / "fehlt.png")


# ---- weights files are inputs too (the rest of their refusals: tests/test_weights.py) ----

class _TouchesAFile:
    """Unpickling this creates a file: proof, if it exists, that arbitrary code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_weights_archive_carrying_code_is_refused_without_running_it(tmp_path, image_files,
                                                                       capsys):
    """A real ``torch.save`` archive whose pickle would run code is refused in one line."""
    import torch

    from gramscope.errors import WeightsError
    from gramscope.weights import load_weights

    marker = tmp_path / "code-ran"
    evil = tmp_path / "vgg19 évil.pth"
    torch.save({"block1_conv1_W_q": _TouchesAFile(marker)}, evil)
    with pytest.raises(WeightsError, match="not a readable PyTorch weights file"):
        load_weights(evil)
    content, style = image_files
    out = tmp_path / "o.png"
    code = cli.main(["stylize", str(content), str(style), "-o", str(out), "--weights", str(evil),
                     *TINY_RUN])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("gramscope: error:") and err.count("\n") == 1, err
    assert not marker.exists() and not out.exists()


def test_a_weights_dict_with_non_string_keys_is_refused(tmp_path):
    import torch

    from gramscope.errors import WeightsError
    from gramscope.weights import load_weights

    path = tmp_path / "odd.pth"
    torch.save({1: torch.zeros(3)}, path)
    with pytest.raises(WeightsError):
        load_weights(path)
