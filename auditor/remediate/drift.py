"""The stale-plan check of ``apply``: a step's resource must still be in the state the scan read.

findings.json carries each resource's fingerprint (:mod:`auditor.fingerprint`) and the plan copies
it into each step. Before a step runs, apply reads its resource live (the provider's ``live.read``,
which builds it as the collectors do) and refuses the step when the fingerprint differs, naming the
top-level keys that changed, even when the field the step fixes did not: someone retagged the
endpoint or moved it to another model, and the reviewer approved a different resource.

The plan's own changes are not drift. When a step changed a resource another step of the plan is
about (two fixes of one online endpoint; an endpoint config's fix moving the endpoint a capture fix
is about), apply reads it after the step and journals its fingerprint (``resource-state``); a later
step, in this run or in a later run of the same plan (``--max-changes`` batches), accepts that state
as well as the scan's. Such a resource is checked once more just before this run's first change
of it (:meth:`DriftCheck.before_change`): when someone else had changed it, its state after the
plan's change is not trusted, and its steps are refused.

A changed resource on which the step's rule now passes is left to the step: every remediator
changes nothing on a passing resource (``already-applied`` when its own after-state holds;
refused otherwise). ``--allow-drift`` turns the check off (the steps' own preconditions still hold).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from auditor.fingerprint import Fingerprint, fingerprint
from auditor.model import Resource
from auditor.remediate.model import StepFailed, StepFinding
from auditor.remediate.providers import Providers


def resource_key(resource_id: str) -> str:
    """Resource Manager ids compare case-insensitively (they start with ``/``); ARNs exactly."""
    return resource_id.lower() if resource_id.startswith("/") else resource_id


def trusted_states(records: Iterable[Mapping[str, Any]], plan_sha256: str) -> dict[str, list[Fingerprint]]:
    """The ``resource-state`` fingerprints earlier runs of the same plan journaled, by resource."""
    runs = {str(r["run"]) for r in records if r.get("event") == "run-started" and r.get("action") == "apply"
            and isinstance(r.get("plan"), Mapping) and r["plan"].get("sha256") == plan_sha256}
    states: dict[str, list[Fingerprint]] = {}
    for record in records:
        if record.get("event") == "resource-state" and record.get("run") in runs \
                and isinstance(record.get("fingerprint"), Mapping):
            states.setdefault(resource_key(str(record["changed_resource"])), []).append(
                Fingerprint.from_json(record["fingerprint"]))
    return states


class DriftCheck:
    def __init__(self, findings: Iterable[StepFinding], providers: Providers, passes: Callable[[str, Resource], bool],
                 *, allowed: bool, trusted: Mapping[str, list[Fingerprint]] | None = None) -> None:
        """``passes(rule_id, resource)``: whether the catalog's rule passes on it; ``trusted``: states the plan's
        own earlier changes left (:func:`trusted_states`)."""
        self._findings = {resource_key(f.resource_id): f for f in findings}
        self._providers = providers
        self._passes = passes
        self.allowed = allowed
        self._trusted = {k: list(v) for k, v in (trusted or {}).items()}
        self._tainted: dict[str, str] = {}  # resource -> why: someone else had changed it before this run did
        self._checked: set[str] = set()  # resources checked before this run's first change of them

    def refusal(self, finding: StepFinding) -> str | None:
        """Why the step about ``finding`` must not run (its resource changed since the scan), or None.

        StepFailed when the resource cannot be read."""
        if self.allowed:
            return None
        key = resource_key(finding.resource_id)
        if key in self._tainted:
            return self._tainted[key]
        why = self._check(finding, rule_may_pass=True)
        if why is None:
            self._checked.add(key)
        return why

    def before_change(self, resource_id: str) -> None:
        """Called before this run writes ``resource_id``: when a step of the plan is about it, it must be unchanged
        then, or the state the plan's change leaves is not trusted for that step."""
        key = resource_key(resource_id)
        finding = self._findings.get(key)
        if self.allowed or finding is None or key in self._checked:
            return
        self._checked.add(key)
        try:
            why = self._check(finding, rule_may_pass=False)
        except StepFailed as exc:
            why = f"{finding.resource_id} could not be read before this run changed it ({exc})"
        if why is not None:
            self._tainted[key] = why

    def wants_state(self, resource_id: str) -> bool:
        """Whether the state ``resource_id`` is in after a change of this run should be read and journaled."""
        key = resource_key(resource_id)
        return not self.allowed and key in self._findings and key not in self._tainted

    def record_state(self, resource_id: str) -> Fingerprint | None:
        """Read the resource a step of this run changed and trust its state for the plan's later steps."""
        finding = self._findings[resource_key(resource_id)]
        live = self._providers.connection(finding.provider).read(finding.resource_type, finding.resource_id,
                                                                 account=finding.account, region=finding.region)
        if live is None:
            return None
        state = fingerprint(live)
        self._trusted.setdefault(resource_key(resource_id), []).append(state)
        return state

    def _check(self, finding: StepFinding, *, rule_may_pass: bool) -> str | None:
        rid = finding.resource_id
        if finding.fingerprint is None:
            return (f"the plan records no fingerprint of {rid} (its findings file predates them): re-scan and re-plan, "
                    "or apply with --allow-drift")
        live = self._providers.connection(finding.provider).read(finding.resource_type, rid, account=finding.account,
                                                                 region=finding.region)
        if live is None:
            return f"{rid} no longer exists"
        state = fingerprint(live)
        changed = state.changed_since(finding.fingerprint)
        if changed is None or any(state.changed_since(t) is None for t in self._trusted.get(resource_key(rid), ())):
            return None
        if rule_may_pass and self._passes(finding.rule_id, live):
            return None
        what = ", ".join(changed) if changed else "its ETag only: a change in what the scan does not keep"
        return (f"{rid} changed since the scan (top-level keys: {what}): the plan was reviewed for the resource as "
                "the scan read it; re-scan and re-plan, or apply with --allow-drift")
