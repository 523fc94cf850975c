"""From a parsed YAML spec to the graph IR: vars, expressions and layer lists resolved.

The spec language is documented in docs/spec.md; the JSON Schema in :mod:`cnnspec.reports.schema`
is generated from the same declarations used here.
"""

from __future__ import annotations

from pathlib import Path

from cnnspec.errors import (
    BudgetError,
    NotASpecError,
    Position,
    SpecStructureError,
    UnknownNameError,
    did_you_mean,
    printable,
)
from cnnspec.frontend.expand import Expander
from cnnspec.frontend.outputs import read_outputs
from cnnspec.frontend.scope import MAX_DEPTH, MAX_NODES, Scope, evaluate, evaluate_mapping
from cnnspec.frontend.scope import NAME as _NAME
from cnnspec.frontend.source import LDict, LList, load_yaml, read_spec_file
from cnnspec.ir.graph import INPUT, Graph
from cnnspec.util import dims
from cnnspec.util.names import parse_input_shape
from cnnspec.util.names import parse_overrides as parse_overrides  # re-exported

TOP_KEYS = ("name", "description", "input", "normalize", "vars", "blocks", "layers", "outputs", "lint")
BLOCK_KEYS = ("args", "layers")


def load_spec(path, overrides: dict | None = None, input_shape=None, only_defined: bool = False) -> Graph:
    """Read a spec file and expand it into a :class:`Graph`.

    ``overrides`` replaces vars (like ``--set``); ``input_shape`` replaces the declared input
    (a tuple of ints and/or names, or text such as ``"3x224x224"`` or ``"3xHxW"``). With
    ``only_defined`` the overrides the spec has no variable for are passed over (one ``--set``
    over several specs) instead of being an error."""
    doc = read_spec_file(path)
    if only_defined and overrides:
        overrides = defined_overrides(doc, overrides)
    return build_graph(doc, str(path), overrides, input_shape, default_name=Path(path).stem)


def spec_vars(doc) -> set:
    """The variable names a parsed spec document defines."""
    raw = doc.get("vars") if isinstance(doc, LDict) else None
    return set(raw) if isinstance(raw, dict) else set()


def defined_overrides(doc, overrides: dict) -> dict:
    """The overrides whose variable the parsed spec document defines."""
    names = spec_vars(doc)
    return {name: value for name, value in overrides.items() if name in names}


def parse_spec(text: str, file: str = "<string>", overrides: dict | None = None,
               input_shape=None) -> Graph:
    """Like :func:`load_spec`, from YAML text."""
    return build_graph(load_yaml(text, file), file, overrides, input_shape)


def build_graph(doc, file: str = "<spec>", overrides: dict | None = None, input_shape=None,
                default_name: str = "model") -> Graph:
    """Expand a parsed spec document into a Graph."""
    _check_document(doc, file)
    values = _eval_vars(doc, overrides or {})
    shape = _input_shape(doc, values, input_shape)
    blocks = _blocks(doc)
    layers = _layers(doc, blocks)
    expander = Expander(shape, blocks, file)
    expander.global_vars = values
    with dims.gc_paused():
        last = expander.expand_list(layers, Scope("", values), INPUT, "layers")
    outputs, as_list = read_outputs(doc, expander)
    if not outputs and last in expander.multi:
        raise SpecStructureError(f"the network ends in {last!r}, which has several outputs",
                                 layers.position(len(layers) - 1).at(f"layers[{len(layers) - 1}]"),
                                 hint="end the layer list with an item that reads one piece")
    return Graph(
        name=doc.get("name", default_name),
        input_shape=shape,
        nodes=expander.nodes,
        output=next(iter(outputs.values()), last),
        file=file,
        vars=dict(values),
        input_pos=doc.value_position("input").at("input"),
        groups=expander.groups,
        normalize=_normalize(doc, shape),
        lint=(doc["lint"], doc.value_position("lint")) if "lint" in doc else None,
        outputs=outputs,
        outputs_list=as_list,
    )


