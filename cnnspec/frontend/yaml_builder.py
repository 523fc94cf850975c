"""Building a spec's values from the YAML parser's events: :class:`LDict` and :class:`LList`
containers with the positions of every entry, without recursion, with YAML's anchors,
aliases and merge keys, and with what YAML parsers let pass refused (duplicate keys, tags
that construct objects, nesting deeper than MAX_YAML_DEPTH, merges copying more than
MAX_MERGED_ENTRIES entries)."""

from __future__ import annotations

import yaml

from cnnspec.errors import BudgetError, Position, SpecStructureError, SpecSyntaxError
from cnnspec.frontend.located import LDict, LList, mark_position, pack, place
from cnnspec.frontend.yaml_scalars import MERGE_TAG, PLAIN, STR_TAG, Refused, ScalarReader

#: The deepest nesting of YAML lists and mappings.
MAX_YAML_DEPTH = 256
#: How many entries YAML merge keys (``<<``) may copy in one spec, in all.
MAX_MERGED_ENTRIES = 100_000

_CONTAINER_TAGS = {None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}
_NO_KEY = object()   # a mapping's frame waiting for a key
_MERGE = object()    # ... waiting for the value of a merge key
_MISS = object()
_IMPLICIT = (True, False)  # a plain scalar, for the resolver
#: how many plain scalars' values one document keeps (a spec repeats a few hundred texts; past
#: this a growing table costs more than it saves)
_KNOWN = 4096
_SCALAR_NODE = yaml.ScalarNode
_STARTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_ENDS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_DOCUMENT_ENDS = (yaml.DocumentEndEvent, yaml.StreamEndEvent)


