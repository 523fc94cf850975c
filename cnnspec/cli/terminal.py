"""What the commands do only on a terminal: colour on standard output, a progress bar on
standard error. Neither reaches a pipe or a file (unless FORCE_COLOR asks for colour), so
piped output is byte for byte what the docs show.

Colour (click's styling) follows, in order: ``NO_COLOR`` set and not empty turns it off
(https://no-color.org), ``FORCE_COLOR`` set and not empty turns it on, even into a pipe
(https://force-color.org); NO_COLOR wins when both are set, as in Python's own colour check. Else a
``color`` set on click's context decides, else click's own test of whether standard output
is a terminal (which ``CliRunner.invoke(color=True)`` answers yes), and ``TERM`` not ``dumb``.
``-o FILE`` is never coloured.

The progress bar is drawn only when standard error is a terminal: on a pipe or a file it
writes nothing (click's own bar would still print its label there)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import click

__all__ = ["STYLES", "Progress", "colour", "painter", "plain", "stderr_is_tty"]

#: the roles output is painted in, as click.style's arguments
STYLES = {
    "error": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow", "bold": True},
    "info": {"fg": "cyan", "bold": True},
    "location": {"bold": True},
    "fix": {"fg": "green"},
    "mismatch": {"fg": "red", "bold": True},
    "ok": {"fg": "green"},
    "header": {"bold": True},
}


def plain(text: str, role: str) -> str:
    """The painter of uncoloured output: the text as it is."""
    return text


def colour(output: str | None = None) -> bool:
    """Whether standard output is to be coloured (never when writing to ``output``)."""
    if output:
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.color is not None:
        return ctx.color
    # click's own test of a terminal (which CliRunner(color=True) answers with yes)
    return not click.utils.should_strip_ansi(sys.stdout) and os.environ.get("TERM") != "dumb"


def painter(output: str | None = None) -> Callable[[str, str], str]:
    """``paint(text, role)`` for this run: click.style in the role's style, or :func:`plain`."""
    if not colour(output):
        return plain
    return lambda text, role: click.style(text, **STYLES[role])


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def stderr_is_tty() -> bool:
    return _isatty(sys.stderr)


class Progress:
    """A progress bar on standard error, drawn when it is a terminal, after ``delay`` seconds
    (so a short run shows none). Called as ``progress(done, total, what)``; closed by ``with``
    before the command prints its result."""

    def __init__(self, label: str, delay: float = 0.0):
        self.label, self.delay = label, delay
        self.started = time.monotonic()
        self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
            self.bar = None

    def __call__(self, done: int, total: int, what: str = "") -> None:
        if self.bar is None:
            if not stderr_is_tty() or time.monotonic() - self.started < self.delay:
                return
            self.bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr,
                                         item_show_func=lambda item: item)
            self.bar.__enter__()
        self.bar.length = max(total, 1)
        self.bar.update(done - self.bar.pos, what or None)
