"""gramscope.stylize, the library face: what it checks before it starts."""

from __future__ import annotations

import pytest

import gramscope
from gramscope.errors import OptionsError


def test_stylize_checks_options_before_touching_the_images(tmp_path):
    """Options are checked first: the missing content file is never even looked at."""
    with pytest.raises(OptionsError, match="steps must be"):
        gramscope.stylize(tmp_path / "missing.png", tmp_path / "missing.png", steps=-3)
    with pytest.raises(OptionsError, match="unknown layer"):
        gramscope.stylize(tmp_path / "missing.png", tmp_path / "missing.png",
                          style_layers=("conv6_1",))
