"""One redaction policy for what both clouds return: documents, tags, URLs and evidence.

Every document a collector keeps (AWS and Azure alike), every tag, and every evidence value of a
finding passes through here before anything can write it. The policy:

* A field named like a secret (:data:`SECRET_FIELDS`, compared in lower case: passwords, private keys,
  endpoint and access keys, connection strings, tokens, client secrets) has its value replaced with
  ``"<redacted>"``, wherever it appears: a tag named ``password`` included.
* Environment variables keep their names, never their values: Azure ``environmentVariables`` (any
  case; a value or ``{"type", "value"}``) and the ``Environment`` map of an AWS container definition.
* Any other string :func:`auditor.secrets.secret_kinds` recognises is replaced with ``"<redacted>"``,
  except a URL, which keeps its shape (rules read its scheme and host): the password of its user info
  and the value of every credential parameter of its query and fragment (``code``, ``key``,
  ``api-key``, ``sig``, ``token``, ... see :data:`auditor.secrets.QUERY_CREDENTIAL_NAMES`, and any
  parameter whose value looks like a secret) become ``<redacted>``:
  ``https://fn.azurewebsites.net/api/score?code=<redacted>&api-version=1``. Should the URL still look
  like a secret after that (a token in its path), the whole string is redacted.
* A mapping key that looks like a secret becomes ``<redacted>`` (``<redacted-2>``, ... when there are
  several in one mapping).

Redaction is idempotent (what it returns is left as is) and linear in the size of what it reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from auditor.secrets import QUERY_CREDENTIAL_NAMES, secret_kinds

REDACTED = "<redacted>"

# Fields that hold a secret wherever they appear (compared in lower case): VM and registry passwords,
# SSH private keys, endpoint keys, relay/service-bus/storage connection strings, Databricks tokens, TLS
# private keys of v1 services, access keys and client secrets.
SECRET_FIELDS = frozenset(name.lower() for name in (
    "password", "adminPassword", "adminUserPassword", "privateKeyData", "privateKey", "sslKey", "primaryKey",
    "secondaryKey", "relayConnectionString", "serviceBusConnectionString", "databricksAccessToken",
    "connectionString", "accountKey", "accessKey", "secretKey", "sasToken", "clientSecret", "secret",
    # Azure AI Services accounts' apiProperties (QnA Maker's search key, the metrics event hub and storage)
    "qnaAzureSearchEndpointKey", "eventHubConnectionString", "storageAccountConnectionString",
))
# (parent field, field): secrets under a name too common to redact everywhere (AKS compute TLS key).
SECRET_CHILDREN = frozenset({("sslconfiguration", "key")})
# Maps of environment variables: Azure's (any case) and AWS's container ``Environment`` (exact case: Azure
# v1 services have an ``environment`` object that is no such map).
_ENVIRONMENT_ANY_CASE = frozenset({"environmentvariables"})
_ENVIRONMENT_EXACT = frozenset({"Environment"})

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*+://\S*+")


def redact_text(text: str) -> str:
    """``text``, or ``"<redacted>"`` when it looks like a secret; a URL keeps its shape (see the module)."""
    if not secret_kinds(text):
        return text
    url = _redact_url(text.strip())
    return url if url is not None and not secret_kinds(url) else REDACTED


def redact_value(value: Any) -> Any:
    """A copy of any JSON-like value (mappings, lists, strings) under this policy."""
    return _redact(value, "")


def redact_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a resource document under this policy."""
    redacted = _redact(document, "")
    return redacted if isinstance(redacted, dict) else {}


def redact_tags(tags: Mapping[Any, Any]) -> dict[str, str]:
    """Tags under this policy, as strings (a tag named like a secret field loses its value)."""
    redacted = _redact(tags, "tags")
    return {str(k): str(v) for k, v in redacted.items()} if isinstance(redacted, Mapping) else {}


def _redact(value: Any, parent: str) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = str(raw_key)
            lower = key.lower()
            name = _key(key, out)
            if (lower in _ENVIRONMENT_ANY_CASE or key in _ENVIRONMENT_EXACT) and isinstance(item, Mapping):
                variables: dict[str, Any] = {}
                for variable, entry in item.items():
                    variables[_key(str(variable), variables)] = _redact_variable(entry)
                out[name] = variables
            elif (lower in SECRET_FIELDS or (parent, lower) in SECRET_CHILDREN) and _has_value(item):
                out[name] = REDACTED
            else:
                out[name] = _redact(item, lower)
        return out
    if isinstance(value, (list, tuple)):
        return [_redact(item, parent) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _key(key: str, taken: Mapping[str, Any]) -> str:
    """``key``, or a ``<redacted>`` name not yet in ``taken`` when the key itself looks like a secret."""
    if not secret_kinds(key):
        return key
    name, n = REDACTED, 1
    while name in taken:
        n += 1
        name = f"<redacted-{n}>"
    return name


def _has_value(value: Any) -> bool:
    return value is not None and value != "" and not isinstance(value, bool)


def _redact_variable(entry: Any) -> Any:
    """An environment variable: a plain value (deployments, v1 services, AWS) or ``{"type", "value"}`` (computes)."""
    if isinstance(entry, Mapping):
        return {str(k): (REDACTED if str(k).lower() == "value" and v is not None else _redact(v, "environment"))
                for k, v in entry.items()}
    return None if entry is None else REDACTED


# --- URLs ----------------------------------------------------------------------------------------------


def _redact_url(text: str) -> str | None:
    """``text`` with its URL credentials redacted in place, or None when it is not one URL."""
    if not _URL.fullmatch(text):
        return None
    scheme, rest = text.split("://", 1)
    ends = [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0]
    end = min(ends, default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        if ":" in userinfo or secret_kinds(unquote(userinfo)):
            authority = f"{REDACTED}@{host}"
    tail, hash_mark, fragment = tail.partition("#")
    path, question_mark, query = tail.partition("?")
    return (f"{scheme}://{authority}{path}{question_mark}{_redact_parameters(query)}"
            f"{hash_mark}{_redact_parameters(fragment)}")


def _redact_parameters(text: str) -> str:
    """``name=value&...`` with the value of each credential parameter (by name or by shape) redacted."""
    if not text:
        return text
    out: list[str] = []
    for parameter in text.split("&"):
        name, equals, value = parameter.partition("=")
        if equals and value and value != REDACTED and (
                unquote(name).strip().lower() in QUERY_CREDENTIAL_NAMES
                or secret_kinds(value) or secret_kinds(unquote(value))):
            parameter = f"{name}={REDACTED}"
        out.append(parameter)
    return "&".join(out)
