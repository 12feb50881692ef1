"""Every cloud call the auditor makes in the test runs is declared: c7n's permission meta-test, on real runs.

:func:`install` wraps the one place each SDK sends a call from (botocore's ``BaseClient._make_api_call``,
azure-core's ``RequestsTransport.send``) and records who made it, from the stack of the calling thread:

* a remediator (a frame whose ``self`` is an object of a ``…remediators.…`` module): the call must be one of
  that remediator's ``calls``;
* otherwise remediation (a frame of ``auditor.remediate`` or of the provider's ``live``/``changes``/``config_copy``
  modules: rollback, the journal's reads): one of the calls of some remediator of that provider;
* otherwise the scan (a frame of ``auditor.providers.…``): one of the declared resource types' or the provider's
  own calls (:func:`auditor.providers.declared.scan_calls`);
* otherwise not the auditor's (a test or the demo seeding an estate): not checked.

An AWS call is ``service:Operation`` (botocore's names), an Azure call ``METHOD Namespace/type`` from the request's
path, as the declarations write them (Azure's compared case-insensitively, as Resource Manager does). Azure
requests that need no permission of their own are left out: the cloud's public metadata, and the polls of a
long-running operation the declared write started. What is not declared is kept in :data:`UNDECLARED`; the tests'
conftest fails the test that made it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from functools import cache
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

UNDECLARED: list[str] = []
_LOCK = threading.Lock()
_REMEDIATION_MODULES = frozenset(f"auditor.providers.{cloud}.{part}" for cloud in ("aws", "azure")
                                 for part in ("live", "changes", "config_copy", "arm_fix"))
_NO_PERMISSION = ("/metadata/endpoints", "/operationStatuses/", "/operationResults/")


@cache
def _scan_calls(provider: str) -> frozenset[str]:
    from importlib import import_module

    from auditor.providers.declared import scan_calls

    declared = import_module(f"auditor.providers.{provider}.resource_types")
    # ORG_CALLS: a provider's calls of an organisation-wide scan, made with the caller's credentials.
    return frozenset(scan_calls(declared.TYPES, declared.PROVIDER_CALLS + getattr(declared, "ORG_CALLS", ())))


@cache
def _remediation_calls(provider: str) -> frozenset[str]:
    from auditor.remediate import available, load

    return frozenset(call for name in available() if load(name).provider == provider for call in load(name).calls)


def _who(frame: FrameType | None, provider: str) -> tuple[str, frozenset[str]] | None:
    """(who made the call, what it may call), or None when the call is not the auditor's."""
    remediation = scan = False
    while frame is not None:
        owner = frame.f_locals.get("self")
        if owner is not None and ".remediators." in type(owner).__module__ and hasattr(owner, "calls"):
            return f"remediator {owner.name}", frozenset(owner.calls)
        module = str(frame.f_globals.get("__name__", ""))
        remediation = remediation or module.startswith("auditor.remediate") or module in _REMEDIATION_MODULES
        scan = scan or module.startswith("auditor.providers.")
        frame = frame.f_back
    if remediation:
        return f"remediation on {provider}", _remediation_calls(provider)
    if scan:
        return f"the {provider} scan", _scan_calls(provider)
    return None


def check(provider: str, call: str, frame: FrameType | None) -> str | None:
    """Why ``call``, made from ``frame``, is not declared (the message is also kept in UNDECLARED); or None."""
    found = _who(frame, provider)
    if found is None or call in found[1]:
        return None
    if provider == "azure" and call.lower() in {c.lower() for c in found[1]}:
        return None  # Resource Manager's types and actions compare case-insensitively
    message = f"{found[0]} called {call}, which it does not declare"
    with _LOCK:
        UNDECLARED.append(message)
    return message


def azure_call(method: str, url: str) -> str | None:
    """``METHOD Namespace/type`` of a Resource Manager request; None for one that needs no permission."""
    from auditor.demo.arm_model import parse_path

    path = urlsplit(url).path
    if any(part in path for part in _NO_PERMISSION):
        return None
    return f"{method.upper()} {parse_path(path).resource_type}"


def install() -> Callable[[], None]:
    """Start recording in this process; returns the function that stops it."""
    from azure.core.pipeline.transport import RequestsTransport
    from botocore.client import BaseClient

    make_api_call: Callable[..., Any] = BaseClient._make_api_call
    send: Callable[..., Any] = RequestsTransport.send

    def recorded_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        check("aws", f"{self.meta.service_model.service_name}:{operation_name}", sys._getframe(1))
        return make_api_call(self, operation_name, api_params)

    def recorded_send(self: Any, request: Any, **kwargs: Any) -> Any:
        call = azure_call(str(request.method), str(request.url))
        if call is not None:
            check("azure", call, sys._getframe(1))
        return send(self, request, **kwargs)

    BaseClient._make_api_call = recorded_api_call  # type: ignore[method-assign]
    RequestsTransport.send = recorded_send  # type: ignore[method-assign]

    def restore() -> None:
        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
        RequestsTransport.send = send  # type: ignore[method-assign]

    return restore
