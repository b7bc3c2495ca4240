"""The GPU path as far as a CPU can check it: exact tiles after running out of memory,
and the determinism switches (the memory plan is tested in test_memory.py)."""

from __future__ import annotations

import math

import pytest
import torch

from gramscope import memory, transfer
from gramscope.device import deterministic_kernels
from gramscope.objective import Objective
from gramscope.options import StyleOptions

CUDA = torch.device("cuda")


def _out_of_memory_when_untiled(monkeypatch, always: bool = False):
    real = Objective.loss_and_grad
    calls = {"untiled": 0}

    def scarce(self, image, scale):
        if self.tile is None or always:
            calls["untiled"] += 1
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(self, image, scale)

    monkeypatch.setattr(Objective, "loss_and_grad", scarce)
    monkeypatch.setattr(memory, "MIN_TILE", 32)  # tiles a 64-px test image can use
    return calls


def test_out_of_memory_continues_in_exact_tiles(monkeypatch, tiny_content, tiny_style):
    options = StyleOptions(size=64, scales=1, steps=5, device="cpu")
    plain = list(transfer.run(tiny_content, tiny_style, options))
    calls = _out_of_memory_when_untiled(monkeypatch)
    records = list(transfer.run(tiny_content, tiny_style, options))
    assert calls["untiled"] == 1
    assert [r.step for r in records] == [1, 2, 3, 4, 5] and not records[-1].failed
    assert records[0].event.startswith("out of memory at step 1: continuing in exact 32-px")
    # The tiled loss is the same loss: the same trajectory, up to float rounding.
    assert records[-1].total == pytest.approx(plain[-1].total, rel=1e-3)


def test_out_of_memory_even_in_the_smallest_tiles_keeps_the_latest_image(
        monkeypatch, tiny_content, tiny_style):
    _out_of_memory_when_untiled(monkeypatch, always=True)
    options = StyleOptions(size=64, scales=1, steps=5, device="cpu")
    records = list(transfer.run(tiny_content, tiny_style, options))
    last = records[-1]
    assert last.failed and last.image is not None
    assert "out of memory on cpu even in 32-px tiles" in last.event
    assert "kept the latest image" in last.event
    assert math.isnan(last.total)


def test_deterministic_kernels_are_switched_on_for_cuda_and_restored():
    before = (torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled())
    with deterministic_kernels(CUDA, True):
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert torch.are_deterministic_algorithms_enabled()
    assert (torch.backends.cudnn.deterministic,
            torch.are_deterministic_algorithms_enabled()) == before
    with deterministic_kernels(CUDA, False), deterministic_kernels(torch.device("cpu"), True):
        assert torch.are_deterministic_algorithms_enabled() == before[1]


def test_cublas_is_configured_for_determinism_before_any_cuda_work():
    import os

    import gramscope.device  # noqa: F401  (sets it on import)

    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] in (":4096:8", ":16:8")
