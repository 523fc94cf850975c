"""docs/spec.md's layer reference is the one generated from the layer registry
(cnnspec/reports/layer_reference.py), names every registered layer type, and its links resolve."""

from __future__ import annotations

import re

import pytest

from cnnspec.layers import LAYERS
from cnnspec.reports import layer_reference as ref

from .conftest import ROOT

PAGE = ROOT / "docs" / "spec.md"
REGENERATE = f"regenerate it with: {ref.COMMAND}"


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def _entries(section: str) -> dict[str, str]:
    """The region's entries by their ``## type`` heading."""
    parts = re.split(r"^## (\S+)\n", section, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_the_page_holds_the_generated_reference(page):
    changes = ref.diff(page)
    if changes:
        shown = "".join(changes.splitlines(True)[:60])
        pytest.fail(f"docs/spec.md's layer reference differs from the layer registry; {REGENERATE}"
                    f"\n\n{shown}", pytrace=False)


def test_every_registered_layer_type_has_an_entry(page):
    section = ref.page_section(page)
    entries = _entries(section)
    missing = [name for name in LAYERS if name not in entries]
    assert not missing, f"docs/spec.md has no layer reference entry for {missing}; {REGENERATE}"
    assert set(entries) == set(LAYERS), f"entries for unregistered types: {set(entries) - set(LAYERS)}"
    for name, cls in LAYERS.items():
        assert f"| [`{name}`](#{name}) |" in section, f"{name} is not in the overview; {REGENERATE}"
        body = entries[name]
        for spelling in (*cls.aliases, *(a.name for a in cls.attrs)):
            assert f"`{spelling}`" in body, f"{name}'s entry does not name {spelling}; {REGENERATE}"


def test_every_registered_layer_type_has_rules(page):
    """The hand-written part after the region links every type (its shapes and counts)."""
    rules = page[page.index("\n# Layer rules and counts\n"):]
    missing = [name for name in LAYERS if f"[`{name}`](#{name})" not in rules]
    assert not missing, ("docs/spec.md's 'Layer rules and counts' (hand-written) has no rules for "
                         f"{missing}: describe their output shape, counts and receptive field there")


def test_every_setting_has_a_meaning_and_every_meaning_a_setting():
    assert ref.missing_meanings() == [], "give these settings an Attr doc or a MEANINGS entry"
    assert ref.unused_meanings() == [], "MEANINGS entries no setting reads: delete them"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    anchors: set[str] = set()
    fenced = False
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} (.*)", line)):
            slug, n = _slug(match.group(1)), 1
            while slug in anchors:
                slug, n = f"{_slug(match.group(1))}-{n}", n + 1
            anchors.add(slug)
    return anchors


def test_the_page_links_resolve(page):
    anchors = _anchors(page)
    broken = sorted(set(re.findall(r"\]\(#([^)]+)\)", page)) - anchors)
    assert not broken, f"docs/spec.md links to headings it does not have: {broken}"


def test_a_stale_page_is_detected_and_rewritten(page, tmp_path):
    stale = page.replace("| `out` | `out_channels` |", "| `out` | `out_chans` |", 1)
    assert stale != page and ref.diff(stale)
    path = tmp_path / "spec.md"
    path.write_text(stale, encoding="utf-8")
    assert ref.main(["--check", str(path)]) == 1
    assert ref.main(["--write", str(path)]) == 0
    written = path.read_text(encoding="utf-8")
    assert ref.page_section(written) == ref.layer_reference()
    start, stop = page.find(ref.BEGIN), page.find(ref.END) + len(ref.END)
    assert (written[:start], written[len(written) - len(page) + stop:]) == (page[:start], page[stop:])
    assert ref.main(["--check", str(path)]) == 0


def test_the_region_needs_its_markers():
    with pytest.raises(ValueError, match="layer-reference"):
        ref.replace_section("# A page\n\nno markers here\n")
    with pytest.raises(ValueError, match="layer-reference"):
        ref.replace_section(f"{ref.BEGIN}\n{ref.END}\n{ref.END}\n")
