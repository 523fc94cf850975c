"""What ``cnnspec import`` leaves out of a spec: modules the traced forward never calls and
tensors no called module holds, each with its parameters and state_dict keys; and what the
import makes of a model (the spec text and those parts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn


@dataclass
class Dropped:
    """Part of the model that the spec does not have: a module the forward never calls (or the
    tensors a calling container holds itself), with what it holds."""

    name: str
    type: str
    params: int
    keys: list = field(default_factory=list)  # its state_dict keys

    def describe(self) -> str:
        return f"{self.name} ({'' if self.type == 'tensor' else self.type + ', '}{_count(self.params)})"


def _count(params: int) -> str:
    return f"{params:,} param{'' if params == 1 else 's'}"


@dataclass
class Imported:
    """What ``cnnspec import`` makes of a model: the spec text and what it leaves out."""

    text: str
    dropped: list
    params: int  # the model's, all of them
    keys: int  # the model's state_dict keys

    def note(self) -> str | None:
        """One sentence naming what was left out, or None."""
        if not self.dropped:
            return None
        modules = [d for d in self.dropped if d.type != "tensor"]
        tensors = [d for d in self.dropped if d.type == "tensor"]
        parts = []
        if modules:
            parts.append(f"{len(modules)} module{'s' if len(modules) != 1 else ''} the traced forward "
                         f"never calls (in eval mode): {', '.join(d.describe() for d in modules)}")
        if tensors:
            parts.append(f"{len(tensors)} tensor{'s' if len(tensors) != 1 else ''} no layer holds: "
                         f"{', '.join(d.describe() for d in tensors)}")
        params = sum(d.params for d in self.dropped)
        keys = sum(len(d.keys) for d in self.dropped)
        return (f"not in the spec: {'; and '.join(parts)}. That is {params:,} of {self.params:,} "
                f"params and {keys} of {self.keys} state_dict keys")


def dropped_modules(model: nn.Module, called: set, held: frozenset | set = frozenset()) -> list[Dropped]:
    """The parts of ``model`` no called module covers: every uncalled module with no called
    module inside it (the topmost of them), and the tensors an uncalled container holds
    directly, but for ``held``, the keys of the parameters bare layers hold. A module that
    is also registered under a called name is not dropped."""
    objects = {id(m) for path, m in model.named_modules(remove_duplicate=False) if path in called}
    inside = {path.rsplit(".", i)[0] for path in called for i in range(path.count(".") + 1)} | {""}

    def covered(path: str) -> bool:  # called, or inside a called module
        parts = path.split(".")
        return any(".".join(parts[:i]) in called for i in range(1, len(parts) + 1))

    dropped: dict[str, Dropped] = {}
    modules = dict(model.named_modules(remove_duplicate=False))
    keys = list(model.state_dict(keep_vars=True))
    for key in keys:
        owner = key.rpartition(".")[0]
        if key in held or covered(owner) or id(modules.get(owner)) in objects:
            continue
        parts = owner.split(".") if owner else []
        top = next((".".join(parts[:i]) for i in range(1, len(parts) + 1)
                    if ".".join(parts[:i]) not in inside), None)
        if top is not None and id(modules[top]) in objects:
            continue
        if top is None:  # a container that calls modules holds this tensor itself
            entry = dropped.setdefault(key, Dropped(key, "tensor", 0))
            tensor = model.get_parameter(key) if key in dict(model.named_parameters()) else None
            entry.params = tensor.numel() if tensor is not None else 0
        else:
            module = modules[top]
            entry = dropped.setdefault(top, Dropped(top, type(module).__name__,
                                                    sum(p.numel() for p in module.parameters())))
        entry.keys.append(key)
    return list(dropped.values())
