"""Each rule's full explanation, as ``cnnspec rule CODE`` prints it and docs/rules.md shows it.

One source of truth: a rule's code, name, default severity, summary and settings are its
``@rule`` registration; its explanation (why it matters, what triggers it, its settings, an
example with the output cnnspec prints, the fix) is ``explanations/CODE.md`` in this package,
shipped as package data. docs/rules.md's rule table and rule sections are generated from the
two (:mod:`cnnspec.reports.rule_reference`), and tests/test_rules.py fails when the page
differs, so the page, the command and the registry cannot drift apart; the page's examples are
run by tests/test_docs.py, so the packaged text is checked with it."""

from __future__ import annotations

from importlib import resources

from cnnspec.errors import UsageError
from cnnspec.lint.registry import all_rules
from cnnspec.lint.rule import Rule

__all__ = ["EXPLANATIONS", "explanation", "find_rule", "section", "settings_jsonable"]

#: the package directory holding one ``CODE.md`` per rule
EXPLANATIONS = "explanations"


def explanation(rule_: Rule) -> str:
    """The rule's explanation: Markdown, ending in one newline."""
    path = resources.files("cnnspec.lint").joinpath(EXPLANATIONS, f"{rule_.code}.md")
    return path.read_text(encoding="utf-8")


def section(rule_: Rule) -> str:
    """The rule's section of docs/rules.md: heading, default severity, explanation."""
    return (f"## {rule_.code} {rule_.name}\n\nDefault severity: **{rule_.severity}**.\n\n"
            + explanation(rule_))


def settings_jsonable(rule_: Rule) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in rule_.settings.items()}


def find_rule(text: str) -> Rule:
    """The rule a code or name names (any case); a UsageError with the close matches otherwise."""
    wanted = text.strip()
    for r in all_rules():
        if wanted.upper() == r.code or wanted.lower() == r.name:
            return r
    known = {r.code: r for r in all_rules()} | {r.name: r for r in all_rules()}
    shown = list(dict.fromkeys(f"{known[c].code} ({known[c].name})" for c in _close(wanted, list(known))))
    hint = ("did you mean " + " or ".join(shown) + "?") if shown else None
    raise UsageError(f"no rule {wanted!r}", hint=(hint + " " if hint else "")
                     + "'cnnspec rules' lists every rule")


def _close(wanted: str, known: list[str]) -> list[str]:
    """The codes one character off (CNN1O1), else difflib's close codes and names."""
    import difflib

    upper = wanted.upper()
    typo = [k for k in known if len(k) == len(upper) and sum(a != b for a, b in zip(k, upper)) == 1]
    return typo or difflib.get_close_matches(upper if upper.startswith("CNN") else wanted.lower(),
                                             known, n=3, cutoff=0.5)
