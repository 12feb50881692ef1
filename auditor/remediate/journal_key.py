"""The journal key: the secret that makes a journal line this tool wrote tell apart from one anyone else wrote.

Every journal line carries ``mac``, an HMAC-SHA256 under this key over the line and the ``mac`` of
the line before it (``prev``), so a line appended, edited, removed or moved is detected by whoever
holds the key. A hash chain alone would not do: anyone who can write the file can recompute it.
The key is kept outside the journal:

* ``AUDITOR_JOURNAL_KEY`` (at least 32 characters; in CI, from the pipeline's secret store; 64 hex
  digits are read as the key file's content is, so a key file's line can be moved into a secret), or else
* a per-user key file, ``$XDG_CONFIG_HOME/auditor/journal.key`` (``~/.config/auditor/journal.key``):
  64 hex digits, created by the first ``apply`` with mode 0600 in a 0700 directory. A key file that
  another user owns, that others may read or write, or that is a symbolic link is refused.

``rollback`` needs the key the journal was written with; it never creates one. The key's id (a
digest of it, never the key) is recorded in each run's ``run-started`` line, so a rollback with
another key says so.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from auditor.errors import ConfigError

ENV_KEY = "AUDITOR_JOURNAL_KEY"
MIN_ENV_LENGTH = 32
_FILE_HEX_LENGTH = 64
_MAC_CONTEXT = b"auditor-journal-2.0\0"
_ID_CONTEXT = b"auditor-journal-key-id\0"
_MAX_KEY_FILE = 4096


@dataclass(frozen=True)
class JournalKey:
    """A journal key and where it came from (``source``: the variable's name or the file's path)."""

    secret: bytes = field(repr=False)
    source: str
    created: bool = False  # made by this run (the first apply on this account)

    @property
    def id(self) -> str:
        """A digest that names the key without revealing it (recorded in ``run-started``)."""
        return hashlib.sha256(_ID_CONTEXT + self.secret).hexdigest()[:16]

    def mac(self, payload: bytes) -> str:
        return hmac.new(self.secret, _MAC_CONTEXT + payload, hashlib.sha256).hexdigest()

    def verifies(self, payload: bytes, mac: str) -> bool:
        return hmac.compare_digest(self.mac(payload), mac)


def key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "auditor" / "journal.key"


def journal_key(*, create: bool) -> JournalKey:
    """The key from ``AUDITOR_JOURNAL_KEY``, else from the key file (made when ``create`` and missing).

    ConfigError (exit 3) naming the variable or the file when there is no usable key.
    """
    from_env = os.environ.get(ENV_KEY)
    if from_env is not None:
        if len(from_env.strip()) < MIN_ENV_LENGTH:
            raise ConfigError(f"{ENV_KEY} is shorter than {MIN_ENV_LENGTH} characters: use a random value, e.g. "
                              "the output of: python3 -c 'import secrets; print(secrets.token_hex(32))'",
                              field=ENV_KEY)
        value = from_env.strip()
        hex_key = len(value) == _FILE_HEX_LENGTH and all(c in "0123456789abcdef" for c in value.lower())
        return JournalKey(bytes.fromhex(value) if hex_key else value.encode("utf-8"), ENV_KEY)
    path = key_file()
    try:
        return JournalKey(_read_key_file(path), str(path))
    except FileNotFoundError:
        if not create:
            raise ConfigError(
                f"no journal key: neither {ENV_KEY} is set nor does {path} exist. A journal is verified with the "
                "key the apply that wrote it used: run where that apply ran, or set the same key",
                file=str(path)) from None
    return _create_key_file(path)


def _read_key_file(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read the journal key: {exc.strerror or exc} (a symbolic link is refused)",
                          file=str(path)) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("the journal key is not a regular file", file=str(path))
        getuid = getattr(os, "getuid", None)
        if getuid is not None:
            if info.st_uid != getuid():
                raise ConfigError("the journal key belongs to another user: refusing it", file=str(path))
            if info.st_mode & 0o077:
                raise ConfigError(f"the journal key is open to other users (mode {stat.S_IMODE(info.st_mode):04o}): "
                                  f"refusing it; run chmod 600 {path} if nobody else could have read or changed it, "
                                  "otherwise remove it (journals it signed then cannot be verified)", file=str(path))
        data = os.read(fd, _MAX_KEY_FILE)
    finally:
        os.close(fd)
    text = data.decode("ascii", errors="replace").strip()
    if len(text) != _FILE_HEX_LENGTH or any(c not in "0123456789abcdef" for c in text):
        raise ConfigError(f"the journal key is not {_FILE_HEX_LENGTH} lower-case hex digits", file=str(path))
    return bytes.fromhex(text)


def _create_key_file(path: Path) -> JournalKey:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:  # another run made it first
        return JournalKey(_read_key_file(path), str(path))
    except OSError as exc:
        raise ConfigError(f"cannot create the journal key: {exc.strerror or exc}; set {ENV_KEY} instead",
                          file=str(path)) from exc
    secret = secrets.token_bytes(32)
    try:
        os.write(fd, (secret.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return JournalKey(secret, str(path), created=True)
