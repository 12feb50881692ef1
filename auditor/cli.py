"""Command line: parses options, calls library functions, maps errors to exit codes.

Exit codes (product-spec): 0 clean, 1 a FAIL at or above --fail-on, 2 incomplete (wins over 1),
3 usage or configuration error. Expected errors are caught here, once, without a traceback.

Inputs and the output directory are checked before any API call (exit 3). Once a scan has collected, its
findings are always written: an asked output that cannot be rendered or written costs only itself and
makes the exit 2 (the run's record is incomplete), a history that fails after the scan makes it 3; neither
can ever exit 0 or 1.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from auditor import __version__
from auditor.cli_console import console_options
from auditor.cli_filters import rule_filter_options
from auditor.cli_remediate import remediate
from auditor.cli_rules import rules
from auditor.cli_scan import (
    SEVERITIES,
    baseline_option,
    check_out,
    combined,
    finish_run,
    owner_tag_option,
    read_tracking,
    scan,
    tracking_options,
)
from auditor.errors import AuditorError, ConfigProblemsError
from auditor.model import Severity
from auditor.outputs import formats as output_formats
from auditor.providers import names as provider_names
from auditor.untrusted import printable

if TYPE_CHECKING:
    from auditor.console import Console
    from auditor.selection import RuleFilter


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
def cli() -> None:
    """Security compliance auditor for ML model-serving endpoints."""


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("audit-out"),
              show_default=True, help="Directory for the outputs.")
@click.option("--format", "formats", type=click.Choice(output_formats.NAMES), multiple=True,
              help=f"Output format (repeatable). Default: {' and '.join(output_formats.DEFAULTS)}.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="high", show_default=True)
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML policy file to evaluate the demo estate under (try one before a real scan).")
@click.option("--waivers", "waivers_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML waivers file to evaluate the demo estate with (try one before a real scan).")
@click.option("--max-waiver-days", type=click.IntRange(min=1), default=365, show_default=True,
              help="A waiver expiring further out than this needs 'broad: true'.")
@click.option("--serve", is_flag=True,
              help="Do not scan: keep the demo estate up on loopback and print the export lines that point a "
                   "shell's auditor at it (scan, remediate plan/apply/rollback); Ctrl-C or SIGTERM stops it.")
@click.option("--port-file", type=click.Path(dir_okay=False, path_type=Path),
              help="With --serve: write the endpoints and environment as JSON to this file once the estate is up "
                   "(removed when it stops).")
@combined(tracking_options())
@owner_tag_option()
@console_options
@rule_filter_options
def demo(out_dir: Path, formats: tuple[str, ...], fail_on: str, policy_file: Path | None, waivers_file: Path | None,
         max_waiver_days: int, serve: bool, port_file: Path | None, baseline_file: Path | None, fail_on_new: bool,
         history_file: Path | None, owner_tag: str, console: Console, rule_filter: RuleFilter) -> None:
    """Scan an embedded demo estate served on loopback (no cloud account, no network), or serve it (--serve)."""
    if serve or port_file is not None:
        _serve_demo(port_file)
    from auditor.demo.run import run_demo

    tracking = read_tracking(baseline_file, fail_on_new, history_file)  # before the demo's servers start
    check_out(out_dir)
    result = run_demo(Severity(fail_on), console, policy_file, tracking, rule_filter, waivers_file, max_waiver_days,
                      owner_tag)
    finish_run(result, out_dir, formats, console, tracking)
    # finish_run exits; the report location is printed there


def _serve_demo(port_file: Path | None) -> None:
    """``demo --serve``: refuse the scan's options (they would do nothing), serve until a signal, exit 0."""
    from auditor.demo.serve import check_port_file, serve

    context = click.get_current_context()
    if not context.params["serve"]:
        raise click.UsageError("--port-file needs --serve")
    given = sorted(param.opts[0] for param in context.command.params if param.name is not None
                   and param.name not in ("serve", "port_file", "quiet", "verbose", "log_format")
                   and context.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT)
    if given:
        raise click.UsageError(f"--serve scans nothing: {', '.join(given)} would have no effect; pass them to the "
                               "commands you run against the served estate")
    if port_file is not None:
        check_port_file(port_file)
    quiet = bool(context.params.get("quiet"))
    serve(port_file, emit=click.echo, say=lambda text: None if quiet else click.echo(text, err=True))
    sys.exit(0)


@cli.command()
@click.argument("findings_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "formats", type=click.Choice(output_formats.NAMES), multiple=True,
              help=f"Output format (repeatable). Default: {' and '.join(output_formats.DEFAULTS)}.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the outputs (the findings file itself is never written over).")
@baseline_option()
@owner_tag_option(default=None)
@console_options
def report(findings_file: Path, formats: tuple[str, ...], out_dir: Path, baseline_file: Path | None,
           owner_tag: str | None, console: Console) -> None:
    """Re-render outputs from a findings file; exit with the exit code of the scan that wrote it.

    A re-rendered report never looks cleaner than its scan (0, 1 or 2 as the scan) and appends nothing to a
    history. Exit 3 when FINDINGS_FILE is not a findings.json (another of the tool's outputs is named) or an
    output would overwrite it. With --baseline, the findings are compared with that earlier findings file
    (replacing any comparison the file holds); the file's own --fail-on-new setting still decides which
    findings gate.
    """
    from auditor.console_summary import summarise
    from auditor.rerender import rerender

    check_out(out_dir)
    done = rerender(findings_file, list(formats) or list(output_formats.DEFAULTS), out_dir, explicit=bool(formats),
                    baseline_file=baseline_file, owner_tag=owner_tag)
    for path in done.left_out:
        console.line(f"left {path} as it is: it is the input", event="left_out", path=str(path))
    sys.exit(summarise(console, done.result, done.outputs.written, rerendered=True, failed=done.outputs.failed,
                       replaced_links=done.outputs.replaced_links))