class Builder:
    """Builds LDict/LList values from the (C) parser's event stream, without recursion.

    Plain scalars are resolved like PyYAML's safe loader (:class:`ScalarReader`; decimal
    integers on the spot, other plain texts once each, as long as ``_KNOWN`` texts are kept);
    quoted ones stay strings. A node reached
    through an alias is the same object as its anchor, so aliases never multiply work here
    (the spec's expansion budget counts what they expand to). Merge keys (``<<: *base``) copy
    entries; how many they copy in all is bounded (MAX_MERGED_ENTRIES). Positions are kept as
    packed ints (line, column) until an error needs them.

    The open containers are a stack of frames, ``[container, pending key, key mark, merge
    sources, merge mark]``; the first frame is the document's (a list that receives the root
    value), which key paths leave out."""

    def __init__(self, file: str):
        self.file = file
        self.anchors: dict[str, object] = {}
        self.merged = 0
        reader = ScalarReader()
        self._scalar, self._resolve = reader.read, reader.resolver.resolve

    # ------------------------------------------------------------------ errors and paths
    def _path(self, stack) -> str:
        parts = []
        for frame in stack[1:]:
            container = frame[0]
            if isinstance(container, LList):
                parts.append(f"[{len(container)}]")
            elif frame[1] is not _NO_KEY:
                key = "<<" if frame[1] is _MERGE else str(frame[1])
                parts.append(("." if parts else "") + key)
        if len(parts) > 12:  # a deep path: its start and its end
            parts = [*parts[:6], ".…" if parts[-6].startswith(".") else "…", *parts[-6:]]
        return "".join(parts)

    def _refuse(self, exc: Refused, mark, stack, key_text: str | None = None):
        path = self._path(stack)
        if key_text is not None:
            path = f"{path}.{key_text}" if path else key_text
        return exc.cls(exc.message, mark_position(mark, self.file).at(path), hint=exc.hint)

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
                                  "another document", mark_position(event.start_mark, self.file))
        return root

    def _document(self, next_event):
        """The value of one document: each event's value put in the innermost open container."""
        document = LList.of([], Position(self.file))
        stack = [[document, _NO_KEY, None, None, None]]
        frame, container, in_list = stack[0], document, True
        known, scalar_event, alias_event = dict(PLAIN), yaml.ScalarEvent, yaml.AliasEvent
        while True:
            event = next_event()
            kind = type(event)
            if kind is scalar_event:
                text = event.value
                # untagged, unanchored: a decimal, a plain text seen before (known), quoted text
                value = (((int(text) if text.isdigit() and text.isascii() and len(text) < 19
                           and (text[0] != "0" or text == "0") else known.get(text, _MISS))
                          if not event.style else text)
                         if event.tag is None and event.anchor is None else _MISS)
                if value is _MISS:
                    value = self._read_scalar(event, stack, known)
                mark = event.start_mark
                mark = (mark.line << 32) | mark.column
            elif kind in _ENDS:
                value, mark = self._close(stack)
                frame = stack[-1]
                container, in_list = frame[0], type(frame[0]) is LList
            elif kind in _STARTS:
                frame = self._open(event, stack)
                container, in_list = frame[0], type(frame[0]) is LList
                continue
            elif kind is alias_event:
                value, mark = self._alias(event, stack)
            elif kind in _DOCUMENT_ENDS:
                return self._end(event, document)
            else:
                continue
            if in_list:
                container.append(value)
                container.item_pos.append(mark)
            elif frame[1] is _NO_KEY:  # a key: a new text from a plain scalar, or see _key
                frame[1], frame[2] = ((value, mark) if type(value) is str and kind is scalar_event
                                      and event.tag is None and value != "<<" and value not in container
                                      else self._key(frame, value, mark, event, stack))
            elif frame[1] is _MERGE:
                self._merge_sources(frame, value, mark, stack)
            else:
                key = frame[1]
                container[key] = value
                container.key_pos[key] = frame[2]
                container.value_pos[key] = mark
                frame[1] = _NO_KEY

    def _end(self, event, document: LList):
        if type(event) is yaml.StreamEndEvent:  # pragma: no cover (the parser ends documents)
            raise SpecSyntaxError("invalid YAML: the document does not end", Position(self.file))
        return document[0] if document else None

    # ------------------------------------------------------------------ events
    def _read_scalar(self, event, stack, known: dict):
        """The value of a scalar not seen before, or tagged, quoted or anchored (a merge key's
        is its text); its anchor is recorded, and a plain scalar's value kept in ``known``."""
        text, tag = event.value, event.tag
        plain = tag is None and not event.style
        if plain and self._resolve(_SCALAR_NODE, text, _IMPLICIT) == STR_TAG:
            value = text  # plain text (the common case)
        elif (plain and text == "<<") or tag == MERGE_TAG or (tag is None and event.style):
            value = text  # a merge key (see _key), or quoted text
        else:
            try:
                value = self._scalar(event)
            except Refused as exc:
                frame = stack[-1]
                key_text = text if type(frame[0]) is not LList and frame[1] is _NO_KEY else None
                raise self._refuse(exc, event.start_mark, stack, key_text) from None
        if plain and len(known) < _KNOWN:
            known[text] = value
        if event.anchor is not None:
            self.anchors[event.anchor] = value  # YAML allows an anchor to be redefined
        return value

    def _alias(self, event, stack) -> tuple:
        """(the anchored value, the alias's mark)."""
        if event.anchor not in self.anchors:
            raise SpecSyntaxError(f"invalid YAML: found undefined alias '{event.anchor}'",
                                  mark_position(event.start_mark, self.file).at(self._path(stack)))
        mark = event.start_mark
        return self.anchors[event.anchor], (mark.line << 32) | mark.column

    def _open(self, event, stack) -> list:
        """A new container's frame, pushed on the stack."""
        mark, file = event.start_mark, self.file
        if event.tag not in _CONTAINER_TAGS:
            raise SpecSyntaxError(f"YAML tag {event.tag!r} is not supported in specs",
                                  mark_position(mark, file).at(self._path(stack)),
                                  hint="specs hold plain numbers, text, lists and mappings")
        if len(stack) > MAX_YAML_DEPTH:  # (the document's own frame is not a level)
            raise SpecSyntaxError(f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep",
                                  mark_position(mark, file).at(self._path(stack)))
        if type(event) is yaml.SequenceStartEvent:
            container = LList()
            container.item_pos = []
        else:
            container = LDict()
            container.key_pos, container.value_pos = {}, {}
        container.pos, container.file = mark_position(mark, file), file
        if event.anchor is not None:
            self.anchors[event.anchor] = container
        frame = [container, _NO_KEY, None, None, None]
        stack.append(frame)
        return frame

    def _close(self, stack) -> tuple:
        """(the finished container, its mark), its merges done."""
        done = stack.pop()
        if done[3] is not None:
            self._merge(done, stack)
        value = done[0]
        return value, pack(value.pos)

    def _key(self, frame, value, mark, event, stack) -> tuple:
        """(key, mark) of a mapping's next key (from ``event``): a plain value, not given
        before, or a merge key (``<<``, plain, or tagged !!merge; one at most)."""
        file = self.file
        if type(event) is yaml.ScalarEvent and (
                event.tag == MERGE_TAG or (event.tag is None and not event.style and value == "<<")):
            if frame[4] is not None:
                raise SpecStructureError("duplicate merge key '<<' in one mapping",
                                         place(mark, file).at(self._path(stack)),
                                         hint="merge several mappings with <<: [*a, *b]")
            return _MERGE, mark
        try:
            hash(value)
        except TypeError:
            raise SpecStructureError("a mapping key must be a plain value",
                                     place(mark, file).at(self._path(stack))) from None
        container = frame[0]
        if value in container:
            raise SpecStructureError(
                f"duplicate key '{value}' (first given at line {container.position(value).line})",
                place(mark, file),
                hint="remove one of the two; YAML would silently keep only the last",
            )
        return value, mark

    def _merge_sources(self, frame, value, mark, stack) -> None:
        """The value of a merge key: a mapping or a list of them, merged when the mapping ends."""
        sources = list(value) if isinstance(value, LList) else [value]
        if not all(isinstance(source, LDict) for source in sources):
            raise SpecStructureError("a merge key (<<) takes a mapping or a list of mappings",
                                     place(mark, self.file).at(self._path(stack)),
                                     hint="e.g. <<: *defaults or <<: [*a, *b]")
        frame[1], frame[3], frame[4] = _NO_KEY, sources, frame[2]

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
                    place(mark, self.file).at(self._path([*stack, frame]) + ".<<"),
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
