"""What a rule module needs, and nothing of the rest of the linter: the :class:`Finding` a
rule yields, the :class:`Rule` record, the table of rules by code, and the ``@rule`` decorator
that fills it.

A leaf: the rule modules (``rules/*.py``, ``budgets.py``) import this, and
:mod:`cnnspec.lint.registry` imports them, so that the table is full once it is loaded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cnnspec.lint.diagnostic import SEVERITIES

__all__ = ["RULES", "Finding", "Rule", "rule"]


@dataclass(frozen=True)
class Finding:
    """What a rule reports: the node it is about (None for the spec as a whole), the message,
    the fix, and the figures behind them."""

    node: str | None
    message: str
    fix: str | None = None
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    summary: str
    check: Callable[..., Iterator[Finding]]
    #: the settings the rule reads, with their defaults
    settings: dict = field(default_factory=dict)

    @property
    def doc_anchor(self) -> str:
        return f"{self.code.lower()}-{self.name}"


RULES: dict[str, Rule] = {}


def rule(code: str, name: str, severity: str, summary: str, **settings):
    """Register a check function as a rule."""
    if severity not in SEVERITIES:
        raise ValueError(f"{code}: unknown severity {severity}")

    def register(check):
        if code in RULES or any(r.name == name for r in RULES.values()):
            raise ValueError(f"rule {code} {name} is registered twice")
        RULES[code] = Rule(code, name, severity, summary, check, dict(settings))
        return check

    return register
