"""What each finding says of an endpoint's posture, in a few words, for the endpoint inventory of report.html.

:mod:`auditor.outputs.html_endpoints` gathers the findings of an endpoint and of everything that serves
it; this module files each rule under one aspect of the inventory (auth, identity, encryption, data
capture, network, other) and words one line per rule: from the finding's evidence where the rule's own
keys say more than its verdict (an auth mode, a KMS key, a broad role: ``_from_evidence``, code), else from
the status, in the words of the rule's ``report:`` key (its file's; findings.json's ``rules`` carry it). A
rule without one (a custom rule that sets none) is filed under ``other`` and worded from its id, so no
finding of an endpoint's parts is ever left out of its row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditor.model import Status
from auditor.rule_parts import REPORT_ASPECTS, ReportWords

ASPECTS: tuple[str, ...] = REPORT_ASPECTS
OTHER = "other"
_PASS, _FAIL, _ERROR, _MUTED, _NA = (Status.PASS.value, Status.FAIL.value, Status.ERROR.value, Status.MUTED.value,
                                    Status.NOT_APPLICABLE.value)
# Worst first: the status a line (and a row) takes from its findings.
WORST: tuple[str, ...] = (_ERROR, _FAIL, _MUTED, _PASS, _NA)
_RANK = {status: i for i, status in enumerate(WORST)}


class Words:
    """The inventory's words for each rule: its ``report`` (a rule file's ``report:`` key, carried to the report by
    findings.json's ``rules``). A rule without one is filed under ``other``, after the rules that set an order,
    and worded from its id ("data capture: compliant")."""

    def __init__(self, rules: Mapping[str, Mapping[str, Any]]) -> None:
        self._report = {rule_id: ReportWords.from_json(doc["report"]) for rule_id, doc in rules.items()
                        if isinstance(doc.get("report"), Mapping)}

    def aspect_of(self, rule_id: str) -> str:
        known = self._report.get(rule_id)
        return known.aspect if known else OTHER

    def line_order(self, rule_id: str) -> tuple[int, int, str]:
        known = self._report.get(rule_id)
        order = known.order if known is not None else None
        return (0, order, rule_id) if order is not None else (1, 0, rule_id)

    def describe(self, rule_id: str, findings: Sequence[Mapping[str, Any]]) -> str:
        """One line for the findings of one rule over an endpoint's parts (one or several resources)."""
        if len(findings) == 1:
            return self._one(rule_id, findings[0])
        statuses = [f["status"] for f in findings]
        bad = worst(statuses)
        label = self._label(rule_id)
        known = self._report.get(rule_id)
        noun = (known.noun if known else "") or "resources"
        words = self._words(rule_id, bad)
        n = sum(1 for s in statuses if s == bad)
        where = f"{len(findings)} {noun}" if n == len(findings) else f"{n} of {len(findings)} {noun}"
        return f"{label}: {words} ({where})" if label else f"{words} ({where})"

    def _label(self, rule_id: str) -> str:
        known = self._report.get(rule_id)
        if known:
            return known.label
        return rule_id.rsplit(".", 1)[-1].replace("_", " ")

    def _words(self, rule_id: str, status: str) -> str:
        known = self._report.get(rule_id)
        passed, failed = (known.passed, known.failed) if known and (known.passed or known.failed) \
            else ("compliant", "non-compliant")
        if status == _PASS:
            return passed or "compliant"
        if status == _FAIL:
            return failed
        if status == _MUTED:
            return f"{failed} (waived)"
        if status == _ERROR:
            return "undecided (ERROR)"
        if status == _NA:
            return (known.not_applicable if known else "") or "not applicable"
        return status

    def _one(self, rule_id: str, f: Mapping[str, Any]) -> str:
        """A few words for one finding, from its evidence (the rule's own keys) and status."""
        ev: Mapping[str, Any] = f["evidence"]
        status: str = f["status"]
        special = None if status == _ERROR else _from_evidence(rule_id, status, ev, f)
        if special is not None:
            return special
        label = self._label(rule_id)
        words = self._words(rule_id, status)
        return f"{label}: {words}" if label else words


def worst(statuses: Sequence[str]) -> str:
    """The worst of ``statuses`` (ERROR before FAIL before MUTED ...); "" when there is none."""
    return min(statuses, key=_RANK.__getitem__) if statuses else ""


def _from_evidence(rule_id: str, status: str, ev: Mapping[str, Any], f: Mapping[str, Any]) -> str | None:
    if rule_id.endswith(".auth_mode") and isinstance(ev.get("properties.authMode"), str):
        return str(ev["properties.authMode"]) + (" (waived)" if status == _MUTED else "")
    if rule_id == "azure.ml.legacy_service.auth_enabled":
        if ev.get("properties.aadAuthEnabled") is True:
            return "token (Entra ID)"
        return "key" if ev.get("properties.authEnabled") is True else "none"
    if rule_id == "azure.ml.online_endpoint.identity_least_privilege":
        if status == _NA:
            return "no managed identity"
        broad = ev.get("broad_assignments")
        if isinstance(broad, list) and broad:
            return f"broad role: {broad[0]}" + (f" (+{len(broad) - 1})" if len(broad) > 1 else "")
        principals = ev.get("principal_ids")
        n = len(principals) if isinstance(principals, list) else 0
        return f"{n} identit{'y' if n == 1 else 'ies'}, no broad role"
    if rule_id == "aws.sagemaker.endpoint.data_capture_encrypted":
        key = ev.get("DataCaptureConfig.KmsKeyId")
        return f"capture KMS: {key}" if isinstance(key, str) and key else None
    if rule_id == "aws.sagemaker.endpoint_config.multi_instance" and status == _FAIL:
        count = ev.get("min((ProductionVariants && [ProductionVariants, not_null(ShadowProductionVariants, `[]`)][])"
                       "[?ServerlessConfig == null].InitialInstanceCount)")
        return f"instances: {count} in a variant" if isinstance(count, int) else None
    if rule_id.endswith(".public_network_access_disabled") and rule_id.startswith("azure.ml.online_endpoint"):
        value = ev.get("properties.publicNetworkAccess")
        return f"public access: {value}" if isinstance(value, str) else "public access: not set (enabled by default)"
    return None

