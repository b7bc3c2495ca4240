"""The GPU path as far as a CPU can check it: exact tiles after running out of memory,
the determinism switches and what precision auto chooses (the memory plan is tested in
test_memory.py)."""

from __future__ import annotations

import math
import os

import pytest
import torch

from gramscope import memory, transfer
from gramscope.device import deterministic_kernels, network_precision
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


@pytest.mark.slow
def test_out_of_memory_continues_in_exact_tiles(monkeypatch, tiny_content, tiny_style):
    # fp32, where tiles are exact to float rounding; in bf16 each tile rounds on its own.
    options = StyleOptions(size=64, scales=1, steps=5, device="cpu", precision="fp32")
    plain = list(transfer.run(tiny_content, tiny_style, options))
    calls = _out_of_memory_when_untiled(monkeypatch)
    records = list(transfer.run(tiny_content, tiny_style, options))
    assert calls["untiled"] == 1
    assert [r.step for r in records] == [1, 2, 3, 4, 5] and not records[-1].failed
    assert records[0].event.startswith("out of memory at step 1: continuing in exact 32-px")
    # The tiled loss is the same loss: the same trajectory, up to float rounding.
    assert records[-1].total == pytest.approx(plain[-1].total, rel=1e-3)


@pytest.mark.slow
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


def _import_device_afresh():
    """Run gramscope.device's module code again, as a first import would, without replacing
    the loaded module (its cached networks stay)."""
    import importlib.util

    spec = importlib.util.find_spec("gramscope.device")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


def test_cublas_is_configured_for_determinism_on_import(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    _import_device_afresh()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_a_users_own_cublas_setting_wins(monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    _import_device_afresh()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


# ---- precision auto ---------------------------------------------------------------------

def _bf16_probe(monkeypatch, native: bool, mkldnn: bool = True):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: mkldnn)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)


def test_auto_precision_is_bf16_only_on_a_cpu_with_native_bf16(monkeypatch):
    cpu = torch.device("cpu")
    _bf16_probe(monkeypatch, native=True)
    assert network_precision("auto", cpu) == "bf16"
    assert network_precision("auto", CUDA) == "fp32"  # bf16 was slower on an H200 at 512 px
    _bf16_probe(monkeypatch, native=False)  # emulated bf16 is slower than fp32
    assert network_precision("auto", cpu) == "fp32"
    _bf16_probe(monkeypatch, native=True, mkldnn=False)
    assert network_precision("auto", cpu) == "fp32"
    # An explicit choice is kept whatever the machine.
    for precision in ("fp32", "bf16"):
        assert network_precision(precision, cpu) == network_precision(precision, CUDA) == precision


def test_the_objective_and_the_sidecar_follow_what_auto_chose(monkeypatch, vgg, tiny_content,
                                                              tiny_style):
    from gramscope.api import run_metadata
    from gramscope.image import to_tensor

    content, style = to_tensor(tiny_content), to_tensor(tiny_style)
    options = StyleOptions(size=64, scales=1, steps=1, device="cpu")
    assert options.precision == "auto"
    for native, expected in ((True, "bf16"), (False, "fp32")):
        _bf16_probe(monkeypatch, native=native)
        objective = Objective(vgg, options, content, [style], [1.0], options.alpha)
        assert objective.bf16 == (expected == "bf16")
        meta = run_metadata(options, "photo.jpg", "painting.jpg", [], 1.0, False, net=vgg)
        assert meta["precision"] == expected and meta["options"]["precision"] == "auto"


def test_bf16_changes_the_loss_by_rounding_only(vgg, tiny_content, tiny_style):
    """The losses and Gram matrices stay fp32: bf16 features move the loss by a few per
    cent at most, not to another objective."""
    from gramscope.image import to_tensor

    content, style = to_tensor(tiny_content), to_tensor(tiny_style)
    totals = {}
    for precision in ("fp32", "bf16"):
        options = StyleOptions(size=64, scales=1, precision=precision)
        objective = Objective(vgg, options, content, [style], [1.0], options.alpha)
        x = content.flip(-1).clone().requires_grad_(True)
        totals[precision] = objective.parts(objective.loss_and_grad(x, 1.0).tolist())["total"]
    assert totals["bf16"] != totals["fp32"]  # it did run in bf16
    assert totals["bf16"] == pytest.approx(totals["fp32"], rel=0.05)
