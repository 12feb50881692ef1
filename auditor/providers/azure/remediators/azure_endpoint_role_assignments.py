"""azure.ml.online_endpoint.identity_least_privilege: remove the endpoint identity's broad role assignments.

Plan-only by default: removing access can break production (the model may use it). The plan shows
the exact assignments; it becomes applicable when the rule is named at plan time (``--rule
azure.ml.online_endpoint.identity_least_privilege``) and apply is given ``--allow-access-removal``.
Each broad assignment (a role the rule forbids, at a scope level it forbids) is deleted; its undo
recreates the same assignment: same id, role definition, scope and principal. This is the only
removal the auditor makes. An endpoint's identity itself cannot change after creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.model import Finding, Status
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.live import AUTHORIZATION_API_VERSION, ML_API_VERSION, connected
from auditor.providers.azure.ml_endpoints import ONLINE_ENDPOINT
from auditor.remediate.context import StepContext, precondition, result, verify
from auditor.remediate.fixes import automatic_step, call, change_row
from auditor.remediate.model import Disruption, Mode, Outcome, PlanStep, RecordedChange, StepResult
from auditor.remediate.params import PlanParams

AUTHZ = declared.AUTHORIZATION
CHANGE_KIND = "azure.role_assignment"
# The built-in roles the rule forbids by default (apply verifies with the catalog's rule), by definition GUID:
# the same in every tenant. Rollback recreates an assignment of these roles only.
FORBIDDEN_BUILTIN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-7f38634e95fd": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c2a72d9d": "User Access Administrator",
}


def broad_in_evidence(evidence: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The assignments of the evidence that the check called broad (role, scope, scope_level)."""
    broad = set(evidence.get("broad_assignments") or [])
    return [a for a in evidence.get("role_assignments") or []
            if f"{a.get('role')} at {a.get('scope_level')} scope {a.get('scope')}" in broad]


