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

from .dims import gc_paused
from .errors import Position, SpecStructureError, SpecSyntaxError

# The (C, when available) parser and composer, with no implicit type resolution: plain scalars
# are resolved by _Converter, faster, with the safe loader's rules.
_BaseLoader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

#: The largest spec file cnnspec reads; a bigger one is refused before parsing.
MAX_SOURCE_BYTES = 16 * 1024 * 1024


def _place(mark, file: str) -> Position:
    """A Position from a parser mark (kept as is until an error needs it), or a Position."""
    if isinstance(mark, Position):
        return mark
    return Position(file, mark.line + 1, mark.column + 1)


class LDict(dict):
    """A mapping from the spec, with the positions of itself, its keys and its values.
    Positions are kept as the parser's marks and made into Positions only when asked for."""

    __slots__ = ("pos", "key_pos", "value_pos", "file")

    @classmethod
    def at(cls, pos: Position) -> LDict:
        """An empty mapping standing at ``pos`` (for settings a spec leaves out)."""
        mapping = cls()
        mapping.pos, mapping.key_pos, mapping.value_pos, mapping.file = pos, {}, {}, pos.file
        return mapping

    def position(self, key=None) -> Position:
        if key is None or key not in self.key_pos:
            return self.pos
        return _place(self.key_pos[key], self.file)

    def value_position(self, key) -> Position:
        if key not in self.value_pos:
            return self.position(key)
        return _place(self.value_pos[key], self.file)


class LList(list):
    """A sequence from the spec, with the position of itself and of each item."""

    __slots__ = ("pos", "item_pos", "file")

    @classmethod
    def of(cls, items: list, pos: Position) -> LList:
        """A list of ``items`` all standing at ``pos``."""
        made = cls(items)
        made.pos, made.item_pos, made.file = pos, [pos] * len(items), pos.file
        return made

    def position(self, index=None) -> Position:
        if index is None or index >= len(self.item_pos):
            return self.pos
        return _place(self.item_pos[index], self.file)


def _pos(mark, file: str) -> Position:
    return Position(file, mark.line + 1, mark.column + 1)


_STR = "tag:yaml.org,2002:str"
_PLAIN = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    "yes": True, "Yes": True, "YES": True, "no": False, "No": False, "NO": False,
    "on": True, "On": True, "ON": True, "off": False, "Off": False, "OFF": False,
}
_CORE_TAGS = {"tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null")}


class _Converter:
    """Turns the node tree composed by the (C) parser into values with positions.

    Plain scalars are resolved like PyYAML's safe loader (a fast path for the common cases,
    PyYAML's own resolver and constructor for the rest); quoted ones stay strings. Nodes
    reached through aliases are converted once and shared, so aliases never multiply work."""

    def __init__(self, file: str):
        self.file = file
        self.memo: dict[int, object] = {}
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()

    def convert(self, node):
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        file = self.file
        if node.tag not in ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
            raise SpecSyntaxError(f"YAML tag {node.tag!r} is not supported in specs",
                                  _pos(node.start_mark, file),
                                  hint="specs hold plain numbers, text, lists and mappings")
        if isinstance(node, yaml.SequenceNode):
            items = LList()
            self.memo[key] = items
            items.pos, items.file = _pos(node.start_mark, file), file
            items.item_pos = [child.start_mark for child in node.value]
            items.extend(self.convert(child) for child in node.value)
            return items
        mapping = LDict()
        self.memo[key] = mapping
        mapping.pos, mapping.file = _pos(node.start_mark, file), file
        mapping.key_pos, mapping.value_pos = {}, {}
        for key_node, value_node in self._entries(node):
            name = self.convert(key_node)
            try:
                hash(name)
            except TypeError:
                raise SpecStructureError("a mapping key must be a plain value",
                                         _pos(key_node.start_mark, file)) from None
            if name in mapping:
                raise SpecStructureError(
                    f"duplicate key '{name}' (first given at line {mapping.position(name).line})",
                    _pos(key_node.start_mark, file),
                    hint="remove one of the two; YAML would silently keep only the last",
                )
            mapping[name] = self.convert(value_node)
            mapping.key_pos[name] = key_node.start_mark
            mapping.value_pos[name] = value_node.start_mark
        return mapping

    def _entries(self, node):
        """The mapping's entries, with YAML merge keys (``<<: *base``) expanded first."""
        merged, own = [], []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or (
                isinstance(key_node, yaml.ScalarNode) and key_node.value == "<<" and not key_node.style
            ):
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise SpecStructureError("a merge key (<<) takes mappings",
                                                 _pos(value_node.start_mark, self.file))
                    merged.extend(self._entries(source))
            else:
                own.append((key_node, value_node))
        if not merged:
            return own
        keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        return [(k, v) for k, v in merged if getattr(k, "value", None) not in keys] + own

    def scalar(self, node):
        value, tag = node.value, node.tag
        if tag not in _CORE_TAGS:
            raise SpecSyntaxError(f"YAML tag {tag!r} is not supported in specs",
                                  _pos(node.start_mark, self.file),
                                  hint="specs hold plain numbers, text, lists and mappings")
        if node.style:  # quoted or block scalar: text, unless tagged otherwise
            return value if tag == _STR else self._construct(node, tag)
        if tag == _STR:
            if value in _PLAIN:
                return _PLAIN[value]
            if value.isdigit() and (value[0] != "0" or value == "0"):
                return int(value)
            tag = self._resolver.resolve(yaml.ScalarNode, value, (True, False))
            if tag == _STR:
                return value
        return self._construct(node, tag)

    def _construct(self, node, tag: str):
        node = yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark)
        try:
            return self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError) as exc:
            raise SpecSyntaxError(f"invalid {tag.rsplit(':', 1)[-1]}: {node.value!r} ({exc})",
                                  _pos(node.start_mark, self.file)) from None


def load_yaml(text: str, file: str = "<spec>"):
    """Parse YAML text into plain values with LDict/LList containers. Raises SpecError."""
    if len(text) > MAX_SOURCE_BYTES:
        raise SpecStructureError(
            f"the spec is {len(text):,} bytes; cnnspec reads at most {MAX_SOURCE_BYTES:,}",
            Position(file),
        )
    try:
        with gc_paused():
            node = yaml.compose(text, Loader=_BaseLoader)
            return None if node is None else _Converter(file).convert(node)
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
