"""``gramscope video``: split a video into frames, stylise each, re-assemble with its audio.

Decoding uses imageio's v3 API over imageio-ffmpeg's bundled ffmpeg; encoding streams frames
to that same ffmpeg through :func:`imageio_ffmpeg.write_frames`, which also maps the source's
audio track into the result (imageio v3's ``imwrite`` would need every frame in memory at
once: 10 000 frames at 512×384 are 5.9 GB).

Warm start and its trade-off. Optimising each frame from its own content image lands every
frame in a different local minimum: brush strokes move from frame to frame (flicker), even
with a fixed seed. Starting frame t from frame t−1's result (``init=<that file>``) keeps
them closer: on a slow pan (bench/RESULTS_distributed.md) consecutive frames changed by
6.5 pixel levels warm-started against 14.5 independent, the source itself by 4.2. The
price is order: a
warm-started frame can only start once its predecessor is finished. So the frames are cut
into ``segments`` contiguous runs that proceed in parallel, each warm-started within
itself; more segments mean more parallelism and more restarts (seams). A segment after
the first starts a few frames early and fades in over the end of the one before
(:func:`plan_video`'s ``overlap``), so a seam is a short cross-fade rather than a jump; one
segment per worker keeps every worker busy with the fewest seams.
``independent=True`` drops the warm start: every frame is its own job, the most
parallelism, the most flicker.

Following the motion (:class:`Continuity`, Ruder, Dosovitskiy & Brox 2016). A start left
where it was is worse than none once the scene moves: the strokes stay on the screen while
the picture slides under them (measured on a 4-px-a-frame pan at 128 px, against the
previous frame shifted with the pan: 22.1 levels warm-started, 13.1 independent). So by
default the previous result is carried onto frame t by the optical flow between the two
source frames (flow.py), frame t's own start fills what the flow cannot explain, a
temporal loss holds the strokes where they moved to, and such a frame, already a picture,
runs fewer steps at one scale.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import GramscopeError, InputImageError, OptionsError
from ..options import StyleOptions
from .executors import Backend, Summary, execute
from .jobs import ImageJob

#: Weight of the temporal loss by default (see bench/RESULTS_video.md).
DEFAULT_TEMPORAL_WEIGHT = 5.0
#: Steps of a warm-started frame by default (see bench/RESULTS_video.md).
DEFAULT_LATER_STEPS = 10
#: Frames by which consecutive segments overlap and cross-fade (see bench/RESULTS_video.md).
DEFAULT_OVERLAP = 4

#: Audio codecs an MP4 can carry as they are; anything else is re-encoded to AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"})


@dataclass(frozen=True)
class VideoInfo:
    """What the result must keep from the source."""

    fps: float
    audio_codec: str | None
    size: tuple[int, int]


def _first_line(exc: BaseException) -> str:
    """An ffmpeg error's first line: imageio appends all of ffmpeg's stderr to it."""
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def probe(path: Path) -> VideoInfo:
    """Frame rate, audio codec (None without audio) and frame size of a video file."""
    import imageio.v3 as iio

    if not path.is_file():
        raise InputImageError(f"video not found: {path}")
    if path.stat().st_size == 0:
        raise InputImageError(f"{path} is empty (0 bytes)")
    try:
        meta = iio.immeta(path, plugin="FFMPEG")
    except (OSError, RuntimeError, ValueError, IndexError) as exc:
        if "does not contain any stream" in str(exc):  # ffmpeg found no picture to decode
            raise InputImageError(f"{path} has no video stream") from None
        raise InputImageError(f"{path} is not a video this tool can read "
                              f"({_first_line(exc)})") from None
    fps = float(meta.get("fps") or 0)
    if not fps > 0:
        raise InputImageError(f"{path} does not state a frame rate")
    return VideoInfo(fps, meta.get("audio_codec"), tuple(meta.get("size", (0, 0))))


def extract_frames(
    path: Path, folder: Path, long_side: int, max_frames: int | None = None
) -> list[Path]:
    """Write the source frames as ``src_NNNNNN.png`` and return their paths in order.

    Frames are stored at the result's ``long_side`` (the engine would resize them to it
    anyway): 10 000 full-HD PNGs would take some 30 GB and most of the encoding time. They
    are rewritten every run, so a changed video never meets stale frames.
    """
    import imageio.v3 as iio

    from ..image import resize_long_side, save_image

    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    try:
        for index, frame in enumerate(iio.imiter(path, plugin="FFMPEG")):  # (H, W, 3) uint8
            if max_frames is not None and index >= max_frames:
                break
            image = resize_long_side(Image.fromarray(frame).convert("RGB"), long_side)
            frames.append(save_image(image, folder / f"src_{index:06d}.png"))
    except (OSError, RuntimeError) as exc:
        raise InputImageError(f"could not decode {path}: {_first_line(exc)}") from None
    if not frames:
        raise InputImageError(f"{path} has no frames")
    return frames


@dataclass(frozen=True)
class Continuity:
    """How a warm-started frame t follows frame t−1 (see the module's docstring)."""

    #: Carry the previous result along the optical flow (False: start from it unmoved).
    flow: bool = True
    #: Weight of the temporal loss (with ``flow``); 0 keeps only the warped start.
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT
    #: Optimiser steps of a warm-started frame, at one scale; None: the first frame's own.
    later_steps: int | None = DEFAULT_LATER_STEPS

    def __post_init__(self) -> None:
        if not self.temporal_weight >= 0:
            raise OptionsError(f"--temporal-weight must be 0 or more, not {self.temporal_weight}")
        if self.later_steps is not None and self.later_steps < 1:
            raise OptionsError(f"--later-steps must be 1 or more, not {self.later_steps}")

    def warm_options(self, options: StyleOptions) -> StyleOptions | None:
        """A warm-started frame's options: ``later_steps`` at one scale (coarse scales would
        only blur the picture it starts from)."""
        if self.later_steps is None:
            return None
        return options.replace(scales=1, steps=self.later_steps)


#: Cold-started frames only, no motion: what ``--independent`` and the bench compare with.
UNMOVED = Continuity(flow=False, temporal_weight=0.0, later_steps=None)


@dataclass(frozen=True)
class Fade:
    """A frame where the next segment's lead-in fades in over the end of the one before."""

    tail: Path  # the earlier segment's picture of this frame
    lead: Path  # the next segment's lead-in picture of the same frame
    weight: float  # of ``lead``: rises frame by frame towards that segment's first frame
    output: Path

    def write(self) -> Path:
        from ..image import save_image

        with Image.open(self.tail) as tail, Image.open(self.lead) as lead:
            return save_image(Image.blend(tail.convert("RGB"), lead.convert("RGB"),
                                          self.weight), self.output)


@dataclass(frozen=True)
class VideoPlan:
    """The jobs of a video and how their pictures become its frames."""

    jobs: list[ImageJob]
    #: Each frame's final picture, in order: a job's output, or a fade's once written.
    frames: list[Path]
    fades: list[Fade]

    def join(self) -> list[Path]:
        """Write the cross-fades (once every job is done) and return the frames in order."""
        for fade in self.fades:
            fade.write()
        return self.frames


def _lead_ins(starts: Sequence[int], overlap: int) -> dict[int, tuple[int, int]]:
    """For each frame in a segment's lead-in: (the lead-in's first frame, the segment's).

    A segment after the first starts up to ``overlap`` frames early (its lead-in, written as
    ``lead_NNNNNN.png``, never reaching past the start of the segment before), so it
    reaches its first own frame already following the motion; over the lead-in its
    pictures fade in over the earlier segment's, with weights 1/(n+1) … n/(n+1). The
    restart's jump is spread over n+1 frame changes instead of one, for n extra frames.
    """
    lead_ins = {}
    for before, start in pairwise(starts):
        first = max(before, start - overlap)
        lead_ins.update({index: (first, start) for index in range(first, start)})
    return lead_ins


def plan_video(
    frames: Sequence[Path],
    styles: Sequence[Path],
    options: StyleOptions,
    folder: Path,
    *,
    segments: int = 1,
    independent: bool = False,
    continuity: Continuity | None = None,
    overlap: int = DEFAULT_OVERLAP,
) -> VideoPlan:
    """One job per frame; within each of ``segments`` runs, frame t starts from t−1's result.

    A warm-started frame names its predecessor in ``after``; the scheduler sets its
    start once that result exists (moved by the flow, see :class:`Continuity`). Jobs stay in
    frame order: the scheduler starts whatever is ready, so the first frames of all
    segments run side by side. A segment after the first starts ``overlap`` frames early
    and fades in over the one before (:func:`_lead_ins`); ``overlap=0`` restarts cold.
    """
    if segments < 1:
        raise OptionsError(f"--segments must be 1 or more, not {segments}")
    if overlap < 0:
        raise OptionsError(f"--overlap must be 0 or more, not {overlap}")
    continuity = continuity or Continuity()
    warm = continuity.warm_options(options)
    segments = min(segments, len(frames))
    # Segment boundaries: as equal as possible, the first ones one frame longer.
    starts = sorted({-(-k * len(frames) // segments) for k in range(segments)})  # ceil
    lead_ins = {} if independent else _lead_ins(starts, overlap)

    def job(index: int, output: str, after: int | None, label: str) -> ImageJob:
        moved = after is not None and continuity.flow
        return ImageJob(
            frames[index], tuple(styles), options, folder / output, after=after, label=label,
            previous_source=frames[index - 1] if moved else None,
            temporal_weight=continuity.temporal_weight if moved else 0.0,
            warm_options=warm if after is not None else None)

    jobs: list[ImageJob] = []
    pictures: list[Path] = []
    fades: list[Fade] = []
    main = lead = None  # the job index of the previous frame in this segment, in its lead-in
    for index in range(len(frames)):
        if independent or (index in starts and index - 1 not in lead_ins):
            after = None
        else:
            after = lead if index in starts else main
        main = len(jobs)
        jobs.append(job(index, f"out_{index:06d}.png", after, f"frame {index}"))
        pictures.append(jobs[main].output)
        if index in lead_ins:
            first, start = lead_ins[index]
            jobs.append(job(index, f"lead_{index:06d}.png", None if index == first else lead,
                            f"frame {index} (lead-in)"))
            lead = len(jobs) - 1
            fades.append(Fade(jobs[main].output, jobs[lead].output,
                              (index - first + 1) / (start - first + 1),
                              folder / f"mix_{index:06d}.png"))
            pictures[-1] = fades[-1].output
    return VideoPlan(jobs, pictures, fades)


def assemble(frames: Sequence[Path], output: Path, info: VideoInfo, source: Path) -> Path:
    """Encode ``frames`` to ``output`` (H.264) at the source's frame rate, with its audio."""
    import imageio_ffmpeg

    with Image.open(frames[0]) as first:
        # yuv420p (what every player decodes) needs even sides: drop the odd last row/column.
        width, height = first.width - first.width % 2, first.height - first.height % 2
    partial = output.with_name(f".{output.name}.part{output.suffix}")
    audio: dict[str, Any] = {}
    if info.audio_codec:
        audio = {"audio_path": str(source),
                 "audio_codec": "copy" if info.audio_codec in MP4_AUDIO_CODECS else "aac"}
    writer = imageio_ffmpeg.write_frames(
        str(partial), (width, height), fps=info.fps, codec="libx264", macro_block_size=1,
        ffmpeg_log_level="error", output_params=["-shortest"] if audio else None, **audio,
    )
    try:
        writer.send(None)  # start ffmpeg
        for path in frames:
            with Image.open(path) as im:
                frame = np.asarray(im.convert("RGB"))[:height, :width]  # (H, W, 3) uint8
            if frame.shape[:2] != (height, width):
                raise GramscopeError(f"{path} is {frame.shape[1]}x{frame.shape[0]}, "
                                     f"not {width}x{height} like the first frame")
            writer.send(np.ascontiguousarray(frame))
        writer.close()
    except (OSError, RuntimeError, GramscopeError) as exc:
        writer.close()
        partial.unlink(missing_ok=True)
        raise GramscopeError(f"could not encode {output}: {exc}") from None
    # Renamed only once ffmpeg has finished, so a half-written video is never left as output.
    partial.replace(output)
    return output


def run_video(
    source: Path,
    styles: Sequence[Path],
    options: StyleOptions,
    output: Path,
    backend: Backend,
    *,
    segments: int | None = None,
    independent: bool = False,
    continuity: Continuity | None = None,
    overlap: int = DEFAULT_OVERLAP,
    max_frames: int | None = None,
    keep_frames: bool = False,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
) -> tuple[Summary, Path | None]:
    """Stylise every frame of ``source`` on an entered backend and write ``output`` (.mp4).

    Frames live in ``OUTPUT_frames/`` until the video is written, so a stopped run resumes
    there with ``resume`` (frames whose fingerprint matches are kept, the rest redone);
    without it, finished frames in that folder are an error rather than a silent reuse.
    The video is written only when every frame succeeded.
    """
    from ..image import check_folder_writable, load_image

    try:
        import imageio.v3  # noqa: F401
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise GramscopeError("video needs imageio and its ffmpeg: pip install 'gramscope[video]'"
                             ) from None
    if output.suffix.lower() != ".mp4":
        raise OptionsError(f"the video output {output} must end in .mp4")
    if output.exists() and not overwrite:
        raise GramscopeError(f"{output} exists; pass --overwrite to replace it")
    check_folder_writable(output)
    for style in styles:
        load_image(style)
    info = probe(source)
    folder = output.with_name(output.stem + "_frames")
    finished = [*folder.glob("out_*.png"), *folder.glob("lead_*.png")]
    if finished and not resume:
        raise GramscopeError(f"{folder} holds {len(finished)} stylised frames of an earlier "
                             "run: pass --resume to carry on from them, or delete it")
    frames = extract_frames(source, folder, options.size, max_frames)
    plan = plan_video(frames, styles, options, folder, segments=segments or backend.slots,
                      independent=independent, continuity=continuity, overlap=overlap)
    # Frames already done are skipped by their metadata even with --overwrite (which is
    # about the video file): a resumed run must not redo them.
    summary = execute(plan.jobs, backend, progress=progress, unit="frame")
    if summary.counts["failed"]:
        return summary, None
    assemble(plan.join(), output, info, source)
    if not keep_frames:
        shutil.rmtree(folder)
    return summary, output
