"""The documentation runs: every ``$ `` command of README.md and docs/*.md prints what its page
shows (one test per command, named page:line). How examples are found, run and compared, and
the ``<!-- docs: ... -->`` markers: tests/docs_examples.py."""

from __future__ import annotations

import os
import re

import pytest

from .conftest import ROOT
from .docs_examples import FENCE, Command, DocsSyntaxError, PageRun, collect, explain, first_mismatch, matches

if os.environ.get("CNNSPEC_DOCS_EXAMPLE"):  # a page's `pytest` example must not run the pages again
    pytest.skip("inside a docs example", allow_module_level=True)

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
STEPS = {page.relative_to(ROOT).as_posix(): collect(page, ROOT) for page in PAGES}
EXAMPLES = [(page, index, step) for page, steps in STEPS.items()
            for index, step in enumerate(steps) if isinstance(step, Command)]


@pytest.fixture(scope="session")
def page_runs(tmp_path_factory):
    runs = {}

    def run(page: str) -> PageRun:
        if page not in runs:
            runs[page] = PageRun(ROOT, STEPS[page], tmp_path_factory.mktemp(page.replace("/", "_")))
        return runs[page]

    return run


@pytest.mark.parametrize(("page", "index", "command"), EXAMPLES, ids=[c.id for _, _, c in EXAMPLES])
def test_example(page, index, command, page_runs):
    result = page_runs(page).result(index)
    if not matches(command.expected, result.output, command.numbers_vary):
        pytest.fail(explain(command, result.output, result.status), pytrace=False)


def test_every_prompt_in_a_fenced_block_is_collected():
    """A ``$ `` line inside any fenced block of a page is an example; none is passed over (an
    example in a ```yaml block, or after text in a block, would be an error at collection)."""
    for page in PAGES:
        name = page.relative_to(ROOT).as_posix()
        prompts, inside = [], None
        for number, line in enumerate(page.read_text().split("\n"), 1):
            fence = FENCE.match(line)
            if fence and inside is None:
                inside = fence.group("fence")
            elif fence and fence.group("fence").startswith(inside) and not fence.group("info").strip():
                inside = None
            elif inside and line.lstrip().startswith("$ "):
                prompts.append(number)
        collected = [c.line for p, _, c in EXAMPLES if p == name]
        assert prompts == collected, name
    assert len(EXAMPLES) >= 200


# --- the collector and the comparison themselves ----------------------------------------------

def test_elisions():
    assert matches(["a", "…", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "…", "b"], ["a", "b"])                    # an elision may stand for nothing
    assert matches(["a", "  …", "d"], ["a", "b", "d"])            # at any indentation
    assert matches(["a", "...", "d"], ["a", "b", "d"])
    assert matches(["took … s"], ["took 1.25 s"])                 # within a line
    assert matches(["x", ""], ["x  ", "", ""])                    # trailing space and blank lines
    assert not matches(["a", "…", "d"], ["a", "b", "c"])
    assert not matches(["a"], ["a", "b"])                         # nothing left out unless shown
    assert not matches(["took … s"], ["took 1.25 s", "more"])
    assert not matches(["a ... b"], ["a x b"])                    # '...' in a line is literal
    assert not matches(["took … s"], ["tooks"])


def test_first_mismatch():
    assert first_mismatch(["a", "…", "d"], ["a", "b", "d"]) is None
    assert first_mismatch(["a", "…", "d", "e"], ["a", "b", "d", "x"]) == 3
    assert first_mismatch(["a", "b"], ["a", "b", "c"]) == 2      # printed goes on
    assert first_mismatch(["x"], []) == 0


def test_numbers_vary():
    assert matches(["conv1  conv2d   5.975 ms  72%", "-----  ------  -----"],
                   ["conv1  conv2d  12.5 ms    101%", "-----  ------  ------"], numbers_vary=True)
    assert matches(['"seconds": 0.00030948099999999996,'], ['"seconds": 1.1768e-06,'], numbers_vary=True)
    assert not matches(["conv1  conv2d   5.975 ms"], ["conv1  conv2d  5.975 s"], numbers_vary=True)
    assert not matches(["conv1  1x64x56x56  5 ms"], ["conv2  1x64x56x56  5 ms"], numbers_vary=True)
    assert not matches(["conv1  1x64x56x56  5 ms"], ["conv1  1x64x28x28  5 ms"], numbers_vary=True)
    assert not matches(["5.975 ms"], ["6 ms"])


def test_commands_span_quotes_heredocs_and_continuations(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    page = root / "p.md"
    page.write_text(
        "<!-- docs: file net.yaml -->\n"
        "```yaml\ninput: [1, 2, 2]\n```\n\n"
        "```console\n"
        "$ python3 -c \"\nprint('a')\n\"\na\n"
        "$ cat <<'EOF'\nb\nEOF\nb\n"
        "$ echo one \\\n  two\none two\n"
        "$ false\n$ echo $?\n1\n"
        "```\n"
        "<!-- docs: setup\necho hidden > made.txt\n-->\n"
        "```\n$ cat made.txt net.yaml\nhidden\ninput: [1, 2, 2]\n```\n")
    steps = collect(page, root)
    commands = [s for s in steps if isinstance(s, Command)]
    assert [c.line for c in commands] == [7, 11, 15, 18, 19, 26]
    assert commands[0].text == "python3 -c \"\nprint('a')\n\"" and commands[0].expected == ["a"]
    assert commands[1].expected == ["b"] and commands[2].expected == ["one two"]
    run = PageRun(root, steps, tmp_path / "scratch")
    for index, step in enumerate(steps):
        if isinstance(step, Command):
            result = run.result(index)
            assert matches(step.expected, result.output), explain(step, result.output, result.status)
    # the files are in the scratch copy, not in the page's folder
    assert not (root / "made.txt").exists() and not (root / "net.yaml").exists()


def test_a_file_from_another_page(tmp_path):
    (tmp_path / "a.md").write_text("<!-- docs: file net.yaml -->\n```yaml\ninput: [1, 2, 2]\n```\n")
    (tmp_path / "b.md").write_text("text\n<!-- docs: file net.yaml from a.md -->\n```\n$ cat net.yaml\n```\n")
    steps = collect(tmp_path / "b.md", tmp_path)
    assert [(s.page, s.line, s.name, s.text) for s in steps if not isinstance(s, Command)] == [
        ("b.md", 2, "net.yaml", "input: [1, 2, 2]\n")]
    (tmp_path / "c.md").write_text("<!-- docs: file other.yaml from a.md -->\n")
    with pytest.raises(DocsSyntaxError, match="a.md has no '<!-- docs: file other.yaml -->' block"):
        collect(tmp_path / "c.md", tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ("<!-- docs: frobnicate -->\n```\n$ true\n```\n", "unknown docs directive"),
    ("<!-- docs: file a.yaml -->\ntext\n```\nx\n```\n", "is not followed by a fenced block"),
    ("<!-- docs: numbers vary -->\n```yaml\nx: 1\n```\n", "is not followed by a shell example"),
    ("```console\nsome text\n$ true\n```\n", "must start with a '$ ' command"),
    ("```console\n$ echo \"open\n```\n", "does not end in its block"),
    ("<!-- docs: setup\ntrue\n", "no closing '-->'"),
])
def test_bad_markup_is_an_error(tmp_path, text, message):
    page = tmp_path / "p.md"
    page.write_text(text)
    with pytest.raises(DocsSyntaxError, match=re.escape(message)):
        collect(page, tmp_path)
