"""The rule reference of docs/rules.md (the table of rules and one section per rule),
generated from the rule registry and the packaged explanations (:mod:`cnnspec.lint.explain`)
so the page says what ``cnnspec rules`` and ``cnnspec rule CODE`` print.

``python -m cnnspec.reports.rule_reference`` prints it; ``--write docs/rules.md`` replaces the
region between the markers; ``--check docs/rules.md`` exits 1 when the page differs.
tests/test_rules.py fails when the page is not regenerated. To change a rule's text,
edit ``cnnspec/lint/explanations/CODE.md`` (or the rule's ``@rule`` summary) and regenerate."""

from __future__ import annotations

import sys

from cnnspec.lint.explain import section
from cnnspec.lint.registry import all_rules
from cnnspec.reports.page_region import Region

COMMAND = "python -m cnnspec.reports.rule_reference --write docs/rules.md"
BEGIN = (f"<!-- rule-reference: generated from the rule registry and cnnspec/lint/explanations/ by "
         f"`{COMMAND}`; do not edit by hand -->")
END = "<!-- /rule-reference -->"
_BEGIN_PREFIX = "<!-- rule-reference:"


def _table() -> list[str]:
    lines = ["| code | name | default severity | finding |", "|---|---|---|---|"]
    for r in all_rules():
        lines.append(f"| [{r.code}](#{r.doc_anchor}) | `{r.name}` | {r.severity} | {r.summary} |")
    return lines


def rule_reference() -> str:
    """The generated Markdown, from the begin marker to the end marker (no final newline)."""
    lines = [BEGIN, "", *_table()]
    text = "\n".join(lines) + "\n"
    for r in all_rules():
        text += "\n" + section(r)
    return text + "\n" + END


REGION = Region("rule reference", _BEGIN_PREFIX, END, rule_reference, "docs/rules.md")
page_section = REGION.section
replace_section = REGION.replace


def diff(page: str, path: str = "docs/rules.md") -> str:
    """A unified diff from the page's region to the generated one ('' when they agree)."""
    return REGION.diff(page, path)


def main(argv: list[str] | None = None) -> int:
    return REGION.main(argv, "python -m cnnspec.reports.rule_reference", "the rule registry")


if __name__ == "__main__":
    sys.exit(main())
