"""The registry of layer types: spec names (and aliases) to layer classes."""

from __future__ import annotations

from cnnspec.errors import did_you_mean

LAYERS: dict[str, type] = {}
"""Canonical type name -> class."""

_BY_NAME: dict[str, type] = {}
"""Every accepted spelling (type names and aliases) -> class."""


def register(cls):
    """Class decorator adding a layer type; a name or alias used twice is refused, and so is
    an own torch module (``torch_module``) named like another layer type's."""
    if not cls.type_name:
        raise TypeError(f"{cls.__name__} has no type_name")
    for name in (cls.type_name, *cls.aliases):
        if name in _BY_NAME:
            raise TypeError(
                f"layer name '{name}' of {cls.__name__} is already taken by {_BY_NAME[name].__name__}"
            )
    own = cls.torch_module
    if own is not None and own.name in own_modules():
        raise TypeError(f"own module {own.name} of {cls.__name__} is already "
                        f"{own_modules()[own.name].__name__}'s")
    LAYERS[cls.type_name] = cls
    for name in (cls.type_name, *cls.aliases):
        _BY_NAME[name] = cls
    return cls


def own_modules() -> dict:
    """Own torch module name -> the registered layer type that brings it
    (``Layer.torch_module``), from the registry as it is now."""
    return {cls.torch_module.name: cls for cls in LAYERS.values() if cls.torch_module is not None}


def unregister(cls) -> None:
    """Remove a registered layer type with its aliases (a layer type defined for a while, as
    in a test)."""
    if LAYERS.get(cls.type_name) is not cls:
        raise KeyError(f"{cls.__name__} is not registered")
    del LAYERS[cls.type_name]
    for name in (cls.type_name, *cls.aliases):
        if _BY_NAME.get(name) is cls:
            del _BY_NAME[name]


def lookup(name: str):
    """The class for a spec name, or None."""
    return _BY_NAME.get(name)


def all_names() -> list[str]:
    return sorted(_BY_NAME)


def suggest(name: str) -> str | None:
    return did_you_mean(name, _BY_NAME)
