"""An account's setting in a plan, as the related value the collector reads for each resource of the account.

The S3 collector reads the account's public access block once (S3 Control ``GetPublicAccessBlock``) and gives
it to every bucket as ``related.account_public_access_block`` (null when the account has none). A mapping
entry with ``account_wide: {related: KEY}`` (``aws_s3_account_public_access_block``) does the same at plan
time: for each judged resource of the entry's ``resource_type`` planned through the same provider
configuration (Terraform's ``provider_config_key``, Pulumi's provider URN: the same account, as far as a plan
tells), ``related.KEY`` is the setting as it is once the plan is applied:

- created, updated, replaced or unchanged: its mapped document;
- deleted: null (the account then has none, and S3 answers as it does for an account without one);
- any of its values known only after apply: unreadable, saying so (the rules reading it answer ERROR unless
  the bucket alone decides);
- more than one such setting in the plan, or only through another provider configuration (maybe another
  account): unreadable, saying which.

When the plan holds no such setting the entry of the resource's own type says why (``related_outside``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.iac.mapping import TypeMapping, build
from auditor.iac.read import Planned
from auditor.planned import AFTER_APPLY_TEXT, AfterApply


@dataclass(frozen=True, slots=True)
class AccountSetting:
    """A related value an account's planned setting decides, or why the plan cannot tell it."""

    key: str
    value: Any = None
    unknown: str = ""


def _after_apply(value: Any, path: str = "") -> list[str]:
    if isinstance(value, AfterApply):
        return [path or "its value"]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _after_apply(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _after_apply(v, f"{path}[{i}]")]
    return []


def account_settings(resource_type: str, resource_provider: str,
                     settings: Sequence[tuple[Planned, TypeMapping, Mapping[str, Any]]]) -> list[AccountSetting]:
    """The related values of a judged resource of ``resource_type`` (planned through ``resource_provider``)
    that the plan's account settings (planned resource, its entry, its values) decide."""
    out: list[AccountSetting] = []
    keys = dict.fromkeys(m.account_wide for _p, m, _v in settings if m.resource_type == resource_type)
    for key in keys:
        mine = [(p, m, v) for p, m, v in settings if m.resource_type == resource_type and m.account_wide == key]
        same = [(p, m, v) for p, m, v in mine if p.provider == resource_provider]
        if len(same) != 1:
            addresses = ", ".join(p.address for p, _m, _v in (same or mine))
            why = (f"the plan sets it more than once ({addresses}): which one applies is not known from the plan"
                   if same else f"the plan sets it ({addresses}) through another provider configuration, maybe "
                                "for another account")
            out.append(AccountSetting(key, unknown=why))
            continue
        planned, mapping, values = same[0]
        if planned.action == "delete":
            out.append(AccountSetting(key, value=None))
            continue
        document = build(mapping.document, values, lambda _reference, _path: None)
        unknown = _after_apply(document)
        if unknown:
            out.append(AccountSetting(key, unknown=f"{planned.address}: {', '.join(unknown)} "
                                                   f"{'is' if len(unknown) == 1 else 'are'} {AFTER_APPLY_TEXT}"))
        else:
            out.append(AccountSetting(key, value=document or None))
    return out
