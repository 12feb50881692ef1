"""Resource identity: when two resource ids name the same resource.

Resource Manager (Azure) compares ids, subscription ids and tag names without regard to case, and answers
with whatever case a resource was created or is stored with: the same endpoint can come back as
``.../resourceGroups/ML/...`` from one call and ``.../resourcegroups/ml/...`` from another. AWS compares
ARNs exactly (SageMaker lowercases the names in its ARNs itself; the auditor takes ARNs from its answers).

:data:`CASE_INSENSITIVE` is that rule, and :func:`resource_key` the one form every spelling of one resource
shares. Whatever asks "is this the same resource" forms its keys here: finding ids, the policy's scope,
waivers, the baseline comparison, findings.json's resource count, the report's endpoint rows and SARIF's
locations. Each provider's ``resource_key`` is this function; a test holds the registry to the table.
"""

from __future__ import annotations

import functools
import hashlib

# The providers whose resource ids (and account ids and tag names) compare without regard to case.
CASE_INSENSITIVE: frozenset[str] = frozenset({"azure"})


def folds_case(provider: str) -> bool:
    """Whether ``provider`` compares its resource ids, account ids and tag names case-insensitively."""
    return provider in CASE_INSENSITIVE


def resource_key(provider: str, resource_id: str) -> str:
    """The form every spelling of one resource's id shares: its lowercase form where case does not count.

    Globs (a waiver's ``resources``) are keyed the same way before they are matched against keys.
    """
    return resource_id.lower() if provider in CASE_INSENSITIVE else resource_id


@functools.lru_cache(maxsize=1 << 18)  # outputs ask for every finding's id several times
def finding_id(rule_id: str, provider: str, resource_id: str) -> str:
    """Stable across runs. Ids hash as their :func:`resource_key` (Azure's lower-cased).

    ``surrogatepass``: an id read from JSON may hold a lone surrogate; it must hash, not crash the scan.
    """
    rid = resource_key(provider, resource_id)
    return hashlib.sha256(f"{rule_id}\n{rid}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