def _check_document(doc, file: str) -> None:
    """A spec is a mapping of the known top-level keys, with 'input' and 'layers', and a name
    and a description that are text (the name on one line)."""
    if not isinstance(doc, LDict):
        raise SpecStructureError(
            "a spec is a mapping with at least 'input' and 'layers'",
            getattr(doc, "pos", Position(file)),
            hint="start the file with 'input: [3, 224, 224]' and a 'layers:' list",
        )
    if "input" not in doc and "layers" not in doc:
        keys = ", ".join(str(k).lower() if isinstance(k, bool) else str(k) for k in list(doc)[:6])
        raise NotASpecError(
            f"this is not a cnnspec spec: it has neither 'input' nor 'layers' (its keys: {keys or 'none'})",
            doc.pos, hint="a spec starts with 'input: [3, 224, 224]' and a 'layers:' list; point "
                          "cnnspec at spec files only (e.g. pre-commit's files: ^specs/)",
        )
    _check_top_keys(doc)
    for key in ("input", "layers"):
        if key not in doc:
            raise SpecStructureError(f"the spec has no '{key}'", doc.pos.at(key))
    for key in ("name", "description"):
        if key in doc and not isinstance(doc[key], str):
            raise SpecStructureError(f"{key} must be text", doc.value_position(key).at(key))
    if "name" in doc and printable(doc["name"]) != doc["name"]:  # it heads every report
        raise SpecStructureError(f"name {printable(repr(doc['name']))} holds a control character",
                                 doc.value_position("name").at("name"), hint="write the name on one line")


def _layers(doc: LDict, blocks: dict) -> LList:
    """The top-level layer list: not empty, and not expanding past MAX_NODES (estimated
    before expanding)."""
    layers = doc["layers"]
    if not isinstance(layers, LList) or not layers:
        raise SpecStructureError("layers must be a non-empty list", doc.value_position("layers").at("layers"))
    total = _estimate(layers, blocks, {}, 0)
    if total > MAX_NODES:
        raise BudgetError(
            f"the spec expands to {total:,} layers or more; cnnspec builds at most {MAX_NODES:,}",
            doc.value_position("layers").at("layers"),
            hint="check for YAML aliases or blocks that nest a list inside itself many times over",
        )
    return layers


def _normalize(doc: LDict, shape: tuple) -> dict | None:
    """The declared input normalisation: ``normalize: {mean: [...], std: [...]}``, one value
    per input channel (or one for all)."""
    if "normalize" not in doc:
        return None
    raw = doc["normalize"]
    at = doc.value_position("normalize").at("normalize")
    example = "e.g. normalize: {mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}"
    if not isinstance(raw, LDict):
        raise SpecStructureError("normalize must be a mapping with mean and std", at, hint=example)
    for key in raw:
        if key not in ("mean", "std"):
            raise UnknownNameError(f"normalize has no setting '{key}'",
                                   raw.position(key).at(f"normalize.{key}"),
                                   hint="normalize takes mean and std")
    result = {}
    channels = shape[0]
    for key in ("mean", "std"):
        if key not in raw:
            raise SpecStructureError(f"normalize needs {key}", at, hint=example)
        values = raw[key] if isinstance(raw[key], list) else [raw[key]]
        where = raw.value_position(key).at(f"normalize.{key}")
        if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise SpecStructureError(f"normalize {key} must be a number or a list of numbers", where,
                                     hint=example)
        if key == "std" and any(v <= 0 for v in values):
            raise SpecStructureError("normalize std must be positive", where)
        if len(values) != 1 and isinstance(channels, int) and len(values) != channels:
            raise SpecStructureError(
                f"normalize {key} has {len(values)} values for {channels} input channels", where,
                hint="give one value per channel, or one for all")
        result[key] = tuple(float(v) for v in values)
    return result


def _is_extension(key) -> bool:
    """Top-level keys starting with ``x-`` are ignored: a place to keep YAML anchors."""
    return isinstance(key, str) and key.startswith("x-")


def _check_top_keys(doc: LDict) -> None:
    for key in doc:
        if key not in TOP_KEYS and not _is_extension(key):
            raise UnknownNameError(
                f"unknown key '{key}'", doc.position(key).at(str(key)),
                hint=did_you_mean(str(key), TOP_KEYS) or "allowed keys: " + ", ".join(TOP_KEYS)
                + "; top-level keys starting with 'x-' are ignored (for YAML anchors)",
            )


def _eval_vars(doc: LDict, overrides: dict) -> dict:
    raw = doc.get("vars")
    if raw is None:
        raw = LDict.at(doc.pos)
    if not isinstance(raw, LDict):
        raise SpecStructureError("vars must be a mapping of names to values",
                                 doc.value_position("vars").at("vars"))
    given, given_pos = {}, {}
    for name, value in overrides.items():
        if name not in raw:
            raise UnknownNameError(
                f"--set {name}: the spec has no variable '{name}'", raw.pos.at("vars"),
                hint=did_you_mean(name, raw) or (
                    "variables: " + ", ".join(map(str, raw)) if raw else "the spec defines no vars"
                ),
            )
        given[name] = (value == "true") if value in ("true", "false") else value
        given_pos[name] = Position("--set", 0, 0, name)
    return evaluate_mapping(raw, {}, given, "vars", given_pos)


