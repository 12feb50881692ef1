"""Azure AI Services and Azure OpenAI: ``Microsoft.CognitiveServices`` accounts, their deployments and content filters.

SDK decision: azure-mgmt-cognitiveservices would be one more SDK for three GETs, and its models rename the
fields the rules read (``disable_local_auth``, ``rai_policy_name``). As for Machine Learning and API Management,
every document is the raw Resource Manager JSON, read through the scan's shared ARM pipeline
(:meth:`AzureClients.list_pages`: the scan's token, retries and connection pool) at the pinned api-version
2025-06-01 (the newest stable version with complete official examples, stored in ``auditor/demo/arm_fixtures``),
following every ``nextLink``. Nothing calls ``listKeys`` or ``regenerateKey``: the scan needs read actions only.

Which accounts are audited: every account of a subscription is listed and kept (``azure.ai.account``), so
the inventory shows all of them, but only the kinds that serve models a caller deploys and prompts are
audited (:data:`MODEL_KINDS`: ``OpenAI`` and ``AIServices``, the kinds with ``deployments`` and content
filter policies); the rules of an account of any other kind (Face, TextAnalytics, SpeechServices,
FormRecognizer, ...) are NOT_APPLICABLE with the kind named, and no deployments or policies are read for
it. ``related.serves_models`` says which.

Reads, per subscription, ``providers/Microsoft.CognitiveServices/accounts``; per model-serving account its
``deployments`` and ``raiPolicies`` (each read once, however many deployments name a policy), and the role
assignments of its managed identities (:class:`~auditor.providers.azure.roles.RoleCollector`, shared with the
online endpoints: a principal is listed once per subscription). Every document passes through the shared
redaction policy (:mod:`auditor.redaction`) as its page arrives.

``related`` of an account::

    {"serves_models": bool, "principal_ids": [...], "role_assignments": [...], "deployments": [ids]}

(only ``serves_models`` and an empty ``deployments`` for an account of another kind).

``related`` of a deployment::

    {"account": ACCOUNT_ID, "rai_policy": {"name", "basePolicyName", "mode", "contentFilters"} or None}

``rai_policy`` is None when the named policy is not among the account's policies (a built-in default
policy is judged by name: :data:`BUILTIN_POLICIES`). Errors are data: a failed accounts list errors the
subscription's ``ai-accounts`` row; a failed deployments or policies list errors the account's
``ai-account-children`` row, and a failed policies list is also ``unreadable["related.rai_policy"]`` on each
deployment of the account (its content filter finding is ERROR unless it names a built-in policy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from auditor.model import CoverageRow, Resource
from auditor.providers.azure import resource_types as declared
from auditor.providers.azure.arm import add_first_seen, one_line, resource_name
from auditor.providers.azure.ml_endpoints import endpoint_principals, identity_assignments
from auditor.providers.azure.roles import RoleCollector
from auditor.providers.azure.session import AzureClients
from auditor.providers.azure.subscription_scan import Listing, Page, Parent, SubscriptionScan
from auditor.providers.pool import TaskPool

NAMESPACE = declared.AI
API_VERSION = "2025-06-01"
ACCOUNT = declared.AI_ACCOUNT.id
DEPLOYMENT = declared.AI_DEPLOYMENT.id
ACCOUNTS_SERVICE = declared.AI_ACCOUNTS_SERVICE
CHILDREN_SERVICE = declared.AI_CHILDREN_SERVICE
RESOURCE_TYPES: tuple[str, ...] = (ACCOUNT, DEPLOYMENT)

# The account kinds that serve models a caller deploys and prompts (they have deployments and content filter
# policies). Compared without case. Other kinds are inventoried, and their rules are NOT_APPLICABLE.
MODEL_KINDS: frozenset[str] = frozenset({"openai", "aiservices"})
# Microsoft's built-in content filter policies: both filter hate, sexual, violence and self-harm at medium
# severity, blocking, on prompts and completions. ``Microsoft.Nil`` (no filtering, for approved customers) is
# built in too, and filters nothing.
BUILTIN_POLICIES: frozenset[str] = frozenset({"microsoft.default", "microsoft.defaultv2"})
NO_FILTER_POLICIES: frozenset[str] = frozenset({"microsoft.nil"})


def serves_models(document: Mapping[str, Any]) -> bool:
    return str(document.get("kind") or "").lower() in MODEL_KINDS


def policy_summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """What a deployment's ``related.rai_policy`` keeps of a policy: its name, base, mode and filters."""
    raw = document.get("properties")
    properties: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    filters = properties.get("contentFilters")
    return {"name": str(document.get("name") or ""), "basePolicyName": properties.get("basePolicyName"),
            "mode": properties.get("mode"),
            "contentFilters": [dict(f) for f in filters if isinstance(f, Mapping)] if isinstance(filters, list)
            else None}


@dataclass
class _Account(Parent):
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-cased name -> redacted document
    policy_failure: str | None = None


def _account_of(resource: Resource) -> str | None:
    return str(resource.related.get("account") or "") if resource.type == DEPLOYMENT else None


