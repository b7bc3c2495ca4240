"""One spelling for public names (American), and the British names before it as aliases.

Every public name is checked against the convention, and every deprecated alias must warn
and still do what the new name does.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re

import pytest
import torch

import gramscope
import gramscope.explain
from gramscope.checkpoint import Checkpoint
from gramscope.cli import build_parser
from gramscope.options import StyleOptions

#: A British spelling inside an identifier: -ise, -isation, -iser (and their inflections)
#: or colour. "noise" and "precise" end in -ise in American English too.
BRITISH = re.compile(r"(?i)(?<!no)(?<!prec)is(e|ation|er)|colour")
#: The old CLI spellings, kept as deprecated aliases (hidden from the help).
DEPRECATED_CLI = {"--normalisation", "--normalise", "--optimisers", "optimisers"}

OLD_NORMALIZATION = {"normalisation": "none"}


def _cli_names(parser: argparse.ArgumentParser, path: str = "gramscope") -> dict[str, str]:
    """Every flag and subcommand name (aliases too) of ``parser`` and its subparsers, each
    with where it was found."""
    names: dict[str, str] = {}
    for action in parser._actions:
        for flag in action.option_strings:
            names[flag] = path
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action._name_parser_map.items():
                names[name] = path
                names.update(_cli_names(sub, f"{path} {name}"))
    return names


def _python_names() -> dict[str, str]:
    """Public names, each with where it was found: both ``__all__`` lists, the fields of
    StyleOptions and of every exported dataclass, and every parameter of every exported
    function and class."""
    names: dict[str, str] = {}
    for module in (gramscope, gramscope.explain):
        for name in module.__all__:
            names[name] = module.__name__
            value = getattr(module, name)
            if dataclasses.is_dataclass(value):
                names.update((f.name, name) for f in dataclasses.fields(value))
            if callable(value):
                try:
                    parameters = inspect.signature(value).parameters
                except (TypeError, ValueError):
                    continue
                names.update((p, name) for p in parameters)
    names.update((f.name, "StyleOptions") for f in dataclasses.fields(StyleOptions))
    return names


def test_the_pattern_catches_british_and_passes_american_spellings():
    for british in ("normalisation", "synthesise_style", "OptimiserRace", "--optimisers",
                    "colour", "summarise"):
        assert BRITISH.search(british), british
    for american in ("normalization", "synthesize_style", "OptimizerRace", "color",
                     "noise", "precise", "stylize", "style_synthesis_options"):
        assert not BRITISH.search(american), american


def test_public_python_names_are_spelled_the_american_way():
    british = {name: where for name, where in _python_names().items() if BRITISH.search(name)}
    assert british == {}


def test_cli_flags_and_subcommands_are_spelled_the_american_way():
    names = _cli_names(build_parser())
    assert "--normalization" in names and "optimizers" in names  # the walk reached them
    british = {name: where for name, where in names.items() if BRITISH.search(name)}
    assert set(british) == DEPRECATED_CLI, british


# ---- the deprecated aliases ----------------------------------------------------------------

def test_the_old_field_name_is_a_deprecated_keyword_and_attribute():
    with pytest.warns(DeprecationWarning, match=r"StyleOptions\(normalisation=…\)"):
        old = StyleOptions(**OLD_NORMALIZATION)
    assert old == StyleOptions(normalization="none")
    with pytest.warns(DeprecationWarning, match="replace"):
        assert StyleOptions().replace(**OLD_NORMALIZATION) == old
    with pytest.warns(DeprecationWarning, match="use StyleOptions.normalization"):
        assert old.normalisation == "none"
    assert "normalisation" not in old.to_dict() and old.to_dict()["normalization"] == "none"
    with pytest.raises(TypeError, match="both"):
        StyleOptions(normalization="none", **OLD_NORMALIZATION)
    from gramscope.layers import Normalisation, Normalization
    assert Normalisation is Normalization


def test_old_option_dictionaries_are_read_under_the_new_names():
    values = StyleOptions(normalization="none").to_dict()
    old = {("normalisation" if k == "normalization" else k): v for k, v in values.items()}
    assert StyleOptions.upgrade_dict(old) == values
    assert StyleOptions.upgrade_dict(values) == values
    # A checkpoint an earlier release saved resumes with the same options (the resumed
    # picture itself: test_checkpoint.py), and still refuses other ones.
    state = Checkpoint(old, 0, 1, 1, 0.5, torch.zeros(1, 3, 2, 2), {}, None, 1.0).to_dict()
    checkpoint = Checkpoint.from_dict(state)
    assert checkpoint.options == values
    checkpoint.check(StyleOptions(normalization="none"))
    with pytest.raises(gramscope.GramscopeError, match="normalization"):
        checkpoint.check(StyleOptions())
    Checkpoint(**{**state, "options": old}).check(StyleOptions(normalization="none"))


def test_load_vgg19_takes_the_old_keyword_with_a_warning():
    new = gramscope.load_vgg19(normalization="none")
    with pytest.warns(DeprecationWarning, match=r"load_vgg19\(normalisation=…\)"):
        old = gramscope.load_vgg19(**OLD_NORMALIZATION)
    assert torch.equal(old.conv_weight("conv3_1")[0], new.conv_weight("conv3_1")[0])
    with pytest.raises(TypeError, match="unexpected keyword argument 'pooling_mode'"):
        gramscope.load_vgg19(pooling_mode="avg")


def test_old_cli_spellings_still_parse_and_say_they_are_deprecated(capsys):
    parser = build_parser()
    args = parser.parse_args(["stylize", "--normalisation", "none"])
    assert args.normalization == "none"
    assert "--normalisation is deprecated; use --normalization" in capsys.readouterr().err
    assert parser.parse_args(["stylize"]).normalization == "mean-activation"
    args = parser.parse_args(["explain", "features", "tubingen", "--normalise", "layer"])
    assert args.normalize == "layer"
    assert "--normalise is deprecated; use --normalize" in capsys.readouterr().err
    args = parser.parse_args(["explain", "report", "tubingen", "starry_night", "--optimisers"])
    assert args.optimizers is True
    assert "--optimisers is deprecated" in capsys.readouterr().err
    old, new = (parser.parse_args(["explain", view, "tubingen", "starry_night"])
                for view in ("optimisers", "optimizers"))
    assert old.handler is new.handler and old.handler.__name__ == "cmd_optimizers"
    # Hidden from the help, which names the new spellings only.
    stylize = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
                   ).choices["stylize"]
    assert "--normalization" in stylize.format_help()
    assert "--normalisation" not in stylize.format_help()


def test_old_explain_names_import_and_warn():
    from gramscope.explain.optimisers import OptimizerRace

    for module in (gramscope.explain, gramscope.explain.optimisers):
        with pytest.warns(DeprecationWarning, match="OptimizerRace"):
            assert module.OptimiserRace is OptimizerRace
    from gramscope.explain import compare_optimisers, synthesise_style  # importable, silent

    assert compare_optimisers.__name__ == "compare_optimisers"
    assert synthesise_style.__name__ == "synthesise_style"
    for old in ("OptimiserRace", "compare_optimisers", "synthesise_style"):
        assert old not in gramscope.explain.__all__
    with pytest.raises(AttributeError):
        gramscope.explain.no_such_name  # noqa: B018
    from gramscope.explain.features import FEATURES_SETTINGS

    with pytest.warns(DeprecationWarning, match="FeaturesSettings.normalize"):
        assert FEATURES_SETTINGS.normalise == FEATURES_SETTINGS.normalize == "channel"


def test_write_report_takes_optimisers_with_a_warning(tmp_path):
    """The keyword reaches the request check, which runs before any work: with masks the
    optimiser comparison is refused, so the old keyword must have turned it on."""
    from gramscope.errors import OptionsError

    with pytest.warns(DeprecationWarning, match=r"write_report\(optimisers=…\)"), \
            pytest.raises(OptionsError, match="the optimisers run unmasked"):
        gramscope.explain.write_report("tubingen", ["starry_night"], tmp_path / "r",
                                       compare=False, optimisers=True, masks=["m.png"])
    with pytest.raises(TypeError, match="unexpected keyword argument 'optimisrs'"):
        gramscope.explain.write_report("tubingen", "starry_night", tmp_path / "r",
                                       optimisrs=True)


@pytest.mark.slow
def test_old_explain_functions_warn_and_give_the_same_result(vgg, tiny_content, tiny_style):
    from gramscope.explain import (
        compare_optimisers,
        compare_optimizers,
        feature_grid,
        synthesise_style,
        synthesize_style,
    )

    options = StyleOptions(size=32, scales=1, steps=2)
    with pytest.warns(DeprecationWarning, match=r"synthesise_style\(\) is deprecated"):
        old = synthesise_style(tiny_style, ["conv1_1"], options, net=vgg)
    new = synthesize_style(tiny_style, ["conv1_1"], options, net=vgg)
    assert old.image.tobytes() == new.image.tobytes()
    with pytest.warns(DeprecationWarning, match=r"compare_optimisers\(\) is deprecated"), \
            pytest.warns(DeprecationWarning, match=r"optimisers=…"):
        race = compare_optimisers(tiny_content, tiny_style, options, optimisers=("gd",),
                                  net=vgg)
    again = compare_optimizers(tiny_content, tiny_style, options, optimizers=("gd",), net=vgg)
    assert type(race) is type(again) and list(race.panels) == ["gd"]
    assert race.panels["gd"].image.tobytes() == again.panels["gd"].image.tobytes()
    with pytest.warns(DeprecationWarning, match=r"feature_grid\(normalise=…\)"):
        grid = feature_grid(tiny_content, "conv1_1", count=2, size=32, normalise="layer",
                            net=vgg)
    assert torch.equal(grid.maps, feature_grid(tiny_content, "conv1_1", count=2, size=32,
                                               normalize="layer", net=vgg).maps)
    with pytest.warns(DeprecationWarning, match="FeatureGrid.normalize"):
        assert grid.normalise == grid.normalize == "layer"
