"""Throughput of a batch locally vs on Ray with the same number of workers (the engine's cost).

    .venv/bin/python bench/bench_batch.py                 # 6 images, 64 px, 6 steps, 2 workers
    .venv/bin/python bench/bench_batch.py --step-times    # also time one step at 128/256/512 px
    .venv/bin/python bench/bench_batch.py --video-io      # also time video split and encode
    .venv/bin/python bench/bench_batch.py --flicker       # warm-started vs independent frames

Each backend runs the same batch several times into fresh folders: the first pays for
starting the backend and for every worker's first VGG-19 load; the later ("warm") ones
reuse the started workers, so their median shows what the engine costs per image once it
is running.
Results: bench/RESULTS_distributed.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from gramscope.distributed.batch import run_batch
from gramscope.distributed.executors import ProcessPoolBackend, RayBackend, SerialBackend
from gramscope.image import load_image, resize_long_side
from gramscope.options import StyleOptions
from gramscope.samples import SAMPLES, sample_path


def make_inputs(folder: Path, count: int, long_side: int) -> list[Path]:
    """``count`` distinct photos: the samples, cropped at different offsets."""
    names = list(SAMPLES)
    paths = []
    for i in range(count):
        image = load_image(sample_path(names[i % len(names)]))
        image = image.crop((i * 11, i * 7, image.width - i * 5, image.height - i * 3))
        paths.append(folder / f"in_{i:02d}.png")
        resize_long_side(image, long_side).save(paths[-1])
    return paths


def time_backend(name: str, make, inputs: list[Path], options: StyleOptions, root: Path,
                 repeats: int) -> dict:
    """Start-up, one cold batch, then ``repeats`` warm batches (each into a fresh folder)."""
    style = [sample_path("starry_night")]
    started = time.perf_counter()
    with make() as backend:
        entered = time.perf_counter()
        times = []
        for run in range(repeats + 1):
            begin = time.perf_counter()
            summary = run_batch(inputs, style, options, root / f"{name}_{run}", backend,
                                progress=False)
            assert summary.counts["done"] == len(inputs), summary.lines()
            times.append(time.perf_counter() - begin)
        description = backend.description
    return {
        "description": description, "startup": entered - started,
        "cold": entered - started + times[0], "warm": statistics.median(times[1:]),
        "count": len(inputs),
    }


def step_times(sizes: tuple[int, ...], steps: int = 3) -> dict[int, float]:
    """Seconds per L-BFGS step at each long side (tubingen, 4:3), first step left out."""
    from gramscope import stylize

    times = {}
    for size in sizes:
        result = stylize(sample_path("tubingen"), sample_path("starry_night"), size=size,
                         scales=1, steps=steps)
        seconds = [r.seconds for r in result.history]
        times[size] = (seconds[-1] - seconds[0]) / (len(seconds) - 1)
    return times


def video_io(frames: int = 48, long_side: int = 512) -> tuple[float, float]:
    """Seconds per frame to split a 1280x720 clip (with audio) into ``long_side`` PNGs and to
    encode such PNGs back with the audio: the part of ``gramscope video`` that stays serial."""
    import subprocess

    import imageio_ffmpeg

    from gramscope.distributed.video import assemble, extract_frames, probe

    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                        f"testsrc2=size=1280x720:rate=24:duration={frames / 24}", "-f", "lavfi",
                        "-i", "sine=frequency=440", "-shortest", "-c:v", "libx264", "-c:a",
                        "aac", str(clip)], check=True)
        started = time.perf_counter()
        pngs = extract_frames(clip, Path(tmp) / "frames", long_side)
        split = time.perf_counter() - started
        started = time.perf_counter()
        assemble(pngs, Path(tmp) / "out.mp4", probe(clip), clip)
        encode = time.perf_counter() - started
    return split / len(pngs), encode / len(pngs)


def flicker(frames: int = 6, size: int = 64, steps: int = 20) -> dict[str, float]:
    """Mean absolute change between consecutive stylised frames of a slow pan, warm-started
    vs independent, next to the same measure on the source frames (pixel levels, 0-255)."""
    import numpy as np

    from gramscope.distributed.executors import execute
    from gramscope.distributed.video import plan_video

    photo = load_image(sample_path("tubingen"))
    options = StyleOptions(size=size, scales=1, steps=steps)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = []
        for t in range(frames):  # a pan of 4 source pixels per frame
            crop = photo.crop((4 * t, 0, photo.width - 4 * (frames - t), photo.height))
            sources.append(folder / f"src_{t}.png")
            resize_long_side(crop, size).save(sources[-1])

        def mean_change(paths: list[Path]) -> float:
            arrays = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float64) for p in paths]
            pairs = zip(arrays[:-1], arrays[1:], strict=True)
            return float(np.mean([np.abs(a - b).mean() for a, b in pairs]))

        result["source"] = mean_change(sources)
        for mode in ("warm", "independent"):
            (folder / mode).mkdir()
            jobs = plan_video(sources, [sample_path("starry_night")], options, folder / mode,
                              independent=mode == "independent").jobs
            with SerialBackend() as backend:
                execute(jobs, backend, progress=False)
            result[mode] = mean_change([job.output for job in jobs])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--size", type=int, default=64, help="long side of each result")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="warm batches per backend")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--step-times", action="store_true",
                        help="also time one L-BFGS step at 128, 256 and 512 px (for the paper "
                        "calculation in RESULTS_distributed.md)")
    parser.add_argument("--video-io", action="store_true",
                        help="also time splitting and re-encoding a 720p clip at 512 px")
    parser.add_argument("--flicker", action="store_true",
                        help="also compare frame-to-frame change, warm-started vs independent")
    args = parser.parse_args()
    options = StyleOptions(size=args.size, scales=1, steps=args.steps)
    print(f"# {args.images} images, {args.size} px, {args.steps} L-BFGS steps each; "
          f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads in this process")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        inputs = make_inputs(root / "in", args.images, args.size * 2)
        backends = [
            ("serial", SerialBackend),
            ("pool", lambda: ProcessPoolBackend(args.workers)),
        ]
        if not args.no_ray:
            backends.append(("ray", lambda: RayBackend(workers=args.workers)))
        rows = [time_backend(name, make, inputs, options, root, args.repeats)
                for name, make in backends]
    print()
    print("| backend | start-up s | first batch s (incl. start-up) | img/min | "
          f"warm batch s (median of {args.repeats}) | warm img/min | warm s/img |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        n = row["count"]
        print(f"| {row['description']} | {row['startup']:.1f} | {row['cold']:.1f} "
              f"| {60 * n / row['cold']:.1f} | {row['warm']:.1f} | {60 * n / row['warm']:.1f} "
              f"| {row['warm'] / n:.2f} |")
    if args.video_io:
        split, encode = video_io()
        print()
        print(f"video at 512 px: split {split * 1000:.0f} ms/frame, "
              f"encode with audio {encode * 1000:.0f} ms/frame")
    if args.flicker:
        change = flicker()
        print()
        print("| frames | mean change between consecutive frames (0-255) |")
        print("| --- | --- |")
        for name, value in change.items():
            print(f"| {name} | {value:.1f} |")
    if args.step_times:
        print()
        print("| long side | s per L-BFGS step |")
        print("| --- | --- |")
        for size, seconds in step_times((128, 256, 512)).items():
            print(f"| {size} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
