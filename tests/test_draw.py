"""cnnspec draw: the graph as DOT, Mermaid and SVG.

The DOT and Mermaid outputs are read back by small parsers written here (they need nothing
installed), and checked against the graph itself: every node and edge present, the edges
those of the nodes' inputs, clusters nested as the dotted names, labels decoding back to the
spec's text. Where Graphviz is installed, ``dot -Tsvg`` must also accept every shipped
spec's DOT."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cnnspec.api import analyze, load_spec, parse_spec
from cnnspec.cli.main import main
from cnnspec.errors import printable
from cnnspec.ir.graph import INPUT
from cnnspec.reports.draw_dot import render_dot
from cnnspec.reports.draw_graph import PALETTE, build_drawing
from cnnspec.reports.draw_mermaid import render_mermaid

from .conftest import SPEC_FILES, SPEC_IDS, SPECS

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz's dot program is not installed")


@functools.cache
def analysis(name: str, input_shape: str | None = None):
    return analyze(load_spec(SPECS / f"{name}.yaml"), input_shape)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


# ------------------------------------------------------------------------- a DOT reader

TOKEN = re.compile(r'\s+|//[^\n]*|'
                   r'(?P<tok>"(?:[^"\\\n]|\\.)*"|->|[{}\[\];=,]|[A-Za-z_][A-Za-z0-9_]*|-?[0-9.]+)')


def dot_tokens(text: str) -> list[str]:
    tokens, at = [], 0
    while at < len(text):
        match = TOKEN.match(text, at)
        assert match, f"DOT cannot be read at {text[at:at + 40]!r}"
        if match.group("tok"):
            tokens.append(match.group("tok"))
        at = match.end()
    return tokens


def unquote(token: str) -> str:
    """A DOT quoted string's text, as Graphviz reads a label: ``\\n`` a line break, any other
    backslash escape the character itself."""
    assert token.startswith('"') and token.endswith('"')
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), token[1:-1])


@dataclasses.dataclass
class Dot:
    name: str = ""
    nodes: dict = dataclasses.field(default_factory=dict)     # id -> (attrs, clusters)
    edges: list = dataclasses.field(default_factory=list)     # (src, dst, attrs)
    clusters: list = dataclasses.field(default_factory=list)  # labels, in order
    graph_attrs: dict = dataclasses.field(default_factory=dict)


def _attrs(tokens: list[str], at: int) -> tuple[dict, int]:
    attrs = {}
    if tokens[at] != "[":
        return attrs, at
    at += 1
    while tokens[at] != "]":
        key, eq, value = tokens[at:at + 3]
        assert eq == "=", tokens[at:at + 3]
        attrs[key] = unquote(value) if value.startswith('"') else value
        at += 3 + (tokens[at + 3] == ",")
    return attrs, at + 1


def _statements(tokens: list[str], at: int, dot: Dot, stack: tuple) -> int:
    """Read statements up to the closing brace; returns the index after it."""
    while tokens[at] != "}":
        first = tokens[at]
        if first == "subgraph":
            assert tokens[at + 1].startswith("cluster_") and tokens[at + 2] == "{"
            dot.clusters.append(None)
            at = _statements(tokens, at + 3, dot, (*stack, len(dot.clusters) - 1))
            continue
        if tokens[at + 1] == "=":  # an attribute of the graph or cluster
            value = tokens[at + 2]
            value = unquote(value) if value.startswith('"') else value
            if stack and first == "label":
                dot.clusters[stack[-1]] = value
            elif not stack:
                dot.graph_attrs[first] = value
            at += 3
        elif first in ("graph", "node", "edge"):
            _, at = _attrs(tokens, at + 1)
        elif tokens[at + 1] == "->":
            dot.edges.append((first, tokens[at + 2], _attrs(tokens, at + 3)[0]))
            at = _attrs(tokens, at + 3)[1]
        else:
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", first), first
            assert first not in dot.nodes, f"node {first} declared twice"
            attrs, at = _attrs(tokens, at + 1)
            dot.nodes[first] = (attrs, stack)
        assert tokens[at] == ";", tokens[at:at + 5]
        at += 1
    return at + 1


def read_dot(text: str) -> Dot:
    tokens = dot_tokens(text)
    assert tokens[0] == "digraph" and tokens[2] == "{", tokens[:3]
    dot = Dot(unquote(tokens[1]))
    end = _statements(tokens, 3, dot, ())
    assert end == len(tokens), "text after the graph's closing brace"
    return dot


# --------------------------------------------------------------------- a Mermaid reader

MERMAID_ID = r"[A-Za-z][A-Za-z0-9_]*"
RESERVED = {"end", "graph", "flowchart", "subgraph", "style", "class", "classDef", "click", "linkStyle",
            "direction", "default"}
LABEL = r'"(?P<label>[^"]*)"'
MERMAID_LINES = {
    "node": re.compile(rf"(?P<id>{MERMAID_ID})(?:\[{LABEL}\]|\(\[{LABEL.replace('label', 'ilabel')}\]\))"),
    "subgraph": re.compile(rf"subgraph (?P<id>{MERMAID_ID})\[{LABEL}\]"),
    "end": re.compile(r"end"),
    "edge": re.compile(rf"(?P<src>{MERMAID_ID}) (?P<arrow>-->|-\.->) (?P<dst>{MERMAID_ID})"),
    "style": re.compile(rf"style (?P<id>{MERMAID_ID}) fill:#[0-9a-f]{{6}}(?:,color:#ffffff)?"),
    "classdef": re.compile(r"classDef (?:output stroke-width:3px|(?P<name>added|changed) "
                           r"fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},stroke-width:2px)"),
    "class": re.compile(rf"class (?P<ids>{MERMAID_ID}(?:,{MERMAID_ID})*) (?P<cls>output|added|changed)"),
    "comment": re.compile(r"%% (?P<text>[^\n]*)"),
}


def check_mermaid_label(raw: str) -> list[str]:
    """The lines of a label; it must hold no character Mermaid reads as syntax, only our
    ``<br>`` breaks and entity codes."""
    parts = raw.split("<br>")
    for part in parts:
        assert not re.search(r'["\[\](){}<>|`]', part), raw
        assert not re.search(r"#(?!\d+;)", part), raw
        assert not re.search(r"&", part), raw
    return [re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), p) for p in parts]


@dataclasses.dataclass
class Mermaid:
    nodes: dict = dataclasses.field(default_factory=dict)  # id -> (lines, subgraphs)
    edges: list = dataclasses.field(default_factory=list)  # (src, dst, arrow)
    subgraphs: list = dataclasses.field(default_factory=list)
    styled: dict = dataclasses.field(default_factory=dict)
    comments: list = dataclasses.field(default_factory=list)
    classes: dict = dataclasses.field(default_factory=dict)  # class name -> the ids it marks


def read_mermaid(text: str) -> Mermaid:
    lines = text.split("\n")
    assert lines[0] == "flowchart TB" and lines[-1] == ""
    out, stack = Mermaid(), []
    for line in lines[1:-1]:
        kind, match = next(((k, p.fullmatch(line.strip())) for k, p in MERMAID_LINES.items()
                            if p.fullmatch(line.strip())), (None, None))
        assert match, f"not a line Mermaid reads as meant: {line!r}"
        if kind in ("node", "subgraph", "style"):
            assert match["id"] not in RESERVED
        if kind == "node":
            assert match["id"] not in out.nodes, f"node {match['id']} declared twice"
            raw = match["label"] if match["label"] is not None else match["ilabel"]
            out.nodes[match["id"]] = (check_mermaid_label(raw), tuple(stack))
        elif kind == "subgraph":
            out.subgraphs.append(check_mermaid_label(match["label"])[0])
            stack.append(len(out.subgraphs) - 1)
        elif kind == "end":
            assert stack, "end without subgraph"
            stack.pop()
        elif kind == "edge":
            out.edges.append((match["src"], match["dst"], match["arrow"]))
        elif kind == "style":
            out.styled[match["id"]] = line
        elif kind == "comment":
            out.comments.append(match["text"])
        elif kind == "classdef" and match["name"]:
            assert match["name"] not in out.classes, f"class {match['name']} defined twice"
            out.classes[match["name"]] = []
        elif kind == "class":
            assert match["cls"] == "output" or match["cls"] in out.classes, "class used before its classDef"
            out.classes.setdefault(match["cls"], []).extend(match["ids"].split(","))
    assert not stack, "subgraph without end"
    for ids in out.classes.values():
        assert ids and all(i in out.nodes for i in ids), ids
    for src, dst, _ in out.edges:
        assert src in out.nodes and dst in out.nodes, (src, dst)
    return out


# ----------------------------------------------------------- checks against the graph

def expected_edges(graph) -> set:
    return {(src, node.name) for node in graph.nodes for src in node.inputs}


def enclosing(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def check_against_graph(graph, names: dict, edges: set, clusters_of: dict) -> None:
    """``names``: drawn id -> the name its label shows; ``clusters_of``: name -> the names of
    the clusters it was declared in, outermost first."""
    assert sorted(names.values()) == sorted([INPUT, *(n.name for n in graph.nodes)])
    assert edges == expected_edges(graph)
    for node in graph.nodes:
        assert clusters_of[node.name] == enclosing(node.name), node.name


@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_dot_has_every_node_edge_and_cluster(path):
    result = analysis(path.stem)
    graph = result.graph
    dot = read_dot(render_dot(build_drawing(result, 0)))
    assert dot.name == graph.name
    names = {i: attrs["label"].split("\n")[0] for i, (attrs, _) in dot.nodes.items()}
    edges = {(names[s], names[d]) for s, d, _ in dot.edges}
    assert len(edges) == len(dot.edges), "an edge drawn twice"
    clusters_of = {names[i]: [dot.clusters[c].split(": ")[0] for c in stack]
                   for i, (_, stack) in dot.nodes.items()}
    check_against_graph(graph, names, edges, clusters_of)
    for node_id, (attrs, _) in dot.nodes.items():
        if names[node_id] != INPUT:
            node = graph.node(names[node_id])
            lines = attrs["label"].split("\n")
            assert lines[1] == node.type_name
            assert lines[2] == "x".join(map(str, (1, *result.facts[node.name].output)))
            assert (attrs.get("penwidth") == "2") == (node.name == graph.output)
    for label in dot.clusters:
        name, _, kind = label.partition(": ")
        assert kind == graph.groups[name][0]


@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_mermaid_has_every_node_edge_and_subgraph(path):
    result = analysis(path.stem)
    graph = result.graph
    chart = read_mermaid(render_mermaid(build_drawing(result, 0)))
    names = {i: lines[0] for i, (lines, _) in chart.nodes.items()}
    edges = {(names[s], names[d]) for s, d, _ in chart.edges}
    assert len(edges) == len(chart.edges), "an edge drawn twice"
    clusters_of = {names[i]: [chart.subgraphs[c].split(": ")[0] for c in stack]
                   for i, (_, stack) in chart.nodes.items()}
    check_against_graph(graph, names, edges, clusters_of)
    for node_id, (lines, _) in chart.nodes.items():
        if names[node_id] != INPUT:
            assert lines[1] == graph.node(names[node_id]).type_name


@needs_dot
@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_graphviz_reads_the_dot_of_every_spec(path):
    text = render_dot(build_drawing(analysis(path.stem), 0, "macs"))
    done = subprocess.run([DOT, "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert done.stdout.count('class="node"') == len(analysis(path.stem).graph.nodes) + 1
    assert done.stdout.count('class="edge"') == len(expected_edges(analysis(path.stem).graph))


# --------------------------------------------------------------------------------- --depth

def table_names(name: str, depth: str | None) -> list[str]:
    """The row names of ``analyze``'s table at that depth (the drawing's nodes must be those)."""
    args = ["analyze", str(SPECS / f"{name}.yaml")] + (["--depth", depth] if depth else [])
    code, text = run(*args)
    assert code == 0
    rows = text.split("\n\n")[1].split("\n")[2:]  # after the header and its rule
    return [row.split()[0] for row in rows]


@pytest.mark.parametrize(("name", "depth"), [("resnet18", "1"), ("resnet18", "2"), ("resnet152", None),
                                             ("googlenet", "1"), ("densenet121", "2"), ("unet", "1")])
def test_depth_draws_the_rows_of_analyze(name, depth):
    result = analysis(name)
    code, text = run("draw", str(SPECS / f"{name}.yaml"), *(["--depth", depth] if depth else []))
    assert code == 0
    dot = read_dot(text)
    names = {i: attrs["label"].split("\n")[0] for i, (attrs, _) in dot.nodes.items()}
    assert [names[i] for i in dot.nodes if i != "input"] == table_names(name, depth)
    # an edge for every input that crosses from one drawn node to another, and no other
    owner = {INPUT: "input"}
    for node_id, drawn in names.items():
        for node in result.graph.nodes:
            if node.name == drawn or node.name.startswith(drawn + "."):
                owner[node.name] = node_id
    crossing = {(owner[s], owner[n.name]) for n in result.graph.nodes for s in n.inputs
                if owner[s] != owner[n.name]}
    assert {(s, d) for s, d, _ in dot.edges} == crossing


def test_a_collapsed_block_sums_its_layers():
    result = analysis("resnet18")
    drawing = build_drawing(result, 1)
    layer1 = next(n for n in drawing.nodes if n.name == "layer1")
    members = [f for name, f in result.facts.items() if name.startswith("layer1.")]
    assert layer1.layers == len(members) == 14
    assert layer1.params == sum(f.params for f in members) == 147968  # 2 basic blocks of 64 channels
    assert layer1.macs == 4 * 64 * 64 * 3 * 3 * 56 * 56  # four 3x3 convs at 56x56
    assert layer1.kind == "repeat" and layer1.collapsed
    lines = read_mermaid(render_mermaid(drawing)).nodes[layer1.id][0]
    assert lines == ["layer1", "repeat, 14 layers", "1x64x56x56", "148 k params, 0.462 GMACs"]
    code, text = run("draw", str(SPECS / "resnet18.yaml"), "--depth", "2", "--format", "mermaid")
    chart = read_mermaid(text)
    assert chart.subgraphs == ["layer1: repeat", "layer2: repeat", "layer3: repeat", "layer4: repeat"]
    assert [lines[0] for lines, stack in chart.nodes.values() if stack == (0,)] == ["layer1.0", "layer1.1"]


def test_shortcuts_are_dashed():
    result = analysis("resnet18")
    drawing = build_drawing(result, 0)
    by_name = {n.name: n.id for n in drawing.nodes}
    dashed = {(e.src, e.dst) for e in drawing.edges if e.shortcut}
    assert (by_name["maxpool"], by_name["layer1.0.add"]) in dashed          # the identity path
    assert (by_name["layer1.0.bn2"], by_name["layer1.0.add"]) not in dashed  # the residual branch
    assert (by_name["layer2.0.downsample.1"], by_name["layer2.0.add"]) not in dashed  # a projection
    assert len(dashed) == 8 - 3  # 8 blocks, 3 of them with a downsample projection
    dot = read_dot(render_dot(drawing))
    assert {(s, d) for s, d, a in dot.edges if a.get("style") == "dashed"} == dashed
    chart = read_mermaid(render_mermaid(drawing))
    assert {(s, d) for s, d, arrow in chart.edges if arrow == "-.->"} == dashed


# ------------------------------------------------------------------------------ --color-by

@pytest.mark.parametrize("color_by", ["params", "macs", "activations"])
def test_color_by_orders_the_fills_by_cost(color_by):
    result = analysis("vgg16")
    drawing = build_drawing(result, 0, color_by)
    key = {"params": "params", "macs": "macs", "activations": "activation_bytes"}[color_by]
    cost = {n.id: getattr(result.facts[n.name], key) for n in drawing.nodes if not n.is_input}
    step = {i: PALETTE.index(drawing.fills[i]) if i in drawing.fills else -1 for i in cost}
    assert all((step[i] == -1) == (cost[i] == 0) for i in cost)  # white exactly for no cost
    top = max(cost, key=cost.get)
    assert step[top] == len(PALETTE) - 1
    for a in cost:
        for b in cost:
            if cost[a] > cost[b]:
                assert step[a] >= step[b]
    assert len(set(step.values())) >= 3
    dot = read_dot(render_dot(drawing))
    assert {i: a.get("fillcolor") for i, (a, _) in dot.nodes.items() if "fillcolor" in a} == drawing.fills
    assert dot.graph_attrs["label"].startswith("fill: ")
    chart = read_mermaid(render_mermaid(drawing))
    assert set(chart.styled) == set(drawing.fills)
    assert any(c.startswith("fill: ") for c in chart.comments)


def test_color_by_figures():
    drawing = build_drawing(analysis("vgg16"), 0, "params")
    assert drawing.legend.endswith("103 M params")
    darkest = [n for n in drawing.nodes if drawing.fills.get(n.id) == PALETTE[-1]]
    assert [n.name for n in darkest] == ["classifier.0"]
    assert darkest[0].params == 25088 * 4096 + 4096  # torchvision's vgg16 classifier[0]


def test_color_by_needs_numbers():
    code, text = run("draw", str(SPECS / "alexnet.yaml"), "--input", "3xHxW", "--color-by", "macs")
    assert code == 2 and "needs a concrete input size" in text and "Traceback" not in text
    code, text = run("draw", str(SPECS / "alexnet.yaml"), "--input", "3xHxW", "--format", "mermaid")
    assert code == 0 and read_mermaid(text).nodes  # formulas are drawn, escaped
    code, text = run("draw", str(SPECS / "alexnet.yaml"), "--input", "3xHxW", "--color-by", "params")
    assert code == 0  # params do not depend on the input size


# ------------------------------------------------------------------ SVG and its requirements

def test_svg_needs_the_graphviz_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz raises ImportError
    code, text = run("draw", str(SPECS / "lenet5.yaml"), "--format", "svg")
    assert code == 2 and "Traceback" not in text
    assert "needs the graphviz Python package" in text
    assert 'pip install "cnnspec[draw]"' in text and "apt-get install graphviz" in text
    assert run("draw", str(SPECS / "lenet5.yaml"), "--format", "mermaid")[0] == 0  # needs nothing


def test_svg_needs_the_dot_program(monkeypatch, tmp_path):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    code, text = run("draw", str(SPECS / "lenet5.yaml"), "--format", "svg")
    assert code == 2 and "Traceback" not in text
    assert "needs the Graphviz 'dot' program" in text and "apt-get install graphviz" in text


@needs_dot
def test_svg_output(tmp_path):
    pytest.importorskip("graphviz")
    out = tmp_path / "resnet18.svg"
    code, text = run("draw", str(SPECS / "resnet18.yaml"), "--format", "svg", "--color-by", "macs",
                     "-o", str(out))
    assert code == 0 and text == ""
    svg = out.read_text()
    assert svg.startswith("<?xml") and svg.rstrip().endswith("</svg>")
    assert svg.count('class="node"') == 16 and svg.count('class="cluster"') == 4
    assert ">layer1.0<" in svg and ">basic, 7 layers<" in svg and 'fill="#800026"' in svg


# ------------------------------------------------------------------------- the command

def test_draw_defaults_to_dot_and_writes_files(tmp_path):
    code, text = run("draw", str(SPECS / "lenet5.yaml"))
    assert code == 0 and text.startswith('digraph "lenet5" {')
    out = tmp_path / "lenet5.mmd"
    assert run("draw", str(SPECS / "lenet5.yaml"), "--format", "mermaid", "-o", str(out)) == (0, "")
    assert out.read_text().startswith("flowchart TB\n")
    code, text = run("draw", "--help")
    assert code == 0 and "--color-by [params|macs|activations]" in text and "--depth N" in text
    code, text = run("draw", str(SPECS / "lenet5.yaml"), "-o", str(SPECS / "lenet5.yaml"))
    assert code == 2 and "an input of this command" in text


def test_draw_with_set_and_input():
    code, text = run("draw", str(SPECS / "deep_cnn.yaml"), "--set", "hidden_channels=32", "--depth", "0",
                     "--format", "mermaid", "--input", "3x64x64", "--batch", "4")
    assert code == 0
    lines = read_mermaid(text).nodes["input"][0]
    assert lines == ["input", "4x3x64x64"]


# ------------------------------------------------------------------------- hostile text

HOSTILE = [
    'a"]; evil [label="x"]; n0 -> evil; //',
    'b\\", \\N \\G \\l \\\\',
    "c\"]\n  evil((x))\n  click n0 call alert(1)\n%%",
    "d <b>bold</b> <img src=x onerror=alert(1)> &amp; #quot; #35; `md`",
    "e ] ) } [ ( { | -- --> ;",
    "f \u202e\x1b[31m\x00 end subgraph",
    "end",
]


def hostile_drawing():
    drawing = build_drawing(analysis("resnet18"), 2)
    nodes = [dataclasses.replace(n, name=HOSTILE[i % len(HOSTILE)] + str(i),
                                 kind=HOSTILE[(i + 3) % len(HOSTILE)])
             for i, n in enumerate(drawing.nodes)]
    kinds = {name: HOSTILE[i % len(HOSTILE)] for i, name in enumerate(drawing.cluster_kinds)}
    return dataclasses.replace(drawing, name=HOSTILE[0], nodes=nodes, cluster_kinds=kinds), drawing


def test_hostile_names_and_types_stay_in_their_dot_labels():
    drawing, plain = hostile_drawing()
    text = render_dot(drawing)
    dot = read_dot(text)
    assert dot.name == HOSTILE[0]
    assert list(dot.nodes) == [n.id for n in plain.nodes]  # no node more, none less
    assert {(s, d) for s, d, _ in dot.edges} == {(e.src, e.dst) for e in plain.edges}
    for node in drawing.nodes:
        lines = dot.nodes[node.id][0]["label"].split("\n")
        assert lines[0] == printable(node.name)
        assert node.is_input or lines[1].startswith(printable(node.kind))
    assert len(dot.clusters) == len(plain.cluster_kinds)
    if DOT:
        done = subprocess.run([DOT, "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.count('class="node"') == len(plain.nodes)
        assert "<title>evil</title>" not in done.stdout and "<b>" not in done.stdout


def test_hostile_names_and_types_stay_in_their_mermaid_labels():
    drawing, plain = hostile_drawing()
    chart = read_mermaid(render_mermaid(drawing))  # every line one of ours, labels escaped
    assert list(chart.nodes) == [n.id for n in plain.nodes]
    assert {(s, d) for s, d, _ in chart.edges} == {(e.src, e.dst) for e in plain.edges}
    for node in drawing.nodes:
        lines = chart.nodes[node.id][0]
        assert lines[0] == printable(node.name)
        assert node.is_input or lines[1].startswith(printable(node.kind))
    assert len(chart.subgraphs) == len(plain.cluster_kinds)
    assert check_mermaid_label(chart.comments[0]) == [HOSTILE[0]]  # the graph's name


def test_a_hostile_spec_name_through_the_command(tmp_path):
    name = 'x"; evil -> y; "[\\ \\" #quot; <b>'
    spec = tmp_path / "net.yaml"
    spec.write_text(f"name: {json.dumps(name)}\ninput: [1, 8, 8]\n"
                    "layers:\n  - conv2d: {out: 2, kernel: 3}\n")
    assert parse_spec(spec.read_text()).name == name
    code, text = run("draw", str(spec))
    assert code == 0 and read_dot(text).name == name and len(read_dot(text).nodes) == 2
    code, text = run("draw", str(spec), "--format", "mermaid")
    assert code == 0 and check_mermaid_label(read_mermaid(text).comments[0]) == [name]
    assert len(read_mermaid(text).nodes) == 2
