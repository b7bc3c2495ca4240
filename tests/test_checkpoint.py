"""Interruptions and numerics: kill and resume, Ctrl-C, NaN recovery, extreme weights."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import pytest

import gramscope
from gramscope import transfer
from gramscope.objective import Objective
from gramscope.options import StyleOptions
from gramscope.transfer import run

RUN = ["--size", "48", "--scales", "32,48", "--coarse-steps", "6", "--steps", "6", "-q",
       "--seed", "1"]


def cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gramscope", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_killed_run_resumes_to_the_same_image(image_files, tmp_path):
    content, style = map(str, image_files)
    reference = tmp_path / "reference.png"
    done = cli("stylize", content, style, "-o", str(reference), *RUN)
    assert done.wait(300) == 0, done.stderr.read()

    out = tmp_path / "resumed.png"
    ckpt = tmp_path / "resumed.png.ckpt"
    first = cli("stylize", content, style, "-o", str(out), *RUN, "--checkpoint-every", "1")
    deadline = time.time() + 300
    # Kill it hard (no chance to clean up) once it has checkpointed into the second scale.
    while time.time() < deadline and first.poll() is None:
        if ckpt.exists():
            from gramscope.checkpoint import load_checkpoint

            try:
                if load_checkpoint(ckpt)["step"] >= 8:
                    break
            except Exception:
                pass
        time.sleep(0.05)
    assert first.poll() is None, "the run finished before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not out.exists()

    second = cli("stylize", content, style, "-o", str(out), *RUN, "--checkpoint-every", "1",
                 "--resume")
    assert second.wait(300) == 0, second.stderr.read()
    assert out.read_bytes() != b"" and not ckpt.exists()
    from PIL import Image

    with Image.open(out) as a, Image.open(reference) as b:
        assert a.tobytes() == b.tobytes()
    import json

    history = json.loads((tmp_path / "resumed.png.json").read_text())["history"]
    assert [r["step"] for r in history] == list(range(1, 13))


def test_resume_with_other_settings_is_refused(image_files, tmp_path):
    content, style = map(str, image_files)
    out = tmp_path / "o.png"
    first = cli("stylize", content, style, "-o", str(out), *RUN, "--checkpoint-every", "2")
    first.wait(300)
    # Make a checkpoint by hand from a finished run's settings: run once more, interrupted.
    sig = cli("stylize", content, style, "-o", str(tmp_path / "p.png"), *RUN,
              "--checkpoint-every", "1")
    ckpt = tmp_path / "p.png.ckpt"
    while sig.poll() is None and not ckpt.exists():
        time.sleep(0.05)
    sig.send_signal(signal.SIGTERM)  # a clean stop keeps the image and the checkpoint
    assert sig.wait(300) == 130
    assert (tmp_path / "p.png").exists() and ckpt.exists()
    other = cli("stylize", content, style, "-o", str(tmp_path / "p.png"), *RUN,
                "--checkpoint-every", "1", "--resume", "--alpha", "5")
    assert other.wait(300) != 0
    assert "other settings (alpha)" in other.stderr.read()


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


def test_nan_mid_run_is_recovered_from_the_last_good_image(tiny_content, tiny_style,
                                                           monkeypatch):
    real = Objective.loss_and_grad
    calls = {"n": 0}

    def flaky(self, image, scale):
        calls["n"] += 1
        raw = real(self, image, scale).clone()  # [L_content, L_style, L_tv, E_l…]
        if calls["n"] == 4:  # one poisoned evaluation
            raw[0] = math.nan
        return raw

    monkeypatch.setattr(Objective, "loss_and_grad", flaky)
    records = list(run(tiny_content, tiny_style, StyleOptions(size=40, scales=1, steps=6)))
    assert [r.step for r in records] == [1, 2, 3, 4, 5, 6]
    assert any(r.event and "restarted the scale" in r.event for r in records)
    assert all(math.isfinite(r.total) for r in records) and not records[-1].failed
    assert records[-1].total < records[0].total


def test_a_diverging_step_restarts_from_the_best_image(tiny_content, tiny_style, monkeypatch):
    real = Objective.loss_and_grad
    calls = {"n": 0}

    def leaping(self, image, scale):
        calls["n"] += 1
        raw = real(self, image, scale).clone()
        if calls["n"] == 5:  # as if L-BFGS had leapt to a saturated image
            raw[:3] *= 100  # the total, ×100
        return raw

    monkeypatch.setattr(Objective, "loss_and_grad", leaping)
    records = list(run(tiny_content, tiny_style, StyleOptions(size=40, scales=1, steps=8)))
    assert [r.step for r in records] == list(range(1, 9))
    assert any(r.event and r.event.startswith("diverged loss") for r in records)
    assert max(r.total for r in records) <= transfer.DIVERGENCE_FACTOR * records[0].total


def test_persistent_nan_stops_with_the_last_good_image(tiny_content, tiny_style, monkeypatch):
    real = Objective.loss_and_grad
    calls = {"n": 0}

    def broken(self, image, scale):
        calls["n"] += 1
        raw = real(self, image, scale).clone()
        if calls["n"] >= 3:
            raw[1] = math.inf
        return raw

    monkeypatch.setattr(Objective, "loss_and_grad", broken)
    records = list(run(tiny_content, tiny_style, StyleOptions(size=40, scales=1, steps=10)))
    last = records[-1]
    assert last.failed and last.image is not None and "kept the best image" in last.event
    assert bool((last.image >= 0).all()) and not bool(last.image.isnan().any())


@pytest.mark.parametrize("alpha, beta, weights", [
    (1e-30, 1e30, None), (1e30, 1e-30, None), (0.0, 1.0, None),
    (1e-4, 1e3, (1e12, 1e-12, 1.0, 0.0, 1e6)),
])
def test_extreme_weights_stay_finite(tiny_content, tiny_style, alpha, beta, weights):
    result = gramscope.stylize(tiny_content, tiny_style, size=32, scales=1, steps=4,
                               alpha=alpha, beta=beta, style_layer_weights=weights)
    assert all(math.isfinite(r.total) for r in result.history)
    assert not any(r.failed for r in result.history)
    assert result.image.size == (32, 24)


def test_keyboard_interrupt_in_the_library_returns_the_image(tiny_content, tiny_style):
    seen = []

    def on_step(record):
        seen.append(record)
        if len(seen) == 3:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)  # the signal lands inside the next step

    result = gramscope.stylize(tiny_content, tiny_style, on_step=on_step, size=40, scales=1,
                               steps=50)
    assert result.interrupted and len(result.history) < 50
