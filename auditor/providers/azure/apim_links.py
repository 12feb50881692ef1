"""API Management policies read as XML, the routes of an API, and the links from gateway APIs to model endpoints.

Policies
--------
A policy document is parsed as XML, never searched as text: :func:`parse_policy` runs expat (the
parser behind ``xml.etree.ElementTree``) with handlers that reject any document type declaration,
entity declaration or external entity reference before it is processed, and builds the tree with
``ElementTree.TreeBuilder``. Without a DTD nothing can be expanded: an undefined entity reference is
a well-formedness error. So a DTD, an entity or malformed XML makes the policy unreadable
(:class:`PolicyError`, recorded in ``unreadable["related.policy"]``), never a guess.

The effective policy of an API is its own policy plus, per section (``inbound``, ``backend``,
``outbound``, ``on-error``), the service-level policy where the API's section keeps ``<base />``; an
API without a policy of its own runs the service-level policy. ``related.policy`` of an API::

    {"validates_token": bool,        # validate-jwt / validate-azure-ad-token, inbound, not inside <choose>
     "token_policies": [{"policy", "section", "scope": "api"|"service", "conditional": bool}],
     "backend_ids": [...], "base_urls": [...],   # set-backend-service attributes (URLs without query)
     "rate_limited": bool,           # rate-limit, rate-limit-by-key, quota, quota-by-key, token limits
     "fragments": [...],             # include-fragment ids (their content is not read)
     "source": "api" | "service" | "api+service" | "none"}

Routes and links
----------------
:func:`api_routes` lists where an API may send requests: its ``serviceUrl``, the URL of each backend
its policy names with ``set-backend-service backend-id`` (a pool backend: its members' URLs) and each
literal ``base-url``. :func:`link_gateways` (run on the finished inventory, Azure and AWS merged or
not) matches every route against the Azure ML online endpoints' scoring hosts and SageMaker runtime
URLs and stores ``related.fronts`` on each API::

    [{"kind": "azure.ml.online_endpoint" | "aws.sagemaker.endpoint" | "azure.ai.account"
              | "azure.ml.serverless_endpoint", "id": ID or None,
      "name": NAME or None, "host": HOST, "via": "serviceUrl" | "backend:<backend-id>" | "base-url"}]

``id`` is None when the endpoint is not in the inventory (a managed online endpoint is still
recognised by its ``*.inference.ml.azure.com`` host; AI Services / Azure OpenAI accounts and serverless
model endpoints by theirs, :mod:`auditor.providers.azure.ai_links`). It is idempotent: it recomputes ``fronts`` from
``related.routes`` each time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from auditor.model import Inventory, Resource
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.ai_links import ai_front, ai_hosts

__all__ = ["API", "BACKEND", "PolicyError", "PolicyFacts", "api_routes", "clean_url", "effective_policy",
           "link_gateways", "parse_policy"]

API = declared.APIM_API.id
BACKEND = declared.APIM_BACKEND.id
ML_ENDPOINT = declared.ONLINE_ENDPOINT.id
SAGEMAKER_ENDPOINT = "aws.sagemaker.endpoint"

SECTIONS: tuple[str, ...] = ("inbound", "backend", "outbound", "on-error")
TOKEN_POLICIES = frozenset({"validate-jwt", "validate-azure-ad-token"})
RATE_POLICIES = frozenset({"rate-limit", "rate-limit-by-key", "quota", "quota-by-key", "llm-token-limit",
                           "azure-openai-token-limit"})
EXPRESSION = "<policy expression>"

_ML_HOST = re.compile(r"^([a-z0-9][a-z0-9-]*)\.[a-z0-9-]+\.inference\.ml\.azure\.(?:com|us|cn)$")
_SAGEMAKER_HOST = re.compile(
    r"^(?:[a-z0-9-]+\.)?runtime(?:-fips)?\.sagemaker\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$")
_SAGEMAKER_PATH = re.compile(r"^/endpoints/([^/]+)(?:/|$)")


class PolicyError(ValueError):
    """A policy document that cannot be read safely as an API Management policy."""


# --- parsing -------------------------------------------------------------------------------------


def _forbid(what: str) -> Any:
    def handler(*_args: Any) -> None:
        raise PolicyError(f"{what} is not allowed in a policy document (rejected, not expanded)")

    return handler


def parse_xml(text: str) -> Element:
    """The element tree of ``text``; PolicyError for a DTD, an entity declaration or malformed XML."""
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _forbid("a document type declaration (<!DOCTYPE>)")
    parser.EntityDeclHandler = _forbid("an entity declaration")
    parser.UnparsedEntityDeclHandler = _forbid("an unparsed entity declaration")
    parser.ExternalEntityRefHandler = _forbid("an external entity reference")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(text.encode("utf-8"), True)
        root = builder.close()
    except expat.ExpatError as exc:
        raise PolicyError(f"the policy is not well-formed XML: {exc}") from exc
    except AssertionError as exc:  # TreeBuilder.close() without a root element
        raise PolicyError("the policy has no root element") from exc
    return root


@dataclass(frozen=True)
class _Hit:
    tag: str
    section: str
    conditional: bool  # inside <choose>: applies to some requests only
    value: str = ""  # backend-id, base-url or fragment-id


@dataclass(frozen=True)
class PolicyFacts:
    """What one policy document holds, section by section."""

    hits: tuple[_Hit, ...]
    base: Mapping[str, bool]  # section -> conditional, for the sections that keep <base />


def parse_policy(text: str) -> PolicyFacts:
    root = parse_xml(text)
    if root.tag.lower() != "policies":
        raise PolicyError(f"the root element is <{root.tag}>, not <policies>")
    hits: list[_Hit] = []
    base: dict[str, bool] = {}
    for section in root:
        name = section.tag.lower()
        if name in SECTIONS:
            _walk(section, name, False, hits, base)
    return PolicyFacts(tuple(hits), base)


def _attribute(element: Element, name: str) -> str:
    value = (element.get(name) or "").strip()
    return EXPRESSION if value.startswith("@") else value


def _walk(element: Element, section: str, conditional: bool, hits: list[_Hit], base: dict[str, bool]) -> None:
    for child in element:
        tag = child.tag.lower()
        if tag == "base":
            base[section] = base.get(section, True) and conditional
        elif tag in TOKEN_POLICIES or tag in RATE_POLICIES:
            hits.append(_Hit(tag, section, conditional))
        elif tag == "set-backend-service":
            for attribute in ("backend-id", "base-url"):
                if child.get(attribute) is not None:
                    hits.append(_Hit(attribute, section, conditional, _attribute(child, attribute)))
        elif tag == "include-fragment":
            hits.append(_Hit(tag, section, conditional, _attribute(child, "fragment-id")))
        _walk(child, section, conditional or tag == "choose", hits, base)


# --- the effective policy ------------------------------------------------------------------------


def effective_policy(api: PolicyFacts | None, service: PolicyFacts | None) -> dict[str, Any]:
    """``related.policy`` of an API from its own policy and the service-level one (None: no policy)."""
    scoped: list[tuple[_Hit, str, bool]] = []
    if api is None:
        source = "none" if service is None else "service"
        scoped = [(hit, "service", hit.conditional) for hit in service.hits] if service is not None else []
    else:
        scoped = [(hit, "api", hit.conditional) for hit in api.hits]
        inherited = service is not None and bool(api.base)
        if service is not None:
            scoped += [(hit, "service", hit.conditional or api.base[hit.section])
                       for hit in service.hits if hit.section in api.base]
        source = "api+service" if inherited else "api"
    tokens = [{"policy": hit.tag, "section": hit.section, "scope": scope, "conditional": conditional}
              for hit, scope, conditional in scoped if hit.tag in TOKEN_POLICIES]
    return {
        "validates_token": any(t["section"] == "inbound" and not t["conditional"] for t in tokens),
        "token_policies": tokens,
        "backend_ids": _unique(hit.value for hit, _, _ in scoped if hit.tag == "backend-id"),
        "base_urls": _unique(_clean_or_marker(hit.value) for hit, _, _ in scoped if hit.tag == "base-url"),
        "rate_limited": any(hit.tag in RATE_POLICIES for hit, _, _ in scoped),
        "fragments": _unique(hit.value for hit, _, _ in scoped if hit.tag == "include-fragment"),
        "source": source,
    }


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def clean_url(raw: str) -> str | None:
    """``raw`` as scheme://host[:port]/path (no user info, query or fragment), or None when it is no URL."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    netloc = parts.hostname + (f":{port}" if port else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, "", ""))


