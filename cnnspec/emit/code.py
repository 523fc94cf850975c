"""The generated file as structure: small, immutable expression, statement and block nodes
that the emitter builds and :mod:`cnnspec.emit.render` turns into text at the end.

A node holds no source text of the spec's: names are :class:`Name` and :class:`Attribute`
nodes, which refuse anything but an identifier, and every other value is a :class:`Const`,
written as a repr'd literal. The only text taken as it is comes from the layer registry:
an ``emitted_inline`` layer's expression (:class:`Raw`) and a layer type's own module
source (:class:`Verbatim`).

A class is built once for all its instances, so its ``__init__`` holds placeholders where the
instances differ: :class:`Slot` (a number of the instance, which becomes a constructor
argument or a literal), :class:`ChildRef` (the constructor call of a child class) and
:class:`Defaulted` (a keyword argument left out where it is the constructor's default).
Nodes compare by value, so the same structure is the same class; :func:`bind` replaces the
placeholders by the expressions the class's parameters resolve to.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, fields, is_dataclass, replace

from cnnspec.emit.literals import literal
from cnnspec.util.names import is_identifier


def _name(text: str) -> str:
    if not is_identifier(text) or keyword.iskeyword(text):
        raise ValueError(f"not a name the generated code can hold: {text!r}")
    return text


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Name:
    id: str

    def __post_init__(self):
        _name(self.id)


@dataclass(frozen=True)
class Attribute:
    value: object
    attr: str

    def __post_init__(self):
        _name(self.attr)


@dataclass(frozen=True, eq=False)
class Const:
    """A number, bool, None or string, written as its literal; two constants are the same
    when their literals are (``True`` is not ``1``, ``1.0`` is not ``1``)."""

    value: object

    def __eq__(self, other):
        return literal(self.value) == literal(other.value) if isinstance(other, Const) else NotImplemented

    def __hash__(self):
        return hash(literal(self.value))


@dataclass(frozen=True)
class Tuple:
    """``(a, b)``; ``trailing`` writes a comma after the last item (which keeps the items one
    a line, as ruff format does with a magic trailing comma)."""

    items: tuple
    trailing: bool = False


@dataclass(frozen=True)
class List:
    items: tuple
    trailing: bool = False


@dataclass(frozen=True)
class Dict:
    items: tuple  # (key, value) pairs
    trailing: bool = False


@dataclass(frozen=True)
class Keyword:
    name: str
    value: object

    def __post_init__(self):
        _name(self.name)


@dataclass(frozen=True)
class Call:
    func: object
    args: tuple = ()
    kwargs: tuple = ()  # Keyword or Defaulted
    trailing: bool = False


@dataclass(frozen=True)
class BinOp:
    left: object
    op: str
    right: object

    def __post_init__(self):
        if self.op != "*":
            raise ValueError(f"no such operator here: {self.op!r}")


@dataclass(frozen=True)
class Subscript:
    value: object
    index: object


@dataclass(frozen=True)
class Raw:
    """An expression a layer type writes itself (``Layer.inline_source``: ``x + out``)."""

    text: str


@dataclass(frozen=True)
class Slot:
    """The instance's number ``index`` (``Instance.slots``), until the class is resolved."""

    index: int


@dataclass(frozen=True)
class ChildRef:
    """The constructor call of the instance's child ``index`` (``Instance.children``)."""

    index: int


@dataclass(frozen=True)
class Defaulted:
    """A keyword argument every instance spells out in the structure (so that instances that
    differ only there share a class), dropped where it binds to ``default``."""

    name: str
    value: object
    default: Const

    def __post_init__(self):
        _name(self.name)


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Assign:
    target: object
    value: object


@dataclass(frozen=True)
class ExprStmt:
    value: object


@dataclass(frozen=True)
class Return:
    value: object


@dataclass(frozen=True)
class For:
    target: object
    iter: object
    body: tuple


@dataclass(frozen=True)
class Comment:
    text: str


@dataclass(frozen=True)
class Docstring:
    paragraphs: tuple


@dataclass(frozen=True)
class Param:
    name: str
    annotation: object = None
    default: object = None

    def __post_init__(self):
        _name(self.name)


@dataclass(frozen=True)
class FunctionDef:
    name: str
    params: tuple
    returns: object
    body: tuple

    def __post_init__(self):
        _name(self.name)


@dataclass(frozen=True)
class ClassDef:
    name: str
    bases: tuple
    body: tuple  # docstring and methods, a blank line between them

    def __post_init__(self):
        _name(self.name)


@dataclass(frozen=True)
class Import:
    module: str

    def __post_init__(self):
        _name(self.module)


@dataclass(frozen=True)
class ImportFrom:
    module: str
    name: str

    def __post_init__(self):
        _name(self.module)
        _name(self.name)


@dataclass(frozen=True)
class Verbatim:
    """A layer type's own module, pasted as the source the builder compiles."""

    text: str


@dataclass(frozen=True)
class Module:
    docstring: Docstring
    imports: tuple  # groups of imports, a blank line between groups
    body: tuple  # classes (and own modules), two blank lines between them


# --------------------------------------------------------------------------- binding

SELF = Name("self")
NN = Name("nn")
TORCH = Name("torch")


def nn(cls: str) -> Attribute:
    return Attribute(NN, cls)


def bind(node, slots: list, children: list):
    """``node`` with every :class:`Slot` replaced by ``slots[index]``, every
    :class:`ChildRef` by ``children[index]``, and every :class:`Defaulted` by its keyword
    argument, or by nothing where its value binds to the default."""
    if isinstance(node, Slot):
        return slots[node.index]
    if isinstance(node, ChildRef):
        return children[node.index]
    if isinstance(node, Defaulted):
        value = bind(node.value, slots, children)
        return None if value == node.default else Keyword(node.name, value)
    if isinstance(node, tuple):
        return tuple(b for b in (bind(item, slots, children) for item in node) if b is not None)
    if is_dataclass(node) and not isinstance(node, Const):
        return replace(node, **{f.name: bind(getattr(node, f.name), slots, children)
                                for f in fields(node) if f.init})
    return node
