"""Gateway links to Azure AI model endpoints: which host of a route is an AI Services / Azure OpenAI account.

Used by :func:`auditor.providers.azure.apim_links.link_gateways`. An account answers on
``{customSubDomainName}.openai.azure.com``, ``.cognitiveservices.azure.com`` and ``.services.ai.azure.com``
(and on the hosts its ``properties.endpoint`` / ``properties.endpoints`` name); a serverless (models-as-a-service)
endpoint on ``{name}.{region}.models.ai.azure.com`` (an Azure ML serverless endpoint's
``properties.inferenceEndpoint.uri``). A route to such a host is a link; ``id`` is None when the account or
endpoint is not in the inventory (another subscription, or not scanned), and ``name`` is then read from the host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from auditor.model import Inventory, Resource
from auditor.providers.azure import resource_types as declared

AI_ACCOUNT = declared.AI_ACCOUNT.id
SERVERLESS = declared.SERVERLESS_ENDPOINT.id
ACCOUNT_SUFFIXES: tuple[str, ...] = ("openai.azure.com", "cognitiveservices.azure.com", "services.ai.azure.com")

_ACCOUNT_HOST = re.compile(r"^([a-z0-9][a-z0-9-]*)\.(?:openai|cognitiveservices|services\.ai)\.azure\.com$")
_SERVERLESS_HOST = re.compile(r"^([a-z0-9][a-z0-9-]*)\.[a-z0-9-]+\.models\.ai\.azure\.com$")


def _host(value: Any) -> str | None:
    if not isinstance(value, str) or "://" not in value:
        return None
    host = urlsplit(value).hostname
    return host.lower() if host else None


def ai_hosts(inventory: Inventory) -> dict[str, Resource]:
    """Host (lower case) -> the AI account or serverless endpoint of the inventory that answers on it."""
    hosts: dict[str, Resource] = {}
    for account in inventory.of_type(AI_ACCOUNT):
        raw = account.document.get("properties")
        properties: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        names = [properties.get("endpoint")]
        endpoints = properties.get("endpoints")
        if isinstance(endpoints, Mapping):
            names += list(endpoints.values())
        found = {h for h in map(_host, names) if h}
        subdomain = properties.get("customSubDomainName")
        if isinstance(subdomain, str) and subdomain:
            found |= {f"{subdomain.lower()}.{suffix}" for suffix in ACCOUNT_SUFFIXES}
        for host in sorted(found):
            hosts.setdefault(host, account)
    for endpoint in inventory.of_type(SERVERLESS):
        raw = endpoint.document.get("properties")
        inference = raw.get("inferenceEndpoint") if isinstance(raw, Mapping) else None
        uri_host = _host(inference.get("uri")) if isinstance(inference, Mapping) else None
        if uri_host:
            hosts.setdefault(uri_host, endpoint)
    return hosts


def ai_front(host: str, hosts: Mapping[str, Resource]) -> dict[str, Any] | None:
    """The link a route to ``host`` makes to an AI model endpoint, or None when the host is none of theirs."""
    known = hosts.get(host)
    if known is not None:
        return {"kind": known.type, "id": known.id, "name": known.name, "host": host}
    if match := _ACCOUNT_HOST.match(host):
        return {"kind": AI_ACCOUNT, "id": None, "name": match.group(1), "host": host}
    if match := _SERVERLESS_HOST.match(host):
        return {"kind": SERVERLESS, "id": None, "name": match.group(1), "host": host}
    return None
