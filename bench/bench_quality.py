"""Pictures of gramscope and pastiche 1.6.0, graded by a judge the optimiser does not see.

For each photo × painting pair (bench/pairs.py) and size, runs gramscope's default
(``gramscope.stylize(photo, painting, size=N)``, in this process) and pastiche 1.6.0
(``python -m pastiche ... --num-steps 200 --seed 0``, as its own process), scores both and
the untouched photo with bench/judge.py (content: 1 − SSIM and edge correlation against
the photo; style: sliced Wasserstein distance of colour patches to the painting; lower =
closer for both), prints a table and writes bench/results/quality.json and one
side-by-side JPEG per pair and size (photo | pastiche | gramscope).

Not a test: pastiche takes ≈ 10 min per picture at 512 px on 2 CPU cores, and much longer at
1024. A quick run: ``--sizes 256 --pairs tubingen-starry_night --pastiche-steps 50`` or
``--no-pastiche``. pastiche's pictures are deterministic for its seed, so ``--reuse`` keeps
those already in ``--work`` (with the seconds they took).

Usage: python bench/bench_quality.py [--sizes 256 512 1024] [--pairs NAME ...]
       [--no-pastiche] [--pastiche-steps 200] [--reuse] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image

import gramscope
from gramscope.version import version
from judge import JudgeSettings, judge
from pairs import PAIRS, Pair, pair_named

SIZES = (256, 512, 1024)
PASTICHE_STEPS = 200  # pastiche's own default


def run_gramscope(photo: Path, painting: Path, size: int, output: Path) -> float:
    """gramscope's default at ``size``; the picture goes to ``output``. Seconds, in-process
    (the network is loaded once per process: the first pair pays ≈ 0.1 s more)."""
    start = time.perf_counter()
    result = gramscope.stylize(photo, painting, size=size)
    seconds = time.perf_counter() - start
    result.image.save(output)
    return seconds


def run_pastiche(photo: Path, painting: Path, size: int, steps: int, output: Path,
                 reuse: bool) -> tuple[float, bool]:
    """pastiche 1.6.0 with ``steps`` L-BFGS steps, seed 0: (seconds of the whole process,
    whether an earlier picture was reused). The seconds are kept beside the picture."""
    record = output.with_name(output.name + ".json")
    if reuse and output.is_file() and record.is_file():
        return float(json.loads(record.read_text())["seconds"]), True
    command = [sys.executable, "-m", "pastiche", "--content", str(photo),
               "--styles", str(painting), "--output", str(output), "--size", str(size),
               "--num-steps", str(steps), "--device", "cpu", "--seed", "0"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pastiche failed:\n{done.stderr[-2000:]}")
    record.write_text(json.dumps({"seconds": seconds, "steps": steps, "size": size}))
    return seconds, False


def side_by_side(pictures: list[Path], size: int, output: Path) -> None:
    """The pictures in a row at ``size`` px long side, 8 px apart."""
    panels = []
    for path in pictures:
        with Image.open(path) as image:
            panel = image.convert("RGB")
        panel.thumbnail((size, size), Image.Resampling.LANCZOS)
        panels.append(panel)
    sheet = Image.new("RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1),
                              max(p.height for p in panels)), "white")
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width + 8
    sheet.save(output, quality=90)


def measure(pair: Pair, size: int, args: argparse.Namespace,
            settings: JudgeSettings) -> dict:
    """One table row: the photo, pastiche and gramscope at ``size``, each judged."""
    photo, painting = pair.paths()
    row: dict = {"pair": pair.name, "size": size,
                 "photo": judge(photo, photo, painting, settings)}
    pictures = [photo]
    if args.pastiche:
        output = args.work / f"{pair.name}_{size}_pastiche{args.pastiche_steps}.png"
        seconds, reused = run_pastiche(photo, painting, size, args.pastiche_steps, output,
                                       args.reuse)
        row["pastiche"] = {"seconds": seconds, "steps": args.pastiche_steps,
                           "reused": reused, **judge(output, photo, painting, settings)}
        pictures.append(output)
    output = args.work / f"{pair.name}_{size}_gramscope.png"
    row["gramscope"] = {"seconds": run_gramscope(photo, painting, size, output),
                        **judge(output, photo, painting, settings)}
    pictures.append(output)
    side_by_side(pictures, size, args.out / f"quality_{pair.name}_{size}.jpg")
    return row


def table(rows: list[dict]) -> str:
    """Markdown: pair × size, then seconds / content / style for each picture."""
    tools = [t for t in ("photo", "pastiche", "gramscope") if any(t in r for r in rows)]
    header = "| pair | size | " + " | ".join(
        f"{t} s | {t} content | {t} style" for t in tools) + " |"
    lines = [header, "|" + " --- |" * (2 + 3 * len(tools))]
    for row in rows:
        cells = [row["pair"], str(row["size"])]
        for tool in tools:
            scores = row.get(tool)
            if scores is None:
                cells += ["", "", ""]
                continue
            seconds = scores.get("seconds")
            cells += ["" if seconds is None else f"{seconds:.0f}",
                      f"{scores['content']:.3f}", f"{scores['style']:.4f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--pairs", nargs="+", default=[p.name for p in PAIRS],
                        help="names from bench/pairs.py (photo-painting)")
    parser.add_argument("--no-pastiche", dest="pastiche", action="store_false")
    parser.add_argument("--pastiche-steps", type=int, default=PASTICHE_STEPS)
    parser.add_argument("--reuse", action="store_true",
                        help="keep pastiche pictures already in --work")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--work", type=Path, default=Path("bench/work/quality"),
                        help="full-size pictures (not committed)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    settings = JudgeSettings()
    report: dict = {"judge": settings.to_dict(), "torch_threads": torch.get_num_threads(),
                    "gramscope": version(), "rows": []}
    for name in args.pairs:
        pair = pair_named(name)
        try:
            pair.paths()
        except LookupError as missing:
            print(f"skipping {name}: {missing}", file=sys.stderr)
            continue
        for size in args.sizes:
            report["rows"].append(measure(pair, size, args, settings))
            # Written after every row: a crash late in a long run keeps what was measured.
            (args.out / "quality.json").write_text(json.dumps(report, indent=1))
            print(table(report["rows"][-1:]).splitlines()[-1], flush=True)
    print(table(report["rows"]))


if __name__ == "__main__":
    main()
