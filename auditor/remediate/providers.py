"""How apply and rollback reach the clouds: each provider connected lazily, once per run.

A plan touching only Azure never builds an AWS session (and the reverse). A provider that cannot be
set up (no credentials, SDK missing) fails the steps that need it, each with the reason, rather than
stopping the run: the other provider's steps still apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.remediate.model import StepFailed

if TYPE_CHECKING:
    from auditor.providers import Connection, ProviderOptions


class Providers:
    def __init__(self, options: ProviderOptions) -> None:
        self.options = options
        self._connected: dict[str, Connection] = {}
        self._errors: dict[str, str] = {}

    def connection(self, name: str) -> Connection:
        """Provider ``name`` connected with the run's options (the first call connects); StepFailed."""
        if name not in self._connected:
            if name in self._errors:
                raise StepFailed(self._errors[name])
            from auditor.providers import get

            try:
                self._connected[name] = get(name).connect(self.options)
            except StepFailed as exc:
                self._errors[name] = str(exc)
                raise
        return self._connected[name]

    def close(self) -> None:
        connected, self._connected = self._connected, {}
        for connection in connected.values():
            connection.close()
