"""Every public module imports, and the package says what it exports."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import gramscope


def test_every_module_imports():
    names = [m.name for m in pkgutil.walk_packages(gramscope.__path__, "gramscope.")]
    assert "gramscope.losses" in names and "gramscope.transfer" in names
    for name in names:
        if name == "gramscope.__main__":
            continue
        importlib.import_module(name)


def test_all_is_the_lazy_export_table():
    """``__all__`` and the table ``__getattr__`` reads name the same things, once each."""
    exports = gramscope._EXPORTS
    assert len(gramscope.__all__) == len(set(gramscope.__all__))
    assert set(gramscope.__all__) == set(exports)
    assert set(exports) <= set(dir(gramscope))


@pytest.mark.parametrize("name", gramscope.__all__)
def test_each_export_is_the_documented_object_of_the_module_it_names(name):
    module = importlib.import_module(f"gramscope.{gramscope._EXPORTS[name]}")
    value = getattr(gramscope, name)
    assert value is getattr(module, name)
    # Defined there, not re-exported from somewhere else under the table's module name.
    assert value.__module__ == module.__name__
    doc = inspect.getdoc(value) or ""
    # A dataclass without a docstring gets its signature as __doc__: that is not documentation.
    assert doc.strip() and not doc.startswith(f"{name}("), f"{name} has no docstring"


def test_type_checkers_see_the_same_exports():
    """The ``if TYPE_CHECKING:`` imports must import each export from the table's module."""
    tree = ast.parse(inspect.getsource(gramscope))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    imported = {alias.name: node.module for node in block.body
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert imported == gramscope._EXPORTS


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'stylise'"):
        gramscope.stylise  # noqa: B018


def test_importing_the_package_does_not_load_torch():
    """The point of the lazy table: ``gramscope --help`` does not wait for PyTorch."""
    code = "import sys, gramscope; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=None)
    assert out.stdout.strip() == "False"
