"""Reading YAML safely while remembering where every value came from.

Mappings become :class:`LDict` and sequences :class:`LList` (:mod:`cnnspec.frontend.located`);
both are the plain builtin types with source positions attached (of the container, of each key
and of each value), so any later error can point at the exact line and column. Scalars stay
plain Python values (:mod:`cnnspec.frontend.yaml_scalars`). Only the safe loader is used
(libyaml's when available): no tags that construct objects, no code. Duplicate keys, which
YAML parsers silently overwrite, are an error here (:mod:`cnnspec.frontend.yaml_builder`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

from cnnspec.errors import Position, SpecStructureError, SpecSyntaxError
from cnnspec.frontend.located import LDict as LDict  # re-exported
from cnnspec.frontend.located import LList as LList  # re-exported
from cnnspec.frontend.located import mark_position
from cnnspec.frontend.yaml_builder import MAX_MERGED_ENTRIES as MAX_MERGED_ENTRIES  # re-exported
from cnnspec.frontend.yaml_builder import MAX_YAML_DEPTH, Builder
from cnnspec.frontend.yaml_scalars import MAX_INT as MAX_INT  # re-exported
from cnnspec.util.dims import gc_paused

# The (C, when available) parser and composer, with no implicit type resolution: plain scalars
# are resolved by the builder, faster, with the safe loader's rules.
_BaseLoader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

#: The largest spec file cnnspec reads (bytes); a bigger one is refused while reading, before
#: parsing. At this size the densest YAML (a flow list of one-digit numbers) still loads in well
#: under a second and 200 MB.
MAX_SOURCE_BYTES = 1024 * 1024


def load_yaml(text: str, file: str = "<spec>"):
    """Parse YAML text into plain values with LDict/LList containers. Raises SpecError."""
    if len(text) > MAX_SOURCE_BYTES:
        raise SpecStructureError(
            f"the spec is {len(text):,} characters long; cnnspec reads at most {MAX_SOURCE_BYTES:,} "
            f"bytes ({MAX_SOURCE_BYTES // 1024 ** 2} MiB)", Position(file),
        )
    try:
        with gc_paused():
            parser = _BaseLoader(text)
            try:
                return Builder(file).build(parser.get_event)
            finally:
                parser.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = mark_position(mark, file) if mark is not None else Position(file)
        problem = exc.problem or exc.context or "invalid YAML"
        if "maximum nesting depth" in problem:  # newer libyaml scans ahead and stops at 1,000 levels
            raise SpecSyntaxError(f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep", pos) from None
        context = ""
        if exc.problem and exc.context and exc.context_mark is not None:
            mark = exc.context_mark
            context = f" ({exc.context} at line {mark.line + 1}, column {mark.column + 1})"
        raise SpecSyntaxError(f"invalid YAML: {problem}{context}", pos) from None
    except yaml.YAMLError as exc:
        raise SpecSyntaxError(f"invalid YAML: {exc}", Position(file)) from None


def read_source(path: str | Path, what: str = "the spec") -> bytes:
    """The bytes of a spec file: a regular file of at most MAX_SOURCE_BYTES, refused as soon as
    it reads longer (so /dev/zero or a growing file cannot fill the memory). Devices, FIFOs and
    sockets are refused before reading, without waiting for a writer. Raises SpecError."""
    where = Position(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SpecStructureError(f"cannot read {what}: {exc.strerror}", where) from None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise SpecStructureError(f"cannot read {what}: it is {kind}, not a regular file", where,
                                     hint="give the path of a file")
        chunks, size = [], 0
        try:
            while True:
                chunk = handle.read(min(1 << 20, MAX_SOURCE_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_SOURCE_BYTES:
                    raise SpecStructureError(
                        f"{what} is larger than {MAX_SOURCE_BYTES:,} bytes "
                        f"({MAX_SOURCE_BYTES // 1024 ** 2} MiB), the most cnnspec reads", where,
                        hint="a spec is a short text: repeat layers with blocks and repeat, not by "
                             "writing them out")
        except OSError as exc:
            raise SpecStructureError(f"cannot read {what}: {exc.strerror}", where) from None
    return b"".join(chunks)


def read_spec_file(path: str | Path):
    """Read and parse a spec file; a missing or unreadable file is a SpecError too."""
    raw = read_source(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecSyntaxError(
            f"the spec is not UTF-8 text (byte {exc.start})", Position(str(path))
        ) from None
    return load_yaml(text, str(path))
