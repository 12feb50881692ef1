"""The HTML report: one self-contained file that opens offline (reports/report.html.j2 + report.js).

The report is rendered from the findings document (``findings_json.to_document``), not from the
ScanResult directly, so a report re-rendered later from findings.json is the same page as the one the
scan wrote. The executive summary is server-rendered (``html_view.build_view``) and reads without
JavaScript; the findings table, the endpoint inventory and the gateway links are drawn by the page's
script from a JSON data block (``page_data``), so 100,000 findings cost kilobytes of markup, not
hundreds of megabytes. The document's findings and inventory are read once, an entry at a time, as
findings_json builds them: the summary's counts, the data block's columns and the endpoint rows'
index are gathered in that one pass and each entry is dropped, so 100,000 findings' documents (70 MB)
never exist at once.

Escaping, by construction:

- markup: Jinja autoescape is on for every template (never ``select_autoescape``, which keys off file
  names) and undefined names fail loudly; the only strings marked safe are the tool's own stylesheet
  and script, read from the tool's template directory, and the data block below;
- data: ``embed_json`` writes the JSON with ``<``, ``>``, ``&``, U+2028, U+2029 and lone surrogates as
  ``\\u`` escapes, so nothing in it can close the ``<script type="application/json">`` element or open a
  comment, and ``JSON.parse`` returns exactly the strings Python held;
- in the page: the script builds every node with ``createElement`` / ``createTextNode`` and never
  parses markup; the policy's ``require-trusted-types-for 'script'`` makes the browser refuse any
  string assigned to ``innerHTML`` and the like, so that stays true.

The Content-Security-Policy forbids every network load (``default-src 'none'``) and allows exactly
the page's own script and stylesheet, by the SHA-256 of their text computed at render time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from auditor.model import ScanResult
from auditor.outputs import findings_json, html_endpoints, html_view, owner_view
from auditor.paths import reports_dir

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
SCRIPT = "report.js"
DATA_FORMAT = 1

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_UNSAFE_IN_JSON = re.compile("[<>&\u2028\u2029\ud800-\udfff]")
_NO_NAME_CHAR = "\x00"  # marks where a message held its resource's name (see _message)
_DATA_SLOT = "<\x00data\x00>"  # where the template prints the data block (see render_document)
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_SORTED = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # json.dumps(value, sort_keys=True, ...)


def render(result: ScanResult, templates_dir: Path | None = None) -> str:
    """The report page for ``result``; templates from ``templates_dir`` (default: the shipped ones)."""
    # The document with its findings and inventory built an entry at a time, as the page's data reads them.
    return render_document(findings_json._document(result), templates_dir)


def render_document(doc: Mapping[str, Any], templates_dir: Path | None = None) -> str:
    """The report page for a findings document (one ``to_document`` produced, or one whose ``findings`` and
    ``inventory`` are iterators: each entry is read once)."""
    directory = templates_dir if templates_dir is not None else reports_dir()
    css = (directory / STYLESHEET).read_text(encoding="utf-8")
    script = (directory / SCRIPT).read_text(encoding="utf-8")
    if "</style" in css.lower() or "</script" in script.lower() or "<!--" in script:
        raise ValueError("the report's stylesheet or script would close its own element")
    if _DATA_SLOT in css or _DATA_SLOT in script:
        raise ValueError("the report's stylesheet or script holds the data block's place-holder")
    template = environment(directory).get_template(TEMPLATE)
    seen = html_view.Seen(doc["rules"])
    pieces = _data_text(doc, seen.add)  # the one pass over the findings, which also counts them for the summary
    report = html_view.build_view(doc, seen)
    del doc, seen
    for i, piece in enumerate(pieces):  # escaped piece by piece: the block exists once, not twice
        pieces[i] = _inert(piece)
    block = "".join(pieces)
    del pieces
    page = template.render(
        report=report,
        # The tool's own files, read from its template directory: marked safe, and pinned by the CSP.
        css=Markup(css),  # noqa: S704
        script=Markup(script),  # noqa: S704
        data=Markup(_DATA_SLOT),  # noqa: S704 - a constant; the block (escaped by _inert) takes its place
        csp=content_security_policy(script, css),
    )
    # The block goes where the template printed the place-holder: as ``data=Markup(block)`` would put it, without
    # Markup's copy of 15 MB at 100,000 findings. Nothing else on the page can hold the place-holder: every
    # other string is escaped ("<" is "&lt;"), the stylesheet and the script are checked above.
    return block.join(page.split(_DATA_SLOT))


def environment(directory: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["n"] = _thousands
    return env


def _thousands(value: int) -> str:
    return f"{value:,}"


def content_security_policy(script: str, css: str) -> str:
    """No network loads at all; only this script and this stylesheet run; no markup from strings."""
    return (
        f"default-src 'none'; script-src '{sha256_source(script)}'; style-src '{sha256_source(css)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'; "
        "require-trusted-types-for 'script'; trusted-types 'none'"
    )


def sha256_source(text: str) -> str:
    """A CSP hash source for an inline element whose text is ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def embed_json(value: Any) -> str:
    """``value`` as JSON that is inert inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` occur in JSON only inside strings, where their ``\\u`` escapes mean the same
    characters: the text has no ``</script`` and no ``<!--``, and parses back to ``value``. U+2028/2029
    are escaped for older JavaScript parsers, lone surrogates because UTF-8 cannot carry them.
    """
    return _inert(_ENCODER.encode(value))


