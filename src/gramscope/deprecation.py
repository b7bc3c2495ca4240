"""Old public names kept as deprecated aliases: one way to warn, for every renamed name.

Public identifiers are spelled the American way (``stylize``, ``color``, ``optimizer``,
``normalization``); the British names they replaced still work and warn with a
:class:`DeprecationWarning` that names the new spelling.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Say that ``old`` is deprecated in favour of ``new``; ``stacklevel`` points at the
    caller's line (3: the caller of the function that calls this)."""
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=stacklevel)


def renamed_function(new: F, old: str, keywords: Mapping[str, str] | None = None) -> F:
    """``new`` under its old name ``old``: the same call, with a warning each time; its
    old keywords (``keywords``, old → new) are accepted too."""

    @functools.wraps(new)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warn_renamed(f"{old}()", f"{new.__name__}()")
        return new(*args, **renamed_keywords(kwargs, keywords or {}, old))

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated alias of :func:`{new.__name__}`."
    return alias  # type: ignore[return-value]


def renamed_keywords(
    keywords: dict[str, Any], renames: Mapping[str, str], where: str, *, stacklevel: int = 4,
) -> dict[str, Any]:
    """``keywords`` with each old keyword of ``renames`` (old → new) under its new name,
    warning for each; giving both the old and the new name is a TypeError."""
    upgraded = dict(keywords)
    for old, new in renames.items():
        if old in upgraded:
            if new in upgraded:
                raise TypeError(f"{where} got both {old}= and {new}=; give only {new}=")
            warn_renamed(f"{where}({old}=…)", f"{new}=", stacklevel=stacklevel)
            upgraded[new] = upgraded.pop(old)
    return upgraded


def old_keywords(
    keywords: dict[str, Any], renames: Mapping[str, str], where: str,
) -> dict[str, Any]:
    """For a function that takes ``**keywords`` only to accept its old keyword names:
    ``keywords`` under the new names (``renames``: old → new), warning at its caller; any
    other keyword is the TypeError Python would raise."""
    upgraded = renamed_keywords(keywords, renames, where, stacklevel=5)
    unknown = sorted(set(upgraded) - set(renames.values()))
    if unknown:
        raise TypeError(f"{where}() got an unexpected keyword argument {unknown[0]!r}")
    return upgraded


def module_aliases(module: str, aliases: Mapping[str, Callable[[], Any]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for renamed names: ``aliases`` maps an old name to a function
    returning the object now under its new name; looking the old name up warns."""

    def __getattr__(name: str) -> Any:
        if name in aliases:
            value = aliases[name]()
            warn_renamed(f"{module}.{name}", f"{module}.{value.__name__}")
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
