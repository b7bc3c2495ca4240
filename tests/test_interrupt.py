"""Ctrl-C and SIGTERM stop a run after the current step and keep the latest image."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import gramscope

#: Both run the real network, the SIGTERM one in a gramscope subprocess (out of sight of
#: the conftest's guard).
pytestmark = pytest.mark.slow


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gramscope", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigterm_keeps_the_latest_image(image_files, tmp_path):
    content, style = map(str, image_files)
    out = tmp_path / "stopped.png"
    proc = cli("stylize", content, style, "-o", str(out), "--size", "48", "--scales", "1",
               "--steps", "500", "--save-every", "1", "-q")
    steps = tmp_path / "stopped_steps"
    while proc.poll() is None and not (steps.exists() and any(steps.iterdir())):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(120) == 130
    assert "kept the latest image" in proc.stderr.read()
    from gramscope.image import read_metadata

    meta = read_metadata(out)
    assert meta["interrupted"] and 0 < meta["steps_done"] < 500


def test_keyboard_interrupt_in_the_library_returns_the_image(tiny_content, tiny_style):
    seen = []

    def on_step(record):
        seen.append(record)
        if len(seen) == 3:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)  # the signal lands inside the next step

    result = gramscope.stylize(tiny_content, tiny_style, on_step=on_step, size=40, scales=1,
                               steps=50)
    assert result.stopped and not result.failed and len(result.history) < 50