class AzureEndpointRoleAssignments:
    name: ClassVar[str] = "azure_endpoint_role_assignments"
    provider: ClassVar[str] = "azure"
    rule_ids: ClassVar[tuple[str, ...]] = ("azure.ml.online_endpoint.identity_least_privilege",)
    disruption: ClassVar[Disruption] = Disruption.BREAKING_CLIENTS
    # Every call apply and rollback make, the live read of the endpoint included; permissions follow from them.
    calls: ClassVar[tuple[str, ...]] = (
        *declared.ONLINE_ENDPOINT.live, *declared.ONLINE_ENDPOINT.describe, f"DELETE {AUTHZ}/roleAssignments",
        f"PUT {AUTHZ}/roleAssignments")  # the undo recreates the assignment
    permissions: ClassVar[tuple[str, ...]] = declared.actions(calls)
    removes_access: ClassVar[bool] = True

    def plan(self, finding: Finding, params: PlanParams) -> PlanStep:
        return self.describe(finding, {"rule_named": finding.rule_id in params.named_rules})

    def describe(self, finding: Finding, inputs: Mapping[str, Any]) -> PlanStep:
        named = bool(inputs["rule_named"])
        principals = ", ".join(str(p) for p in finding.evidence.get("principal_ids") or []) or "unknown"
        rid = finding.resource_id
        changes = [change_row(f"role assignment {a.get('role')} at {a.get('scope')} of principal(s) {principals}",
                              "exists", True, False) for a in broad_in_evidence(finding.evidence)]
        subscription = f"/subscriptions/{finding.account}/providers/{AUTHZ}/roleAssignments"
        notes = ["Grant the scoped roles the model needs first (for example Storage Blob Data Reader on its storage "
                 "account, AcrPull on its registry).",
                 "A user-assigned identity shared with other endpoints loses these roles for all of them.",
                 "The endpoint's identity itself cannot change after creation: a different identity means a new "
                 "endpoint."]
        if not named:
            notes.insert(0, "Plan-only: apply will not remove access. To apply it, re-plan with --rule "
                            f"{finding.rule_id} and apply with --allow-access-removal.")
        return automatic_step(
            self, finding, {"rule_named": named},
            title=f"Remove the broad role assignments of the identity of online endpoint {finding.resource_name}",
            changes=changes,
            api_calls=[
                call(f"GET {rid}?api-version={ML_API_VERSION}", note="the identity's principal ids"),
                call(f"GET {subscription}?$filter=principalId eq 'PRINCIPAL'&api-version={AUTHORIZATION_API_VERSION}",
                     finding.account, note="each principal; role names from GET roleDefinitions"),
                call(f"DELETE ASSIGNMENT_ID?api-version={AUTHORIZATION_API_VERSION}", "each broad assignment",
                     note="each role the rule forbids at a scope level it forbids, as found at apply"),
            ],
            undo="recreate each removed assignment: PUT the same assignment id with the same role definition, "
                 "principal and principal type (at the same scope)",
            undo_calls=[call(f"PUT ASSIGNMENT_ID?api-version={AUTHORIZATION_API_VERSION}", "each removed assignment",
                             note="properties roleDefinitionId, principalId, principalType as before")],
            disruption_detail="the endpoint's identity loses these roles: whatever the model or its pipelines did "
                              "with them fails from then on",
            notes=notes, mode=Mode.ACCESS_REMOVAL if named else Mode.PLAN_ONLY,
        )

    def apply(self, step: PlanStep, ctx: StepContext) -> StepResult:
        finding, azure = step.finding, connected(ctx.providers)
        live = azure.read(ONLINE_ENDPOINT, finding.resource_id, account=finding.account)
        decided = precondition(ctx, step, live)
        if decided.status is Status.PASS:
            return result(step, Outcome.ALREADY_APPLIED, "the identity holds no broad role assignment: nothing changed")
        assert live is not None
        params = ctx.rule(finding.rule_id).params
        roles = {str(r).lower() for r in params["forbidden_roles"]}
        levels = set(params["forbidden_scope_levels"])
        doomed = [a for a in live.related.get("role_assignments", [])
                  if str(a.get("roleName") or "").lower() in roles and a.get("scope_level") in levels]
        ctx.reserve([str(a["id"]) for a in doomed])
        for assignment in doomed:
            ctx.change(CHANGE_KIND, {"assignment": str(assignment["id"])}, None, str(assignment["id"]))
        removed = "; ".join(f"{a['roleName']} at {a['scope']}" for a in doomed)
        return verify(ctx, step, azure.read(ONLINE_ENDPOINT, finding.resource_id, account=finding.account),
                      f"removed {removed}")


    def change_problem(self, step: PlanStep, change: RecordedChange) -> str | None:
        """Only the removal of an assignment the scan called broad: of the endpoint's identity, of a forbidden
        built-in role, at the scope the scan saw it at. Rollback recreates nothing else."""
        if change.kind != CHANGE_KIND or set(change.target) != {"assignment"} or change.after is not None:
            return f"a change of {change.kind} {dict(change.target)} to {change.after!r}: the step only removes " \
                   "role assignments"
        before, evidence = change.before, step.finding.evidence
        if not isinstance(before, Mapping):
            return f"its value before, {before!r}, is not a role assignment"
        principal = str(before.get("principalId", "")).lower()
        if principal not in {str(p).lower() for p in evidence.get("principal_ids") or []}:
            return f"principal {before.get('principalId')!r} is not the endpoint's identity the scan saw"
        scope = "/" + str(before.get("scope", "")).strip("/").lower()
        assignment = str(change.target["assignment"]).lower()
        if not assignment.startswith(f"{scope.rstrip('/')}/providers/{AUTHZ.lower()}/roleassignments/"):
            return f"assignment {change.target['assignment']} is not at its scope {before.get('scope')!r}"
        guid = str(before.get("roleDefinitionId", "")).rstrip("/").rsplit("/", 1)[-1].lower()
        role = FORBIDDEN_BUILTIN_ROLES.get(guid)
        if role is None:
            return f"role definition {before.get('roleDefinitionId')!r} is not one the step removes"
        broad = {(str(a.get("role")).lower(), "/" + str(a.get("scope")).strip("/").lower())
                 for a in broad_in_evidence(evidence)}
        if (role.lower(), scope) not in broad:
            return f"{role} at {before.get('scope')!r} is not a broad assignment the scan saw"
        return None


REMEDIATOR = AzureEndpointRoleAssignments()
