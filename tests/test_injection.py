"""Nothing a spec says is injected into what cnnspec prints: ``diff --format markdown`` (a pull
request comment) reads spec text as text, and no error message or check output carries a raw
control character or newline from a spec (a CI log reads ``::error`` lines)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from cnnspec.cli.main import main
from cnnspec.errors import SpecError, printable

EVIL = ("# Heading @octocat #123 <!-- hidden --> [link](https://evil.example) "
        "![img](https://evil.example/x.png) <img src=x onerror=alert(1)> `tick` ``two`` | pipe "
        "~~strike~~ **bold** _em_ &amp; \\ :smile: https://bare.example www.evil.example")
SPEC = """\
name: {name}
input: [1, 8, 8]
layers:
  - conv2d: {{out: 4, kernel: {k}, name: _conv_}}
  - relu: {{name: __act}}
  - flatten
  - linear: {{out: 2, name: fc}}
"""


def write_pair(tmp_path):
    folder = tmp_path / "x <!-- y --> @me [a](b)"
    folder.mkdir()
    before, after = folder / "before `1` | #2.yaml", folder / "after.yaml"
    before.write_text(SPEC.format(name=json.dumps(EVIL), k=3))
    after.write_text(SPEC.format(name=json.dumps(EVIL + " v2"), k=5))
    return before, after


def markdown(before, after) -> str:
    result = CliRunner().invoke(main, ["diff", str(before), str(after), "--format", "markdown", "--all"])
    assert result.exit_code == 0, result.output
    return result.output


def without_code_spans(text: str) -> str:
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "CODE", text)


GRAPH = re.compile(r"\n<details><summary>Graph</summary>\n\n[^\n]+\n\n```mermaid\n(?P<chart>.*?\n)```\n\n"
                   r"</details>\n$", re.DOTALL)


def test_markdown_reads_spec_text_as_text(tmp_path):
    from .test_draw import read_mermaid

    full = markdown(*write_pair(tmp_path))
    graph = GRAPH.search(full)  # a fenced block, so code; its labels are escaped as test_draw checks
    assert graph and len(read_mermaid(graph["chart"]).nodes) == 5
    text = full[:graph.start()] + "\n"
    lines = text.splitlines()
    assert lines[0].startswith("### cnnspec diff: `")
    assert not [ln for ln in lines[1:] if ln.lstrip().startswith(("#", ">", "<")) and "note:" not in ln]
    outside = without_code_spans(text)
    for token in ("@octocat", "@me", "#123", "<!--", "<img", "[link]", "](", "![", "**bold**", "~~",
                  "https://", "www.", ":smile:"):
        assert token not in outside, token
    assert "<details>" not in outside or "<details><summary>" in outside  # only cnnspec's own HTML
    table = [ln for ln in lines if ln.startswith("| ")]
    cells = {len(re.findall(r"(?<!\\)\|", ln)) for ln in table if ln.startswith(("| status", "| changed",
                                                                                 "| added", "| unch"))}
    assert cells == {9}, table  # a | in a name cannot add a cell
    assert r"\_conv\_" in text and r"\_\_act" in text  # names are escaped, not emphasis


def test_markdown_renders_as_github_would(tmp_path):
    """With GitHub's own renderer (cmark-gfm): one heading, no link, image, HTML or comment,
    and every @mention or #reference inside <code> (which GitHub does not link)."""
    cmarkgfm = pytest.importorskip("cmarkgfm")
    from cmarkgfm.cmark import Options

    html = cmarkgfm.github_flavored_markdown_to_html(markdown(*write_pair(tmp_path)),
                                                     options=Options.CMARK_OPT_UNSAFE)
    assert html.count("<h3>") == 1 and not re.search(r"<h[124-6]", html)
    assert html.count("<strong>") == 1  # cnnspec's summary line
    for tag in ("<a ", "<img", "<!--", "<em>", "<del>", "<script", "<blockquote"):
        assert tag not in html, tag
    bare = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    assert "@" not in bare and not re.search(r"#\d", bare) and "https://" not in bare
    assert "<code>_conv_</code>" not in html and "_conv_" in html  # a name stays a plain name


def evil_name_spec(tmp_path, name: str) -> str:
    path = tmp_path / "evil.yaml"
    path.write_text(f"input: [1, 8, 8]\nlayers:\n  - {json.dumps(name)}\n")
    return str(path)


HOSTILE = "relu\n::error file=x.py,line=1::injected\r\x1b[31mred\x1b[0m\u202eevil\u2028next"


def test_error_messages_escape_control_characters(tmp_path):
    path = evil_name_spec(tmp_path, HOSTILE)
    result = CliRunner().invoke(main, ["analyze", path])
    assert result.exit_code == 2
    message = result.output.split("\n  hint:")[0]
    assert "\n" not in message and "\x1b" not in result.output and "\r" not in result.output
    assert "\u202e" not in result.output and "\u2028" not in result.output
    assert r"relu\n::error file=x.py,line=1::injected\r\x1b[31mred" in message
    assert not [ln for ln in result.output.splitlines() if ln.startswith("::")]


@pytest.mark.parametrize("fmt", ["text", "github", "sarif", "json"])
def test_check_outputs_escape_control_characters(tmp_path, fmt):
    path = evil_name_spec(tmp_path, HOSTILE)
    result = CliRunner().invoke(main, ["check", path, "--format", fmt])
    assert result.exit_code == 2
    out = result.output
    for raw in ("\x1b", "\r", "\u202e", "\u2028"):
        assert raw not in out
    lines = out.splitlines()
    if fmt == "github":
        assert len([ln for ln in lines if ln.startswith("::")]) == 1 and "injected" in lines[0]
    elif fmt == "text":
        assert not [ln for ln in lines if ln.startswith("::")]
        assert r"relu\n::error" in out
    else:
        data = json.loads(out)
        text = json.dumps(data)
        assert r"relu\\n::error" in text  # escaped before JSON escapes it again: visible as \n


def test_a_spec_name_with_a_control_character_is_refused(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text('name: "net\\n::error::x"\ninput: [1, 8, 8]\nlayers: [relu]\n')
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exit_code == 2 and "[name]" in result.output and "control character" in result.output
    assert len(result.output.splitlines()) == 2


def test_printable():
    assert printable("a\nb\tc\x00\x7f\x9b\u200b\ufeffé✓") == r"a\nb\tc\x00\x7f\x9b\u200b\ufeffé✓"
    error = SpecError("bad 'x\ny'")
    assert error.render() == r"<spec>: error: bad 'x\ny'"
