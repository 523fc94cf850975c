"""Reading YAML safely while remembering where every value came from.

Mappings become :class:`LDict` and sequences :class:`LList`; both are the plain builtin types
with source positions attached (of the container, of each key and of each value), so any later
error can point at the exact line and column. Scalars stay plain Python values. Only the safe
loader is used (libyaml's when available): no tags that construct objects, no code.
Duplicate keys, which YAML parsers silently overwrite, are an error here.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import Position, SpecStructureError, SpecSyntaxError

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: The largest spec file cnnspec reads; a bigger one is refused before parsing.
MAX_SOURCE_BYTES = 16 * 1024 * 1024


class LDict(dict):
    """A mapping from the spec, with the positions of itself, its keys and its values."""

    __slots__ = ("pos", "key_pos", "value_pos")

    def position(self, key=None) -> Position:
        if key is None:
            return self.pos
        return self.key_pos.get(key, self.pos)

    def value_position(self, key) -> Position:
        return self.value_pos.get(key, self.position(key))


class LList(list):
    """A sequence from the spec, with the position of itself and of each item."""

    __slots__ = ("pos", "item_pos")

    def position(self, index=None) -> Position:
        if index is None or index >= len(self.item_pos):
            return self.pos
        return self.item_pos[index]


def _pos(mark, file: str) -> Position:
    return Position(file, mark.line + 1, mark.column + 1)


class _Loader(_BaseLoader):
    """The safe loader, building position-carrying containers."""

    cnnspec_file = "<spec>"

    def construct_yaml_map(self, node):
        data = LDict()
        data.pos = _pos(node.start_mark, self.cnnspec_file)
        data.key_pos = {}
        data.value_pos = {}
        yield data
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise SpecStructureError(
                    "a mapping key must be a plain value", _pos(key_node.start_mark, self.cnnspec_file)
                ) from None
            if key in data:
                first = data.key_pos[key]
                raise SpecStructureError(
                    f"duplicate key '{key}' (first given at line {first.line})",
                    _pos(key_node.start_mark, self.cnnspec_file),
                    hint="remove one of the two; YAML would silently keep only the last",
                )
            data[key] = self.construct_object(value_node, deep=True)
            data.key_pos[key] = _pos(key_node.start_mark, self.cnnspec_file)
            data.value_pos[key] = _pos(value_node.start_mark, self.cnnspec_file)

    def construct_yaml_seq(self, node):
        data = LList()
        data.pos = _pos(node.start_mark, self.cnnspec_file)
        data.item_pos = [_pos(child.start_mark, self.cnnspec_file) for child in node.value]
        yield data
        data.extend(self.construct_object(child, deep=True) for child in node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_yaml_seq)


def load_yaml(text: str, file: str = "<spec>"):
    """Parse YAML text into plain values with LDict/LList containers. Raises SpecError."""
    if len(text) > MAX_SOURCE_BYTES:
        raise SpecStructureError(
            f"the spec is {len(text):,} bytes; cnnspec reads at most {MAX_SOURCE_BYTES:,}",
            Position(file),
        )
    loader = _Loader(text)
    loader.cnnspec_file = file
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _pos(mark, file) if mark is not None else Position(file)
        problem = exc.problem or exc.context or "invalid YAML"
        context = ""
        if exc.problem and exc.context and exc.context_mark is not None:
            mark = exc.context_mark
            context = f" ({exc.context} at line {mark.line + 1}, column {mark.column + 1})"
        raise SpecSyntaxError(f"invalid YAML: {problem}{context}", pos) from None
    except yaml.YAMLError as exc:
        raise SpecSyntaxError(f"invalid YAML: {exc}", Position(file)) from None
    except RecursionError:
        raise SpecSyntaxError("the YAML is nested too deeply", Position(file)) from None
    finally:
        loader.dispose()


def read_spec_file(path: str | Path):
    """Read and parse a spec file; a missing or unreadable file is a SpecError too."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecStructureError(f"cannot read the spec: {exc.strerror}", Position(str(path))) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecSyntaxError(
            f"the spec is not UTF-8 text (byte {exc.start})", Position(str(path))
        ) from None
    return load_yaml(text, str(path))
