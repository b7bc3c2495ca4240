"""Every GPU figure of the project in one run, with pastiche 1.6.0 side by side.

Run by bench/gpu.sh on a machine with one CUDA GPU and no network (pastiche's wheel is
installed beforehand). Each section appends its figures to OUT/gpu.json as soon as it is
measured, so a run cut short keeps what it had; the table goes to OUT/RESULTS_gpu.md.

Usage: python bench/bench_gpu.py OUT_DIR [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gramscope.api import stylize  # noqa: E402
from gramscope.device import cached_vgg19  # noqa: E402
from gramscope.image import load_image, resize_long_side, to_tensor  # noqa: E402
from gramscope.losses import gram_matrix  # noqa: E402
from gramscope.samples import sample_path  # noqa: E402

CONTENT, STYLE = sample_path("tubingen"), sample_path("starry_night")
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
GB = 1e9


class Figures:
    """Measured figures, written to disk after every section."""

    def __init__(self, out: Path) -> None:
        self.out, self.data = out, {}
        out.mkdir(parents=True, exist_ok=True)

    def section(self, name: str, measure: Callable[[], dict[str, Any]]) -> None:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            self.data[name] = measure()
        except Exception as exc:  # a broken section must not lose the others
            self.data[name] = {"error": f"{type(exc).__name__}: {exc}"}
        self.data[name]["section_s"] = round(time.perf_counter() - started, 2)
        print(json.dumps(self.data[name]), flush=True)
        (self.out / "gpu.json").write_text(json.dumps(self.data, indent=1))


def synchronized(fn: Callable[[], Any]) -> float:
    torch.cuda.synchronize()
    started = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - started


def whole_process(args: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(args, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path})
    wall = time.perf_counter() - started
    tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
    return {"wall_s": round(wall, 2), "rc": done.returncode, "last_line": tail[0][-200:]}


def cli_process(out: Path) -> dict[str, Any]:
    """`gramscope stylize` as a user runs it: a fresh process, default 512 px."""
    names = [out / "cli_512.png", Path("/tmp/gramscope_cli_again.png")]
    runs = [whole_process([sys.executable, "-m", "gramscope.cli", "stylize", "tubingen",
                           "starry_night", "-o", str(name), "--overwrite", "-q", "--device",
                           "cuda"]) for name in names]
    imports = whole_process([sys.executable, "-c", "import time; t = time.perf_counter(); "
                             "import gramscope.cli, torch; torch.zeros(1).cuda(); "
                             "print(round(time.perf_counter() - t, 2))"])
    return {"runs": runs, "import_and_cuda_init_s": imports["last_line"]}


def warm_in_process(size: int = 512, repeats: int = 3, **options: Any) -> dict[str, Any]:
    times, steps = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        result = stylize(CONTENT, STYLE, size=size, device="cuda", **options)
        torch.cuda.synchronize()
        times.append(round(time.perf_counter() - started, 3))
        steps = len(result.history)
    return {"seconds": times, "steps": steps, "warm_s": min(times[1:] or times)}


def per_step(size: int = 512, steps: int = 30, **options: Any) -> dict[str, Any]:
    """Seconds per engine step, single scale, against a bare VGG-19 forward + backward with
    the Gram losses on the same image."""
    result = stylize(CONTENT, STYLE, size=size, scales=1, steps=steps, device="cuda",
                     **options)
    seconds = [r.seconds for r in result.history]
    engine = (seconds[-1] - seconds[4]) / (len(seconds) - 5)
    net = cached_vgg19(None, "max", "mean-activation", "cuda")
    image = to_tensor(resize_long_side(load_image(CONTENT), size)).cuda().requires_grad_(True)
    layers = (*STYLE_LAYERS, "conv4_2")

    def bare() -> None:
        features = net(image, layers)
        loss = sum(gram_matrix(features[layer]).square().sum() for layer in STYLE_LAYERS)
        (loss + features["conv4_2"].square().sum()).backward()

    for _ in range(5):
        bare()
    bare_s = synchronized(lambda: [bare() for _ in range(20)]) / 20
    return {"size": list(result.image.size), "engine_step_ms": round(engine * 1e3, 2),
            "bare_forward_backward_ms": round(bare_s * 1e3, 2),
            "ratio": round(engine / bare_s, 2)}


def determinism() -> dict[str, Any]:
    import numpy as np

    out = {}
    for deterministic in (True, False):
        images = [np.asarray(stylize(CONTENT, STYLE, size=256, device="cuda",
                                     deterministic=deterministic).image, dtype=np.int16)
                  for _ in range(2)]
        out["deterministic" if deterministic else "not_deterministic"] = {
            "max_level_difference": int(np.abs(images[0] - images[1]).max())}
    return out


def large(size: int, cap_gb: float | None, out: Path, **options: Any) -> dict[str, Any]:
    picture = out / f"large_{size}{'_cap' if cap_gb else ''}.jpg"
    """A run at ``size`` px in a subprocess, optionally under a per-process memory cap."""
    code = f"""
