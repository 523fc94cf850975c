"""Collect the shell examples of the documentation and run them (used by tests/test_docs.py).

A page's examples are the fenced code blocks whose lines start with ``$ ``: each ``$ `` line is
one command (continued over the following lines while a quote, a here-document or a trailing
backslash is open), and the lines after it, up to the next ``$ `` line or the end of the
block, are what it prints (standard output and standard error together). In the shown output

- a line that is only ``…`` (or ``...``), at any indentation, stands for any run of lines,
  none included;
- ``…`` inside a line stands for any text within that line.

Everything else must match exactly (trailing white space and trailing blank lines aside).

The commands of one page run in order with bash, in the page's own scratch copy of the
repository (so ``-o x.py`` writes nothing into the checkout and ``specs/...`` works), with
the ``cnnspec`` of this checkout and this interpreter as ``python3`` and ``pytest``. ``$?`` in
a command is the status of the previous command of the same block. Files and commands from
earlier on the page are there for later examples. These HTML comments, invisible on the
rendered page, say what the runner needs beyond what the page shows:

``<!-- docs: file NAME -->``
    before a fenced block: the block's text is written to NAME (relative to the scratch
    copy) at that point of the page, for the commands that read it.

``<!-- docs: file NAME from PAGE -->``
    on its own: the file that PAGE (a path relative to this page) writes with ``docs: file
    NAME`` is written here too, for an example that reads a file another page shows.

``<!-- docs: setup`` ... ``-->``
    a shell script (the lines up to ``-->``) run at that point of the page; it must exit 0
    and its output is not shown. For state a page describes in words (a git history, a
    project laid out elsewhere).

``<!-- docs: without torch -->``
    before a block: its commands run where ``import torch`` fails (a ``torch`` module that
    raises ModuleNotFoundError comes first on the path), for examples of what cnnspec says
    on a machine without PyTorch.

``<!-- docs: numbers vary -->``
    before a block: its commands print measurements that change from run to run (timings),
    so every number in the shown and the real output is masked with its unit's prefix (``kB``,
    ``MB``; ``MFLOP/s``, ``GFLOP/s``), but not the digits of a name or a shape such as ``conv1``
    or ``1x64x56x56``, and runs of spaces and of dashes (table rules)
    are collapsed before comparing; the words and the layout must still match.

An unknown ``docs:`` comment, or a marker that is not followed by what it applies to, is an
error at collection.

Why not Sybil or pytest-examples: pytest-examples runs Python code blocks only (``print``
output in ``#>`` comments), not shell sessions. Sybil's lexers would find the blocks, but
its pytest integration collects documents through a conftest's ``pytest_collect_file`` (the
pages lie outside ``testpaths``) and evaluates each example on its own, while these examples
depend on earlier ones of the page (files written by a block or a command, ``$?``): running
one selected example must first replay the page up to it, which is what :class:`PageRun`
does. Neither has a shell evaluator, so the parts that matter here (the session, the
comparison with elisions) would be ours either way.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ELLIPSIS = "…"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
DIRECTIVE = re.compile(r"^<!--\s*docs:\s*(?P<body>.*?)\s*(?P<end>-->)?\s*$")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>[A-Za-z_][A-Za-z0-9_]*)\1")
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?(?!\w)")   # not inside a name
#: a masked measurement's unit prefix, which changes with the value (0.9 vs 1.1 GFLOP/s)
UNIT_PREFIX = re.compile(r"\b0 [kMGTP]?(B|FLOP/s|FLOPs|MACs|s)\b")
TIMEOUT = 600  # seconds, for one command


@dataclass
class Command:
    page: str            # relative to the repository root, e.g. docs/check.md
    line: int            # 1-based line of the ``$ `` line
    text: str            # the command, without the prompt (may span lines)
    expected: list[str]  # the shown output, one entry per line
    block: int           # index of its block on the page
    numbers_vary: bool = False
    without_torch: bool = False

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass
class WriteFile:
    page: str
    line: int
    name: str
    text: str


@dataclass
class Setup:
    page: str
    line: int
    script: str


class DocsSyntaxError(Exception):
    pass


def _command_complete(text: str) -> bool:
    """Whether ``text`` is a whole shell command: no open quote, here-document or trailing
    backslash."""
    if text.endswith("\\"):
        return False
    lines = text.split("\n")
    for match in HEREDOC.finditer(lines[0]):
        if match.group("word") not in (line.strip() for line in lines[1:]):
            return False
    body = lines[0] if HEREDOC.search(lines[0]) else text
    try:
        shlex.split(body.replace("$(", " (").replace("`", " "), comments=False)
    except ValueError:  # No closing quotation
        return False
    return True


def _parse_block(page: str, start: int, lines: list[str], block: int, numbers_vary: bool,
                 without_torch: bool = False) -> list[Command]:
    """The commands of a block whose content is ``lines`` (the first one on page line ``start``)."""
    commands: list[Command] = []
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and not lines[i].startswith("$ "):
        raise DocsSyntaxError(f"{page}:{start + i}: a shell example must start with a '$ ' command")
    while i < len(lines):
        line_no = start + i
        text = lines[i][2:]
        i += 1
        while not _command_complete(text):
            if i >= len(lines):
                raise DocsSyntaxError(f"{page}:{line_no}: the command does not end in its block")
            text += "\n" + lines[i]
            i += 1
        output = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        while output and not output[-1].strip():
            output.pop()
        commands.append(Command(page, line_no, text, output, block, numbers_vary, without_torch))
    return commands


def collect(path: Path, root: Path) -> list[Command | WriteFile | Setup]:
    """The steps of one page, in page order."""
    page = path.relative_to(root).as_posix()
    lines = path.read_text(encoding="utf-8").split("\n")
    steps: list[Command | WriteFile | Setup] = []
    pending: tuple[str, int, str] | None = None   # (directive, line, argument) for the next block
    block = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = DIRECTIVE.match(line.strip())
        if directive:
            body, line_no = directive.group("body"), i + 1
            word, _, argument = body.partition(" ")
            if word == "setup":
                if directive.group("end"):
                    raise DocsSyntaxError(f"{page}:{line_no}: '<!-- docs: setup' takes the script "
                                          "on the following lines, up to '-->'")
                script = []
                i += 1
                while i < len(lines) and lines[i].strip() != "-->":
                    script.append(lines[i])
                    i += 1
                if i >= len(lines):
                    raise DocsSyntaxError(f"{page}:{line_no}: the setup script has no closing '-->'")
                steps.append(Setup(page, line_no, "\n".join(script)))
            elif not directive.group("end"):
                raise DocsSyntaxError(f"{page}:{line_no}: '<!-- docs: {word}' must end on its line")
            elif word == "file" and " from " in argument:
                name, _, other = (part.strip() for part in argument.partition(" from "))
                steps.append(_file_from(path, root, name, other, f"{page}:{line_no}"))
            elif word == "file" and argument.strip():
                pending = ("file", line_no, argument.strip())
            elif word == "numbers" and argument.strip() == "vary":
                pending = ("numbers vary", line_no, "")
            elif word == "without" and argument.strip() == "torch":
                pending = ("without torch", line_no, "")
            else:
                raise DocsSyntaxError(f"{page}:{line_no}: unknown docs directive {body!r} "
                                      "(file NAME, file NAME from PAGE, setup, numbers vary, without torch)")
            i += 1
            continue
        fence = FENCE.match(line)
        if not fence:
            if pending and line.strip():
                raise DocsSyntaxError(f"{page}:{pending[1]}: '<!-- docs: {pending[0]} -->' is not "
                                      "followed by a fenced block")
            i += 1
            continue
        indent, mark = fence.group("indent"), fence.group("fence")
        start = i + 1
        content = []
        i += 1
        while i < len(lines):
            close = FENCE.match(lines[i])
            if (close and close.group("fence")[0] == mark[0] and len(close.group("fence")) >= len(mark)
                    and not close.group("info").strip()):
                break
            text = lines[i]
            content.append(text[len(indent):] if text.startswith(indent) else text.lstrip())
            i += 1
        i += 1  # the closing fence
        block += 1
        if pending and pending[0] == "file":
            steps.append(WriteFile(page, pending[1], pending[2], "\n".join(content) + "\n"))
        elif any(text.startswith("$ ") for text in content):
            steps.extend(_parse_block(page, start + 1, content, block,
                                      numbers_vary=bool(pending and pending[0] == "numbers vary"),
                                      without_torch=bool(pending and pending[0] == "without torch")))
        elif pending:
            raise DocsSyntaxError(f"{page}:{pending[1]}: '<!-- docs: {pending[0]} -->' is not "
                                  "followed by a shell example")
        pending = None
    if pending:
        raise DocsSyntaxError(f"{page}:{pending[1]}: '<!-- docs: {pending[0]} -->' is not followed "
                              "by a fenced block")
    return steps


def _file_from(path: Path, root: Path, name: str, other: str, where: str) -> WriteFile:
    """The ``docs: file NAME`` block of another page, as a step of this one."""
    source = (path.parent / other).resolve()
    if not source.is_file():
        raise DocsSyntaxError(f"{where}: no page {other}")
    for step in collect(source, root):
        if isinstance(step, WriteFile) and step.name == name:
            return WriteFile(where.rpartition(":")[0], int(where.rpartition(":")[2]), name, step.text)
    raise DocsSyntaxError(f"{where}: {other} has no '<!-- docs: file {name} -->' block")


# --- comparing -----------------------------------------------------------------------------

def _normalise(lines: list[str], numbers_vary: bool) -> list[str]:
    out = [line.rstrip() for line in lines]
    if numbers_vary:
        # numbers masked; column widths follow the numbers, so runs of spaces and of dashes
        # (table rules) are collapsed
        out = [re.sub(r"-{2,}", "--", re.sub(r"\s+", " ", UNIT_PREFIX.sub(r"0 \1", NUMBER.sub("0", line))))
               for line in out]
    while out and not out[-1]:
        out.pop()
    return out


def _is_elision(line: str) -> bool:
    return line.strip() in (ELLIPSIS, "...")


def _line_pattern(line: str) -> re.Pattern | None:
    if ELLIPSIS not in line:
        return None
    return re.compile(".*?".join(re.escape(part) for part in line.split(ELLIPSIS)))


def _reached(shown: list[str], got: list[str]):
    """After each shown line, the set of numbers of printed lines it and the lines before it can
    stand for (an elision for any run of lines, possibly none)."""
    reached = {0}
    for line in shown:
        if _is_elision(line):
            reached = set(range(min(reached), len(got) + 1)) if reached else set()
        else:
            pattern = _line_pattern(line)
            reached = {j + 1 for j in reached
                       if j < len(got) and (pattern.fullmatch(got[j]) if pattern else line == got[j])}
        yield reached


def matches(expected: list[str], actual: list[str], numbers_vary: bool = False) -> bool:
    """Whether ``actual`` (the lines printed) is what ``expected`` (the lines shown) shows."""
    got = _normalise(actual, numbers_vary)
    last = {0}
    for last in _reached(_normalise(expected, numbers_vary), got):  # noqa: B007
        pass
    return len(got) in last


def first_mismatch(expected: list[str], actual: list[str], numbers_vary: bool = False) -> int | None:
    """The index of the first shown line that no reading of the elisions before it lets match
    the printed lines (len(shown) when the printed output goes on after the last one), or None
    when the output matches."""
    shown = _normalise(expected, numbers_vary)
    got = _normalise(actual, numbers_vary)
    reached = {0}
    for index, reached in enumerate(_reached(shown, got)):
        if not reached:
            return index
    return None if len(got) in reached else len(shown)


def explain(command: Command, actual: list[str], status: int) -> str:
    """The failure message: the command, its exit status, the first shown line that does not
    match (with its line on the page) and a diff of shown vs printed."""
    shown = _normalise(command.expected, command.numbers_vary)
    got = _normalise(actual, command.numbers_vary)
    diff = "\n".join(difflib.unified_diff(shown, got, "shown on the page", "printed", lineterm="", n=3))
    note = " (numbers masked)" if command.numbers_vary else ""
    index = first_mismatch(command.expected, actual, command.numbers_vary)
    first = command.line + command.text.count("\n") + 1   # the page line of the first output line
    if index is None:
        where = ""
    elif index >= len(shown):
        where = "the command prints more after the last line shown\n"
    else:
        where = f"first line that does not match: {command.page}:{first + index}: {shown[index]!r}\n"
    return (f"{command.id}: the output of this command differs from the page{note}"
            f" ('…' lines stand for any lines, '…' in a line for any text)\n"
            f"$ {command.text}\n(exit status {status})\n{where}{diff}")


# --- running -------------------------------------------------------------------------------

IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache",
                                ".hypothesis", "build", "dist", ".benchmarks", ".venv")


def _environment(root: Path, bin_dir: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "GITHUB_", "GIT_", "FORCE_COLOR", "PY_COLORS", "COLUMNS",
                                "LINES", "CNNSPEC"))
           # pytest (8+) stops shortening its summary lines when CI or BUILD_NUMBER is set
           and k not in ("CI", "BUILD_NUMBER")}
    src = str(root)
    env.update({
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        "PYTHONUNBUFFERED": "1",         # stdout and stderr interleave as on a terminal
        "PYTHONDONTWRITEBYTECODE": "1",
        "COLUMNS": "80",
        "LC_ALL": "C.UTF-8",
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Docs Example", "GIT_AUTHOR_EMAIL": "docs@example.invalid",
        "GIT_COMMITTER_NAME": "Docs Example", "GIT_COMMITTER_EMAIL": "docs@example.invalid",
        "GIT_CEILING_DIRECTORIES": str(home.parent),
        "CNNSPEC_DOCS_EXAMPLE": "1",     # tests/test_docs.py skips itself under a docs example
    })
    return env


def _shims(bin_dir: Path) -> None:
    """``cnnspec``, ``python3``, ``python`` and ``pytest`` as this interpreter runs them."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    scripts = {
        "cnnspec": f"#!{python}\nimport sys\nfrom cnnspec.cli import main\nsys.exit(main())\n",
        "python3": f'#!/bin/sh\nexec "{python}" "$@"\n',
        "python": f'#!/bin/sh\nexec "{python}" "$@"\n',
        "pytest": f'#!/bin/sh\nexec "{python}" -m pytest "$@"\n',
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)


