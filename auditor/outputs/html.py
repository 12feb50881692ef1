"""The HTML report: one self-contained file that opens offline (reports/report.html.j2 + report.js).

The report is rendered from the findings document (``findings_json.to_document``), not from the
ScanResult directly, so a report re-rendered later from findings.json is the same page as the one the
scan wrote. The executive summary is server-rendered (``html_view.build_view``) and reads without
JavaScript; the findings table, the endpoint inventory and the gateway links are drawn by the page's
script from a JSON data block (``page_data``), so 100,000 findings cost kilobytes of markup, not
hundreds of megabytes.

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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from auditor.model import ScanResult
from auditor.outputs import html_endpoints, html_view
from auditor.outputs.findings_json import to_document
from auditor.paths import reports_dir

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
SCRIPT = "report.js"
DATA_FORMAT = 1

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_UNSAFE_IN_JSON = re.compile("[<>&\u2028\u2029\ud800-\udfff]")
_NO_NAME_CHAR = "\x00"  # marks where a message held its resource's name (see _message)


def render(result: ScanResult, templates_dir: Path | None = None) -> str:
    """The report page for ``result``; templates from ``templates_dir`` (default: the shipped ones)."""
    return render_document(to_document(result), templates_dir)


def render_document(doc: Mapping[str, Any], templates_dir: Path | None = None) -> str:
    """The report page for a findings document (one ``to_document`` produced)."""
    directory = templates_dir if templates_dir is not None else reports_dir()
    css = (directory / STYLESHEET).read_text(encoding="utf-8")
    script = (directory / SCRIPT).read_text(encoding="utf-8")
    if "</style" in css.lower() or "</script" in script.lower() or "<!--" in script:
        raise ValueError("the report's stylesheet or script would close its own element")
    template = environment(directory).get_template(TEMPLATE)
    report, data = html_view.build_view(doc), page_data(doc)
    del doc  # 100,000 findings' document is the largest thing here, and the page needs only these two now
    block = embed_json(data)
    del data
    return template.render(
        report=report,
        # The tool's own files, read from its template directory: marked safe, and pinned by the CSP.
        css=Markup(css),  # noqa: S704
        script=Markup(script),  # noqa: S704
        data=Markup(block),  # noqa: S704 - escaped by embed_json
        csp=content_security_policy(script, css),
    )


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
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
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


def page_data(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the page's script renders: the findings in columns, with every repeated value stored once.

    ``findings`` holds one array per field, index i of each being finding i (the document's order):
    ``rule``, ``resource``, ``waiver``, ``evidence`` and ``message`` refer to entries of ``rules``,
    ``resources``, ``waivers``, ``evidence`` and ``strings``; ``status``, ``severity`` and ``baseline``
    to the ``statuses``, ``severities`` and ``baseline_states`` lists, ``previous`` (the status in the
    baseline) to ``statuses``; -1 means none. A message is
    ``strings[m]``, or for ``-(m + 1)`` the template ``strings[m]`` with each U+0000 replaced by the
    resource's name. Evidence is a list of [key, value as JSON text] pairs in key order. A resource's
    ``id`` is the id itself, or a ``strings`` reference to the prefix that its ``name`` completes.
    ``inventory`` is described at ``_inventory``; ``gateways`` are ``html_endpoints.gateway_links`` rows.
    """
    strings = _Table()
    tagsets = _Table()
    evidence = _Table()
    waivers = _Table()
    states = sorted({f["baseline"]["state"] for f in doc["findings"] if _baseline_state(f) is not None},
                    key=lambda s: (s not in html_view.BASELINE_STATES,
                                   html_view.BASELINE_STATES.index(s) if s in html_view.BASELINE_STATES else 0, s))
    statuses = [s.value for s in html_view.STATUS_ORDER]
    severities = [s.value for s in html_view.SEVERITY_ORDER]
    rule_ids = sorted(doc["rules"])
    rule_index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    framework_titles = {f["id"]: f["title"] for f in doc.get("frameworks", ())}
    framework_ids = sorted({ref["framework"] for r in doc["rules"].values() for ref in r["frameworks"]})
    tags = {(r["provider"], r["id"]): r["tags"] for r in doc.get("inventory", ())}

    inventory = html_endpoints.EndpointRows(doc)  # its rows are built as _inventory reads them, below
    resources = _resources(doc["findings"], inventory.keys)
    resource_index = {key: i for i, key in enumerate(resources)}
    columns: dict[str, list[Any]] = {name: [] for name in ("id", "rule", "resource", "status", "severity",
                                                          "message", "evidence", "waiver", "baseline", "previous",
                                                          "gating")}
    for f in doc["findings"]:
        key = _resource_key(f)
        columns["id"].append(f["id"])
        columns["rule"].append(rule_index[f["rule_id"]])
        columns["resource"].append(resource_index[key])
        columns["status"].append(statuses.index(f["status"]))
        columns["severity"].append(severities.index(f["severity"]))
        columns["message"].append(_message(f["message"], f["resource_name"], strings))
        pairs = [[k, json.dumps(f["evidence"][k], sort_keys=True, ensure_ascii=False)] for k in sorted(f["evidence"])]
        columns["evidence"].append(evidence.ref(json.dumps(pairs, ensure_ascii=False), pairs) if pairs else -1)
        waiver = f.get("waiver")
        columns["waiver"].append(
            waivers.ref((waiver["reason"], waiver["owner"], waiver["expires"]),
                        [waiver["reason"], waiver["owner"], waiver["expires"]]) if waiver else -1)
        state = _baseline_state(f)
        columns["baseline"].append(states.index(state) if state is not None else -1)
        previous = f["baseline"].get("previous_status") if state is not None else None
        columns["previous"].append(statuses.index(previous) if previous in statuses else -1)
        columns["gating"].append(1 if f["gating"] else 0)

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

    return {
        "format": DATA_FORMAT,
        "statuses": statuses,
        "severities": severities,
        "baseline_states": states,
        "frameworks": [[fid, framework_titles.get(fid, fid)] for fid in framework_ids],
        "rules": [_rule(doc["rules"][rule_id], framework_ids) for rule_id in rule_ids],
        "strings": strings.values,
        "resources": resource_columns,
        "tagsets": tagsets.values,
        "evidence": evidence.values,
        "waivers": waivers.values,
        "findings": columns,
        "inventory": _inventory(inventory, resource_index, rule_index, strings, statuses),
        "gateways": html_endpoints.gateway_links(doc),
    }