def _inert(text: str) -> str:
    """JSON text with ``embed_json``'s escapes (each a single character's: the text may be escaped in pieces)."""
    return _UNSAFE_IN_JSON.sub(lambda m: _JSON_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


_DATA_BLOCK = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.DOTALL)


def embedded_data(page: str) -> Any:
    """The data block of a rendered report, parsed: what the page's script reads (for tests and tools)."""
    match = _DATA_BLOCK.search(page)
    if match is None:
        raise ValueError("the page has no data block")
    return json.loads(match.group(1))


# --- the data block -----------------------------------------------------------------------------------


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

    The page embeds it as text built in one pass (``_data_text``); this is that text, parsed.
    """
    return json.loads("".join(_data_text(doc)))


_KNOWN = 4096  # evidence mappings _evidence keeps by identity
_INT_COLUMNS = ("rule", "resource", "status", "severity", "message", "evidence", "waiver", "baseline", "previous",
                "gating", "owner")


def _data_text(doc: Mapping[str, Any], also: Callable[[Mapping[str, Any]], None] | None = None) -> list[str]:
    """``page_data`` as JSON text in pieces (``embed_json``'s text before its escapes), from one pass over the
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
    findings = _object({"id": _ENCODER.encode(ids), **{name: _ints(column) for name, column in columns.items()}})
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
    resources_text = _object({name: _ENCODER.encode(column) for name, column in resource_columns.items()})
    del resource_columns

    inventory = _inventory(endpoints, resource_index, rule_index, strings, statuses)
    return _object({
        "format": _ENCODER.encode(DATA_FORMAT),
        "statuses": _ENCODER.encode(statuses),
        "severities": _ENCODER.encode([s.value for s in html_view.SEVERITY_ORDER]),
        "baseline_states": _ENCODER.encode(states),
        "frameworks": _ENCODER.encode([[fid, framework_titles.get(fid, fid)] for fid in framework_ids]),
        "rules": _ENCODER.encode([_rule(doc["rules"][rule_id], framework_ids) for rule_id in rule_ids]),
        "strings": _ENCODER.encode(strings.values),
        "resources": resources_text,
        "tagsets": _ENCODER.encode(tagsets.values),
        "evidence": _ENCODER.encode(evidence.values),
        "waivers": _ENCODER.encode(waivers.values),
        "findings": findings,
        "inventory": inventory,
        "gateways": _ENCODER.encode(endpoints.links),
        "owners": _ENCODER.encode(owners.values),
        "owner_tag": _ENCODER.encode(doc["scan"].get("owner_tag", "")),
    })


def _object(members: Mapping[str, str | list[str]]) -> list[str]:
    """The JSON text of an object whose members' values are JSON text already (a string or pieces), in the
    order of ``json.dumps(sort_keys=True)``, which is what ``_ENCODER`` would give for the object itself."""
    out: list[str] = []
    for n, key in enumerate(sorted(members)):
        out.append(("{" if n == 0 else ",") + _ENCODER.encode(key) + ":")
        value = members[key]
        if isinstance(value, str):
            out.append(value)
        else:
            out += value
    out.append("}" if members else "{}")
    return out


def _ints(column: Iterable[int]) -> str:
    """A column of numbers as its JSON array (as ``_ENCODER`` writes a list of ints)."""
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
        out.append(_ENCODER.encode([resource_index[_endpoint_key(row)], kind, lines, gateways,
                                    [row["counts"][s] for s in statuses],
                                    [strings.ref(text) for text in row["unknown"]], status]))
    return _object({"aspects": _ENCODER.encode(list(html_endpoints.ASPECTS)), "kinds": _ENCODER.encode(kinds.values),
                    "rows": "[" + ",".join(out) + "]"})
