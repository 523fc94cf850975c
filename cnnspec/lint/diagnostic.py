"""A lint finding: which rule, how severe, where, about which node, what to do."""

from __future__ import annotations

from dataclasses import dataclass, field

#: From least to most severe. ``check`` fails (exit 1) on findings at or above ``fail-on``.
SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass
class Diagnostic:
    """One finding. ``data`` holds the figures the message quotes, as exact numbers."""

    code: str
    name: str
    severity: str
    message: str
    file: str
    line: int = 1
    column: int = 1
    node: str | None = None
    fix: str | None = None
    data: dict = field(default_factory=dict)

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.code, self.node or "")

    def to_json(self) -> dict:
        return {"code": self.code, "name": self.name, "severity": self.severity,
                "message": self.message, "fix": self.fix, "file": self.file, "line": self.line,
                "column": self.column, "node": self.node, "data": self.data}
