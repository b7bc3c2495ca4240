"""The demo's default run pressed in a real browser against ``gramscope stylize``, by the
engine's own clock (the ``seconds`` in each result PNG's metadata).

    .venv/bin/python bench/bench_demo.py                   # 512 px, one pair
    .venv/bin/python bench/bench_demo.py --size 256 --repeats 3
    .venv/bin/python bench/bench_demo.py --client api      # gradio_client: no page open

Each repeat serves ``gramscope demo --size N`` in a subprocess, opens it in headless
Chromium (Playwright, as tests/web/test_web_browser.py does), presses Start with every
control at its default (tubingen × starry_night), waits for "done" and reads the
downloadable PNG's metadata; then runs ``gramscope stylize --size N`` on the same samples
with the same defaults (steps, seed, precision, torch threads) and reads its PNG. Demo
and CLI alternate, back to back, so that a busy machine disturbs both alike. Beside the
clocks it records the CPU seconds each process spent during the demo's run (the server's
threads by name, Chromium's processes together): where a slower demo's time went.
Results: bench/results/demo_<size>.json; figures in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

from gramscope.image import read_metadata

RESULTS = Path(__file__).parent / "results"
CHROMIUM = "/usr/bin/chromium"
#: As in tests/web/test_web_browser.py: nothing that lets chromium reach out on its own.
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gramscope(*args: str, **popen: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gramscope", *args], **popen)


# ---- CPU accounting (/proc) -------------------------------------------------------------

def _cpu(stat_path: str) -> tuple[str, float]:
    """(name, CPU seconds) of one process or thread from its /proc stat line."""
    with open(stat_path) as f:
        text = f.read()
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return name, (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def server_threads(pid: int) -> Counter:
    """CPU seconds of each thread of ``pid``, summed by thread name."""
    seconds: Counter = Counter()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            name, cpu = _cpu(f"/proc/{pid}/task/{task}/stat")
        except (FileNotFoundError, ProcessLookupError):
            continue
        seconds[re.sub(r"[-_]?\d+$", "", name) or name] += cpu
    return seconds


def chromium_cpu() -> float:
    """CPU seconds of every live chromium process of this user (children included once)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            name, cpu = _cpu(f"/proc/{pid}/stat")
            if name.startswith(("chromium", "chrome")) and os.stat(f"/proc/{pid}").st_uid \
                    == os.getuid():
                total += cpu
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (every process, every user)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICKS


# ---- the two sides ----------------------------------------------------------------------

def serve(size: int, extra: list[str]) -> tuple[subprocess.Popen, str]:
    """``gramscope demo`` on a free port; (process, URL) once it says it is listening."""
    server = gramscope("demo", "--port", str(free_port()), "--size", str(size), *extra,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert server.stdout is not None
    for line in server.stdout:
        if found := re.search(r"gramscope demo: (\S+)", line):
            return server, found.group(1)
    raise RuntimeError(f"gramscope demo ended with {server.wait()}")


def _measured(server: subprocess.Popen, run) -> dict:
    """Run ``run()`` (which returns the result PNG's path) and the CPU it cost around it."""
    threads, browser, machine = server_threads(server.pid), chromium_cpu(), machine_cpu()
    began = time.perf_counter()
    png = run()
    wall = time.perf_counter() - began
    spent = server_threads(server.pid) - threads
    metadata = read_metadata(png)
    return {
        "seconds": metadata["seconds"], "steps_done": metadata["steps_done"],
        "torch_threads": metadata["torch_threads"], "precision": metadata["precision"],
        "wall": round(wall, 2), "final_total": metadata["final_losses"]["total"],
        "cpu": {"server": round(sum(spent.values()), 2),
                "server_threads": {k: round(v, 2) for k, v in spent.most_common(8)},
                "chromium": round(chromium_cpu() - browser, 2),
                "machine": round(machine_cpu() - machine, 2)},
    }


def demo_in_browser(size: int, extra: list[str], timeout: float) -> dict:
    from playwright.sync_api import sync_playwright

    server, url = serve(size, extra)
    try:
        with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                viewport={"width": 1400, "height": 1100})
            page = context.new_page()
            page.goto(url)
            page.locator("#start").wait_for(timeout=60_000)
            time.sleep(2)  # the page settles (previews drawn) before the clock matters

            def run() -> str:
                page.locator("#start").click()
                page.locator("#status").get_by_text("done:", exact=False).wait_for(
                    timeout=timeout * 1000)
                link = page.locator("#download a").first
                link.wait_for(timeout=60_000)
                return unquote(link.get_attribute("href").split("file=", 1)[1])

            measured = _measured(server, run)
            context.close()
        return measured
    finally:
        server.terminate()
        server.wait()


