"""Jobs, their resumability and the scheduler, without Ray (local backends only)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PIL import Image

from gramscope.distributed import executors
from gramscope.distributed.batch import collect_contents, output_names, plan_batch
from gramscope.distributed.executors import SerialBackend, attempt, execute
from gramscope.distributed.jobs import ImageJob, JobOutcome, is_done, run_job
from gramscope.distributed.video import UNMOVED, Continuity, plan_video
from gramscope.errors import GramscopeError, OptionsError
from gramscope.options import StyleOptions

FIRST = StyleOptions().init  # the start of a frame that no earlier frame warm-starts

TINY = StyleOptions(size=32, scales=1, steps=2)


@pytest.mark.slow
def test_a_job_is_done_only_for_the_same_options_and_input_bytes(image_files, tmp_path):
    content, style = image_files
    job = ImageJob(content, (style,), TINY, tmp_path / "out.png")
    assert not is_done(job)
    outcome = run_job(job)
    assert outcome.status == "done" and job.output.exists()
    assert is_done(job)
    # Another setting, or other pixels under the same file name, must be redone.
    assert not is_done(dataclasses.replace(job, options=TINY.replace(steps=3)))
    Image.new("RGB", (40, 30), "red").save(content)
    assert not is_done(job)


def test_an_output_fingerprinted_with_an_old_field_name_is_still_done(image_files, tmp_path):
    """An earlier release stored the options with ``normalisation``; the same job is done,
    and one with another normalization is not."""
    from gramscope.distributed.jobs import FINGERPRINT_KEY
    from gramscope.image import save_image

    content, style = image_files
    job = ImageJob(content, (style,), TINY, tmp_path / "out.png")
    old = job.fingerprint()
    old["options"]["normalisation"] = old["options"].pop("normalization")
    save_image(Image.new("RGB", (32, 24)), job.output,
               {FINGERPRINT_KEY: old, "interrupted": False})
    assert is_done(job)
    assert not is_done(dataclasses.replace(job, options=TINY.replace(normalization="none")))


def test_a_foreign_file_in_the_way_is_an_error_not_overwritten(image_files, tmp_path):
    content, style = image_files
    output = tmp_path / "out.png"
    Image.new("RGB", (20, 20)).save(output)  # a PNG without gramscope metadata
    with pytest.raises(GramscopeError, match="--overwrite"):
        is_done(ImageJob(content, (style,), TINY, output))


def test_a_bad_input_fails_at_once_and_other_errors_are_retried(image_files, tmp_path,
                                                                 monkeypatch):
    content, style = image_files
    missing = ImageJob(tmp_path / "missing.png", (style,), TINY, tmp_path / "a.png")
    outcome = attempt(missing, retries=3)
    assert outcome.status == "failed" and outcome.attempts == 1
    assert "not found" in outcome.message

    calls = []

    def flaky(job: ImageJob) -> JobOutcome:
        calls.append(job)
        if len(calls) < 3:
            raise RuntimeError("transient")
        return JobOutcome("done", job.output)

    monkeypatch.setattr(executors, "run_job", flaky)
    job = ImageJob(content, (style,), TINY, tmp_path / "b.png")
    assert attempt(job, retries=2).status == "done" and len(calls) == 3
    calls.clear()
    given_up = attempt(job, retries=1)
    assert (given_up.status, given_up.attempts) == ("failed", 2)
    assert given_up.message == "RuntimeError: transient"


class RecordingBackend:
    """Finishes jobs in submission order; fails the outputs named in ``fail``."""

    slots = 2
    description = "recording"

    def __init__(self, fail: set[str]) -> None:
        self.fail = fail
        self.submitted: list[ImageJob] = []

    def submit(self, job: ImageJob) -> int:
        self.submitted.append(job)
        return len(self.submitted) - 1

    def wait(self, handles):
        handle = min(handles)
        job = self.submitted[handle]
        status = "failed" if job.output.name in self.fail else "done"
        if status == "done":
            Image.new("RGB", (16, 16)).save(job.output)
        return [(handle, JobOutcome(status, job.output, message="boom"))]


def test_warm_started_frames_wait_for_their_predecessor_and_restart_cold_after_a_failure(
        image_files, tmp_path):
    content, style = image_files
    frames = [content] * 5
    continuity = Continuity(temporal_weight=2.0, later_steps=1)
    jobs = plan_video(frames, [style], TINY, tmp_path, segments=2, continuity=continuity,
                      overlap=0).jobs
    # Two runs, [0, 1, 2] and [3, 4]: each frame after a run's first starts from the one before.
    assert [j.after for j in jobs] == [None, 0, 1, None, 3]
    backend = RecordingBackend(fail={"out_000001.png"})
    summary = execute(jobs, backend, progress=False)
    submitted = {j.output.name: j for j in backend.submitted}
    order = list(submitted)
    assert order.index("out_000001.png") > order.index("out_000000.png")
    assert order.index("out_000002.png") > order.index("out_000001.png")
    assert order.index("out_000003.png") < order.index("out_000001.png")  # runs in parallel
    # Warm: the previous result, moved by the flow between the two source frames, with the
    # temporal weight and the later steps at one scale; the init stays the cold start's.
    for name, before in (("out_000001.png", 0), ("out_000004.png", 3)):
        job = submitted[name]
        assert job.previous == jobs[before].output and job.previous_source == frames[before]
        assert job.temporal_weight == 2.0 and job.options.init == FIRST
        assert (job.options.steps, job.options.scale_sizes) == (1, (32,))
    for name in ("out_000003.png", "out_000002.png"):  # a run's first; predecessor failed
        assert submitted[name].previous is None and submitted[name].options == TINY
    assert [o.status for o in summary.outcomes] == ["done", "failed", "done", "done", "done"]
    assert summary.exit_code == 1
    assert any("frame 1: boom" in line for line in summary.lines())


def test_an_unmoved_warm_start_starts_from_the_previous_result_as_it_is(image_files, tmp_path):
    content, style = image_files
    jobs = plan_video([content] * 3, [style], TINY, tmp_path, continuity=UNMOVED).jobs
    backend = RecordingBackend(fail=set())
    execute(jobs, backend, progress=False)
    submitted = {j.output.name: j for j in backend.submitted}
    assert submitted["out_000002.png"].options == TINY.replace(init=str(jobs[1].output))
    assert submitted["out_000002.png"].previous is None


def test_independent_frames_have_no_order(image_files, tmp_path):
    content, style = image_files
    jobs = plan_video([content] * 3, [style], TINY, tmp_path, independent=True).jobs
    assert [j.after for j in jobs] == [None] * 3
    assert {j.options.init for j in jobs} == {FIRST}


def test_a_folder_gives_its_images_and_a_glob_everything_it_matches(tmp_path):
    for name in ("b.jpg", "a.png", "a.JPG", "notes.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.png").write_bytes(b"x")
    assert [p.name for p in collect_contents(tmp_path)] == ["a.JPG", "a.png", "b.jpg"]
    assert [p.name for p in collect_contents(str(tmp_path / "*.txt"))] == ["notes.txt"]
    assert len(collect_contents(str(tmp_path / "**" / "*.png"))) == 2
    with pytest.raises(GramscopeError, match="no images"):
        collect_contents(str(tmp_path / "*.gif"))
    files = collect_contents(tmp_path)
    assert output_names(files) == ["a_JPG.png", "a_png.png", "b.png"]


def test_a_batch_never_writes_over_its_own_input(tmp_path):
    content = tmp_path / "photo.png"
    with pytest.raises(GramscopeError, match="replace it"):
        plan_batch([content], [content], TINY, tmp_path)


@pytest.mark.slow
def test_serial_backend_runs_a_batch_and_skips_it_the_second_time(image_files, tmp_path):
    content, style = image_files
    jobs = plan_batch([content], [style], TINY, tmp_path / "out")
    (tmp_path / "out").mkdir()
    with SerialBackend() as backend:
        first = execute(jobs, backend, progress=False)
        second = execute(jobs, backend, progress=False)
        forced = execute(jobs, backend, progress=False, overwrite=True)
    assert first.counts == {"done": 1, "skipped": 0, "failed": 0}
    assert second.counts == {"done": 0, "skipped": 1, "failed": 0}
    assert forced.counts["done"] == 1
    assert Path(jobs[0].output).exists()


def test_a_recursive_glob_never_takes_earlier_results_as_inputs(image_files, tmp_path):
    from gramscope.distributed.batch import run_batch

    content, style = image_files
    (tmp_path / "out").mkdir()
    Image.new("RGB", (20, 20)).save(tmp_path / "out" / "earlier.png")  # a result
    backend = RecordingBackend(fail=set())
    run_batch(str(tmp_path / "**" / "*.png"), [style], TINY, tmp_path / "out", backend,
              progress=False)
    assert sorted(job.content.name for job in backend.submitted) == ["content.png", "style.png"]
    assert all(job.content.parent == tmp_path for job in backend.submitted)


def _poisoned_for(monkeypatch, bad_name: str) -> None:
    """Make runs on the content file ``bad_name`` fail numerically (the loss turns infinite
    after two good evaluations, so there is a best image to keep); the others run as usual."""
    import math

    from gramscope import api
    from gramscope.objective import Objective

    real_stylize, real_loss = api.stylize, Objective.loss_and_grad

    def stylize(content, styles, **options):
        if Path(content).name != bad_name:
            return real_stylize(content, styles, **options)
        calls = {"n": 0}

        def broken(self, image, scale):
            calls["n"] += 1
            raw = real_loss(self, image, scale).clone()
            if calls["n"] >= 3:
                raw[1] = math.inf
            return raw

        with monkeypatch.context() as patch:
            patch.setattr(Objective, "loss_and_grad", broken)
            return real_stylize(content, styles, **options)

    monkeypatch.setattr(api, "stylize", stylize)


@pytest.mark.slow
def test_an_image_that_fails_numerically_fails_alone_and_keeps_its_best_image(
        image_files, tmp_path, monkeypatch):
    from gramscope.image import read_metadata

    content, style = image_files
    bad = tmp_path / "bad.png"
    bad.write_bytes(content.read_bytes())
    _poisoned_for(monkeypatch, "bad.png")
    options = TINY.replace(steps=6)
    jobs = plan_batch([bad, content], [style], options, tmp_path / "out")
    (tmp_path / "out").mkdir()
    with SerialBackend() as backend:
        summary = execute(jobs, backend, progress=False)
    assert [o.status for o in summary.outcomes] == ["failed", "done"]
    assert summary.exit_code == 1
    failure = summary.outcomes[0]
    assert failure.attempts == 1  # a numerical failure is not retried: it would fail again
    assert "kept the best image" in failure.message
    assert any(line.startswith(f"  failed: {bad}: ") for line in summary.lines())
    # Its best image is kept, as a single run keeps it, and marked unfinished: redone next time.
    meta = read_metadata(jobs[0].output)
    assert meta["interrupted"] and meta["job"] == jobs[0].fingerprint()
    assert not is_done(jobs[0]) and is_done(jobs[1])


def test_a_stop_asked_for_stops_the_batch(image_files, tmp_path, monkeypatch):
    from gramscope import api

    content, style = image_files

    def stopped(content, styles, **options):
        return api.Result(Image.new("RGB", (32, 24)), [], {"interrupted": True},
                          stopped=True)

    monkeypatch.setattr(api, "stylize", stopped)
    jobs = plan_batch([content], [style], TINY, tmp_path / "out")
    (tmp_path / "out").mkdir()
    with SerialBackend() as backend, pytest.raises(KeyboardInterrupt):
        execute(jobs, backend, progress=False)
    assert not jobs[0].output.exists()


def test_a_later_segment_starts_early_and_fades_in_over_the_one_before(image_files, tmp_path):
    content, style = image_files
    frames = [tmp_path / f"src_{i}.png" for i in range(6)]
    for frame in frames:
        frame.write_bytes(content.read_bytes())
    plan = plan_video(frames, [style], TINY, tmp_path, segments=2, overlap=2)
    # Runs [0, 1, 2] and [3, 4, 5]; the second starts at frame 1 as a lead-in of its own.
    assert [j.output.name for j in plan.jobs] == [
        "out_000000.png", "out_000001.png", "lead_000001.png", "out_000002.png",
        "lead_000002.png", "out_000003.png", "out_000004.png", "out_000005.png"]
    assert [j.after for j in plan.jobs] == [None, 0, None, 1, 2, 4, 5, 6]
    assert plan.jobs[2].previous_source is None and plan.jobs[4].previous_source == frames[1]
    assert plan.jobs[5].previous_source == frames[2]  # frame 3 follows the lead-in's frame 2
    assert [p.name for p in plan.frames] == [
        "out_000000.png", "mix_000001.png", "mix_000002.png", "out_000003.png",
        "out_000004.png", "out_000005.png"]
    assert [f.weight for f in plan.fades] == [pytest.approx(1 / 3), pytest.approx(2 / 3)]
    for job in plan.jobs:  # the earlier run's pictures black, the lead-in's white
        Image.new("RGB", (4, 4), (255,) * 3 if job.output.name.startswith("lead") else 0
                  ).save(job.output)
    assert [Image.open(p).getpixel((0, 0))[0] for p in plan.join()] == [0, 85, 170, 0, 0, 0]
    # A lead-in never reaches past the start of the segment before it; overlap 0 restarts cold.
    short = plan_video(frames[:5], [style], TINY, tmp_path, segments=3, overlap=4)
    assert [(j.output.name[:4], j.after) for j in short.jobs] == [
        ("out_", None), ("lead", None), ("out_", 0), ("lead", 1), ("out_", 3), ("lead", None),
        ("out_", 4), ("lead", 5), ("out_", 7)]
    assert [j.after for j in plan_video(frames, [style], TINY, tmp_path, segments=2,
                                        overlap=0).jobs] == [None, 0, 1, None, 3, 4]
    with pytest.raises(OptionsError, match="overlap"):
        plan_video(frames, [style], TINY, tmp_path, segments=2, overlap=-1)
