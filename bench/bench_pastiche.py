"""gramscope against pastiche 1.6.0, side by side in one run on this machine.

Not a test: it takes ~15 minutes on 2 CPU cores. Measures, for tubingen × starry_night at
512 px long side:

1. weights ready: gramscope's load + verify + de-quantise + normalise, against pastiche's
   time to its first step (its start-up is dominated by de-quantising the same file);
2. seconds per full-resolution L-BFGS step for both, and the GFLOP/s that implies, against
   the machine's large-matmul peak measured in the same run;
3. a whole run: pastiche's 200 L-BFGS steps (its defaults) against gramscope's default
   (coarse-to-fine), wall time and peak memory, both as subprocesses of this script;
4. the quality of both pictures by the paper's losses, measured the same way for both at
   full size (normalised network, conv4_2 content, w_l = 1/5 on conv1_1…conv5_1), and a
   side-by-side image to look at.

Usage: python bench/bench_pastiche.py [--steps 200] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from gramscope.device import cached_vgg19
from gramscope.image import load_image, resize_long_side, to_tensor
from gramscope.objective import Objective
from gramscope.options import StyleOptions
from gramscope.samples import sample_path
from gramscope.transfer import run
from gramscope.vgg import CHANNELS, LAYERS, normalisation_means, normalise
from gramscope.weights import load_weights

SIZE = 512


def matmul_peak() -> float:
    """Best GFLOP/s of a 4096² fp32 matmul over a few tries."""
    a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
    a @ b
    best = 0.0
    for _ in range(4):
        start = time.perf_counter()
        a @ b
        best = max(best, 2 * 4096**3 / (time.perf_counter() - start) / 1e9)
    return best


def step_gflop(width: int, height: int, deepest: str = "conv5_1") -> float:
    """Conv FLOPs of one forward pass to ``deepest`` plus the backward pass to the input
    (the same FLOPs again: weights take no gradient)."""
    flops, h, w, channels = 0.0, height, width, 3
    for name in LAYERS[: LAYERS.index(deepest) + 1]:
        if name.startswith("pool"):
            h, w = h // 2, w // 2
        else:
            flops += 2 * channels * CHANNELS[name] * 9 * h * w
            channels = CHANNELS[name]
    return 2 * flops / 1e9


def timed_subprocess(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in GB of the child, stdout+stderr)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9
    return wall, peak, done.stdout + done.stderr


def weights_ready_seconds() -> float:
    start = time.perf_counter()
    weights = load_weights()
    normalise(weights, normalisation_means(weights))
    return time.perf_counter() - start


def gramscope_step_seconds(content: Path, style: Path, steps: int = 6) -> float:
    options = StyleOptions(size=SIZE, scales=1, steps=steps)
    seconds = [r.seconds for r in run(content, style, options)]
    return statistics.median(b - a for a, b in zip(seconds, seconds[1:], strict=False))


def paper_losses(result: Path, content: Path, style: Path) -> dict:
    """L_content and L_style = Σ E_l / 5 of ``result``, measured identically for any image."""
    net = cached_vgg19(None, "max", "mean-activation", "cpu")
    options = StyleOptions(size=SIZE, scales=1)
    image = load_image(result)
    c = to_tensor(resize_long_side(load_image(content), max(image.size)))
    s = to_tensor(resize_long_side(load_image(style), max(image.size)))
    objective = Objective(net, options, c, [s], [1.0], alpha=1.0)
    x = to_tensor(image).requires_grad_(True)
    parts = objective.parts(objective.loss_and_grad(x, scale=1.0).tolist())
    return {"content": parts["content"], "style": sum(parts["style"].values()),
            "per_layer": parts["style"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="pastiche's L-BFGS steps")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    content, style = sample_path("tubingen"), sample_path("starry_night")
    figures: dict = {"threads": torch.get_num_threads()}

    figures["matmul_peak_gflops"] = matmul_peak()
    figures["gramscope_weights_ready_s"] = min(weights_ready_seconds() for _ in range(3))

    pastiche_out = args.out / "pastiche.png"
    wall, peak, log = timed_subprocess([
        sys.executable, "-m", "pastiche", "--content", str(content), "--styles", str(style),
        "--output", str(pastiche_out), "--size", str(SIZE), "--num-steps", str(args.steps),
        "--seed", "0", "--info-step", "1", "--device", "cpu",
    ])
    elapsed = [float(m.group(2)) for m in re.finditer(r"^(\d+)\s+([\d.]+)\s", log, re.M)]
    figures["pastiche"] = {
        "wall_s": wall, "peak_rss_gb": peak, "steps": args.steps,
        "first_step_s": elapsed[0],
        "step_s": statistics.median(b - a for a, b in zip(elapsed, elapsed[1:], strict=False)),
    }
    print(json.dumps(figures), flush=True)  # a crash later must not lose the long part

    ours_out = args.out / "gramscope.png"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    wall, peak, _ = timed_subprocess([
        sys.executable, "-m", "gramscope", "stylize", str(content), str(style),
        "-o", str(ours_out), "--overwrite", "-q", "--size", str(SIZE),
    ])
    # RUSAGE_CHILDREN keeps the largest child so far; report ours only if it is larger.
    figures["gramscope"] = {
        "wall_s": wall,
        "peak_rss_gb": peak if resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss > before
        else None,
        "schedule": {"sizes": StyleOptions().scale_sizes,
                     "steps": StyleOptions().steps_per_scale},
    }
    figures["gramscope"]["step_s"] = gramscope_step_seconds(content, style)

    with Image.open(ours_out) as im:
        width, height = im.size
    gflop = step_gflop(width, height)
    for name in ("pastiche", "gramscope"):
        figures[name]["step_gflops_per_s"] = gflop / figures[name]["step_s"]
        result = pastiche_out if name == "pastiche" else ours_out
        figures[name]["losses"] = paper_losses(result, content, style)
    figures["step_gflop"] = gflop
    figures["wall_ratio"] = figures["pastiche"]["wall_s"] / figures["gramscope"]["wall_s"]
    figures["weights_ratio"] = (figures["pastiche"]["first_step_s"]
                                / figures["gramscope_weights_ready_s"])

    panels = [resize_long_side(load_image(p), SIZE) for p in (content, pastiche_out, ours_out)]
    sheet = Image.new("RGB", (sum(p.width for p in panels) + 16, max(p.height for p in panels)),
                      "white")
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width + 8
    sheet.save(args.out / "side_by_side.jpg", quality=90)
    (args.out / "pastiche_comparison.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))
    p, g = figures["pastiche"], figures["gramscope"]
    print(f"\nwall: pastiche {p['wall_s']:.0f} s, gramscope {g['wall_s']:.0f} s "
          f"-> {figures['wall_ratio']:.1f}x faster")
    print(f"content loss: pastiche {p['losses']['content']:.4g}, gramscope "
          f"{g['losses']['content']:.4g}; style loss: pastiche {p['losses']['style']:.4g}, "
          f"gramscope {g['losses']['style']:.4g}")
    print(f"step at {width}x{height}: pastiche {p['step_s']:.2f} s, gramscope "
          f"{g['step_s']:.2f} s ({gflop:.0f} GFLOP; matmul peak "
          f"{figures['matmul_peak_gflops']:.0f} GFLOP/s)")


if __name__ == "__main__":
    main()
