"""The CLI as a user runs it: a subprocess, real files, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gramscope.image import read_metadata
from gramscope.options import StyleOptions

QUICK = ["--size", "40", "--scales", "1", "--steps", "3", "-q"]


def gramscope(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "gramscope", *args], capture_output=True, text=True,
        timeout=300, cwd=cwd, env=env,
    )


def test_stylize_writes_a_png_with_its_parameters_and_a_sidecar(image_files, tmp_path):
    content, style = image_files
    out = tmp_path / "result.png"
    done = gramscope("stylize", str(content), str(style), "-o", str(out), *QUICK, "--seed", "7",
                     "--strength", "2")
    assert done.returncode == 0, done.stderr
    assert f"wrote {out} (40x30)" in done.stdout
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (40, 30)
    meta = read_metadata(out)
    assert meta["options"]["steps"] == 3 and meta["seed"] == 7
    # The strength is recorded beside the α given, which it divides but does not replace.
    assert meta["options"]["strength"] == 2.0
    assert meta["options"]["alpha"] == StyleOptions().alpha
    assert meta["weights"]["sha256"].startswith("c34748d2")
    assert meta["versions"]["torch"] and meta["steps_done"] == 3 and not meta["interrupted"]
    sidecar = json.loads(out.with_name("result.png.json").read_text())
    assert sidecar["options"] == meta["options"]
    assert [r["step"] for r in sidecar["history"]] == [1, 2, 3]
    assert set(sidecar["history"][0]["style"]) == {"conv1_1", "conv2_1", "conv3_1", "conv4_1",
                                                   "conv5_1"}


def test_refuses_to_overwrite_without_the_flag(image_files, tmp_path):
    content, style = image_files
    out = tmp_path / "exists.png"
    out.write_bytes(b"precious")
    done = gramscope("stylize", str(content), str(style), "-o", str(out), *QUICK)
    assert done.returncode != 0 and "--overwrite" in done.stderr
    assert out.read_bytes() == b"precious"


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("gramscope: error:")
    return lines[0]


def test_missing_file_is_a_one_line_error(tmp_path, image_files):
    _, style = image_files
    line = one_line_error(gramscope("stylize", str(tmp_path / "nope.jpg"), str(style),
                                    "-o", str(tmp_path / "o.png"), *QUICK))
    assert "image not found" in line
    assert not (tmp_path / "o.png").exists()


def test_non_image_file_is_a_one_line_error(tmp_path, image_files):
    content, _ = image_files
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is not a picture\n")
    line = one_line_error(gramscope("stylize", str(content), str(fake),
                                    "-o", str(tmp_path / "o.png"), *QUICK))
    assert "not an image" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; covered below")
def test_unwritable_folder_is_a_one_line_error_as_user(tmp_path, image_files):
    content, style = image_files
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = one_line_error(gramscope("stylize", str(content), str(style),
                                    "-o", str(locked / "o.png"), *QUICK))
    assert "cannot write" in line


def test_unwritable_output_path_is_a_one_line_error(tmp_path, image_files):
    content, style = image_files
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where a folder should be: unwritable even for root
    line = one_line_error(gramscope("stylize", str(content), str(style),
                                    "-o", str(blocker / "o.png"), *QUICK))
    assert "cannot write" in line
    line = one_line_error(gramscope("stylize", str(content), str(style),
                                    "-o", str(tmp_path / "no" / "such" / "o.png"), *QUICK))
    assert "does not exist" in line


def test_bad_option_values_are_one_line_errors(tmp_path, image_files):
    content, style = image_files
    line = one_line_error(gramscope("stylize", str(content), str(style), "-o",
                                    str(tmp_path / "o.png"), *QUICK, "--style-layers", "conv9_1"))
    assert "unknown layer" in line


@pytest.mark.parametrize("value", ["0", "nan"])
def test_an_impossible_strength_is_a_one_line_error(tmp_path, image_files, value):
    content, style = image_files
    out = tmp_path / "o.png"
    line = one_line_error(gramscope("stylize", str(content), str(style), "-o", str(out),
                                    *QUICK, "--strength", value))
    assert line.startswith("gramscope: error: strength must be a finite number more than zero")
    assert not out.exists()


def test_samples_by_name_and_help(tmp_path):
    done = gramscope("stylize", "--help")
    assert done.returncode == 0 and "--style-layer-weights" in done.stdout
    done = gramscope("stylize", "tubingen", "woman_with_hat", "-o", str(tmp_path / "s.png"),
                     *QUICK)
    assert done.returncode == 0, done.stderr
