"""The bundled example images (attribution in samples/SOURCES.md)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import InputImageError

SAMPLES = {
    "tubingen": "tubingen.jpg",
    "starry_night": "starry_night.jpg",
    "astronaut": "astronaut.jpg",
    "woman_with_hat": "woman_with_hat.jpg",
}
DEFAULT_CONTENT = "tubingen"
DEFAULT_STYLE = "starry_night"
#: Images whose activations set the paper's network normalisation (see vgg.normalise).
NORMALISATION_SAMPLES = tuple(SAMPLES)


def sample_path(name: str) -> Path:
    """Path of a bundled sample by name (``tubingen``) or file name (``tubingen.jpg``)."""
    key = name.removesuffix(".jpg")
    if key not in SAMPLES:
        raise InputImageError(f"no bundled sample {name!r}; choose from {', '.join(SAMPLES)}")
    return Path(str(resources.files("gramscope") / "samples" / SAMPLES[key]))


def resolve_image_argument(value: str) -> Path:
    """A CLI image argument: an existing path, else ``sample:NAME`` or a bare sample name."""
    path = Path(value)
    if path.exists():
        return path
    name = value.removeprefix("sample:")
    if value.startswith("sample:") or name.removesuffix(".jpg") in SAMPLES:
        return sample_path(name)
    return path  # load_image reports it missing
