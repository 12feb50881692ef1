"""A resource's display name: short enough for a table cell, unambiguous within a rule's findings.

A resource's own name is not unique: two Azure online deployments are both called ``blue`` under different
endpoints, workspaces or subscriptions, and an AWS endpoint of the same name can exist in several regions and
accounts. The build-gate table of report.html, summary.md and the JUnit testcase names show this name instead,
made only of what a finding carries (so the same resource is named the same on every run, as CI systems that
track JUnit tests by name need):

- Azure: the name, then its parent path from the ARM id (each parent's type and name, nearest first), the
  resource group and the subscription: ``main (onlineEndpoints/fraud, workspaces/ws-prod; resource group rg,
  subscription 00000000-0000-0000-0000-000000000000)``. The subscription id is whole, so names stay unique;
  the provider namespace (``Microsoft.MachineLearningServices``) is left out: a rule checks one resource
  type, so it is implied wherever a rule is shown beside the name.
- AWS and any other provider: the name with its region and account: ``fraud (eu-west-1, account
  123456789012)``; without a name, the resource part of the ARN, or else the resource id.

An Azure id that is not an ARM resource id (no ``/subscriptions/…/providers/…``) is shown whole: it is the
resource's identity. Nothing is escaped here; each format escapes the name as it escapes any untrusted text.
"""

from __future__ import annotations


def display_name(provider: str, account: str, region: str, resource_id: str, name: str) -> str:
    """The resource's unambiguous display name (see the module docstring)."""
    if provider == "azure":
        return _azure(resource_id, name)
    own = name or _arn_resource(resource_id) or resource_id
    where = ", ".join(part for part in (region, f"account {account}" if account else "") if part)
    return f"{own} ({where})" if where else own


def _azure(resource_id: str, name: str) -> str:
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if len(parts) < 8 or lowered[0] != "subscriptions" or lowered[2] != "resourcegroups" \
            or lowered[4] != "providers" or len(parts) % 2:
        return resource_id
    subscription, group = parts[1], parts[3]
    chain = parts[6:]  # type, name, type, name, ... after the namespace
    pairs = [f"{chain[i]}/{chain[i + 1]}" for i in range(0, len(chain) - 2, 2)]
    leaf = chain[-1]
    own = leaf if not name or name == leaf else f"{name} [{leaf}]"
    parents = ", ".join(reversed(pairs))
    place = f"resource group {group}, subscription {subscription}"
    return f"{own} ({parents}; {place})" if parents else f"{own} ({place})"


def _arn_resource(resource_id: str) -> str:
    """``endpoint/fraud`` of ``arn:aws:sagemaker:eu-west-1:123456789012:endpoint/fraud``; "" if not an ARN."""
    fields = resource_id.split(":", 5)
    return fields[5] if len(fields) == 6 and fields[0] == "arn" else ""
