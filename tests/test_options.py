"""StyleOptions: invalid settings are refused when made, saying what is allowed; the
schedule of scales and steps, and the style strength, derived from the settings.

The CLI's refusals are in test_cli.py, the engine's in test_transfer.py.
"""

from __future__ import annotations

import math

import pytest

from gramscope.errors import OptionsError
from gramscope.image import MIN_SIDE
from gramscope.options import StyleOptions

#: (keyword arguments, what the message must say). Each message names the allowed values.
API_CASES = [
    pytest.param({"steps": -1}, "steps must be a whole number, 0 or more, not -1", id="steps<0"),
    pytest.param({"coarse_steps": -5}, "coarse_steps must be a whole number, 0 or more",
                 id="coarse-steps<0"),
    pytest.param({"steps": 2.5}, "steps must be a whole number", id="steps-fraction"),
    pytest.param({"style_layers": ("conv1_1", "conv9_1")},
                 "unknown layer 'conv9_1'; choose from conv1_1 … conv5_4", id="unknown-layer"),
    pytest.param({"content_layers": ("relu4_2x",)}, "unknown layer 'relu4_2x'",
                 id="unknown-content-layer"),
    pytest.param({"style_layers": ("conv1_1", "relu1_1")}, "style layers must not repeat",
                 id="repeated-layer"),
    pytest.param({"content_layers": (), "style_layers": ()},
                 "at least one content layer or style layer", id="no-layers"),
    pytest.param({"style_layer_weights": (0.5, 0.5)},
                 "2 style layer weights given for 5 style layers; give one per layer",
                 id="weights-too-few"),
    pytest.param({"style_layers": ("conv1_1",), "style_layer_weights": (1.0, 1.0)},
                 "2 style layer weights given for 1 style layers", id="weights-too-many"),
    pytest.param({"style_layer_weights": (1.0, math.nan, 1.0, 1.0, 1.0)},
                 "each style layer weight must be a finite number zero or more, not nan",
                 id="weight-nan"),
    pytest.param({"style_layer_weights": (1.0, -0.2, 1.0, 1.0, 1.0)},
                 "each style layer weight must be a finite number zero or more",
                 id="weight<0"),
    pytest.param({"size": 0}, f"size must be a whole number of at least {MIN_SIDE}, not 0",
                 id="size-0"),
    pytest.param({"size": -64}, f"at least {MIN_SIDE}", id="size<0"),
    pytest.param({"size": MIN_SIDE - 1}, f"at least {MIN_SIDE}", id="size-below-minimum"),
    pytest.param({"scales": 0}, "scales must be 1 or more", id="scales-0"),
    pytest.param({"scales": (), "size": 64}, "scales must be increasing long sides",
                 id="scales-empty"),
    pytest.param({"scales": (128, 64), "size": 64}, "scales must be increasing",
                 id="scales-decreasing"),
    pytest.param({"scales": (64, 128), "size": 512}, r"last scale \(128\) must equal size",
                 id="scales-not-ending-at-size"),
    pytest.param({"alpha": math.nan}, "alpha must be a finite number zero or more, not nan",
                 id="alpha-nan"),
    pytest.param({"alpha": math.inf}, "alpha must be a finite number", id="alpha-inf"),
    pytest.param({"alpha": -1e-4}, "alpha must be a finite number zero or more", id="alpha<0"),
    pytest.param({"beta": math.nan}, "beta must be a finite number", id="beta-nan"),
    pytest.param({"beta": -math.inf}, "beta must be a finite number", id="beta-inf"),
    pytest.param({"beta": -1.0}, "beta must be a finite number zero or more", id="beta<0"),
    pytest.param({"strength": 0.0}, "strength must be a finite number more than zero, not 0.0",
                 id="strength-0"),
    pytest.param({"strength": -2.0}, "strength must be a finite number more than zero",
                 id="strength<0"),
    pytest.param({"strength": math.nan}, "strength must be a finite number more than zero, "
                 "not nan", id="strength-nan"),
    pytest.param({"strength": math.inf}, "strength must be a finite number", id="strength-inf"),
    pytest.param({"strength": "2"}, "strength must be a finite number", id="strength-string"),
    pytest.param({"alpha": 1e300, "strength": 1e-10}, r"alpha / strength \(1e\+300 / 1e-10\) "
                 "is beyond floating point", id="strength-overflows-alpha"),
    pytest.param({"tv_weight": -1.0}, "tv_weight must be a finite number", id="tv<0"),
    pytest.param({"tv_chroma": -1.0}, "tv_chroma must be a finite number", id="tv_chroma<0"),
    pytest.param({"learning_rate": 0.0}, "learning_rate must be a finite number more than zero",
                 id="lr-0"),
    pytest.param({"style_scale": math.nan}, "style_scale must be a finite number more than zero",
                 id="style-scale-nan"),
    pytest.param({"style_blend": (0.0, 0.0)}, "style blend weights must not all be zero",
                 id="blend-all-zero"),
    pytest.param({"optimizer": "sgd"}, "optimizer must be one of lbfgs, adam, gd, not 'sgd'",
                 id="unknown-optimizer"),
    pytest.param({"pooling": "min"}, "pooling must be one of max, avg", id="unknown-pooling"),
    pytest.param({"color": "sepia"}, "color must be one of none, luminance, histogram",
                 id="unknown-color"),
    pytest.param({"normalization": "batch"}, "normalization must be one of mean-activation, none",
                 id="unknown-normalization"),
    pytest.param({"style_representation": "gram2"}, "must be one of gram, mean-std",
                 id="unknown-representation"),
    pytest.param({"tile_size": 8}, "tile_size must be at least 64 px", id="tile-too-small"),
    # Found by these tests and closed: each was accepted, or refused with another error.
    pytest.param({"alpha": 0.0, "beta": 0.0}, "must not both be zero", id="alpha-beta-both-0"),
    pytest.param({"style_layer_weights": (0.0,) * 5}, "must not all be zero",
                 id="weights-all-zero"),
    pytest.param({"alpha": "1e-4"}, "alpha must be a finite number", id="alpha-string"),
    pytest.param({"seed": 2**70}, "seed must be",
                 id="seed-too-large"),
    pytest.param({"seed": 0.5}, "seed must be",
                 id="seed-fraction"),
    pytest.param({"init": "/no/such/start.png"}, "init",
                 id="init-missing"),
]


