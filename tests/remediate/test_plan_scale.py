"""A large plan is the plan the reference path writes: the fast copy of plain data, the one-pass secret scan and
the compiled schema check change the time a plan takes, never its text."""

from __future__ import annotations

import collections
import enum
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.model import Inventory, Resource
from auditor.paths import schemas_dir
from auditor.remediate import model, planfile

from .helpers import run_cli, write_findings


class Colour(enum.StrEnum):
    RED = "red"


class Count(int):
    pass


VALUES: list[Any] = [
    {"a": [1, 2.5, (3, 4), None, True, False, {"b": "c"}]},
    {1: "int key", 2.5: "float key", False: "bool key", None: "null key"},
    {"colour": Colour.RED, "count": Count(3), "when": datetime(2025, 6, 2, tzinfo=UTC), "day": date(2025, 6, 2)},
    {"nan": float("nan"), "inf": float("-inf"), "zero": -0.0, "big": 10**300, "huge": 2**13001},
    collections.OrderedDict(b=1, a=2),
    {"set": {3}, "decimal": Decimal("1.10"), "bytes": b"x"},
    [["deep", [["er", ("est",)]]]],
    "text", 7, None,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_plain_is_the_json_round_trip(value: Any) -> None:
    assert json.dumps(model.plain(value)) == json.dumps(json.loads(json.dumps(value, default=str)))


def large_findings(tmp_path: Path, keys: int) -> Path:
    """Findings of ``keys`` KMS keys without rotation (automatic steps) and as many Azure endpoints on keys."""
    resources = []
    for i in range(keys):
        arn = f"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-{i:012d}"
        resources.append(Resource(
            id=arn, type="aws.kms.key", provider="aws", account="123456789012", region="eu-west-1", name=f"k{i}",
            document={"KeyMetadata": {"KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS",
                                      "KeyState": "Enabled", "Arn": arn},
                      "KeyRotationStatus": {"KeyRotationEnabled": False}}))
        endpoint = ("/subscriptions/eeeeeeee-5555-4555-8555-555555555555/resourceGroups/rg/providers/"
                    f"Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/ep{i}")
        resources.append(Resource(
            id=endpoint, type="azure.ml.online_endpoint", provider="azure",
            account="eeeeeeee-5555-4555-8555-555555555555", region="westeurope", name=f"ep{i}",
            document={"id": endpoint, "identity": {"type": "None"}, "tags": {"note": f"zoë {i}"},
                      "properties": {"authMode": "Key", "publicNetworkAccess": "Enabled"}}))
    return write_findings(Inventory(resources=tuple(resources), coverage=()), tmp_path / "findings.json")


def test_a_large_plan_is_the_text_the_reference_path_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    findings = large_findings(tmp_path, 150)
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(tmp_path / "fast.json"), "--quiet"])
    assert run.code == 0, run.err
    fast = (tmp_path / "fast.json").read_text(encoding="utf-8")
    steps = json.loads(fast)["steps"]
    assert len(steps) >= 300 and {s["mode"] for s in steps} == {"automatic"}

    def not_plain(value: Any) -> Any:
        raise model._NotPlain

    schema = json.loads((schemas_dir() / planfile.SCHEMA_FILE).read_text(encoding="utf-8"))
    monkeypatch.setattr(model, "_copy_plain", not_plain)  # every value through the JSON round trip
    monkeypatch.setattr(planfile, "_holds_secret", lambda value, clean: True)  # redact and check every string
    monkeypatch.setattr(planfile, "_validator", lambda: jsonschema.Draft202012Validator(schema))
    run = run_cli(capsys, ["remediate", "plan", str(findings), "--out", str(tmp_path / "reference.json"), "--quiet"])
    assert run.code == 0, run.err
    reference = json.loads((tmp_path / "reference.json").read_text(encoding="utf-8"))
    written = json.loads(fast)
    assert reference.pop("created") and written.pop("created")  # the time of planning differs, nothing else
    assert written == reference
    assert json.dumps(written, indent=2, sort_keys=True, ensure_ascii=False) == json.dumps(
        reference, indent=2, sort_keys=True, ensure_ascii=False)
