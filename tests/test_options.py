"""Invalid parameters are refused up front, by the library and the CLI, saying what is allowed.

"Up front" is checked, not assumed: the CLI cases replace the engine with one that fails the
test if it is ever started, and the engine's own checks must come before the network loads.
"""

from __future__ import annotations

import math

import pytest

import gramscope
from gramscope import cli
from gramscope.errors import OptionsError
from gramscope.image import MIN_SIDE
from gramscope.options import StyleOptions

TINY_RUN = ["--size", "40", "--scales", "1", "--steps", "1", "-q"]
FIVE = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


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
    pytest.param({"normalisation": "batch"}, "normalisation must be one of mean-activation, none",
                 id="unknown-normalisation"),
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


def test_stylize_checks_options_before_touching_the_images(tmp_path):
    """Options are checked first: the missing content file is never even looked at."""
    with pytest.raises(OptionsError, match="steps must be"):
        gramscope.stylize(tmp_path / "missing.png", tmp_path / "missing.png", steps=-3)
    with pytest.raises(OptionsError, match="unknown layer"):
        gramscope.stylize(tmp_path / "missing.png", tmp_path / "missing.png",
                          style_layers=("conv6_1",))


def test_valid_edge_values_are_accepted():
    """The boundaries the messages state are themselves allowed."""
    StyleOptions(size=MIN_SIDE, scales=1, steps=0, coarse_steps=0, alpha=0.0)
    StyleOptions(style_layers=(), content_layers=("conv4_2",))  # content reconstruction
    StyleOptions(style_layer_weights=(0.0, 0.0, 0.0, 0.0, 1.0), tv_weight=0.0)
    assert StyleOptions(style_layers=("relu1_1",)).layer_weights == {"conv1_1": 1.0}


# ---- the CLI ----------------------------------------------------------------------------

@pytest.fixture
def engine_must_not_start(monkeypatch):
    def run(*args, **kwargs):
        raise AssertionError("the run started with an invalid parameter")

    monkeypatch.setattr("gramscope.transfer.run", run)


@pytest.fixture
def network_must_not_load(monkeypatch):
    def load(*args, **kwargs):
        raise AssertionError("the network was loaded before an invalid parameter was refused")

    monkeypatch.setattr("gramscope.device.cached_vgg19", load)


CLI_CASES = [
    pytest.param(["--steps", "-1"], "steps must be a whole number, 0 or more", id="steps<0"),
    pytest.param(["--style-layers", "conv1_1,conv9_1"], "unknown layer 'conv9_1'",
                 id="unknown-layer"),
    pytest.param(["--style-layer-weights", "1,2"], "2 style layer weights given for 5",
                 id="weights-mismatch"),
    pytest.param(["--size", "0"], f"at least {MIN_SIDE}", id="size-0"),
    pytest.param(["--scales", "64,32"], "scales must be increasing", id="scales-decreasing"),
    pytest.param(["--alpha", "nan"], "alpha must be a finite number", id="alpha-nan"),
    pytest.param(["--beta", "inf"], "beta must be a finite number", id="beta-inf"),
    pytest.param(["--beta", "-1"], "beta must be a finite number zero or more", id="beta<0"),
    pytest.param(["--save-every", "-1"], "--save-every must be 0 or more", id="save-every<0"),
    pytest.param(["--checkpoint-every", "-2"], "--checkpoint-every must be 0 or more",
                 id="checkpoint-every<0"),
    pytest.param(["--scales", ""], "scales",
                 id="scales-empty"),
    pytest.param(["--ratio", "-1"], "--ratio", id="ratio<0"),
    pytest.param(["--strength", "0"], "strength must be a finite number more than zero, not 0.0",
                 id="strength-0"),
    pytest.param(["--strength", "nan"], "strength must be a finite number more than zero, "
                 "not nan", id="strength-nan"),
    pytest.param(["--seed", str(2**70)], "seed", id="seed-huge"),
    pytest.param(["--init", "no-such-start.png"], "no-such-start.png", id="init-missing"),
    pytest.param(["--alpha", "0", "--beta", "0"], "zero", id="alpha-beta-0"),
]


