"""The rule registry: every rule has a stable code, a name, a default severity, its settings
with their defaults, and a check function over an analysed graph.

Rules are selected like ruff's: by code (``CNN101``), by code prefix (``CNN1``), by name
(``fc-params``) or ``ALL``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cnnspec.lint.diagnostic import SEVERITIES


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
    from cnnspec.lint import budgets  # noqa: F401  (they register)
    from cnnspec.lint.rules import fields, layers, spatial  # noqa: F401

    return sorted(RULES.values(), key=lambda r: r.code)


def matches(selector: str, rule_: Rule) -> bool:
    """Does a select/ignore entry name this rule?"""
    selector = selector.strip()
    if selector.upper() == "ALL":
        return True
    return rule_.code.startswith(selector.upper()) or selector.lower() == rule_.name


def known_selector(selector: str) -> bool:
    return canonical_selector(selector) is not None


_SELECTORS: dict = {}


def canonical_selector(selector: str) -> str | None:
    """The one spelling of a select/ignore entry that names rules (``ALL``, a code or code
    prefix in capitals, a rule name in lower case), or None when it names none. Found in sets,
    so a list of many entries costs one look-up each."""
    rules = all_rules()
    if _SELECTORS.get("count") != len(rules):
        _SELECTORS.clear()
        _SELECTORS["count"] = len(rules)
        _SELECTORS["prefixes"] = {r.code[:i] for r in rules for i in range(1, len(r.code) + 1)}
        _SELECTORS["names"] = {r.name for r in rules}
    text = selector.strip()
    if not text:
        return None
    if text.upper() == "ALL" or text.upper() in _SELECTORS["prefixes"]:
        return text.upper()
    return text.lower() if text.lower() in _SELECTORS["names"] else None


def default_settings() -> dict:
    merged: dict = {}
    for r in all_rules():
        merged.update(r.settings)
    return merged
