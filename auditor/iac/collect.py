"""A planned change as an inventory: the "collect" stage of ``auditor scan plan``.

Every planned resource whose type a plan mapping covers (:mod:`auditor.iac.mapping`) and whose action is
create, update or replace becomes a :class:`~auditor.model.Resource` of the catalog's type: its id the
Terraform address or Pulumi URN, its document the mapped API document (redacted as a collector redacts
what the API returns), ``related`` the ids of the planned resources its attributes reference (as the
collectors link them at run time) and what the entry's ``derive`` derives from the document (as the
collectors derive it, :mod:`auditor.iac.derive`), and ``plan``: where it is and what the plan does to it.
Deleted resources, unchanged ones and data sources are not judged (they still answer references). Types
no mapping covers are named in a coverage row, never judged.

Endpoints' planned role assignments (``azurerm_role_assignment``, ``azure-native:authorization:RoleAssignment``)
are linked as the Azure collector links an identity's assignments (:mod:`auditor.iac.roles`), workspaces'
planned private endpoints as their connections (:mod:`auditor.iac.private_links`), API Management APIs to
their planned policies, backends and products (:mod:`auditor.iac.apim`); the pipeline's link stage then links
the APIs to the model endpoints they front, as for a scanned estate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.iac.account_wide import account_settings
from auditor.iac.apim import link_apis
from auditor.iac.derive import DERIVATIONS
from auditor.iac.mapping import Mappings, TypeMapping, build, decode, read_path, shipped_mappings
from auditor.iac.private_links import link_private_endpoints
from auditor.iac.read import Plan, Planned, read_plan
from auditor.iac.roles import link_role_assignments
from auditor.model import CoverageRow, Inventory, Resource
from auditor.planned import AFTER_APPLY_TEXT, AfterApply, NotInPlan
from auditor.redaction import redact_document

if TYPE_CHECKING:
    from auditor.pipeline import Collect
    from auditor.progress import Progress

JUDGED = frozenset({"create", "update", "replace"})
LIVE = JUDGED | {"no-op"}  # what exists once the plan is applied
_INDEX = re.compile(r"\[[^\]]*\]$")
_AZURE = ("azurerm_", "azapi_", "azuread_", "azure-native:", "azure:", "azuread:")
MAX_LISTED = 30  # unmapped types named in a coverage row


class _Plan:
    """One plan file's planned resources, their mappings and their mapped documents (built once each)."""

    def __init__(self, plan: Plan, mappings: Mappings) -> None:
        self.plan = plan
        self.by_address = {p.address: p for p in plan.changes}
        self.by_base: dict[str, list[str]] = {}
        for p in plan.changes:
            self.by_base.setdefault(_INDEX.sub("", p.address), []).append(p.address)
        self.mapping: dict[str, TypeMapping] = {}
        self.parts: list[tuple[Planned, TypeMapping]] = []  # resources that are part of another's document
        self.accounts: list[tuple[Planned, TypeMapping, Mapping[str, Any]]] = []  # an account's settings
        self.values: dict[str, Mapping[str, Any]] = {}
        for p in plan.changes:
            found = mappings.find(plan.format, p.source_type, p.values)
            if found is not None:
                self.values[p.address] = decode(p.values, found.decode_json, f"{p.address}: {found.decode_json}")
                if found.account_wide:
                    if p.action in LIVE | {"delete", "import"}:
                        self.accounts.append((p, found, self.values[p.address]))
                elif found.part_of:
                    if p.action in LIVE:
                        self.parts.append((p, found))
                else:
                    self.mapping[p.address] = found
        self.documents: dict[str, dict[str, Any]] = {}
        self.building: set[str] = set()

    def referenced(self, planned: Planned, attribute: str) -> list[str]:
        """The addresses of the planned resources ``attribute`` of ``planned`` references."""
        out: list[str] = []
        for key, targets in planned.references.items():
            if attribute == key or attribute.startswith(f"{key}.") or key.startswith(f"{attribute}."):
                for target in targets:
                    out.extend(a for a in ([target] if target in self.by_address else self.by_base.get(target, []))
                               if a not in out)
        return out

    def document(self, address: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The mapped document of a planned resource, and the keys the plan cannot tell (key -> why)."""
        planned, mapping = self.by_address[address], self.mapping[address]
        unreadable: dict[str, str] = {}
        if address in self.documents:
            return self.documents[address], unreadable
        self.building.add(address)

        def via(reference: str, path: str) -> Any:
            for target in self.referenced(planned, reference):
                if target in self.mapping and target not in self.building and \
                        self.by_address[target].action in LIVE:
                    return read_path(self.document(target)[0], path)
            unreadable[path.split(".", 1)[0]] = (f"'{reference}' names a resource that is not part of this plan; "
                                                 "scan the estate to judge it")
            return None

        document = build(mapping.document, self.values[address], via)
        for part, part_mapping in self.parts:  # an S3 bucket's encryption, public access block: its own resource
            if part_mapping.resource_type == mapping.resource_type and self._names(part, part_mapping, planned):
                document.update(build(part_mapping.document, self.values[part.address], via))
        defaults = mapping.when_created if planned.action == "create" else mapping.when_existing
        for key, value in build(defaults or {}, self.values[address], via).items():
            document.setdefault(key, value)
        self.building.discard(address)
        self.documents[address] = document
        return document, unreadable

    def _names(self, part: Planned, mapping: TypeMapping, whole: Planned) -> bool:
        """Whether ``part`` is a part of ``whole``: its ``part_of`` attribute references it, or names it."""
        if whole.address in self.referenced(part, mapping.part_of):
            return True
        written = read_path(self.values[part.address], mapping.part_of)
        name = read_path(self.values[whole.address], self.mapping[whole.address].name)
        return isinstance(written, str) and not isinstance(written, AfterApply) and written == name

    def related(self, planned: Planned, mapping: TypeMapping) -> tuple[dict[str, Any], dict[str, str]]:
        """The related ids of ``planned``, and the related keys the plan cannot tell (key -> why): an
        attribute known only after apply that references no planned resource (a module's output) names a
        resource nobody can tell."""
        related: dict[str, Any] = {}
        unknown: dict[str, str] = {}
        for name, attributes in (mapping.related or {}).items():
            ids: list[str] = []
            for attribute in attributes:
                targets = self.referenced(planned, attribute)
                literal = read_path(self.values[planned.address], attribute)
                if not targets and isinstance(literal, AfterApply):
                    unknown[f"related.{name}"] = (f"'{attribute}' is {AFTER_APPLY_TEXT} and references no "
                                                  "resource of this plan")
                if not targets and isinstance(literal, str) and literal and not isinstance(literal, AfterApply):
                    targets = [literal]  # a resource outside the plan, named by its id
                ids.extend(t for t in targets if t not in ids)
            related[name] = ids
        return related, unknown


def plan_inventory(plans: Sequence[Plan], mappings: Mappings) -> Inventory:
    """The judged resources of ``plans`` and one coverage row per plan file, cloud and kind (mapped, not)."""
    resources: list[Resource] = []
    coverage: list[CoverageRow] = []
    for plan in plans:
        state = _Plan(plan, mappings)
        mapped: dict[str, Counter[str]] = {}
        unmapped: dict[str, Counter[str]] = {}
        for planned in plan.changes:
            mapping = state.mapping.get(planned.address)
            if mapping is None:
                if planned.action in JUDGED and planned.address not in state.values:  # not a part of another
                    unmapped.setdefault(_cloud(planned.source_type), Counter())[_label(planned)] += 1
                continue
            mapped.setdefault(mapping.provider, Counter())
            if planned.action not in JUDGED:
                continue
            mapped[mapping.provider][mapping.resource_type] += 1
            resources.append(_resource(state, planned, mapping))
        coverage.extend(_coverage(plan, mapped, unmapped))
        coverage.extend(_account_coverage(plan, state.accounts))
    inventory = Inventory(resources=tuple(resources), coverage=tuple(coverage),
                          scopes=tuple(f"{p.format} plan {p.file}" for p in plans))
    return link_apis(link_private_endpoints(link_role_assignments(inventory, plans), plans), plans)


def _resource(state: _Plan, planned: Planned, mapping: TypeMapping) -> Resource:
    document, unreadable = state.document(planned.address)
    values = state.values[planned.address]
    name = read_path(values, mapping.name)
    region = read_path(values, mapping.region) if mapping.region else None
    related, unknown_related = state.related(planned, mapping)
    unreadable.update(unknown_related)
    related["plan"] = plan_mark(state.plan, planned)
    for key, value in list(document.items()):  # a key the plan cannot tell: unreadable, as a collector says
        if isinstance(value, NotInPlan):
            unreadable[key] = f"not decided by this plan: {value}"
            document = {k: v for k, v in document.items() if k != key}
    for key, why in (mapping.related_outside or {}).items():
        unreadable[f"related.{key}"] = f"not decided by this plan: {why}"
    for setting in account_settings(mapping.resource_type, planned.provider, state.accounts):
        unreadable.pop(f"related.{setting.key}", None)  # the plan holds the account's setting: no longer outside
        if setting.unknown:
            unreadable[f"related.{setting.key}"] = setting.unknown
        else:
            related[setting.key] = setting.value
    for key, derivation in (mapping.derive or {}).items():  # as the collector derives it, from the document
        derived = DERIVATIONS[derivation](mapping.resource_type, document)
        if derived.unknown:
            unreadable[f"related.{key}"] = derived.unknown
        else:
            related[key] = derived.value
    return Resource(
        id=planned.address, type=mapping.resource_type, provider=mapping.provider, account="",
        region=region if isinstance(region, str) and not isinstance(region, AfterApply) else "",
        name=name if isinstance(name, str) and not isinstance(name, AfterApply) and name else planned.name,
        document=redact_document(document), related=related, unreadable={f"{k}": v for k, v in unreadable.items()},
    )


def plan_mark(plan: Plan, planned: Planned) -> dict[str, Any]:
    """What findings.json says of a planned resource: the action and where the plan input has it."""
    mark: dict[str, Any] = {"format": plan.format, "action": planned.action, "address": planned.address,
                            "type": planned.source_type, "file": plan.file}
    if planned.line:
        mark["line"] = planned.line
    if planned.source_file:
        mark["source"] = {"file": planned.source_file, "line": planned.source_line}
    return mark


def _label(planned: Planned) -> str:
    """An unmapped type as the coverage row names it: azapi's generic resource with its Resource Manager type."""
    arm_type = planned.values.get("type") if planned.source_type.startswith("azapi_") else None
    return f"{planned.source_type} ({arm_type.split('@')[0]})" if isinstance(arm_type, str) else planned.source_type


def _cloud(source_type: str) -> str:
    return "azure" if source_type.startswith(_AZURE) else "aws"


def _coverage(plan: Plan, mapped: Mapping[str, Counter[str]],
              unmapped: Mapping[str, Counter[str]]) -> list[CoverageRow]:
    rows = [CoverageRow(provider=cloud, account="", region="", service=f"{plan.format} plan",
                        scope_id=plan.file, resource_types=tuple(sorted(types)), resources=sum(types.values()))
            for cloud, types in sorted(mapped.items())]
    for cloud, types in sorted(unmapped.items()):
        listed = [f"{t} x{n}" if n > 1 else t for t, n in sorted(types.items())]
        more = f" and {len(listed) - MAX_LISTED} more" if len(listed) > MAX_LISTED else ""
        rows.append(CoverageRow(provider=cloud, account="", region="",
                                service=f"{plan.format} plan, not judged (no plan mapping): "
                                        f"{', '.join(listed[:MAX_LISTED])}{more}",
                                scope_id=plan.file, resource_types=(), resources=sum(types.values())))
    return rows


def _account_coverage(plan: Plan, accounts: Sequence[tuple[Planned, TypeMapping, Any]]) -> list[CoverageRow]:
    """A row per cloud naming the account settings of the plan: not judged themselves, only as they apply to
    the plan's own resources (an existing resource outside the plan is not judged with them)."""
    by_cloud: dict[str, list[tuple[Planned, TypeMapping]]] = {}
    for planned, mapping, _values in accounts:
        if planned.action in JUDGED | {"delete"}:
            by_cloud.setdefault(mapping.provider, []).append((planned, mapping))
    return [CoverageRow(provider=cloud, account="", region="",
                        service=f"{plan.format} plan, account settings not judged themselves, only with this "
                                f"plan's {', '.join(sorted({m.resource_type for _p, m in found}))} resources: "
                                f"{', '.join(f'{p.source_type} ({p.action})' for p, _m in found)}",
                        scope_id=plan.file, resource_types=(), resources=len(found))
            for cloud, found in sorted(by_cloud.items())]


def plan_collector(files: Sequence[Path]) -> Collect:
    """The collection of ``auditor scan plan FILE...``: the files are read and checked now (a malformed one
    is exit 3 before anything is evaluated), the inventory built when the pipeline collects."""
    plans = [read_plan(path) for path in files]
    mappings = shipped_mappings()

    def collect(progress: Progress) -> Inventory:
        progress.add_total(len(plans))
        inventory = plan_inventory(plans, mappings)
        progress.advance(len(plans))
        return inventory

    return collect
