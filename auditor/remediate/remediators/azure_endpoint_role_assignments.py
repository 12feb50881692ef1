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
from auditor.remediate.azure import AUTHORIZATION_API_VERSION, ML_API_VERSION
from auditor.remediate.context import StepContext, precondition, result, verify
from auditor.remediate.fixes import automatic_step, call, change_row
from auditor.remediate.model import Disruption, Mode, Outcome, PlanStep, StepResult
from auditor.remediate.params import PlanParams

NS = "Microsoft.MachineLearningServices"
AUTHZ = "Microsoft.Authorization"
CHANGE_KIND = "azure.role_assignment"


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
    permissions: ClassVar[tuple[str, ...]] = (
        f"{AUTHZ}/roleAssignments/delete",
        f"{AUTHZ}/roleAssignments/read",
        f"{AUTHZ}/roleAssignments/write",  # the undo recreates the assignment
        f"{AUTHZ}/roleDefinitions/read",
        f"{NS}/workspaces/onlineEndpoints/read",
    )
    order: ClassVar[int] = 90  # last: the riskiest
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
        finding, azure = step.finding, ctx.providers.azure
        live = azure.endpoint_with_roles(finding.resource_id, finding.account)
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
        return verify(ctx, step, azure.endpoint_with_roles(finding.resource_id, finding.account), f"removed {removed}")


REMEDIATOR = AzureEndpointRoleAssignments()
