"""``cnnspec rules`` (every lint rule in a table) and ``cnnspec rule CODE`` (one rule's
explanation, the section of docs/rules.md that is generated from the same text)."""

from __future__ import annotations

import json

import click

from cnnspec.cli.common import error_boundary, output_opt, write_output

FORMATS = ("text", "json")


def _record(r, explanation: str | None = None) -> dict:
    from cnnspec.lint.explain import settings_jsonable
    from cnnspec.lint.sarif import RULES_DOC

    data = {"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary,
            "settings": settings_jsonable(r), "doc": f"{RULES_DOC}#{r.doc_anchor}"}
    if explanation is not None:
        data["explanation"] = explanation
    return data


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@output_opt
@error_boundary
def rules(*, fmt, output):
    """List every lint rule of cnnspec check: code, name, default severity and summary
    (JSON: with its settings and their defaults). Never imports torch."""
    from tabulate import tabulate

    from cnnspec.lint.registry import all_rules

    if fmt == "json":
        text = json.dumps([_record(r) for r in all_rules()], indent=2) + "\n"
    else:
        rows = [[r.code, r.name, r.severity, r.summary] for r in all_rules()]
        text = tabulate(rows, headers=["code", "name", "severity", "summary"], tablefmt="simple",
                        disable_numparse=True) + "\n"
    write_output(text, output)


@click.command()
@click.argument("code", metavar="CODE")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@output_opt
@error_boundary
def rule(*, code, fmt, output):
    """Explain the lint rule CODE (a code such as CNN101, or a name such as fc-params): why it
    matters, what triggers it, its settings, an example and the fix, as in docs/rules.md.
    Never imports torch."""
    from cnnspec.lint.explain import explanation, find_rule, section

    found = find_rule(code)
    if fmt == "json":
        text = json.dumps(_record(found, explanation(found)), indent=2) + "\n"
    else:
        text = section(found)
    write_output(text, output)
