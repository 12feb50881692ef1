"""Evaluate an inventory against rules: exactly one finding per (rule, resource of its type).

Only this module creates ERROR findings (collection failures, unreadable data, crashing
conditions or checks); rules themselves only decide pass or fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from auditor import checks as check_registry
from auditor.errors import MissingData
from auditor.fingerprint import Fingerprint, fingerprint
from auditor.model import MAX_ERROR_TEXT, Finding, Inventory, Resource, Rule, Status
from auditor.redaction import redact_document
from auditor.rule_parts import Verdict
from auditor.untrusted import service_text

CheckLoader = Callable[[str], check_registry.Check]


def _message(rule: Rule, key: str, resource: Resource, fallback: str) -> str:
    template = rule.messages.get(key)
    if not template:
        return fallback
    return template.format(name=resource.name, region=resource.region, account=resource.account,
                           type=resource.type)


def _finding(rule: Rule, resource: Resource, status: Status, message: str,
             evidence: Mapping[str, Any], state: Fingerprint | None = None) -> Finding:
    return Finding(
        rule_id=rule.id,
        resource_id=resource.id,
        resource_type=resource.type,
        provider=resource.provider,
        account=resource.account,
        region=resource.region,
        status=status,
        severity=rule.severity,
        message=message,
        # Collectors redact what they keep; this is the same policy once more for what a rule or check
        # took from anywhere else (``related``, a plugin's own reading): evidence never holds a secret.
        evidence=redact_document(evidence),
        resource_name=resource.name,
        fingerprint=state if state is not None else fingerprint(resource),
    )


def _decide(rule: Rule, resource: Resource, inventory: Inventory, load_check: CheckLoader) -> Verdict:
    if rule.check is not None:
        return load_check(rule.check)(resource, inventory, rule.params)
    if rule.expect is None:  # the catalog loader guarantees one of the two
        raise ValueError(f"rule {rule.id} has neither a condition nor a check")
    return rule.expect.evaluate(resource, rule.params)


def evaluate_one(rule: Rule, resource: Resource, inventory: Inventory,
                 load_check: CheckLoader = check_registry.load, state: Fingerprint | None = None) -> Finding:
    """One finding; any exception becomes ERROR with its reason (a bug must not look like compliance).

    ``state``: the resource's fingerprint when the caller already computed it (one per resource, not per rule).
    """
    stage = "applicability"
    try:
        if rule.applies_when is not None:
            applies = rule.applies_when.evaluate(resource, rule.params)
            if not applies.passed:
                msg = _message(rule, "not_applicable", resource, f"{rule.title}: does not apply to {resource.name}.")
                return _finding(rule, resource, Status.NOT_APPLICABLE, msg, applies.evidence, state)
        stage = "evaluation"
        verdict = _decide(rule, resource, inventory, load_check)
    except MissingData as e:
        reason = service_text(str(e), MAX_ERROR_TEXT)  # it quotes what a service said: redacted, escaped
        return _finding(rule, resource, Status.ERROR, f"Could not evaluate {resource.name}: {reason}.",
                        {"error": reason}, state)
    except Exception as e:  # noqa: BLE001 - isolation: one broken rule must not crash or pass the scan
        reason = service_text(f"{type(e).__name__}: {e}", MAX_ERROR_TEXT)
        return _finding(rule, resource, Status.ERROR,
                        f"Rule failed during {stage} on {resource.name}: {reason}.", {"error": reason}, state)
    if not verdict.applicable:
        msg = _message(rule, "not_applicable", resource, verdict.message)
        return _finding(rule, resource, Status.NOT_APPLICABLE, msg, verdict.evidence, state)
    if verdict.passed:
        return _finding(rule, resource, Status.PASS, _message(rule, "pass", resource, verdict.message),
                        verdict.evidence, state)
    fail = _message(rule, "fail", resource, verdict.message)
    if rule.check is not None and verdict.message:  # a check explains the specific failure
        fail = f"{fail} {verdict.message}" if not fail.endswith(verdict.message) else fail
    return _finding(rule, resource, Status.FAIL, fail, verdict.evidence, state)


def _scope_errors(rule: Rule, inventory: Inventory) -> Iterable[Finding]:
    """ERROR findings for the scopes whose resources of this rule's type could not be listed."""
    seen: dict[str, Finding] = {}
    for row in inventory.failed_coverage(rule.resource_type):
        if row.scope_id in seen:
            continue
        seen[row.scope_id] = Finding(
            rule_id=rule.id,
            resource_id=row.scope_id,
            resource_type=rule.resource_type,
            provider=row.provider,
            account=row.account,
            region=row.region,
            status=Status.ERROR,
            severity=rule.severity,
            message=f"Not evaluated: {row.service} in {row.region} of {row.account} could not be collected: "
                    f"{row.error}",
            evidence={"error": row.error, "service": row.service, "scope": row.scope_id},
            resource_name=row.scope_id,
        )
    return seen.values()


def evaluate(inventory: Inventory, rules: Iterable[Rule],
             load_check: CheckLoader = check_registry.load) -> tuple[Finding, ...]:
    by_type: dict[str, list[Resource]] = {}
    for resource in inventory.resources:
        by_type.setdefault(resource.type, []).append(resource)
    out: list[Finding] = []
    states: dict[int, Fingerprint] = {}  # one fingerprint per resource, shared by its findings
    for rule in rules:
        out.extend(_scope_errors(rule, inventory))
        for resource in by_type.get(rule.resource_type, ()):
            state = states.get(id(resource))
            if state is None:
                state = states[id(resource)] = fingerprint(resource)
            out.append(evaluate_one(rule, resource, inventory, load_check, state))
    return tuple(sorted(out, key=lambda f: (f.rule_id, f.resource_id)))
