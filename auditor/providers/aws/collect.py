"""Collect the AWS estate an ML-serving audit needs: the public entry point of the AWS layer.

SageMaker endpoints, endpoint configs and models of every region asked for; the IAM execution
roles of the models; the KMS keys and data-capture S3 buckets the endpoint configs reference.
One thread pool serves the whole scan and work is pipelined: a describe starts as soon as the
list page naming its resource arrives, and a role, key or bucket is read as soon as the first
document referencing it has been described. Every distinct resource is read once.

Errors are data: a scope that cannot be listed becomes a CoverageRow with ``error``; a resource
that cannot be read keeps its id and says what is missing in ``unreadable``.

Every document and every tag a collector keeps passes through the redaction policy Azure's use too
(:mod:`auditor.redaction`): secret-shaped values, fields named like secrets and container
environment values become ``"<redacted>"`` before any rule, output or plan sees them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from auditor.errors import ConfigError
from auditor.model import CoverageRow, Inventory, Resource
from auditor.progress import Progress
from auditor.providers import CollectionSetupError
from auditor.providers.aws import bedrock as aws_bedrock
from auditor.providers.aws import iam as aws_iam
from auditor.providers.aws import kms as aws_kms
from auditor.providers.aws import s3 as aws_s3
from auditor.providers.aws import sagemaker as aws_sagemaker
from auditor.providers.aws import sagemaker_serving as aws_serving
from auditor.providers.aws import services as aws_services
from auditor.providers.aws import session as aws_session
from auditor.providers.aws import tags as aws_tags
from auditor.providers.aws.resource_types import TYPES, scan_actions
from auditor.providers.aws.session import AwsCallError, AwsClients, Identity, one_line
from auditor.providers.pool import TaskPool
from auditor.shard import WHOLE, Shard, aws_scope

if TYPE_CHECKING:
    import boto3

__all__ = ["PERMISSIONS", "AwsOptions", "collect_aws"]

# The read-only IAM actions of the scan, generated from the declared resource types.
PERMISSIONS: tuple[str, ...] = scan_actions()

MAX_ROW_ERROR = 1000


@dataclass(frozen=True)
class AwsOptions:
    # Empty: every region where SageMaker is offered (boto3's endpoint data for the caller's
    # partition) that the account has enabled (ec2:DescribeRegions).
    regions: tuple[str, ...] = ()
    profile: str | None = None
    max_workers: int = 16
    shard: Shard = WHOLE  # --shard K/N: only the regions (account x region scopes) this shard owns


def collect_aws(options: AwsOptions, progress: Progress | None = None, *,
                session: boto3.Session | None = None) -> Inventory:
    """Collect the AWS inventory described by ``options``.

    ``session`` (keyword only, for tests and embedding) replaces the session built from
    ``options.profile``; event handlers registered on it (``before-call`` ...) reach every client.
    Raises ConfigError for a bad option. Every other failure, even before the first call (no usable
    credentials, no SDK) or of the first call (STS unreachable or throttled), is reported in the
    returned inventory's coverage rows: the scan goes on to write its findings, ERROR for every rule
    of what could not be read, and exits 2.
    """
    started = start(options, session)
    if isinstance(started, Inventory):
        return started
    clients, home, identity, asked = started
    regions = asked
    if not regions:
        try:
            regions = aws_session.discover_regions(clients, home, identity.partition)
        except AwsCallError as exc:
            reason = exc.failure.reason
        else:
            reason = "" if regions else "no enabled region offers SageMaker"
        if reason:
            error = f"cannot discover regions (ec2:DescribeRegions): {reason}; pass --region"
            return _not_collected(identity, (), error, f"not collected: SageMaker regions unknown: {error}")
    if options.shard.whole:
        return _scan(clients, identity, home, regions, options.max_workers, progress)
    listed = tuple(aws_scope(identity.account, region) for region in regions)
    regions = options.shard.select(regions, key=partial(aws_scope, identity.account))
    return replace(_scan(clients, identity, home, regions, options.max_workers, progress), listed=listed)


def start(options: AwsOptions, session: boto3.Session | None
          ) -> tuple[AwsClients, str, Identity, tuple[str, ...]] | Inventory:
    """The caller's clients, home region, identity and the regions asked for; or, when the session cannot be set
    up or the caller cannot be identified, the inventory that says so (nothing else can be read). ConfigError
    for a bad option."""
    if options.max_workers < 1:
        raise ConfigError("must be at least 1", field="max_workers")
    asked = tuple(dict.fromkeys(r.strip() for r in options.regions if r.strip()))
    unknown = Identity("unknown", "", "aws")
    try:
        clients, home = _setup(options, asked, session)
    except CollectionSetupError as exc:
        return _not_collected(unknown, asked, str(exc), str(exc))
    try:
        identity = aws_session.caller_identity(clients, home)
    except AwsCallError as exc:
        error = f"cannot identify the AWS account (sts:GetCallerIdentity): {exc.failure.reason}"
        if exc.failure.kind == "credentials":
            error += (". Provide credentials through the standard chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                      "--profile or AWS_PROFILE, SSO (aws sso login), or an instance/task role.")
        return _not_collected(unknown, asked, error, error)
    return clients, home, identity, asked


def _setup(options: AwsOptions, regions: tuple[str, ...],
           session: boto3.Session | None) -> tuple[AwsClients, str]:
    try:
        from botocore.exceptions import BotoCoreError, ProfileNotFound
    except ImportError as exc:
        raise CollectionSetupError("the AWS SDK is not installed: pip install boto3") from exc

    try:
        if session is None:
            session = aws_session.make_session(options.profile)
        clients = AwsClients(session, options.max_workers)
        home = aws_session.home_region(session, regions)
    except ProfileNotFound as exc:
        raise ConfigError(f"AWS profile not found: {exc}", field="--profile") from exc
    except BotoCoreError as exc:
        raise CollectionSetupError(f"cannot set up the AWS session: {one_line(str(exc))}") from exc
    return clients, home


def _scan(clients: AwsClients, identity: Identity, home: str, regions: tuple[str, ...],
          max_workers: int, progress: Progress | None, pool: TaskPool | None = None, *,
          many_accounts: bool = False) -> Inventory:
    """One account's inventory; ``pool``: a share of a pool other accounts use too (an organisation's scan,
    :class:`~auditor.providers.pool.TaskGroup`), or None for a pool of its own. ``many_accounts``: the inventory
    is one of several accounts' (:func:`s3_scope`)."""
    account, partition = identity.account, identity.partition
    pool = pool or TaskPool(max_workers, progress)
    iam = aws_iam.IamCollector(clients, pool, account, home)
    kms = aws_kms.KmsCollector(clients, pool, account)
    s3 = aws_s3.S3Collector(clients, pool, account, home, partition)

    def on_config(region: str, arn: str, document: Mapping[str, Any]) -> None:
        capture = document.get("DataCaptureConfig") or {}
        for reference in (document.get("KmsKeyId"), capture.get("KmsKeyId")):
            if reference:
                kms.request_key(str(reference), region, arn)
        if capture.get("DestinationS3Uri"):
            s3.request_bucket(str(capture["DestinationS3Uri"]), arn)
        aws_serving.request_async_output(region, arn, document, kms, s3)

    def on_model(region: str, arn: str, document: Mapping[str, Any]) -> None:
        if document.get("ExecutionRoleArn"):
            iam.request_role(str(document["ExecutionRoleArn"]), arn)

    tags: dict[str, dict[str, dict[str, str]]] = {}
    tags_failed: dict[str, str] = {}

    def fetch_tags(region: str) -> None:
        # One Resource Groups Tagging API listing per region instead of a ListTags per resource.
        try:
            found = aws_tags.fetch_tags(clients.get("resourcegroupstaggingapi", region))
        except AwsCallError as exc:
            tags_failed[region] = exc.failure.reason
            return
        tags[region] = {arn: dict(value) for arn, value in found.items()}

    scanners = [aws_sagemaker.SageMakerRegion(region, account, clients, pool, on_config, on_model, partition)
                for region in regions]
    # Every other service with types declared with paging or settings: the generic regional collector.
    bedrock = aws_bedrock.BedrockJoins(clients, pool, kms, s3)
    generic = aws_services.GenericServices(TYPES, (aws_sagemaker.SERVICE,), clients, pool, account, partition,
                                           regions, joins={aws_bedrock.SERVICE: bedrock})
    try:
        for scanner in scanners:
            scanner.start()
            pool.submit(("tagging", scanner.region), partial(fetch_tags, scanner.region))
        generic.start()
    finally:
        pool.wait()

    resources: list[Resource] = []
    for scanner in scanners:
        resources.extend(scanner.resources(kms.link, s3.link, iam.link, tags.get(scanner.region, {}),
                                           tags_failed.get(scanner.region)))
    resources.extend(generic.resources(tags, tags_failed))
    resources.extend(iam.resources())
    resources.extend(kms.resources())
    resources.extend(s3.resources())
    resources = aws_serving.join(resources, scanners, s3.link)

    # Why dependent scopes are incomplete: a region whose SageMaker listing failed hides every
    # role, key and bucket its models and configs reference; an unreadable config hides its keys
    # and bucket, an unreadable model its role. Unknown must never look like "nothing there".
    listing_failed: dict[str, str] = {}
    configs_unread: dict[str, str] = {}
    models_unread: dict[str, str] = {}
    for scanner in scanners:
        region = scanner.region
        if scanner.failed:
            listing_failed[region] = (f"not collected: SageMaker inventory of {region} failed: "
                                      f"{scanner.failed}")
        configs_unread.update(_unread_summary(region, "DescribeEndpointConfig", "endpoint config",
                                              scanner.unreadable(aws_sagemaker.ENDPOINT_CONFIG)))
        models_unread.update(_unread_summary(region, "DescribeModel", "model",
                                             scanner.unreadable(aws_sagemaker.MODEL)))

    per_region = Counter((r.type, r.region) for r in resources)
    per_type = Counter(r.type for r in resources)

    def count(resource_type: str, region: str | None = None) -> int:
        return per_type[resource_type] if region is None else per_region[resource_type, region]

    found_through = _found_through(partition, account)
    coverage: list[CoverageRow] = []
    for scanner in scanners:
        region = scanner.region
        coverage.append(CoverageRow(
            provider="aws", account=account, region=region, service="sagemaker",
            scope_id=f"arn:{partition}:sagemaker:{region}:{account}:*",
            resource_types=aws_sagemaker.RESOURCE_TYPES,
            resources=sum(count(t, region) for t in aws_sagemaker.RESOURCE_TYPES),
            error=scanner.failed,
        ))
    coverage.extend(generic.coverage(count))
    kms_failures = kms.failures()
    # What Bedrock references (bucket, log group key, model and guardrail keys) is unknown where it failed.
    bedrock_failed, log_groups_failed = generic.dependent_errors(aws_bedrock.SERVICE), bedrock.failures()
    through_bedrock = (*found_through, f"arn:{partition}:bedrock:*:{account}:*")
    for region in sorted(set(regions) | kms.regions()):
        coverage.append(CoverageRow(
            provider="aws", account=account, region=region, service="kms",
            scope_id=f"arn:{partition}:kms:{region}:{account}:*", resource_types=aws_kms.RESOURCE_TYPES,
            resources=sum(count(t, region) for t in aws_kms.RESOURCE_TYPES),
            error=_join([listing_failed.get(region), configs_unread.get(region), kms_failures.get(region),
                         bedrock_failed.get(region), log_groups_failed.get(region)]),
            found_through=through_bedrock,
        ))
    coverage.append(CoverageRow(
        provider="aws", account=account, region="global", service="iam",
        scope_id=f"arn:{partition}:iam::{account}:*", resource_types=aws_iam.RESOURCE_TYPES,
        resources=sum(count(t) for t in aws_iam.RESOURCE_TYPES),
        error=_join([*listing_failed.values(), *models_unread.values()]),
        found_through=found_through,
    ))
    coverage.append(CoverageRow(
        provider="aws", account=account, region="global", service="s3",
        scope_id=s3_scope(partition, account, many_accounts=many_accounts), resource_types=aws_s3.RESOURCE_TYPES,
        resources=sum(count(t) for t in aws_s3.RESOURCE_TYPES),
        error=_join([*listing_failed.values(), *configs_unread.values(), *bedrock_failed.values()]),
        found_through=through_bedrock,
    ))
    return Inventory(
        resources=tuple(sorted(resources, key=lambda r: (r.type, r.id))),
        coverage=tuple(sorted(coverage, key=lambda c: (c.service, c.account, c.region))),
        scopes=tuple(f"aws:{account}:{region}" for region in regions),
    )