@dataclass
class Result:
    output: list[str]
    status: int


@dataclass
class PageRun:
    """One page's steps, run in order (lazily, up to the step asked for) in a scratch copy."""

    root: Path
    steps: list
    scratch: Path
    results: dict[int, Result] = field(default_factory=dict)
    done: int = 0
    env: dict | None = None
    env_without_torch: dict | None = None
    work: Path | None = None
    last_status: dict[int, int] = field(default_factory=dict)   # block -> status of its last command

    def _prepare(self) -> None:
        work = self.scratch / "repo"
        shutil.copytree(self.root, work, ignore=IGNORE, symlinks=True)
        home = self.scratch / "home"
        home.mkdir()
        (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
        _shims(self.scratch / "bin")
        self.env = _environment(self.root, self.scratch / "bin", home)
        self.work = work
        blocker = self.scratch / "notorch"
        blocker.mkdir()
        (blocker / "torch.py").write_text(
            'raise ModuleNotFoundError("No module named \'torch\'", name="torch")\n')
        self.env_without_torch = {**self.env,
                                  "PYTHONPATH": f"{blocker}{os.pathsep}{self.env['PYTHONPATH']}"}

    def _bash(self, script: str, without_torch: bool = False) -> subprocess.CompletedProcess:
        env = self.env_without_torch if without_torch else self.env
        return subprocess.run(["bash", "--noprofile", "--norc", "-c", script], cwd=self.work, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=TIMEOUT)

    def run_until(self, index: int) -> None:
        if self.env is None:
            self._prepare()
        while self.done <= index:
            step = self.steps[self.done]
            if isinstance(step, WriteFile):
                target = self.work / step.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(step.text, encoding="utf-8")
            elif isinstance(step, Setup):
                proc = self._bash("set -e\n" + step.script)
                if proc.returncode:
                    raise RuntimeError(f"{step.page}:{step.line}: the setup script failed "
                                       f"(exit {proc.returncode}):\n{proc.stdout.decode(errors='replace')}")
            else:
                previous = self.last_status.get(step.block, 0)
                proc = self._bash(f"(exit {previous})\n{step.text}\n", step.without_torch)
                self.last_status[step.block] = proc.returncode
                text = proc.stdout.decode("utf-8", errors="replace")
                self.results[self.done] = Result(text.split("\n"), proc.returncode)
            self.done += 1

    def result(self, index: int) -> Result:
        self.run_until(index)
        return self.results[index]
