"""Loading, validating, resizing and saving images; colour control.

Tensors here are (1, 3, H, W) float RGB in 0-255: the space the optimiser works in.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
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


def load_image(path: str | os.PathLike[str]) -> Image.Image:
    """Open any common image as 8-bit RGB, or raise :class:`InputImageError` in one line.

    EXIF orientation is applied first; alpha is flattened onto white (transparent parts of
    a logo read as paper, not as black); 16-bit images are scaled down to 8 bits; animated
    images give their first frame; CMYK, palette and grayscale are converted.
    """
    path = Path(path)
    if not path.exists():
        raise InputImageError(f"image not found: {path}")
    if path.is_dir():
        raise InputImageError(f"{path} is a directory, not an image")
    if path.stat().st_size == 0:
        raise InputImageError(f"{path} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size  # header only: nothing decoded yet
                if width * height > MAX_PIXELS:
                    raise InputImageError(
                        f"{path} claims {width}x{height} pixels, more than the "
                        f"{MAX_PIXELS // 1_000_000} MP allowed; refusing to decode it"
                    )
                im.seek(0)
                im.load()
                rgb = _to_rgb(ImageOps.exif_transpose(im))
    except InputImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputImageError(f"{path} is not an image this tool can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputImageError(f"{path} could not be decoded ({exc}); is it truncated?") from None
    check_size(rgb.size, str(path))
    return rgb


def check_size(size: tuple[int, int], what: str) -> None:
    width, height = size
    if min(width, height) < MIN_SIDE:
        raise InputImageError(
            f"{what} is {width}x{height}; the network needs at least {MIN_SIDE} px on each side"
        )
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise InputImageError(
            f"{what} is {width}x{height}; aspect ratios beyond {MAX_ASPECT:g}:1 are not supported"
        )


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Pillow clips 16-bit values at 255 when converting to 8 bits; scale instead.
        array = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        im = Image.fromarray(np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def resize_long_side(image: Image.Image, long_side: int) -> Image.Image:
    """Scale so the longer side is ``long_side`` px, keeping the aspect ratio."""
    width, height = image.size
    scale = long_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
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


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail fast, before a long run, if the output cannot be written where asked."""
    path = Path(path)
    if path.is_dir():
        raise GramscopeError(f"output {path} is a directory; give a file name such as out.png")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise GramscopeError(f"cannot write {path}: folder {folder} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gramscope-probe-"):
            pass
    except OSError as exc:
        raise GramscopeError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise GramscopeError(f"output {path} must end in .png, .jpg or .webp")
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
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
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise GramscopeError(f"could not write {path}: {exc.strerror or exc}") from None
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
        cov = centred @ centred.T / pixels.shape[1] + 1e-3 * torch.eye(3, dtype=torch.float64)
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
