"""Per-layer differences between two versions of a spec, for code review (``cnnspec diff``).

Nodes are matched by their dotted name. A node is *added*, *removed*, *changed* (its type,
output shape, parameters, trainable flag, MACs, receptive-field size or activation bytes
differ) or *unchanged*. Renderings live in :mod:`cnnspec.reports.diff_report`; see docs/diff.md.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cnnspec.errors import Position, SpecStructureError, SpecSyntaxError, UsageError, did_you_mean
from cnnspec.frontend.source import MAX_SOURCE_BYTES, load_yaml, read_spec_file
from cnnspec.frontend.spec import build_graph, defined_overrides, spec_vars
from cnnspec.ir.facts import Analysis, NodeFacts
from cnnspec.passes.run import analyze
from cnnspec.solvers.size_hints import size_hints
from cnnspec.util import dims

#: What is compared per node, in the order the ``changes`` of a row name them.
FIELDS = ("type", "output_shape", "params", "trainable", "macs", "receptive_field", "activation_bytes",
          "settings")

#: The totals compared, in order: key of Analysis.totals() (or a derived one) and label.
TOTALS = (
    ("params", "params"),
    ("trainable_params", "trainable params"),
    ("macs", "MACs"),
    ("flops", "FLOPs"),
    ("peak_activation_bytes", "peak activations"),
    ("param_bytes", "param memory"),
    ("output_shape", "output shape"),
    ("nodes", "nodes"),
    ("receptive_field", "receptive field"),
)


@dataclass(frozen=True)
class Source:
    """Where one side of a diff comes from: a file, and the git revision it was read at
    (None: the file as it is on disk)."""

    file: str
    revision: str | None = None
    commit: str | None = None


@dataclass
class RowDiff:
    """One node name: its facts on each side (None where it does not exist) and what differs."""

    name: str
    status: str  # added, removed, changed, unchanged
    before: NodeFacts | None
    after: NodeFacts | None
    changes: tuple[str, ...] = ()
    #: the layer settings that differ (dropout p, batch-norm eps, ...): {name: (before, after)}
    settings: dict = field(default_factory=dict)


@dataclass
class SpecDiff:
    """The comparison of two analyses, node by node and in total."""

    before: Analysis
    after: Analysis
    rows: list[RowDiff]
    before_source: Source
    after_source: Source
    notes: list[str] = field(default_factory=list)
    #: what differs in the spec outside its layers (the input normalisation)
    spec_changes: list[str] = field(default_factory=list)
    _totals: dict | None = field(default=None, init=False, repr=False, compare=False)

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    def totals(self) -> dict[str, tuple]:
        """Each of TOTALS (and ``input``) as (before, after)."""
        if self._totals is None:
            sides = [_totals(a) for a in (self.before, self.after)]
            self._totals = {key: (sides[0][key], sides[1][key]) for key in sides[0]}
        return dict(self._totals)

    @property
    def differs(self) -> bool:
        """True when any node or total differs (what ``--exit-code`` reports)."""
        if self.spec_changes or any(row.status != "unchanged" for row in self.rows):
            return True
        return any(not same(a, b) for a, b in self.totals().values())


def _totals(analysis: Analysis) -> dict:
    t = analysis.totals()
    result = {key: t[key] for key, _ in TOTALS if key in t}
    result["nodes"] = len(analysis.graph.nodes)
    result["receptive_field"] = rf_sizes(analysis.facts[analysis.graph.output])
    result["input"] = tuple(analysis.input_shape)
    return {key: result[key] for key in (*(k for k, _ in TOTALS), "input")}


class Sizes(tuple):
    """Receptive-field sizes per axis, knowing whether the field is exact."""

    exact = True


def rf_sizes(facts: NodeFacts | None) -> tuple | None:
    """The receptive-field size per spatial axis, or None (no spatial axes)."""
    if facts is None or not facts.rf:
        return None
    sizes = Sizes(rf.size for rf in facts.rf)
    sizes.exact = all(rf.exact for rf in facts.rf)
    return sizes


def same(a, b) -> bool:
    """Equality of numbers, formulas, shapes (tuples of them) and None."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b)))
    if a is None or b is None or isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
        return a == b
    if a == b:
        return True
    return dims.to_int(dims.normalize(b - a)) == 0


def delta(before, after):
    """after − before, an int or a formula (0 for a missing side)."""
    return dims.normalize((after if after is not None else 0) - (before if before is not None else 0))


def percent(before, after) -> float | None:
    """The relative change in percent, or None (no concrete, non-zero ``before``)."""
    a, b = dims.to_int(before) if before is not None else None, dims.to_int(after)
    if a is None or b is None or a == 0:
        return None
    try:
        return (b - a) * 100 / a
    except OverflowError:  # a change of more than 10^308 percent: not a float
        return None


