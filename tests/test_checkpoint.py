"""Resumable runs: a run killed mid-way resumes from its checkpoint to the same image, and a
checkpoint made with other settings is refused."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import torch

import gramscope

#: Each test runs the real network in gramscope subprocesses (out of sight of the
#: conftest's guard).
pytestmark = pytest.mark.slow


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
                if load_checkpoint(ckpt).step >= 8:
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
    # A checkpoint from a run stopped cleanly after its first checkpoint.
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


# ---- the checkpoint itself ----------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_a_checkpoint_resumes_in_process_to_the_uninterrupted_picture(
        optimizer, tiny_content, tiny_style, vgg, tmp_path):
    from gramscope.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

    settings = dict(size=48, scales=(32, 48), steps=3, coarse_steps=3, init="content", net=vgg,
                    optimizer=optimizer)
    checkpoints = []
    whole = gramscope.stylize(tiny_content, tiny_style, checkpoint_every=2, **settings,
                              on_step=lambda r: r.checkpoint and checkpoints.append(r.checkpoint))
    # Each checkpoint is a copy made at its step (the optimiser's buffers move on in place),
    # handed out once: the history does not keep them.
    assert all(r.checkpoint is None for r in whole.history)
    assert [c.step for c in checkpoints] == [2, 4, 6]
    assert [(c.scale, c.step_in_scale) for c in checkpoints] == [(0, 2), (1, 1), (1, 3)]
    save_checkpoint(tmp_path / "run.ckpt", checkpoints[1])
    loaded = load_checkpoint(tmp_path / "run.ckpt")
    assert isinstance(loaded, Checkpoint) and loaded.step == 4
    assert torch.equal(loaded.image, checkpoints[1].image)
    # Straight from the record as well as from the file, twice (resuming leaves it as it
    # was), as the dictionary an earlier release handed out, and as one whose options use
    # the field's old name (normalisation, before the American spelling).
    old_names = loaded.to_dict()
    old_names["options"] = {("normalisation" if k == "normalization" else k): v
                            for k, v in old_names["options"].items()}
    for resume in (checkpoints[1], loaded, loaded, loaded.to_dict(), old_names):
        resumed = gramscope.stylize(tiny_content, tiny_style, resume=resume, **settings)
        assert [r.step for r in resumed.history] == [5, 6]
        assert resumed.image.tobytes() == whole.image.tobytes()


@pytest.mark.parametrize("change", [{"version": 1}, {"step": None}, {"extra": 1}])
def test_a_checkpoint_of_another_format_is_refused(change, tmp_path):
    from gramscope.checkpoint import CHECKPOINT_VERSION, Checkpoint, load_checkpoint
    from gramscope.errors import GramscopeError

    state = Checkpoint({}, 0, 1, 1, 0.5, torch.zeros(1, 3, 2, 2), {}, None, 1.0).to_dict()
    assert state["version"] == CHECKPOINT_VERSION
    state.update(change)
    if change == {"step": None}:
        del state["step"]
    torch.save(state, tmp_path / "other.ckpt")
    with pytest.raises(GramscopeError, match="another version of the format"):
        load_checkpoint(tmp_path / "other.ckpt")
