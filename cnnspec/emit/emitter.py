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

Module constructors come from each layer's ``torch_call``, the same data the builder uses.
Identifiers in the source are validated node names, block names and variable names;
everything else from a spec is a number or a repr'd literal, so a spec cannot inject code.
torch is not imported here.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import textwrap
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

from cnnspec.api import shapes_only
from cnnspec.emit.pyformat import LINE_LENGTH, reflow
from cnnspec.errors import UsageError
from cnnspec.ir.graph import Graph, Node
from cnnspec.util.names import is_identifier
from cnnspec.version import __version__

_SLOT = re.compile("\x00(\\d+)\x00")
_CHILD = re.compile("\x01(\\d+)\x01")

#: the spec attribute a constructor argument comes from, where the names differ
SPEC_ATTR = {"out_channels": "out", "out_features": "out", "in_channels": "in",
             "in_features": "in", "num_features": "in", "kernel_size": "kernel"}
#: settings that change no shape: safe to expose as constructor arguments
SHAPELESS = ("p", "eps", "momentum", "negative_slope", "alpha")
#: names the generated code uses itself (never a class, argument or parameter name)
RESERVED = {"self", "nn", "torch", "OrderedDict", "StochasticDepth", "super", "int", "float",
            "x", "out", "annotations"}
#: Python's builtins (True, None, Exception, super, …): no class is named after one
BUILTINS = frozenset(dir(builtins))

#: a keyword argument a block class always spells out: \x02name=value\x03default\x02, where the
#: value is any expression (a slot, a tuple of slots, a string) and is left out where it is the default
_DEFAULTED = re.compile("\x02(\\w+)=([^\x02\x03]*)\x03([^\x02]*)\x02")
#: group kinds that are composites, not user blocks
COMPOSITE_KINDS = ("", "sequential", "repeat", "residual", "branches", "squeeze_excitation")
MERGES = ("Add", "Mul", "Concat")

def module_source(name: str) -> str:
    """The source of one of cnnspec's own modules (``cnnspec/torch/modules.py``), read as text so that
    ``build`` never imports torch: the emitted class is the very one the builder runs."""
    text = Path(find_spec("cnnspec.torch.modules").origin).read_text(encoding="utf-8")
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.ClassDef) and n.name == name)
    return ast.get_source_segment(text, node) + "\n"


def camel(name: str, suffix: str = "Block") -> str:
    """``basic_conv`` -> ``BasicConv``: an ASCII class name that shadows nothing the file uses
    (``none`` -> ``NoneBlock``, ``ordered_dict`` -> ``OrderedDictBlock``)."""
    text = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", str(name)) if p)
    text = text if text[:1].isalpha() else suffix + text
    return text + suffix if not usable_class_name(text) else text


def usable_class_name(name: str) -> bool:
    """A name the emitted file can give a class: an identifier that is no keyword, builtin or
    name the file uses itself, and does not start with __ (mangled inside a class body)."""
    return _identifier(name) and name not in RESERVED and name not in BUILTINS


def docstring(paragraphs: list[str], indent: str) -> str:
    """A docstring at ``indent``: the paragraphs wrapped to the line length, the closing quotes
    on a line of their own when there is more than one line."""
    width = LINE_LENGTH - len(indent)
    lines = []
    for paragraph in paragraphs:
        if lines:
            lines.append("")
        first = 3 if not lines else 0  # the opening quotes
        lines += textwrap.wrap(" " * first + paragraph, width, break_long_words=False,
                               break_on_hyphens=False)
    lines[0] = lines[0][3:]
    if len(lines) == 1 and len(lines[0]) + 6 <= width:
        return f'{indent}"""{lines[0]}"""\n'
    body = "\n".join(f"{indent}{line}" if line and i else line for i, line in enumerate(lines))
    return f'{indent}"""{body}\n{indent}"""\n'