ResourceKey = tuple[str, str, str, str, str, str]


def _resource_key(f: Mapping[str, Any]) -> ResourceKey:
    # Everything a finding says of its resource: scope ERROR findings share an id across resource types.
    return f["provider"], f["resource_id"], f["resource_type"], f["account"], f["region"], f["resource_name"]


def _resources(findings: Sequence[Mapping[str, Any]], endpoints: Iterable[ResourceKey]) -> list[ResourceKey]:
    """Distinct resources in display order (name, then id): the page sorts by resource by position.

    The findings' resources, and the inventory's endpoints (their keys) that have no finding of their own.
    """
    keys = {_resource_key(f) for f in findings}
    keys.update(endpoints)
    return sorted(keys, key=lambda k: (k[5].casefold(), k[5], k[1], k))


def _endpoint_key(row: Mapping[str, Any]) -> ResourceKey:
    return row["provider"], row["id"], row["kind"], row["account"], row["region"], row["name"]


def _message(message: str, name: str, strings: _Table) -> int:
    """A message as a string reference; with the resource name cut out when that makes it a shared template."""
    if len(name) >= 3 and name in message and _NO_NAME_CHAR not in message:
        return -(strings.ref(message.replace(name, _NO_NAME_CHAR)) + 1)
    return strings.ref(message)


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
               rule_index: Mapping[str, int], strings: _Table, statuses: Sequence[str]) -> dict[str, Any]:
    """The endpoint inventory, compact: ``kinds`` [[type, label]] and ``rows`` [resource, kind, lines,
    gateways [[api, protection, status]], counts by status, [what is not known], status]. A line is
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
        out.append([resource_index[_endpoint_key(row)], kind, lines, gateways, [row["counts"][s] for s in statuses],
                    [strings.ref(text) for text in row["unknown"]], status])
    return {"aspects": list(html_endpoints.ASPECTS), "kinds": kinds.values, "rows": out}
