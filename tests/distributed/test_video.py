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
             independent: bool = False) -> tuple[list[Path], dict[str, int]]:
    folder.mkdir(exist_ok=True)
    jobs = plan_video(frames, [sample_path("starry_night")], OPTIONS, folder,
                      independent=independent, continuity=continuity)
    with SerialBackend() as backend:
        summary = execute(jobs, backend, progress=False)
    return [job.output for job in jobs], summary.counts


def _error(outputs: list[Path], frames: list[Path]) -> float:
    pixels = [np.asarray(Image.open(p).convert("RGB")) for p in frames]
    results = [np.asarray(Image.open(p).convert("RGB")) for p in outputs]
    return float(np.mean([warped_error(results[t], results[t - 1],
                                       pair_flow(pixels[t - 1], pixels[t]))
                          for t in range(1, len(frames))]))


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


def test_continuity_settings_are_checked():
    with pytest.raises(OptionsError, match="temporal-weight"):
        Continuity(temporal_weight=-1.0)
    with pytest.raises(OptionsError, match="later-steps"):
        Continuity(later_steps=0)
    warm = Continuity(later_steps=7).warm_options(StyleOptions(size=1024))
    assert warm is not None and (warm.scale_sizes, warm.steps_per_scale) == ((1024,), (7,))
    assert Continuity(later_steps=None).warm_options(OPTIONS) is None
