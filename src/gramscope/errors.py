"""The one exception type that user-facing faces turn into a one-line message."""

from __future__ import annotations


class GramscopeError(Exception):
    """A problem with the user's input or environment, explained in one line.

    The CLI prints ``gramscope: error: <message>`` and exits non-zero; the library
    raises it as is. Anything else escaping is a bug.
    """


class InputImageError(GramscopeError):
    """An image that cannot be used: missing, unreadable, too small, too large."""


class WeightsError(GramscopeError):
    """A network weights file that is missing, corrupt or of an unknown format."""


class OptionsError(GramscopeError, ValueError):
    """A parameter outside what is allowed."""