@cli.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="DIR...")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the merged outputs.")
@click.option("--format", "formats", type=click.Choice(output_formats.NAMES), multiple=True,
              help=f"Output format (repeatable). Default: {' and '.join(output_formats.DEFAULTS)}.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="high", show_default=True,
              help="Lowest severity of a FAIL that makes the exit code 1.")
@combined(tracking_options())
@console_options
def merge(shards: tuple[Path, ...], out_dir: Path, formats: tuple[str, ...], fail_on: str,
          baseline_file: Path | None, fail_on_new: bool, history_file: Path | None, console: Console) -> None:
    """Merge a sharded scan's findings (each DIR a shard's --out, or its findings.json) into one result, gated as a
    scan (a missing or duplicated shard: exit 2; shards of other arguments, catalog, policy or waivers: exit 3)."""
    from auditor import merge as merging
    from auditor.pipeline import compare

    tracking = read_tracking(baseline_file, fail_on_new, history_file)
    check_out(out_dir)
    merging.check_not_input(out_dir, shards)
    merged = merging.merge_files(shards, Severity(fail_on))
    merging.report(console, merged)
    finish_run(compare(merged.result, tracking), out_dir, formats, console, tracking)


@cli.command()
@click.argument("provider", type=click.Choice(provider_names()))
@click.option("--remediate", "for_remediation", is_flag=True,
              help="The write permissions 'auditor remediate apply/rollback' need, separate from the scan's.")
@click.option("--org", is_flag=True, help="aws: the policies of 'scan aws --org' (the member role's and the "
              "caller's) and a CloudFormation StackSet template deploying the member role (needs --role-name).")
@click.option("--role-name", help="aws --org: the member role's name.")
@click.option("--external-id", help="aws --org: the sts:ExternalId the member role's trust policy requires.")
@click.option("--trusted-principal", help="aws --org: the template's default trusted principal (the caller's "
              "account id, or its role's ARN).")
def permissions(provider: str, for_remediation: bool, org: bool, role_name: str | None, external_id: str | None,
                trusted_principal: str | None) -> None:
    """Print the least-privilege IAM policy (aws) or custom role (azure): read-only for the scan by default."""
    from auditor.providers import get

    if org or role_name or external_id or trusted_principal:
        from auditor.providers.aws.options import org_permission_options

        click.echo(json.dumps(org_permission_options(provider, org, for_remediation, role_name, external_id,
                                                     trusted_principal), indent=2))
        return
    click.echo(json.dumps(get(provider).permissions("remediate" if for_remediation else "scan"), indent=2))


cli.add_command(scan)  # the scan group lives in its own module (auditor/cli_scan.py)
cli.add_command(remediate)  # and the remediate group in auditor/cli_remediate.py
cli.add_command(rules)  # and the rules group in auditor/cli_rules.py


@contextmanager
def _scan_gc(*, process: bool) -> Iterator[None]:
    """Collect garbage less often while the command runs: a scan builds a large, long-lived heap.

    With CPython's default thresholds (700, 10, 10) the cyclic collector re-walks that growing heap
    (every document read) again and again while the collectors parse JSON, costing 10-20 % of a
    scan's CPU for almost no garbage (documents hold no cycles). The objects of the imports are frozen
    out of the collector, and the first generation collects every 50,000 allocations instead of 700,
    as mypy does for the same reason. Reference counting still frees everything acyclic at once.

    The thresholds are restored on the way out. ``process``: the command is the whole process, which
    exits next; what is alive is frozen too, so the interpreter's final collection does not walk the
    scan's heap (0.3 s for 1,000 endpoints). Otherwise (``main`` called with arguments, in a process that
    goes on) everything is unfrozen, and the process's collector is as it was.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if process:
            gc.freeze()
        else:
            gc.unfreeze()


def main(argv: Sequence[str] | None = None) -> None:
    """The ``auditor`` command; ``argv`` None: this process's own command line (the console script)."""
    with _scan_gc(process=argv is None):
        _run(argv)


def _run(argv: Sequence[str] | None) -> None:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="auditor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("auditor: aborted", err=True)
        sys.exit(3)
    except click.exceptions.ClickException as e:  # usage errors: exit 3, never click's 2
        e.show()
        sys.exit(3)
    except ConfigProblemsError as e:  # every problem of a file, one a line
        click.echo(f"auditor: error: {len(e.problems)} problems:", err=True)
        for line in e.lines():
            click.echo(f"  {printable(line)}", err=True)
        sys.exit(e.exit_code)
    except AuditorError as e:
        click.echo(f"auditor: error: {printable(str(e))}", err=True)  # it may quote a file or a service
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("auditor: interrupted", err=True)
        sys.exit(3)
    sys.exit(0)
