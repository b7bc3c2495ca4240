"""One image job: content + styles + options -> one PNG that remembers how it was made.

Every batch, sweep cell and video frame is an :class:`ImageJob`. A job is *done* when its
output PNG carries metadata (:func:`gramscope.image.read_metadata`) whose fingerprint (the
options and the sha256 of every input file) equals the job's own; such a job is skipped, so
a killed batch restarts where it stopped and a changed setting is redone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from ..errors import GramscopeError
from ..options import StyleOptions

Status = Literal["done", "skipped", "failed"]
#: Every status, in the order summaries count them.
STATUSES: tuple[Status, ...] = get_args(Status)

#: Key under which a job's fingerprint is stored next to :func:`gramscope.api.run_metadata`.
FINGERPRINT_KEY = "job"


@dataclass(frozen=True)
class ImageJob:
    """Stylise ``content`` after ``styles`` with ``options`` and write ``output`` (a PNG).

    ``after`` is the index (in the job list) of a job that must finish first because this
    one starts from its result: a warm-started video frame. The scheduler then runs
    :meth:`warm_started` from that result; if that job failed, this one runs as planned.

    ``previous_source`` (the source frame before ``content``) makes that warm start follow
    the motion: the optical flow between the two source frames carries the previous result
    onto this frame (a warped start, see :mod:`gramscope.temporal`), and ``temporal_weight``
    > 0 adds the temporal loss against it. Without it the previous result is the start as
    it is. ``warm_options``, when given, replace ``options`` for the warm-started run (a
    start that is already a picture needs fewer steps); a cold run keeps ``options``.
    """

    content: Path
    styles: tuple[Path, ...]
    options: StyleOptions
    output: Path
    after: int | None = None
    label: str = ""
    previous_source: Path | None = None
    temporal_weight: float = 0.0
    warm_options: StyleOptions | None = None
    previous: Path | None = None  # the previous frame's result, set by warm_started()

    def __post_init__(self) -> None:
        # Absolute paths: a Ray worker need not share the driver's working directory.
        object.__setattr__(self, "content", Path(self.content).absolute())
        object.__setattr__(self, "styles", tuple(Path(s).absolute() for s in self.styles))
        object.__setattr__(self, "output", Path(self.output).absolute())
        for name in ("previous_source", "previous"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)).absolute())
        if self.output.suffix.lower() != ".png":
            # Only PNG carries the metadata that makes a job resumable.
            raise GramscopeError(f"job output {self.output} must be a .png")

    @property
    def name(self) -> str:
        """How the job is called in progress and summaries."""
        return self.label or str(self.content)

    def warm_started(self, previous: Path) -> ImageJob:
        """The same job starting from ``previous`` (an existing image): moved by the flow
        with a ``previous_source``, else as it is, in place of its init."""
        options = self.warm_options or self.options
        if self.previous_source is not None:
            return dataclasses.replace(self, options=options, previous=Path(previous))
        return dataclasses.replace(self, options=options.replace(init=str(previous)))

    def fingerprint(self) -> dict[str, Any]:
        """What decides whether an existing output is this job's: options and input bytes.

        Paths are left out on purpose: moving the input folder must not redo a batch; the
        bytes are what the picture depends on.
        """
        inputs = {"content": file_sha256(self.content),
                  "styles": [file_sha256(s) for s in self.styles]}
        if self.options.init_file is not None:
            inputs["init"] = file_sha256(self.options.init_file)
        made: dict[str, Any] = {"options": self.options.to_dict(), "inputs": inputs}
        if self.previous is not None and self.previous_source is not None:
            # The flow is a function of the two source frames, so their bytes stand for it.
            inputs["previous"] = file_sha256(self.previous)
            inputs["previous_source"] = file_sha256(self.previous_source)
            made["temporal_weight"] = self.temporal_weight
        # Round-trip through JSON so tuples compare equal to the lists read back from a PNG.
        return json.loads(json.dumps(made))


@dataclass(frozen=True)
class JobOutcome:
    """What became of one job; ``message`` says why when it failed."""

    status: Status
    output: Path
    seconds: float = 0.0
    message: str = ""
    attempts: int = 0


def file_sha256(path: Path) -> str | None:
    """Hex digest of a file, or None when it cannot be read (the job then reports why)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def is_done(job: ImageJob) -> bool:
    """True if ``job.output`` exists and was made from exactly this job's options and inputs.

    Raises :class:`GramscopeError` if the output exists but was not written by gramscope,
    so a batch never overwrites an unrelated file without ``--overwrite``.
    """
    if not job.output.exists():
        return False
    try:
        metadata = read_output_metadata(job.output)
    except GramscopeError:
        raise GramscopeError(
            f"{job.output} exists and was not written by gramscope; pass --overwrite to "
            "replace it"
        ) from None
    return (
        upgrade_fingerprint(metadata.get(FINGERPRINT_KEY)) == job.fingerprint()
        and not metadata.get("interrupted", True)
    )


def upgrade_fingerprint(stored: Any) -> Any:
    """A fingerprint as an earlier release stored it, with its options' fields under their
    current names (:meth:`StyleOptions.upgrade_dict`), so a renamed field redoes nothing."""
    if isinstance(stored, dict) and isinstance(stored.get("options"), dict):
        return {**stored, "options": StyleOptions.upgrade_dict(stored["options"])}
    return stored


def read_output_metadata(path: Path) -> dict[str, Any]:
    """The metadata of a job's output; a truncated or foreign file raises GramscopeError."""
    from ..image import read_metadata

    try:
        return read_metadata(path)
    except GramscopeError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise GramscopeError(f"{path} is not a readable PNG ({exc})") from None


def run_job(job: ImageJob) -> JobOutcome:
    """Stylise one job and save it with its metadata and fingerprint.

    A :class:`GramscopeError` (a bad input, an impossible setting) is a permanent failure
    and comes back as a failed outcome; so does a run whose loss could not be recovered
    (``Result.failed``), which keeps its best image as ``gramscope stylize`` does, marked
    unfinished so that the next run redoes it. A stop asked for (Ctrl-C, SIGTERM) raises
    KeyboardInterrupt and stops the batch. Any other exception propagates, so the caller
    may retry it (see :func:`gramscope.distributed.executors.attempt`).
    """
    from ..api import stylize
    from ..image import check_writable, save_image

    started = time.perf_counter()
    try:
        check_writable(job.output)
        options = job.options.to_dict()
        previous_frame = None
        if job.previous is not None and job.previous_source is not None:
            from .flow import moved_result

            previous_frame = moved_result(job.previous, job.previous_source, job.content,
                                          job.temporal_weight)
        result = stylize(job.content, list(job.styles), previous_frame=previous_frame,
                         **options)
        if result.stopped:
            # A partial picture must never look finished to the next run: none is written.
            raise KeyboardInterrupt
        # A failed run's metadata says "interrupted", so is_done() never takes it as finished.
        metadata = {**result.metadata, FINGERPRINT_KEY: job.fingerprint()}
        save_image(result.image, job.output, metadata)
    except GramscopeError as exc:
        return JobOutcome("failed", job.output, time.perf_counter() - started, str(exc), 1)
    if result.failed:
        return JobOutcome("failed", job.output, time.perf_counter() - started,
                          f"{result.history[-1].event}: {job.output}", 1)
    return JobOutcome("done", job.output, time.perf_counter() - started, attempts=1)