@pytest.mark.parametrize("kwargs, message", API_CASES)
def test_style_options_refuse(kwargs, message):
    with pytest.raises(OptionsError, match=message) as info:
        StyleOptions(**kwargs)
    assert "\n" not in str(info.value)


def test_valid_edge_values_are_accepted():
    """The boundaries the messages state are themselves allowed."""
    StyleOptions(size=MIN_SIDE, scales=1, steps=0, coarse_steps=0, alpha=0.0)
    StyleOptions(style_layers=(), content_layers=("conv4_2",))  # content reconstruction
    StyleOptions(style_layer_weights=(0.0, 0.0, 0.0, 0.0, 1.0), tv_weight=0.0)
    assert StyleOptions(style_layers=("relu1_1",)).layer_weights == {"conv1_1": 1.0}


def test_scale_schedule_halves_down_to_the_floor():
    assert StyleOptions(size=512, scales=3).scale_sizes == (128, 256, 512)
    assert StyleOptions(size=512, scales=6).scale_sizes == (64, 128, 256, 512)
    assert StyleOptions(size=512, scales=1).scale_sizes == (512,)
    assert StyleOptions(size=512, scales=3, steps=7, coarse_steps=9).steps_per_scale == (9, 9, 7)
    per_scale = StyleOptions(size=512, scales=3, steps=7, coarse_steps=(30, 9))
    assert per_scale.steps_per_scale == (30, 9, 7)
    with pytest.raises(OptionsError, match="3 coarse step counts given for 2 coarse scales"):
        StyleOptions(size=512, scales=3, coarse_steps=(1, 2, 3))


def test_a_bare_layer_name_means_that_one_layer():
    assert StyleOptions(content_layers="conv4_2").content_layers == ("conv4_2",)
    assert StyleOptions(style_layers="conv1_1").layer_weights == {"conv1_1": 1.0}


def test_auto_scales_form_the_layout_at_the_same_size_from_512_px_up():
    sizes = {size: StyleOptions(size=size).scale_sizes
             for size in (64, 256, 511, 512, 700, 4096)}
    assert sizes[64] == (64,) and sizes[256] == (256,)  # below 512: the paper's one scale
    assert sizes[511] == (511,)
    assert sizes[512] == (256, 512)
    assert sizes[700] == (350, 700)
    assert sizes[4096] == (256, 512, 1024, 2048, 4096)  # the 512-px picture, refined
    assert StyleOptions(size=4096).steps_per_scale == (40, 45, 23, 12, 6)  # tapered
    assert StyleOptions(size=4096, taper_steps=False).steps_per_scale == (40, 40, 40, 40, 45)
    with pytest.raises(OptionsError, match="'auto', a number or sizes"):
        StyleOptions(scales="many")


def test_taper_steps_falls_with_the_side_from_the_reference_size_up():
    def taper(**kw):
        return StyleOptions(**kw).steps_per_scale  # the default

    assert StyleOptions().taper_steps is True

    assert taper(size=4096) == (40, 45, 23, 12, 6)  # from 512 px: ceil(45 × 512 / side)
    assert taper(size=1024) == (40, 45, 23)
    assert taper(size=512) == (40, 45) and taper(size=256, scales=2) == (40, 45)  # as without
    assert taper(size=700) == (40, 33)  # ceil(45 × 512 / 700)
    assert taper(size=256) == (45,)  # one scale below 512 px: the steps asked for
    assert taper(size=1024, reference_size=1024) == (40, 40, 45)
    assert taper(size=1024, steps=30) == (40, 30, 15)
    explicit = taper(size=1024, scales=(256, 512, 1024), coarse_steps=(7, 9), steps=4)
    assert explicit == (7, 4, 2)  # the given counts below 512 px stay
    # A single scale is the paper's plain method: its steps are the steps asked for.
    assert taper(size=2048, scales=1, steps=200) == (200,)


# ---- style strength ---------------------------------------------------------------------

def test_strength_divides_the_content_weight_and_nothing_else():
    default = StyleOptions()
    assert default.strength == 1.0
    # Strength 1 is exactly the α given (the default look, bit for bit).
    for alpha in (default.alpha, 0.1 + 0.2, 5e-324, 0.0):
        assert StyleOptions(alpha=alpha).content_weight == alpha
    doubled = StyleOptions(strength=2)
    assert doubled.content_weight == default.alpha / 2
    assert (doubled.alpha, doubled.beta) == (default.alpha, default.beta)
    assert doubled.ratio == pytest.approx(default.alpha / default.beta / 2, rel=1e-15)
    quarter = StyleOptions(alpha=3e-4, beta=2.0, strength=0.25)
    assert quarter.content_weight == pytest.approx(1.2e-3) and quarter.ratio == pytest.approx(6e-4)
