"""The constructor parameters of the generated classes: the numbers that differ between a
class's instances, named after block arguments, ``in_channels``, a multiple of another
parameter, or the layer and setting they come from.

Each slot of a class (its instances' own numbers, then its children's parameters) resolves to
an expression node: a parameter's ``Name``, ``name * factor`` (a ``BinOp``), or a ``Const``
where every instance has the same number; the top-level class's slots that hold a variable of
the spec resolve to that variable's name."""

from __future__ import annotations

import re

from cnnspec.emit import code
from cnnspec.emit.names import identifier
from cnnspec.emit.structure import ClassSpec, Instance


class Parameters:
    """Choosing each class's parameters from its instances (a mixin of the Emitter:
    ``class_name``, ``reserved``)."""

    def resolve(self, spec: ClassSpec) -> None:
        """Choose the class's constructor parameters from its instances (children first)."""
        for instance in spec.instances:
            for child in instance.children:
                if not child.cls.params and child.cls.instances and not child.cls.bound:
                    self.resolve(child.cls)
        rows = [self.flat_slots(instance) for instance in spec.instances]
        bound, params, vectors = [], [], []
        for k in range(len(rows[0])):
            vector = tuple(row[k][0] for row in rows)
            var = rows[0][k][2]
            if var is not None and spec.name == self.class_name and var not in self.reserved:
                bound.append(code.Name(var))
                if var not in params:
                    params.append(var)
                    vectors.append(vector)
                continue
            if len(set(vector)) == 1 or spec.name == self.class_name:
                bound.append(code.Const(vector[0]))
            elif vector in vectors:
                bound.append(code.Name(params[vectors.index(vector)]))
            else:
                named = self.known_name(spec, vector, params)
                multiple = None if named else self.multiple(vector, params, vectors)
                if multiple:
                    bound.append(multiple)
                    continue
                name = named or self.param_name(rows[0][k][1], params)
                params.append(name)
                vectors.append(vector)
                bound.append(code.Name(name))
        spec.params, spec.bound = params, bound
        for instance, row in zip(spec.instances, rows):
            instance.params_values = [row[bound.index(code.Name(p))][0] for p in params]

    def flat_slots(self, instance: Instance) -> list:
        """The instance's own slots, then one per argument of each child instance."""
        rows = list(instance.slots)
        for child in instance.children:
            if not child.cls.bound and child.cls.instances:
                self.resolve(child.cls)
            rows += [(v, f"{child.cls.name}_{p}", None)
                     for p, v in zip(child.cls.params, child.params_values)]
        return rows

    @staticmethod
    def multiple(vector: tuple, params: list, vectors: list) -> code.BinOp | None:
        for name, other in zip(params, vectors):
            if all(isinstance(a, int) and not isinstance(a, bool) and isinstance(b, int) and b > 0
                   and a % b == 0 for a, b in zip(vector, other)):
                factors = {a // b for a, b in zip(vector, other)}
                if len(factors) == 1 and (factor := factors.pop()) > 1:
                    return code.BinOp(code.Name(name), "*", code.Const(factor))
        return None

    def known_name(self, spec: ClassSpec, vector: tuple, taken: list) -> str | None:
        """A block argument, or in_channels, whose values are exactly these in every instance."""
        for arg in spec.instances[0].args:
            if (identifier(arg) and arg not in taken and arg not in self.reserved
                    and all(inst.args.get(arg) == v for inst, v in zip(spec.instances, vector))):
                return arg
        if "in_channels" not in taken and all(i.in_channels == v for i, v in zip(spec.instances, vector)):
            return "in_channels"
        return None

    def param_name(self, origin: str, taken: list) -> str:
        name = re.sub(r"\W", "_", origin)
        name = name if identifier(name) else f"m{name}"
        while name in taken or name in self.reserved:
            name += "_"
        return name
