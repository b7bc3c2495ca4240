"""``gramscope batch`` run locally: bad files, a killed run resumed, Ray missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from gramscope.cli import main
from gramscope.image import read_metadata


@pytest.mark.slow
def test_a_bad_file_is_reported_while_the_others_complete(tmp_path, capsys, make_photos,
                                                          quick):
    make_photos(tmp_path / "in", 2)
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "out"
    code = main(["batch", str(tmp_path / "in"), "starry_night", "-o", str(out), *quick])
    err = capsys.readouterr().err
    assert code == 1
    assert "2 done, 0 skipped (already done), 1 failed of 3" in err
    assert "failed: " + str(tmp_path / "in" / "broken.jpg") in err
    assert sorted(p.name for p in out.glob("*.png")) == ["photo0.png", "photo1.png"]
    meta = read_metadata(out / "photo1.png")
    assert meta["options"]["steps"] == 2 and meta["content"].endswith("photo1.jpg")

    # Rerun: nothing finished is redone; the bad file is still reported.
    code = main(["batch", str(tmp_path / "in"), "starry_night", "-o", str(out), *quick])
    assert code == 1
    assert "0 done, 2 skipped (already done), 1 failed of 3" in capsys.readouterr().err


@pytest.mark.slow
def test_a_batch_killed_midway_resumes_without_redoing_finished_images(
        tmp_path, capsys, make_photos):
    count = 6
    make_photos(tmp_path / "in", count, long_side=64)
    out = tmp_path / "out"
    # Slow enough per image (48 px, 5 steps) that the kill lands mid-batch.
    args = ["batch", str(tmp_path / "in"), "starry_night", "-o", str(out),
            "--size", "48", "--scales", "1", "--steps", "5", "-q"]
    process = subprocess.Popen([sys.executable, "-m", "gramscope", *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("*.png")) and process.poll() is None:
            assert time.monotonic() < deadline, "no output appeared"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # no chance to clean up: the worst case
    finally:
        process.kill()
        process.wait(timeout=30)
    finished = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert 0 < len(finished) < count, "the kill did not land mid-batch"

    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"{count - len(finished)} done, {len(finished)} skipped" in err
    assert len(list(out.glob("*.png"))) == count
    for name, mtime in finished.items():
        assert (out / name).stat().st_mtime_ns == mtime  # untouched


def test_without_ray_installed_the_ray_flag_says_how_to_get_it(
        tmp_path, monkeypatch, capsys, make_photos, quick):
    make_photos(tmp_path / "in", 1)
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra sees
    code = main(["batch", str(tmp_path / "in"), "starry_night", "-o", str(tmp_path / "out"),
                 "--ray", *quick])
    err = capsys.readouterr().err
    assert code == 1
    assert "gramscope: error: Ray is not installed: pip install 'gramscope[ray]'" in err
