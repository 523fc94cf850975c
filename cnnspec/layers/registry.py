"""The registry of layer types: spec names (and aliases) to layer classes."""

from __future__ import annotations

from cnnspec.errors import did_you_mean

LAYERS: dict[str, type] = {}
"""Canonical type name -> class."""

_BY_NAME: dict[str, type] = {}
"""Every accepted spelling (type names and aliases) -> class."""


def register(cls):
    """Class decorator adding a layer type; a name or alias used twice is refused."""
    if not cls.type_name:
        raise TypeError(f"{cls.__name__} has no type_name")
    for name in (cls.type_name, *cls.aliases):
        if name in _BY_NAME:
            raise TypeError(
                f"layer name '{name}' of {cls.__name__} is already taken by {_BY_NAME[name].__name__}"
            )
    LAYERS[cls.type_name] = cls
    for name in (cls.type_name, *cls.aliases):
        _BY_NAME[name] = cls
    return cls


def lookup(name: str):
    """The class for a spec name, or None."""
    return _BY_NAME.get(name)


def all_names() -> list[str]:
    return sorted(_BY_NAME)


def suggest(name: str) -> str | None:
    return did_you_mean(name, _BY_NAME)
