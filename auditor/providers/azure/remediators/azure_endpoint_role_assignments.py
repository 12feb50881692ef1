"""azure.ml.online_endpoint.identity_least_privilege: remove the endpoint identity's broad role assignments.

Plan-only by default: removing access can break production (the model may use it). The plan shows
the exact assignments; it becomes applicable when the rule is named at plan time (``--rule
azure.ml.online_endpoint.identity_least_privilege``) and apply is given ``--allow-access-removal``.
Each broad assignment (a role the rule forbids, at a scope level it forbids) is deleted; its undo
recreates the same assignment: same id, role definition, scope and principal. This is the only
removal the auditor makes. An endpoint's identity itself cannot change after creation.

A scan of several subscriptions or of a management group finds assignments in sibling subscriptions and on
management groups that are not above the endpoint's subscription: apply reads the endpoint with the assignments
of every scope the finding's evidence names (:mod:`auditor.providers.azure.live_scopes`, with the scan's calls;
the plan's ``api_calls`` name them) and removes the broad ones wherever they are. When one of those scopes
cannot be read the step fails before any change: it neither removes part of what the scan saw nor calls the
identity clean.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auditor.model import Finding, Status
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.live import AUTHORIZATION_API_VERSION, ML_API_VERSION, connected
from auditor.providers.azure.live_scopes import AssignmentScopes, evidence_scopes, read_endpoint
from auditor.providers.azure.role_pool import UNREAD_SCOPES
from auditor.remediate.context import StepContext, precondition, result, verify
from auditor.remediate.fixes import automatic_step, call, change_row
from auditor.remediate.model import Disruption, Mode, Outcome, PlanStep, RecordedChange, StepFailed, StepResult
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
                *_assignment_reads(finding.account, evidence_scopes(finding.evidence, finding.account)),
                call(f"DELETE ASSIGNMENT_ID?api-version={AUTHORIZATION_API_VERSION}", "each broad assignment",
                     note="each role the rule forbids at a scope level it forbids, as found at apply at these "
                          "scopes"),
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
        scopes = evidence_scopes(finding.evidence, finding.account)
        live = read_endpoint(azure, finding.resource_id, finding.account, scopes)
        if live is not None and UNREAD_SCOPES in live.unreadable:
            raise StepFailed(f"{live.unreadable[UNREAD_SCOPES]}; nothing was changed: without these scopes the "
                             "identity's assignments can be neither checked against the scan nor called clean")
        decided = precondition(ctx, step, live)
        if decided.status is Status.PASS:
            return result(step, Outcome.ALREADY_APPLIED, "the identity holds no broad role assignment: nothing changed")
        assert live is not None
        params = ctx.rule(finding.rule_id).params
        roles = {str(r).lower() for r in params["forbidden_roles"]}
        levels = set(params["forbidden_scope_levels"])
        # Only the identity's own assignments: one held through a group it belongs to is every member's, and
        # rollback would refuse to recreate it (change_problem).
        principals = {str(p).lower() for p in finding.evidence.get("principal_ids") or []}
        doomed = [a for a in live.related.get("role_assignments", [])
                  if str(a.get("roleName") or "").lower() in roles and a.get("scope_level") in levels
                  and str(a.get("principalId") or "").lower() in principals]
        ctx.reserve([str(a["id"]) for a in doomed])
        for assignment in doomed:
            ctx.change(CHANGE_KIND, {"assignment": str(assignment["id"])}, None, str(assignment["id"]))
        removed = "; ".join(f"{a['roleName']} at {a['scope']}" for a in doomed)
        return verify(ctx, step, read_endpoint(azure, finding.resource_id, finding.account, scopes),
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


def _assignment_reads(subscription: str, scopes: AssignmentScopes) -> list[dict[str, Any]]:
    """The role-assignment lists apply reads (:func:`read_endpoint`), each named by its scope."""
    query = f"$filter=principalId eq 'PRINCIPAL'&api-version={AUTHORIZATION_API_VERSION}"
    reads = [call(f"GET /subscriptions/{subscription}/providers/{AUTHZ}/roleAssignments?{query}", subscription,
                  note="each principal: its assignments at, above and below the endpoint's subscription; role names "
                       "from GET roleDefinitions")]
    reads += [call(f"GET /subscriptions/{other}/providers/{AUTHZ}/roleAssignments?{query}", other,
                   note="each principal: the assignments the scan found in this other subscription (at it or below "
                        "it)") for other in scopes.subscriptions]
    reads += [call(f"GET {scope}/providers/{AUTHZ}/roleAssignments?$filter=atScope()&api-version="
                   f"{AUTHORIZATION_API_VERSION}", scope,
                   note="the principals' assignments at this scope (and above it), unless the endpoint's "
                        "subscription's list already shows them there (the scope is above it)")
               for scope in scopes.at_scopes]
    return reads


REMEDIATOR = AzureEndpointRoleAssignments()
