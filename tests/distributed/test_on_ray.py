"""batch, sweep and video as Ray tasks on a local two-CPU Ray (started once for the module)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from gramscope.cli import main
from gramscope.distributed.video import DEFAULT_TEMPORAL_WEIGHT
from gramscope.image import read_metadata
from gramscope.options import StyleOptions

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

ON_RAY = ["--ray", "--workers", "2"]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One Ray for the module (it takes ~10 s to start); the CLI joins it and leaves it up."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_a_batch_runs_as_ray_tasks_reports_the_bad_file_and_resumes(tmp_path, capsys,
                                                                   make_photos, quick):
    make_photos(tmp_path / "in", 4)
    (tmp_path / "in" / "empty.png").write_bytes(b"")
    out = tmp_path / "out"
    args = ["batch", str(tmp_path / "in"), "starry_night", "-o", str(out), *quick, *ON_RAY]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 1
    assert "4 done, 0 skipped (already done), 1 failed of 5" in err and "on Ray" in err
    assert "empty.png is empty (0 bytes)" in err
    assert len(list(out.glob("photo*.png"))) == 4
    meta = read_metadata(out / "photo3.png")
    # Each task pins torch to its one CPU, so two tasks do not fight over two cores.
    assert meta["torch_threads"] == 1
    assert ray.is_initialized()  # the CLI left the module's Ray alone

    code = main(args)
    assert code == 1
    assert "0 done, 4 skipped (already done), 1 failed of 5" in capsys.readouterr().err


def test_a_sweep_grid_runs_in_parallel_and_makes_one_labelled_sheet(image_files, tmp_path,
                                                                    capsys, quick):
    content, style = image_files
    sheet = tmp_path / "grid.png"
    code = main(["sweep", str(content), str(style), "-o", str(sheet), *quick, *ON_RAY,
                 "--style-layers", "conv1_1", "conv1_1,conv2_1", "--strength", "0.5,2"])
    assert code == 0, capsys.readouterr().err
    cells = read_metadata(sheet)["sweep"]
    assert [c["labels"] for c in cells] == [
        ["style layers=conv1_1", "strength=0.5"],
        ["style layers=conv1_1", "strength=2"],
        ["style layers=conv1_1+conv2_1", "strength=0.5"],
        ["style layers=conv1_1+conv2_1", "strength=2"],
    ]
    for cell in cells:
        made = read_metadata(cell["output"])
        assert made["options"]["strength"] == cell["options"]["strength"]
        assert made["options"]["style_layers"] == cell["options"]["style_layers"]
    assert [c["options"]["strength"] for c in cells] == [0.5, 2.0, 0.5, 2.0]
    assert {c["options"]["alpha"] for c in cells} == {StyleOptions().alpha}  # α as given


def write_test_video(path: Path, frames: int, fps: int) -> None:
    """A moving gradient (numpy) with a 440 Hz tone (ffmpeg's lavfi sine) as its audio."""
    import imageio.v3 as iio
    import imageio_ffmpeg

    tone = path.with_suffix(".m4a")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
                    "-i", "sine=frequency=440:sample_rate=22050", "-t", f"{frames / fps}",
                    "-c:a", "aac", str(tone)], check=True, timeout=60)
    y, x = np.mgrid[0:32, 0:48]
    video = np.stack([np.stack([(x * 5 + 20 * t) % 256, y * 7, np.full_like(x, 40 * t)], -1)
                      for t in range(frames)]).astype(np.uint8)  # (T, H, W, 3)
    iio.imwrite(path, video, plugin="FFMPEG", fps=fps, codec="libx264", macro_block_size=1,
                audio_path=str(tone), audio_codec="copy")


def test_a_short_video_keeps_its_frame_rate_frame_count_and_audio(tmp_path, capsys,
                                                                  quick):
    iio = pytest.importorskip("imageio.v3")
    source, result = tmp_path / "clip.mp4", tmp_path / "styled.mp4"
    write_test_video(source, frames=5, fps=10)
    assert iio.immeta(source, plugin="FFMPEG")["audio_codec"] == "aac"
    code = main(["video", str(source), "starry_night", "-o", str(result), *quick, *ON_RAY,
                 "--keep-frames", "--later-steps", "2"])
    assert code == 0, capsys.readouterr().err
    meta = iio.immeta(result, plugin="FFMPEG")
    assert meta["fps"] == 10 and meta["audio_codec"] == "aac"
    frames = list(iio.imiter(result, plugin="FFMPEG"))
    assert len(frames) == 5 and frames[0].shape == (20, 32, 3)  # 32x21 made even
    # Two workers, two warm-started runs: frames 0-2 and 3-4; a warm frame starts from its
    # predecessor's result moved by the flow, and runs the later steps. The second run
    # starts early, at frame 0, as a lead-in that fades in over the first run's frames.
    made = [read_metadata(tmp_path / "styled_frames" / f"out_{i:06d}.png") for i in range(5)]
    leads = [read_metadata(tmp_path / "styled_frames" / f"lead_{i:06d}.png") for i in range(3)]
    assert {m["options"]["init"] for m in made + leads} == {StyleOptions().init}
    assert [("previous_frame" in m) for m in made] == [False, True, True, True, True]
    assert [("previous_frame" in m) for m in leads] == [False, True, True]
    assert sorted(p.name[:4] for p in (tmp_path / "styled_frames").glob("mix_*")) == ["mix_"] * 3
    assert [m["steps_done"] for m in made][1:3] == [2, 2]
    assert made[1]["previous_frame"]["temporal_weight"] == DEFAULT_TEMPORAL_WEIGHT