def _values(facts: NodeFacts) -> dict:
    return {"type": facts.type, "output_shape": facts.output, "params": facts.params,
            "trainable": facts.trainable, "macs": facts.macs, "receptive_field": rf_sizes(facts),
            "activation_bytes": facts.activation_bytes}


def _settings(before: Analysis, after: Analysis, name: str) -> dict:
    """The layer settings that differ between the two sides (same layer type only)."""
    old, new = before.graph.node(name).layer, after.graph.node(name).layer
    if type(old) is not type(new):
        return {}
    a, b = old.config(), new.config()
    return {key: (a[key], b[key]) for key in a if a[key] != b[key]}


def _order(before: list[str], after: list[str]) -> list[str]:
    """Both sides' names in one order, aligned like a text diff: where the sequences differ,
    the removed names come first, then the after side's (added, or moved from elsewhere)."""
    from difflib import SequenceMatcher

    in_after = set(after)
    result = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag != "equal":
            result.extend(name for name in before[i1:i2] if name not in in_after)
        result.extend(after[j1:j2])
    return result


def diff_analyses(before: Analysis, after: Analysis, before_source: Source | None = None,
                  after_source: Source | None = None, notes=()) -> SpecDiff:
    """Compare two analyses node by node (matched by dotted name) and in total."""
    rows = []
    names = _order([n.name for n in before.graph.nodes], [n.name for n in after.graph.nodes])
    for name in names:
        old, new = before.facts.get(name), after.facts.get(name)
        if old is None or new is None:
            rows.append(RowDiff(name, "added" if old is None else "removed", old, new))
            continue
        a, b = _values(old), _values(new)
        settings = _settings(before, after, name)
        changes = tuple(key for key in FIELDS[:-1] if not same(a[key], b[key])) + (
            ("settings",) if settings else ())
        rows.append(RowDiff(name, "changed" if changes else "unchanged", old, new, changes, settings))
    spec_changes = []
    if before.graph.normalize != after.graph.normalize:
        spec_changes.append(f"input normalisation: {_normalize_text(before.graph.normalize)} -> "
                            f"{_normalize_text(after.graph.normalize)}")
    sides = [_outputs_text(a) for a in (before, after)]
    if sides[0] != sides[1] and (before.graph.outputs or after.graph.outputs):
        spec_changes.append(f"outputs: {sides[0]} -> {sides[1]}")
    return SpecDiff(before, after, rows, before_source or Source(before.graph.file),
                    after_source or Source(after.graph.file), list(notes), spec_changes)


def _outputs_text(analysis: Analysis) -> str:
    """The outputs as ``out (head) 1x10, aux (aux_head) 1x10``: name, node, shape."""
    return ", ".join(f"{name} ({node}) {'x'.join(map(dims.fmt, (analysis.batch, *shape)))}"
                     for name, node, shape in analysis.output_shapes())


def _normalize_text(normalize) -> str:
    if normalize is None:
        return "none"
    return ", ".join(f"{key} {list(values)}" for key, values in normalize.items())


# --- loading both sides --------------------------------------------------------------------


@dataclass
class _Side:
    doc: object
    source: Source
    file: str  # as error messages name it: the path, or path@revision
    default_name: str


def diff_files(before: str, after: str, overrides: dict | None = None, input_shape=None,
               batch: int = 1, dtype: str = "float32") -> SpecDiff:
    """Diff two spec files. ``overrides`` (like ``--set``), ``input_shape``, ``batch`` and
    ``dtype`` apply to both; a variable is overridden in each spec that defines it, and one
    that neither defines is an error."""
    return _diff_sides([_read_file(before), _read_file(after)], overrides, input_shape, batch, dtype)


def diff_revisions(spec: str, rev: str, overrides: dict | None = None, input_shape=None,
                   batch: int = 1, dtype: str = "float32") -> SpecDiff:
    """Diff SPEC at git revision REV (before) against the file on disk (after), or, for
    ``REV1..REV2``, SPEC at REV1 against SPEC at REV2 (an empty side means HEAD, as in git)."""
    old, new = split_revisions(rev)
    before = _read_revision(spec, old)
    after = _read_file(spec) if new is None else _read_revision(spec, new)
    return _diff_sides([before, after], overrides, input_shape, batch, dtype)


def _read_file(path: str) -> _Side:
    return _Side(read_spec_file(path), Source(str(path)), str(path), Path(path).stem)


