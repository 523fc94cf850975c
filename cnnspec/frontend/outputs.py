"""A spec's ``outputs:``: the nodes the network returns, named (a mapping, the built model
returns a dict) or listed (a list, it returns a tuple). Without it the network returns its
last item's output."""

from __future__ import annotations

from cnnspec.errors import SpecStructureError, UnknownNameError, did_you_mean
from cnnspec.frontend.source import LDict, LList
from cnnspec.ir.graph import INPUT
from cnnspec.util.names import is_identifier

EXAMPLE = "e.g. outputs: {out: classifier, aux: aux_classifier}, or outputs: [head, aux_head]"


def read_outputs(doc: LDict, expander) -> tuple[dict, bool]:
    """(output name -> node, whether given as a list) for the spec's ``outputs:``; ({}, False)
    when it has none. A node is named as ``from`` names it at the top level (a group by its
    name: its output)."""
    if "outputs" not in doc:
        return {}, False
    raw = doc["outputs"]
    at = doc.value_position("outputs").at("outputs")
    if isinstance(raw, LDict):
        entries = [(name, raw[name], raw.value_position(name).at(f"outputs.{name}")) for name in raw]
    elif isinstance(raw, LList):
        entries = [(_text(ref), ref, raw.position(i).at(f"outputs[{i}]")) for i, ref in enumerate(raw)]
    else:
        raise SpecStructureError("outputs must map output names to nodes, or list nodes", at,
                                 hint=EXAMPLE)
    if not entries:
        raise SpecStructureError("outputs names no node", at, hint=EXAMPLE)
    outputs: dict = {}
    by_node: dict = {}
    for name, ref, where in entries:
        if name in outputs:
            raise SpecStructureError(f"outputs: {name} is listed twice", where,
                                     hint="list each node once")
        if isinstance(raw, LDict) and not is_identifier(name):
            raise SpecStructureError(f"outputs: {name!r} cannot be an output name", where,
                                     hint="use letters, digits and _ (out, aux); " + EXAMPLE)
        node = _node(name, ref, where, expander)
        if node in by_node:
            raise SpecStructureError(
                f"outputs: {name} and {by_node[node]} are the same node ({node})", where,
                hint="name each node once; a model returns a tensor under one name")
        by_node[node] = name
        outputs[name] = node
    return outputs, isinstance(raw, LList)


def _text(ref):
    """A node name as written: a number (``1``, as in ``features.1``) is its text."""
    return str(ref) if isinstance(ref, int) and not isinstance(ref, bool) and ref >= 0 else ref


def _node(name, ref, where, expander) -> str:
    ref = _text(ref)
    if not isinstance(ref, str):
        raise SpecStructureError(f"outputs: {name}: {ref!r} is not a node name", where,
                                 hint="name the node (or group) by its name, e.g. head")
    if ref == INPUT:
        raise SpecStructureError(f"outputs: {name} is the network's input", where,
                                 hint="an output is computed by a layer: name a node")
    pieces = expander.multi.get(ref)
    if pieces is not None:
        raise SpecStructureError(
            f"outputs: {name} is {ref!r}, which has {len(pieces)} outputs", where,
            hint="name one piece, e.g. " + ", ".join(pieces[:2]))
    if ref in expander.shapes:
        return ref
    if ref in expander.aliases:
        return expander.aliases[ref]
    raise UnknownNameError(
        f"outputs: {name}: no node or group is named {ref!r}", where,
        hint=did_you_mean(ref, [*expander.shapes, *expander.aliases])
        or "name a node or group by its full dotted name, e.g. head or backbone.layer4")
