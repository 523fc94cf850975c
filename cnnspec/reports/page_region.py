"""A generated region of a docs page (the layer reference of docs/spec.md, the rule reference of
docs/rules.md): found between its markers, replaced, compared, and the command line that
prints, writes or checks it."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    what: str  # "layer reference"
    begin_prefix: str  # the begin marker's start, "<!-- layer-reference:"
    end: str  # the end marker line
    generate: Callable[[], str]  # the region, markers included, no final newline
    page: str  # the page it lives in, "docs/spec.md"

    def span(self, page: str) -> tuple[int, int]:
        """Where the region is in the page: from its begin marker to the end of its end marker."""
        start, stop = page.find(self.begin_prefix), page.find(self.end)
        if (start < 0 or stop < start or page.count(self.begin_prefix) > 1
                or page.count(self.end) > 1):
            raise ValueError(f"the page needs one '{self.begin_prefix} … -->' line followed by "
                             f"one '{self.end}' line around the {self.what}")
        return start, stop + len(self.end)

    def section(self, page: str) -> str:
        """The page's current region, markers included."""
        start, stop = self.span(page)
        return page[start:stop]

    def replace(self, page: str) -> str:
        """The page with its region replaced by the generated one."""
        start, stop = self.span(page)
        return page[:start] + self.generate() + page[stop:]

    def diff(self, page: str, path: str | None = None) -> str:
        """A unified diff from the page's region to the generated one ('' when they agree)."""
        path = path or self.page
        return "".join(difflib.unified_diff(self.section(page).splitlines(True),
                                            self.generate().splitlines(True),
                                            f"{path} (on disk)", f"{path} (generated)"))

    def main(self, argv: list[str] | None, prog: str, source: str) -> int:
        """``prog [--write PAGE | --check PAGE]``; ``source``: what the region is made from."""
        parser = argparse.ArgumentParser(
            prog=prog, description=f"Print the {self.what} generated from {source}, or write "
                                   "or check it in a page between its markers.")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--write", metavar="PAGE", help=f"replace the page's {self.what}")
        group.add_argument("--check", metavar="PAGE", help="exit 1 (with a diff) when it differs")
        args = parser.parse_args(argv)
        path = args.write or args.check
        if path is None:
            sys.stdout.write(self.generate() + "\n")
            return 0
        with open(path, encoding="utf-8") as f:
            page = f.read()
        if args.check:
            changes = self.diff(page, path)
            sys.stdout.write(changes or f"{path}: the {self.what} is up to date\n")
            return 1 if changes else 0
        text = self.replace(page)  # before the file is opened: an error leaves it as it was
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return 0
