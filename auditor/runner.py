"""Glue between the CLI and the pipeline: catalog, waivers, progress, collection, evaluation."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from auditor.console import Console
from auditor.errors import ConfigError
from auditor.history import HistoryStore
from auditor.model import Inventory, ScanResult, Severity
from auditor.progress import NoProgress, Progress
from auditor.scan import evaluate_inventory, merge, prepare_policy
from auditor.selection import RuleFilter
from auditor.waivers import DEFAULT_MAX_WAIVER_DAYS

CollectFn = Callable[[Progress], Inventory]


@dataclass(frozen=True)
class Tracking:
    """Run-to-run comparison: ``--baseline`` (read and validated), ``--fail-on-new``, ``--history`` (checked)."""

    baseline: ScanResult | None = None
    baseline_file: str = ""
    fail_on_new: bool = False
    history: HistoryStore | None = None


def open_tracking(baseline_file: Path | None = None, fail_on_new: bool = False,
                  history_file: Path | None = None) -> Tracking:
    """Read the baseline and check the history file, so that a bad one fails before any API call."""
    from auditor.baseline import load_baseline

    if fail_on_new and baseline_file is None:
        raise ConfigError("--fail-on-new needs --baseline FILE (the findings.json of the run to compare with)",
                          field="--fail-on-new")
    return Tracking(
        baseline=load_baseline(baseline_file) if baseline_file is not None else None,
        baseline_file=str(baseline_file) if baseline_file is not None else "",
        fail_on_new=fail_on_new,
        history=HistoryStore.open(history_file) if history_file is not None else None,
    )


def track(result: ScanResult, tracking: Tracking) -> ScanResult:
    """``result`` compared with the baseline, then appended to the history (whose trend it then carries)."""
    result = compare(result, tracking)
    if tracking.history is not None:
        result = replace(result, history=tracking.history.record(result))
    return result


def compare(result: ScanResult, tracking: Tracking) -> ScanResult:
    """``result`` compared with the baseline (as it is without one)."""
    from auditor.baseline import with_baseline

    if tracking.baseline is not None:
        result = with_baseline(result, tracking.baseline, tracking.baseline_file, tracking.fail_on_new)
    return result


def record_history(result: ScanResult, tracking: Tracking) -> tuple[ScanResult, ConfigError | None]:
    """``result`` appended to the history, carrying its trend; or, when the history fails now (after the
    scan: locked past the timeout, changed under the scan), ``result`` as it is and that error, so that the
    caller still writes the findings before it reports the failure."""
    if tracking.history is None:
        return result, None
    try:
        return replace(result, history=tracking.history.record(result)), None
    except ConfigError as exc:
        return result, exc


def scan_with(collectors: Mapping[str, CollectFn], *, waivers_file: Path | None, fail_on: Severity,
              console: Console | None = None, policy_file: Path | None = None, tracking: Tracking | None = None,
              rule_filter: RuleFilter | None = None, max_waiver_days: int = DEFAULT_MAX_WAIVER_DAYS) -> ScanResult:
    """Validate every user input first (policy, rule filters, waivers; the caller opened ``tracking`` and checked
    the output directory), collect each provider with its progress on ``console`` (none without one), evaluate
    and compare with the baseline. The caller then records the run in the history (``record_history``), and
    a history that fails then costs none of the findings."""
    inputs = prepare_policy(policy_file, waivers_file, fail_on, rule_filter, max_waiver_days)
    started = datetime.now(UTC)
    inventories = []
    for provider, collect in collectors.items():
        progress = console.progress(provider) if console is not None else NoProgress()
        try:
            inventories.append(collect(progress))
        finally:
            progress.close()
    # Gateways link to the endpoints they front across clouds (an APIM API in front of SageMaker).
    from auditor.providers.azure.apim_links import link_gateways

    return compare(evaluate_inventory(inputs, link_gateways(merge(inventories)), started), tracking or Tracking())


# Variables that could send the demo's Azure scan elsewhere than the stand-in, or bring in a real identity.
_AZURE_CLEARED = ("AUDITOR_ARM_ENDPOINT", "CURL_CA_BUNDLE")


def demo_azure_environment(ca_bundle: str, az_dir: str) -> dict[str, str | None]:
    """The variables a scan of the Resource Manager stand-in runs with (None: unset), in this process or a child.

    The fake ``az`` in ``az_dir`` comes first on PATH (``AzureCliCredential`` runs it instead of any real
    CLI), ``AZURE_CONFIG_DIR`` is an empty directory (so no real ``az`` login could be read), every other
    ``AZURE_*`` variable is unset, the stand-in's CA is trusted through ``REQUESTS_CA_BUNDLE``, and
    loopback bypasses any proxy.
    """
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AZURE_")}
    env.update(dict.fromkeys(_AZURE_CLEARED))
    kept = f"{os.environ.get('NO_PROXY', '')},{os.environ.get('no_proxy', '')}".split(",")
    no_proxy = ",".join(dict.fromkeys(["127.0.0.1", "localhost", *filter(None, kept)]))
    config = Path(az_dir, "azure-config")
    config.mkdir(parents=True, exist_ok=True)
    env.update({"PATH": os.pathsep.join(filter(None, [az_dir, os.environ.get("PATH")])),
                "AZURE_CONFIG_DIR": str(config), "REQUESTS_CA_BUNDLE": ca_bundle,
                "NO_PROXY": no_proxy, "no_proxy": no_proxy})
    return env


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
             tracking: Tracking | None = None, rule_filter: RuleFilter | None = None) -> ScanResult:
    """Serve both demo estates on loopback and scan them with the real collectors into one report.

    AWS: moto with Northwind's SageMaker estate, read through boto3 with fake credentials and no
    ~/.aws files. Azure: the Resource Manager stand-in (HTTPS, a throwaway CA) with Northwind's Azure
    ML estate, read through the Azure SDKs with the real ``AzureCliCredential`` running a fake ``az``
    from a temporary directory. The process environment is changed for the duration and restored.
    """
    try:
        from auditor.demo.arm_server import ArmServer
        from auditor.demo.aws_northwind import seed_demo_estate
        from auditor.demo.moto_server import aws_environment, running_moto
    except ImportError as e:  # moto and cryptography are the demo extra
        from auditor.errors import AuditorError

        raise AuditorError(f"the demo needs the demo extra: pip install 'auditor[demo]' ({e})") from e
    from auditor.demo.apim_estate import build_gateway
    from auditor.demo.azure_northwind import seed_azure_demo
    from auditor.demo.fake_az import write_fake_az
    from auditor.providers.aws.collect import AwsOptions, collect_aws
    from auditor.providers.azure.collect import AzureOptions, collect_azure

    with running_moto() as endpoint, aws_environment(endpoint), ArmServer([]) as arm, \
            tempfile.TemporaryDirectory(prefix="auditor-demo-az-") as az_dir, \
            applied_environment(demo_azure_environment(arm.ca_bundle, az_dir)):
        write_fake_az(az_dir)
        aws = seed_demo_estate(endpoint)
        azure_estate = seed_azure_demo(arm)
        # Northwind's gateway fronts Azure ML endpoints and a SageMaker endpoint of the AWS estate.
        arm.add_resources(build_gateway(azure_estate.subscriptions[0], list(azure_estate.documents),
                                        aws.regions[0], {"env": "prod", "team": "ml-platform"}))
        azure = AzureOptions(subscriptions=azure_estate.subscriptions, credential="cli", arm_endpoint=arm.url)
        return scan_with(
            {"demo aws": lambda p: collect_aws(AwsOptions(regions=tuple(aws.regions)), p),
             "demo azure": lambda p: collect_azure(azure, p)},
            waivers_file=None, fail_on=fail_on, console=console, policy_file=policy_file, tracking=tracking,
            rule_filter=rule_filter,
        )
