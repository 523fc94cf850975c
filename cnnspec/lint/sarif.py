"""SARIF 2.1.0 output, for GitHub code scanning and other static-analysis dashboards."""

from __future__ import annotations

import json
from pathlib import Path

from cnnspec.errors import printable
from cnnspec.lint.registry import all_rules
from cnnspec.version import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES_DOC = "docs/rules.md"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _uri(file: str) -> str:
    """A relative path stays relative (resolved against the checkout by the viewer)."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_uri()
    return path.as_posix()


def _descriptor(r) -> dict:
    """A rule as SARIF describes it."""
    return {
        "id": r.code,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.summary},
        "help": {"text": f"{r.summary}. See {RULES_DOC}#{r.doc_anchor} in the cnnspec sources.",
                 "markdown": f"{r.summary}. See `{RULES_DOC}#{r.doc_anchor}` in the cnnspec sources."},
        "defaultConfiguration": {"level": _LEVEL[r.severity]},
        "properties": {"settings": {k: list(v) if isinstance(v, tuple) else v
                                    for k, v in r.settings.items()}},
    }


def _notification(report) -> dict:
    """A spec that could not be checked, as a tool execution notification."""
    pos = getattr(report.error, "pos", None)
    location = {"physicalLocation": {"artifactLocation": {"uri": _uri(report.file)},
                                     "region": {"startLine": max(1, pos.line if pos else 1),
                                                "startColumn": max(1, pos.column if pos else 1)}}}
    return {"level": "error", "message": {"text": printable(report.error.message)},
            "locations": [location]}


def _result(d, index: dict) -> dict:
    """A finding as a SARIF result (``index``: rule code -> its place among the descriptors)."""
    text = printable(d.message) + (f" Fix: {printable(d.fix)}" if d.fix else "")
    return {
        "ruleId": d.code,
        "ruleIndex": index[d.code],
        "level": _LEVEL[d.severity],
        "message": {"text": text},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": _uri(d.file)},
                "region": {"startLine": d.line, "startColumn": d.column},
            },
            **({"logicalLocations": [{"name": d.node, "kind": "module"}]} if d.node else {}),
        }],
        "partialFingerprints": {"cnnspec/v1": f"{d.code}:{d.node or ''}"},
        "properties": {"data": d.data},
    }


def render_sarif(reports, fail_on: str = "warning") -> str:
    rules = all_rules()
    index = {r.code: i for i, r in enumerate(rules)}
    results, notifications = [], []
    for report in reports:
        if report.error is not None:
            notifications.append(_notification(report))
        else:
            results.extend(_result(d, index) for d in report.diagnostics)
    run = {
        "tool": {"driver": {"name": "cnnspec", "version": __version__, "semanticVersion": __version__,
                            "rules": [_descriptor(r) for r in rules]}},
        "results": results,
        "columnKind": "unicodeCodePoints",
        "invocations": [{"executionSuccessful": not notifications,
                         "toolExecutionNotifications": notifications}],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
