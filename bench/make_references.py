"""pastiche 1.6.0's reference pictures for bench_quality.py, made once and kept.

pastiche is deterministic for a seed, so each pair × size is made once (200 L-BFGS steps,
its default, seed 0, on the CPU) and kept in bench/references/ with the exact command, the
seconds it took, the torch threads it had and the judge's scores. bench_quality.py reads
them and, in its own run, times only pastiche's first steps to estimate its 200-step time
beside gramscope's (see ``pastiche_seconds`` there).

It is slow on a CPU: ≈ 2 min per picture at 256 px, ≈ 10 min at 512, ≈ 40 at 1024 (2 cores).
Pictures already made are skipped, so it can be stopped and run again.

Usage: python bench/make_references.py [--sizes 256 512] [--pairs NAME ...] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from judge import JudgeSettings, judge
from pairs import PAIRS, Pair, pair_named

REFERENCES = Path(__file__).parent / "references"
PASTICHE_STEPS = 200  # pastiche's own default


def reference_path(pair: Pair, size: int, steps: int = PASTICHE_STEPS) -> Path:
    return REFERENCES / f"{pair.name}_{size}_pastiche{steps}.png"


def pastiche_command(photo: Path, painting: Path, size: int, steps: int,
                     output: Path) -> list[str]:
    """pastiche's CLI with its defaults, on the CPU, seed 0, ``steps`` L-BFGS steps."""
    return [sys.executable, "-m", "pastiche", "--content", str(photo), "--styles",
            str(painting), "--output", str(output), "--size", str(size), "--num-steps",
            str(steps), "--device", "cpu", "--seed", "0"]


def portable(command: list[str]) -> str:
    """The command as kept in the record: the interpreter and the image paths without this
    machine's prefixes."""
    words = ["python"] + command[1:]
    return shlex.join(Path(w).name if "/" in w else w for w in words)


def make(pair: Pair, size: int, threads: int | None) -> dict:
    photo, painting = pair.paths()
    output = reference_path(pair, size)
    command = pastiche_command(photo, painting, size, PASTICHE_STEPS, output)
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        output.unlink(missing_ok=True)
        raise SystemExit(f"pastiche failed:\n{done.stderr[-2000:]}")
    record = {"pair": pair.name, "size": size, "steps": PASTICHE_STEPS,
              "command": portable(command), "seconds": round(seconds, 1),
              "threads": threads or os.cpu_count(), "note": "seconds: on a shared machine; "
              "bench_quality.py times pastiche again in its own run",
              "scores": judge(output, photo, painting, JudgeSettings())}
    output.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--pairs", nargs="+", default=[p.name for p in PAIRS])
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP_NUM_THREADS for pastiche (default: all cores)")
    args = parser.parse_args()
    REFERENCES.mkdir(exist_ok=True)
    for size in args.sizes:
        for name in args.pairs:
            pair = pair_named(name)
            if reference_path(pair, size).with_suffix(".json").is_file():
                continue
            record = make(pair, size, args.threads)
            print(f"{pair.name} {size}: {record['seconds']:.0f} s, content "
                  f"{record['scores']['content']:.3f}, style {record['scores']['style']:.4f}",
                  flush=True)


if __name__ == "__main__":
    main()
