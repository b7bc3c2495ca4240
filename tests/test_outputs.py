"""Outputs: bad destinations refused before the run, nothing overwritten, nothing half-written.

A full disk and failing writes are simulated by making ``os.fsync`` / ``os.replace`` or the
free-space query fail, the way they fail on a real full disk (``ENOSPC``).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from gramscope import cli
from gramscope.errors import GramscopeError
from gramscope.image import (
    MIN_FREE_BYTES,
    atomic_write_bytes,
    check_writable,
    load_image,
    save_image,
)

TINY_RUN = ["--size", "40", "--scales", "1", "--steps", "1", "-q"]


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files an interrupted write could leave behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if the optimisation (the long part) is ever started."""
    def run(*args, **kwargs):
        raise AssertionError("the run started although the output could not be written")

    monkeypatch.setattr("gramscope.transfer.run", run)


def stylize(*args: str) -> int:
    return cli.main(["stylize", *args, *TINY_RUN])


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("gramscope: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("where, message", [
    (lambda tmp: tmp / "a-file" / "out.png", "folder {tmp}/a-file is a file, not a folder"),
    (lambda tmp: tmp / "no" / "such" / "out.png", "folder {tmp}/no/such does not exist"),
    (lambda tmp: tmp, "is a directory; give a file name"),
    (lambda tmp: tmp / "out.gif", "must end in .png, .jpg or .webp"),
], ids=["under-a-file", "missing-folder", "a-directory", "bad-suffix"])
def test_unwritable_output_is_reported_before_any_work(tmp_path, image_files, capsys, no_run,
                                                       where, message):
    """A path under a regular file cannot be created even by root: no permissions needed."""
    content, style = image_files
    (tmp_path / "a-file").write_text("not a folder")
    out = where(tmp_path)
    with pytest.raises(GramscopeError, match=message.format(tmp=tmp_path)):
        check_writable(out)
    before = sorted(tmp_path.iterdir())
    assert stylize(str(content), str(style), "-o", str(out)) == 1
    assert message.format(tmp=tmp_path) in one_error_line(capsys)
    assert sorted(tmp_path.iterdir()) == before


def test_full_disk_is_reported_before_any_work(tmp_path, image_files, capsys, no_run,
                                               monkeypatch):
    content, style = image_files
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr("gramscope.image.shutil.disk_usage",
                        lambda path: usage._replace(free=2**20))
    assert stylize(str(content), str(style), "-o", str(tmp_path / "out.png")) == 1
    line = one_error_line(capsys)
    assert "only 1.0 MB free" in line and f"at least {MIN_FREE_BYTES // 2**20} MB" in line
    assert check_writable(tmp_path / "out.png", needed_bytes=2**20) == tmp_path / "out.png"


@pytest.mark.parametrize("existing", ["out.png", "out.png.json"])
def test_existing_output_is_not_overwritten_without_the_flag(tmp_path, image_files, capsys,
                                                             no_run, existing):
    """The picture and its sidecar are both protected (the picture alone: see test_cli)."""
    content, style = image_files
    (tmp_path / existing).write_bytes(b"precious")
    assert stylize(str(content), str(style), "-o", str(tmp_path / "out.png")) == 1
    assert "--overwrite" in one_error_line(capsys)
    assert (tmp_path / existing).read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["content.png", "style.png",
                                                                 existing])


@pytest.mark.slow
def test_overwrite_replaces_both(tmp_path, image_files, capsys, vgg):
    content, style = image_files
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    out.with_name("out.png.json").write_bytes(b"old")
    code = stylize(str(content), str(style), "-o", str(out), "--overwrite")
    assert code == 0, capsys.readouterr().err
    assert load_image(out).size == (40, 30)
    assert out.with_name("out.png.json").read_bytes().startswith(b"{")


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path, tiny_content,
                                                             monkeypatch, failing):
    """Writes go to a hidden temporary file renamed over the target only when complete."""
    out = tmp_path / "out.png"
    out.write_bytes(b"the previous result")
    monkeypatch.setattr(f"gramscope.image.os.{failing}", disk_full)
    with pytest.raises(GramscopeError) as info:
        save_image(tiny_content, out)
    assert str(info.value) == f"could not write {out}: No space left on device"
    assert out.read_bytes() == b"the previous result"
    assert leftovers(tmp_path) == []


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    """Ctrl-C in the middle of a write: the interruption goes on, the temporary file goes."""
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr("gramscope.image.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "out.json", b"{}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("full_at", ["image", "sidecar"])
def test_disk_filling_up_during_the_run_is_one_line(tmp_path, image_files, capsys,
                                                    monkeypatch, vgg, full_at):
    """The disk fills up after the up-front check: one error line, no partial file."""
    content, style = image_files
    out = tmp_path / "out.png"
    real_fsync = os.fsync
    writes = []

    def fsync(fd):
        writes.append(fd)
        if full_at == "image" or len(writes) > 1:  # the sidecar is written second
            disk_full()
        real_fsync(fd)

    monkeypatch.setattr("gramscope.image.os.fsync", fsync)
    assert stylize(str(content), str(style), "-o", str(out)) == 1
    assert "No space left on device" in one_error_line(capsys)
    assert leftovers(tmp_path) == []
    assert not out.with_name("out.png.json").exists()
    if full_at == "image":
        assert not out.exists()
    else:  # the picture was complete before the sidecar failed
        assert load_image(out).size == (40, 30)
