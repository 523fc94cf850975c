"""From a parsed YAML spec to the graph IR: vars, expressions and layer lists resolved.

The spec language is documented in docs/spec.md; the JSON Schema in :mod:`cnnspec.schema`
is generated from the same declarations used here.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import dims, expr
from .errors import (
    BudgetError,
    ExpressionError,
    Position,
    SpecStructureError,
    UnknownNameError,
    UsageError,
    did_you_mean,
)
from .graph import INPUT, Graph, Node
from .layers import lookup
from .layers.base import AttrValueError
from .layers.registry import all_names, suggest
from .source import LDict, LList, load_yaml, read_spec_file

TOP_KEYS = ("name", "description", "input", "vars", "layers")
NODE_KEYS = ("name", "trainable")
GROUP = "sequential"
GROUP_KEYS = ("name", "trainable", "layers")

#: The most nodes a spec may expand to, and the deepest nesting of groups.
MAX_NODES = 200_000
MAX_DEPTH = 64

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def load_spec(path, overrides: dict | None = None, input_shape=None) -> Graph:
    """Read a spec file and expand it into a :class:`Graph`.

    ``overrides`` replaces vars (like ``--set``); ``input_shape`` replaces the declared input
    (a tuple of ints and/or names, or text such as ``"3x224x224"`` or ``"3xHxW"``)."""
    doc = read_spec_file(path)
    return build_graph(doc, str(path), overrides, input_shape, default_name=Path(path).stem)


def parse_spec(text: str, file: str = "<string>", overrides: dict | None = None,
               input_shape=None) -> Graph:
    """Like :func:`load_spec`, from YAML text."""
    return build_graph(load_yaml(text, file), file, overrides, input_shape)


def parse_input_shape(text: str) -> tuple:
    """``"3x224x224"`` → (3, 224, 224); names such as ``H`` stay names (symbolic input)."""
    parts = [p.strip() for p in re.split(r"[x×,]", str(text).strip()) if p.strip()]
    if not parts:
        raise UsageError(f"cannot read input shape '{text}'", hint="write it as CxHxW, e.g. 3x224x224")
    shape = []
    for part in parts:
        if part.isdigit():
            shape.append(int(part))
        elif dims.is_symbol_name(part):
            shape.append(part)
        else:
            raise UsageError(
                f"cannot read input shape '{text}': '{part}' is neither a number nor a name",
                hint="write it as CxHxW, e.g. 3x224x224 or 3xHxW",
            )
    return tuple(shape)


def parse_overrides(pairs) -> dict:
    """``["width=1.25", "classes=10"]`` → {"width": "1.25", "classes": "10"}."""
    result = {}
    for pair in pairs:
        name, sep, value = str(pair).partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name) or not value.strip():
            raise UsageError(f"cannot read --set '{pair}'", hint="write it as NAME=VALUE, e.g. width=1.25")
        result[name] = value.strip()
    return result


class _Scope:
    """Variable values and the evaluation of expressions found at a spec position."""

    def __init__(self, values: dict):
        self.values = values

    def evaluate(self, text: str, pos: Position):
        try:
            return expr.evaluate(text, self.values)
        except expr.ExprError as exc:
            raise ExpressionError(exc.message, pos, exc.hint) from None


def build_graph(doc, file: str = "<spec>", overrides: dict | None = None, input_shape=None,
                default_name: str = "model") -> Graph:
    """Expand a parsed spec document into a Graph."""
    if not isinstance(doc, LDict):
        raise SpecStructureError(
            "a spec is a mapping with at least 'input' and 'layers'",
            getattr(doc, "pos", Position(file)),
            hint="start the file with 'input: [3, 224, 224]' and a 'layers:' list",
        )
    _check_keys({k: v for k, v in doc.items() if not _is_extension(k)}, TOP_KEYS, "", doc=doc)
    for key in ("input", "layers"):
        if key not in doc:
            raise SpecStructureError(f"the spec has no '{key}'", doc.pos.at(key))
    if "name" in doc and not isinstance(doc["name"], str):
        raise SpecStructureError("name must be text", doc.value_position("name").at("name"))
    scope = _Scope(_eval_vars(doc, overrides or {}))
    shape = _input_shape(doc, scope, input_shape)
    layers = doc["layers"]
    if not isinstance(layers, LList) or not layers:
        raise SpecStructureError(
            "layers must be a non-empty list", doc.value_position("layers").at("layers")
        )
    total = _expanded_size(layers, {}, 0)
    if total > MAX_NODES:
        raise BudgetError(
            f"the spec expands to {total:,} layers; cnnspec builds at most {MAX_NODES:,}",
            doc.value_position("layers").at("layers"),
            hint="check for YAML aliases that nest a list inside itself many times over",
        )
    expander = _Expander(scope)
    last = expander.chain(layers, "", INPUT, "layers", True, 0)
    return Graph(
        name=doc.get("name", default_name),
        input_shape=shape,
        nodes=expander.nodes,
        output=last,
        file=file,
        vars=dict(scope.values),
        input_pos=doc.value_position("input").at("input"),
    )


def _is_extension(key) -> bool:
    """Top-level keys starting with ``x-`` are ignored: a place to keep YAML anchors."""
    return isinstance(key, str) and key.startswith("x-")


def _check_keys(mapping, allowed, path: str, what: str = "", doc: LDict | None = None) -> None:
    doc = doc if doc is not None else mapping
    for key in mapping:
        if key not in allowed:
            keypath = f"{path}.{key}" if path else str(key)
            raise UnknownNameError(
                f"unknown key '{key}'" + (f" in {what}" if what else ""),
                doc.position(key).at(keypath),
                hint=did_you_mean(str(key), allowed) or "allowed keys: " + ", ".join(allowed)
                + ("; top-level keys starting with 'x-' are ignored (for YAML anchors)" if not path else ""),
            )


def _eval_vars(doc: LDict, overrides: dict) -> dict:
    raw = doc.get("vars")
    if raw is None:
        raw = LDict()
        raw.pos, raw.key_pos, raw.value_pos = doc.pos, {}, {}
    if not isinstance(raw, LDict):
        raise SpecStructureError("vars must be a mapping of names to values",
                                 doc.value_position("vars").at("vars"))
    for name in overrides:
        if name not in raw:
            raise UnknownNameError(
                f"--set {name}: the spec has no variable '{name}'",
                raw.pos.at("vars"),
                hint=did_you_mean(name, raw) or (
                    "variables: " + ", ".join(map(str, raw)) if raw else "the spec defines no vars"
                ),
            )
    for name in raw:
        if not isinstance(name, str) or not _NAME.match(name) or name in expr.FUNCTIONS:
            raise SpecStructureError(
                f"'{name}' cannot be a variable name", raw.position(name).at(f"vars.{name}"),
                hint="use letters, digits and _, not starting with a digit, and no function name",
            )
    values: dict = {}
    for name in raw:
        _resolve_var(name, raw, overrides, values, [])
    return {name: values[name] for name in raw}


def _resolve_var(name: str, raw: LDict, overrides: dict, values: dict, stack: list):
    """Evaluate one variable, first the variables its expression uses (in any order)."""
    if name in values:
        return
    if name in stack:
        cycle = " -> ".join([*stack[stack.index(name):], name])
        raise ExpressionError(f"variables refer to each other in a cycle: {cycle}",
                              raw.value_position(stack[0]).at(f"vars.{stack[0]}"))
    value = raw[name]
    pos = raw.value_position(name).at(f"vars.{name}")
    if name in overrides:
        value = overrides[name]
        pos = Position("--set", 0, 0, name)
        if value in ("true", "false"):
            value = value == "true"
    if isinstance(value, str):
        try:
            used = expr.free_names(value)
        except expr.ExprError as exc:
            raise ExpressionError(exc.message, pos, exc.hint) from None
        for other in sorted(used & set(raw)):
            _resolve_var(other, raw, overrides, values, [*stack, name])
        value = _Scope(values).evaluate(value, pos)
    elif not isinstance(value, (bool, int, float)):
        raise SpecStructureError(
            f"variable '{name}' must be a number, true/false or an expression, "
            f"got {type(value).__name__}", pos,
        )
    values[name] = value


def _input_shape(doc: LDict, scope: _Scope, override) -> tuple:
    if override is not None:
        entries = parse_input_shape(override) if isinstance(override, str) else tuple(override)
        pos = Position("--input")
    else:
        entries = doc["input"]
        pos = doc.value_position("input").at("input")
        if not isinstance(entries, LList):
            raise SpecStructureError(
                "input must be a list: [channels, height, width]", pos, hint="e.g. input: [3, 224, 224]"
            )
    if len(entries) not in (1, 3):
        raise SpecStructureError(
            f"input has {len(entries)} dims; cnnspec takes [channels, height, width] or [features]",
            pos,
        )
    shape = []
    for i, entry in enumerate(entries):
        at = entries.position(i).at(f"input[{i}]") if isinstance(entries, LList) else pos
        if isinstance(entry, bool) or not isinstance(entry, (int, str)):
            raise SpecStructureError(f"input[{i}] must be a positive integer or a name", at)
        if isinstance(entry, str) and dims.is_symbol_name(entry) and entry not in scope.values:
            shape.append(dims.symbol(entry))
            continue
        value = scope.evaluate(entry, at) if isinstance(entry, str) else entry
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SpecStructureError(f"input[{i}] must be a positive integer, got {value!r}", at)
        shape.append(value)
    return tuple(shape)


def _expanded_size(items, memo: dict, depth: int) -> int:
    """How many layers a list expands to, counted without expanding it: lists reached
    through YAML aliases are the same object, so each is counted once (memo by id)."""
    if id(items) in memo:
        return memo[id(items)]
    if depth > MAX_DEPTH:
        raise BudgetError(f"groups are nested more than {MAX_DEPTH} deep",
                          getattr(items, "pos", Position()))
    total = 0
    for item in items if isinstance(items, list) else ():
        body = item.get(GROUP) if isinstance(item, dict) and len(item) == 1 else None
        if isinstance(body, dict) and isinstance(body.get("layers"), list):
            total += _expanded_size(body["layers"], memo, depth + 1)
        else:
            total += 1
    memo[id(items)] = total
    return total


class _Expander:
    """Walks the layer lists, creating nodes; counts them against the budget."""

    def __init__(self, scope: _Scope):
        self.scope = scope
        self.nodes: list[Node] = []

    def chain(self, items: LList, prefix: str, prev: str, path: str, trainable: bool,
              depth: int) -> str:
        if depth > MAX_DEPTH:
            raise BudgetError(f"groups are nested more than {MAX_DEPTH} deep", items.pos.at(path))
        siblings: dict[str, Position] = {}
        for index, item in enumerate(items):
            pos = items.position(index).at(f"{path}[{index}]")
            type_name, body, body_pos = _split_item(item, pos)
            name = self._node_name(body, index, pos, siblings)
            node_trainable = trainable and self._trainable(body, pos)
            if type_name == GROUP:
                if not isinstance(body, LDict) or "layers" not in body:
                    raise SpecStructureError(
                        "sequential needs a 'layers' list", body_pos.at(pos.path + ".sequential"),
                        hint="- sequential: {name: features, layers: [...]}",
                    )
                _check_keys(body, GROUP_KEYS, pos.path + ".sequential", "sequential")
                sub = body["layers"]
                if not isinstance(sub, LList) or not sub:
                    raise SpecStructureError(
                        "layers must be a non-empty list",
                        body.value_position("layers").at(pos.path + ".sequential.layers"),
                    )
                prev = self.chain(sub, f"{prefix}{name}.", prev, pos.path + ".sequential.layers",
                                  node_trainable, depth + 1)
                continue
            layer = self._make_layer(type_name, body, body_pos, pos)
            node = Node(prefix + name, layer, (prev,), node_trainable, pos)
            self.nodes.append(node)
            prev = node.name
        return prev

    def _node_name(self, body, index: int, pos: Position, siblings: dict) -> str:
        name = body.get("name") if isinstance(body, LDict) else None
        if name is None:
            name = str(index)
        elif not isinstance(name, str) or not _NAME.match(name) or name == INPUT:
            raise SpecStructureError(
                f"'{name}' cannot be a node name",
                body.value_position("name").at(pos.path + ".name"),
                hint="use letters, digits and _, not starting with a digit; 'input' is reserved",
            )
        if name in siblings:
            raise SpecStructureError(
                f"duplicate node name '{name}' (first used at line {siblings[name].line})",
                body.value_position("name").at(pos.path + ".name"),
            )
        siblings[name] = pos
        return name

    def _trainable(self, body, pos: Position) -> bool:
        if not isinstance(body, LDict) or "trainable" not in body:
            return True
        value = body["trainable"]
        if not isinstance(value, bool):
            raise SpecStructureError(
                "trainable must be true or false", body.value_position("trainable").at(pos.path)
            )
        return value

    def _make_layer(self, type_name: str, body, body_pos: Position, pos: Position):
        cls = lookup(type_name)
        if cls is None:
            raise UnknownNameError(
                f"unknown layer type '{type_name}'", pos,
                hint=suggest(type_name) or "layer types: " + ", ".join(all_names()),
            )
        here = f"{pos.path}.{type_name}"
        if body is None:
            body = {}
        elif not isinstance(body, LDict):
            if cls.shorthand is None:
                raise SpecStructureError(
                    f"{type_name} takes a mapping of settings, not {body!r}", body_pos.at(here),
                    hint=_example(cls),
                )
            body = {cls.shorthand: body}
        by_name = {}
        for attr in cls.attrs:
            for spelling in (attr.name, *attr.aliases):
                by_name[spelling] = attr
        values: dict = {}
        for key, raw in body.items():
            if key in NODE_KEYS:
                continue
            key_pos = body.position(key).at(f"{here}.{key}") if isinstance(body, LDict) else body_pos.at(here)
            attr = by_name.get(key)
            if attr is None:
                names = [*by_name, *NODE_KEYS]
                raise UnknownNameError(
                    f"{type_name} has no setting '{key}'", key_pos,
                    hint=did_you_mean(str(key), names) or (
                        f"{type_name} settings: " + ", ".join(a.name for a in cls.attrs)
                        if cls.attrs else f"{type_name} takes no settings"
                    ),
                )
            if attr.name in values:
                raise SpecStructureError(f"{attr.name} is given twice (as '{key}')", key_pos)
            value_pos = body.value_position(key).at(f"{here}.{key}") if isinstance(body, LDict) else key_pos
            try:
                values[attr.name] = attr.kind.parse(
                    raw, lambda text, p=value_pos: self.scope.evaluate(text, p)
                )
            except AttrValueError as exc:
                raise SpecStructureError(f"{type_name} {attr.name}: {exc.message}", value_pos,
                                         hint=f"{attr.name} takes {attr.kind.name}") from None
        missing = [a.name for a in cls.attrs if a.required and a.name not in values]
        if missing:
            raise SpecStructureError(
                f"{type_name} needs {' and '.join(missing)}", pos, hint=_example(cls)
            )
        layer = cls(**values)
        try:
            layer.validate()
        except AttrValueError as exc:
            at = pos
            if exc.attr and isinstance(body, LDict):
                for key in body:
                    if by_name.get(key) is not None and by_name[key].name == exc.attr:
                        at = body.value_position(key).at(f"{here}.{key}")
            raise SpecStructureError(f"{type_name}: {exc.message}", at) from None
        return layer


def _split_item(item, pos: Position):
    """A list item is ``type`` or ``{type: settings}``; returns (type, settings, position)."""
    if isinstance(item, str):
        return item, None, pos
    if isinstance(item, LDict) and len(item) == 1:
        (type_name,) = item
        return str(type_name), item[type_name], item.value_position(type_name)
    if isinstance(item, LDict) and len(item) > 1:
        keys = ", ".join(map(str, item))
        raise SpecStructureError(
            f"a layer is written as one key, its type; this item has {len(item)} ({keys})", pos,
            hint="put settings under the type: '- conv2d: {out: 64, kernel: 3, name: conv1}'",
        )
    raise SpecStructureError(
        f"a layer must be a type name or a one-key mapping, got {type(item).__name__}", pos,
        hint="e.g. '- relu' or '- conv2d: {out: 64, kernel: 3}'",
    )


def _example(cls) -> str:
    required = [a for a in cls.attrs if a.required]
    if not required:
        return f"e.g. '- {cls.type_name}'"
    sample = {"out": 64, "kernel": 3, "output_size": 1}
    inner = ", ".join(f"{a.name}: {sample.get(a.name, 1)}" for a in required)
    return f"e.g. '- {cls.type_name}: {{{inner}}}'"
