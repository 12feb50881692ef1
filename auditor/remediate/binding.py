"""What a plan is bound to, checked before ``apply`` acts on it: the reviewed digest, the findings file, the scopes.

A plan file read back is untrusted input. Before any resource is read, ``apply`` checks:

* the plan file's SHA-256 is the one the reviewer approved, when ``--plan-sha256`` names it
  (``plan`` prints the digest; ``apply`` always shows it);
* the findings file the plan names (``source.file``, or ``--findings``) is there and has the SHA-256
  the plan recorded (``source.sha256``), and the scan's scopes are the plan's ``source.scopes``;
* every step is derivable from a FAIL finding of that file: the finding is there, as the plan
  records it, of a rule the plan's selection covers, and re-planning it with the plan's selection
  gives the same step id, remediator, mode and inputs.

Any of these failing is a bad plan file (ConfigError, exit 3) and nothing is applied. A step whose
finding lies outside the scan's scopes (a key in another account that a scanned endpoint config
references, say) is genuine but not the scan's to fix: ``apply`` refuses that step (:func:`outside_scopes`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import ConfigError
from auditor.model import Finding, Rule, ScanResult, Status
from auditor.remediate.model import Plan, PlanStep, StepFinding, same_json

if TYPE_CHECKING:
    from auditor.remediate.params import PlanParams

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class PlanBinding:
    """A plan that passed :func:`bind_plan`, and what it is bound to (recorded in the journal's ``run-started``)."""

    plan_file: Path
    plan_sha256: str
    findings_file: Path
    findings_sha256: str
    scopes: tuple[str, ...]


def normalise_digest(text: str, option: str) -> str:
    """A SHA-256 as 64 lower-case hex digits (an optional ``sha256:`` prefix is dropped); ConfigError otherwise."""
    digest = text.strip().lower().removeprefix("sha256:")
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise ConfigError(f"'{text[:80]}' is not a SHA-256 (64 hex digits)", field=option)
    return digest


def bind_plan(plan: Plan, plan_file: Path, plan_sha256: str, *, findings_file: Path | None = None,
              approved_sha256: str | None = None, catalog: Mapping[str, Rule] | None = None) -> PlanBinding:
    """Check ``plan`` (read from ``plan_file``, whose digest is ``plan_sha256``) against its source; ConfigError."""
    source = str(plan_file)
    if approved_sha256 is not None and normalise_digest(approved_sha256, "--plan-sha256") != plan_sha256:
        raise ConfigError(f"the plan file's SHA-256 is {plan_sha256}, not the approved "
                          f"{normalise_digest(approved_sha256, '--plan-sha256')}: this is not the plan that was "
                          "reviewed; nothing was applied", file=source, field="--plan-sha256")
    text = _plan_text(plan_file, plan_sha256)
    found, findings_sha256, result = _findings(plan, plan_file, text, findings_file)
    recorded_scopes = [str(s) for s in plan.source.get("scopes", [])]
    if recorded_scopes != list(result.scopes):
        raise ConfigError(f"the plan records the scopes {recorded_scopes}, its findings file {found} was scanned "
                          f"over {list(result.scopes)}: an edited plan; re-plan", file=source,
                          line=_line(text, ["source", "scopes"]), field="$.source.scopes")
    if catalog is None:
        from auditor.catalog import load_catalog

        catalog = load_catalog()
    _check_steps(plan, text, source, found, result, catalog)
    return PlanBinding(plan_file, plan_sha256, found, findings_sha256, tuple(result.scopes))


def outside_scopes(finding: StepFinding, scopes: Sequence[str]) -> str | None:
    """Why the finding's resource is not in ``scopes`` (a findings file's ``scan.scopes``), or None when it is.

    Azure: the resource id is under ``/subscriptions/ACCOUNT/`` and ``azure:ACCOUNT`` was scanned.
    AWS: the ARN's account (when it has one) is the finding's, that account was scanned, and the
    ARN's region (when it has one) was scanned in it.
    """
    lowered = [s.lower() for s in scopes]
    account, resource = finding.account, finding.resource_id
    if finding.provider == "azure":
        subscription = account.lower()
        if not resource.lower().startswith(f"/subscriptions/{subscription}/"):
            return f"{resource} is not in subscription {account}"
        if f"azure:{subscription}" not in lowered and "azure:*" not in lowered:
            return f"subscription {account} is not one the scan covered ({', '.join(scopes) or 'none'})"
        return None
    if finding.provider == "aws":
        parts = resource.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn":
            return f"{resource} is not an ARN"
        if parts[4] and parts[4] != account:
            return f"{resource} belongs to account {parts[4]}, not {account}"
        regions = {s.split(":", 2)[2] for s in lowered if s.startswith((f"aws:{account}:", "aws:*:"))}
        if not regions:
            return f"account {account} is not one the scan covered ({', '.join(scopes) or 'none'})"
        if parts[3] and parts[3] not in regions and "*" not in regions:
            return f"region {parts[3]} of account {account} is not one the scan covered"
        return None
    return f"provider '{finding.provider}' is unknown"


def _plan_text(plan_file: Path, plan_sha256: str) -> str:
    try:
        raw = plan_file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the plan file: {exc.strerror or exc}", file=str(plan_file)) from exc
    if hashlib.sha256(raw).hexdigest() != plan_sha256:
        raise ConfigError("the plan file changed while it was being read", file=str(plan_file))
    return raw.decode("utf-8", errors="replace")


def _findings(plan: Plan, plan_file: Path, text: str, given: Path | None) -> tuple[Path, str, ScanResult]:
    """The findings file the plan was computed from: ``given``, else ``source.file`` (as given to ``plan``,
    then beside the plan), whichever has the recorded SHA-256."""
    from auditor.findings.document import from_document

    recorded, expected = str(plan.source.get("file", "")), str(plan.source.get("sha256", ""))
    candidates = [given] if given is not None else _candidates(recorded, plan_file)
    tried: list[str] = []
    for candidate in candidates:
        try:
            data = candidate.read_bytes()
        except OSError as exc:
            tried.append(f"{candidate} ({exc.strerror or exc})")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            tried.append(f"{candidate} (SHA-256 {digest})")
            continue
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"not a findings file: {exc}", file=str(candidate)) from exc
        if not isinstance(document, dict):
            raise ConfigError("a findings file is a JSON object", file=str(candidate), field="$")
        return candidate, digest, from_document(document, str(candidate))
    where = "; ".join(tried)
    raise ConfigError(f"the plan was computed from a findings file with SHA-256 {expected}, and no such file was "
                      f"found (tried {where}): apply checks every step against the scan it came from; pass that "
                      "file with --findings", file=str(plan_file), line=_line(text, ["source", "sha256"]),
                      field="$.source.sha256")


