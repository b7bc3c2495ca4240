"""Video frames that follow the motion: warped starts and the temporal loss, end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gramscope.distributed.executors import SerialBackend, execute
from gramscope.distributed.flow import pair_flow, warped_error
from gramscope.distributed.video import UNMOVED, Continuity, plan_video
from gramscope.errors import OptionsError
from gramscope.image import load_image, resize_long_side
from gramscope.options import StyleOptions
from gramscope.samples import sample_path

pytest.importorskip("cv2")

OPTIONS = StyleOptions(size=48, scales=1, steps=10, precision="fp32")


@pytest.fixture(scope="module")
def panning_clip(tmp_path_factory) -> list[Path]:
    """Six 48×32 frames of a photo panning 2 px a frame to the left."""
    folder = tmp_path_factory.mktemp("clip")
    photo = resize_long_side(load_image(sample_path("tubingen")), 80)
    frames = []
    for t in range(6):
        frames.append(folder / f"src_{t:06d}.png")
        photo.crop((2 * t, 4, 2 * t + 48, 36)).save(frames[-1])
    return frames


def _stylise(frames: list[Path], folder: Path, continuity: Continuity,
             independent: bool = False, **plan: int) -> tuple[list[Path], dict[str, int]]:
    folder.mkdir(exist_ok=True)
    video = plan_video(frames, [sample_path("starry_night")], OPTIONS, folder,
                       independent=independent, continuity=continuity, **plan)
    with SerialBackend() as backend:
        summary = execute(video.jobs, backend, progress=False)
    return video.join(), summary.counts


def _errors(outputs: list[Path], frames: list[Path]) -> list[float]:
    pixels = [np.asarray(Image.open(p).convert("RGB")) for p in frames]
    results = [np.asarray(Image.open(p).convert("RGB")) for p in outputs]
    return [warped_error(results[t], results[t - 1], pair_flow(pixels[t - 1], pixels[t]))
            for t in range(1, len(frames))]


def _error(outputs: list[Path], frames: list[Path]) -> float:
    return float(np.mean(_errors(outputs, frames)))


@pytest.mark.slow
def test_the_temporal_loss_makes_the_clip_follow_its_motion(panning_clip, tmp_path):
    tied = Continuity(temporal_weight=10.0, later_steps=6)
    errors = {
        "independent": _error(_stylise(panning_clip, tmp_path / "i", UNMOVED, True)[0],
                              panning_clip),
        "unmoved": _error(_stylise(panning_clip, tmp_path / "u", UNMOVED)[0], panning_clip),
        "warped": _error(_stylise(panning_clip, tmp_path / "w", Continuity(
            temporal_weight=0.0, later_steps=6))[0], panning_clip),
        "tied": _error(_stylise(panning_clip, tmp_path / "t", tied)[0], panning_clip),
    }
    # Each step of the method removes flicker that the one before leaves.
    assert errors["tied"] < errors["warped"] < errors["independent"], errors
    assert errors["tied"] < errors["unmoved"], errors
    # Run again: every frame is found finished by its fingerprint (what a resumed run does);
    # another temporal weight is another picture and redoes the warm frames.
    assert _stylise(panning_clip, tmp_path / "t", tied)[1]["skipped"] == 6
    counts = _stylise(panning_clip, tmp_path / "t", Continuity(temporal_weight=5.0,
                                                               later_steps=6))[1]
    assert (counts["skipped"], counts["done"]) == (1, 5)


@pytest.mark.slow
def test_an_overlapping_segment_fades_in_instead_of_jumping(panning_clip, tmp_path):
    tied = Continuity(temporal_weight=10.0, later_steps=6)
    hard = _errors(_stylise(panning_clip, tmp_path / "h", tied, segments=2, overlap=0)[0],
                   panning_clip)
    faded = _errors(_stylise(panning_clip, tmp_path / "f", tied, segments=2, overlap=2)[0],
                    panning_clip)
    # Runs [0, 1, 2] and [3, 4, 5]: a hard restart puts the whole jump in the change 2 -> 3;
    # the fade spreads it over 0 -> 1 -> 2 -> 3 (measured: 18.8 levels, against at most 5.2
    # with the fade, the other changes 2.7-3.5).
    assert max(faded) < 0.5 * hard[2], (hard, faded)


def test_continuity_settings_are_checked():
    with pytest.raises(OptionsError, match="temporal-weight"):
        Continuity(temporal_weight=-1.0)
    with pytest.raises(OptionsError, match="later-steps"):
        Continuity(later_steps=0)
    warm = Continuity(later_steps=7).warm_options(StyleOptions(size=1024))
    assert warm is not None and (warm.scale_sizes, warm.steps_per_scale) == ((1024,), (7,))
    assert Continuity(later_steps=None).warm_options(OPTIONS) is None


@pytest.fixture()
def short_clip(tmp_path) -> Path:
    """Three 48×32 frames of noise, 10 fps, no audio."""
    iio = pytest.importorskip("imageio.v3")
    path = tmp_path / "clip.mp4"
    frames = np.random.default_rng(0).integers(0, 256, (3, 32, 48, 3), dtype=np.uint8)
    iio.imwrite(path, frames, plugin="FFMPEG", fps=10, codec="libx264", macro_block_size=1)
    return path


def _one_line_error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gramscope: error:"), lines
    return lines[0]


QUICK = ["--size", "32", "--steps", "2", "--later-steps", "1", "-q"]


def _audio_only(path: Path) -> None:
    import subprocess

    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440", "-t", "0.5", "-c:a", "aac", str(path)], check=True,
                   timeout=60)


@pytest.mark.parametrize("make, expected", [
    (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    (lambda p: p.write_bytes(b"\x00\x01not a video" * 500), "is not a video this tool can read"),
    (_audio_only, "has no video stream"),
])
def test_a_clip_that_cannot_be_decoded_is_one_line_and_writes_nothing(tmp_path, capsys, make,
                                                                      expected):
    from gramscope.cli import main

    clip, out = tmp_path / "bad.mp4", tmp_path / "out.mp4"
    make(clip)
    assert main(["video", str(clip), "starry_night", "-o", str(out), *QUICK]) != 0
    assert expected in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4"]


def test_an_unwritable_output_is_refused_before_any_frame(short_clip, tmp_path, capsys):
    from gramscope.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where the folder should be: unwritable even for root
    assert main(["video", str(short_clip), "starry_night", "-o", str(blocker / "o.mp4"),
                 *QUICK]) != 0
    assert "cannot write" in _one_line_error(capsys)
    assert main(["video", str(short_clip), "starry_night", "-o", str(tmp_path / "o.gif"),
                 *QUICK]) != 0
    assert "must end in .mp4" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "file"]


@pytest.mark.slow
def test_a_stopped_run_carries_on_with_resume_and_not_without(short_clip, tmp_path, capsys):
    from gramscope.cli import main

    out = tmp_path / "styled.mp4"
    args = ["video", str(short_clip), "starry_night", "-o", str(out), *QUICK]
    assert main([*args, "--keep-frames"]) == 0
    out.unlink()  # as if the run had been stopped before the video was written
    capsys.readouterr()
    assert main(args) != 0
    assert "3 stylised frames of an earlier run: pass --resume" in _one_line_error(capsys)
    assert not out.exists()
    assert main([*args, "--resume"]) == 0
    assert "0 done, 3 skipped (already done)" in capsys.readouterr().err
    assert out.is_file() and not (tmp_path / "styled_frames").exists()
