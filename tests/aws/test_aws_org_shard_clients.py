"""A shard of an organisation's scan lets go of the accounts it does not read as soon as its share is known."""

from __future__ import annotations

import pytest

from auditor.providers.aws.collect import AwsOptions
from auditor.providers.aws.org import AwsOrgOptions, collect_org
from auditor.providers.aws.session import AwsClients
from auditor.shard import Shard

from .conftest import Moto
from .org_estate import ROLE, organisation


def test_every_member_accounts_clients_are_closed_whichever_shard_reads_it(moto: Moto,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Every shard assumes the role in every account (it needs each account's regions to know its share); the
    # clients of an account it does not read must not stay open (one client per service, ~3.5 MB each, and a
    # connection pool) until the scan ends.
    org = organisation(members=3, endpoints=0)
    closed: list[AwsClients] = []
    close = AwsClients.close

    def recorded(self: AwsClients) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(AwsClients, "close", recorded)
    for k in range(1, 5):
        closed.clear()
        inventory = collect_org(AwsOrgOptions(AwsOptions(regions=("us-east-1",), shard=Shard(k, 4)), ROLE, org=True),
                                session=moto.session())
        assert not [c for c in inventory.coverage if c.error]
        members = {c for c in closed if c.session.client("sts").get_caller_identity()["Account"] in org.members}
        assert len(members) == len(org.members), k
