"""Running the demo: both embedded estates served on loopback and scanned through the pipeline.

``run_demo`` is what ``auditor demo`` runs (the estates themselves are served by ``auditor.demo.sandbox``);
``applied_environment`` and ``demo_azure_environment`` (defined in ``auditor.demo.sandbox``, importable from
here) set up (and restore) the process environment a scan of the Resource Manager stand-in needs, for the
demo and for tests that scan the stand-in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.demo.sandbox import demo_azure_environment as demo_azure_environment  # its home before
from auditor.model import ScanResult, Severity
from auditor.pipeline import Tracking, prepare_policy, scan

if TYPE_CHECKING:
    from auditor.console import Console
    from auditor.selection import RuleFilter


@contextmanager
def applied_environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Apply ``changes`` to ``os.environ`` (None unsets) for the duration, then restore every variable."""
    saved = {key: os.environ.get(key) for key in changes}
    _apply(changes)
    try:
        yield
    finally:
        _apply(saved)


def _apply(changes: Mapping[str, str | None]) -> None:
    for key, value in changes.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def run_demo(fail_on: Severity, console: Console | None = None, policy_file: Path | None = None,
             tracking: Tracking | None = None, rule_filter: RuleFilter | None = None,
             waivers_file: Path | None = None, max_waiver_days: int = 365, owner_tag: str = "owner") -> ScanResult:
    """Serve both demo estates on loopback and scan them with the real collectors into one report.

    AWS: moto with Northwind's SageMaker estate, read through boto3 with fake credentials and no
    ~/.aws files. Azure: the Resource Manager stand-in (HTTPS, a throwaway CA) with Northwind's Azure
    ML estate, read through the Azure SDKs with the real ``AzureCliCredential`` running a fake ``az``
    from a temporary directory (see :mod:`auditor.demo.sandbox`). The process environment is changed
    for the duration and restored.
    """
    require_demo_extra()
    # A bad policy, rule filter or waivers file is exit 3 before the servers start (scan checks them again).
    prepare_policy(policy_file, waivers_file, fail_on, rule_filter, max_waiver_days)
    from auditor.demo.sandbox import serving_demo
    from auditor.providers.aws.collect import AwsOptions, collect_aws
    from auditor.providers.azure.collect import AzureOptions, collect_azure

    with serving_demo() as served, \
            applied_environment(served.changes(os.environ.get("PATH"))):
        azure = AzureOptions(subscriptions=served.subscriptions, credential="cli", arm_endpoint=served.arm_endpoint)
        return scan(
            {"demo aws": lambda p: collect_aws(AwsOptions(regions=served.aws_regions), p),
             "demo azure": lambda p: collect_azure(azure, p)},
            fail_on=fail_on, console=console, policy_file=policy_file, tracking=tracking, rule_filter=rule_filter,
            waivers_file=waivers_file, max_waiver_days=max_waiver_days, owner_tag=owner_tag,
        )


def require_demo_extra() -> None:
    """Raise an AuditorError naming what is missing when the demo extra (moto, cryptography) is not installed."""
    try:
        import cryptography  # noqa: F401
        import moto  # noqa: F401
    except ImportError as e:
        from auditor.errors import AuditorError

        raise AuditorError(f"the demo needs the demo extra: pip install 'auditor[demo]' ({e})") from e