def _candidates(recorded: str, plan_file: Path) -> list[Path]:
    path = Path(recorded)
    if path.is_absolute():
        return [path]
    beside = plan_file.parent / path
    return [path] if beside.resolve() == path.resolve() else [path, beside]


def _check_steps(plan: Plan, text: str, source: str, findings_file: Path, result: ScanResult,
                 catalog: Mapping[str, Rule]) -> None:
    from auditor.remediate.params import parse_params

    selection = plan.selection
    rules = [str(r) for r in selection.get("rules", [])]
    pairs = [f"{name}={value}" for name, values in dict(selection.get("params", {})).items() for value in values]
    try:
        params = parse_params(pairs, rules)
    except ConfigError as exc:
        raise ConfigError(f"the plan's selection is not one plan accepts: {exc}", file=source,
                          line=_line(text, ["selection", "params"]), field="$.selection.params") from exc
    fails = {f.id: f for f in result.findings if f.status is Status.FAIL}
    for index, step in enumerate(plan.steps):
        problem = _step_problem(step, fails.get(step.finding.id), findings_file, result, rules, params, catalog)
        if problem is not None:
            message, path = problem
            where: list[str | int] = ["steps", index, *path]
            raise ConfigError(f"step {step.id} ({step.finding.rule_id} on {step.finding.resource_id}): {message}; "
                              "nothing was applied", file=source, line=_line(text, where), field=_json_path(where))


def _step_problem(step: PlanStep, finding: Finding | None, findings_file: Path, result: ScanResult,
                  rules: Sequence[str], params: PlanParams,
                  catalog: Mapping[str, Rule]) -> tuple[str, list[str | int]] | None:
    """Why ``step`` is not derivable from ``finding`` (the FAIL finding of the same id), and where; or None."""
    from auditor.remediate.plan import plan_finding
    from auditor.remediate.planfile import redact_secrets

    if finding is None:
        return (f"its finding {step.finding.id} is not a FAIL finding of {findings_file}: the step was not derived "
                "from the scan the plan names", ["finding", "id"])
    recorded = redact_secrets(StepFinding.of(finding).to_json())
    written = step.finding.to_json()
    if not same_json(recorded, written):
        differing = sorted(k for k in recorded if not same_json(recorded[k], written.get(k))) or ["id"]
        return (f"its finding differs from FAIL finding {finding.id} of {findings_file} in {', '.join(differing)}: "
                "an edited plan", ["finding", differing[0]])
    if rules and finding.rule_id not in rules:
        return f"rule {finding.rule_id} is not in the plan's selection {list(rules)}", ["finding", "rule_id"]
    expected = plan_finding(finding, result.rules, params, catalog)
    for name in ("id", "remediator", "mode", "inputs"):
        if not same_json(_field(expected, name), _field(step, name)):
            return (f"its {name} is {json.dumps(_field(step, name), sort_keys=True)[:120]}, but planning that finding "
                    f"with the plan's selection gives {json.dumps(_field(expected, name), sort_keys=True)[:120]}",
                    [name])
    return None


def _field(step: PlanStep, name: str) -> Any:
    return step.to_json()[name]


def _json_path(parts: Sequence[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _line(text: str, path: list[str | int]) -> int | None:
    from auditor.remediate.planfile import line_of

    return line_of(text, path)