def s3_scope(partition: str, account: str, *, many_accounts: bool = False) -> str:
    """The scope of an account's S3 coverage row: the buckets its endpoint configs (and Bedrock) reference.

    Bucket ARNs carry no account (``arn:aws:s3:::BUCKET``). A scan of one account writes the product spec's
    ``arn:<partition>:s3:::*``; a scan of several accounts (``--org``, ``--account``) names the account,
    ``arn:<partition>:s3::<account>:*`` (the shape of S3's own account-level ARNs), so that each account's S3
    failure is a scope, and ERROR findings, of its own instead of one shared id that hides all but the first.
    Either scope holds every bucket ARN (:mod:`auditor.findings.compare`).
    """
    return f"arn:{partition}:s3::{account}:*" if many_accounts else f"arn:{partition}:s3:::*"


def _found_through(partition: str, account: str) -> tuple[str, ...]:
    """Keys, roles and buckets are found through what SageMaker, in any region of the account, references."""
    return (f"arn:{partition}:sagemaker:*:{account}:*",)


def _unread_summary(region: str, operation: str, noun: str,
                    unread: list[tuple[str, str]]) -> dict[str, str]:
    if not unread:
        return {}
    arn, reason = unread[0]
    more = f" and {len(unread) - 1} more" if len(unread) > 1 else ""
    return {region: f"not collected: {operation} failed in {region} for {len(unread)} {noun}(s), "
                    f"so what they reference is unknown: {arn}{more}: {reason}"}


