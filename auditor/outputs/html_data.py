"""report.html's data block: the findings, their resources and the endpoint inventory in compact columns.

The page's script draws the findings table, the endpoint inventory and the gateway links from this block
(:func:`page_data` describes it), so 100,000 findings cost kilobytes of markup, not hundreds of megabytes.
:func:`data_text` builds its JSON text in one pass over the document's inventory and one over its findings
(either may be an iterator: each entry is read once and dropped); :mod:`auditor.outputs.html` escapes that
text and puts it in the page.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from auditor.outputs import html_endpoints, html_view, owner_view

DATA_FORMAT = 1
ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)

_NO_NAME_CHAR = "\x00"  # marks where a message held its resource's name (see _message)
_SORTED = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps(value, sort_keys=True, ...)


class _Table:
    """Distinct values in order of first use, each referred to by its position."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] = {}

    def ref(self, key: Any, value: Any = None) -> int:
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.values)
            self.values.append(key if value is None else value)
        return found


def page_data(doc: Mapping[str, Any]) -> Any:
    """What the page's script renders: the findings in columns, with every repeated value stored once.

    ``findings`` holds one array per field, index i of each being finding i (the document's order):
    ``rule``, ``resource``, ``waiver``, ``evidence`` and ``message`` refer to entries of ``rules``,
    ``resources``, ``waivers``, ``evidence`` and ``strings``; ``status``, ``severity`` and ``baseline``
    to the ``statuses``, ``severities`` and ``baseline_states`` lists, ``previous`` (the status in the
    baseline) to ``statuses``; -1 means none; ``owner`` to ``owners`` (the owner tag's values; the tag is
    ``owner_tag``), -1 unowned, -2 unknown. A message is
    ``strings[m]``, or for ``-(m + 1)`` the template ``strings[m]`` with each U+0000 replaced by the
    resource's name. A waiver is [reason, owner, expires, its number in the waivers file or null].
    Evidence is a list of [key, value as JSON text] pairs in key order. A resource's
    ``id`` is the id itself, or a ``strings`` reference to the prefix that its ``name`` completes.
    ``inventory`` is described at ``_inventory``; ``gateways`` are ``html_endpoints.gateway_links`` rows.

    The page embeds it as text built in one pass (``data_text``); this is that text, parsed.
    """
    return json.loads("".join(data_text(doc)))


_KNOWN = 4096  # evidence mappings _evidence keeps by identity
_INT_COLUMNS = ("rule", "resource", "status", "severity", "message", "evidence", "waiver", "baseline", "previous",
                "gating", "owner")


