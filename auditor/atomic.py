"""Replacing a file atomically, safe in a directory that others can write to.

The text goes to a new temporary file in the target's directory, created by ``tempfile.mkstemp``: an
unpredictable name opened with ``O_CREAT | O_EXCL``, which never opens an existing file and never follows
a symbolic link planted there. It is flushed to disk and renamed over the final name (``os.replace``,
atomic within one directory), so a reader sees the old file or the new one, never half of either.

The final name is never written through: when it is a symbolic link, the rename replaces the link itself
with the new file and the file it pointed to is left untouched. The caller is told (the link's target is
returned) so that it can say so. The new file gets the mode a plain ``open`` would give it
(``0o666`` less the umask), not ``mkstemp``'s ``0o600``. ``utf8`` encodes text for it, writing each lone
surrogate (which UTF-8 cannot hold) as U+FFFD.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path


def write_atomically(path: Path, data: bytes | Iterable[bytes]) -> str | None:
    """Replace ``path`` with a file holding ``data`` (or its pieces, written as they come: a file too large
    to hold at once); the target of the symbolic link that was at ``path`` (now replaced by the file), or
    None when there was none. OSError when the directory cannot be written; whatever producing a piece
    raises propagates, and the file is left as it was."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):  # POSIX
                os.fchmod(handle.fileno(), 0o666 & ~_umask())
            if isinstance(data, bytes):
                handle.write(data)
            else:
                for piece in data:
                    handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        link = os.readlink(path) if path.is_symlink() else None
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    return link


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8(text: str) -> bytes:
    """``text`` as UTF-8, each lone surrogate (a string from a service may hold one; UTF-8 cannot) as U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


def _umask() -> int:
    """The process's umask, read without changing it where /proc tells it (Linux 4.7+)."""
    with suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and restore (the outputs are written by one thread)
    os.umask(mask)
    return mask