def demo_through_api(size: int, extra: list[str], timeout: float) -> dict:
    """The same run through gradio_client: the server's side alone, no page drawing it."""
    from gradio_client import Client

    server, url = serve(size, extra)
    try:
        client = Client(url, verbose=False)

        def run() -> str:
            # Every control at its default: the endpoint's own defaults are the page's.
            job = client.submit(api_name="/stylize")
            outputs = job.result(timeout=timeout)
            return outputs[-1]

        return _measured(server, run)
    finally:
        server.terminate()
        server.wait()


def cli(size: int, folder: Path) -> dict:
    output = folder / "cli.png"
    began, machine = time.perf_counter(), machine_cpu()
    process = gramscope("stylize", "--size", str(size), "-o", str(output), "--overwrite",
                        "-q", "--no-sidecar", stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, f"gramscope stylize exited with {process.returncode}"
    metadata = read_metadata(output)
    return {"seconds": metadata["seconds"], "steps_done": metadata["steps_done"],
            "torch_threads": metadata["torch_threads"], "precision": metadata["precision"],
            "wall": round(time.perf_counter() - began, 2),
            "final_total": metadata["final_losses"]["total"],
            # The whole process: its start and the network's load too.
            "cpu": {"cli": round(usage.ru_utime + usage.ru_stime, 2),
                    "machine": round(machine_cpu() - machine, 2)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=None,
                        help="long side (default: the demo's, StyleOptions().size)")
    parser.add_argument("--repeats", type=int, default=1, help="demo/CLI pairs")
    parser.add_argument("--client", choices=("browser", "api"), default="browser",
                        help="press Start in Chromium, or call the endpoint with gradio_client")
    parser.add_argument("--no-cli", action="store_true", help="time the demo alone")
    parser.add_argument("--label", default="", help="added to the results file's name")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run")
    parser.add_argument("demo_args", nargs="*", help="more `gramscope demo` arguments, after -- "
                        "(the CLI does not get them)")
    args = parser.parse_args()
    if args.size is None:
        from gramscope.options import StyleOptions

        args.size = StyleOptions().size
    drive = demo_in_browser if args.client == "browser" else demo_through_api
    pairs = []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            pair = {"demo": drive(args.size, args.demo_args, args.timeout)}
            if not args.no_cli:
                pair["cli"] = cli(args.size, Path(folder))
                pair["ratio"] = round(pair["demo"]["seconds"] / pair["cli"]["seconds"], 3)
            pairs.append(pair)
            print(f"[{repeat + 1}/{args.repeats}] {json.dumps(pair)}", flush=True)
    summary = {
        "size": args.size, "client": args.client, "demo_args": args.demo_args,
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
                   f"python {platform.python_version()}",
        "demo_seconds": [p["demo"]["seconds"] for p in pairs],
        "pairs": pairs,
    }
    if not args.no_cli:
        summary["cli_seconds"] = [p["cli"]["seconds"] for p in pairs]
        summary["ratios"] = [p["ratio"] for p in pairs]
        summary["median_ratio"] = statistics.median(summary["ratios"])
    RESULTS.mkdir(exist_ok=True)
    label = f"_{args.label}" if args.label else ""
    path = RESULTS / f"demo_{args.size}_{args.client}{label}.json"
    path.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"demo {summary['demo_seconds']} s" + (
        f", cli {summary['cli_seconds']} s, ratio {summary['ratios']} "
        f"(median {summary['median_ratio']:.3f})" if not args.no_cli else "") + f" → {path}")


if __name__ == "__main__":
    main()