import json, sys, time, torch
sys.path.insert(0, {str(ROOT / 'src')!r})
from gramscope.api import stylize
cap = {cap_gb!r}
if cap:
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(cap * 1e9 / total)
t = time.perf_counter()
r = stylize({str(CONTENT)!r}, {str(STYLE)!r}, size={size}, device="cuda", **{options!r})
torch.cuda.synchronize()
seconds = time.perf_counter() - t
r.image.resize((r.image.width // 8, r.image.height // 8)).save({str(picture)!r})
peak = torch.cuda.max_memory_allocated() / 1e9
events = [h.event for h in r.history if h.event][:3]
print(json.dumps({{"seconds": round(seconds, 2), "peak_gb": round(peak, 2),
    "size": list(r.image.size), "failed": r.failed, "events": events,
    "final_content": r.history[-1].content, "final_style": r.history[-1].style_total}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"rc": done.returncode, "stderr": done.stderr[-600:]}
    return {"cap_gb": cap_gb, **json.loads(lines[-1])}


def pastiche(out: Path, steps: int = 200) -> dict[str, Any]:
    run = whole_process([sys.executable, "-m", "pastiche", "--content", str(CONTENT),
                         "--styles", str(STYLE), "--output", str(out / "pastiche.png"),
                         "--size", "512", "--num-steps", str(steps), "--device", "cuda",
                         "--seed", "0", "--no-verbose"])
    return {"steps": steps, **run}


def table(data: dict[str, Any]) -> str:
    """The figures as the markdown table of RESULTS_gpu.md."""
    def get(section: str, *keys: str) -> Any:
        value: Any = data.get(section, {})
        for key in keys:
            value = value.get(key, "—") if isinstance(value, dict) else "—"
        return value

    cli = get("cli_process_512", "runs")
    cli_walls = ", ".join(str(r["wall_s"]) for r in cli) if isinstance(cli, list) else "—"
    rows = [
        ("GPU", f"{get('device', 'gpu')}, torch {get('device', 'torch')}, CUDA "
                f"{get('device', 'cuda')}"),
        ("`gramscope stylize` default 512 px, whole process (s)", cli_walls),
        ("import gramscope.cli + torch + CUDA init (s)",
         get("cli_process_512", "import_and_cuda_init_s")),
        ("pastiche 1.6.0, 200 steps at 512 px, whole process (s)",
         get("pastiche_200_process", "wall_s")),
        ("default 512 px in-process, warm (s)", get("warm_512_default", "warm_s")),
    ]
    for name in ("step_512", "step_512_channels_last", "step_512_bf16",
                 "step_512_not_deterministic", "step_2048", "step_2048_channels_last_bf16"):
        rows.append((f"{name}: engine step / bare forward+backward (ms)",
                     f"{get(name, 'engine_step_ms')} / {get(name, 'bare_forward_backward_ms')}"
                     f" (×{get(name, 'ratio')})"))
    for key in ("deterministic", "not_deterministic"):
        rows.append((f"two runs at 256 px, {key.replace('_', ' ')}: max difference (levels)",
                     get("determinism_256", key, "max_level_difference")))
    for name in ("default_4096", "default_4096_cap_24gb", "short_8192_cap_80gb"):
        rows.append((f"{name}: seconds, peak GPU memory (GB)",
                     f"{get(name, 'seconds')} s, {get(name, 'peak_gb')} GB "
                     f"{get(name, 'events') or ''}".strip()))
    lines = ["| figure | measured |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--quick", action="store_true", help="skip 8192 px")
    parser.add_argument("--table", action="store_true",
                        help="only print the table of OUT/gpu.json")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads((args.out / "gpu.json").read_text())))
        return
    figures = Figures(args.out)
    figures.section("device", lambda: {
        "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "memory_gb": round(torch.cuda.get_device_properties(0).total_memory / GB, 1)})
    figures.section("cli_process_512", lambda: cli_process(args.out))
    figures.section("pastiche_200_process", lambda: pastiche(args.out))
    figures.section("warm_512_default", lambda: warm_in_process())
    figures.section("step_512", lambda: per_step())
    figures.section("step_512_channels_last", lambda: per_step(channels_last=True))
    figures.section("step_512_bf16", lambda: per_step(precision="bf16"))
    figures.section("step_512_not_deterministic", lambda: per_step(deterministic=False))
    figures.section("step_2048", lambda: per_step(size=2048, steps=15))
    figures.section("step_2048_channels_last_bf16", lambda: per_step(
        size=2048, steps=15, channels_last=True, precision="bf16"))
    figures.section("determinism_256", determinism)
    figures.section("default_4096", lambda: large(4096, None, args.out))
    figures.section("default_4096_cap_24gb", lambda: large(4096, 24, args.out))
    if not args.quick:
        figures.section("short_8192_cap_80gb", lambda: large(
            8192, 80, args.out, steps=3, coarse_steps=(10, 5)))
    print(table(figures.data))


if __name__ == "__main__":
    main()
