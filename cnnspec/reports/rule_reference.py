"""The rule reference of docs/rules.md (the table of rules and one section per rule),
generated from the rule registry and the packaged explanations (:mod:`cnnspec.lint.explain`)
so the page says what ``cnnspec rules`` and ``cnnspec rule CODE`` print.

``python -m cnnspec.reports.rule_reference`` prints it; ``--write docs/rules.md`` replaces the
region between the markers; ``--check docs/rules.md`` exits 1 when the page differs.
tests/test_rule_reference.py fails when the page is not regenerated. To change a rule's text,
edit ``cnnspec/lint/explanations/CODE.md`` (or the rule's ``@rule`` summary) and regenerate."""

from __future__ import annotations

import argparse
import difflib
import sys

from cnnspec.lint.explain import section
from cnnspec.lint.registry import all_rules

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


def _span(page: str) -> tuple[int, int]:
    start = page.find(_BEGIN_PREFIX)
    stop = page.find(END)
    if start < 0 or stop < start or page.count(_BEGIN_PREFIX) > 1 or page.count(END) > 1:
        raise ValueError(f"the page needs one '{_BEGIN_PREFIX} … -->' line followed by one "
                         f"'{END}' line around the rule reference")
    return start, stop + len(END)


def page_section(page: str) -> str:
    """The page's current region, markers included."""
    start, stop = _span(page)
    return page[start:stop]


def replace_section(page: str) -> str:
    start, stop = _span(page)
    return page[:start] + rule_reference() + page[stop:]


def diff(page: str, path: str = "docs/rules.md") -> str:
    """A unified diff from the page's region to the generated one ('' when they agree)."""
    return "".join(difflib.unified_diff(page_section(page).splitlines(True),
                                        rule_reference().splitlines(True),
                                        f"{path} (on disk)", f"{path} (generated)"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnnspec.reports.rule_reference",
        description="Print the rule reference generated from the rule registry, or write or "
                    "check it in a page between its markers.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="PAGE", help="replace the page's rule reference")
    group.add_argument("--check", metavar="PAGE", help="exit 1 (with a diff) when it differs")
    args = parser.parse_args(argv)
    path = args.write or args.check
    if path is None:
        sys.stdout.write(rule_reference() + "\n")
        return 0
    with open(path, encoding="utf-8") as f:
        page = f.read()
    if args.check:
        changes = diff(page, path)
        sys.stdout.write(changes or f"{path}: the rule reference is up to date\n")
        return 1 if changes else 0
    text = replace_section(page)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