def _dynamic(value: str) -> bool:
    return value == EXPRESSION or "{{" in value


def _clean_or_marker(value: str) -> str:
    if _dynamic(value):
        return value.split("?", 1)[0]
    return clean_url(value) or value.split("?", 1)[0]


# --- routes --------------------------------------------------------------------------------------


def _properties(document: Mapping[str, Any] | None) -> Mapping[str, Any]:
    properties = document.get("properties") if document is not None else None
    return properties if isinstance(properties, Mapping) else {}


def _backend_urls(backend: Mapping[str, Any], backends: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The backend's URL, and for a pool backend the URLs of its member backends."""
    properties = _properties(backend)
    members = [backend]
    pool = properties.get("pool")
    services = pool.get("services") if isinstance(pool, Mapping) else None
    for member in services if isinstance(services, list) else []:
        member_id = str(member.get("id") or "") if isinstance(member, Mapping) else ""
        target = backends.get(member_id.rstrip("/").rsplit("/", 1)[-1].lower())
        if target is not None:
            members.append(target)
    urls = (_properties(member).get("url") for member in members)
    return _unique(url for url in urls if isinstance(url, str))


def api_routes(document: Mapping[str, Any], policy: Mapping[str, Any] | None,
               backends: Mapping[str, Mapping[str, Any]] | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Where an API may send requests, and why some destinations could not be resolved.

    ``policy``: the API's ``related.policy`` (None when it could not be read); ``backends``: the
    service's backend documents by lower-cased name (None when they could not be listed).
    """
    routes: list[dict[str, Any]] = []
    unresolved: list[str] = []
    service_url = _properties(document).get("serviceUrl")
    if isinstance(service_url, str) and service_url.strip():
        routes.append({"via": "serviceUrl", "url": clean_url(service_url)})
    if policy is None:
        return routes, unresolved
    for backend_id in policy.get("backend_ids", []):
        via = f"backend:{backend_id}"
        if _dynamic(backend_id):
            unresolved.append(f"set-backend-service backend-id {backend_id} is not a literal backend name")
        elif backends is None:
            unresolved.append(f"backend '{backend_id}' could not be resolved: the service's backends were not listed")
        elif (backend := backends.get(backend_id.lower())) is None:
            routes.append({"via": via, "url": None, "note": "the service has no such backend"})
        else:
            urls = _backend_urls(backend, backends)
            routes += [{"via": via, "url": clean_url(url)} for url in urls] or [
                {"via": via, "url": None, "note": "the backend has no URL"}]
    for base_url in policy.get("base_urls", []):
        if _dynamic(base_url):
            unresolved.append(f"set-backend-service base-url {base_url} is not a literal URL")
        else:
            routes.append({"via": "base-url", "url": base_url})
    return routes, unresolved


# --- links ---------------------------------------------------------------------------------------


def _ml_hosts(inventory: Inventory) -> dict[str, Resource]:
    hosts: dict[str, Resource] = {}
    for endpoint in inventory.of_type(ML_ENDPOINT):
        uri = _properties(endpoint.document).get("scoringUri")
        host = urlsplit(uri).hostname if isinstance(uri, str) else None
        if host:
            hosts.setdefault(host.lower(), endpoint)
    return hosts


def _front(url: str, ml_hosts: Mapping[str, Resource],
           sagemaker: Mapping[tuple[str, str], Resource],
           ai_hosts: Mapping[str, Resource] | None = None) -> dict[str, Any] | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return None
    if (ai := ai_front(host, ai_hosts or {})) is not None:
        return ai
    if host in ml_hosts:
        endpoint = ml_hosts[host]
        return {"kind": ML_ENDPOINT, "id": endpoint.id, "name": endpoint.name, "host": host}
    if match := _ML_HOST.match(host):
        return {"kind": ML_ENDPOINT, "id": None, "name": match.group(1), "host": host}
    if match := _SAGEMAKER_HOST.match(host):
        region = match.group(1)
        path = _SAGEMAKER_PATH.match(parts.path)
        name = unquote(path.group(1)) if path else None
        found = sagemaker.get((name.lower(), region)) if name else None
        return {"kind": SAGEMAKER_ENDPOINT, "id": found.id if found else None,
                "name": found.name if found else name, "host": host}
    return None


def fronts_of(routes: Iterable[Mapping[str, Any]], ml_hosts: Mapping[str, Resource],
              sagemaker: Mapping[tuple[str, str], Resource],
              ai_hosts: Mapping[str, Resource] | None = None) -> list[dict[str, Any]]:
    fronts: dict[tuple[Any, ...], dict[str, Any]] = {}
    for route in routes:
        url = route.get("url")
        front = _front(url, ml_hosts, sagemaker, ai_hosts) if isinstance(url, str) else None
        if front is not None:
            front["via"] = str(route.get("via"))
            fronts.setdefault((front["kind"], front["id"], front["name"], front["host"], front["via"]), front)
    return list(fronts.values())


def link_gateways(inventory: Inventory) -> Inventory:
    """The inventory with ``related.fronts`` set on every API Management API that has ``related.routes``.

    Call it on the finished inventory (after the Azure and, when present, AWS collections): ML
    endpoints are matched by scoring host (case-insensitive), SageMaker endpoints by name and region.
    """
    ml_hosts = _ml_hosts(inventory)
    sagemaker = {(r.name.lower(), r.region.lower()): r for r in inventory.of_type(SAGEMAKER_ENDPOINT)}
    ai = ai_hosts(inventory)
    resources: list[Resource] = []
    for resource in inventory.resources:
        routes = resource.related.get("routes") if resource.type == API else None
        if isinstance(routes, list):
            related = {**resource.related, "fronts": fronts_of(routes, ml_hosts, sagemaker, ai)}
            resource = replace(resource, related=related)
        resources.append(resource)
    return replace(inventory, resources=tuple(resources))
