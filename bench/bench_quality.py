"""Pictures of gramscope and pastiche 1.6.0, graded by judges the optimiser does not see.

For each photo × painting pair (bench/pairs.py) and size, runs gramscope's default
(``gramscope.stylize(photo, painting, size=N)``, in this process), scores it, pastiche
1.6.0's 200-step picture and the untouched photo with the network judge bench/netjudge.py
(VGG-16; content: LPIPS to the photo; style: sliced Wasserstein distance of its features
to the painting's; lower = closer for both), and with bench/judge.py beside it as a second
opinion (pixel statistics: SSIM and edges; colour patches), prints a table and writes
bench/results/quality_<sizes>.json and one side-by-side JPEG per pair and size
(photo | pastiche-200 | gramscope).

pastiche's pictures are deterministic for its seed, so they are made once by
bench/make_references.py and kept in bench/references/ with their command. Its time is
measured in this run: pastiche runs its first ``--pastiche-probe`` steps (10) as its own
process, beside gramscope's run, and its 200-step time is that process's wall time plus
the remaining steps at the probe's seconds per step (read from pastiche's own per-step
clock). A missing reference is made on the spot (≈ 3 min at 256 px, 10–15 at 512).

Rows of an earlier report for the same sizes are kept for the pairs not run now (when
its judge settings were the same), so pairs can be added one at a time; each row records
the gramscope version, date and threads that made it. ``--fresh`` drops them.

Usage: python bench/bench_quality.py [--sizes 256 512 1024] [--pairs NAME ...]
       [--no-pastiche] [--fresh] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image

import gramscope
import netjudge
from gramscope.version import version
from judge import JudgeSettings, judge
from make_references import PASTICHE_STEPS, make, pastiche_command, reference_path
from pairs import PAIRS, Pair, pair_named

SIZES = (256, 512, 1024)
PROBE_STEPS = 10


def run_gramscope(photo: Path, painting: Path, size: int, output: Path) -> float:
    """gramscope's default at ``size``; the picture goes to ``output``. Seconds, in-process
    (the network is loaded once per process: the first pair pays ≈ 0.1 s more)."""
    start = time.perf_counter()
    result = gramscope.stylize(photo, painting, size=size)
    seconds = time.perf_counter() - start
    result.image.save(output)
    return seconds


def pastiche_seconds(photo: Path, painting: Path, size: int, work: Path,
                     probe: int = PROBE_STEPS) -> dict:
    """pastiche's whole-process time for 200 steps, estimated from a ``probe``-step run now:
    the probe's wall time plus (200 − probe) × its seconds per step, which pastiche's own
    per-step clock gives (elapsed at step ``probe`` minus at step 0, over ``probe``)."""
    output = work / f"probe_{size}.png"
    command = pastiche_command(photo, painting, size, probe, output) + ["--info-step", "1"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pastiche failed:\n{done.stderr[-2000:]}")
    elapsed = {int(m[1]): float(m[2]) for m in
               re.finditer(r"^(\d+)\s+([\d.]+)\s", done.stdout, re.MULTILINE)}
    per_step = (elapsed[probe] - elapsed[0]) / probe
    return {"seconds": wall + (PASTICHE_STEPS - probe) * per_step,
            "probe_steps": probe, "probe_wall": wall, "seconds_per_step": per_step}


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


def scores(picture: Path, photo: Path, painting: Path, settings: JudgeSettings) -> dict:
    """The network judge's scores, with judge.py's under ``pixel``."""
    return {**netjudge.judge(picture, photo, painting),
            "pixel": judge(picture, photo, painting, settings)}


def measure(pair: Pair, size: int, args: argparse.Namespace,
            settings: JudgeSettings) -> dict:
    """One table row: the photo, pastiche-200 and gramscope at ``size``, each judged."""
    photo, painting = pair.paths()
    row: dict = {"pair": pair.name, "size": size,
                 "photo": scores(photo, photo, painting, settings)}
    pictures = [photo]
    if args.pastiche:
        reference = reference_path(pair, size)
        if not reference.with_suffix(".json").is_file():
            make(pair, size, threads=None)
        row["pastiche"] = {**pastiche_seconds(photo, painting, size, args.work),
                           "steps": PASTICHE_STEPS, "picture": reference.name,
                           **scores(reference, photo, painting, settings)}
        pictures.append(reference)
    output = args.work / f"{pair.name}_{size}_gramscope.png"
    row["gramscope"] = {"seconds": run_gramscope(photo, painting, size, output),
                        **scores(output, photo, painting, settings)}
    pictures.append(output)
    if args.pastiche:
        row["time_ratio"] = row["gramscope"]["seconds"] / row["pastiche"]["seconds"]
    side_by_side(pictures, size, args.out / f"quality_{pair.name}_{size}.jpg")
    return row


def verdict(row: dict) -> list[str]:
    """[time ratio, the scores on which gramscope is no worse than pastiche]."""
    ours, theirs = row.get("gramscope"), row.get("pastiche")
    if ours is None or theirs is None:
        return ["", ""]
    better = [name for name in ("content", "style") if ours[name] <= theirs[name]]
    return [f"{ours['seconds'] / theirs['seconds']:.2f}×", " and ".join(better) or "neither"]


def table(rows: list[dict]) -> str:
    """Markdown: pair × size, then for each picture seconds, the network judge's content /
    style, and judge.py's (pixel) content / style."""
    tools = [t for t in ("photo", "pastiche", "gramscope") if any(t in r for r in rows)]
    compared = "pastiche" in tools and "gramscope" in tools
    header = "| pair | size | " + " | ".join(
        f"{t} s | {t} content | {t} style | {t} pixel c / s" for t in tools) + (
        " | time gramscope / pastiche | gramscope no worse on |" if compared else " |")
    lines = [header, "|" + " --- |" * (2 + 4 * len(tools) + 2 * compared)]
    for row in rows:
        cells = [row["pair"], str(row["size"])]
        for tool in tools:
            found = row.get(tool)
            if found is None:
                cells += ["", "", "", ""]
                continue
            seconds, pixel = found.get("seconds"), found["pixel"]
            cells += ["" if seconds is None else f"{seconds:.0f}",
                      f"{found['content']:.3f}", f"{found['style']:.4f}",
                      f"{pixel['content']:.3f} / {pixel['style']:.4f}"]
        if compared:
            cells += verdict(row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--pairs", nargs="+", default=[p.name for p in PAIRS],
                        help="names from bench/pairs.py (photo-painting)")
    parser.add_argument("--no-pastiche", dest="pastiche", action="store_false")
    parser.add_argument("--fresh", action="store_true",
                        help="drop the rows an earlier run of the same sizes left in the "
                        "report (kept by default when its judge was the same)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--work", type=Path, default=Path("bench/work/quality"),
                        help="full-size pictures (not committed)")
    return parser.parse_args()


