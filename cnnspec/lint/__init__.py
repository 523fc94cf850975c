"""``cnnspec check``: design-pitfall rules and budgets over an analysed spec.

    >>> from cnnspec.lint import check_file
    >>> report = check_file("specs/vgg16.yaml")
    >>> [d.code for d in report.diagnostics]
    ['CNN104', 'CNN108', 'CNN101']

The rules live in ``rules/*.py`` and ``budgets.py``, one function each, registered with a
stable code (docs/rules.md) by ``@rule`` (:mod:`cnnspec.lint.rule`). Configuration:
:mod:`cnnspec.lint.config`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cnnspec.api import analyze, load_spec
from cnnspec.errors import CnnspecError, NotASpecError, Position, SpecStructureError, UsageError
from cnnspec.ir.graph import Graph
from cnnspec.lint.config import LintSettings, find_pyproject, project_settings, spec_settings
from cnnspec.lint.context import Context
from cnnspec.lint.diagnostic import Diagnostic, severity_rank
from cnnspec.lint.registry import RULES, Rule, all_rules, default_settings, known_selector, matches

__all__ = ["CheckReport", "Diagnostic", "LintSettings", "check_file", "check_graph", "enabled_rules",
           "severity_of"]

_SUPPRESS = re.compile(r"#\s*(?:cnnspec\s*:\s*ignore|noqa)\b(?:\s*(?:\[([^\]]*)\]|:\s*([\w\s,-]+)))?",
                       re.IGNORECASE)


@dataclass
class CheckReport:
    """The findings for one spec (or the error that stopped it from being checked)."""

    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: CnnspecError | None = None
    suppressed: int = 0
    settings: LintSettings | None = None
    #: the file is YAML but not a spec, and the run was told to pass over such files
    skipped: bool = False
    #: the --set variables this spec has (with ``lenient_overrides``, only those are applied)
    overrides_used: set = field(default_factory=set)

    def failed(self, fail_on: str = "warning") -> bool:
        return any(severity_rank(d.severity) >= severity_rank(fail_on) for d in self.diagnostics)

    def fail_level(self, default: str = "warning") -> str:
        """The least severity that fails this spec: its settings' fail_on, else ``default``
        (the run's)."""
        return (self.settings and self.settings.fail_on) or default


def enabled_rules(settings: LintSettings) -> list[Rule]:
    select = settings.select if settings.select is not None else ["ALL"]
    return [r for r in all_rules()
            if any(matches(s, r) for s in select) and not any(matches(i, r) for i in settings.ignore)]


def severity_of(rule: Rule, settings: LintSettings) -> str:
    """The rule's severity: its default, overridden by entries naming it (ALL first, then
    prefixes from short to long, then its exact code or name)."""
    level = rule.severity
    specific = sorted((s for s in settings.severity if matches(s, rule)),
                      key=lambda s: (s.upper() != "ALL", s.upper() == rule.code or s.lower() == rule.name,
                                     len(s)))
    for selector in specific:
        level = settings.severity[selector]
    return level


def suppressions(text: str) -> dict[int, set | None]:
    """Line number -> the rule selectors suppressed there (None: every rule), from comments
    ``# cnnspec: ignore[CNN101, fc-params]``, ``# cnnspec: ignore``, ``# noqa: CNN101``.
    Selectors are read as ``select`` reads them (code, prefix, name, ALL); after ``noqa:`` the
    list ends at the first word that is not one, so an explanation may follow it. A bare
    comment suppresses every rule; a list with no selector in it suppresses none."""
    found: dict[int, set | None] = {}
    if "cnnspec" not in text and "noqa" not in text:
        return found
    for number, line in enumerate(text.splitlines(), start=1):
        if "#" not in line:
            continue
        match = _SUPPRESS.search(line)
        if not match:
            continue
        listed = match.group(1) if match.group(1) is not None else match.group(2)
        if listed is None:
            found[number] = None
            continue
        selectors = set()
        for token in (t for t in re.split(r"[,\s]+", listed) if t):
            if not known_selector(token):
                if match.group(2) is not None:
                    break  # the codes after 'noqa:' end where the prose begins
                continue
            selectors.add(token)
        found[number] = selectors
    return found


def _suppressed(diag: Diagnostic, where: dict) -> bool:
    if diag.line not in where:
        return False
    selectors = where[diag.line]
    rule = RULES[diag.code]
    return selectors is None or any(matches(s, rule) for s in selectors)


def check_graph(graph: Graph, settings: LintSettings | None = None, command_line: LintSettings | None = None,
                text: str | None = None) -> CheckReport:
    """Run the enabled rules and budgets over a graph: ``settings`` (the project's) overridden
    by the spec's ``lint:`` section, overridden by ``command_line``. ``text`` is the spec's
    source, for suppression comments (read from ``graph.file`` when that is a file)."""
    own = spec_settings(*graph.lint) if graph.lint is not None else None
    settings = (settings or LintSettings()).merged(own).merged(command_line)
    if not all(isinstance(d, int) for d in graph.input_shape):
        raise UsageError(f"check needs a concrete input size, not {'x'.join(map(str, graph.input_shape))}",
                         hint="give --input, e.g. 3x224x224")
    analysis = analyze(graph, None, settings.batch or 1, settings.dtype or "float32")
    thresholds = {**default_settings(), **settings.thresholds}
    budgets = {"max_params": settings.max_params, "max_macs": settings.max_macs,
               "max_memory": settings.max_memory}
    ctx = Context(graph, analysis, thresholds, budgets)
    if text is None and Path(graph.file).is_file():
        text = Path(graph.file).read_text(encoding="utf-8", errors="replace")
    where = suppressions(text or "")
    report = CheckReport(graph.file, settings=settings)
    fallback = graph.input_pos
    rules = enabled_rules(settings)
    if not rules:
        raise UsageError("no rule is selected: " + f"select {settings.select or ['ALL']} minus ignore "
                         f"{settings.ignore} leaves none",
                         hint="a later select does not undo an earlier ignore; to check nothing, "
                              "leave the spec out of the run")
    for rule in rules:
        level = severity_of(rule, settings)
        for finding in rule.check(ctx):
            pos = graph.node(finding.node).pos if finding.node else fallback
            diag = Diagnostic(rule.code, rule.name, level, finding.message, graph.file,
                              max(pos.line, 1), max(pos.column, 1), finding.node, finding.fix,
                              finding.data)
            if _suppressed(diag, where):
                report.suppressed += 1
            else:
                report.diagnostics.append(diag)
    report.diagnostics = _fold_instances(sorted(report.diagnostics, key=Diagnostic.sort_key))
    return report


def _fold_instances(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One finding per rule and spec line: a layer inside a block or repeat is one line of the
    spec but many nodes, and the others are named in the first one's message (their names in
    ``data["instances"]``)."""
    folded: list[Diagnostic] = []
    by_place: dict = {}
    for diag in diagnostics:
        key = (diag.code, diag.line, diag.column)
        first = by_place.get(key)
        if first is None or diag.node is None:
            by_place[key] = diag
            folded.append(diag)
            continue
        first.data.setdefault("instances", [first.node]).append(diag.node)
    for diag in folded:
        others = diag.data.get("instances", [])[1:]
        if others:
            names = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            diag.message += f" (and {len(others)} more instance{'s' if len(others) > 1 else ''} " \
                            f"of this line: {names})"
    return folded


def project_for(path: Path, config: Path | None = None) -> LintSettings:
    """The project's settings for a spec file: ``config``, else the nearest pyproject.toml
    with a [tool.cnnspec] table above the file (none: the defaults)."""
    found = config or find_pyproject(path.resolve().parent)
    if found is None:
        return LintSettings()
    return project_settings(Path(found))


def check_file(path, command_line: LintSettings | None = None, overrides: dict | None = None,
               input_shape=None, config: Path | None = None, use_project: bool = True, *,
               skip_non_specs: bool = False, lenient_overrides: bool = False) -> CheckReport:
    """Load a spec file and check it with the project's settings, the spec's and
    ``command_line``'s; a spec error is kept in the report, not raised. With
    ``skip_non_specs`` a YAML file that is no spec at all is reported as skipped; with
    ``lenient_overrides`` only the ``overrides`` the spec has a variable for are applied
    (a run over many specs; the caller checks that each is used somewhere)."""
    path = Path(path)
    try:
        project = project_for(path, config) if use_project else LintSettings()
    except CnnspecError as exc:  # a bad pyproject.toml stops this spec, not the run
        return CheckReport(str(path), error=exc, settings=LintSettings().merged(command_line))
    try:
        graph = load_spec(path, overrides, input_shape, only_defined=lenient_overrides)
        report = check_graph(graph, project, command_line)
        report.overrides_used = set(overrides or {}) & set(graph.vars)
    except NotASpecError as exc:
        if skip_non_specs:
            return CheckReport(str(path), settings=project, skipped=True)
        return CheckReport(str(path), error=exc, settings=project.merged(command_line))
    except CnnspecError as exc:
        return CheckReport(str(path), error=exc, settings=project.merged(command_line))
    except RecursionError:
        error = SpecStructureError("the spec is nested too deeply to analyse", Position(str(path)))
        return CheckReport(str(path), error=error, settings=project.merged(command_line))
    return report

