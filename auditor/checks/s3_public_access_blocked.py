"""aws.s3.bucket.public_access_blocked: all four settings on, at bucket or account level.

Each setting counts when either the bucket or the account turns it on (S3 applies the most
restrictive combination). A level that could not be read makes the verdict ERROR unless the
other level alone already turns all four settings on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict

SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
_ACCOUNT_KEY = "related.account_public_access_block"


def _on(config: Any, setting: str) -> bool:
    return isinstance(config, Mapping) and config.get(setting) is True


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    if "*" in resource.unreadable:
        raise MissingData(f"the bucket could not be read: {resource.unreadable['*']}")
    bucket_unreadable = resource.unreadable.get("PublicAccessBlockConfiguration")
    account_unreadable = resource.unreadable.get(_ACCOUNT_KEY)
    if not bucket_unreadable and "PublicAccessBlockConfiguration" not in resource.document:
        raise MissingData("the bucket's public access block was not collected")
    bucket = None if bucket_unreadable else resource.document.get("PublicAccessBlockConfiguration")
    account = None if account_unreadable else resource.related.get("account_public_access_block")
    evidence: dict[str, Any] = {
        "bucket": f"unreadable: {bucket_unreadable}" if bucket_unreadable else bucket,
        "account": f"unreadable: {account_unreadable}" if account_unreadable else account,
    }
    off = [s for s in SETTINGS if not (_on(bucket, s) or _on(account, s))]
    if not off:
        return Verdict(True, "", evidence)
    unread = [lvl for lvl, why in (("bucket", bucket_unreadable), ("account", account_unreadable)) if why]
    if unread:
        raise MissingData(f"{', '.join(off)} not on where readable, and the {' and '.join(unread)} level "
                          "could not be read")
    evidence["effective_off"] = off
    return Verdict(False, f"{', '.join(off)} off at both bucket and account level.", evidence)


CHECK = check