def _join(messages: Iterable[str | None]) -> str | None:
    text = "; ".join(m for m in messages if m)
    return one_line(text, MAX_ROW_ERROR) if text else None


def _not_collected(identity: Identity, regions: tuple[str, ...], error: str, dependent: str) -> Inventory:
    """Nothing could be scanned (account or regions unknown): say so for every service and region
    asked (region "*" when none was) instead of returning an empty, clean-looking inventory."""
    account, partition = identity.account, identity.partition
    error, dependent = one_line(error, MAX_ROW_ERROR), one_line(dependent, MAX_ROW_ERROR)
    found_through = _found_through(partition, account)
    through_bedrock = (*found_through, f"arn:{partition}:bedrock:*:{account}:*")
    rows = [
        CoverageRow("aws", account, "global", "iam", f"arn:{partition}:iam::{account}:*",
                    aws_iam.RESOURCE_TYPES, 0, dependent, found_through),
        CoverageRow("aws", account, "global", "s3", s3_scope(partition, account),
                    aws_s3.RESOURCE_TYPES, 0, dependent, through_bedrock),
    ]
    for region in regions or ("*",):
        rows.append(CoverageRow("aws", account, region, "kms", f"arn:{partition}:kms:{region}:{account}:*",
                                aws_kms.RESOURCE_TYPES, 0, dependent, through_bedrock))
        rows.append(CoverageRow("aws", account, region, "sagemaker",
                                f"arn:{partition}:sagemaker:{region}:{account}:*",
                                aws_sagemaker.RESOURCE_TYPES, 0, error))
    rows.extend(aws_services.not_collected(TYPES, (aws_sagemaker.SERVICE,), account, partition, regions or ("*",),
                                           error))
    rows.sort(key=lambda c: (c.service, c.account, c.region))
    return Inventory(resources=(), coverage=tuple(rows),
                     scopes=tuple(f"aws:{account}:{region}" for region in regions or ("*",)))
