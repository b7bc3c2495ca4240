"""Property: whatever bytes a file holds, ``load_image`` gives a usable RGB image or says why not.

Every example is written to a file and loaded. The loader must either return an RGB image
inside the documented limits or raise :class:`InputImageError` with a one-line message;
any other exception escaping is a bug (a decoder error the loader does not translate).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gramscope.errors import InputImageError
from gramscope.image import MAX_ASPECT, MAX_PIXELS, MIN_SIDE, load_image
from tests.test_inputs import png_chunk

#: Bounded so the whole module runs in a few seconds on two cores.
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

SIGNATURES = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",  # JPEG/JFIF
    b"\xff\xd8\xff\xe1",  # JPEG/EXIF
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    b"RIFF\x00\x10\x00\x00WEBPVP8L",
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"P6\n",  # PPM
    b"%!PS-Adobe-3.0 EPSF-3.0\n",  # a format Pillow knows but the loader refuses
]


def _encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _real_images() -> list[bytes]:
    """Small valid files of every format and mode the loader claims to read."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), "RGB")
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    exif = Image.Exif()
    exif[0x0112] = 6
    return [
        _encoded(rgb, "PNG"),
        _encoded(rgb.convert("RGBA"), "PNG"),
        _encoded(rgb.convert("P"), "PNG", transparency=3),
        _encoded(Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257), "PNG"),
        _encoded(rgb, "JPEG", quality=80, exif=exif.tobytes()),
        _encoded(rgb, "JPEG", progressive=True),
        _encoded(rgb.convert("CMYK"), "JPEG"),
        _encoded(rgb, "GIF", save_all=True, append_images=frames[1:]),
        _encoded(rgb, "BMP"),
        _encoded(rgb, "WEBP", save_all=True, append_images=frames[1:], lossless=True),
        _encoded(rgb, "WEBP", quality=50),
        _encoded(rgb, "TIFF", compression="tiff_deflate"),
        _encoded(rgb, "PPM"),
        _encoded(rgb.resize((8, 8)), "PNG"),  # valid but too small
    ]


REAL = _real_images()


@st.composite
def png_with_random_header(draw) -> bytes:
    """A well-formed PNG (correct CRCs) with random dimensions, depth, colour type and data."""
    width = draw(st.integers(0, 70_000))
    height = draw(st.integers(0, 70_000))
    depth = draw(st.sampled_from([1, 2, 4, 8, 16, 3, 0]))
    colour = draw(st.sampled_from([0, 2, 3, 4, 6, 5]))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, draw(st.integers(0, 1)))
    chunks = [png_chunk(b"IHDR", ihdr)]
    if colour == 3 and draw(st.booleans()):
        chunks.append(png_chunk(b"PLTE", draw(st.binary(min_size=0, max_size=30))))
    if draw(st.booleans()):
        chunks.append(png_chunk(b"tRNS", draw(st.binary(max_size=8))))
    raw = draw(st.binary(max_size=600))
    chunks.append(png_chunk(b"IDAT", zlib.compress(raw) if draw(st.booleans()) else raw))
    chunks.append(png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


@st.composite
def damaged_real_image(draw) -> bytes:
    """A real file with some bytes replaced and/or cut short."""
    data = bytearray(draw(st.sampled_from(REAL)))
    # Headers are where sizes, modes and offsets live, so damage them more often.
    header = min(len(data), 160)
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, header - 1) | st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(data)))
    return bytes(data[:cut])


header_then_noise = st.builds(
    lambda signature, rest: signature + rest, st.sampled_from(SIGNATURES), st.binary(max_size=400)
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "input image.bin"


def assert_loads_or_refuses(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        image = load_image(path)
    except InputImageError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    assert image.mode == "RGB"
    width, height = image.size
    assert min(width, height) >= MIN_SIDE
    assert max(width, height) / min(width, height) <= MAX_ASPECT
    assert width * height <= MAX_PIXELS
    image.tobytes()  # the pixels are really there


@FAST
@given(data=st.one_of(st.binary(max_size=300), header_then_noise))
def test_random_bytes_and_headers(scratch, data):
    assert_loads_or_refuses(scratch, data)


@FAST
@given(data=png_with_random_header())
def test_well_formed_png_with_random_header(scratch, data):
    assert_loads_or_refuses(scratch, data)


@FAST
@given(data=damaged_real_image())
def test_truncated_or_bit_flipped_real_images(scratch, data):
    assert_loads_or_refuses(scratch, data)


def test_the_undamaged_real_images_load():
    """The corpus the fuzzer damages is valid to begin with, so damage is what is tested."""
    for data in REAL[:-1]:
        image = Image.open(io.BytesIO(data))
        image.load()
        assert image.size == (32, 24)
