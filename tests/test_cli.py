"""The CLI as a user runs it: a subprocess, real files, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gramscope import arguments, cli
from gramscope.image import MIN_SIDE, read_metadata
from gramscope.options import StyleOptions

QUICK = ["--size", "40", "--scales", "1", "--steps", "3", "-q"]
TINY_RUN = ["--size", "40", "--scales", "1", "--steps", "1", "-q"]


def gramscope(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """A real ``python -m gramscope``: seconds of PyTorch import each, so a test calling it
    is marked slow even where the network is never loaded (the in-process refusals below
    cover the same messages in the fast loop)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "gramscope", *args], capture_output=True, text=True,
        timeout=300, cwd=cwd, env=env,
    )


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_missing_file_is_a_one_line_error(tmp_path, image_files):
    _, style = image_files
    line = one_line_error(gramscope("stylize", str(tmp_path / "nope.jpg"), str(style),
                                    "-o", str(tmp_path / "o.png"), *QUICK))
    assert "image not found" in line
    assert not (tmp_path / "o.png").exists()


@pytest.mark.slow
def test_non_image_file_is_a_one_line_error(tmp_path, image_files):
    content, _ = image_files
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is not a picture\n")
    line = one_line_error(gramscope("stylize", str(content), str(fake),
                                    "-o", str(tmp_path / "o.png"), *QUICK))
    assert "not an image" in line


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; covered below")
def test_unwritable_folder_is_a_one_line_error_as_user(tmp_path, image_files):
    content, style = image_files
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = one_line_error(gramscope("stylize", str(content), str(style),
                                    "-o", str(locked / "o.png"), *QUICK))
    assert "cannot write" in line


@pytest.mark.slow
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


@pytest.mark.slow
def test_bad_option_values_are_one_line_errors(tmp_path, image_files):
    content, style = image_files
    line = one_line_error(gramscope("stylize", str(content), str(style), "-o",
                                    str(tmp_path / "o.png"), *QUICK, "--style-layers", "conv9_1"))
    assert "unknown layer" in line


@pytest.mark.slow
@pytest.mark.parametrize("value", ["0", "nan"])
def test_an_impossible_strength_is_a_one_line_error(tmp_path, image_files, value):
    content, style = image_files
    out = tmp_path / "o.png"
    line = one_line_error(gramscope("stylize", str(content), str(style), "-o", str(out),
                                    *QUICK, "--strength", value))
    assert line.startswith("gramscope: error: strength must be a finite number more than zero")
    assert not out.exists()


@pytest.mark.slow
def test_samples_by_name_and_help(tmp_path):
    done = gramscope("stylize", "--help")
    assert done.returncode == 0 and "--style-layer-weights" in done.stdout
    done = gramscope("stylize", "tubingen", "woman_with_hat", "-o", str(tmp_path / "s.png"),
                     *QUICK)
    assert done.returncode == 0, done.stderr


# ---- refused up front, in process -------------------------------------------------------
# "Up front" is checked, not assumed: the CLI cases replace the engine with one that fails
# the test if it is ever started, and the engine's own checks must come before the network
# loads.

@pytest.fixture
def engine_must_not_start(monkeypatch):
    def run(*args, **kwargs):
        raise AssertionError("the run started with an invalid parameter")

    monkeypatch.setattr("gramscope.transfer.run", run)


@pytest.fixture
def network_must_not_load(monkeypatch):
    def load(*args, **kwargs):
        raise AssertionError("the network was loaded before an invalid parameter was refused")

    monkeypatch.setattr("gramscope.device.cached_vgg19", load)


