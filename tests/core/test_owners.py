"""auditor.owners: a finding's owner from its resource's own owner tag; unknown is never unowned."""

from __future__ import annotations

import pytest

from auditor.errors import ConfigError
from auditor.model import Finding, Owner, OwnerState, Resource, Severity, Status
from auditor.owners import assign, check_tag_name, reassign, resolve

WS = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ml/providers"
      "/Microsoft.MachineLearningServices/workspaces/ws")


def res(tags: dict[str, str], unreadable: dict[str, str] | None = None,
        rid: str = "arn:aws:sagemaker:eu-west-1:1:endpoint/e", provider: str = "aws",
        rtype: str = "aws.sagemaker.endpoint") -> Resource:
    return Resource(id=rid, type=rtype, provider=provider, account="1", region="eu-west-1", name="e", document={},
                    tags=tags, unreadable=unreadable or {})


def finding(resource: Resource, rule: str = "aws.sagemaker.endpoint.data_capture_enabled",
            resource_id: str | None = None) -> Finding:
    return Finding(rule_id=rule, resource_id=resource_id or resource.id, resource_type=resource.type,
                   provider=resource.provider, account="1", region="eu-west-1", status=Status.FAIL,
                   severity=Severity.HIGH, message="m")


@pytest.mark.parametrize(("tags", "tag", "expected"), [
    ({"owner": "ml-platform"}, "owner", Owner(OwnerState.OWNED, "ml-platform", "owner")),
    ({"Owner": "ml-platform"}, "owner", Owner(OwnerState.OWNED, "ml-platform", "Owner")),  # any case
    ({"TEAM": " risk "}, "team", Owner(OwnerState.OWNED, "risk", "TEAM")),  # spaces dropped
    ({"team": "risk"}, "owner", Owner(OwnerState.UNOWNED)),  # another tag is no owner
    ({}, "owner", Owner(OwnerState.UNOWNED)),
    ({"owner": "  "}, "owner", Owner(OwnerState.UNOWNED)),  # an empty tag names no one
    ({"owner": "a", "Owner": "b"}, "owner", Owner(OwnerState.OWNED, "a", "owner")),  # the exact spelling wins
    ({"Owner": "a", "OWNER": "a"}, "owner", Owner(OwnerState.OWNED, "a", "OWNER")),  # spellings that agree
])
def test_the_owner_tag_is_read_case_insensitively(tags: dict[str, str], tag: str, expected: Owner) -> None:
    assert resolve(res(tags), tag) == expected


def test_spellings_that_disagree_leave_the_owner_unknown() -> None:
    owner = resolve(res({"Owner": "a", "OWNER": "b"}), "owner")
    assert owner.state is OwnerState.UNKNOWN and "OWNER, Owner" in owner.reason


def test_unreadable_tags_are_unknown_not_unowned() -> None:
    owner = resolve(res({}, {"tags": "AccessDeniedException"}), "owner")
    assert owner.state is OwnerState.UNKNOWN and "AccessDeniedException" in owner.reason
    assert resolve(res({}, {"*": "AccessDenied"}), "owner").state is OwnerState.UNKNOWN
    assert resolve(None, "owner").state is OwnerState.UNKNOWN
    # other unreadable parts of a resource say nothing about its tags
    assert resolve(res({"owner": "x"}, {"related.endpoint_config": "denied"}), "owner").value == "x"


def test_assign_matches_each_finding_to_its_resource_and_azure_ids_in_any_case() -> None:
    endpoint = res({"owner": "scoring"}, rid=f"{WS}/onlineEndpoints/e", provider="azure",
                   rtype="azure.ml.online_endpoint")
    deployment = res({}, rid=f"{WS}/onlineEndpoints/e/deployments/blue", provider="azure",
                     rtype="azure.ml.online_deployment")
    scope = Finding(rule_id="azure.ml.online_endpoint.auth_mode", resource_id="/subscriptions/0000",
                    resource_type="azure.ml.online_endpoint", provider="azure", account="0000", region="",
                    status=Status.ERROR, severity=Severity.HIGH, message="not collected")
    got = assign([finding(endpoint, "azure.ml.online_endpoint.auth_mode", endpoint.id.upper()), finding(deployment),
                  scope], [endpoint, deployment], "owner")
    assert [f.owner.state if f.owner else None for f in got] == [OwnerState.OWNED, OwnerState.UNOWNED,
                                                                 OwnerState.UNKNOWN]
    assert got[0].owner == Owner(OwnerState.OWNED, "scoring", "owner")  # a deployment never takes its endpoint's


def test_reassign_keeps_unknown_and_does_not_guess_for_older_files() -> None:
    tagged, bare, unread = res({"team": "t"}, rid="a:1"), res({}, rid="a:2"), res({}, {"tags": "denied"}, rid="a:3")
    recorded = assign([finding(tagged), finding(bare), finding(unread)], [tagged, bare, unread], "owner")
    again = reassign(recorded, [tagged, bare, unread], "team")
    assert [f.owner for f in again] == [Owner(OwnerState.OWNED, "t", "team"), Owner(OwnerState.UNOWNED),
                                        recorded[2].owner]
    older = reassign([finding(tagged), finding(bare)], [tagged, bare], "team")  # no owner recorded
    assert older[0].owner == Owner(OwnerState.OWNED, "t", "team")
    assert older[1].owner is not None and older[1].owner.state is OwnerState.UNKNOWN


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "x" * 513])
def test_a_tag_name_no_tag_can_have_is_a_configuration_error(name: str) -> None:
    with pytest.raises(ConfigError) as raised:
        check_tag_name(name)
    assert raised.value.field == "--owner-tag"
