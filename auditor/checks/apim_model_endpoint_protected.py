"""azure.apim.api.model_endpoint_protected.

Reads what the API Management collector and ``link_gateways`` derive for an API: ``related.fronts``
(the model endpoints its serviceUrl, policy backends and base-urls reach), ``related.policy`` (its
effective policy) and ``related.products``. Protected means ``properties.subscriptionRequired`` is true,
or the effective policy validates a token (``validate-jwt`` / ``validate-azure-ad-token`` in the
inbound section, not only inside ``<choose>``). A rate limit alone protects nothing, and the
endpoint's own authentication does not count: the gateway may hold its key.

With ``open_product_bypasses_subscription`` (default true), a subscription requirement does not
count while the API belongs to a published product with ``subscriptionRequired`` false: API
Management lets calls without a key in through such an open product.

An API that fronts no model endpoint is NOT_APPLICABLE (the check says so; an applies_when condition
could not, because a partly known ``fronts`` with an unreadable policy must still be decided when the
API requires a subscription key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict


def _unreadable(resource: Resource, key: str, what: str) -> MissingData:
    return MissingData(f"{what} could not be read: {resource.unreadable[key]}")


def _describe(front: Mapping[str, Any]) -> str:
    name = front.get("id") or f"{front.get('name') or 'an endpoint'} at {front.get('host')}"
    return f"{name} (via {front.get('via')})"


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    if "*" in resource.unreadable:
        raise _unreadable(resource, "*", "the API")
    fronts = resource.related.get("fronts")
    if not fronts and "related.fronts" in resource.unreadable:
        raise _unreadable(resource, "related.fronts", "where the API routes requests")
    if fronts is None:
        raise MissingData("the gateway-to-endpoint links were not computed (link_gateways did not run)")
    if not fronts:
        return Verdict(False, "The API fronts no model endpoint.", {"fronts": []}, applicable=False)

    properties = resource.document.get("properties")
    subscription = properties.get("subscriptionRequired") if isinstance(properties, Mapping) else None
    policy = resource.related.get("policy")
    open_products = [p.get("id") for p in resource.related.get("products", [])
                     if p.get("subscriptionRequired") is False and str(p.get("state") or "published") == "published"]
    evidence: dict[str, Any] = {
        "fronts": [dict(f) for f in fronts],
        "subscriptionRequired": subscription,
        "open_products": open_products,
    }
    if isinstance(policy, Mapping):
        evidence.update(token_policies=list(policy.get("token_policies", [])),
                        validates_token=policy.get("validates_token"), rate_limited=policy.get("rate_limited"),
                        policy_source=policy.get("source"))
    reachable = "; ".join(_describe(f) for f in fronts)

    if isinstance(policy, Mapping) and policy.get("validates_token") is True:
        evidence["protection"] = "token validation"
        return Verdict(True, f"Fronts {reachable}, protected by token validation.", evidence)
    bypass = bool(params.get("open_product_bypasses_subscription", True))
    if subscription is True and (not bypass or not open_products):
        if bypass and "related.products" in resource.unreadable:
            raise _unreadable(resource, "related.products", "the products that could open the API")
        evidence["protection"] = "subscription key"
        return Verdict(True, f"Fronts {reachable}, protected by a subscription key.", evidence)
    if "related.policy" in resource.unreadable:
        raise _unreadable(resource, "related.policy", "the API's effective policy")
    if not isinstance(policy, Mapping):
        raise MissingData("the API's effective policy was not collected")
    if policy.get("fragments"):
        raise MissingData(f"the policy includes fragments that were not read ({', '.join(policy['fragments'])}); "
                          "one of them may validate tokens")
    if subscription is None:
        raise MissingData("properties.subscriptionRequired is missing from the API document")

    evidence["protection"] = "none"
    gaps = []
    if subscription is True:
        gaps.append(f"its subscription key is bypassed by open product(s) {', '.join(map(str, open_products))}")
    else:
        gaps.append("no subscription key is required")
    conditional = [t for t in policy.get("token_policies", []) if t.get("section") == "inbound"]
    gaps.append("token validation is only conditional" if conditional else "no token is validated")
    if policy.get("rate_limited"):
        gaps.append("a rate limit alone protects nothing")
    return Verdict(False, f"It reaches {reachable}: {'; '.join(gaps)}.", evidence)


CHECK = check
