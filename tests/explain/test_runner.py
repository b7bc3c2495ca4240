"""How every panel runs: one stylize call, the divergence guard, and Ctrl-C."""

from __future__ import annotations

import signal

import pytest

from gramscope.explain import runner
from gramscope.explain.runner import diverged, render_run
from gramscope.options import StyleOptions
from gramscope.transfer import StepRecord

TINY = StyleOptions(size=32, scales=1, steps=3)


def record(step: int, scale: int, total: float) -> StepRecord:
    return StepRecord(step, scale, (8, 8), 0.0, total, {}, 1.0, 0.0, total)


def test_divergence_is_judged_at_the_last_scale():
    settled = [record(1, 0, 100.0), record(2, 0, 5.0), record(3, 1, 50.0), record(4, 1, 40.0)]
    assert not diverged(settled)  # the jump at a new scale is normal
    leapt = [*settled, record(5, 1, 30.0), record(6, 1, 500.0)]
    assert diverged(leapt)
    assert diverged([record(1, 0, 1.0), record(2, 0, float("nan"))])
    assert not diverged([])


def test_a_diverged_run_is_made_again_from_the_next_seed(vgg, tiny_content, tiny_style,
                                                        monkeypatch):
    verdicts = iter([True, False])
    monkeypatch.setattr(runner, "diverged", lambda history: next(verdicts))
    seen: list[tuple[str, int]] = []
    panel = render_run("cell", tiny_content, tiny_style, TINY, net=vgg,
                       on_step=lambda label, record: seen.append((label, record.step)))
    assert panel.options.seed == 1 and panel.note == "seed 1 (seed 0 diverged)"
    assert seen == [("cell", s) for s in (1, 2, 3)] * 2  # both runs reach the progress bar
    again = render_run("cell", tiny_content, tiny_style, TINY.replace(seed=1), net=vgg)
    assert again.image.tobytes() == panel.image.tobytes()


def test_ctrl_c_stops_the_whole_figure_not_just_its_panel(vgg, tiny_content, tiny_style):
    presses: list[int] = []

    def press_ctrl_c_once(label: str, record: StepRecord) -> None:
        if not presses:
            presses.append(record.step)
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        render_run("cell", tiny_content, tiny_style, TINY.replace(steps=50), net=vgg,
                   on_step=press_ctrl_c_once)
    assert presses == [1]