def _diff_sides(sides: list[_Side], overrides, input_shape, batch, dtype) -> SpecDiff:
    with size_hints():
        return _diff_graphs(sides, overrides, input_shape, batch, dtype)


def _diff_graphs(sides: list[_Side], overrides, input_shape, batch, dtype) -> SpecDiff:
    overrides = dict(overrides or {})
    graphs, where = [], {name: [] for name in overrides}
    for label, side in zip(("before", "after"), sides):
        mine = defined_overrides(side.doc, overrides)
        for name in mine:
            where[name].append(label)
        graphs.append(build_graph(side.doc, side.file, mine, input_shape, side.default_name))
    notes = []
    for name, labels in where.items():
        if not labels:
            known = spec_vars(sides[0].doc) | spec_vars(sides[1].doc)
            raise UsageError(f"--set {name}: neither spec has a variable '{name}'",
                             hint=did_you_mean(name, known) or (
                                 "variables: " + ", ".join(sorted(map(str, known))) if known
                                 else "the specs define no vars"))
        if len(labels) == 1:
            notes.append(f"--set {name} applies to the {labels[0]} spec only; "
                         f"the other has no variable '{name}'")
    before, after = (analyze(g, None, batch, dtype) for g in graphs)
    return diff_analyses(before, after, sides[0].source, sides[1].source, notes)


# --- git -----------------------------------------------------------------------------------

_BAD_REV = re.compile(r"[\s:\x00-\x1f\x7f]|\.\.")


def split_revisions(rev: str) -> tuple[str, str | None]:
    """``REV`` → (REV, None: the working tree); ``A..B`` → (A, B), an empty side being HEAD."""
    text = str(rev)
    if "..." in text:
        raise UsageError(f"--rev {text}: give one revision or REV1..REV2, not a '...' range")
    if ".." in text:
        old, new = text.split("..", 1)
        return check_revision(old or "HEAD"), check_revision(new or "HEAD")
    return check_revision(text), None


def check_revision(rev: str) -> str:
    """Refuse what could be read as an option or is not one revision."""
    if not rev or rev.startswith("-") or _BAD_REV.search(rev):
        raise UsageError(f"--rev: '{rev}' is not a revision",
                         hint="name a commit, branch or tag, e.g. HEAD~1, main, v1.2")
    return rev


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    git = shutil.which("git")
    if git is None:
        raise UsageError("--rev needs git, which is not installed (not on PATH)")
    try:
        return subprocess.run([git, *args], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise UsageError(f"cannot run git: {exc.strerror or exc}") from None


def _read_revision(spec: str, rev: str) -> _Side:
    """SPEC as committed at REV (``git show REV:PATH``, PATH relative to the repository)."""
    path = Path(spec)
    folder = path.parent.resolve()
    if not folder.is_dir():
        raise UsageError(f"{spec}: the folder {path.parent} does not exist")
    done = _git(["rev-parse", "--show-toplevel"], folder)
    if done.returncode != 0:
        raise UsageError(f"{spec}: not in a git repository, so --rev cannot read it",
                         hint="diff two files instead: cnnspec diff BEFORE.yaml AFTER.yaml")
    top = Path(done.stdout.decode("utf-8", "replace").strip()).resolve()
    try:
        relative = (folder / path.name).relative_to(top).as_posix()
    except ValueError:
        raise UsageError(f"{spec} is outside the git repository at {top}") from None
    done = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], folder)
    if done.returncode != 0:
        raise UsageError(f"unknown revision '{rev}'", hint="see git log for the revisions of this repository")
    commit = done.stdout.decode("ascii", "replace").strip()
    file = f"{spec}@{rev}"
    done = _git(["cat-file", "-s", f"{commit}:{relative}"], folder)  # refuse a huge blob unread
    size = done.stdout.decode("ascii", "replace").strip()
    if done.returncode == 0 and size.isdigit() and int(size) > MAX_SOURCE_BYTES:
        raise SpecStructureError(f"the spec is larger than {MAX_SOURCE_BYTES:,} bytes "
                                 f"({MAX_SOURCE_BYTES // 1024 ** 2} MiB), the most cnnspec reads",
                                 Position(file))
    done = _git(["show", f"{commit}:{relative}"], folder)
    if done.returncode != 0:
        raise UsageError(f"{relative} does not exist at revision {rev}",
                         hint=f"git log --oneline --follow -- {shlex.quote(str(relative))} lists the "
                              "commits that have it (and finds it under an earlier name)")
    try:
        text = done.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecSyntaxError(f"the spec is not UTF-8 text (byte {exc.start})", Position(file)) from None
    return _Side(load_yaml(text, file), Source(str(spec), rev, commit), file, path.stem)
