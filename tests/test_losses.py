"""Every loss term against numbers computed by hand, and the gradient against finite
differences."""

from __future__ import annotations

import math

import pytest
import torch

from gramscope import losses


def features(values: list[list[float]], height: int, width: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).reshape(1, len(values), height, width)


def test_gram_matrix_by_hand():
    # F = [[1, 2, 3, 4], [0, 1, 0, 2]] (N=2 filters, M=4 positions)
    F = features([[1, 2, 3, 4], [0, 1, 0, 2]], 2, 2)
    G = losses.gram_matrix(F)
    # G_11 = 1+4+9+16 = 30, G_12 = 0+2+0+8 = 10, G_22 = 0+1+0+4 = 5
    assert G.tolist() == [[30.0, 10.0], [10.0, 5.0]]


def test_guided_positions_is_the_sum_of_squared_guide_values():
    guide = torch.tensor([[1.0, 0.5], [0.0, 0.5]], dtype=torch.float64).reshape(1, 1, 2, 2)
    assert float(losses.guided_positions(guide)) == 1.5  # 1 + 0.25 + 0 + 0.25
    assert float(losses.guided_positions(torch.ones(1, 1, 3, 4))) == 12  # M for all ones
    assert float(losses.guided_positions(torch.zeros(1, 1, 2, 2))) > 0  # never divides by 0


def test_content_loss_by_hand():
    F = features([[1, 2], [3, 4]], 1, 2)
    P = features([[0, 2], [5, 4]], 1, 2)
    # ½ (1² + 0² + 2² + 0²) = 2.5
    assert losses.content_loss(F, P).item() == 2.5


def test_layer_style_error_matches_paper_formula():
    F = features([[1, 2, 3, 4], [0, 1, 0, 2]], 2, 2)
    S = features([[2, 0, 1, 1], [1, 1, 1, 1]], 2, 2)
    G, A = losses.gram_matrix(F), losses.gram_matrix(S)
    # A = [[6, 4], [4, 4]]; G − A = [[24, 6], [6, 1]]; Σ² = 576 + 36 + 36 + 1 = 649
    assert A.tolist() == [[6.0, 4.0], [4.0, 4.0]]
    N, M = 2, 4
    expected = 649 / (4 * N**2 * M**2)
    assert losses.layer_style_error(G, A, N, M).item() == pytest.approx(expected, rel=1e-12)


def test_layer_style_error_with_other_style_size_compares_per_position_grams():
    F = features([[1, 2, 3, 4], [0, 1, 0, 2]], 2, 2)
    # The same statistics at twice the positions: the style image tiled twice.
    S = torch.cat([F, F], dim=3)
    G, A = losses.gram_matrix(F), losses.gram_matrix(S)
    assert A.tolist() == (2 * G).tolist()
    assert losses.layer_style_error(G, A, 2, 4, target_positions=8).item() == 0.0
    # Unequal statistics: Σ (G/4 − A'/8)² / (4 N²), computed by hand.
    S2 = features([[2, 0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0, 0]], 2, 4)
    A2 = losses.gram_matrix(S2)  # [[10, 4], [4, 4]]
    d = (G / 4 - A2 / 8).tolist()  # [[7.5-1.25, 2.5-0.5], [2.5-0.5, 1.25-0.5]]
    expected = sum(x * x for row in d for x in row) / (4 * 2**2)
    assert losses.layer_style_error(G, A2, 2, 4, target_positions=8).item() == pytest.approx(
        expected
    )
    assert expected == pytest.approx((6.25**2 + 2 * 2.0**2 + 0.75**2) / 16)


def test_style_and_total_loss_combine_with_their_weights():
    errors = {"conv1_1": torch.tensor(2.0), "conv2_1": torch.tensor(10.0)}
    weights = {"conv1_1": 0.5, "conv2_1": 0.25}
    style = losses.style_loss(errors, weights)
    assert style.item() == 0.5 * 2 + 0.25 * 10
    assert losses.total_loss(torch.tensor(4.0), style, alpha=1e-3, beta=2.0).item() == (
        pytest.approx(4e-3 + 7.0)
    )


def test_total_variation_by_hand():
    image = torch.tensor([[[[0.0, 1.0], [3.0, 1.0]]]])
    # dx: (1-0), (1-3) -> 1 + 4; dy: (3-0), (1-1) -> 9 + 0
    assert losses.total_variation(image).item() == 14.0


