"""Where a plan applies: the cloud endpoints it was made against, recorded in the plan and checked by apply.

``plan`` records, per provider with an executable step, the endpoint its steps would reach:

* ``aws``: ``endpoint_url`` (the standard ``AWS_ENDPOINT_URL``; null for AWS's own endpoints),
  ``service_endpoints`` (the per-service ``AWS_ENDPOINT_URL_<SERVICE>`` variables) and ``partitions``
  (of the plan's ARNs: ``aws``, ``aws-cn``, ``aws-us-gov``);
* ``azure``: ``arm_endpoint`` (``--arm-endpoint``, else ``AUDITOR_ARM_ENDPOINT``, else the public cloud).

``apply`` computes the same from its own options and environment (the partitions from the regions its
steps reach, as botocore maps them, which no network call decides) and refuses the whole plan, before
any read, when they differ, unless ``--allow-endpoint`` names the endpoint it would reach (an Azure
endpoint URL; for AWS the endpoint URL, or the partition when no URL is set, and each differing
per-service URL). A plan without a target (written before plans recorded one) is refused the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.providers import ProviderOptions
from auditor.remediate.model import Plan

_SERVICE_ENV = "AWS_ENDPOINT_URL_"


def _url(text: str | None) -> str | None:
    return text.strip().rstrip("/") or None if text else None


def _providers(plan: Plan) -> list[str]:
    return sorted({s.finding.provider for s in plan.steps if s.executable})


def plan_target(plan: Plan, values: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What ``plan`` records: the endpoints its executable steps would reach with these options (ConfigError)."""
    env = os.environ if environ is None else environ
    partitions = sorted({s.finding.resource_id.split(":", 2)[1] for s in plan.steps
                         if s.executable and s.finding.provider == "aws" and s.finding.resource_id.count(":") >= 2})
    return _target(_providers(plan), values, env, partitions)


def _target(providers: Iterable[str], values: Mapping[str, Any], env: Mapping[str, str],
            partitions: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for provider in providers:
        if provider == "aws":
            services = {k[len(_SERVICE_ENV):].lower(): url for k, v in sorted(env.items())
                        if k.startswith(_SERVICE_ENV) and (url := _url(v))}
            out["aws"] = {"endpoint_url": _url(env.get("AWS_ENDPOINT_URL")), "partitions": partitions,
                          **({"service_endpoints": services} if services else {})}
        elif provider == "azure":
            from auditor.providers.azure.session import arm_endpoint

            out["azure"] = {"arm_endpoint": arm_endpoint(values.get("arm_endpoint"), env)}
    return out


def _region_partitions(plan: Plan) -> list[str]:
    """The partitions botocore maps the regions of the plan's AWS steps to (no network call); a region botocore
    does not know keeps its ARN's partition."""
    import botocore.session
    from botocore.exceptions import UnknownRegionError

    session = botocore.session.get_session()
    found: set[str] = set()
    for step in plan.steps:
        parts = step.finding.resource_id.split(":", 4)
        if not step.executable or step.finding.provider != "aws" or len(parts) < 5:
            continue
        try:
            found.add(session.get_partition_for_region(parts[3] or step.finding.region))
        except UnknownRegionError:
            found.add(parts[1])
    return sorted(found)


def _identities(provider: str, target: Mapping[str, Any]) -> list[str]:
    """What --allow-endpoint must name to apply against ``target``."""
    if provider == "azure":
        return [str(target["arm_endpoint"])]
    services = dict(target.get("service_endpoints") or {})
    return [str(target.get("endpoint_url") or ",".join(target.get("partitions") or []) or "aws"), *services.values()]


def check_target(plan: Plan, plan_file: Path, options: ProviderOptions, allowed: Iterable[str],
                 environ: Mapping[str, str] | None = None) -> None:
    """ConfigError when this apply would reach another endpoint than the plan was made against, not allowed."""
    env = os.environ if environ is None else environ
    providers = _providers(plan)
    now = _target(providers, options.values, env, _region_partitions(plan) if "aws" in providers else [])
    permitted = {_url(a) for a in allowed}
    for provider, here in now.items():
        recorded = plan.target.get(provider)
        if recorded is not None and _same(recorded, here):
            continue
        needed = _identities(provider, here)
        if all(_url(n) in permitted for n in needed):
            continue
        made = "no endpoint (a plan written before plans recorded one)" if recorded is None else \
            ", ".join(_identities(provider, recorded))
        flags = " ".join(f"--allow-endpoint {n}" for n in needed)
        raise ConfigError(f"the plan's {provider} steps were made against {made}; this apply would reach "
                          f"{', '.join(needed)}: a plan applies where it was made (re-plan there), or repeat the "
                          f"endpoint explicitly with {flags}; nothing was applied", file=str(plan_file),
                          field=f"$.target.{provider}")


def _same(recorded: Mapping[str, Any], here: Mapping[str, Any]) -> bool:
    if "arm_endpoint" in here:
        return str(recorded.get("arm_endpoint", "")).lower() == str(here["arm_endpoint"]).lower()
    return (_url(recorded.get("endpoint_url")) == here.get("endpoint_url")
            and dict(recorded.get("service_endpoints") or {}) == dict(here.get("service_endpoints") or {})
            and sorted(recorded.get("partitions") or []) == here.get("partitions"))
