"""The style–content frontier of both tools, on the network judge.

For each pair and size, sweeps gramscope's content weight α (a log grid, ``--alphas``)
and pastiche 1.6.0's ``--content-weight`` (``--content-weights``; 1 is its default, whose
picture is bench/references/' pastiche-200), scores every picture with bench/netjudge.py
and plots style against content for both tools on one chart (lower-left is better: closer
to the painting and to the photo). A default is good only if it lies on or beyond
pastiche's curve near pastiche-200's point.

pastiche's pictures are deterministic for its seed: each is made once (200 steps, seed 0,
the CPU) and kept in bench/references/ as ``<pair>_<size>_pastiche200_cw<w>.png`` with its
command and seconds (the content weight 1 picture is the ordinary reference).

Writes bench/results/frontier_<pair>_<size>.json and bench/results/frontier_<pair>.png
(one panel per size).

Usage: python bench/bench_frontier.py [--sizes 256] [--pairs NAME ...]
       [--alphas 1.25e-6 2.5e-6 5e-6 1e-5 2e-5 1.6e-4] [--content-weights 0.25 1 4] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import torch

import gramscope
from gramscope.options import StyleOptions
from make_references import (
    PASTICHE_STEPS,
    REFERENCES,
    make,
    pastiche_command,
    portable,
    reference_path,
)
from netjudge import NetJudgeSettings, judge
from pairs import Pair, pair_named

RESULTS = Path(__file__).parent / "results"
WORK = Path(__file__).parent / "work" / "frontier"
PAIRS = ("tubingen-starry_night", "chelsea-woman_with_hat", "tubingen-wave",
         "rocket-shipwreck")
#: A log grid (¼× … 4× around the default 5e-6), and the default before the network judge
#: (1.6e-4).
ALPHAS = (1.25e-6, 2.5e-6, 5e-6, 1e-5, 2e-5, 1.6e-4)
CONTENT_WEIGHTS = (0.25, 1.0, 4.0)


def pastiche_picture(pair: Pair, size: int, weight: float, threads: int | None) -> Path:
    """pastiche-200 at content weight ``weight``, made once and kept."""
    if weight == 1.0:
        path = reference_path(pair, size)
        if not path.with_suffix(".json").is_file():
            make(pair, size, threads)
        return path
    path = REFERENCES / f"{pair.name}_{size}_pastiche{PASTICHE_STEPS}_cw{weight:g}.png"
    if path.with_suffix(".json").is_file():
        return path
    photo, painting = pair.paths()
    command = pastiche_command(photo, painting, size, PASTICHE_STEPS, path) + [
        "--content-weight", f"{weight:g}"]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    record = {"pair": pair.name, "size": size, "steps": PASTICHE_STEPS, "content_weight": weight,
              "command": portable(command), "seconds": round(time.perf_counter() - start, 1),
              "threads": threads or os.cpu_count()}
    path.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    return path


def gramscope_picture(pair: Pair, size: int, alpha: float) -> tuple[Path, float]:
    path = WORK / f"{pair.name}_{size}_alpha{alpha:g}.png"
    photo, painting = pair.paths()
    start = time.perf_counter()
    gramscope.stylize(photo, painting, size=size, alpha=alpha).image.save(path)
    return path, time.perf_counter() - start


def sweep(pair: Pair, size: int, args: argparse.Namespace) -> dict:
    photo, painting = pair.paths()
    default = StyleOptions(size=size)
    report: dict = {"pair": pair.name, "size": size, "judge": NetJudgeSettings().to_dict(),
                    "default_alpha": default.alpha,
                    "schedule": {"scale_sizes": default.scale_sizes,
                                 "steps_per_scale": default.steps_per_scale},
                    "gramscope": [], "pastiche": []}
    for weight in args.content_weights:
        picture = pastiche_picture(pair, size, weight, args.threads)
        report["pastiche"].append({"content_weight": weight, "picture": picture.name,
                                   **judge(picture, photo, painting)})
        print(f"{pair.name} {size} pastiche cw={weight:g}: "
              f"{report['pastiche'][-1]['content']:.3f} / {report['pastiche'][-1]['style']:.4f}",
              flush=True)
    for alpha in args.alphas:
        picture, seconds = gramscope_picture(pair, size, alpha)
        report["gramscope"].append({"alpha": alpha, "seconds": round(seconds, 1),
                                    **judge(picture, photo, painting)})
        print(f"{pair.name} {size} gramscope α={alpha:g}: "
              f"{report['gramscope'][-1]['content']:.3f} / "
              f"{report['gramscope'][-1]['style']:.4f} ({seconds:.0f} s)", flush=True)
    return report


def plot(pair: Pair, reports: list[dict], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(reports), figsize=(5.2 * len(reports), 4.4),
                                squeeze=False)
    for axis, report in zip(axes[0], reports, strict=True):
        ours = sorted(report["gramscope"], key=lambda r: r["content"])
        theirs = sorted(report["pastiche"], key=lambda r: r["content"])
        axis.plot([r["content"] for r in theirs], [r["style"] for r in theirs], "s-",
                  color="tab:orange", label="pastiche-200, content weight")
        for r in theirs:
            axis.annotate(f"{r['content_weight']:g}", (r["content"], r["style"]),
                          textcoords="offset points", xytext=(5, 4), fontsize=8)
        axis.plot([r["content"] for r in ours], [r["style"] for r in ours], "o-",
                  color="tab:blue", label="gramscope, α")
        for r in ours:
            axis.annotate(f"{r['alpha']:g}", (r["content"], r["style"]),
                          textcoords="offset points", xytext=(5, -10), fontsize=8)
        default = [r for r in ours if r["alpha"] == report["default_alpha"]]
        if default:
            axis.plot(default[0]["content"], default[0]["style"], "*", ms=16, color="tab:blue",
                      label="gramscope default")
        axis.set_xlabel("content: LPIPS to the photo (lower keeps more)")
        axis.set_ylabel("style: SW₂ to the painting (lower paints more)")
        axis.set_title(f"{pair.name}, {report['size']} px")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256])
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS))
    parser.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS))
    parser.add_argument("--content-weights", type=float, nargs="+",
                        default=list(CONTENT_WEIGHTS))
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP_NUM_THREADS for pastiche (default: all cores)")
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the charts from the kept JSON, marking today's "
                        "default α")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    for name in args.pairs:
        pair = pair_named(name)
        if args.replot:
            reports = [json.loads((RESULTS / f"frontier_{pair.name}_{size}.json").read_text())
                       for size in args.sizes]
            for report in reports:
                report["default_alpha"] = StyleOptions().alpha
            plot(pair, reports, RESULTS / f"frontier_{pair.name}.png")
            continue
        reports = []
        for size in args.sizes:
            report = {**sweep(pair, size, args), "torch_threads": torch.get_num_threads(),
                      "date": time.strftime("%Y-%m-%d")}
            (RESULTS / f"frontier_{pair.name}_{size}.json").write_text(
                json.dumps(report, indent=1) + "\n")
            reports.append(report)
        plot(pair, reports, RESULTS / f"frontier_{pair.name}.png")


if __name__ == "__main__":
    main()
