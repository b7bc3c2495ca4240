"""A video frame's previous frame: the warped start and the temporal term in the objective."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gramscope import losses, transfer
from gramscope.errors import OptionsError
from gramscope.image import to_tensor
from gramscope.objective import Objective
from gramscope.options import StyleOptions
from gramscope.temporal import PreviousFrame


def _frame(shape=(1, 3, 6, 8), weight=0.0, seed=0, **kwargs) -> PreviousFrame:
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(shape, generator=generator) * 255
    weights = (torch.rand(shape[-2:], generator=generator) > 0.4).float()
    return PreviousFrame(image, weights, weight, **kwargs)


def test_the_start_is_the_moved_result_where_it_holds_and_the_own_start_elsewhere():
    frame = _frame()
    own = torch.full((1, 3, 6, 8), 7.0)
    start = frame.start(own)
    kept = frame.weights.bool().expand_as(own)
    assert torch.equal(start[kept], frame.image[kept])
    assert torch.equal(start[~kept], own[~kept])
    assert torch.equal(_frame(warped_start=False).start(own), own)


def test_a_coarser_scale_sees_the_frame_and_its_weights_averaged_by_area():
    frame = _frame(shape=(1, 3, 8, 8))
    image, weights = frame.at(torch.zeros(1, 3, 4, 4))
    assert image.shape == (1, 3, 4, 4) and weights.shape == (1, 1, 4, 4)
    assert image[0, 1, 0, 0].item() == pytest.approx(frame.image[0, 1, :2, :2].mean().item())
    assert weights[0, 0, 3, 3].item() == pytest.approx(frame.weights[0, 0, 6:, 6:].mean().item())


def test_arrays_from_the_flow_become_a_frame_and_bad_weights_are_refused():
    warped = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    frame = PreviousFrame.from_arrays(warped, np.ones((2, 3)), 2.5)
    assert frame.size == (3, 2) and frame.weight == 2.5
    assert frame.image[0, :, 1, 2].tolist() == warped[1, 2].tolist()  # channel-first
    with pytest.raises(ValueError, match="0 or more"):
        PreviousFrame.from_arrays(warped, np.ones((2, 3)), -1.0)


def test_the_objective_adds_the_weighted_temporal_term_and_its_gradient(
        vgg, tiny_content, tiny_style):
    options = StyleOptions(precision="fp32")
    content = to_tensor(tiny_content)
    frame = _frame(shape=tuple(content.shape), weight=3.0)
    plain = Objective(vgg, options, content.flip(-1), [to_tensor(tiny_style)], [1.0], 1e-2)
    tied = Objective(vgg, options, content.flip(-1), [to_tensor(tiny_style)], [1.0], 1e-2,
                     previous=frame)
    grads, parts = [], []
    for objective in (plain, tied):
        x = content.clone().requires_grad_(True)
        # With scale = norm the gradient is ∇L_total itself.
        parts.append(objective.parts(objective.loss_and_grad(x, objective.norm).tolist()))
        grads.append(x.grad)
    expected = 3.0 * losses.temporal_loss(content, frame.image, frame.weights).item()
    assert parts[1]["temporal"] == pytest.approx(expected, rel=1e-5)
    assert parts[1]["total"] == pytest.approx(parts[0]["total"] + expected, rel=1e-5)
    # ∇(w L_temporal) = 2 w c (x − ω) / D, added to the rest.
    d = content[0].numel()
    temporal_grad = 2 * 3.0 * frame.weights * (content - frame.image) / d
    assert torch.allclose(grads[1] - grads[0], temporal_grad, rtol=1e-3, atol=1e-6)


def test_a_previous_frame_without_weight_leaves_the_loss_bit_for_bit(
        vgg, tiny_content, tiny_style):
    options = StyleOptions(precision="fp32")
    content = to_tensor(tiny_content)
    results = []
    for previous in (None, _frame(shape=tuple(content.shape), weight=0.0)):
        objective = Objective(vgg, options, content, [to_tensor(tiny_style)], [1.0],
                              options.alpha, previous=previous)
        x = content.flip(-1).clone().requires_grad_(True)
        raw = objective.loss_and_grad(x, 1.0)
        results.append((raw, x.grad))
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1],
                                                                      results[1][1])


@pytest.mark.slow
def test_a_run_starts_from_the_moved_frame_and_records_the_temporal_term(
        tiny_content, tiny_style):
    options = StyleOptions(size=64, scales=1, steps=0, init="content", precision="fp32")
    content = to_tensor(tiny_content)
    frame = _frame(shape=tuple(content.shape), weight=1.0)
    start = list(transfer.run(tiny_content, tiny_style, options, previous_frame=frame))[-1]
    expected = frame.weights * frame.image + (1 - frame.weights) * content
    assert torch.allclose(start.image, expected.clamp(0, 255), atol=1e-4)

    records = list(transfer.run(tiny_content, tiny_style, options.replace(steps=2),
                                previous_frame=frame))
    # Measured at the start, which is the moved frame wherever c = 1: no temporal cost yet.
    assert records[0].temporal == 0.0 and records[1].temporal > 0
    assert records[-1].to_dict()["temporal"] == records[-1].temporal
    assert records[-1].total == pytest.approx(
        records[-1].content + records[-1].style_total + records[-1].temporal, rel=1e-6)
    assert "temporal" not in list(transfer.run(tiny_content, tiny_style,
                                               options.replace(steps=1)))[-1].to_dict()


def test_a_previous_frame_of_another_size_is_refused(tiny_content, tiny_style):
    options = StyleOptions(size=64, scales=1, steps=1, precision="fp32")
    with pytest.raises(OptionsError, match="previous frame is 8x6"):
        list(transfer.run(tiny_content, tiny_style, options, previous_frame=_frame()))
