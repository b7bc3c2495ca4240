"""The device-resident L-BFGS: the same iterates as torch's, and no host round-trips."""

from __future__ import annotations

import pytest
import torch

from gramscope import transfer
from gramscope.lbfgs import DeviceLBFGS
from gramscope.options import StyleOptions


def _problem(n: int = 40):
    """A strictly convex quadratic plus a quartic: curvature that changes along the way."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, dtype=torch.float64, generator=generator)
    hessian = a @ a.T / n + 0.1 * torch.eye(n, dtype=torch.float64)
    b = torch.randn(n, dtype=torch.float64, generator=generator)
    return lambda x: 0.5 * x @ hessian @ x - b @ x + 0.1 * x.pow(4).sum()


def _trajectory(optimizer_for, steps: int = 25) -> list[torch.Tensor]:
    f = _problem()
    x = torch.zeros(40, dtype=torch.float64, requires_grad=True)
    optimizer = optimizer_for(x)

    def closure():
        optimizer.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        optimizer.step(closure)
        out.append(x.detach().clone())
    return out


@pytest.mark.parametrize("history", [3, 8, 100])
def test_same_iterates_as_torch_lbfgs(history):
    """With the history full (3), filling (8) and never full (100): the two-loop recursion
    written as triangular solves is the recursion itself, to float64 rounding."""
    theirs = _trajectory(lambda x: torch.optim.LBFGS(
        [x], lr=1, max_iter=1, history_size=history, tolerance_grad=0, tolerance_change=0))
    ours = _trajectory(lambda x: DeviceLBFGS(x, lr=1, history_size=history, first_step="l1"))
    for step, (a, b) in enumerate(zip(theirs, ours, strict=True)):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-11), step
    assert not torch.equal(theirs[0], theirs[-1])  # it moved


class Conversions:
    """Counts tensor-to-Python conversions: on a GPU each one waits for the device."""

    NAMES = ("item", "tolist", "__float__", "__int__", "__bool__")

    def __init__(self, monkeypatch):
        self.count = 0
        for name in self.NAMES:
            original = getattr(torch.Tensor, name)

            def counting(tensor, *args, _original=original, **kwargs):
                self.count += 1
                return _original(tensor, *args, **kwargs)

            monkeypatch.setattr(torch.Tensor, name, counting)


def test_a_step_of_the_device_lbfgs_converts_nothing_to_python(monkeypatch):
    f = _problem()
    x = torch.zeros(40, dtype=torch.float64, requires_grad=True)
    optimizer = DeviceLBFGS(x, lr=1, history_size=5)

    def closure():
        optimizer.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    conversions = Conversions(monkeypatch)
    for _ in range(8):  # past a full history, so the ring buffer wraps
        optimizer.step(closure)
    assert conversions.count == 0


@pytest.mark.slow
def test_an_engine_step_reads_the_device_once(monkeypatch, tiny_content, tiny_style):
    """The whole step — objective, gradient, L-BFGS, finiteness checks, the record's
    numbers — reads back from the device once (the first step once more, for the loss
    scale)."""
    options = StyleOptions(size=32, scales=1, steps=6)
    conversions = None
    counts = []
    for record in transfer.run(tiny_content, tiny_style, options):
        if conversions is None:  # start counting after the first step
            conversions = Conversions(monkeypatch)
        else:
            counts.append(conversions.count)
            conversions.count = 0
        assert record.total > 0
    # Step 2…6; the last record also carries the image (one copy to the host).
    assert counts[:-1] == [1, 1, 1, 1], counts


@pytest.mark.slow
def test_the_engine_runs_its_own_lbfgs_on_the_cpu(tiny_content, tiny_style):
    """Not torch's: its first step at each scale would be ≈ 0 at a large one (see below)."""
    run = transfer.run(tiny_content, tiny_style, StyleOptions(size=32, scales=1, steps=1))
    seen = []
    real = transfer.ScaleRun.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        seen.append(type(self.optimizer))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transfer.ScaleRun, "__init__", spy)
        list(run)
    assert seen == [DeviceLBFGS]


@pytest.mark.slow
def test_engine_with_torch_lbfgs_and_its_first_step_ends_alike(monkeypatch, tiny_content,
                                                              tiny_style):
    """The engine with ours given torch's first step, and with torch's L-BFGS itself, ends
    at nearly the same loss: float32 rounding differs in the order of the sums, nothing
    else."""
    import functools

    options = StyleOptions(size=32, scales=1, steps=8, precision="fp32")
    monkeypatch.setattr(transfer, "DeviceLBFGS",
                        functools.partial(DeviceLBFGS, first_step="l1"))
    ours = list(transfer.run(tiny_content, tiny_style, options))
    monkeypatch.setattr(transfer, "DeviceLBFGS", lambda image, lr, history_size: (
        torch.optim.LBFGS([image], lr=lr, max_iter=1, history_size=history_size,
                          tolerance_grad=0.0, tolerance_change=0.0)))
    theirs = list(transfer.run(tiny_content, tiny_style, options))
    assert ours[-1].total == pytest.approx(theirs[-1].total, rel=1e-3)
    assert (ours[-1].image - theirs[-1].image).abs().max() < 1.0


@pytest.mark.parametrize("n", [100, 1_000_000])
def test_the_first_step_moves_the_steepest_value_by_lr_whatever_the_size(n):
    """torch's first step, 1/‖g‖₁, shrinks with n until the next gradient differs from this
    one by rounding noise only (a 2048-px first scale diverged so); ours moves the value
    with the largest gradient by lr, at any n."""
    generator = torch.Generator().manual_seed(1)
    target = torch.randn(n, generator=generator) * 10
    x = torch.zeros(n, requires_grad=True)
    optimizer = DeviceLBFGS(x, lr=0.5, history_size=3)

    def closure():
        optimizer.zero_grad()
        loss = 0.5 * (x - target).pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert x.detach().abs().max().item() == pytest.approx(0.5, rel=1e-6)