def _blocks(doc: LDict) -> dict:
    from cnnspec.frontend.composites import COMPOSITES
    from cnnspec.layers import lookup

    raw = doc.get("blocks")
    if raw is None:
        return {}
    if not isinstance(raw, LDict):
        raise SpecStructureError("blocks must be a mapping of block names to definitions",
                                 doc.value_position("blocks").at("blocks"))
    blocks = {}
    for name, body in raw.items():
        at = raw.position(name).at(f"blocks.{name}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise SpecStructureError(f"'{name}' cannot be a block name", at)
        if lookup(name) is not None or name in COMPOSITES:
            raise SpecStructureError(f"block name '{name}' is already a layer type", at,
                                     hint="choose another name")
        if not isinstance(body, LDict) or not isinstance(body.get("layers"), LList):
            raise SpecStructureError(f"block {name} needs a 'layers' list (and optional 'args')", at,
                                     hint="blocks: {basic: {args: {planes: 64}, layers: [...]}}")
        for key in body:
            if key not in BLOCK_KEYS:
                raise UnknownNameError(f"block {name} has no setting '{key}'",
                                       body.position(key).at(f"blocks.{name}.{key}"),
                                       hint=did_you_mean(str(key), BLOCK_KEYS))
        args = body.get("args")
        if args is None:
            args = LDict.at(body.pos)
        if not isinstance(args, LDict):
            raise SpecStructureError(f"block {name}: args must be a mapping of names to defaults",
                                     body.value_position("args").at(f"blocks.{name}.args"))
        blocks[name] = {"args": args, "layers": body["layers"]}
    return blocks


def _estimate(value, blocks: dict, memo: dict, depth: int) -> int:
    """An estimate of how many layers a value expands to, made without expanding it: lists
    reached through YAML aliases are the same object and are counted once (memo by id), a
    block instance (``- b`` or ``- b: {...}``) counts as its body, a repeat with a literal count
    multiplies."""
    if isinstance(value, str):
        block = blocks.get(value)
        if block is None:
            return 1
        value = block["layers"]  # a bare block name: its body, as for '- b: {}'
    key = id(value)
    if key in memo:
        return memo[key]
    if depth > 2 * MAX_DEPTH:
        raise BudgetError(f"the spec nests more than {MAX_DEPTH} levels deep",
                          getattr(value, "pos", Position()))
    memo[key] = 1  # a cycle through aliases counts once (expansion reports it)
    if isinstance(value, list):
        total = sum(_estimate(item, blocks, memo, depth + 1) for item in value)
    elif isinstance(value, dict):
        (kind, body), = value.items() if len(value) == 1 else ((None, value),)
        if isinstance(kind, str) and kind in blocks and id(blocks[kind]["layers"]) != key:
            total = _estimate(blocks[kind]["layers"], blocks, memo, depth + 1)
        else:
            total = sum(_estimate(v, blocks, memo, depth + 1) for v in _children(body)) or 1
        if kind == "repeat" and isinstance(body, dict):
            times = body.get("times")
            name = body.get("block")
            block = blocks.get(name) if isinstance(name, str) else None
            inner = _estimate(block["layers"], blocks, memo, depth + 1) if block else total
            total = inner * times if isinstance(times, int) and times > 0 else inner
    else:
        total = 1
    memo[key] = total
    return total


def _children(body) -> list:
    if isinstance(body, dict):
        return [v for v in body.values() if isinstance(v, (list, dict))]
    return [body] if isinstance(body, list) else []


def _input_shape(doc: LDict, values: dict, override) -> tuple:
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
    declared = doc.get("input") if override is not None else None
    if isinstance(declared, LList) and len(declared) != len(entries):  # the layers fit its rank
        raise SpecStructureError(
            f"input has {len(entries)} dims; the spec's input has {len(declared)} "
            f"([{', '.join(map(str, declared))}])", pos,
        )
    if not 1 <= len(entries) <= 4:
        raise SpecStructureError(
            f"input has {len(entries)} dims; cnnspec takes [channels, height, width], [channels, "
            "length], [channels, depth, height, width] or [features]",
            pos,
        )
    shape = []
    for i, entry in enumerate(entries):
        at = entries.position(i).at(f"input[{i}]") if isinstance(entries, LList) else pos
        if isinstance(entry, bool) or not isinstance(entry, (int, str)):
            raise SpecStructureError(f"input[{i}] must be a positive integer or a name", at)
        if isinstance(entry, str) and dims.is_symbol_name(entry) and entry not in values:
            shape.append(dims.symbol(entry))
            continue
        value = evaluate(entry, values, at) if isinstance(entry, str) else entry
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SpecStructureError(f"input[{i}] must be a positive integer, got {value!r}", at)
        shape.append(value)
    return tuple(shape)
