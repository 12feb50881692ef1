"""Glue between the CLI and the pipeline: catalog, waivers, progress, collection, evaluation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from auditor.catalog import load_catalog
from auditor.console import TerminalProgress, wants_progress
from auditor.model import Inventory, ScanResult, Severity
from auditor.progress import NoProgress, Progress
from auditor.scan import evaluate_inventory, merge, prepare

CollectFn = Callable[[Progress], Inventory]


def scan_with(collectors: Mapping[str, CollectFn], *, waivers_file: Path | None, fail_on: Severity,
              quiet: bool) -> ScanResult:
    """Validate every user input first, then collect each provider with a progress bar, then evaluate."""
    inputs = prepare(load_catalog(), waivers_file, fail_on)
    started = datetime.now(UTC)
    inventories = []
    for provider, collect in collectors.items():
        if wants_progress(quiet):
            bar = TerminalProgress(f"scanning {provider}")
            try:
                inventories.append(collect(bar))
            finally:
                bar.close()
        else:
            inventories.append(collect(NoProgress()))
    # Gateways link to the endpoints they front across clouds (an APIM API in front of SageMaker).
    from auditor.collectors.azure_apim_links import link_gateways

    return evaluate_inventory(inputs, link_gateways(merge(inventories)), started)


def run_demo(fail_on: Severity, quiet: bool) -> ScanResult:
    """Serve the demo estate on loopback with moto, scan it through boto3, stop the server."""
    try:
        from auditor.demo.aws_estate import seed_demo_estate
        from auditor.demo.moto_server import aws_environment, running_moto
    except ImportError as e:  # moto is an optional extra
        from auditor.errors import AuditorError

        raise AuditorError(f"the demo needs the demo extra: pip install 'auditor[demo]' ({e})") from e
    from auditor.collect_aws import AwsOptions, collect_aws

    with running_moto() as endpoint, aws_environment(endpoint):
        estate = seed_demo_estate(endpoint)
        return scan_with(
            {"demo aws": lambda p: collect_aws(AwsOptions(regions=tuple(estate.regions)), p)},
            waivers_file=None, fail_on=fail_on, quiet=quiet,
        )
