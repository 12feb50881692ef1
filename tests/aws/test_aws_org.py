"""``auditor scan aws --org`` / ``--account`` against a moto organisation of several accounts.

moto maps the credentials of an assumed role to the role's account, so each member account's estate is its own;
member accounts are seeded through a role assumed in them (``org_estate``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.cli import main
from auditor.model import Inventory
from auditor.providers.aws.collect import AwsOptions
from auditor.providers.aws.org import AwsOrgOptions, collect_org, plan_scopes
from auditor.providers.aws.permissions import scan_policy

from .conftest import CallLog, Moto
from .org_estate import ROLE, organisation
from .seeding import ACCOUNT, Seeder, policy

EAST = ("us-east-1",)


def org_scan(moto: Moto, *, session: boto3.Session | None = None, clock: Callable[[], datetime] | None = None,
             **options: Any) -> tuple[Inventory, CallLog]:
    log = CallLog()
    used = log.attach(session or moto.session())
    regions = options.pop("regions", EAST)
    inventory = collect_org(AwsOrgOptions(AwsOptions(regions=regions), ROLE, **options), session=used, clock=clock)
    return inventory, log


def endpoints_by_account(inventory: Inventory) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for r in inventory.of_type("aws.sagemaker.endpoint"):
        found.setdefault(r.account, set()).add(r.id)
    return found


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return (exit_.value.code if isinstance(exit_.value.code, int) else 1), out, err


def test_org_discovery_reads_every_active_account_in_its_own_account(moto: Moto) -> None:
    org = organisation(members=3, endpoints=2, regions=("us-east-1", "eu-west-1"))

    inventory, log = org_scan(moto, org=True, regions=("us-east-1", "eu-west-1"))

    assert inventory.complete, [c for c in inventory.coverage if c.error]
    accounts = [ACCOUNT, *org.members]
    assert endpoints_by_account(inventory) == {a: set(org.endpoints[a]) for a in accounts}
    for resource in inventory.resources:  # every id names its own account, and the resource carries it
        assert resource.account in accounts
        if resource.type != "aws.s3.bucket":
            assert f":{resource.account}:" in resource.id, resource.id
    assert Counter(r.account for r in inventory.of_type("aws.iam.role")) == dict.fromkeys(accounts, 1)
    assert inventory.scopes == tuple(sorted(f"aws:{a}:{r}" for a in accounts for r in ("eu-west-1", "us-east-1")))
    rows = {(c.service, c.account, c.region) for c in inventory.coverage}
    assert {("sagemaker", a, r) for a in accounts for r in ("us-east-1", "eu-west-1")} <= rows
    for row in inventory.coverage:  # S3 too: bucket ARNs carry no account, an organisation's S3 scope does
        assert f":{row.account}:" in row.scope_id, row
    assert log.count("ListAccounts") == 1
    assert log.count("AssumeRole") == 3  # the caller's own account is read with the caller's credentials
    assert ("sagemaker", "ListEndpoints") in log.operations()  # the caller's account, with its own session


def test_org_pages_through_list_accounts(moto: Moto) -> None:
    from auditor.providers.aws import accounts as aws_accounts
    from auditor.providers.aws.session import AwsClients

    org = organisation(members=3, endpoints=0)
    log = CallLog()
    session = log.attach(moto.session())

    def one_a_page(params: dict[str, Any], **_: Any) -> None:  # returning a value would replace the params
        params["MaxResults"] = 1

    session.events.register("provide-client-params.organizations.ListAccounts", one_a_page)

    found = aws_accounts.list_accounts(AwsClients(session, 1), "us-east-1")

    assert [a.id for a in found] == sorted([ACCOUNT, *org.members])
    assert {a.status for a in found} == {"ACTIVE"}
    assert log.count("ListAccounts") >= 4


def test_a_denied_role_is_an_error_per_rule_and_the_rest_is_audited(moto: Moto, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    org = organisation(members=3, endpoints=1)
    denied = org.members[1]
    printed = json.loads(run_cli(capsys, "permissions", "aws", "--org", "--role-name", ROLE)[1])
    caller = printed["caller_policy"]
    caller["Statement"].append({"Effect": "Deny", "Action": "sts:AssumeRole",
                                "Resource": f"arn:aws:iam::{denied}:role/{ROLE}"})
    credentials = Seeder(moto.session()).user_with_policy("auditor", caller)
    moto.enforce_iam()
    env = {"AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
           "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"]}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        code, _, err = run_cli(capsys, "scan", "aws", "--org", "--role-name", ROLE, "--region", "us-east-1",
                               "--out", str(tmp_path / "out"), "--format", "json", "--quiet")

    assert code == 2, err
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    failed = [c for c in doc["coverage"] if c["status"] == "error"]
    assert len(failed) == 1 and failed[0]["account"] == denied
    assert failed[0]["scope_id"] == f"arn:aws:sagemaker:*:{denied}:*"
    assert f"cannot assume arn:aws:iam::{denied}:role/{ROLE}" in failed[0]["error"]
    assert "access denied" in failed[0]["error"]
    aws_rules = {rid for rid, rule in doc["rules"].items() if rule["provider"] == "aws"}
    of_denied = [f for f in doc["findings"] if f["account"] == denied]
    assert of_denied and all(f["status"] == "ERROR" for f in of_denied)
    assert all(f["resource_id"] == f"arn:aws:sagemaker:*:{denied}:*" for f in of_denied)
    per_rule = Counter(f["rule_id"] for f in of_denied)
    assert set(per_rule.values()) == {1}  # one ERROR per rule
    assert aws_rules and set(per_rule) == aws_rules  # every rule: none passes for the unread account
    others = [a for a in (ACCOUNT, *org.members) if a != denied]
    for account in others:  # audited in full
        evaluated = [f for f in doc["findings"] if f["account"] == account]
        assert {f["resource_id"] for f in evaluated} >= set(org.endpoints[account])
        assert all(f["status"] != "ERROR" for f in evaluated)
    assert f"aws:{denied}:*" in doc["scan"]["scopes"]


def test_a_suspended_account_still_listed_is_not_read_and_never_passes(moto: Moto) -> None:
    org = organisation(members=2, endpoints=1, suspended=1)
    closed = org.members[-1]

    inventory, log = org_scan(moto, org=True)

    failed = [c for c in inventory.coverage if c.error]
    assert [(c.account, c.service, c.region) for c in failed] == [(closed, "account", "*")]
    assert "SUSPENDED" in str(failed[0].error)
    assert closed not in endpoints_by_account(inventory)
    assert log.count("AssumeRole") == 2  # the suspended account's role is not even tried
    assert set(endpoints_by_account(inventory)) == {ACCOUNT, *org.members[:2]}


def test_an_organisation_that_cannot_be_listed_is_an_error_not_an_empty_scan(
        moto: Moto, capsys: pytest.CaptureFixture[str]) -> None:
    organisation(members=1, endpoints=1)
    printed = json.loads(run_cli(capsys, "permissions", "aws", "--org", "--role-name", ROLE)[1])
    without_listing = [s for s in printed["caller_policy"]["Statement"] if s["Sid"] != "AuditorListAccounts"]
    caller = Seeder(moto.session()).user_with_policy("auditor", {"Version": "2012-10-17",
                                                                "Statement": without_listing})
    moto.enforce_iam()

    inventory, log = org_scan(moto, org=True, session=moto.session(**caller))

    assert inventory.resources == () and not inventory.complete
    [row] = inventory.coverage
    assert (row.account, row.scope_id) == ("*", "arn:aws:sagemaker:*:*:*")
    assert "cannot list the organisation's accounts" in str(row.error) and "access denied" in str(row.error)
    assert log.count("AssumeRole") == 0


def test_named_accounts_without_org_and_excluded_accounts(moto: Moto) -> None:
    org = organisation(members=3, endpoints=1)
    a, b, c = org.members

    named, log = org_scan(moto, accounts=(a, c, ACCOUNT))
    assert set(endpoints_by_account(named)) == {a, c, ACCOUNT} and named.complete
    assert log.count("ListAccounts") == 0 and log.count("AssumeRole") == 2  # the caller's own: its credentials

    excluded, _ = org_scan(moto, org=True, exclude=(b, ACCOUNT))
    assert set(endpoints_by_account(excluded)) == {a, c} and excluded.complete

    narrowed, _ = org_scan(moto, org=True, accounts=(b, "999999999999"))
    assert set(endpoints_by_account(narrowed)) == {b}
    failed = [x for x in narrowed.coverage if x.error]
    assert [x.account for x in failed] == ["999999999999"]
    assert "not listed in the organisation" in str(failed[0].error)


@pytest.mark.parametrize(("args", "field"), [
    (("--org",), "--role-name"),
    (("--account", "111122223333"), "--role-name"),
    (("--org", "--role-name", "R", "--account", "12345"), "--account"),
    (("--org", "--role-name", "R", "--exclude-account", "abc"), "--exclude-account"),
    (("--role-name", "R"), "--role-name"),
    (("--account", "111122223333", "--role-name", "R", "--exclude-account", "111122223334"), "--exclude-account"),
    (("--org", "--role-name", "bad role"), "--role-name"),
])
def test_option_errors_are_exit_3_before_any_call(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  args: tuple[str, ...], field: str) -> None:
    code, _, err = run_cli(capsys, "scan", "aws", *args, "--region", "us-east-1", "--out", str(tmp_path / "o"))
    assert code == 3, err
    assert field in err
    assert not (tmp_path / "o").exists()


def test_assumed_credentials_are_re_assumed_before_they_expire(moto: Moto) -> None:
    from auditor.providers.aws import accounts as aws_accounts
    from auditor.providers.aws.session import AwsClients

    org = organisation(members=1, endpoints=0)
    log = CallLog()
    clients = AwsClients(log.attach(moto.session()), 1)
    offset = [timedelta(0)]
    arn = aws_accounts.role_arn("aws", org.members[0], ROLE)

    session = aws_accounts.assumed_session(clients.session, clients, "us-east-1", arn, None,
                                           clock=lambda: datetime.now(UTC) + offset[0])
    credentials = session.get_credentials()
    first = credentials.get_frozen_credentials().access_key
    offset[0] = timedelta(minutes=40)  # 20 minutes left: not yet in the 15 minute refresh window
    assert credentials.get_frozen_credentials().access_key == first and log.count("AssumeRole") == 1
    offset[0] = timedelta(minutes=47)  # 13 minutes left: refreshed now, before they expire
    second = credentials.get_frozen_credentials().access_key
    assert second != first and log.count("AssumeRole") == 2
    assert session.client("sts").get_caller_identity()["Account"] == org.members[0]


def test_a_long_scan_re_assumes_its_roles_and_completes(moto: Moto) -> None:
    org = organisation(members=2, endpoints=3)
    looks = [0]

    def clock() -> datetime:  # 55 minutes pass after the tenth look at the credentials
        looks[0] += 1
        return datetime.now(UTC) + (timedelta(minutes=55) if looks[0] > 10 else timedelta(0))

    inventory, log = org_scan(moto, accounts=tuple(org.members), clock=clock)

    assert inventory.complete
    assert endpoints_by_account(inventory) == {a: set(org.endpoints[a]) for a in org.members}
    assert log.count("AssumeRole") > len(org.members)  # the first credentials, then fresh ones


def test_printed_policies_and_template(capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    code, out, err = run_cli(capsys, "permissions", "aws", "--org", "--role-name", "audit/AuditorScan",
                             "--external-id", "ext-1234", "--trusted-principal", "123456789012")
    assert code == 0, err
    printed = json.loads(out)
    assert printed["member_role_policy"] == scan_policy()
    caller = {s["Sid"]: s for s in printed["caller_policy"]["Statement"]}
    assert caller["AuditorListAccounts"]["Action"] == ["organizations:ListAccounts"]
    assert caller["AuditorAssumeMemberRole"] == {"Sid": "AuditorAssumeMemberRole", "Effect": "Allow",
                                                 "Action": ["sts:AssumeRole"],
                                                 "Resource": "arn:aws:iam::*:role/audit/AuditorScan"}
    template = yaml.safe_load(out)["member_role_template"]  # JSON is YAML: either parser reads it
    role = template["Resources"]["AuditorScanRole"]
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"]["RoleName"] == "AuditorScan" and role["Properties"]["Path"] == "/audit/"
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"AWS": {"Ref": "TrustedPrincipal"}}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "ext-1234"}}
    assert template["Parameters"]["TrustedPrincipal"]["Default"] == "123456789012"
    assert role["Properties"]["Policies"][0]["PolicyDocument"] == scan_policy()

    code, out, _ = run_cli(capsys, "permissions", "aws", "--org", "--role-name", "AuditorScan")
    trust = json.loads(out)["member_role_template"]["Resources"]["AuditorScanRole"]["Properties"][
        "AssumeRolePolicyDocument"]["Statement"][0]
    assert code == 0 and "Condition" not in trust

    for args in (("--org",), ("--role-name", "R"), ("--org", "--role-name", "R", "--remediate")):
        code, _, err = run_cli(capsys, "permissions", "aws", *args)
        assert code == 3, err


def test_the_template_deploys_a_role_the_scan_can_use(moto: Moto, capsys: pytest.CaptureFixture[str]) -> None:
    """The printed template, deployed by CloudFormation in a member account, gives a role the scan reads with."""
    from .org_estate import member_session, seed_account

    boto3.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")
    member = str(boto3.client("organizations", region_name="us-east-1").create_account(
        AccountName="m", Email="m@example.com")["CreateAccountStatus"]["AccountId"])
    endpoints = seed_account(Seeder(member_session(member)), member, endpoints=2, role=False)
    _, out, _ = run_cli(capsys, "permissions", "aws", "--org", "--role-name", ROLE)
    template = json.loads(out)["member_role_template"]
    seat = member_session(member)
    seat.client("cloudformation").validate_template(TemplateBody=json.dumps(template))  # raises when malformed
    # Deployed as CloudFormation would: moto's CloudFormation keeps a role's inline policies in a shape its own
    # IAM enforcement cannot read (KeyError 'policy_document'), so the role is made from the template by hand.
    props = template["Resources"]["AuditorScanRole"]["Properties"]
    trust = json.loads(json.dumps(props["AssumeRolePolicyDocument"]).replace('{"Ref": "TrustedPrincipal"}',
                                                                               f'"{ACCOUNT}"'))
    iam = seat.client("iam")
    iam.create_role(RoleName=props["RoleName"], Path=props["Path"], AssumeRolePolicyDocument=json.dumps(trust),
                    MaxSessionDuration=props["MaxSessionDuration"])
    for inline in props["Policies"]:
        iam.put_role_policy(RoleName=props["RoleName"], PolicyName=inline["PolicyName"],
                            PolicyDocument=json.dumps(inline["PolicyDocument"]))
    caller = Seeder(moto.session()).user_with_policy("auditor",
                                                     policy(["sts:AssumeRole"], f"arn:aws:iam::*:role/{ROLE}"))
    moto.enforce_iam()

    inventory, _ = org_scan(moto, accounts=(member,), session=moto.session(**caller))

    assert inventory.complete, [c.error for c in inventory.coverage if c.error]
    assert endpoints_by_account(inventory) == {member: set(endpoints)}


def test_plan_scopes_is_the_one_list_of_pairs() -> None:
    plan = plan_scopes({"222222222222": ("us-east-1", "eu-west-1"), "111111111111": ("us-east-1",)},
                       {"333333333333": "denied"})
    assert plan.pairs == (("111111111111", "us-east-1"), ("222222222222", "eu-west-1"),
                          ("222222222222", "us-east-1"))
    assert plan.accounts == ("111111111111", "222222222222")
    assert plan.regions("222222222222") == ("eu-west-1", "us-east-1")
    assert plan.scopes == ("aws:111111111111:us-east-1", "aws:222222222222:eu-west-1",
                           "aws:222222222222:us-east-1", "aws:333333333333:*")
