"""The generated classes as blocks: the final class names, each class's ``__init__`` with its
slots and child references bound to the resolved parameters, and the statements freezing what
the spec marks ``trainable: false``."""

from __future__ import annotations

from cnnspec.emit import code
from cnnspec.emit.names import camel, identifier, own_modules
from cnnspec.emit.structure import Box, ClassSpec
from cnnspec.ir.graph import Node

TENSOR = code.Attribute(code.TORCH, "Tensor")


class Classes:
    """Writing out the classes (a mixin of the Emitter: ``class_name``, ``facts``, ``root``,
    ``header``)."""

    def bound_init(self, spec: ClassSpec) -> tuple:
        """The ``__init__`` body with the class's slots bound to its parameters' expressions
        and each child reference to the child class's constructor call."""
        first = spec.instances[0]
        offset = len(first.slots)
        calls = []
        for child in first.children:
            args = tuple(spec.bound[offset: offset + len(child.cls.params)])
            calls.append(code.Call(code.Name(child.cls.name), args))
            offset += len(child.cls.params)
        return code.bind(spec.init, spec.bound, calls)

    def rename(self, order: list, top: ClassSpec) -> None:
        """Variants of one block: the one with the fewest children keeps the block's name, the
        others are named after their extra children (``Bottleneck``, ``BottleneckDownsample``)."""
        taken = {self.class_name, *own_modules()}
        position = {id(spec): i for i, spec in enumerate(order)}  # by identity: == compares code
        by_base: dict[str, list] = {}
        for spec in order:
            if spec is not top:
                by_base.setdefault(spec.base, []).append(spec)
        for base, variants in by_base.items():
            variants.sort(key=lambda v: (len(v.children_names), position[id(v)]))
            plain = variants[0].children_names
            for spec in variants:
                extra = sorted(n for n in spec.children_names - plain if identifier(n))
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
            if isinstance(child, Node) and self.bare(child):
                continue  # made with requires_grad=False
            if len(frozen) == len(weighted) or isinstance(child, Node):
                paths.append(child.name)
            else:
                paths.extend(self.frozen(child))
        return paths

    def freeze(self) -> tuple:
        """``for name in (…): self.get_submodule(name).requires_grad_(False)``, or nothing."""
        paths = self.frozen(self.root)
        if not paths:
            return ()
        name = code.Name("name")
        module = code.Call(code.Attribute(code.SELF, "get_submodule"), (name,))
        off = code.ExprStmt(code.Call(code.Attribute(module, "requires_grad_"), (code.Const(False),)))
        listed = code.Tuple(tuple(code.Const(p) for p in paths), trailing=True)
        return (code.Comment("trainable: false in the spec"), code.For(name, listed, (off,)))

    def signature(self, spec: ClassSpec, top: bool) -> tuple:
        """``__init__``'s parameters: the top-level class's with their defaults (the spec as
        written), a block class's annotated ``int`` where every instance passes an int."""
        if top:
            return tuple(code.Param(p, code.Name(type(v).__name__), code.Const(v))
                         for p, v in zip(spec.params, spec.instances[0].params_values))
        ints = [all(isinstance(i.params_values[k], int) for i in spec.instances)
                for k in range(len(spec.params))]
        return tuple(code.Param(p, code.Name("int") if is_int else None)
                     for p, is_int in zip(spec.params, ints))

    def class_def(self, spec: ClassSpec, top: bool = False) -> code.ClassDef:
        """The class: the spec's docstring on the top-level one, ``__init__``, and ``forward``
        unless it is an ``nn.Sequential``."""
        params = (code.Param("self"), *self.signature(spec, top))
        init = (*self.bound_init(spec), *(self.freeze() if top else ()))
        members = [code.FunctionDef("__init__", params, code.Const(None), init)]
        if not spec.chain:
            x = code.Param("x", TENSOR)
            returns = TENSOR
            if top and self.graph.outputs:  # annotations are not evaluated (from __future__)
                returns = code.Raw("tuple[torch.Tensor, ...]" if self.graph.outputs_list
                                   else "dict[str, torch.Tensor]")
            members.append(code.FunctionDef("forward", (code.Param("self"), x), returns, spec.forward))
        doc = (code.Docstring(tuple(self.header)),) if top else ()
        base = code.nn("Sequential" if spec.chain else "Module")
        return code.ClassDef(spec.name, (base,), (*doc, *members))
