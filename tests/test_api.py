"""The library face: gramscope.stream (a run to iterate) and gramscope.stylize (its loop)."""

from __future__ import annotations

import pytest

import gramscope
from gramscope.errors import InputImageError, OptionsError
from gramscope.image import to_pil

TINY = dict(size=32, scales=1, steps=4, init="content")


@pytest.fixture
def engine_must_not_start(monkeypatch):
    def run(*args, **kwargs):
        raise AssertionError("the engine started before its inputs were checked")

    monkeypatch.setattr("gramscope.transfer.run", run)


@pytest.mark.slow
def test_stylize_is_the_stream_run_to_its_end(tiny_content, tiny_style, vgg):
    run = gramscope.stream(tiny_content, tiny_style, net=vgg, **TINY)
    records = list(run)
    streamed = run.result()
    looped = gramscope.stylize(tiny_content, tiny_style, net=vgg, **TINY)
    assert [r.step for r in records] == [1, 2, 3, 4]
    assert streamed.image.tobytes() == looped.image.tobytes()
    assert [r.total for r in streamed.history] == [r.total for r in looped.history]
    assert streamed.finished and not streamed.stopped and not streamed.failed
    assert streamed.metadata["steps_done"] == 4


@pytest.mark.slow
def test_stop_ends_the_stream_after_the_next_step_with_its_picture(
        tiny_content, tiny_style, vgg):
    run = gramscope.stream(tiny_content, tiny_style, net=vgg, **dict(TINY, steps=10))
    for record in run:
        if record.step == 2:
            run.stop()
    result = run.result()
    # The stop is polled after each step: the step under way when it came is finished.
    assert [r.step for r in result.history] == [1, 2, 3]
    assert result.history[-1].image is not None
    assert result.stopped and not result.finished and not result.failed
    with pytest.deprecated_call():
        assert result.interrupted  # the old flag: stopped or failed
    assert result.image.tobytes() == to_pil(result.history[-1].image).tobytes()


@pytest.mark.slow
def test_a_stream_without_images_keeps_losses_and_its_last_picture(
        tiny_content, tiny_style, vgg):
    run = gramscope.stream(tiny_content, tiny_style, net=vgg, image_every=1,
                           keep_images=False, **TINY)
    pictures = [r.image for r in run]
    assert all(p is not None for p in pictures)  # each record carried its picture…
    assert all(r.image is None for r in run.history)  # …the history does not keep them
    assert run.result().image.size == (32, 24)


@pytest.mark.slow
def test_stopped_is_what_held_when_the_stream_ended(tiny_content, tiny_style, vgg):
    """The web demo forgets a session's stop flag (it then reads true) after its run:
    the result must still say the run finished."""
    ended = []
    run = gramscope.stream(tiny_content, tiny_style, net=vgg, stop=lambda: bool(ended),
                           **TINY)
    list(run)
    ended.append(True)
    assert not run.result().stopped


def test_the_start_image_is_read_when_the_stream_is_made(
        tmp_path, tiny_content, tiny_style, engine_must_not_start):
    broken = tmp_path / "start.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(InputImageError, match="start.png"):
        gramscope.stream(tiny_content, tiny_style, **dict(TINY, init=str(broken)))


def test_a_stream_with_no_picture_has_no_result(tiny_content, tiny_style, monkeypatch):
    monkeypatch.setattr("gramscope.transfer.run", lambda *args, **kwargs: iter(()))
    run = gramscope.stream(tiny_content, tiny_style, **TINY)
    assert list(run) == []
    with pytest.raises(gramscope.GramscopeError, match="before it produced an image"):
        run.result()


def test_stylize_checks_options_before_touching_the_images(tmp_path):
    """Options are checked first: the missing content file is never even looked at."""
    with pytest.raises(OptionsError, match="steps must be"):
        gramscope.stylize(tmp_path / "missing.png", tmp_path / "missing.png", steps=-3)
    with pytest.raises(OptionsError, match="unknown layer"):
        gramscope.stylize(tmp_path / "missing.png", tmp_path / "missing.png",
                          style_layers=("conv6_1",))
