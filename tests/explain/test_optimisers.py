"""Why L-BFGS: the same transfer with gd, Adam and L-BFGS, through the engine."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gramscope.explain.optimisers import OPTIMISERS, compare_optimizers, optimiser_steps
from gramscope.options import StyleOptions

# 20 steps: at 12, L-BFGS's cautious first steps (measured with torch's first step, scaled
# by 1/|g|₁) still left it level with gd from a content start; by 20 about half of gd's loss.
TINY = StyleOptions(size=32, scales=1, steps=20)


@pytest.fixture(scope="module")
def race(vgg, tiny_content, tiny_style):
    seen: list[str] = []
    result = compare_optimizers(tiny_content, tiny_style, TINY, net=vgg,
                                on_step=lambda label, record: seen.append(label))
    return result, seen


def test_lbfgs_ends_lowest_for_the_same_steps(race):
    result, seen = race
    assert list(result.panels) == list(OPTIMISERS)
    assert len(seen) == optimiser_steps(TINY) == 60
    losses = result.final_losses()
    # Measured at 32 px from the photo: L-BFGS ≈ 0.56 × gd's loss, Adam ≈ 0.62 ×.
    assert losses["lbfgs"] < 0.8 * losses["gd"]
    for name, panel in result.panels.items():
        first = panel.history[0].total
        assert losses[name] < first, name  # every optimiser lowered the loss
        assert panel.options.optimizer == name and panel.options.seed == TINY.seed
        assert panel.image.size == result.panels["lbfgs"].image.size
    # The three runs started from the same picture: the first loss is the same for all.
    firsts = {panel.history[0].total for panel in result.panels.values()}
    assert len(firsts) == 1


def test_the_legend_states_gds_step_size(race):
    result, _ = race
    assert result.label("gd") == "gradient descent, η = 1"
    assert "L-BFGS" in result.summary() and "final L_total" in result.summary()
    figure = result.figure()
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend[0] == "gradient descent, η = 1"
    assert Image.open(io.BytesIO(result.png())).format == "PNG"


def test_a_run_already_made_is_reused_and_step_sizes_apply(race, tiny_content, tiny_style,
                                                           vgg):
    result, _ = race
    again = compare_optimizers(tiny_content, tiny_style, TINY.replace(steps=2), net=vgg,
                               optimizers=("gd", "lbfgs"), step_sizes={"gd": 0.5},
                               done={"lbfgs": result.panels["lbfgs"]})
    assert again.panels["lbfgs"] is result.panels["lbfgs"]
    assert again.panels["gd"].options.learning_rate == 0.5
    assert again.label("gd") == "gradient descent, η = 0.5"
