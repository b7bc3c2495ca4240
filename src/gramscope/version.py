"""The installed package's version, without importing anything heavy."""

from __future__ import annotations


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("gramscope")
    except PackageNotFoundError:
        return "0+unknown"
