"""Loading, validating, resizing and saving images; colour control.

Tensors here are (1, 3, H, W) float RGB in 0-255: the space the optimiser works in.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import struct
import tempfile
import warnings
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from .errors import GramscopeError, InputImageError

#: Smallest side the network can see: five 2x poolings leave conv5_1 at 1/16 of the input.
MIN_SIDE = 16
#: Refused before decoding: a few-kB file can claim a size that would exhaust memory.
MAX_PIXELS = 64_000_000
#: Longer side over shorter side beyond which a picture is refused.
MAX_ASPECT = 16.0
METADATA_KEY = "gramscope"
#: Free space an output folder must have before a run starts: a 4096-px PNG (at most
#: about 50 MB) and its sidecar fit, and a disk this full is about to fail anyway.
MIN_FREE_BYTES = 64 * 2**20

#: Formats read, by Pillow's names; anything else is refused before a decoder runs. Pillow
#: also opens EPS (through Ghostscript), PSD, FITS and a dozen rarer formats no photo or
#: painting arrives in, and every decoder is attack surface. Phone cameras' multi-picture
#: JPEGs (Pillow's MPO) are opened through "JPEG"; AVIF where the installed Pillow has it.
READABLE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "DIB", "WEBP", "TIFF", "PPM", "TGA", "AVIF")
_FORMAT_NAMES = "PNG, JPEG, GIF, BMP, WebP, TIFF, PPM, TGA or AVIF"

#: What damaged files make Pillow's decoders raise: truncation is an OSError, a bad header
#: SyntaxError or ValueError (tests/test_properties.py finds ValueErrors from the PPM
#: header parser and raw-mode lookups); struct, zlib, index, arithmetic and type errors
#: can escape its pure-Python header parsers on crafted input. Anything else is a bug.
_DECODE_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError,
    ZeroDivisionError, TypeError,
)
#: What a corrupt EXIF block makes Pillow's EXIF parser raise.
_METADATA_ERRORS = (SyntaxError, ValueError, TypeError, KeyError, IndexError, struct.error,
                    OSError)


def load_image(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> Image.Image:
    """Open any common image as 8-bit RGB, or raise :class:`InputImageError` in one line.

    What is refused, each before anything is decoded where the file allows it: a missing
    path, a folder or other non-file, an empty or unreadable file, a format outside
    :data:`READABLE_FORMATS`, a header claiming more than :data:`MAX_PIXELS` pixels, a side
    under :data:`MIN_SIDE` px or an aspect ratio beyond :data:`MAX_ASPECT`; and, while
    decoding, a truncated or damaged file (never decoded partially).

    What is converted (see :func:`to_rgb`): the EXIF orientation is applied first (a
    corrupt EXIF block is ignored: the picture is used as stored); alpha is flattened onto
    white; 16-bit images are scaled down to 8 bits; animated images give their first
    frame; CMYK, palette and grayscale become RGB. ``max_pixels`` lowers the pixel limit
    (the web demo takes smaller uploads).
    """
    path = Path(path)
    limit = MAX_PIXELS if max_pixels is None else min(max_pixels, MAX_PIXELS)
    _check_file(path)
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit (MAX_IMAGE_PIXELS, 89 MP) and raises above
            # twice that, both inside Image.open, before our smaller limit is checked:
            # turn the warning into the same refusal instead of a second line on stderr.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Pillow warns (UserWarning) about corrupt metadata it then skips, as the loader
            # does too: the CLI's error output stays one line, its normal output none.
            warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
            with Image.open(path, formats=_available_formats()) as im:
                _check_header(im.size, str(path), limit)  # header only: nothing decoded yet
                im.seek(0)  # animated GIF / WebP / APNG, multi-page TIFF: the first frame
                im.load()
                _apply_exif_orientation(im)
                rgb = to_rgb(im)
    except InputImageError:
        raise
    except UnidentifiedImageError:
        raise InputImageError(
            f"{path} is not an image this tool can read (it reads {_FORMAT_NAMES})"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own, larger limit fired inside Image.open, before the header was ours
        # to read; its message carries the pixel count.
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        amount = f"{int(claimed[1]) / 1e6:,.0f} MP" if claimed else "an enormous size"
        raise InputImageError(
            f"{path} claims {amount}, more than the {limit / 1e6:g} MP allowed; "
            "refusing to decode it"
        ) from None
    except _DECODE_ERRORS as exc:
        raise InputImageError(
            f"{path} is damaged or truncated and could not be decoded ({_one_line(exc)})"
        ) from None
    check_size(rgb.size, str(path))  # a decoder may report a size other than its header's
    return rgb


def _available_formats() -> list[str]:
    Image.init()  # registers every plugin once; cheap afterwards
    return [name for name in READABLE_FORMATS if name in Image.OPEN]


def _check_file(path: Path) -> None:
    """Refuse what is not a readable, non-empty regular file, naming what it is instead."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # NotADirectory: a file in mid-path
        raise InputImageError(f"image not found: {path}") from None
    except OSError as exc:
        raise InputImageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputImageError(f"{path} is a directory, not an image")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO would block for ever and a device never ends: only plain files are read.
        raise InputImageError(f"{path} is not a regular file; give an image file")
    if info.st_size == 0:
        raise InputImageError(f"{path} is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise InputImageError(f"cannot read {path}: permission denied")


def _check_header(size: tuple[int, int], what: str, limit: int) -> None:
    """The limits that can be checked from the header alone, before any pixel is decoded."""
    width, height = size
    # Ours is the binding limit: MAX_PIXELS lies below Pillow's warning threshold.
    if width * height > limit:
        raise InputImageError(
            f"{what} claims {width}x{height} pixels, more than the "
            f"{limit / 1e6:g} MP allowed; refusing to decode it"
        )
    check_size(size, what)


def check_size(size: tuple[int, int], what: str) -> None:
    """Refuse sizes the network cannot see: a side under MIN_SIDE, an aspect beyond MAX_ASPECT."""
    width, height = size
    if min(width, height) < MIN_SIDE:
        raise InputImageError(
            f"{what} is {width}x{height}; the network needs at least {MIN_SIDE} px on each side"
        )
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise InputImageError(
            f"{what} is {width}x{height}; aspect ratios beyond {MAX_ASPECT:g}:1 are not supported"
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _apply_exif_orientation(im: Image.Image) -> None:
    """Rotate a loaded image upright in place as its EXIF orientation says.

    A camera stores the sensor's pixels and a tag saying how to turn them; the network
    must see the picture as the photographer did, so this comes before anything else.
    Decision for a corrupt EXIF block: it is metadata only, the pixels are intact, so the
    picture is used as stored rather than refused.
    """
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except _METADATA_ERRORS:
        pass


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow image as 8-bit RGB: alpha flattened onto white, 16 bits scaled to 8.

    White, not black, behind transparency: a transparent logo or scan reads as paper.
    """
    if im.mode in _WIDE_MODES:
        im = _to_8bit_gray(im)
    if im.mode == "P" or (im.mode in ("L", "RGB") and "transparency" in im.info):
        # A palette (or a grey/RGB colour key) may mark pixels transparent; RGBA shows which.
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


#: Single-channel modes wider than 8 bits, which Pillow's own convert() would clip at 255.
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def _to_8bit_gray(im: Image.Image) -> Image.Image:
    """Scale a 16-bit, 32-bit integer or float image to 8-bit grey instead of clipping it.

    16-bit modes use their full range 0-65535. Modes ``I`` and ``F`` carry no range of
    their own: ``F`` with values up to 1 is taken as 0-1, anything up to 255 as 8-bit,
    larger values as 16-bit (what older Pillow loaded 16-bit PNGs as).
    """
    array = np.nan_to_num(np.asarray(im, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(array.max(initial=0.0))
    if im.mode.startswith("I;16") or peak > 255:
        full_scale = 65535.0
    elif im.mode == "F" and peak <= 1.0:
        full_scale = 1.0
    else:
        full_scale = 255.0
    scaled = np.clip(array * (255.0 / full_scale) + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, "L")


def long_side_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(width, height) of an image of ``size`` scaled so its longer side is ``long_side``
    px, keeping the aspect ratio (each side rounded, at least 1 px)."""
    width, height = size
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_long_side(image: Image.Image, long_side: int) -> Image.Image:
    """Scale so the longer side is ``long_side`` px (:func:`long_side_size`), keeping the
    aspect ratio."""
    size = long_side_size(image.size, long_side)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> (1, 3, H, W) float32 RGB in 0-255."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32)  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) RGB 0-255 -> PIL, rounded and clipped."""
    array = tensor.detach().squeeze(0).clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(np.ascontiguousarray(array), "RGB")


def check_writable(
    path: str | os.PathLike[str], *, needed_bytes: int = MIN_FREE_BYTES
) -> Path:
    """Fail fast, before a long run, if the output cannot be written where asked.

    Checks the name, that the folder exists and accepts a new file, and that its disk has
    ``needed_bytes`` free: a full disk is reported now rather than after an hour's work.
    (The write itself is atomic too, so a disk that fills up later still leaves no
    partial file; see :func:`atomic_write_bytes`.)
    """
    path = Path(path)
    if path.is_dir():
        raise GramscopeError(f"output {path} is a directory; give a file name such as out.png")
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise GramscopeError(f"output {path} must end in .png, .jpg or .webp")
    return check_folder_writable(path, needed_bytes=needed_bytes)


def check_folder_writable(
    path: str | os.PathLike[str], *, needed_bytes: int = MIN_FREE_BYTES
) -> Path:
    """The folder part of :func:`check_writable`, for outputs of any kind (a video)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise GramscopeError(f"cannot write {path}: folder {folder} {what}")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gramscope-probe-"):
            pass
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise GramscopeError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    if free < needed_bytes:
        raise GramscopeError(
            f"cannot write {path}: only {free / 2**20:.1f} MB free on its disk, "
            f"at least {needed_bytes / 2**20:.0f} MB needed"
        )
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``.

    Either the whole new file is at ``path`` or the old one (if any) is untouched: a full
    disk, a failing write or Ctrl-C never leaves a truncated file behind. A failure is a
    :class:`GramscopeError` in one line ("could not write …: No space left on device").
    """
    path = Path(path)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # on the disk before the rename makes it visible
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide results from other users
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise GramscopeError(f"could not write {path}: {exc.strerror or exc}") from None
        raise


def save_image(
    image: Image.Image | torch.Tensor,
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save atomically; PNGs carry ``metadata`` as JSON in a text chunk named ``gramscope``."""
    import io

    path = Path(path)
    pil = to_pil(image) if isinstance(image, torch.Tensor) else image
    buffer = io.BytesIO()
    suffix = path.suffix.lower()
    if suffix == ".png":
        info = PngImagePlugin.PngInfo()
        if metadata is not None:
            info.add_itxt(METADATA_KEY, json.dumps(metadata, sort_keys=True))
        pil.save(buffer, format="PNG", pnginfo=info)
    elif suffix in (".jpg", ".jpeg"):
        pil.save(buffer, format="JPEG", quality=95)
    else:
        pil.save(buffer, format="WEBP", quality=95)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parameters a PNG written by :func:`save_image` was made with."""
    with Image.open(path) as im:
        text = im.text.get(METADATA_KEY) if hasattr(im, "text") else None
    if text is None:
        raise GramscopeError(f"{path} carries no gramscope metadata")
    return json.loads(text)


# ---- colour control (Gatys, Bethge, Hertzmann & Shechtman 2017, "Controlling perceptual
# factors in neural style transfer") -------------------------------------------------------

_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) RGB -> (1, 3, H, W) YIQ (same scale)."""
    return torch.einsum("ij,bjhw->bihw", _RGB_TO_YIQ.to(image), image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB_TO_YIQ).to(image), image)


def luminance_only(image: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
    """Gray RGB made of the luminance; if ``like`` is given, its mean/std are matched to it.

    Matching the style's luminance statistics to the content's is the 2017 paper's step that
    keeps the overall brightness of the photo.
    """
    y = rgb_to_yiq(image)[:, :1]  # (1, 1, H, W)
    if like is not None:
        target = rgb_to_yiq(like)[:, :1]
        y = (y - y.mean()) / (y.std() + 1e-5) * target.std() + target.mean()
    return y.expand(-1, 3, -1, -1).contiguous()


def recombine_luminance(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The result's luminance with the content's I and Q (colour) channels."""
    y = rgb_to_yiq(result)[:, :1]
    iq = rgb_to_yiq(content)[:, 1:]
    if iq.shape[-2:] != y.shape[-2:]:
        iq = torch.nn.functional.interpolate(iq, size=y.shape[-2:], mode="bilinear",
                                             align_corners=False)
    return yiq_to_rgb(torch.cat([y, iq], dim=1)).clamp(0, 255)


def match_color_statistics(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Recolour ``source`` so its pixel mean and covariance equal ``target``'s.

    x' = Σ_t^½ Σ_s^-½ (x − μ_s) + μ_t, with symmetric matrix square roots: the 2017 paper's
    "colour histogram matching" of the style image to the content image.
    """
    def stats(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = image.reshape(3, -1).double()  # (3, M)
        mean = pixels.mean(dim=1, keepdim=True)
        centred = pixels - mean
        eye = torch.eye(3, dtype=torch.float64, device=image.device)
        cov = centred @ centred.T / pixels.shape[1] + 1e-3 * eye
        return mean, cov

    def sqrtm(matrix: torch.Tensor, power: float) -> torch.Tensor:
        values, vectors = torch.linalg.eigh(matrix)
        return vectors @ torch.diag(values.clamp_min(1e-8) ** power) @ vectors.T

    mean_s, cov_s = stats(source)
    mean_t, cov_t = stats(target)
    transform = sqrtm(cov_t, 0.5) @ sqrtm(cov_s, -0.5)
    pixels = source.reshape(3, -1).double()
    matched = transform @ (pixels - mean_s) + mean_t
    return matched.reshape(source.shape).to(source.dtype).clamp(0, 255)
