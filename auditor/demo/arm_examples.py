"""Seed data from the official Azure REST API examples shipped in ``auditor/demo/arm_fixtures``.

The examples (MIT licensed, from Azure/azure-rest-api-specs; see ``arm_fixtures/SOURCES.md``) are
stored unmodified under their repository paths after ``specification/``, and read with
``importlib.resources`` so the demo works from an installed wheel. Their values are placeholders
(``"string"``, fixed GUIDs): callers make edited copies (``as_resource``) for the estate they need.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from auditor.demo.arm_model import Json, parse_path

_PACKAGE = "auditor.demo"
_ROOT = "arm_fixtures"


def _root() -> Traversable:
    return resources.files(_PACKAGE).joinpath(_ROOT)


@cache
def example_paths() -> tuple[str, ...]:
    """Relative paths (``/``-separated) of every shipped example file, sorted."""
    found: list[str] = []
    pending: list[tuple[str, Traversable]] = [("", _root())]
    while pending:
        prefix, folder = pending.pop()
        for entry in folder.iterdir():
            path = f"{prefix}{entry.name}"
            if entry.is_dir():
                pending.append((f"{path}/", entry))
            elif entry.name.endswith(".json") and "/" in path:
                found.append(path)
    return tuple(sorted(found))


def resolve(name: str) -> str:
    """The relative path of an example: ``name`` itself, or the one path ending in ``/name``.

    ``"Workspace/OnlineEndpoint/get.json"`` or ``"ApiManagementListApis.json"`` are enough when they
    name a single file; an ambiguous or unknown name raises ``KeyError`` listing what matched.
    """
    name = name.strip("/")
    paths = example_paths()
    if name in paths:
        return name
    matches = [p for p in paths if p.endswith("/" + name)]
    if len(matches) == 1:
        return matches[0]
    raise KeyError(f"{name!r} names {'no example' if not matches else 'several examples: ' + ', '.join(matches)}")


@cache
def _load(relative_path: str) -> Json:
    data: Json = json.loads(_root().joinpath(*relative_path.split("/")).read_text(encoding="utf-8"))
    return data


def load_example(relative_path: str) -> Json:
    """A fresh copy of a whole example file: ``{"parameters": ..., "responses": {status: {"body": ...}}}``."""
    return copy.deepcopy(_load(resolve(relative_path)))


def example_body(name: str, status: str = "200") -> Json:
    """A fresh copy of the response body an example shows for ``status``."""
    responses = _load(resolve(name))["responses"]
    if str(status) not in responses or "body" not in responses[str(status)]:
        raise KeyError(f"{name!r} has no body for status {status} (it has {', '.join(responses)})")
    body: Json = copy.deepcopy(responses[str(status)]["body"])
    return body


def example_items(name: str, status: str = "200") -> list[Json]:
    """Fresh copies of the ``value`` items of a list example."""
    items: list[Json] = example_body(name, status).get("value", [])
    return items


def as_resource(body: dict[str, Any], resource_id: str, **changes: Any) -> Json:
    """A copy of ``body`` rehomed at ``resource_id`` (``id``, ``name`` and ``type`` set from it).

    Keyword ``changes`` replace top-level keys; ``properties=`` is merged into the copy's properties
    (a key given as None is removed), so a violating variant reads as its difference from the example.
    """
    doc = copy.deepcopy(body)
    doc.pop("nextLink", None)
    info = parse_path(resource_id)
    doc.update(id="/" + "/".join(info.segments), name=info.segments[-1], type=info.resource_type)
    properties = changes.pop("properties", None)
    doc.update(changes)
    if properties is not None:
        merged = {**doc.get("properties", {}), **properties}
        doc["properties"] = {k: v for k, v in merged.items() if v is not None}
    return doc
