"""The rule registry: every rule has a stable code, a name, a default severity, its settings
with their defaults, and a check function over an analysed graph.

Rules are selected like ruff's: by code (``CNN101``), by code prefix (``CNN1``), by name
(``fc-params``) or ``ALL``."""

from __future__ import annotations

import cnnspec.lint.budgets as budgets
from cnnspec.lint.rule import RULES, Finding, Rule, rule
from cnnspec.lint.rules import fields, layers, spatial

__all__ = ["RULES", "RULE_MODULES", "Finding", "Rule", "all_rules", "canonical_selector",
           "default_settings", "known_selector", "matches", "rule"]

#: the modules whose rules fill RULES: each registers its rules when it is imported
RULE_MODULES = (budgets, fields, layers, spatial)


def all_rules() -> list[Rule]:
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
