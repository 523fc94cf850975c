"""The graph of an analysis as a neutral drawing: nodes, edges and nested clusters, which
:mod:`cnnspec.reports.draw_dot` and :mod:`cnnspec.reports.draw_mermaid` write out.

A drawn node is one layer, or a block collapsed into one node by ``depth`` exactly as
``cnnspec analyze --depth`` collapses it into one row (:func:`table_report.groups`). Its
figures are those of the table's row: params and MACs summed over the layers it stands for,
the output shape and activation memory of its last layer. The blocks that enclose a node
(every dotted prefix of its name) are its clusters, innermost last.

An edge joins the node that computes a tensor to each node that reads it. An edge from a
branch point (a tensor read more than once) straight into a merge (a node with more than one
input) is a *shortcut*: the identity path of a residual block, a U-Net skip, a dense
connection; the renderers draw it dashed."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnspec.errors import UsageError
from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import INPUT
from cnnspec.reports.table_report import groups
from cnnspec.util import dims, units

__all__ = ["COLOR_BY", "DARK", "PALETTE", "DrawEdge", "DrawNode", "Drawing", "build_drawing", "cluster_title",
           "cost", "node_lines"]

#: --color-by choices -> what the legend calls them
COLOR_BY = {"params": "params", "macs": "MACs", "activations": "activation memory"}

#: ColorBrewer's 9-class YlOrRd, light to dark; a node that costs nothing stays white
PALETTE = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026",
           "#800026")
WHITE = "#ffffff"
#: the palette entries dark enough to need white text
DARK = frozenset(PALETTE[6:])


@dataclass(frozen=True)
class DrawNode:
    """One node of the drawing. ``id`` is ours (``input``, ``n0``, ``n1``…), safe in any
    format; ``name`` and ``kind`` come from the spec and must be escaped by the renderer."""

    id: str
    name: str
    kind: str
    shape: str
    params: object = 0
    macs: object = 0
    activations: object = 0
    layers: int = 1
    collapsed: bool = False
    clusters: tuple[str, ...] = ()
    is_input: bool = False
    is_output: bool = False
    #: the names of the layers it draws (one, or a collapsed block's)
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class DrawEdge:
    src: str
    dst: str
    shortcut: bool = False


@dataclass
class Drawing:
    """Nodes in the graph's order, edges, and the cluster tree: ``items[None]`` lists what
    the top level holds, ``items[name]`` what the cluster ``name`` holds, each entry
    ``("node", id)`` or ``("cluster", name)`` in the order of first appearance."""

    name: str
    nodes: list[DrawNode]
    edges: list[DrawEdge]
    cluster_kinds: dict[str, str | None]
    items: dict[str | None, list[tuple[str, str]]] = field(default_factory=dict)
    fills: dict[str, str] = field(default_factory=dict)
    legend: str | None = None

    def __post_init__(self) -> None:
        self._by_id = {node.id: node for node in self.nodes}

    def node(self, node_id: str) -> DrawNode:
        return self._by_id[node_id]


def _shape(analysis: Analysis, output: tuple) -> str:
    return "x".join(dims.fmt(d) for d in (analysis.batch, *output))


def _enclosing(name: str) -> tuple[str, ...]:
    parts = name.split(".")
    return tuple(".".join(parts[:i]) for i in range(1, len(parts)))


def _draw_nodes(analysis: Analysis, depth: int | None) -> tuple[list[DrawNode], dict[str, str]]:
    """The drawn nodes, and for every layer name (and INPUT) the id of the node drawing it."""
    graph = analysis.graph
    nodes = [DrawNode("input", "input", "input", _shape(analysis, analysis.input_shape), is_input=True)]
    drawn_as = {INPUT: "input"}
    for index, (key, members) in enumerate(groups(analysis, depth)):
        facts = [analysis.facts[n.name] for n in members]
        single = len(members) == 1 and members[0].name == key
        kind = members[0].type_name if single else (graph.groups.get(key) or (None,))[0]
        node_id = f"n{index}"
        nodes.append(DrawNode(
            node_id, key, kind or "block", _shape(analysis, facts[-1].output),
            params=sum((f.params for f in facts), 0), macs=sum((f.macs for f in facts), 0),
            activations=facts[-1].activation_bytes, layers=len(members), collapsed=not single,
            clusters=_enclosing(key),
            is_output=any(n.name == graph.output for n in members),
            members=tuple(n.name for n in members)))
        drawn_as.update((n.name, node_id) for n in members)
    return nodes, drawn_as


def _draw_edges(analysis: Analysis, drawn_as: dict[str, str]) -> list[DrawEdge]:
    pairs: dict[tuple[str, str], None] = {}  # ordered and without repeats
    for node in analysis.graph.nodes:
        dst = drawn_as[node.name]
        for src in node.inputs:
            if drawn_as[src] != dst:
                pairs[(drawn_as[src], dst)] = None
    fan_out: dict[str, int] = {}
    fan_in: dict[str, int] = {}
    for src, dst in pairs:
        fan_out[src] = fan_out.get(src, 0) + 1
        fan_in[dst] = fan_in.get(dst, 0) + 1
    return [DrawEdge(src, dst, fan_out[src] > 1 and fan_in[dst] > 1) for src, dst in pairs]


def _tree(nodes: list[DrawNode]) -> dict[str | None, list[tuple[str, str]]]:
    items: dict[str | None, list[tuple[str, str]]] = {None: []}
    for node in nodes:
        parent = None
        for cluster in node.clusters:
            if cluster not in items:
                items[cluster] = []
                items[parent].append(("cluster", cluster))
            parent = cluster
        items[parent].append(("node", node.id))
    return items


def cost(node: DrawNode, color_by: str):
    return {"params": node.params, "macs": node.macs, "activations": node.activations}[color_by]


def _amount(value, color_by: str) -> str:
    if color_by == "macs":
        return units.ops(value, "MACs")
    return units.nbytes(value) if color_by == "activations" else f"{units.count(value)} params"


def _fills(nodes: list[DrawNode], color_by: str) -> tuple[dict[str, str], str]:
    """Each node's fill on a linear scale of its cost: white for none, the lightest step for
    the least, the darkest for the most costly; and the legend that says so."""
    values = {n.id: dims.to_int(cost(n, color_by)) for n in nodes if not n.is_input}
    if any(v is None for v in values.values()):
        raise UsageError(f"--color-by {color_by} needs a concrete input size: the costs are formulas",
                         hint="give --input with numbers, e.g. --input 3x224x224")
    top = max(values.values(), default=0)
    steps = len(PALETTE)
    fills = {node_id: PALETTE[min(steps - 1, value * steps // top)]
             for node_id, value in values.items() if value > 0}
    legend = (f"fill: {COLOR_BY[color_by]} per node on a linear scale, white for none, "
              f"darkest for the most, {_amount(top, color_by)}")
    return fills, legend


def build_drawing(analysis: Analysis, depth: int | None = None, color_by: str | None = None) -> Drawing:
    """The drawing of ``analysis``'s graph, blocks nested deeper than ``depth`` collapsed
    (None: as ``analyze`` picks, at most 60 nodes), filled by ``color_by`` (a key of
    :data:`COLOR_BY`) when given."""
    graph = analysis.graph
    nodes, drawn_as = _draw_nodes(analysis, depth)
    clusters = {c for n in nodes for c in n.clusters}
    drawing = Drawing(graph.name, nodes, _draw_edges(analysis, drawn_as),
                      {c: (graph.groups.get(c) or (None,))[0] for c in sorted(clusters)}, _tree(nodes))
    if color_by is not None:
        if color_by not in COLOR_BY:
            raise UsageError(f"cannot colour by {color_by!r}", hint=f"use one of {', '.join(COLOR_BY)}")
        drawing.fills, drawing.legend = _fills(nodes, color_by)
    return drawing


def node_lines(node: DrawNode) -> list[str]:
    """The lines of a node's label, unescaped: name, type (or the block's kind and size),
    output shape, and params and MACs."""
    if node.is_input:
        return [node.name, node.shape]
    kind = node.kind
    if node.collapsed:
        kind += f", {node.layers} layer{'s' if node.layers != 1 else ''}"
    return [node.name, kind, node.shape, f"{units.count(node.params)} params, {units.ops(node.macs, 'MACs')}"]


def cluster_title(name: str, kind: str | None) -> str:
    return f"{name}: {kind}" if kind else name
