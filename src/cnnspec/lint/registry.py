"""The rule registry: every rule has a stable code, a name, a default severity, its settings
with their defaults, and a check function over an analysed graph.

Rules are selected like ruff's: by code (``CNN101``), by code prefix (``CNN1``), by name
(``fc-params``) or ``ALL``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .diagnostic import SEVERITIES


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


def all_rules() -> list[Rule]:
    from . import budgets, rules_fields, rules_layers, rules_spatial  # noqa: F401  (they register)

    return sorted(RULES.values(), key=lambda r: r.code)


def matches(selector: str, rule_: Rule) -> bool:
    """Does a select/ignore entry name this rule?"""
    selector = selector.strip()
    if selector.upper() == "ALL":
        return True
    return rule_.code.startswith(selector.upper()) or selector.lower() == rule_.name


def known_selector(selector: str) -> bool:
    return bool(selector.strip()) and any(matches(selector, r) for r in all_rules())


def default_settings() -> dict:
    merged: dict = {}
    for r in all_rules():
        merged.update(r.settings)
    return merged