def data_text(doc: Mapping[str, Any], also: Callable[[Mapping[str, Any]], None] | None = None) -> list[str]:
    """``page_data`` as JSON text in pieces (``html.embed_json``'s text before its escapes), from one pass over the
    document's inventory and then one over its findings: either may be an iterator, each entry is read
    once and dropped, and only the page's compact columns and tables are kept (each finding's document is
    given to ``also`` as it passes). The big parts are encoded as they are done with."""
    strings, tagsets, evidence, waivers, owners = _Table(), _Table(), _Table(), _Table(), _Table()
    statuses = [s.value for s in html_view.STATUS_ORDER]
    status_index = {s: i for i, s in enumerate(statuses)}
    severity_index = {s.value: i for i, s in enumerate(html_view.SEVERITY_ORDER)}
    rule_ids = sorted(doc["rules"])
    rule_index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    framework_titles = {f["id"]: f["title"] for f in doc.get("frameworks", ())}
    framework_ids = sorted({ref["framework"] for r in doc["rules"].values() for ref in r["frameworks"]})

    endpoints = html_endpoints.EndpointRows(rules=doc["rules"])
    tags: dict[tuple[str, str], Mapping[str, str]] = {}
    for entry in doc.get("inventory", ()):
        endpoints.add_entry(entry)
        tags[(entry["provider"], entry["id"])] = entry["tags"]
    ids: list[str] = []
    columns = {name: array("i") for name in _INT_COLUMNS}
    keys: dict[ResourceKey, int] = {}  # each resource by first use: the column refers to these until sorted
    marks: dict[str, int] = {}  # each baseline state by first use: likewise
    evidence_seen: dict[str, int] = {}  # an evidence's JSON text -> its entry in ``evidence``
    evidence_known: dict[int, tuple[Mapping[str, Any], int]] = {}  # and by the mapping (see _evidence)
    for f in doc["findings"]:
        endpoints.add_finding(f)
        if also is not None:
            also(f)
        ids.append(f["id"])
        columns["rule"].append(rule_index[f["rule_id"]])
        columns["resource"].append(keys.setdefault(_resource_key(f), len(keys)))
        columns["status"].append(status_index[f["status"]])
        columns["severity"].append(severity_index[f["severity"]])
        columns["message"].append(_message(f["message"], f["resource_name"], strings))
        columns["evidence"].append(_evidence(f["evidence"], evidence, evidence_seen, evidence_known))
        waiver = f.get("waiver")
        columns["waiver"].append(
            waivers.ref((waiver["reason"], waiver["owner"], waiver["expires"], waiver.get("number")),
                        [waiver["reason"], waiver["owner"], waiver["expires"], waiver.get("number")]) if waiver else -1)
        state = _baseline_state(f)
        columns["baseline"].append(marks.setdefault(state, len(marks)) if state is not None else -1)
        previous = f["baseline"].get("previous_status") if state is not None else None
        columns["previous"].append(status_index.get(previous, -1) if isinstance(previous, str) else -1)
        columns["gating"].append(1 if f["gating"] else 0)
        columns["owner"].append(_owner(f, owners))
    del evidence_seen, evidence_known

    states = sorted(marks, key=lambda s: (s not in html_view.BASELINE_STATES,
                                          html_view.BASELINE_STATES.index(s) if s in html_view.BASELINE_STATES
                                          else 0, s))
    resources = _resources(keys, endpoints.keys)
    resource_index = {key: i for i, key in enumerate(resources)}
    _renumber(columns["resource"], [resource_index[key] for key in keys])
    _renumber(columns["baseline"], [states.index(state) for state in marks])
    del keys
    findings = _object({"id": ENCODER.encode(ids), **{name: _ints(column) for name, column in columns.items()}})
    del ids, columns

    resource_columns: dict[str, list[Any]] = {name: [] for name in ("id", "name", "type", "provider", "account",
                                                                   "region", "tags")}
    for provider, resource_id, rtype, account, region, name in resources:
        # An id that ends with the resource's name keeps only its prefix, shared by its siblings.
        shared = bool(name) and resource_id.endswith(name) and resource_id != name
        resource_columns["id"].append(strings.ref(resource_id[: -len(name)]) if shared else resource_id)
        resource_columns["name"].append(name)
        resource_columns["type"].append(strings.ref(rtype))
        resource_columns["provider"].append(strings.ref(provider))
        resource_columns["account"].append(strings.ref(account))
        resource_columns["region"].append(strings.ref(region))
        pairs = sorted(tags.get((provider, resource_id), {}).items())
        resource_columns["tags"].append(tagsets.ref(tuple(pairs), [list(p) for p in pairs]) if pairs else -1)
    del tags, resources
    resources_text = _object({name: ENCODER.encode(column) for name, column in resource_columns.items()})
    del resource_columns

    inventory = _inventory(endpoints, resource_index, rule_index, strings, statuses)
    return _object({
        "format": ENCODER.encode(DATA_FORMAT),
        "statuses": ENCODER.encode(statuses),
        "severities": ENCODER.encode([s.value for s in html_view.SEVERITY_ORDER]),
        "baseline_states": ENCODER.encode(states),
        "frameworks": ENCODER.encode([[fid, framework_titles.get(fid, fid)] for fid in framework_ids]),
        "rules": ENCODER.encode([_rule(doc["rules"][rule_id], framework_ids) for rule_id in rule_ids]),
        "strings": ENCODER.encode(strings.values),
        "resources": resources_text,
        "tagsets": ENCODER.encode(tagsets.values),
        "evidence": ENCODER.encode(evidence.values),
        "waivers": ENCODER.encode(waivers.values),
        "findings": findings,
        "inventory": inventory,
        "gateways": ENCODER.encode(endpoints.links),
        "owners": ENCODER.encode(owners.values),
        "owner_tag": ENCODER.encode(doc["scan"].get("owner_tag", "")),
    })


def _object(members: Mapping[str, str | list[str]]) -> list[str]:
    """The JSON text of an object whose members' values are JSON text already (a string or pieces), in the
    order of ``json.dumps(sort_keys=True)``, which is what ``ENCODER`` would give for the object itself."""
    out: list[str] = []
    for n, key in enumerate(sorted(members)):
        out.append(("{" if n == 0 else ",") + ENCODER.encode(key) + ":")
        value = members[key]
        if isinstance(value, str):
            out.append(value)
        else:
            out += value
    out.append("}" if members else "{}")
    return out


def _ints(column: Iterable[int]) -> str:
    """A column of numbers as its JSON array (as ``ENCODER`` writes a list of ints)."""
    return "[" + ",".join(map(str, column)) + "]"


def _renumber(column: array[int], numbers: Sequence[int]) -> None:
    """Replace each n >= 0 in ``column`` by ``numbers[n]`` (-1, none, stays)."""
    for i, n in enumerate(column):
        if n >= 0:
            column[i] = numbers[n]


ResourceKey = tuple[str, str, str, str, str, str]


def _resource_key(f: Mapping[str, Any]) -> ResourceKey:
    # Everything a finding says of its resource: scope ERROR findings share an id across resource types.
    return f["provider"], f["resource_id"], f["resource_type"], f["account"], f["region"], f["resource_name"]


