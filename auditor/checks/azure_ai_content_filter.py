"""azure.ai.deployment.content_filter.

Reads the deployment's ``properties.raiPolicyName`` and ``related.rai_policy``, the policy of that name the
collector found among the account's ``raiPolicies`` (None when it is not there; ``unreadable`` when the list
failed). Passes when the policy blocks every category of ``params.categories`` on every source of
``params.sources``:

* a built-in default policy (``Microsoft.Default``, ``Microsoft.DefaultV2``) does, by its documented definition;
* ``Microsoft.Nil`` (no filtering) does not; no policy named does not;
* a custom policy does when, for each (category, source), its filter is enabled and blocking; a filter the
  policy does not list is inherited from its ``basePolicyName`` when that is a built-in default, and is
  missing (FAIL) otherwise. Category names are compared without case, spaces, dashes or underscores
  (``Selfharm`` / ``Self-harm``).

A named custom policy the account does not have, or a policy list that could not be read, is ERROR.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict

BUILTIN_DEFAULTS = frozenset({"microsoft.default", "microsoft.defaultv2"})
NO_FILTER = frozenset({"microsoft.nil"})


def _norm(text: Any) -> str:
    return "".join(ch for ch in str(text or "").lower() if ch.isalnum())


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    if "*" in resource.unreadable:
        raise MissingData(f"the deployment could not be read: {resource.unreadable['*']}")
    properties = resource.document.get("properties")
    name = properties.get("raiPolicyName") if isinstance(properties, Mapping) else None
    categories = [str(c) for c in params["categories"]]
    sources = [str(s) for s in params["sources"]]
    evidence: dict[str, Any] = {"raiPolicyName": name}
    if not name:
        return Verdict(False, "it names no content filter policy (raiPolicyName), so the filtering is whatever "
                              "the service applies by default.", evidence)
    key = str(name).lower()
    if key in BUILTIN_DEFAULTS:
        evidence["policy"] = "built-in default"
        return Verdict(True, f"{name} is a built-in default policy.", evidence)
    if key in NO_FILTER:
        evidence["policy"] = "built-in, no filtering"
        return Verdict(False, f"{name} is the built-in policy that filters nothing.", evidence)
    if "related.rai_policy" in resource.unreadable:
        raise MissingData(f"the content filter policy {name} could not be read: "
                          f"{resource.unreadable['related.rai_policy']}")
    policy = resource.related.get("rai_policy")
    if not isinstance(policy, Mapping):
        raise MissingData(f"the content filter policy {name} is not among the account's policies")
    filters = policy.get("contentFilters")
    if not isinstance(filters, list):
        raise MissingData(f"the content filter policy {name} lists no contentFilters")
    base = policy.get("basePolicyName")
    inherits = str(base or "").lower() in BUILTIN_DEFAULTS
    listed = {(_norm(f.get("name")), _norm(f.get("source"))): f for f in filters if isinstance(f, Mapping)}
    gaps: list[str] = []
    inherited: list[str] = []
    for category in categories:
        for source in sources:
            found = listed.get((_norm(category), _norm(source)))
            if found is None:
                if inherits:
                    inherited.append(f"{category}/{source}")
                else:
                    gaps.append(f"{category} on {source.lower()}s is not filtered (not listed, and base policy "
                                f"{base or 'none'} is not a built-in default)")
            elif found.get("enabled") is not True:
                gaps.append(f"{category} on {source.lower()}s is turned off")
            elif found.get("blocking") is not True:
                gaps.append(f"{category} on {source.lower()}s is annotated, not blocked")
    evidence.update(policy="custom", basePolicyName=base, mode=policy.get("mode"),
                    filters=[{k: f.get(k) for k in ("name", "source", "enabled", "blocking", "severityThreshold")}
                             for f in filters if isinstance(f, Mapping) and _norm(f.get("name")) in
                             {_norm(c) for c in categories}])
    if inherited:
        evidence["inherited_from_base"] = inherited
    if gaps:
        evidence["gaps"] = gaps
        return Verdict(False, f"policy {name}: " + "; ".join(gaps) + ".", evidence)
    return Verdict(True, f"custom policy {name} blocks them all.", evidence)


CHECK = check