@pytest.mark.parametrize("flags, message", CLI_CASES)
def test_cli_refuses_before_the_run(image_files, tmp_path, capsys, engine_must_not_start,
                                    flags, message):
    content, style = image_files
    out = tmp_path / "out.png"
    code = cli.main(["stylize", str(content), str(style), "-o", str(out), *TINY_RUN, *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("gramscope: error:") and err.count("\n") == 1, err
    assert message in err
    assert not out.exists()


@pytest.mark.parametrize("flags, message", [
    pytest.param(["--style-blend", "1,1"], "2 blend weights given for 1 style images",
                 id="blend-mismatch"),
    pytest.param(["--device", "banana"], "unknown device 'banana'; use cpu, cuda, cuda:N or auto",
                 id="unknown-device"),
    pytest.param(["--device", "mps"], "device",
                 id="unavailable-device"),
])
def test_engine_refuses_before_loading_the_network(image_files, tmp_path, capsys,
                                                   network_must_not_load, flags, message):
    """Checks that need the inputs (how many styles, which devices) live in the engine."""
    content, style = image_files
    code = cli.main(["stylize", str(content), str(style), "-o", str(tmp_path / "o.png"),
                     *TINY_RUN, *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("gramscope: error:") and err.count("\n") == 1 and message in err


def test_unknown_choice_is_refused_by_the_parser_with_the_choices(image_files, capsys):
    content, style = image_files
    assert cli.main(["stylize", str(content), str(style), "--optimizer", "sgd"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gramscope: error:") and err.count("\n") == 1, err
    assert "invalid choice: 'sgd'" in err and "lbfgs" in err and "adam" in err


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


def test_ratio_and_alpha_compose_with_strength_on_the_command_line():
    parser = cli.build_parser()

    def options(*flags):
        return cli.options_from_args(parser.parse_args(["stylize", *flags]))

    ratio = options("--ratio", "1e-6", "--beta", "50", "--strength", "4")
    assert ratio.alpha == pytest.approx(5e-5) and ratio.strength == 4.0
    assert ratio.ratio == pytest.approx(2.5e-7)  # α/β given, divided by the strength
    alpha = options("--alpha", "3e-4", "--strength", "2")
    assert alpha.content_weight == pytest.approx(1.5e-4)
    assert options().strength == 1.0 and options().alpha == StyleOptions().alpha


def test_the_same_strength_weighs_content_the_same_at_every_size():
    """The engine's content weight per position (scale_alpha) times the positions it sums
    over: one number at 256 and 512 px for one strength (the reference_size balance), the
    strength's share of it, and four times larger at 512 px with the literal sum."""
    from gramscope.memory import pixels_at
    from gramscope.transfer import scale_alpha

    photo = (1024, 768)

    def weight(size: int, **extra) -> float:
        options = StyleOptions(size=size, **extra)
        final = len(options.scale_sizes) - 1
        pixels = pixels_at(photo, size)
        return scale_alpha(options, photo, final, pixels) * pixels

    reference = pixels_at(photo, StyleOptions().reference_size)
    for strength in (0.5, 2.0):
        at_256, at_512 = weight(256, strength=strength), weight(512, strength=strength)
        assert at_256 == pytest.approx(at_512, rel=1e-12)
        assert at_512 == pytest.approx(StyleOptions().alpha / strength * reference, rel=1e-12)
        literal_256 = weight(256, strength=strength, literal_sum=True)
        literal_512 = weight(512, strength=strength, literal_sum=True)
        assert literal_512 == pytest.approx(4 * literal_256, rel=1e-12)
    assert weight(512, strength=2.0) == pytest.approx(weight(512) / 2, rel=1e-12)
