"""Emit a graph as readable, standalone PyTorch source (``cnnspec build``).

The module tree follows the node names exactly as the in-memory builder makes it, so the
emitted model has the same state_dict keys. Each group of nodes becomes:

- ``nn.Sequential(...)`` when its layers run one after another (names kept with an
  OrderedDict when they are not 0, 1, 2, …);
- a class when it branches or merges, or when it is an instance of a user block: ``__init__``
  builds the children and ``forward`` is written out the way a person would
  (``out = out + x``, ``torch.cat([...], dim=1)``). Groups with the same structure share one
  class; the numbers that differ between instances become constructor arguments, named after
  the block's arguments where they match (``planes``, ``stride``), ``in_channels``, or the
  layer and setting they come from, or written as a multiple of another argument.
- The top-level class takes the spec's variables that layers use directly as arguments with
  their defaults, so ``Model()`` builds the spec as written.

The file is built as structure, not text: :meth:`Emitter.template` describes each group as
an instance of a class whose ``__init__`` and ``forward`` are nodes of
:mod:`cnnspec.emit.code` (calls, assignments, …) with a ``Slot`` for each number, a
``ChildRef`` for each child class's constructor call and a ``Defaulted`` keyword argument
where a constructor default may be left out. Groups whose structures are equal share the
class. Once every class is known, :mod:`cnnspec.emit.parameters` resolves the slots to
parameters or constants, :mod:`cnnspec.emit.classes` binds them and builds the class blocks,
and :func:`cnnspec.emit.render.render` writes the whole module out, laid out as ruff format
would.

Module constructors come from each layer's ``torch_call``, the same data the builder uses; a
layer type's own module (``Layer.torch_module``) is defined in the file from the source text
the builder compiles, and layers ``emitted_inline`` are written as the expressions they give.
Identifiers in the source are validated node names, block names and variable names (a
``Name`` node refuses anything else); everything else from a spec is a number or a repr'd
literal (a ``Const``), so a spec cannot inject code. torch is not imported here.
"""

from __future__ import annotations

import keyword
import re

from cnnspec.api import shapes_only
from cnnspec.emit import code
from cnnspec.emit.classes import Classes
from cnnspec.emit.header import header, provenance
from cnnspec.emit.names import camel, identifier, reserved, usable_class_name
from cnnspec.emit.parameters import Parameters
from cnnspec.emit.render import expr as expression_text
from cnnspec.emit.render import render
from cnnspec.emit.structure import Box, ClassSpec, Instance, ModuleTree
from cnnspec.errors import UsageError
from cnnspec.ir.graph import Graph, Node
from cnnspec.util.names import is_identifier

#: ``super().__init__``, called first in every ``__init__``
SUPER_INIT = code.Attribute(code.Call(code.Name("super")), "__init__")
SUPER_CALL = code.ExprStmt(code.Call(SUPER_INIT))

__all__ = ["Emitter", "camel", "emit", "provenance", "usable_class_name"]


