"""The names a generated file uses: the ones it keeps for itself (``torch``, ``nn``, the own
modules it may define, Python's builtins) and class names made from the spec's names."""

from __future__ import annotations

import builtins
import keyword
import re

from cnnspec.layers.registry import own_modules as registered_own_modules
from cnnspec.util.names import is_identifier

#: names the generated code uses itself (never a class, argument or parameter name), besides
#: the own modules it may define (``own_modules``)
RESERVED = frozenset({"self", "nn", "torch", "OrderedDict", "super", "int", "float", "x", "out",
                      "annotations"})
#: Python's builtins (True, None, Exception, super, …): no class is named after one
BUILTINS = frozenset(dir(builtins))


def own_modules() -> dict:
    """Name -> ``OwnModule`` of the registered layer types whose own module a generated file
    defines (those not ``emitted_inline``), from the registry as it is now. The file holds
    the very source the builder compiles; the names are never used for anything else."""
    return {name: cls.torch_module for name, cls in registered_own_modules().items()
            if not cls.emitted_inline}


def reserved() -> frozenset:
    """Every name the generated file may use itself."""
    return RESERVED | set(own_modules())


def camel(name: str, suffix: str = "Block") -> str:
    """``basic_conv`` -> ``BasicConv``: an ASCII class name that shadows nothing the file uses
    (``none`` -> ``NoneBlock``, ``ordered_dict`` -> ``OrderedDictBlock``)."""
    text = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", str(name)) if p)
    text = text if text[:1].isalpha() else suffix + text
    return text + suffix if not usable_class_name(text) else text


def usable_class_name(name: str) -> bool:
    """A name the emitted file can give a class: an identifier that is no keyword, builtin or
    name the file uses itself, and does not start with __ (mangled inside a class body)."""
    return identifier(name) and name not in reserved() and name not in BUILTINS


def identifier(name: str) -> bool:
    """Usable as written in the emitted source (``self.name``, a parameter): an identifier, no
    keyword, and not starting with ``__``, which Python mangles inside a class body."""
    return is_identifier(name) and not keyword.iskeyword(name) and not name.startswith("__")
