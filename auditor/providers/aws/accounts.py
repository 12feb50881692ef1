"""The accounts of an organisation's scan: which to read (``organizations:ListAccounts``, ``--account``,
``--exclude-account``) and the credentials each is read with (``sts:AssumeRole``, refreshed before they expire).

Only the caller's credentials make the calls here; boto3/botocore are imported inside functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.errors import ConfigError
from auditor.providers.aws.session import AwsCallError, AwsClients, Failure, failure_from, one_line, pages

if TYPE_CHECKING:
    import boto3

ACCOUNT_ID = re.compile(r"\d{12}")
# IAM role names (letters, digits and +=,.@_-, at most 64), optionally under a path.
ROLE_NAME = re.compile(r"(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}")
# sts:ExternalId: 2 to 1224 characters of letters, digits and +=,.@:/-
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")
SESSION_NAME = "auditor-scan"
DEFAULT_DURATION = 3600  # seconds an assumed role's credentials last (AssumeRole's default)


def check_account_ids(ids: Iterable[str], field: str) -> tuple[str, ...]:
    """``ids`` stripped and deduplicated in order; ConfigError naming ``field`` for one that is not 12 digits."""
    found: dict[str, None] = {}
    for raw in ids:
        account = raw.strip()
        if not ACCOUNT_ID.fullmatch(account):
            raise ConfigError(f"{account!r} is not an AWS account id (12 digits)", field=field)
        found[account] = None
    return tuple(found)


def check_role_name(name: str) -> str:
    name = name.strip().strip("/")
    if not ROLE_NAME.fullmatch(name):
        raise ConfigError(f"{name!r} is not an IAM role name (letters, digits and +=,.@_- up to 64, "
                          "optionally under a path)", field="--role-name")
    return name


def check_external_id(value: str) -> str:
    if not EXTERNAL_ID.fullmatch(value):
        raise ConfigError("an external id is 2 to 1224 letters, digits and +=,.@:/- characters",
                          field="--external-id")
    return value


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


@dataclass(frozen=True)
class OrgAccount:
    """An account of the organisation as ``organizations:ListAccounts`` describes it."""

    id: str
    name: str
    status: str  # ACTIVE | SUSPENDED | PENDING_CLOSURE


def list_accounts(clients: AwsClients, home: str) -> tuple[OrgAccount, ...]:
    """Every account of the caller's organisation, every page; raises AwsCallError."""
    found: list[OrgAccount] = []
    for page in pages(clients.get("organizations", home), "list_accounts"):
        for account in page.get("Accounts", []):
            found.append(OrgAccount(id=str(account.get("Id", "")), name=one_line(str(account.get("Name", ""))),
                                    status=str(account.get("Status", "") or "UNKNOWN")))
    return tuple(sorted(found, key=lambda a: a.id))


@dataclass(frozen=True)
class Target:
    """One account to scan, or the reason it cannot be (``error``), decided before any resource is read."""

    account: str
    error: str | None = None


def targets(named: Sequence[str], excluded: Sequence[str],
            listed: Sequence[OrgAccount] | None) -> tuple[Target, ...]:
    """The accounts to scan, in account order.

    ``listed``: the organisation's accounts (``--org``), None without ``--org`` (then the ``named`` accounts).
    ``named`` narrows the organisation to those accounts; one it does not list is a target in error, as is a
    listed account that is not ACTIVE (its resources cannot be read, and must not look clean). ``excluded``
    accounts are left out in every case.
    """
    skip = set(excluded)
    if listed is None:
        return tuple(Target(a) for a in sorted(set(named) - skip))
    by_id = {a.id: a for a in listed}
    wanted = sorted((set(named) if named else set(by_id)) - skip)
    out: list[Target] = []
    for account in wanted:
        member = by_id.get(account)
        if member is None:
            out.append(Target(account, f"account {account} is not listed in the organisation "
                                       "(organizations:ListAccounts)"))
        elif member.status != "ACTIVE":
            out.append(Target(account, f"account {account} is {member.status} in the organisation: "
                                       "its resources cannot be read"))
        else:
            out.append(Target(account))
    return tuple(out)


Clock = Callable[[], datetime]


def assumed_session(base: boto3.Session, clients: AwsClients, home: str, arn: str, external_id: str | None,
                    duration: int = DEFAULT_DURATION, clock: Clock | None = None) -> boto3.Session:
    """A session acting as role ``arn``, its credentials re-assumed before they expire (botocore's
    :class:`~botocore.credentials.RefreshableCredentials`, which refreshes 15 minutes before expiry and blocks
    callers from 10 minutes before). The first AssumeRole happens now: AwsCallError when it fails.

    The new session shares ``base``'s loaded service models (one copy of each in memory however many accounts).
    ``clock`` (tests) replaces the clock that decides when to refresh.
    """
    import boto3
    import botocore.session
    from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials

    sts = clients.get("sts", home)
    kwargs: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": SESSION_NAME, "DurationSeconds": duration}
    if external_id:
        kwargs["ExternalId"] = external_id

    def fetch() -> dict[str, Any]:
        # Raises botocore's own errors: a refresh failing in a collector's call is classified there.
        answer = sts.assume_role(**kwargs)["Credentials"]
        return {"access_key": answer["AccessKeyId"], "secret_key": answer["SecretAccessKey"],
                "token": answer["SessionToken"], "expiry_time": _iso(answer["Expiration"])}

    try:
        first = fetch()
    except Exception as exc:
        failure = failure_from("AssumeRole", exc)
        if failure is None:
            raise
        raise AwsCallError(failure) from exc
    options: dict[str, Any] = {"time_fetcher": clock} if clock is not None else {}
    credentials = RefreshableCredentials(
        access_key=first["access_key"], secret_key=first["secret_key"], token=first["token"],
        expiry_time=datetime.fromisoformat(first["expiry_time"]),
        refresh_using=fetch, method="assume-role", **options)

    class Assumed(CredentialProvider):
        METHOD = "assume-role"

        def load(self) -> RefreshableCredentials:
            return credentials

    core = botocore.session.Session()
    core.register_component("data_loader", base._session.get_component("data_loader"))
    core.register_component("credential_provider", CredentialResolver([Assumed()]))
    return boto3.Session(botocore_session=core, region_name=base.region_name or home)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def denial(account: str, arn: str, failure: Failure) -> str:
    """The coverage error of an account whose role could not be assumed."""
    return one_line(f"cannot assume {arn} in account {account}: {failure.reason}", 1000)