CLI_CASES = [
    pytest.param(["--steps", "-1"], "steps must be a whole number, 0 or more", id="steps<0"),
    pytest.param(["--style-layers", "conv1_1,conv9_1"], "unknown layer 'conv9_1'",
                 id="unknown-layer"),
    pytest.param(["--style-layer-weights", "1,2"], "2 style layer weights given for 5",
                 id="weights-mismatch"),
    pytest.param(["--size", "0"], f"at least {MIN_SIDE}", id="size-0"),
    pytest.param(["--scales", "64,32"], "scales must be increasing", id="scales-decreasing"),
    pytest.param(["--alpha", "nan"], "alpha must be a finite number", id="alpha-nan"),
    pytest.param(["--beta", "inf"], "beta must be a finite number", id="beta-inf"),
    pytest.param(["--beta", "-1"], "beta must be a finite number zero or more", id="beta<0"),
    pytest.param(["--save-every", "-1"], "--save-every must be 0 or more", id="save-every<0"),
    pytest.param(["--checkpoint-every", "-2"], "--checkpoint-every must be 0 or more",
                 id="checkpoint-every<0"),
    pytest.param(["--scales", ""], "scales",
                 id="scales-empty"),
    pytest.param(["--ratio", "-1"], "--ratio", id="ratio<0"),
    pytest.param(["--strength", "0"], "strength must be a finite number more than zero, not 0.0",
                 id="strength-0"),
    pytest.param(["--strength", "nan"], "strength must be a finite number more than zero, "
                 "not nan", id="strength-nan"),
    pytest.param(["--seed", str(2**70)], "seed", id="seed-huge"),
    pytest.param(["--init", "no-such-start.png"], "no-such-start.png", id="init-missing"),
    pytest.param(["--alpha", "0", "--beta", "0"], "zero", id="alpha-beta-0"),
]


@pytest.mark.parametrize("flags, message", CLI_CASES)
def test_cli_refuses_before_the_run(image_files, tmp_path, capsys, engine_must_not_start,
                                    flags, message):
    content, style = image_files
    out = tmp_path / "out.png"
    code = cli.main(["stylize", str(content), str(style), "-o", str(out), *TINY_RUN, *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("gramscope: error:") and err.count("\n") == 1, err
    assert message in err
    assert not out.exists()


@pytest.mark.parametrize("flags, message", [
    pytest.param(["--style-blend", "1,1"], "2 blend weights given for 1 style images",
                 id="blend-mismatch"),
    pytest.param(["--device", "banana"], "unknown device 'banana'; use cpu, cuda, cuda:N or auto",
                 id="unknown-device"),
    pytest.param(["--device", "mps"], "device",
                 id="unavailable-device"),
])
def test_engine_refuses_before_loading_the_network(image_files, tmp_path, capsys,
                                                   network_must_not_load, flags, message):
    """Checks that need the inputs (how many styles, which devices) live in the engine."""
    content, style = image_files
    code = cli.main(["stylize", str(content), str(style), "-o", str(tmp_path / "o.png"),
                     *TINY_RUN, *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("gramscope: error:") and err.count("\n") == 1 and message in err


def test_unknown_choice_is_refused_by_the_parser_with_the_choices(image_files, capsys):
    content, style = image_files
    assert cli.main(["stylize", str(content), str(style), "--optimizer", "sgd"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gramscope: error:") and err.count("\n") == 1, err
    assert "invalid choice: 'sgd'" in err and "lbfgs" in err and "adam" in err


def test_ratio_and_alpha_compose_with_strength_on_the_command_line(capsys):
    parser = cli.build_parser()

    def options(*flags):
        return arguments.options_from_args(parser.parse_args(["stylize", *flags]))

    ratio = options("--ratio", "1e-6", "--beta", "50", "--strength", "4")
    # The balance is stated as --strength (or α and β): --ratio still works, with a warning.
    assert "--ratio is deprecated" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["stylize", "--help"])
    shown = capsys.readouterr().out
    assert "--strength" in shown and "--alpha" in shown and "--ratio" not in shown
    assert ratio.alpha == pytest.approx(5e-5) and ratio.strength == 4.0
    assert ratio.ratio == pytest.approx(2.5e-7)  # α/β given, divided by the strength
    alpha = options("--alpha", "3e-4", "--strength", "2")
    assert alpha.content_weight == pytest.approx(1.5e-4)
    assert options().strength == 1.0 and options().alpha == StyleOptions().alpha
