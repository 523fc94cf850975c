"""Mappings and lists from a spec that remember where they came from: :class:`LDict` and
:class:`LList` are the plain builtin types with source positions attached (of the container,
of each key and of each value), so any later error can point at the exact line and column.
Positions are kept as the parser's marks packed into one int (line, column) and made into
:class:`~cnnspec.errors.Position` objects only when asked for."""

from __future__ import annotations

from cnnspec.errors import Position


def place(mark, file: str) -> Position:
    """A Position from a packed (line, column) int (kept as is until an error needs it), or a
    Position."""
    if type(mark) is int:
        return Position(file, (mark >> 32) + 1, (mark & 0xFFFFFFFF) + 1)
    return mark


def pack(pos: Position) -> int:
    """A Position's line and column as one int (as the parser's marks are kept)."""
    return ((pos.line - 1) << 32) | (pos.column - 1)


def mark_position(mark, file: str) -> Position:
    """The Position of a parser's mark (0-based line and column)."""
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
        return place(self.key_pos[key], self.file)

    def value_position(self, key) -> Position:
        if key not in self.value_pos:
            return self.position(key)
        return place(self.value_pos[key], self.file)


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
        return place(self.item_pos[index], self.file)