def test_total_variation_chroma_weighs_colour_differences_only():
    torch.manual_seed(0)
    image = torch.rand(1, 3, 5, 6) * 255
    plain = losses.total_variation(image)
    assert losses.total_variation(image, chroma=1.0).item() == pytest.approx(plain.item())
    # A grey picture (R = G = B) has no colour differences: any chroma weight leaves it be.
    grey = image.mean(1, keepdim=True).expand(1, 3, 5, 6)
    assert losses.total_variation(grey, chroma=30.0).item() == pytest.approx(
        losses.total_variation(grey).item(), rel=1e-5)
    # A picture of equal brightness everywhere (R + G + B constant) is all colour: ×chroma.
    colour = torch.zeros(1, 3, 4, 4)
    colour[:, 0, :, ::2] = 10.0
    colour[:, 1, :, ::2] = -10.0
    assert losses.total_variation(colour, chroma=30.0).item() == pytest.approx(
        30 * losses.total_variation(colour).item(), rel=1e-5)
    # In between: brightness + chroma × colour, the two adding up to the plain sum.
    zero = losses.total_variation(image, chroma=0.0)
    assert losses.total_variation(image, chroma=4.0).item() == pytest.approx(
        zero.item() + 4 * (plain - zero).item(), rel=1e-5)


def test_mean_std_error_zero_for_same_statistics_and_positive_otherwise():
    F = features([[1, 2, 3, 4], [0, 1, 0, 2]], 2, 2)
    shuffled = F.flip(-1)  # same per-channel statistics, other positions
    assert losses.mean_std_error(losses.mean_std(F), losses.mean_std(shuffled)).item() == (
        pytest.approx(0.0, abs=1e-6))
    # A mean shift of 1 in each of N channels, divided by N.
    assert losses.mean_std_error(losses.mean_std(F), losses.mean_std(F + 1)).item() == (
        pytest.approx(1.0))


def test_total_loss_gradient_matches_finite_differences():
    """Autograd through conv + ReLU + all loss terms agrees with central differences."""
    torch.manual_seed(0)
    conv = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    x = torch.rand(1, 3, 6, 5, dtype=torch.float64, requires_grad=True)
    content = torch.rand(1, 3, 6, 5, dtype=torch.float64)
    style = torch.rand(1, 3, 7, 7, dtype=torch.float64)

    def layer(image):
        return torch.relu(torch.nn.functional.conv2d(image, conv, padding=1))

    P, S = layer(content), layer(style)
    A = losses.gram_matrix(S)

    def total(image):
        F = layer(image)
        E = losses.layer_style_error(losses.gram_matrix(F), A, 4, 30, target_positions=49)
        style_loss = losses.style_loss({"l": E}, {"l": 1.0})
        return losses.total_loss(losses.content_loss(F, P), style_loss, 1e-2, 10.0) + (
            0.1 * losses.total_variation(image)
        )

    total(x).backward()
    assert x.grad is not None
    eps = 1e-6
    flat = x.detach().clone().flatten()
    for index in range(0, flat.numel(), 7):
        plus, minus = flat.clone(), flat.clone()
        plus[index] += eps
        minus[index] -= eps
        numeric = (total(plus.view_as(x)) - total(minus.view_as(x))).item() / (2 * eps)
        analytic = x.grad.flatten()[index].item()
        assert math.isclose(numeric, analytic, rel_tol=1e-5, abs_tol=1e-8), index


def test_temporal_loss_is_zero_for_a_perfectly_warped_frame_and_weighs_by_consistency():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 4, 5)
    ones = torch.ones(4, 5)
    assert losses.temporal_loss(x, x.clone(), ones).item() == 0.0
    moved = x.clone()
    moved[0, :, 1, 2] += 0.5  # one pixel differs by 0.5 in each channel
    # (1/D) Σ c (x − ω)² with D = 3·4·5: three channels × 0.25 over 60.
    assert losses.temporal_loss(x, moved, ones).item() == pytest.approx(0.75 / 60)
    occluded = ones.clone()
    occluded[1, 2] = 0.0  # the check distrusts that pixel: it costs nothing
    assert losses.temporal_loss(x, moved, occluded).item() == 0.0


def test_temporal_loss_gradient_matches_finite_differences():
    torch.manual_seed(1)
    x = torch.rand(1, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    warped = torch.rand(1, 3, 3, 4, dtype=torch.float64)
    weights = (torch.rand(3, 4, dtype=torch.float64) > 0.3).to(torch.float64)
    assert torch.autograd.gradcheck(
        lambda image: losses.temporal_loss(image, warped, weights), (x,))
