"""The engine on a CUDA GPU: exact, deterministic, memory-aware, one read-back a step.

Skipped where no GPU is present (CI has none); bench/gpu.sh runs them on one.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from gramscope import memory, transfer
from gramscope.api import stylize
from gramscope.device import cached_vgg19
from gramscope.image import to_tensor
from gramscope.lbfgs import DeviceLBFGS
from gramscope.objective import Objective
from gramscope.options import StyleOptions

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.mark.slow
def test_same_seed_gives_a_bit_identical_image_on_the_gpu(tiny_content, tiny_style):
    options = dict(size=96, scales=2, steps=6, coarse_steps=6, device="cuda")
    a = stylize(tiny_content, tiny_style, **options)
    b = stylize(tiny_content, tiny_style, **options)
    assert a.image.tobytes() == b.image.tobytes()
    assert [r.total for r in a.history] == [r.total for r in b.history]


@pytest.mark.slow
def test_tiled_equals_untiled_on_the_gpu(tiny_content, tiny_style):
    net = cached_vgg19(None, "max", "mean-activation", "cuda")
    options = StyleOptions(size=160, scales=1, device="cuda")
    picture = torch.nn.functional.interpolate(to_tensor(tiny_content), size=(120, 160),
                                              mode="bilinear").cuda()
    style = to_tensor(tiny_style).cuda()

    def evaluate(tile):
        objective = Objective(net, options, picture.flip(-1), [style], [1.0], options.alpha,
                              tile)
        image = picture.clone().requires_grad_(True)
        return objective.parts(objective.loss_and_grad(image, 1.0).tolist()), image.grad

    plain, plain_grad = evaluate(None)
    tiled, tiled_grad = evaluate(64)
    assert tiled["total"] == pytest.approx(plain["total"], rel=1e-3)
    cosine = torch.nn.functional.cosine_similarity(plain_grad.flatten(), tiled_grad.flatten(), 0)
    assert cosine > 0.999


@pytest.mark.slow
def test_out_of_memory_under_a_cap_continues_in_tiles(monkeypatch, tiny_content, tiny_style):
    """A 2 GB cap; the plan is told memory is plentiful, so the untiled step really runs
    out of GPU memory and the engine must carry on in tiles."""
    monkeypatch.setattr(memory, "available_bytes", lambda device=None: 10**12)
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(2e9 / total)
    try:
        result = stylize(tiny_content, tiny_style, size=2048, scales=1, steps=3,
                         device="cuda")
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    events = [r.event for r in result.history if r.event]
    assert any(e.startswith("out of memory") and "continuing in exact" in e for e in events)
    assert not result.failed and result.image.size == (2048, 1536)


@pytest.mark.slow
def test_an_engine_step_synchronises_once(tiny_content, tiny_style):
    options = StyleOptions(size=96, scales=1, steps=6, device="cuda")
    records = transfer.run(tiny_content, tiny_style, options)
    next(records)  # the first step also measures the loss scale
    torch.cuda.set_sync_debug_mode("warn")
    try:
        counts = []
        for _ in range(4):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                next(records)
            counts.append(sum("synchroniz" in str(w.message) for w in caught))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert max(counts) <= 1, counts


def test_device_lbfgs_on_the_gpu_follows_torch_lbfgs_on_the_cpu():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(30, 30, dtype=torch.float64, generator=generator)
    hessian = a @ a.T / 30 + 0.1 * torch.eye(30, dtype=torch.float64)
    b = torch.randn(30, dtype=torch.float64, generator=generator)
    ends = []
    for device, make in (("cpu", lambda x: torch.optim.LBFGS(
            [x], lr=1, max_iter=1, history_size=5, tolerance_grad=0, tolerance_change=0)),
                         ("cuda", lambda x: DeviceLBFGS(x, lr=1, history_size=5,
                                                        first_step="l1"))):
        h, c = hessian.to(device), b.to(device)
        x = torch.zeros(30, dtype=torch.float64, device=device, requires_grad=True)
        optimizer = make(x)

        def closure(x=x, h=h, c=c, optimizer=optimizer):
            optimizer.zero_grad()
            loss = 0.5 * x @ h @ x - c @ x + 0.1 * x.pow(4).sum()
            loss.backward()
            return loss

        for _ in range(15):
            optimizer.step(closure)
        ends.append(x.detach().cpu())
    assert torch.allclose(ends[0], ends[1], rtol=1e-8, atol=1e-10)