class Emitter(ModuleTree, Parameters, Classes):
    """Writes one graph as a Python module defining its model class."""

    def __init__(self, graph: Graph, class_name: str, header: list[str]):
        self.graph = graph
        self.class_name = class_name
        self.header = header
        self.facts = shapes_only(graph, graph.input_shape, strict=True).facts
        self.users = graph.consumers()
        self.index = {node.name: i for i, node in enumerate(graph.nodes)}
        self.classes: dict[tuple, ClassSpec] = {}
        self.uses = set()
        self.own: dict = {}  # name -> OwnModule, the own modules used, in order of first use
        self.base_reserved = reserved()
        self.reserved = set(self.base_reserved)

    def template(self, box: Box, top: bool = False) -> Instance:
        """Describe a callable group as an instance of a (possibly shared) class: the
        structure of its ``__init__`` and ``forward``, with slots for its numbers."""
        slots: list = []
        children: list = []
        chain = self.is_chain(box)
        if chain:
            items = [(name, self.expr(c, slots, children, top)) for name, c in box.children.items()]
            if all(name == str(i) for i, (name, _) in enumerate(items)):
                init = (code.ExprStmt(code.Call(SUPER_INIT, tuple(e for _, e in items), trailing=True)),)
            else:  # registered one by one, in order: what nn.Sequential runs
                init = (SUPER_CALL, *(self.assign(name, e) for name, e in items))
            forward = ()
        else:
            init = (SUPER_CALL, *(self.assign(name, self.expr(c, slots, children, top))
                                  for name, c in box.children.items()
                                  if not self.holds_no_module(c)))
            forward = self.forward(box)
        kind, args = self.graph.groups.get(box.name, ("", {}))
        if top:
            base = self.class_name
        elif self.is_block(box) or kind == "squeeze_excitation" or (box.leaf.isdigit() and kind):
            base = camel(kind)
        else:
            base = camel(box.leaf)
        key = (base, chain, init, forward, tuple(id(c.cls) for c in children))
        spec = self.classes.get(key)
        if spec is None:
            # the final name is chosen by rename(), once every variant of the block is known
            spec = self.classes[key] = ClassSpec(base, init, forward, chain)
            spec.children_names = set(box.children)
            spec.base = base
        first = self.facts[box.nodes[0].name].inputs
        instance = Instance(spec, slots, children, args, first[0][0] if first else None)
        spec.instances.append(instance)
        return instance

    @staticmethod
    def assign(name: str, value) -> code.Assign | code.ExprStmt:
        """The ``__init__`` statement registering a child: ``self.name = …``, or
        ``add_module`` (``register_parameter`` for a bare layer's parameter) for a name that is
        no plain identifier (digits, a keyword, a leading __)."""
        if identifier(name):
            return code.Assign(code.Attribute(code.SELF, name), value)
        parameter = isinstance(value, code.Call) and value.func == code.nn("Parameter")
        method = "register_parameter" if parameter else "add_module"
        return code.ExprStmt(code.Call(code.Attribute(code.SELF, method), (code.Const(name), value)))

    def expr(self, child, slots: list, children: list, top: bool):
        """The expression building one child inside its parent's ``__init__``."""
        if isinstance(child, Node):
            return self.ctor(child, slots, top)
        if child.callable and (self.is_block(child) or not self.is_chain(child)):
            children.append(self.template(child))
            return code.ChildRef(len(children) - 1)
        items = [(name, self.expr(c, slots, children, top)) for name, c in child.children.items()
                 if not self.holds_no_module(c)]
        if not child.callable:  # its parent's forward runs these one by one
            held = next((c.name for c in child.children.values() if self.bare(c)), None)
            if held is not None:
                raise UsageError(f"cnnspec build cannot write {held}: its group {child.name} is run "
                                 "piece by piece by its parent (an nn.ModuleDict), which holds no "
                                 "parameter", hint="give the bare layer a group that reads one "
                                 "input and gives one output, or leave bare out")
            entries = tuple((code.Const(name), e) for name, e in items)
            return code.Call(code.nn("ModuleDict"), (code.Dict(entries, trailing=True),))
        if all(name == str(i) for i, (name, _) in enumerate(items)):
            return code.Call(code.nn("Sequential"), tuple(e for _, e in items), trailing=True)
        self.uses.add("OrderedDict")
        pairs = code.List(tuple(code.Tuple((code.Const(name), e)) for name, e in items), trailing=True)
        return code.Call(code.nn("Sequential"), (code.Call(code.Name("OrderedDict"), (pairs,)),))

    def ctor(self, node: Node, slots: list, top: bool) -> code.Call:
        """The module constructor call of a layer, from its ``torch_call``; for a bare layer
        its parameter, ``nn.Parameter(torch.full(shape, init))``."""
        texts = node.layer.spec_text if top else {}
        bare = self.bare(node)
        if bare is not None:
            full = code.Call(code.Attribute(code.TORCH, "full"), (
                self.value(tuple(bare.shape), slots, node, "shape", texts),
                self.value(bare.init, slots, node, "init", texts)))
            frozen = () if node.trainable else (code.Keyword("requires_grad", code.Const(False)),)
            return code.Call(code.nn("Parameter"), (full,), frozen)
        call = node.layer.torch_call(self.facts[node.name].inputs)
        names = call.arg_names
        args = tuple(self.value(v, slots, node, names[i] if i < len(names) else f"arg{i}", texts)
                     for i, v in enumerate(call.args))
        defaults = {} if top else call.defaults
        kwargs = []
        for key in dict.fromkeys(["kernel_size", *defaults, *call.kwargs]):
            if key in defaults:  # always spelt out, so that instances differing here share a class
                value = self.value(call.kwargs.get(key, defaults[key]), slots, node, key, texts)
                kwargs.append(code.Defaulted(key, value, code.Const(defaults[key])))
            elif key in call.kwargs:
                kwargs.append(code.Keyword(key, self.value(call.kwargs[key], slots, node, key, texts)))
        own = node.layer.own_module_for(call)
        if own is not None:
            self.own.setdefault(own.name, own)
            return code.Call(code.Name(own.name), args, tuple(kwargs))
        return code.Call(code.nn(call.cls), args, tuple(kwargs))

    def value(self, value, slots: list, node: Node, name: str, texts: dict):
        """A constructor argument: a constant, a tuple, or a slot for a number (which the
        class's instances may set differently), remembering where the number comes from."""
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return code.Const(value)
        if isinstance(value, tuple):
            return code.Tuple(tuple(self.value(v, slots, node, name, texts) for v in value))
        attr = type(node.layer).attr_of_torch_arg(name)  # the setting the value comes from
        text = texts.get(attr.name if attr is not None else name)
        # a variable becomes an argument of the top-level class only where changing it cannot
        # break another layer: the network's last layer, or settings that change no shape
        safe = node.name in self.graph.output_nodes() or (attr is not None and attr.shapeless)
        var = text if safe and isinstance(text, str) and text in self.graph.vars and identifier(text) \
            and text not in self.base_reserved and self.graph.vars[text] == value else None
        leaf = node.name.rsplit(".", 1)[-1]
        owner = leaf if identifier(leaf) else re.sub(r"\d+d$", "", type(node.layer).__name__.lower())
        slots.append((value, f"{owner}_{name}", var))
        return code.Slot(len(slots) - 1)

    def forward(self, box: Box) -> tuple:
        """``forward``: each child called in order, merges written as operators; a value's
        name is reused once its last reader inside the group has run."""
        var = {box.inputs[0]: "x"} if box.inputs else {}
        pending = {name: self.readers(box, name) for name in box.inputs}
        kept = set(self.graph.outputs.values()) if box.name == "" else set()  # never reused
        live = set(var.values())
        body = []
        for path, child in self.steps(box):
            sources = child.inputs if isinstance(child, Box) else list(child.inputs)
            result = child.outputs[0] if isinstance(child, Box) else child.name
            args = [var[s] for s in sources]
            for s in sources:
                pending[s] -= 1
            bare = self.bare(child)
            if isinstance(child, Node) and self.is_inline(child):
                expression = code.Raw(child.layer.inline_source(args))
            elif bare is not None:  # over the parameter its parent (this class) holds
                parameter = expression_text(self.access(path))
                expression = code.Raw(bare.expression.format(x=args[0], parameter=parameter))
            else:
                expression = code.Call(self.access(path), tuple(code.Name(a) for a in args))
            freed = [var[s] for s in reversed(sources) if pending[s] == 0]
            live.difference_update(freed)
            target = "out" if "x" in live and "out" not in live else (freed[0] if freed else next(
                n for n in ("out", "y", "z", *(f"t{i}" for i in range(len(box.nodes)))) if n not in live))
            live.add(target)
            var[result] = target
            pending[result] = self.readers(box, result) + (result in kept)
            body.append(code.Assign(code.Name(target), expression))
        return (*body, code.Return(self.returned(box, var)))

    def returned(self, box: Box, var: dict):
        """What a forward returns: its output, or the model's outputs as a dict (a tuple)."""
        if box.name != "" or not self.graph.outputs:
            return code.Name(var[box.outputs[0]])
        if self.graph.outputs_list:
            return code.Tuple(tuple(code.Name(var[n]) for n in self.graph.outputs.values()))
        return code.Dict(tuple((code.Const(k), code.Name(var[n])) for k, n in self.graph.outputs.items()))

    def source(self) -> str:
        root = self.root = self.tree()
        if not root.callable:
            raise UsageError("the network has several outputs or inputs; cnnspec build needs one of each")
        top = self.template(root, top=True)
        order: list[ClassSpec] = []

        def visit(spec: ClassSpec, seen: set) -> None:
            if id(spec) in seen:
                return
            seen.add(id(spec))
            for instance in spec.instances:
                for child in instance.children:
                    visit(child.cls, seen)
            order.append(spec)

        visit(top.cls, set())
        self.rename(order, top.cls)
        # parameters are named after the classes are, so that none hides a class it calls
        self.reserved = self.base_reserved | {spec.name for spec in order}
        for spec in order:
            if not spec.bound:
                self.resolve(spec)
        imports = [(code.ImportFrom("__future__", "annotations"),)]
        if "OrderedDict" in self.uses:
            imports.append((code.ImportFrom("collections", "OrderedDict"),))
        # torch for the own modules and every forward (inline expressions are in a forward)
        torch = (code.Import("torch"),) if self.own or any(not c.chain for c in order) else ()
        imports.append((*torch, code.ImportFrom("torch", "nn")))
        blocks = [*(code.Verbatim(own.source) for own in self.own.values()),
                  *(self.class_def(spec, spec is top.cls) for spec in order)]
        return render(code.Module(code.Docstring(tuple(self.header)), tuple(imports), tuple(blocks)))


def emit(graph: Graph, class_name: str | None = None, source_note: str = "") -> str:
    """The graph as Python source defining ``class_name`` (default: the spec's name in
    CamelCase), an ``nn.Module`` that builds the spec as written when called with no
    arguments."""
    name = class_name or camel(graph.name, "Model")
    if not usable_class_name(name):
        if not is_identifier(name) or keyword.iskeyword(name):
            why = "is not a Python identifier" if not keyword.iskeyword(name) else "is a Python keyword"
        elif name.startswith("__"):
            why = "starts with __, which Python mangles inside a class"
        else:
            why = "would shadow a name the generated file uses (nn, torch, OrderedDict, a builtin, …)"
        raise UsageError(f"--class-name {name!r} {why}",
                         hint="use letters, digits and _, not starting with a digit or __, e.g. "
                              f"{camel(name, 'Model')}")
    return Emitter(graph, name, header(name, source_note)).source()