def judges(settings: JudgeSettings) -> dict:
    """Both judges' settings, as recorded in a report."""
    return {"net": netjudge.DEFAULT.to_dict(), "pixel": settings.to_dict()}


def kept_rows(previous: dict | None, settings: JudgeSettings,
              measuring: set[tuple[str, int]]) -> list[dict]:
    """The rows of an earlier report to keep beside this run's: those of pairs and sizes
    not measured now, if it used the same judges (its scores are then comparable). So
    pairs can be measured one at a time as their references are made."""
    # Compared as JSON gives it back (its tuples are lists there).
    if not previous or previous.get("judge") != json.loads(json.dumps(judges(settings))):
        return []
    return [row for row in previous.get("rows", [])
            if (row["pair"], row["size"]) not in measuring]


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    settings = JudgeSettings()
    path = args.out / f"quality_{'_'.join(map(str, args.sizes))}.json"
    previous = None if args.fresh or not path.is_file() else json.loads(path.read_text())
    measuring = {(name, size) for name in args.pairs for size in args.sizes}
    kept = kept_rows(previous, settings, measuring)
    report: dict = {"judge": judges(settings), "torch_threads": torch.get_num_threads(),
                    "gramscope": version(), "rows": []}
    for name in args.pairs:
        pair = pair_named(name)
        try:
            pair.paths()
        except LookupError as missing:
            print(f"skipping {name}: {missing}", file=sys.stderr)
            continue
        for size in args.sizes:
            row = measure(pair, size, args, settings)
            row["run"] = {"gramscope": version(), "date": time.strftime("%Y-%m-%d"),
                          "torch_threads": torch.get_num_threads()}
            report["rows"].append(row)
            # Written after every row: a crash late in a long run keeps what was measured.
            path.write_text(json.dumps({**report, "rows": kept + report["rows"]}, indent=1))
            print(table(report["rows"][-1:]).splitlines()[-1], flush=True)
    if kept:
        print(f"kept from {path}: {len(kept)} earlier rows (pairs and sizes not run now)")
    print(table(kept + report["rows"]))


if __name__ == "__main__":
    main()
