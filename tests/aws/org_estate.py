"""An AWS organisation on moto: a management account (moto's default) and member accounts, each seeded with a
small SageMaker estate through the credentials of a role assumed in it (moto maps them to the role's account)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import boto3

from auditor.providers.aws.permissions import scan_policy

from .seeding import ACCOUNT, Seeder, policy

ROLE = "AuditorScan"


@dataclass
class Org:
    management: str = ACCOUNT
    members: list[str] = field(default_factory=list)  # created accounts, in creation order
    endpoints: dict[str, list[str]] = field(default_factory=dict)  # account -> endpoint ARNs


def member_session(account: str, region: str = "us-east-1") -> boto3.Session:
    """A session acting in ``account`` (for seeding: not the auditor's code)."""
    answer = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="seed")["Credentials"]
    return boto3.Session(aws_access_key_id=answer["AccessKeyId"], aws_secret_access_key=answer["SecretAccessKey"],
                         aws_session_token=answer["SessionToken"], region_name=region)


def seed_account(seed: Seeder, account: str, endpoints: int = 1, regions: tuple[str, ...] = ("us-east-1",),
                 role: bool = True) -> list[str]:
    """``endpoints`` endpoints in each region, their configs and models, one execution role; the auditor's role
    holding the printed scan policy (``role``)."""
    iam = seed.client("iam")
    if role:
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}))
        iam.put_role_policy(RoleName=ROLE, PolicyName="scan", PolicyDocument=json.dumps(scan_policy()))
    execution = seed.role(f"exec-{account}", inline={"read": policy(["s3:GetObject"], "arn:aws:s3:::models/*")})
    arns = []
    for region in regions:
        here = seed.in_region(region)
        for i in range(endpoints):
            name = f"ep-{account[-4:]}-{region}-{i}"
            model = here.model(f"m-{name}", execution)
            here.config(f"cfg-{name}", [model.rsplit("/", 1)[-1]])
            arns.append(here.endpoint(name, f"cfg-{name}"))
    return arns


def organisation(members: int = 3, endpoints: int = 1, regions: tuple[str, ...] = ("us-east-1",),
                 suspended: int = 0) -> Org:
    """An organisation of ``members`` member accounts (plus ``suspended`` closed ones), every account seeded."""
    orgs = boto3.client("organizations", region_name="us-east-1")
    orgs.create_organization(FeatureSet="ALL")
    org = Org()
    for i in range(members + suspended):
        status = orgs.create_account(AccountName=f"member-{i}", Email=f"member-{i}@example.com")
        org.members.append(str(status["CreateAccountStatus"]["AccountId"]))
    org.endpoints[ACCOUNT] = seed_account(Seeder(boto3.Session(region_name="us-east-1")), ACCOUNT, endpoints,
                                          regions, role=False)
    for account in org.members:
        org.endpoints[account] = seed_account(Seeder(member_session(account)), account, endpoints, regions)
    for account in org.members[members:]:
        orgs.close_account(AccountId=account)
    return org
