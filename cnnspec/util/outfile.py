"""Writing a command's ``-o FILE``: never over one of its own inputs, and atomically.

The text goes to a temporary file in the target's directory, is flushed to disk, and then
replaces the target in one ``os.replace``: a full disk or a crash midway leaves the old file
as it was (and no half-written ``.py``), never a truncated one. The new file keeps the old
one's permission bits (and owner, where allowed); a new file gets the usual ``0o666`` less the
umask. A symbolic link is followed, so the file it points to is replaced and the link stays.
A target that is not a regular file (``/dev/stdout``, a FIFO) cannot be replaced by a rename
and is written directly.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from cnnspec.errors import UsageError


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: through symbolic links, and hard links (one inode)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_inputs(output: str, inputs) -> None:
    """A UsageError when ``output`` is one of ``inputs`` (so ``-o`` would overwrite it)."""
    for source in inputs:
        if source is not None and _same_file(output, str(source)):
            raise UsageError(f"-o {output}: that is {source}, an input of this command; writing it "
                             "would overwrite it", hint="write to another file")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, fsync, rename)."""
    try:
        old = os.stat(path)  # through symbolic links
    except FileNotFoundError:
        old = None
    if old is not None and not stat.S_ISREG(old.st_mode):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    target = os.path.realpath(path)
    directory = os.path.dirname(target) or "."
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(old.st_mode) if old is not None else 0o666 & ~_umask())
        if old is not None:
            with contextlib.suppress(OSError):  # keep the owner where we may
                os.chown(temporary, old.st_uid, old.st_gid)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # the rename itself to disk
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
