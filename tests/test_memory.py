"""Memory planning (memory.py): what a device has, and the plan a run fits in it."""

from __future__ import annotations

import pytest
import torch

from gramscope import memory
from gramscope.errors import GramscopeError
from gramscope.options import StyleOptions

GiB = 1024**3
CUDA = torch.device("cuda")


@pytest.fixture
def fake_gpu(monkeypatch):
    """A 139 GiB GPU with nothing allocated, and a settable per-process cap."""
    state = {"fraction": 1.0, "total": 139 * GiB}

    class Properties:
        total_memory = state["total"]

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (
        state["total"] - GiB // 2, state["total"]))
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 0)
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device=None: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: Properties)
    monkeypatch.setattr(torch.cuda, "get_per_process_memory_fraction",
                        lambda device=None: state["fraction"])
    return state


def test_the_plan_reads_the_gpu_not_the_host(fake_gpu):
    assert memory.available_bytes(CUDA) == 139 * GiB - GiB // 2
    fake_gpu["fraction"] = 24 / 139  # torch.cuda.set_per_process_memory_fraction
    assert memory.available_bytes(CUDA) == pytest.approx(24 * GiB, rel=1e-6)
    assert memory.total_bytes(CUDA) == pytest.approx(24 * GiB, rel=1e-6)


def test_4096_px_fits_a_24_gib_gpu_in_large_exact_tiles(fake_gpu):
    options = StyleOptions(size=4096)
    whole = memory.run_plan(options, (4096, 3072), device=CUDA)
    assert not whole.tiled  # 139 GiB: one pass
    fake_gpu["fraction"] = 24 / 139
    capped = memory.run_plan(options, (4096, 3072), device=CUDA)
    assert capped.tiled and capped.tile_side is not None
    # On a GPU the tile is the largest that fits (fewer halos), far above the CPU's 1024.
    assert 1024 < capped.tile_side < 4096 and capped.tile_side % memory.MIN_TILE == 0
    assert capped.peak_bytes <= memory.FILL * 24 * GiB
    # The L-BFGS memory never outgrows the final scale's steps (45 × 512 / 4096 → 6).
    assert capped.history == options.steps_per_scale[-1] == 6


def test_a_size_no_gpu_can_hold_is_refused_naming_one_that_fits(fake_gpu):
    fake_gpu["fraction"] = 2 / 139
    with pytest.raises(GramscopeError, match=r"largest size that fits is about --size \d+"):
        memory.run_plan(StyleOptions(size=16384), (4096, 3072), device=CUDA)


def test_the_cpu_plan_is_unchanged_by_the_gpu_logic():
    options = StyleOptions(size=4096)
    plan = memory.run_plan(options, (1024, 768), available=24 * 10**9, capacity=24 * 10**9)
    assert plan.tiled and plan.tile_side == memory.DEFAULT_TILE
    with pytest.raises(GramscopeError, match=r"largest size that fits is about --size \d+"):
        memory.run_plan(options, (1024, 768), available=2 * 10**9, capacity=24 * 10**9)
    small = memory.run_plan(StyleOptions(size=512), (1024, 768), available=24 * 10**9)
    assert not small.tiled and small.history == StyleOptions().steps  # bounded by the steps


def test_lbfgs_history_is_bounded_by_memory_and_by_the_steps():
    assert memory.lbfgs_history(196_608, 24 * 10**9) == 100
    assert memory.lbfgs_history(196_608, 24 * 10**9, steps=12) == 12
    assert memory.lbfgs_history(12_582_912, 24 * 10**9) == 19  # a 4096-px image: 0.3 GB a pair
