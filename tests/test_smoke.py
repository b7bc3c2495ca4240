"""Every public module imports, and the package says what it exports."""

from __future__ import annotations

import importlib
import pkgutil

import gramscope


def test_every_module_imports():
    names = [m.name for m in pkgutil.walk_packages(gramscope.__path__, "gramscope.")]
    assert "gramscope.losses" in names and "gramscope.transfer" in names
    for name in names:
        if name == "gramscope.__main__":
            continue
        importlib.import_module(name)


def test_public_api():
    for name in gramscope.__all__:
        assert hasattr(gramscope, name), name
