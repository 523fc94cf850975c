"""The text of the generated classes: slots and child placeholders filled in, the final
class names, and the lines freezing what the spec marks ``trainable: false``."""

from __future__ import annotations

import re

from cnnspec.emit.literals import literal, quoted
from cnnspec.emit.names import camel, identifier, own_modules
from cnnspec.emit.structure import Box, ClassSpec
from cnnspec.ir.graph import Node

_SLOT = re.compile("\x00(\\d+)\x00")
_CHILD = re.compile("\x01(\\d+)\x01")
#: a keyword argument a block class always spells out: \x02name=value\x03default\x02, where the
#: value is any expression (a slot, a tuple of slots, a string) and is left out where it is the default
_DEFAULTED = re.compile("\x02(\\w+)=([^\x02\x03]*)\x03([^\x02]*)\x02")


class ClassText:
    """Writing out the classes (a mixin of the Emitter: ``class_name``, ``facts``, ``root``)."""

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
        taken = {self.class_name, *own_modules()}
        by_base: dict[str, list] = {}
        for spec in order:
            if spec is not top:
                by_base.setdefault(spec.base, []).append(spec)
        for base, variants in by_base.items():
            variants.sort(key=lambda v: (len(v.children_names), order.index(v)))
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
            if len(frozen) == len(weighted) or isinstance(child, Node):
                paths.append(child.name)
            else:
                paths.extend(self.frozen(child))
        return paths

    def freeze_lines(self) -> str:
        paths = self.frozen(self.root)
        if not paths:
            return ""
        listed = "".join(f"            {quoted(p)},\n" for p in paths)
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
