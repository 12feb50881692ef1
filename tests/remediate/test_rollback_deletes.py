"""Rollback deletes what this tool's own apply created, once nothing uses it, and nothing else (issue 13).

The only deletion the tool makes: a resource the journal records as created by the rolled-back apply run
(``resource-created``), re-read after the endpoints moved back, deleted when no endpoint runs it or is
moving to it, and journaled as ``resource-removed``. Real boto3 against moto (with the demo's UpdateEndpoint),
through the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.demo.aws_estate import DemoEstate
from auditor.providers import ProviderOptions
from auditor.providers.aws.live import AwsContext
from auditor.providers.aws.sagemaker import ENDPOINT_CONFIG

from .aws_estate import REGION
from .helpers import changed, events, run_cli, verdicts
from .test_aws_remediation import CAPTURE_RULE, CONFIG_RULE, make_plan, scan
from .test_untrusted_journal import forge


def sagemaker() -> Any:
    return boto3.client("sagemaker", region_name=REGION)


def config_names() -> set[str]:
    return {c["EndpointConfigName"] for c in sagemaker().list_endpoint_configs(MaxResults=100)["EndpointConfigs"]}


def running(endpoint: str) -> str:
    return str(sagemaker().describe_endpoint(EndpointName=endpoint)["EndpointConfigName"])


def apply(capsys: pytest.CaptureFixture[str], estate: DemoEstate, directory: Path, *rules: str) -> Path:
    """Scan, plan ``rules`` and apply them (the journal beside the plan, in ``directory``); the journal."""
    directory.mkdir()
    findings = scan(directory / "findings.json")
    plan_file = directory / "plan.json"
    make_plan(capsys, estate, findings, plan_file, *(arg for rule in rules for arg in ("--rule", rule)))
    run = run_cli(capsys, ["remediate", "apply", str(plan_file), "--yes"])
    assert run.code == 0, run.out + run.err
    return directory / "journal.jsonl"


def test_rollback_deletes_the_config_apply_created(aws_estate: DemoEstate, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    before = verdicts(scan(tmp_path / "before.json"))
    configs = config_names()
    journal = apply(capsys, aws_estate, tmp_path / "run", CONFIG_RULE)
    [created] = events(journal, "resource-created")
    copy = str(created["created"]).rsplit("/", 1)[-1]
    assert running("scorer") == running("scorer-b") == copy and copy in config_names()

    rolled = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert rolled.code == 0, rolled.out + rolled.err
    assert "then 1 resource(s) apply created, each deleted if nothing uses it" in rolled.err
    assert f"deleted what apply created, which nothing uses: {created['created']}" in rolled.err
    assert running("scorer") == running("scorer-b") == "scorer-cfg"
    assert config_names() == configs  # the copy is gone, the original stays
    [removed] = events(journal, "resource-removed")
    assert (removed["result"], removed["created"], removed["created_by"], removed["kind"]) == (
        "deleted", created["created"], created["run"], created["kind"])
    [finished] = [r for r in events(journal, "run-finished") if "removed" in r]
    assert finished["removed"] == [created["created"]] and finished["kept"] == []
    after = verdicts(scan(tmp_path / "rolled.json"))
    assert changed(before, after) == {} and set(after) == set(before)

    again = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])  # the journal still verifies
    assert again.code == 0 and "nothing to undo" in again.err


def test_a_created_config_someone_moved_an_endpoint_to_is_kept_and_reported(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = apply(capsys, aws_estate, tmp_path / "run", CONFIG_RULE)
    [created] = events(journal, "resource-created")
    copy = str(created["created"]).rsplit("/", 1)[-1]
    sagemaker().update_endpoint(EndpointName="embedder", EndpointConfigName=copy)  # a colleague, after the apply
    sagemaker().describe_endpoint(EndpointName="embedder")  # moto answers Updating once: let it settle

    rolled = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert rolled.code == 0, rolled.out + rolled.err
    assert running("scorer") == running("scorer-b") == "scorer-cfg"
    assert running("embedder") == copy and copy in config_names()
    assert f"kept what apply created: {created['created']} (in use: embedder)" in rolled.err
    assert "deleted what apply created" not in rolled.err
    [removed] = events(journal, "resource-removed")
    assert (removed["result"], removed["detail"], removed["created_by"]) == ("kept", "in use: embedder",
                                                                             created["run"])

    # Once the colleague moves it away, a later rollback (nothing left to undo) deletes it.
    sagemaker().update_endpoint(EndpointName="embedder", EndpointConfigName="embedder-cfg")
    sagemaker().describe_endpoint(EndpointName="embedder")
    later = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert later.code == 0, later.out + later.err
    assert copy not in config_names() and "embedder-cfg" in config_names()
    assert [r["result"] for r in events(journal, "resource-removed")] == ["kept", "deleted"]


def test_a_config_the_journal_does_not_record_as_created_is_never_deleted(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An earlier apply, with another journal, created the KMS copy; the endpoints were then moved back by hand.
    earlier = apply(capsys, aws_estate, tmp_path / "earlier", CONFIG_RULE)
    [made_earlier] = events(earlier, "resource-created")
    copy = str(made_earlier["created"]).rsplit("/", 1)[-1]
    for endpoint in ("scorer", "scorer-b"):
        sagemaker().update_endpoint(EndpointName=endpoint, EndpointConfigName="scorer-cfg")
        sagemaker().describe_endpoint(EndpointName=endpoint)

    # This apply reuses that copy (not its creation: no resource-created line) and creates the capture copy.
    journal = apply(capsys, aws_estate, tmp_path / "run", CONFIG_RULE, CAPTURE_RULE)
    made = [str(r["created"]) for r in events(journal, "resource-created")]
    assert made and all("-cap-" in rid for rid in made) and made_earlier["created"] not in made

    rolled = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert rolled.code == 0, rolled.out + rolled.err
    assert running("scorer") == running("scorer-b") == "scorer-cfg"
    names = config_names()
    assert copy in names and "scorer-cfg" in names  # unused now, but not this journal's creation
    assert not names & {rid.rsplit("/", 1)[-1] for rid in made}  # this journal's creations are gone
    assert {str(r["created"]) for r in events(journal, "resource-removed")} == set(made)


def test_an_unused_config_without_the_copy_tag_is_not_deleted(aws_estate: DemoEstate, fast: ProviderOptions) -> None:
    # What the journal names is checked against the resource too: every copy this tool makes carries
    # auditor:copy-of, so a journal line naming a config someone else made (say, forged with the key) deletes nothing.
    variants = sagemaker().describe_endpoint_config(EndpointConfigName="scorer-cfg")["ProductionVariants"]
    arn = sagemaker().create_endpoint_config(EndpointConfigName="team-cfg", ProductionVariants=variants)[
        "EndpointConfigArn"]
    aws = AwsContext(fast)
    why = aws.delete_unused(ENDPOINT_CONFIG, arn)
    assert why is not None and "auditor:copy-of" in why and "team-cfg" in config_names()
    sagemaker().add_tags(ResourceArn=arn, Tags=[{"Key": "auditor:copy-of", "Value": "scorer-cfg"}])
    assert aws.delete_unused(ENDPOINT_CONFIG, arn) is None and "team-cfg" not in config_names()


def test_a_forged_creation_of_a_config_someone_else_made_deletes_nothing(
        aws_estate: DemoEstate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    variants = sagemaker().describe_endpoint_config(EndpointConfigName="scorer-cfg")["ProductionVariants"]
    team = sagemaker().create_endpoint_config(EndpointConfigName="team-cfg", ProductionVariants=variants,
                                              KmsKeyId=aws_estate.keys[REGION, "volumes"])[
        "EndpointConfigArn"]  # unused (and passing: no step of its own), not made by this tool
    journal = apply(capsys, aws_estate, tmp_path / "run", CONFIG_RULE)
    [real] = events(journal, "resource-created")
    forged = {key: value for key, value in real.items() if key not in ("seq", "prev", "mac", "time", "run")}
    forge(journal, {**forged, "created": team}, with_key=True)  # the journal key stolen: the line verifies

    rolled = run_cli(capsys, ["remediate", "rollback", str(journal), "--yes"])
    assert rolled.code == 0, rolled.out + rolled.err
    assert "team-cfg" in config_names() and real["created"].rsplit("/", 1)[-1] not in config_names()
    assert f"{team} (it lacks the auditor:copy-of tag" in rolled.err
    assert {(r["created"], r["result"]) for r in events(journal, "resource-removed")} == {
        (team, "kept"), (real["created"], "deleted")}
