"""Providers: one package per cloud, behind the small :class:`Provider` protocol, and their registry.

``auditor/providers/<name>/`` holds everything one cloud knows:

========================  ===============================================================================
``provider.py``           the :class:`Provider` (what the CLI, the schemas' test and remediation look up)
``session.py``            credentials, sessions and clients, the classification of the SDK's errors
``collect.py``            the collection's entry point: options in, :class:`~auditor.model.Inventory` out
``resource_types.py``     the resource types, declared as data (:mod:`auditor.providers.declared`): ids,
                          coverage rows, the calls that list, describe and re-read them
one module per service    its collector, reading the types its declarations name
``live.py``               the :class:`Connection` apply and rollback use: live reads in the collectors'
                          shapes (verify, stale checks) and the writes
``changes.py``            the change kinds (``HANDLERS``) the journal records, see :mod:`auditor.remediate.changes`
``remediators/``          one module per automatic fix, each exposing ``REMEDIATOR``
``permissions.py``        the least-privilege policies: the scan's from the declared types, the fixes' from
                          the calls each remediator declares
========================  ===============================================================================

plus what one cloud's modules share (Azure: ``arm.py`` reads and failures, ``origin.py``, ``arm_fix.py``;
AWS: ``config_copy.py``). What every provider's collectors share is :mod:`auditor.providers.pool`.
No permission is written by hand: each is the action of a declared call (``resource_types.actions``), and a
test holds every call the code makes in the test runs to the declarations (``tests/call_audit.py``).

The registry is the literal table below: :func:`names` lists the providers without importing any,
:func:`get` imports one provider module (which imports no cloud SDK). Nothing registers itself when
imported. Modules a provider is found by convention in (``changes``, ``remediators``) are named by
:func:`module`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from auditor.errors import AuditorError

if TYPE_CHECKING:
    from auditor.model import Inventory, Resource
    from auditor.progress import Progress

Purpose = Literal["scan", "remediate"]

_PROVIDERS: Mapping[str, str] = {
    "aws": "auditor.providers.aws.provider",
    "azure": "auditor.providers.azure.provider",
}


class CollectionSetupError(AuditorError):
    """A collection could not start (no usable credentials, no SDK): each provider's ``collect`` turns it
    into coverage rows naming the cause, so it never escapes a collection."""

    exit_code = 2


@dataclass(frozen=True)
class CliOption:
    """One command-line option of a provider's ``scan`` command (the CLI turns it into a click option)."""

    param: str  # the keyword the option's value is passed as
    flags: tuple[str, ...]
    help: str
    multiple: bool = False
    choices: tuple[str, ...] | None = None
    default: str | None = None
    envvar: str | None = None
    flag: bool = False  # an on/off switch taking no value (``--org``)


@dataclass(frozen=True)
class CliSpec:
    """How the command line presents a provider: ``auditor scan NAME`` and its options."""

    label: str  # the cloud's name in prose: "AWS"
    help: str  # what ``auditor scan NAME --help`` says the scan reads
    options: tuple[CliOption, ...]


@dataclass(frozen=True)
class ProviderOptions:
    """How apply and rollback reach the providers: the scan's provider options and timing.

    ``values``: the provider options by parameter name (``profile``, ``credential``, ``arm_endpoint``; the
    standard environment fills in the rest). ``overrides``: per provider name, a session or credential
    replacing the one ``values`` name (tests, embedding). ``poll_seconds`` is the first wait between status
    polls (doubling up to ``max_poll_seconds``); ``wait_timeout`` bounds one update or long-running operation.
    """

    values: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    poll_seconds: float = 0.2
    max_poll_seconds: float = 30.0
    wait_timeout: float = 3600.0

    def value(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def override(self, provider: str) -> Any:
        return self.overrides.get(provider)


class Connection(Protocol):
    """A provider reached with credentials, for apply and rollback."""

    def read(self, resource_type: str, resource_id: str, *, account: str = "", region: str = "") -> Resource | None:
        """The resource as the collectors build it (None: it does not exist); StepFailed when it cannot be read.

        ``account`` and ``region`` are the finding's, for ids that do not carry them (an S3 bucket's ARN).
        """
        ...

    def close(self) -> None: ...


class Provider(Protocol):
    name: str
    cli: CliSpec

    def options(self, values: Mapping[str, Any]) -> Any:
        """The collection's options from the command line's values (keyed by ``CliOption.param``); ConfigError."""
        ...

    def collect(self, options: Any, progress: Progress | None = None) -> Inventory:
        """Collect the estate ``options`` describe; what cannot be read is in the coverage rows, never raised."""
        ...

    def connect(self, options: ProviderOptions) -> Connection:
        """Credentials and clients for apply and rollback; StepFailed when they cannot be set up."""
        ...

    def permissions(self, purpose: Purpose) -> dict[str, Any]:
        """The least-privilege policy (AWS IAM policy, Azure custom role) the scan or the fixes need."""
        ...

    def resource_key(self, resource_id: str) -> str:
        """The form two ids of one resource share: :func:`auditor.identity.resource_key` for this provider,
        whose table says which providers' ids compare case-insensitively (Azure's)."""
        ...


def names() -> tuple[str, ...]:
    """Every provider's name, in the order commands and policies list them; imports none of them."""
    return tuple(_PROVIDERS)


def get(name: str) -> Provider:
    """The provider ``name``; KeyError for one this auditor does not know."""
    if name not in _PROVIDERS:
        raise KeyError(f"unknown provider '{name}' (known: {', '.join(_PROVIDERS)})")
    provider: Provider = importlib.import_module(_PROVIDERS[name]).PROVIDER
    return provider


def module(name: str, part: str) -> str:
    """The dotted name of provider ``name``'s module or package ``part`` (``changes``, ``remediators``)."""
    if name not in _PROVIDERS:
        raise KeyError(f"unknown provider '{name}' (known: {', '.join(_PROVIDERS)})")
    return f"auditor.providers.{name}.{part}"
