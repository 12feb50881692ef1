"""IAM execution roles of SageMaker models, with their attached and inline policies.

A role is read once however many models use it (GetRole, ListAttachedRolePolicies and
ListRolePolicies start together); a managed policy is read once (GetPolicy, then
GetPolicyVersion of its default version) however many roles attach it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import unquote

from auditor.model import Resource
from auditor.providers.aws import resource_types as declared
from auditor.providers.aws.session import AwsCallError, AwsClients, Failure, arn_parts, call, pages
from auditor.providers.declared import ids
from auditor.providers.pool import TaskPool
from auditor.redaction import redact_document, redact_tags

ROLE = declared.ROLE.id
RESOURCE_TYPES: tuple[str, ...] = ids(declared.TYPES, "iam")
LANE = ("iam", "global")


@dataclass
class _Policy:
    arn: str
    policy: dict[str, Any] | None = None
    document: Any = None
    failure: Failure | None = None


@dataclass
class _Role:
    arn: str
    name: str
    models: set[str] = field(default_factory=set)
    role: dict[str, Any] | None = None
    missing: bool = False
    failure: Failure | None = None
    attached: list[dict[str, Any]] | None = None
    attached_failure: Failure | None = None
    inline_names: list[str] | None = None
    inline_failure: Failure | None = None
    inline: dict[str, Any] = field(default_factory=dict)
    inline_failures: list[Failure] = field(default_factory=list)
    foreign: str | None = None  # set when the role belongs to another account


def decode_policy(document: Any) -> Any:
    """IAM returns policy documents URL-encoded; botocore usually decodes them already."""
    if isinstance(document, str):
        try:
            return json.loads(unquote(document))
        except ValueError:
            return document
    return document


class IamCollector:
    def __init__(self, clients: AwsClients, pool: TaskPool, account: str, region: str) -> None:
        self._clients = clients
        self._pool = pool
        self._account = account
        self._region = region  # IAM is global; the client still needs a region of the partition
        self._lock = threading.Lock()
        self._roles: dict[str, _Role] = {}
        self._policies: dict[str, _Policy] = {}

    @property
    def _client(self) -> Any:  # evaluated inside each task's try: creation errors are AwsCallError
        return self._clients.get("iam", self._region)

    def request_role(self, role_arn: str, model_arn: str) -> None:
        """Collect ``role_arn`` (once) and remember that ``model_arn`` runs as it."""
        with self._lock:
            role = self._roles.get(role_arn)
            if role is not None:
                role.models.add(model_arn)
                return
            parts = arn_parts(role_arn)
            name = parts[5].rsplit("/", 1)[-1] if parts else role_arn
            role = self._roles[role_arn] = _Role(arn=role_arn, name=name, models={model_arn})
            if parts is None or parts[4] != self._account:
                owner = parts[4] if parts else "unknown"
                role.foreign = (f"role belongs to account {owner}, outside the scanned account "
                                f"{self._account}; its policies cannot be read from here")
                return
        self._pool.submit_many(LANE, [partial(self._get_role, role), partial(self._list_attached, role),
                                      partial(self._list_inline, role)])

    def _get_role(self, role: _Role) -> None:
        try:
            role.role = call(self._client, "get_role", RoleName=role.name)["Role"]
        except AwsCallError as exc:
            if exc.failure.kind == "not_found":
                role.missing = True
            else:
                role.failure = exc.failure

    def _list_attached(self, role: _Role) -> None:
        attached: list[dict[str, Any]] = []
        try:
            for page in pages(self._client, "list_attached_role_policies", RoleName=role.name):
                attached.extend(page.get("AttachedPolicies", []))
        except AwsCallError as exc:
            role.attached_failure = exc.failure
            return
        role.attached = attached
        new: list[_Policy] = []
        with self._lock:
            for entry in attached:
                arn = str(entry["PolicyArn"])
                if arn not in self._policies:
                    self._policies[arn] = policy = _Policy(arn=arn)
                    new.append(policy)
        self._pool.submit_many(LANE, [partial(self._get_policy, policy) for policy in new])

    def _get_policy(self, policy: _Policy) -> None:
        try:
            policy.policy = call(self._client, "get_policy", PolicyArn=policy.arn)["Policy"]
            version = call(self._client, "get_policy_version", PolicyArn=policy.arn,
                           VersionId=policy.policy["DefaultVersionId"])
            policy.document = decode_policy(version["PolicyVersion"].get("Document"))
        except AwsCallError as exc:
            policy.failure = exc.failure

    def _list_inline(self, role: _Role) -> None:
        names: list[str] = []
        try:
            for page in pages(self._client, "list_role_policies", RoleName=role.name):
                names.extend(str(n) for n in page.get("PolicyNames", []))
        except AwsCallError as exc:
            role.inline_failure = exc.failure
            return
        role.inline_names = names
        self._pool.submit_many(LANE, [partial(self._get_inline, role, name) for name in names])

    def _get_inline(self, role: _Role, name: str) -> None:
        try:
            response = call(self._client, "get_role_policy", RoleName=role.name, PolicyName=name)
        except AwsCallError as exc:
            if exc.failure.kind != "not_found":  # deleted since it was listed: nothing to report
                with self._lock:
                    role.inline_failures.append(exc.failure)
            return
        role.inline[name] = decode_policy(response.get("PolicyDocument"))

    # --- results (after the pool has drained) --------------------------------------------------

    def link(self, role_arn: str) -> tuple[str | None, str | None]:
        """A model's ``related.execution_role``: the role ARN, or None when the role no longer exists."""
        role = self._roles.get(role_arn)
        if role is None:
            return role_arn, "execution role was not collected"
        return (None, None) if role.missing else (role_arn, None)

    def resources(self) -> list[Resource]:
        return [self._resource(role) for role in self._roles.values() if not role.missing]

    def _resource(self, role: _Role) -> Resource:
        parts = arn_parts(role.arn)
        account = parts[4] if parts else self._account
        related = {"models": sorted(role.models)}
        unreadable: dict[str, str] = {}
        document: dict[str, Any] = {}
        if role.foreign or role.role is None:
            reason = role.foreign or (role.failure.reason if role.failure else "not read")
            return Resource(id=role.arn, type=ROLE, provider="aws", account=account, region="global",
                            name=role.name, document={}, related=related, unreadable={"*": reason})
        document["Role"] = role.role
        tags = redact_tags({str(t["Key"]): str(t.get("Value", "")) for t in role.role.get("Tags", []) or []})

        attached: list[dict[str, Any]] = []
        policy_failures: list[str] = []
        for entry in role.attached or []:
            policy = self._policies[str(entry["PolicyArn"])]
            if policy.failure:
                policy_failures.append(f"{policy.arn}: {policy.failure.reason}")
            attached.append({
                "PolicyName": entry.get("PolicyName"),
                "PolicyArn": policy.arn,
                "DefaultVersionId": policy.policy.get("DefaultVersionId") if policy.policy else None,
                "Document": policy.document,
            })
        document["AttachedPolicies"] = attached
        if role.attached_failure:
            unreadable["AttachedPolicies"] = role.attached_failure.reason
        elif policy_failures:
            unreadable["AttachedPolicies"] = "; ".join(policy_failures)

        names = role.inline_names or []
        document["InlinePolicies"] = [{"PolicyName": n, "PolicyDocument": role.inline[n]}
                                      for n in names if n in role.inline]
        if role.inline_failure:
            unreadable["InlinePolicies"] = role.inline_failure.reason
        elif role.inline_failures:
            unreadable["InlinePolicies"] = "; ".join(dict.fromkeys(f.reason for f in role.inline_failures))
        return Resource(id=role.arn, type=ROLE, provider="aws", account=account, region="global",
                        name=role.role.get("RoleName", role.name), document=redact_document(document), related=related,
                        tags=tags, unreadable=unreadable)
