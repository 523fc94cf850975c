"""The Mermaid graph in the Markdown of ``cnnspec analyze`` and ``cnnspec diff``: read back by
test_draw's Mermaid reader (the same structural checks as ``cnnspec draw --format mermaid``),
collapsed as the table, the diff's added and changed nodes in their classes, and gone with
``--no-graph``."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from cnnspec.api import analyze, load_spec
from cnnspec.reports.diff_markdown import node_status
from cnnspec.reports.draw_graph import DrawNode, build_drawing
from cnnspec.reports.draw_mermaid import render_mermaid
from cnnspec.solvers.diff import diff_files

from .conftest import SPECS
from .test_draw import read_mermaid, run, table_names

SECTION = re.compile(r"\n<details><summary>Graph</summary>\n\n(?P<legend>(?:[^\n]+\n\n)*?)```mermaid\n"
                     r"(?P<chart>.*?\n)```\n\n</details>\n", re.DOTALL)
TINY = """\
name: tiny
input: [1, 8, 8]
layers:
  - conv2d: {out: 4, kernel: 3, name: conv}
  - relu: {name: act}
  - flatten: {name: flat}
  - linear: {out: 2, name: fc}
"""


def graph_of(markdown: str):
    """The chart of the one Graph section, which ends the text; and its legend."""
    sections = list(SECTION.finditer(markdown))
    assert len(sections) == 1, markdown[-2000:]
    assert sections[0].end() == len(markdown)
    return read_mermaid(sections[0]["chart"]), sections[0]["legend"]


def labels(chart) -> dict:
    return {node_id: lines[0] for node_id, (lines, _) in chart.nodes.items()}


@pytest.mark.parametrize(("name", "depth"), [("resnet18", None), ("resnet18", "1"), ("lenet5", None),
                                             ("googlenet", "1")])
def test_analyze_markdown_draws_the_rows_of_the_table(name, depth):
    spec = str(SPECS / f"{name}.yaml")
    extra = ["--depth", depth] if depth else []
    code, text = run("analyze", spec, "--format", "markdown", *extra)
    assert code == 0
    chart, legend = graph_of(text)
    assert legend == ""
    assert [n for i, n in labels(chart).items() if i != "input"] == table_names(name, depth)
    code, bare = run("analyze", spec, "--format", "markdown", "--no-graph", *extra)
    assert code == 0 and "mermaid" not in bare and "<details>" not in bare
    assert text.startswith(bare)  # the graph is only added after the table


def test_diff_markdown_highlights_the_changes(tmp_path):
    after = TINY.replace("kernel: 3", "kernel: 5").replace(
        "  - relu: {name: act}\n", "  - batchnorm2d: {name: bn}\n  - relu: {name: act2}\n")
    (tmp_path / "a.yaml").write_text(TINY)
    (tmp_path / "b.yaml").write_text(after)
    a, b = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    code, text = run("diff", a, b, "--format", "markdown")
    assert code == 0
    chart, legend = graph_of(text)
    by_name = {n: i for i, n in labels(chart).items()}
    assert sorted(by_name) == ["act2", "bn", "conv", "fc", "flat", "input"]  # the after graph
    status = {row.name: row.status for row in diff_files(a, b).rows}
    assert status["conv"] == "changed" and status["flat"] == "changed"  # by the kernel
    for cls in ("added", "changed"):
        assert sorted(chart.classes[cls]) == sorted(by_name[n] for n, s in status.items() if s == cls)
    assert chart.classes["output"] == [by_name["fc"]]
    assert "green nodes are added, amber nodes changed" in legend
    assert "Removed (not in the after graph): `act`." in legend
    code, bare = run("diff", a, b, "--format", "markdown", "--no-graph")
    assert code == 0 and "mermaid" not in bare and text.startswith(bare)
    code, same = run("diff", a, a, "--format", "markdown")  # nothing to highlight: no classes
    assert code == 0 and set(graph_of(same)[0].classes) == {"output"}


def test_diff_of_resnet18_to_34_marks_the_collapsed_blocks():
    r18, r34 = str(SPECS / "resnet18.yaml"), str(SPECS / "resnet34.yaml")
    code, text = run("diff", r18, r34, "--format", "markdown")
    assert code == 0
    chart, legend = graph_of(text)
    names = labels(chart)
    added = sorted(names[i] for i in chart.classes["added"])
    assert added == ["layer1.2", "layer2.2", "layer2.3", "layer3.2", "layer3.3", "layer3.4", "layer3.5",
                     "layer4.2"]  # the new BasicBlocks, each one node at the table's depth
    changed = {names[i] for i in chart.classes["changed"]}  # a receptive field grew downstream
    assert {"layer2.0", "layer4.1", "avgpool", "fc"} <= changed and not changed & set(added)
    assert {"conv1", "layer1.0", "layer1.1"}.isdisjoint(changed)
    assert "Removed" not in legend
    code, deep = run("diff", r18, r34, "--format", "markdown", "--depth", "1")
    chart = graph_of(deep)[0]
    assert sorted(labels(chart)[i] for i in chart.classes["changed"]) == [
        "avgpool", "fc", "flatten", "layer1", "layer2", "layer3", "layer4"]


def test_a_block_that_lost_a_layer_is_changed():
    node = DrawNode("n0", "stage", "block", "1x4", layers=2, collapsed=True, members=("stage.a", "stage.b"))
    assert node_status(node, {"stage.a": "unchanged", "stage.b": "unchanged"}, ["stage.c"]) == "changed"
    assert node_status(node, {"stage.a": "unchanged", "stage.b": "unchanged"}, ["stagex"]) is None
    assert node_status(node, {"stage.a": "added", "stage.b": "added"}, []) == "added"
    assert node_status(node, {"stage.a": "added", "stage.b": "unchanged"}, []) == "changed"


def test_class_names_are_ours():
    drawing = build_drawing(analyze(load_spec(SPECS / "lenet5.yaml")))
    for bad in ("x y", "output", "a;b", "Added"):
        with pytest.raises(ValueError, match="class name"):
            render_mermaid(drawing, {bad: ("fill:#ffffff", ["n0"])})


def test_github_reads_a_mermaid_block_in_the_details():
    """GitHub's renderer (cmark-gfm) gives the ```mermaid block, which GitHub draws, inside the
    <details> block, and the chart's text unchanged."""
    cmarkgfm = pytest.importorskip("cmarkgfm")
    from cmarkgfm.cmark import Options

    code, text = run("analyze", str(SPECS / "resnet18.yaml"), "--format", "markdown")
    assert code == 0
    html = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    found = re.search(r'<details><summary>Graph</summary>\n<pre lang="mermaid"><code>(.*?)</code></pre>\n'
                      r"</details>\n$", html, re.DOTALL)
    assert found
    chart = html_lib.unescape(found[1])
    assert chart == SECTION.search(text)["chart"] and read_mermaid(chart).nodes
