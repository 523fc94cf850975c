"""The findings as text (like ruff), JSON, or GitHub Actions workflow commands."""

from __future__ import annotations

import json
from collections import Counter

from cnnspec.errors import printable
from cnnspec.lint.diagnostic import SEVERITIES
from cnnspec.version import SCHEMA_VERSION, __version__

#: The version of the JSON output's layout.


def _summary(reports, fail_on: str) -> dict:
    diags = [d for r in reports for d in r.diagnostics]
    by_severity = Counter(d.severity for d in diags)
    return {"specs": sum(1 for r in reports if not r.skipped),
            "skipped": sum(1 for r in reports if r.skipped),
            "specs_with_findings": sum(1 for r in reports if r.diagnostics),
            "errors": sum(1 for r in reports if r.error is not None),
            "findings": len(diags), "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
            "suppressed": sum(r.suppressed for r in reports), "fail_on": fail_on}


def _plain(text: str, role: str) -> str:
    return text


def render_text(reports, fail_on: str = "warning", show_fixes: bool = True, paint=_plain) -> str:
    """``paint(text, role)`` colours the parts (cnnspec.cli.terminal); the default leaves
    them as they are."""
    lines = []
    for report in reports:
        if report.error is not None:
            pos = getattr(report.error, "pos", None)
            where = str(pos) if pos is not None and pos.line else report.file
            path = f" [{printable(pos.path)}]" if pos is not None and pos.path else ""
            lines.append(f"{paint(printable(where) + ':', 'location')} {paint('error', 'error')}{path}: "
                         f"{printable(report.error.message)}")
            if report.error.hint:
                lines.append(f"  {paint('hint:', 'fix')} {printable(report.error.hint)}")
            continue
        for d in report.diagnostics:
            tag = "" if d.severity == "warning" else f" [{d.severity}]"
            lines.append(f"{paint(f'{printable(d.file)}:{d.line}:{d.column}:', 'location')} "
                         f"{paint(d.code + tag, d.severity)} {printable(d.message)}")
            if show_fixes and d.fix:
                lines.append(f"  {paint('fix:', 'fix')} {printable(d.fix)}")
    s = _summary(reports, fail_on)
    counts = ", ".join(f"{n} {sev}{'' if n == 1 else 's'}"
                       for sev, n in reversed(s["by_severity"].items()) if n)
    if s["findings"]:
        specs = f"{s['specs']} spec{'s' if s['specs'] != 1 else ''}"
        lines.append(paint(f"Found {s['findings']} finding{'s' if s['findings'] != 1 else ''} ({counts}) in "
                           f"{s['specs_with_findings']} of {specs}.", "header"))
    elif not s["errors"]:
        lines.append(paint(f"All checks passed ({s['specs']} spec{'s' if s['specs'] != 1 else ''}).", "ok"))
    if s["suppressed"]:
        plural = "s" if s["suppressed"] != 1 else ""
        lines.append(f"{s['suppressed']} finding{plural} suppressed by comments.")
    if s["errors"]:
        lines.append(f"{s['errors']} spec{'s' if s['errors'] != 1 else ''} could not be checked.")
    if s["skipped"]:
        lines.append(f"{s['skipped']} YAML file{'s' if s['skipped'] != 1 else ''} skipped: not a spec.")
    return "\n".join(lines) + "\n"


def _error_json(report) -> dict:
    pos = getattr(report.error, "pos", None)
    hint = report.error.hint
    return {"message": printable(report.error.message), "hint": None if hint is None else printable(hint),
            "line": pos.line if pos is not None else 0, "column": pos.column if pos is not None else 0,
            "key": pos.path if pos is not None else ""}


def render_json(reports, fail_on: str = "warning") -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "cnnspec", "version": __version__},
        "summary": _summary(reports, fail_on),
        "specs": [{"file": r.file, "error": _error_json(r) if r.error is not None else None,
                   "fail_on": r.fail_level(fail_on),
                   "failed": r.error is not None or r.failed(r.fail_level(fail_on)),
                   "suppressed": r.suppressed, "diagnostics": [d.to_json() for d in r.diagnostics]}
                  for r in reports if not r.skipped],
        "skipped": [r.file for r in reports if r.skipped],
    }
    return json.dumps(doc, indent=2) + "\n"


_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(reports, fail_on: str = "warning") -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the file."""
    lines = []
    for report in reports:
        if report.error is not None:
            pos = getattr(report.error, "pos", None)
            line = pos.line if pos is not None and pos.line else 1
            col = pos.column if pos is not None and pos.column else 1
            lines.append(f"::error file={_escape_property(report.file)},line={line},col={col},"
                         f"title=cnnspec error::{_escape_data(printable(report.error.message))}")
            continue
        for d in report.diagnostics:
            body = printable(d.message) + (f"\nfix: {printable(d.fix)}" if d.fix else "")
            title = _escape_property(f"{d.code} {d.name}")
            lines.append(f"::{_GITHUB_LEVEL[d.severity]} file={_escape_property(d.file)},"
                         f"line={d.line},"
                         f"col={d.column},title={title}::{_escape_data(body)}")
    return "\n".join(lines) + ("\n" if lines else "")
