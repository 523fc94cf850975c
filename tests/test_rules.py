"""``cnnspec rules`` and ``cnnspec rule CODE``, and docs/rules.md's rule reference, generated
from the rule registry and the packaged explanations (cnnspec/reports/rule_reference.py)."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest
from click.testing import CliRunner

from cnnspec.cli.main import main
from cnnspec.lint.explain import EXPLANATIONS, section
from cnnspec.lint.registry import all_rules
from cnnspec.reports import rule_reference as ref

from .conftest import ROOT

PAGE = ROOT / "docs" / "rules.md"


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_the_page_holds_the_generated_reference():
    changes = ref.diff(PAGE.read_text(encoding="utf-8"))
    if changes:
        shown = "".join(changes.splitlines(True)[:60])
        pytest.fail(f"docs/rules.md's rule reference differs from the registry and "
                    f"cnnspec/lint/explanations/; regenerate it with: {ref.COMMAND}\n\n{shown}",
                    pytrace=False)


def test_one_explanation_per_rule_and_no_other():
    folder = resources.files("cnnspec.lint").joinpath(EXPLANATIONS)
    files = {p.name for p in folder.iterdir() if p.name.endswith(".md")}
    assert files == {f"{r.code}.md" for r in all_rules()}


def test_every_explanation_has_why_trigger_example_and_fix():
    for r in all_rules():
        text = section(r)
        assert text.startswith(f"## {r.code} {r.name}\n\nDefault severity: **{r.severity}**.\n"), r.code
        for part in ("**Why.**", "**What triggers it.**", "**Example.**", "**Fix.**"):
            assert part in text, f"{r.code}'s explanation has no {part}"
        assert "\n## " not in text[3:], f"{r.code}'s explanation holds a heading of its own"
        for setting in r.settings:
            assert f"`{setting}`" in text, f"{r.code}'s explanation does not name its setting {setting}"


def test_the_page_sections_are_what_rule_prints():
    page = PAGE.read_text(encoding="utf-8")
    for r in all_rules():
        result = invoke("rule", r.code)
        assert result.exit_code == 0, result.output
        assert result.output == section(r)
        assert result.output in page


def test_rules_table_lists_every_rule():
    result = invoke("rules")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["code", "name", "severity", "summary"]
    assert len(lines) == 2 + len(all_rules())
    for line, r in zip(lines[2:], all_rules()):
        assert re.split(r"\s{2,}", line) == [r.code, r.name, r.severity, r.summary]


def test_rules_json_has_settings_and_doc_anchor():
    result = invoke("rules", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["code"] for d in data] == [r.code for r in all_rules()]
    cnn108 = next(d for d in data if d["code"] == "CNN108")
    assert cnn108 == {"code": "CNN108", "name": "rf-coverage", "severity": "warning",
                      "summary": cnn108["summary"], "settings": {"object_size": [0, 0], "rf_coverage": 1.0},
                      "doc": "docs/rules.md#cnn108-rf-coverage"}


@pytest.mark.parametrize("spelling", ["CNN110", "cnn110", "bias-before-norm", " BIAS-before-norm "])
def test_rule_by_code_or_name_in_any_case(spelling):
    result = invoke("rule", spelling)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("## CNN110 bias-before-norm\n")


def test_rule_json_carries_the_explanation():
    result = invoke("rule", "fc-params", "--format", "json")
    data = json.loads(result.output)
    assert data["code"] == "CNN101" and data["settings"] == {"fc_share": 0.5}
    assert data["explanation"].startswith("**Why.**")


@pytest.mark.parametrize(("given", "suggested"), [
    ("CNN1O1", "CNN101 (fc-params)"),
    ("fc-param", "CNN101 (fc-params)"),
    ("bias-norm", "CNN110 (bias-before-norm)"),
])
def test_unknown_rule_exits_2_with_close_matches(given, suggested):
    result = invoke("rule", given)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: no rule '{given}'\n  hint: did you mean {suggested}")
    assert "Traceback" not in result.output


def test_unknown_rule_without_a_close_match_points_at_rules():
    result = invoke("rule", "zzz")
    assert result.exit_code == 2
    assert result.output == "error: no rule 'zzz'\n  hint: 'cnnspec rules' lists every rule\n"


def test_rule_text_written_to_a_file(tmp_path):
    out = tmp_path / "r.md"
    result = invoke("rule", "CNN903", "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    assert out.read_text() == section(next(r for r in all_rules() if r.code == "CNN903"))