_LISTING = Listing(
    lane="azure-ai", collection=f"{NAMESPACE}/accounts", what="AI Services accounts", parent_type=ACCOUNT,
    service=ACCOUNTS_SERVICE, resource_types=RESOURCE_TYPES,
    unknown="the deployments and content filters of its accounts are not known either",
    children_service=CHILDREN_SERVICE, child_types=(DEPLOYMENT,), parent_of=_account_of)


class AiSubscription:
    """The Azure AI Services / Azure OpenAI estate of one subscription, collected on the scan's pool."""

    def __init__(self, subscription: str, clients: AzureClients, pool: TaskPool, roles: RoleCollector) -> None:
        self.clients = clients
        self.roles = roles
        self.scan: SubscriptionScan[_Account] = SubscriptionScan(
            subscription, pool, _LISTING, lambda path, operation: clients.list_pages(path, API_VERSION, operation),
            _Account)
        self.subscription, self.pool, self.lane = subscription, pool, self.scan.lane

    @property
    def failure(self) -> str | None:
        return self.scan.failure

    def start(self) -> None:
        self.scan.start(self._account_tasks)

    def _account_tasks(self, account: _Account) -> list[Callable[[], None]]:
        """A model-serving account's identities' role assignments are requested, and its two lists queued."""
        if not serves_models(account.document):
            return []
        principals, _missing = endpoint_principals(account.document)
        for principal in principals:
            self.roles.request(self.subscription, principal, self.lane)
        return [partial(self._list_deployments, account), partial(self._list_policies, account)]

    def _list_deployments(self, account: _Account) -> None:
        path = f"{account.id}/deployments"

        def on_page(page: Page) -> None:
            with self.scan.lock:
                add_first_seen(account.deployments, page, path, lambda rid, doc: doc)

        reason = self.scan.read_list(path, f"list deployments of AI Services account {account.name}", on_page)
        if reason:
            with self.scan.lock:
                account.failures.append(f"deployments list failed: {reason}")

    def _list_policies(self, account: _Account) -> None:
        path = f"{account.id}/raiPolicies"

        def on_page(page: Page) -> None:
            with self.scan.lock:
                for _, doc in add_first_seen({}, page, path, lambda rid, doc: doc):
                    account.policies.setdefault(resource_name(doc, str(doc["id"])).lower(), doc)

        reason = self.scan.read_list(path, f"list content filter policies of AI Services account {account.name}",
                                     on_page)
        if reason:
            with self.scan.lock:
                account.policy_failure = f"content filter policies list failed: {reason}"
                account.failures.append(account.policy_failure)

    # --- results (after the pool has drained) --------------------------------------------------------

    def _resource(self, resource_type: str, doc: Mapping[str, Any], region: str, related: Mapping[str, Any],
                  unreadable: Mapping[str, str] | None = None) -> Resource:
        return self.scan.resource(resource_type, dict(doc), region, related, unreadable)  # redacted by with_id

    def _account_resources(self, account: _Account) -> list[Resource]:
        if not serves_models(account.document):
            return [self._resource(ACCOUNT, account.document, account.location,
                                   {"serves_models": False, "deployments": []})]
        related, unreadable = account_related(
            account.document, lambda principal: self.roles.assignments(self.subscription, principal))
        related["deployments"] = sorted(str(d["id"]) for d in account.deployments.values())
        listing = [f for f in account.failures if f != account.policy_failure]
        if listing:
            unreadable["related.deployments"] = one_line("; ".join(listing))
        out = [self._resource(ACCOUNT, account.document, account.location, related, unreadable)]
        for doc in account.deployments.values():
            deployment_unreadable: dict[str, str] = {}
            policy: dict[str, Any] | None = None
            if account.policy_failure:
                deployment_unreadable["related.rai_policy"] = account.policy_failure
            else:
                found = account.policies.get(str(_properties(doc).get("raiPolicyName") or "").lower())
                policy = policy_summary(found) if found is not None else None
            out.append(self._resource(DEPLOYMENT, doc, account.location,
                                      {"account": account.id, "rai_policy": policy}, deployment_unreadable))
        return out

    def resources(self) -> list[Resource]:
        return [r for account in self.scan.parents.values() for r in self._account_resources(account)]

    def coverage(self, resources: Iterable[Resource]) -> list[CoverageRow]:
        """The subscription's accounts row and one children row per model-serving account."""
        return self.scan.coverage(resources, lambda account: serves_models(account.document))


def _properties(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = doc.get("properties")
    return properties if isinstance(properties, Mapping) else {}


def account_related(document: Mapping[str, Any], assignments_of: Callable[[str], tuple[list[dict[str, Any]],
                                                                                       str | None]]
                    ) -> tuple[dict[str, Any], dict[str, str]]:
    """``related`` (without ``deployments``) and ``unreadable`` of a model-serving account: its identities' role
    assignments, joined as for an online endpoint (the same identity parsing and the same role collector)."""
    principals, assignments, unread = identity_assignments(document, assignments_of)
    related: dict[str, Any] = {"serves_models": True, "principal_ids": principals, "role_assignments": assignments}
    return related, {"related.role_assignments": unread} if unread else {}
