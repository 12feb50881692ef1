"""Change kinds: how one observable value of one resource is read and written.

Every change a fix makes (and every undo) is "set this value of this resource": the endpoint
config an endpoint runs, a key's rotation flag, a bucket's public access block, an ARM property,
the existence of a role assignment. A kind knows how to read the live value (with the version
Resource Manager's ETag gives) and how to write a value back; the journal stores the kind, the
target and the values before and after, so rollback needs nothing but the journal: it checks the
live value is still ``after`` and writes ``before``.

Handlers live in each provider's ``changes`` module (``HANDLERS``, ``auditor/providers/<name>/changes.py``),
imported only when a change of their provider is read or written; a kind starts with its provider's name.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from auditor.remediate.providers import Providers


@dataclass(frozen=True)
class Observed:
    """A live value (plain JSON; None when the setting or resource is absent) and its version."""

    value: Any
    version: str | None = None  # the ETag Resource Manager answered with, for If-Match


class ChangeHandler(Protocol):
    kind: ClassVar[str]
    # Writing the value before back grants access (recreates a role assignment): rollback does it only
    # when the journal proves this tool's own change took it away (a change-applied line).
    undo_grants_access: ClassVar[bool]

    def read(self, providers: Providers, target: Mapping[str, Any]) -> Observed:
        """The live value; StepFailed when it cannot be read."""
        ...

    def write(self, providers: Providers, target: Mapping[str, Any], value: Any, observed: Observed) -> None:
        """Set the value (waiting for the service to finish); StepRefused / StepFailed."""
        ...

    def same(self, a: Any, b: Any) -> bool:
        """Whether two values are the same setting (the service may spell one value several ways)."""
        ...


def handler(kind: str) -> ChangeHandler:
    """The handler of ``kind``; KeyError for a kind this auditor does not know (a journal from elsewhere)."""
    from auditor.providers import module, names

    provider = kind.split(".", 1)[0]
    if provider not in names():
        raise KeyError(f"unknown change kind '{kind}'")
    handlers: Mapping[str, ChangeHandler] = importlib.import_module(module(provider, "changes")).HANDLERS
    if kind not in handlers:
        raise KeyError(f"unknown change kind '{kind}'")
    return handlers[kind]


def known_kind(kind: str) -> bool:
    try:
        handler(kind)
    except KeyError:
        return False
    return True
