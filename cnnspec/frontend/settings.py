"""Reading one layer item's settings (``- conv2d: {out: 64, kernel: 3}``) into a checked
layer: each setting by its attribute's kind, expressions evaluated in the item's scope, the
combination validated by the layer, every error at the setting's position."""

from __future__ import annotations

from cnnspec.errors import Position, SpecStructureError, UnknownNameError, did_you_mean
from cnnspec.frontend import expr
from cnnspec.frontend.scope import NODE_KEYS, evaluate
from cnnspec.frontend.source import LDict
from cnnspec.layers.base import AttrValueError


def names_used(texts: list) -> tuple:
    """The names the expressions among a mapping's values use; None for one that does not
    parse (its error is raised where it is read)."""
    names: set = set()
    for text in texts:
        try:
            names |= expr.free_names(text)
        except expr.ExprError:
            return None
    return tuple(sorted(names))


def read_layer(cls, type_name: str, body, body_pos: Position, pos: Position, values):
    """Read an item's settings into a checked layer of class ``cls``."""
    here = f"{pos.path}.{type_name}"
    if body is None:
        body = {}
    elif not isinstance(body, LDict):
        if cls.shorthand is None:
            raise SpecStructureError(
                f"{type_name} takes a mapping of settings, not {body!r}", body_pos.at(here),
                hint=example(cls),
            )
        body = {cls.shorthand: body}
    reader = _Places(body, body_pos, here)
    values_out = _attr_values(cls, type_name, body, values, reader)
    missing = [a.name for a in cls.attrs if a.required and a.name not in values_out]
    if missing:
        raise SpecStructureError(f"{type_name} needs {' and '.join(missing)}", pos, hint=example(cls))
    layer = cls(**values_out)
    by_name = cls.attr_spellings()
    texts = {by_name[k].name: v for k, v in body.items() if isinstance(v, str) and k in by_name}
    if texts:
        layer.spec_text = texts
    try:
        layer.validate()
    except AttrValueError as exc:
        at = pos
        if exc.attr and isinstance(body, LDict):
            for key in body:
                if key in by_name and by_name[key].name == exc.attr:
                    at = reader.value(key)
        raise SpecStructureError(f"{type_name}: {exc.message}", at) from None
    return layer


class _Places:
    """Where an item's settings are written, for messages."""

    def __init__(self, body, body_pos: Position, here: str):
        self.body, self.body_pos, self.here = body, body_pos, here
        self.is_ldict = isinstance(body, LDict)

    def key(self, key) -> Position:
        if self.is_ldict:
            return self.body.position(key).at(f"{self.here}.{key}")
        return self.body_pos.at(self.here)

    def value(self, key) -> Position:
        if self.is_ldict:
            return self.body.value_position(key).at(f"{self.here}.{key}")
        return self.key(key)


def _attr_values(cls, type_name: str, body, values, places: _Places) -> dict:
    """Each setting read by its attribute's kind, expressions evaluated in ``values``."""
    by_name = cls.attr_spellings()
    values_out: dict = {}
    for key, raw in body.items():
        if key in NODE_KEYS:
            continue
        attr = by_name.get(key)
        if attr is None:
            raise UnknownNameError(
                f"{type_name} has no setting '{key}'", places.key(key),
                hint=did_you_mean(str(key), [*by_name, *NODE_KEYS]) or (
                    f"{type_name} settings: " + ", ".join(a.name for a in cls.attrs)
                    if cls.attrs else f"{type_name} takes no settings"
                ),
            )
        if attr.name in values_out:
            raise SpecStructureError(f"{attr.name} is given twice (as '{key}')", places.key(key))
        if isinstance(raw, str) and isinstance(values.get(raw.strip()), tuple):
            raw = list(values[raw.strip()])  # a list argument (kernel: [1, 7]) given by name
        try:
            values_out[attr.name] = attr.kind.parse(
                raw, lambda text, key=key: evaluate(text, values, places.value(key))
            )
        except AttrValueError as exc:
            raise SpecStructureError(f"{type_name} {attr.name}: {exc.message}", places.value(key),
                                     hint=f"{attr.name} takes {attr.kind.name}") from None
    return values_out


def example(cls) -> str:
    required = [a for a in cls.attrs if a.required]
    if not required:
        return f"e.g. '- {cls.type_name}'"
    sample = {"out": 64, "kernel": 3, "output_size": 1}
    inner = ", ".join(f"{a.name}: {sample.get(a.name, 1)}" for a in required)
    return f"e.g. '- {cls.type_name}: {{{inner}}}'"