def literal(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return _str(value)
    if isinstance(value, (bool, float)) or value is None:
        return repr(value)
    return str(int(value))


def _identifier(name: str) -> bool:
    """Usable as written in the emitted source (``self.name``, a parameter): an identifier, no
    keyword, and not starting with ``__``, which Python mangles inside a class body."""
    return is_identifier(name) and not keyword.iskeyword(name) and not name.startswith("__")


def _str(text: str) -> str:
    """A string literal in double quotes, as ruff format writes it (the names and settings a
    spec can hold have no quotes; one that had would keep repr's quotes)."""
    text = str(text)
    return repr(text) if '"' in text or "'" in text else '"' + repr(text)[1:-1] + '"'


@dataclass
class Box:
    """A group of the module tree: its children (boxes or nodes) and every node below it."""

    name: str
    leaf: str
    children: dict = field(default_factory=dict)
    nodes: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    callable: bool = False


@dataclass
class Instance:
    """One use of a class: its numeric slots, its child instances, and what it stands for."""

    cls: ClassSpec
    slots: list  # (value, origin, variable name or None)
    children: list  # child Instances, referenced by \x01j\x01 in the class text
    args: dict
    in_channels: object
    params_values: list = field(default_factory=list)


@dataclass
class ClassSpec:
    """A generated class: its text with slots and child placeholders, and its instances."""

    name: str
    init: str
    forward: str
    chain: bool
    instances: list = field(default_factory=list)
    params: list = field(default_factory=list)
    slot_text: list = field(default_factory=list)
    children_names: set = field(default_factory=set)
    base: str = ""


class Emitter:
    def __init__(self, graph: Graph, class_name: str, header: list[str]):
        self.graph = graph
        self.class_name = class_name
        self.header = header
        self.facts = shapes_only(graph, graph.input_shape, strict=True).facts
        self.users = graph.consumers()
        self.index = {node.name: i for i, node in enumerate(graph.nodes)}
        self.classes: dict[tuple, ClassSpec] = {}
        self.uses = set()
        self.reserved = set(RESERVED)

    # ------------------------------------------------------------------ the module tree
    def tree(self) -> Box:
        root = Box("", "")
        boxes = {"": root}
        for node in self.graph.nodes:
            parts = node.name.split(".")
            box = root
            root.nodes.append(node)
            for i, part in enumerate(parts[:-1]):
                full = ".".join(parts[: i + 1])
                if full not in boxes:
                    boxes[full] = box.children[part] = Box(full, part)
                box = boxes[full]
                box.nodes.append(node)
            box.children[parts[-1]] = node
        for box in boxes.values():
            inside = {n.name for n in box.nodes}
            box.inputs = list(dict.fromkeys(s for n in box.nodes for s in n.inputs if s not in inside))
            box.outputs = [n.name for n in box.nodes if n.name == self.graph.output
                           or any(u not in inside for u in self.users[n.name])]
            steps = [self.index[n.name] for n in box.nodes]
            box.callable = (steps == list(range(steps[0], steps[0] + len(steps)))
                            and box.outputs == [box.nodes[-1].name] and len(box.inputs) == 1)
        return root

    def is_merge(self, node: Node) -> bool:
        call = node.layer.torch_call(self.facts[node.name].inputs)
        return call.module == "cnnspec" and call.cls in MERGES

    def is_chain(self, box: Box) -> bool:
        """Its children run one after another, each reading the previous one's output."""
        if not box.callable:
            return False
        previous = box.inputs[0]
        for child in box.children.values():
            if isinstance(child, Node):
                if self.is_merge(child) or list(child.inputs) != [previous]:
                    return False
                previous = child.name
            elif not child.callable or child.inputs != [previous]:
                return False
            else:
                previous = child.outputs[0]
        return True

    def is_block(self, box: Box) -> bool:
        kind, _ = self.graph.groups.get(box.name, ("", {}))
        return kind not in COMPOSITE_KINDS

    # ------------------------------------------------------------------ templates
    def template(self, box: Box, top: bool = False) -> Instance:
        """Describe a callable group as an instance of a (possibly shared) class."""
        slots: list = []
        children: list = []
        chain = self.is_chain(box)
        if chain:
            items = [(name, self.expr(c, slots, children, top, "            "))
                     for name, c in box.children.items()]
            if all(name == str(i) for i, (name, _) in enumerate(items)):
                init = "".join(f"            {expr},\n" for _, expr in items)
            else:  # registered one by one, in order: what nn.Sequential runs
                init = "".join(self.assign(name, expr) for name, expr in items)
            forward = ""
        else:
            init = "".join(self.init_line(name, c, slots, children, top)
                           for name, c in box.children.items()
                           if not (isinstance(c, Node) and self.is_merge(c)))
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

    def init_line(self, name: str, child, slots, children, top) -> str:
        return self.assign(name, self.expr(child, slots, children, top, "        "))

    @staticmethod
    def assign(name: str, expr: str) -> str:
        """The ``__init__`` line registering a child: ``self.name = …``, or ``add_module`` for a
        name that is no plain identifier (digits, a keyword, a leading __)."""
        if _identifier(name):
            return f"        self.{name} = {expr}\n"
        return f"        self.add_module({_str(name)}, {expr})\n"

    def expr(self, child, slots: list, children: list, top: bool, indent: str) -> str:
        """The expression building one child inside its parent's ``__init__``."""
        if isinstance(child, Node):
            return self.ctor(child, slots, top)
        inner = indent + "    "
        if child.callable and (self.is_block(child) or not self.is_chain(child)):
            children.append(self.template(child))
            return f"\x01{len(children) - 1}\x01"
        items = [(name, self.expr(c, slots, children, top, inner)) for name, c in child.children.items()
                 if not (isinstance(c, Node) and self.is_merge(c))]
        if not child.callable:  # its parent's forward runs these one by one
            body = "".join(f"{inner}{_str(name)}: {expr},\n" for name, expr in items)
            return f"nn.ModuleDict({{\n{body}{indent}}})"
        if all(name == str(i) for i, (name, _) in enumerate(items)):
            return "nn.Sequential(\n" + "".join(f"{inner}{e},\n" for _, e in items) + f"{indent})"
        self.uses.add("OrderedDict")
        body = "".join(f"{inner}({_str(name)}, {expr}),\n" for name, expr in items)
        return f"nn.Sequential(OrderedDict([\n{body}{indent}]))"

    def ctor(self, node: Node, slots: list, top: bool) -> str:
        call = node.layer.torch_call(self.facts[node.name].inputs)
        texts = node.layer.spec_text if top else {}
        names = call.arg_names
        parts = [self.value(v, slots, node, names[i] if i < len(names) else f"arg{i}", texts)
                 for i, v in enumerate(call.args)]
        defaults = {} if top else call.defaults
        order = ["kernel_size", *defaults, *call.kwargs]
        for key in dict.fromkeys(order):
            if key in defaults:  # always spelt out, so that instances differing here share a class
                slot = self.value(call.kwargs.get(key, defaults[key]), slots, node, key, texts)
                parts.append(f"\x02{key}={slot}\x03{literal(defaults[key])}\x02")
            elif key in call.kwargs:
                parts.append(f"{key}={self.value(call.kwargs[key], slots, node, key, texts)}")
        if call.module == "cnnspec":
            self.uses.add("StochasticDepth")
            return f"StochasticDepth({', '.join(parts)})"
        return f"nn.{call.cls}({', '.join(parts)})"

    def value(self, value, slots: list, node: Node, name: str, texts: dict) -> str:
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return literal(value)
        if isinstance(value, tuple):
            return "(" + ", ".join(self.value(v, slots, node, name, texts) for v in value) + ")"
        text = texts.get(SPEC_ATTR.get(name, name))
        # a variable becomes an argument of the top-level class only where changing it cannot
        # break another layer: the network's last layer, or settings that change no shape
        safe = node.name == self.graph.output or name in SHAPELESS
        var = text if safe and isinstance(text, str) and text in self.graph.vars and _identifier(text) \
            and text not in RESERVED and self.graph.vars[text] == value else None
        leaf = node.name.rsplit(".", 1)[-1]
        owner = leaf if _identifier(leaf) else re.sub(r"\d+d$", "", type(node.layer).__name__.lower())
        slots.append((value, f"{owner}_{name}", var))
        return f"\x00{len(slots) - 1}\x00"

    # ------------------------------------------------------------------ forward
    def forward(self, box: Box) -> str:
        """``forward``: each child called in order, merges written as operators; a value's
        name is reused once its last reader inside the group has run."""
        var = {box.inputs[0]: "x"} if box.inputs else {}
        pending = {name: self.readers(box, name) for name in box.inputs}
        live = set(var.values())
        lines = []
        for path, child in self.steps(box):
            sources = child.inputs if isinstance(child, Box) else list(child.inputs)
            result = child.outputs[0] if isinstance(child, Box) else child.name
            args = [var[s] for s in sources]
            for s in sources:
                pending[s] -= 1
            if isinstance(child, Node) and self.is_merge(child):
                call = child.layer.torch_call(self.facts[child.name].inputs)
                if call.cls == "Concat":
                    self.uses.add("torch.cat")
                    expression = f"torch.cat([{', '.join(args)}], dim={int(child.layer.dim)})"
                else:
                    expression = (" + " if call.cls == "Add" else " * ").join(args)
            else:
                expression = f"{self.access(path)}({', '.join(args)})"
            freed = [var[s] for s in reversed(sources) if pending[s] == 0]
            live.difference_update(freed)
            target = "out" if "x" in live and "out" not in live else (freed[0] if freed else next(
                n for n in ("out", "y", "z", *(f"t{i}" for i in range(len(box.nodes)))) if n not in live))
            live.add(target)
            var[result] = target
            pending[result] = self.readers(box, result)
            lines.append(f"        {target} = {expression}\n")
        return "".join(lines) + f"        return {var[box.outputs[0]]}\n"

    def steps(self, box: Box):
        """(attribute path, child) in execution order; a non-callable group's nodes one by one."""
        for name, child in sorted(box.children.items(), key=lambda kv: self.index[
                (kv[1] if isinstance(kv[1], Node) else kv[1].nodes[0]).name]):
            if isinstance(child, Node) or child.callable:
                yield [name], child
            else:
                yield from self.leaves(child, [name])

    def leaves(self, box: Box, path: list):
        for name, child in box.children.items():
            if isinstance(child, Node):
                yield [*path, name], child
            else:
                yield from self.leaves(child, [*path, name])

    def readers(self, box: Box, name: str) -> int:
        inside = {n.name for n in box.nodes}
        return sum(1 for u in self.users[name] if u in inside)

    @staticmethod
    def access(path: list) -> str:
        text = "self"
        for i, part in enumerate(path):
            if _identifier(part):
                text += f".{part}"
            elif i == 0:
                text = f"getattr(self, {_str(part)})"
            else:  # inside an nn.ModuleDict holder
                text += f"[{_str(part)}]"
        return text

    # ------------------------------------------------------------------ parameters
    def resolve(self, spec: ClassSpec) -> None:
        """Choose the class's constructor parameters from its instances (children first)."""
        for instance in spec.instances:
            for child in instance.children:
                if not child.cls.params and child.cls.instances and not child.cls.slot_text:
                    self.resolve(child.cls)
        rows = [self.flat_slots(instance) for instance in spec.instances]
        texts, params, vectors = [], [], []
        for k in range(len(rows[0])):
            vector = tuple(row[k][0] for row in rows)
            var = rows[0][k][2]
            if var is not None and spec.name == self.class_name and var not in self.reserved:
                texts.append(var)
                if var not in params:
                    params.append(var)
                    vectors.append(vector)
                continue
            if len(set(vector)) == 1 or spec.name == self.class_name:
                texts.append(literal(vector[0]))
            elif vector in vectors:
                texts.append(params[vectors.index(vector)])
            else:
                named = self.known_name(spec, vector, params)
                multiple = None if named else self.multiple(vector, params, vectors)
                if multiple:
                    texts.append(multiple)
                    continue
                name = named or self.param_name(rows[0][k][1], params)
                params.append(name)
                vectors.append(vector)
                texts.append(name)
        spec.params, spec.slot_text = params, texts
        for instance, row in zip(spec.instances, rows):
            instance.params_values = [row[[t for t in texts].index(p)][0] for p in params]

    def flat_slots(self, instance: Instance) -> list:
        """The instance's own slots, then one per argument of each child instance."""
        rows = list(instance.slots)
        for child in instance.children:
            if not child.cls.slot_text and child.cls.instances:
                self.resolve(child.cls)
            rows += [(v, f"{child.cls.name}_{p}", None)
                     for p, v in zip(child.cls.params, child.params_values)]
        return rows

    @staticmethod
    def multiple(vector: tuple, params: list, vectors: list) -> str | None:
        for name, other in zip(params, vectors):
            if all(isinstance(a, int) and not isinstance(a, bool) and isinstance(b, int) and b > 0
                   and a % b == 0 for a, b in zip(vector, other)):
                factors = {a // b for a, b in zip(vector, other)}
                if len(factors) == 1 and (factor := factors.pop()) > 1:
                    return f"{name} * {factor}"
        return None

    def known_name(self, spec: ClassSpec, vector: tuple, taken: list) -> str | None:
        """A block argument, or in_channels, whose values are exactly these in every instance."""
        for arg in spec.instances[0].args:
            if (_identifier(arg) and arg not in taken and arg not in self.reserved
                    and all(inst.args.get(arg) == v for inst, v in zip(spec.instances, vector))):
                return arg
        if "in_channels" not in taken and all(i.in_channels == v for i, v in zip(spec.instances, vector)):
            return "in_channels"
        return None

    def param_name(self, origin: str, taken: list) -> str:
        name = re.sub(r"\W", "_", origin)
        name = name if _identifier(name) else f"m{name}"
        while name in taken or name in self.reserved:
            name += "_"
        return name

    # ------------------------------------------------------------------ text
    def fill(self, spec: ClassSpec, text: str) -> str:
        """Replace slots by the class's texts, child placeholders by constructor calls."""
        own = len(spec.instances[0].slots)
        offsets, offset = [], own
        for child in spec.instances[0].children:
            offsets.append(offset)
            offset += len(child.cls.params)

        def child_call(m) -> str:
            j = int(m.group(1))
            child = spec.instances[0].children[j]
            args = spec.slot_text[offsets[j]: offsets[j] + len(child.cls.params)]
            return f"{child.cls.name}({', '.join(args)})"

        def slots(text: str) -> str:
            return _SLOT.sub(lambda m: spec.slot_text[int(m.group(1))], text)

        def defaulted(m) -> str:
            value = slots(m.group(2))
            return "" if value == m.group(3) else f", {m.group(1)}={value}"

        text = re.sub(r",? ?" + _DEFAULTED.pattern, defaulted, text)
        text = slots(text)
        return _CHILD.sub(child_call, text)

    def rename(self, order: list, top: ClassSpec) -> None:
        """Variants of one block: the one with the fewest children keeps the block's name, the
        others are named after their extra children (``Bottleneck``, ``BottleneckDownsample``)."""
        taken = {self.class_name, "StochasticDepth"}
        by_base: dict[str, list] = {}
        for spec in order:
            if spec is not top:
                by_base.setdefault(spec.base, []).append(spec)
        for base, variants in by_base.items():
            variants.sort(key=lambda v: (len(v.children_names), order.index(v)))
            plain = variants[0].children_names
            for spec in variants:
                extra = sorted(n for n in spec.children_names - plain if _identifier(n))
                name = base + "".join(camel(e) for e in extra)
                candidate, count = name, 2
                while candidate in taken:
                    candidate, count = f"{name}{count}", count + 1
                spec.name = candidate
                taken.add(candidate)

    def frozen(self, box: Box) -> list[str]:
        """The fewest module paths covering every frozen (trainable: false) layer with weights."""
        paths = []
        for child in box.children.values():
            nodes = [child] if isinstance(child, Node) else child.nodes
            weighted = [n for n in nodes if n.layer.params(self.facts[n.name].inputs)]
            frozen = [n for n in weighted if not n.trainable]
            if not frozen:
                continue
            if len(frozen) == len(weighted) or isinstance(child, Node):
                paths.append(child.name)
            else:
                paths.extend(self.frozen(child))
        return paths

    def freeze_lines(self) -> str:
        paths = self.frozen(self.root)
        if not paths:
            return ""
        listed = "".join(f"            {_str(p)},\n" for p in paths)
        return ("        # trainable: false in the spec\n"
                f"        for name in (\n{listed}        ):\n"
                "            self.get_submodule(name).requires_grad_(False)\n")

    def class_text(self, spec: ClassSpec, doc: str = "") -> str:
        top = spec.name == self.class_name
        if top:
            values = {p: v for p, v in zip(spec.params, spec.instances[0].params_values)}
            signature = "".join(f", {p}: {type(v).__name__} = {literal(v)}" for p, v in values.items())
        else:
            ints = [all(isinstance(i.params_values[k], int) for i in spec.instances)
                    for k in range(len(spec.params))]
            signature = "".join(f", {p}: int" if is_int else f", {p}"
                                for p, is_int in zip(spec.params, ints))
        init = self.fill(spec, spec.init)
        if spec.chain:
            if init.lstrip().startswith("self."):  # named children, registered in order
                body = f"        super().__init__()\n{init}"
            else:
                body = f"        super().__init__(\n{init}        )\n"
            return (f"class {spec.name}(nn.Sequential):\n{doc}"
                    f"    def __init__(self{signature}) -> None:\n{body}"
                    + (self.freeze_lines() if top else ""))
        args = "x: torch.Tensor"
        return (f"class {spec.name}(nn.Module):\n{doc}"
                f"    def __init__(self{signature}) -> None:\n"
                f"        super().__init__()\n{init}" + (self.freeze_lines() if top else "") + "\n"
                f"    def forward(self, {args}) -> torch.Tensor:\n{spec.forward}")

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
        self.reserved = RESERVED | {spec.name for spec in order}
        for spec in order:
            if not spec.slot_text:
                self.resolve(spec)
        doc = docstring(self.header, "    ") + "\n"
        texts = [self.class_text(spec, doc if spec is top.cls else "") for spec in order]
        head = [docstring(self.header, "").rstrip("\n"), "", "from __future__ import annotations", ""]
        if "OrderedDict" in self.uses:
            head += ["from collections import OrderedDict", ""]
        if "torch.cat" in self.uses or "StochasticDepth" in self.uses or any(not c.chain for c in order):
            head.append("import torch")
        head.append("from torch import nn")
        parts = ["\n".join(head)]
        if "StochasticDepth" in self.uses:
            parts.append(module_source("StochasticDepth"))
        parts += texts
        return reflow("\n\n\n".join(p.rstrip("\n") for p in parts) + "\n")


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
    note = re.sub(r"[^\w .,:;/()=+-]", "?", source_note)  # printable, no quotes or newlines
    header = [f"{name}: a PyTorch model generated by cnnspec {__version__}."]
    if note.strip():
        header.append(f"Generated{note}; edit the spec and rebuild rather than this file.")
    return Emitter(graph, name, header).source()