def _resources(keys: Iterable[ResourceKey], endpoints: Iterable[ResourceKey]) -> list[ResourceKey]:
    """Distinct resources in display order (name, then id): the page sorts by resource by position.

    The findings' resources (``keys``), and the inventory's endpoints that have no finding of their own.
    """
    distinct = set(keys)
    distinct.update(endpoints)
    return sorted(distinct, key=lambda k: (k[5].casefold(), k[5], k[1], k))


def _endpoint_key(row: Mapping[str, Any]) -> ResourceKey:
    return row["provider"], row["id"], row["kind"], row["account"], row["region"], row["name"]


def _message(message: str, name: str, strings: _Table) -> int:
    """A message as a string reference; with the resource name cut out when that makes it a shared template."""
    if len(name) >= 3 and name in message and _NO_NAME_CHAR not in message:
        return -(strings.ref(message.replace(name, _NO_NAME_CHAR)) + 1)
    return strings.ref(message)


def _evidence(value: Mapping[str, Any], table: _Table, seen: dict[str, int],
              known: dict[int, tuple[Mapping[str, Any], int]]) -> int:
    """A finding's evidence as an entry of ``table`` ([key, value as JSON text] pairs in key order), -1 for none.
    ``seen``: the entry of each evidence met before, by its JSON text; ``known``: by the mapping itself (a
    findings file read back holds a few hundred, shared by 100,000 findings), which it keeps alive while it
    is there, so that its ``id`` names no other mapping: at most ``_KNOWN`` of them, then it starts anew."""
    hit = known.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    text = _SORTED.encode(value)
    found = seen.get(text)
    if found is None:
        pairs = [[k, json.dumps(value[k], sort_keys=True, ensure_ascii=False)] for k in sorted(value)]
        found = seen[text] = table.ref(json.dumps(pairs, ensure_ascii=False), pairs) if pairs else -1
    if len(known) >= _KNOWN:
        known.clear()
    known[id(value)] = (value, found)
    return found


def _owner(f: Mapping[str, Any], owners: _Table) -> int:
    """The finding's owner: a position in ``owners`` (the tag values), -1 unowned, -2 unknown (or not recorded)."""
    if owner_view.is_owned(f):
        return owners.ref(owner_view.owner_name(f))
    return -1 if owner_view.owner_name(f) == owner_view.UNOWNED else -2


def _baseline_state(f: Mapping[str, Any]) -> str | None:
    mark = f.get("baseline")
    state = mark.get("state") if isinstance(mark, Mapping) else None
    return state if isinstance(state, str) else None


def _rule(rule: Mapping[str, Any], framework_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "id": rule["id"],
        "title": rule["title"],
        "severity": rule["severity"],
        "provider": rule["provider"],
        "resource_type": rule["resource_type"],
        "rationale": rule["rationale"],
        "guidance": rule["remediation"]["guidance"],
        "automatic": rule["remediation"]["automatic"],
        "remediator": rule["remediation"]["remediator"],
        "anchors": rule["anchors"],
        "references": rule["references"],
        "frameworks": [[framework_ids.index(ref["framework"]), ref["control"], ref["title"]]
                       for ref in rule["frameworks"]],
    }


def _inventory(rows: Iterable[Mapping[str, Any]], resource_index: Mapping[ResourceKey, int],
               rule_index: Mapping[str, int], strings: _Table, statuses: Sequence[str]) -> list[str]:
    """The endpoint inventory, compact, as JSON text (each row encoded as it is built): ``kinds`` [[type,
    label]] and ``rows`` [resource, kind, lines, gateways [[api, protection, status]], counts by status,
    [what is not known], status]. A line is
    [aspect (a position in ``aspects``), rule (in ``rules``) or -1 for a fact of the platform, text,
    status, [the positions of its findings]]; a row's findings are its lines' findings. Texts are
    ``strings`` references, statuses positions in ``statuses``; -1 none, and a row's status -2: UNKNOWN."""
    kinds = _Table()
    out = []
    status_index = {s: i for i, s in enumerate(statuses)}
    status_index[""] = -1
    for row in rows:
        kind = kinds.ref(row["kind"], [row["kind"], row["kind_label"]])
        lines = [[a, rule_index[line["rule"]] if line["rule"] else -1, strings.ref(line["text"]),
                  status_index[line["status"]], line["findings"]]
                 for a, aspect in enumerate(html_endpoints.ASPECTS) for line in row["aspects"][aspect]]
        gateways = [[strings.ref(g["api"]), strings.ref(g["protection"]), status_index[g["status"]]]
                    for g in row["gateways"]]
        status = status_index.get(row["status"], -2)  # UNKNOWN: not a status of a finding
        out.append(ENCODER.encode([resource_index[_endpoint_key(row)], kind, lines, gateways,
                                    [row["counts"][s] for s in statuses],
                                    [strings.ref(text) for text in row["unknown"]], status]))
    return _object({"aspects": ENCODER.encode(list(html_endpoints.ASPECTS)), "kinds": ENCODER.encode(kinds.values),
                    "rows": "[" + ",".join(out) + "]"})
