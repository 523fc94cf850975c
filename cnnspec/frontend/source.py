"""Reading YAML safely while remembering where every value came from.

Mappings become :class:`LDict` and sequences :class:`LList`; both are the plain builtin types
with source positions attached (of the container, of each key and of each value), so any later
error can point at the exact line and column. Scalars stay plain Python values. Only the safe
loader is used (libyaml's when available): no tags that construct objects, no code.
Duplicate keys, which YAML parsers silently overwrite, are an error here.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import yaml

from cnnspec.errors import BudgetError, Position, SpecStructureError, SpecSyntaxError
from cnnspec.util.dims import gc_paused

# The (C, when available) parser and composer, with no implicit type resolution: plain scalars
# are resolved by _Converter, faster, with the safe loader's rules.
_BaseLoader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

#: The largest spec file cnnspec reads (bytes); a bigger one is refused while reading, before
#: parsing. At this size the densest YAML (a flow list of one-digit numbers) still loads in well
#: under a second and 200 MB.
MAX_SOURCE_BYTES = 1024 * 1024
#: The deepest nesting of YAML lists and mappings.
MAX_YAML_DEPTH = 256
#: How many entries YAML merge keys (``<<``) may copy in one spec, in all.
MAX_MERGED_ENTRIES = 100_000
#: The largest integer (in absolute value) a spec may write; the same bound as expressions'.
MAX_INT = 2**62


def _place(mark, file: str) -> Position:
    """A Position from a packed (line, column) int (kept as is until an error needs it), or a
    Position."""
    if type(mark) is int:
        return Position(file, (mark >> 32) + 1, (mark & 0xFFFFFFFF) + 1)
    return mark


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
_CONTAINER_TAGS = {None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")


class _Refused(Exception):
    """A value the loader refuses; raised while building, turned into a positioned SpecError
    (with the key path) by the builder."""

    def __init__(self, message: str, hint: str | None = None, cls=SpecStructureError):
        super().__init__(message)
        self.message, self.hint, self.cls = message, hint, cls


def _check_int(text: str, value: int) -> int:
    """A YAML integer as cnnspec accepts it: decimal, and of a size that keeps arithmetic
    cheap (YAML 1.1 also reads 0x1F, 017, 0b101 and 1:30 as numbers: refused, as surprises)."""
    digits = text.lstrip("+-").replace("_", "")
    base = ("hexadecimal" if digits[:2] in ("0x", "0X") else "binary" if digits[:2] in ("0b", "0B")
            else "sexagesimal (base 60)" if ":" in digits
            else "octal" if len(digits) > 1 and digits[0] == "0" else None)
    if base is not None:
        article = "an" if base[0] == "o" else "a"
        raise _Refused(f"{text!r} is {article} {base} number in YAML 1.1 (it reads as {value})",
                       hint=f"write numbers in decimal ({value}), or quote the text")
    if abs(value) > MAX_INT:
        raise _Refused(f"the number {digits[:12]}… ({len(digits)} digits) is too large; "
                       f"cnnspec takes integers up to 2^62 in size", hint="use a smaller value")
    return value


def _check_float(text: str, value: float) -> float:
    if value != value or value in (_INF, -_INF):
        raise _Refused(f"{text!r} is not a finite number", hint="give a finite number")
    if _SEXAGESIMAL.fullmatch(text):
        raise _Refused(f"{text!r} is a sexagesimal (base 60) number in YAML 1.1 (it reads as {value:g})",
                       hint="write numbers in decimal, or quote the text")
    return value


_INF = float("inf")


class _Builder:
    """Builds LDict/LList values from the (C) parser's event stream, without recursion.

    Plain scalars are resolved like PyYAML's safe loader (a fast path for the common cases,
    PyYAML's own resolver and constructor for the rest); quoted ones stay strings. A node
    reached through an alias is the same object as its anchor, so aliases never multiply work
    here (the spec's expansion budget counts what they expand to). Merge keys (``<<: *base``)
    copy entries; how many they copy in all is bounded (MAX_MERGED_ENTRIES). Positions are kept
    as packed ints (line, column) until an error needs them."""

    def __init__(self, file: str):
        self.file = file
        self.anchors: dict[str, object] = {}
        self.merged = 0
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()

    # ------------------------------------------------------------------ errors and paths
    def _path(self, stack) -> str:
        parts = []
        for frame in stack:
            container = frame[0]
            if isinstance(container, LList):
                parts.append(f"[{len(container)}]")
            elif frame[1] is not _NO_KEY:
                key = "<<" if frame[1] is _MERGE else str(frame[1])
                parts.append(("." if parts else "") + key)
        if len(parts) > 12:  # a deep path: its start and its end
            parts = [*parts[:6], ".…" if parts[-6].startswith(".") else "…", *parts[-6:]]
        return "".join(parts)

    def _refuse(self, exc: _Refused, mark, stack, key_text: str | None = None):
        path = self._path(stack)
        if key_text is not None:
            path = f"{path}.{key_text}" if path else key_text
        return exc.cls(exc.message, _pos(mark, self.file).at(path), hint=exc.hint)

    # ------------------------------------------------------------------ scalars
    def scalar(self, event):
        value, tag = event.value, event.tag
        if tag is None or tag == "!":
            if event.style:  # quoted or block scalar: text
                return value
            if value in _PLAIN:
                return _PLAIN[value]
            if value.isascii() and value.isdigit() and len(value) < 19 and (value[0] != "0" or value == "0"):
                return int(value)
            tag = self._resolver.resolve(yaml.ScalarNode, value, (True, False))
            if tag == _STR:
                return value
        elif tag not in _CORE_TAGS:
            raise _Refused(f"YAML tag {tag!r} is not supported in specs",
                           hint="specs hold plain numbers, text, lists and mappings", cls=SpecSyntaxError)
        elif tag == _STR:
            return value
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
        kind = tag.rsplit(":", 1)[-1]
        if kind == "int" and len(value) > 40:
            raise _Refused(f"the number {value[:12]}… ({len(value)} characters) is too large; "
                           "cnnspec takes integers up to 2^62 in size", hint="use a smaller value")
        try:
            result = self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise _Refused(f"invalid {kind}: {value!r} ({exc})", cls=SpecSyntaxError) from None
        if kind == "int":
            return _check_int(value, result)
        if kind == "float":
            return _check_float(value, result)
        return result

    # ------------------------------------------------------------------ the document
    def build(self, next_event):
        """The value of the stream's only document (None for an empty stream); ``next_event``
        returns the parser's events one by one."""
        next_event()  # StreamStartEvent
        event = next_event()
        if isinstance(event, yaml.StreamEndEvent):
            return None
        root = self._document(next_event)
        event = next_event()
        if not isinstance(event, yaml.StreamEndEvent):
            raise SpecSyntaxError("invalid YAML: expected a single document in the stream, but found "
                                  "another document", _pos(event.start_mark, self.file))
        return root

    def _document(self, next_event):
        file = self.file
        #: the open containers: [container, pending key, key mark, merge sources, merge mark]
        stack: list = []
        frame = container = None
        in_list = False
        anchors = self.anchors
        result = _NO_KEY
        plain, scalar_event, alias_event = _PLAIN, yaml.ScalarEvent, yaml.AliasEvent
        starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
        ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
        while True:
            event = next_event()
            kind = type(event)
            merge_key = False
            if kind is scalar_event:
                value = event.value
                plain_untagged = event.tag is None and not event.style
                if plain_untagged and value in plain:
                    value = plain[value]
                elif (plain_untagged and value.isdigit() and value.isascii() and len(value) < 19
                      and (value[0] != "0" or value == "0")):
                    value = int(value)
                elif (plain_untagged and value == "<<") or event.tag == _MERGE_TAG:
                    merge_key = True
                else:
                    try:
                        value = self.scalar(event)
                    except _Refused as exc:
                        key_text = event.value if frame is not None and not in_list and frame[1] is _NO_KEY \
                            else None
                        raise self._refuse(exc, event.start_mark, stack, key_text) from None
                if event.anchor is not None:
                    anchors[event.anchor] = value  # YAML allows an anchor to be redefined
                mark = event.start_mark
                mark = (mark.line << 32) | mark.column
            elif kind is alias_event:
                if event.anchor not in anchors:
                    raise SpecSyntaxError(f"invalid YAML: found undefined alias '{event.anchor}'",
                                          _pos(event.start_mark, file).at(self._path(stack)))
                value = anchors[event.anchor]
                mark = event.start_mark
                mark = (mark.line << 32) | mark.column
            elif kind in starts:
                mark = event.start_mark
                if event.tag not in _CONTAINER_TAGS:
                    raise SpecSyntaxError(f"YAML tag {event.tag!r} is not supported in specs",
                                          _pos(mark, file).at(self._path(stack)),
                                          hint="specs hold plain numbers, text, lists and mappings")
                if len(stack) >= MAX_YAML_DEPTH:
                    raise SpecSyntaxError(f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep",
                                          _pos(mark, file).at(self._path(stack)))
                in_list = kind is yaml.SequenceStartEvent
                if in_list:
                    container = LList()
                    container.item_pos = []
                else:
                    container = LDict()
                    container.key_pos, container.value_pos = {}, {}
                container.pos, container.file = _pos(mark, file), file
                if event.anchor is not None:
                    anchors[event.anchor] = container
                frame = [container, _NO_KEY, None, None, None]
                stack.append(frame)
                continue
            elif kind in ends:
                done = stack.pop()
                if done[3] is not None:
                    self._merge(done, stack)
                value = done[0]
                mark = _pack(value.pos)
                if stack:
                    frame = stack[-1]
                    container = frame[0]
                    in_list = type(container) is LList
                else:
                    frame = container = None
            elif kind is yaml.DocumentEndEvent:
                return None if result is _NO_KEY else result
            elif kind is yaml.StreamEndEvent:  # pragma: no cover (the parser ends documents)
                raise SpecSyntaxError("invalid YAML: the document does not end", Position(file))
            else:
                continue
            if frame is None:
                result = value
            elif in_list:
                container.append(value)
                container.item_pos.append(mark)
            elif frame[1] is _NO_KEY:  # a key
                if merge_key:
                    if frame[4] is not None:
                        raise SpecStructureError("duplicate merge key '<<' in one mapping",
                                                 _place(mark, file).at(self._path(stack)),
                                                 hint="merge several mappings with <<: [*a, *b]")
                    frame[1], frame[2] = _MERGE, mark
                    continue
                try:
                    hash(value)
                except TypeError:
                    raise SpecStructureError("a mapping key must be a plain value",
                                             _place(mark, file).at(self._path(stack))) from None
                if value in container:
                    raise SpecStructureError(
                        f"duplicate key '{value}' (first given at line {container.position(value).line})",
                        _place(mark, file),
                        hint="remove one of the two; YAML would silently keep only the last",
                    )
                frame[1], frame[2] = value, mark
            elif frame[1] is _MERGE:
                sources = list(value) if isinstance(value, LList) else [value]
                if not all(isinstance(source, LDict) for source in sources):
                    raise SpecStructureError("a merge key (<<) takes a mapping or a list of mappings",
                                             _place(mark, file).at(self._path(stack)),
                                             hint="e.g. <<: *defaults or <<: [*a, *b]")
                frame[1], frame[3], frame[4] = _NO_KEY, sources, frame[2]
            else:
                key = frame[1]
                container[key] = value
                container.key_pos[key] = frame[2]
                container.value_pos[key] = mark
                frame[1] = _NO_KEY

    def _merge(self, frame, stack) -> None:
        """YAML 1.1 merge: the mapping's own keys win; among the merged mappings, the earlier
        one's key wins (a merged mapping already holds the keys of its own merges)."""
        mapping, sources, mark = frame[0], frame[3], frame[4]
        own = list(mapping.items())
        own_key_pos, own_value_pos = mapping.key_pos, mapping.value_pos
        merged, key_pos, value_pos = {}, {}, {}
        for source in sources:
            self.merged += len(source)
            if self.merged > MAX_MERGED_ENTRIES:
                raise BudgetError(
                    f"YAML merge keys (<<) copy more than {MAX_MERGED_ENTRIES:,} entries in this spec",
                    _place(mark, self.file).at(self._path([*stack, frame]) + ".<<"),
                    hint="merge fewer or smaller mappings; a block or a YAML alias shares instead of "
                         "copying")
            if source is mapping:
                continue  # a mapping merged into itself adds nothing
            for key, value in source.items():
                if key not in merged and key not in mapping:
                    merged[key] = value
                    key_pos[key] = source.key_pos.get(key, source.pos)
                    value_pos[key] = source.value_pos.get(key, source.pos)
        mapping.clear()
        mapping.update(merged)
        mapping.update(own)
        mapping.key_pos = {**key_pos, **own_key_pos}
        mapping.value_pos = {**value_pos, **own_value_pos}


_NO_KEY = object()
_MERGE = object()


def _pack(pos: Position) -> int:
    return ((pos.line - 1) << 32) | (pos.column - 1)


def load_yaml(text: str, file: str = "<spec>"):
    """Parse YAML text into plain values with LDict/LList containers. Raises SpecError."""
    if len(text) > MAX_SOURCE_BYTES:
        raise SpecStructureError(
            f"the spec is {len(text):,} characters long; cnnspec reads at most {MAX_SOURCE_BYTES:,} "
            f"bytes ({MAX_SOURCE_BYTES // 1024 ** 2} MiB)", Position(file),
        )
    try:
        with gc_paused():
            parser = _BaseLoader(text)
            try:
                return _Builder(file).build(parser.get_event)
            finally:
                parser.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _pos(mark, file) if mark is not None else Position(file)
        problem = exc.problem or exc.context or "invalid YAML"
        if "maximum nesting depth" in problem:  # newer libyaml scans ahead and stops at 1,000 levels
            raise SpecSyntaxError(f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep", pos) from None
        context = ""
        if exc.problem and exc.context and exc.context_mark is not None:
            mark = exc.context_mark
            context = f" ({exc.context} at line {mark.line + 1}, column {mark.column + 1})"
        raise SpecSyntaxError(f"invalid YAML: {problem}{context}", pos) from None
    except yaml.YAMLError as exc:
        raise SpecSyntaxError(f"invalid YAML: {exc}", Position(file)) from None


def read_source(path: str | Path, what: str = "the spec") -> bytes:
    """The bytes of a spec file: a regular file of at most MAX_SOURCE_BYTES, refused as soon as
    it reads longer (so /dev/zero or a growing file cannot fill the memory). Devices, FIFOs and
    sockets are refused before reading, without waiting for a writer. Raises SpecError."""
    where = Position(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SpecStructureError(f"cannot read {what}: {exc.strerror}", where) from None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise SpecStructureError(f"cannot read {what}: it is {kind}, not a regular file", where,
                                     hint="give the path of a file")
        chunks, size = [], 0
        try:
            while True:
                chunk = handle.read(min(1 << 20, MAX_SOURCE_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_SOURCE_BYTES:
                    raise SpecStructureError(
                        f"{what} is larger than {MAX_SOURCE_BYTES:,} bytes "
                        f"({MAX_SOURCE_BYTES // 1024 ** 2} MiB), the most cnnspec reads", where,
                        hint="a spec is a short text: repeat layers with blocks and repeat, not by "
                             "writing them out")
        except OSError as exc:
            raise SpecStructureError(f"cannot read {what}: {exc.strerror}", where) from None
    return b"".join(chunks)


def read_spec_file(path: str | Path):
    """Read and parse a spec file; a missing or unreadable file is a SpecError too."""
    raw = read_source(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecSyntaxError(
            f"the spec is not UTF-8 text (byte {exc.start})", Position(str(path))
        ) from None
    return load_yaml(text, str(path))
