"""Benchmark ``auditor scan plan`` on a large planned change.

    python benchmarks/plan_scan.py [--resources 5000] [--format json --format sarif] [--repeat 1] [--keep DIR]

1. Generates a Terraform plan (``terraform show -json``, format 1.2) and a Pulumi preview (``pulumi preview
   --json``) of ``--resources`` planned resources each, in the mix an ML platform's stack has: SageMaker
   endpoint configs (capture keys referencing planned KMS keys, some values known only after apply),
   models, endpoints referencing their configs, KMS keys, Azure ML workspaces, online endpoints (azapi) with
   role assignments on their identities, serverless endpoints, API Management APIs with their policies and
   backends in front of those endpoints, and types no mapping covers (VPC subnets, S3 objects), with a delete
   and a replace every hundred groups.
2. Runs ``python -m auditor scan plan FILE --format ... --out DIR --quiet`` on each as a subprocess,
   ``--repeat`` times, and prints wall time, CPU time and peak RSS against the targets: under 5 s and
   300 MB. The time judged is the CPU time (user + system) of the process, which a shared machine does not
   inflate; the wall time is printed beside it, with the load average. Peak RSS is the child's
   ``ru_maxrss`` from ``wait4`` checked against its VmHWM polled from /proc (this process never imports
   the tool, so the child's figure is its own).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from read_back import run_child  # benchmarks/ is on the path: the script's own folder

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 5.0
TARGET_MB = 300.0
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
READER = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
WS = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml/providers/" \
     "Microsoft.MachineLearningServices/workspaces/ws"


PER_GROUP = 13  # planned resources per group below


def policy(i: int) -> str:
    return f'<policies><inbound><base /><set-backend-service backend-id="b{i}" /></inbound></policies>'


def _groups(total: int) -> list[int]:
    return list(range(max(1, total // PER_GROUP)))


def terraform_plan(total: int) -> dict[str, Any]:
    changes: list[dict[str, Any]] = []
    configuration: list[dict[str, Any]] = []

    def add(t: str, name: str, after: dict[str, Any], unknown: dict[str, Any] | None = None,
            refs: dict[str, list[str]] | None = None, actions: list[str] | None = None) -> None:
        address = f"{t}.{name}"
        changes.append({"address": address, "mode": "managed", "type": t, "name": name,
                        "provider_name": "registry.terraform.io/hashicorp/aws",
                        "change": {"actions": actions or ["create"], "before": None,
                                   "after": None if actions == ["delete"] else after,
                                   "after_unknown": unknown or {}, "before_sensitive": False, "after_sensitive": {}}})
        expressions: dict[str, Any] = {}
        for path, targets in (refs or {}).items():
            node = expressions
            *blocks, leaf = path.split(".")
            for block in blocks:  # a nested block: a list of one expression object
                node = node.setdefault(block, [{}])[0]
            node[leaf] = {"references": [x for t in targets for x in (f"{t}.id", t)]}
        configuration.append({"address": address, "mode": "managed", "type": t, "name": name,
                              "provider_config_key": "aws", "expressions": expressions, "schema_version": 0})

    for i in _groups(total):
        action = ["delete", "create"] if i % 100 == 1 else (["delete"] if i % 100 == 2 else None)
        add("aws_kms_key", f"k{i}", {"enable_key_rotation": i % 3 != 0, "is_enabled": True,
                                     "customer_master_key_spec": "SYMMETRIC_DEFAULT"}, {"arn": True, "key_id": True})
        add("aws_sagemaker_model", f"m{i}", {"name": f"m{i}", "enable_network_isolation": i % 2 == 0,
                                             "execution_role_arn": "arn:aws:iam::123456789012:role/r",
                                             "vpc_config": [{"subnets": ["subnet-1"], "security_group_ids": ["sg-1"]}]})
        add("aws_sagemaker_endpoint_configuration", f"c{i}", {
            "name": f"c{i}", "production_variants": [{"variant_name": "a", "instance_type": "ml.m5.large",
                                                      "initial_instance_count": 1 + i % 3, "serverless_config": []}],
            "data_capture_config": [{"enable_capture": True, "destination_s3_uri": "s3://b/p",
                                     "initial_sampling_percentage": 100}]},
            {"kms_key_arn": True, "data_capture_config": [{"kms_key_id": True}],
             "production_variants": [{"model_name": True}]},
            {"kms_key_arn": [f"aws_kms_key.k{i}"], "data_capture_config.kms_key_id": [f"aws_kms_key.k{i}"],
             "production_variants.model_name": [f"aws_sagemaker_model.m{i}"]}, action)
        add("aws_sagemaker_endpoint", f"e{i}", {"name": f"e{i}"}, {"endpoint_config_name": True},
            {"endpoint_config_name": [f"aws_sagemaker_endpoint_configuration.c{i}"]})
        add("azurerm_machine_learning_workspace", f"w{i}", {"name": f"w{i}", "location": "westeurope",
                                                            "public_network_access_enabled": i % 2 == 1})
        add("azapi_resource", f"oe{i}", {
            "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints@2024-04-01", "name": f"oe{i}",
            "parent_id": WS, "location": "westeurope", "identity": [{"type": "SystemAssigned"}],
            "body": {"properties": {"authMode": "Key" if i % 4 == 0 else "AADToken",
                                    "publicNetworkAccess": "Disabled"}}},
            {"identity": [{"principal_id": True}]})
        add("azurerm_role_assignment", f"ra{i}", {"role_definition_name": "Contributor" if i % 5 == 0 else "Reader",
                                                  "scope": "/subscriptions/s/resourceGroups/ml"},
            {"principal_id": True}, {"principal_id": [f"azapi_resource.oe{i}"]})
        add("azapi_resource", f"se{i}", {
            "type": "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints@2024-04-01", "name": f"se{i}",
            "parent_id": WS, "location": "westeurope",
            "body": {"properties": {"authMode": "Key", "contentSafety": {"contentSafetyStatus": "Enabled"}}}})
        add("azurerm_api_management_api", f"api{i}", {
            "name": f"api{i}", "api_management_name": "gw", "path": f"p{i}", "protocols": ["https"],
            "subscription_required": i % 2 == 0},
            {"service_url": True}, {"service_url": [f"azapi_resource.oe{i}"]})
        add("azurerm_api_management_backend", f"b{i}", {
            "name": f"b{i}", "api_management_name": "gw", "protocol": "http",
            "tls": [{"validate_certificate_chain": True}]},
            {"url": True}, {"url": [f"azapi_resource.oe{i}"]})
        add("azurerm_api_management_api_policy", f"pol{i}", {
            "api_management_name": "gw", "api_name": f"api{i}",
            "xml_content": policy(i)})
        add("aws_subnet", f"s{i}", {"cidr_block": f"10.{i % 250}.0.0/24"}, {"id": True})
        add("aws_s3_object", f"o{i}", {"bucket": "b", "key": f"k{i}"}, {"etag": True})
    add("azurerm_api_management", "gw", {"name": "gw", "location": "westeurope", "sku_name": "Developer_1"})
    return {"format_version": "1.2", "terraform_version": "1.9.8", "resource_changes": changes,
            "configuration": {"root_module": {"resources": configuration}}, "applyable": True, "complete": True,
            "errored": False}


def pulumi_preview(total: int) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []

    def urn(t: str, name: str) -> str:
        return f"urn:pulumi:bench::ml::{t}::{name}"

    def add(t: str, name: str, inputs: dict[str, Any], deps: dict[str, list[str]] | None = None,
            op: str = "create") -> None:
        state = {"urn": urn(t, name), "custom": True, "type": t, "inputs": inputs, "outputs": inputs,
                 "propertyDependencies": deps or {}}
        steps.append({"op": op, "urn": urn(t, name), "oldState" if op == "delete" else "newState": state})

    key, config = "aws:kms/key:Key", "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    for i in _groups(total):
        op = "replace" if i % 100 == 1 else ("delete" if i % 100 == 2 else "create")
        add(key, f"k{i}", {"enableKeyRotation": i % 3 != 0})
        add("aws:sagemaker/model:Model", f"m{i}", {"name": f"m{i}", "enableNetworkIsolation": i % 2 == 0,
                                                   "vpcConfig": {"subnets": ["subnet-1"]}})
        add(config, f"c{i}", {"name": f"c{i}", "kmsKeyArn": UNKNOWN,
                              "productionVariants": [{"variantName": "a", "instanceType": "ml.m5.large",
                                                      "initialInstanceCount": 1 + i % 3, "modelName": UNKNOWN}],
                              "dataCaptureConfig": {"enableCapture": True, "kmsKeyId": UNKNOWN,
                                                    "destinationS3Uri": "s3://b/p"}},
            {"kmsKeyArn": [urn(key, f"k{i}")], "dataCaptureConfig": [urn(key, f"k{i}")]}, op)
        add("aws:sagemaker/endpoint:Endpoint", f"e{i}", {"name": f"e{i}", "endpointConfigName": UNKNOWN},
            {"endpointConfigName": [urn(config, f"c{i}")]})
        add("azure-native:machinelearningservices:Workspace", f"w{i}",
            {"workspaceName": f"w{i}", "publicNetworkAccess": "Disabled" if i % 2 else "Enabled"})
        online = "azure-native:machinelearningservices:OnlineEndpoint"
        add(online, f"oe{i}", {"endpointName": f"oe{i}", "location": "westeurope",
                               "identity": {"type": "SystemAssigned"},
                               "onlineEndpointProperties": {"authMode": "AADToken", "publicNetworkAccess": "Disabled"}})
        add("azure-native:authorization:RoleAssignment", f"ra{i}",
            {"principalId": UNKNOWN, "scope": "/subscriptions/s/resourceGroups/ml",
             "roleDefinitionId": READER},
            {"principalId": [urn(online, f"oe{i}")]})
        add("azure-native:machinelearningservices:ServerlessEndpoint", f"se{i}",
            {"name": f"se{i}", "serverlessEndpointProperties": {"authMode": "AAD"}})
        api = "azure-native:apimanagement:Api"
        add(api, f"api{i}", {"apiId": f"api{i}", "serviceName": "gw", "path": f"p{i}", "protocols": ["https"],
                             "subscriptionRequired": i % 2 == 0, "serviceUrl": UNKNOWN},
            {"serviceUrl": [urn(online, f"oe{i}")]})
        add("azure-native:apimanagement:Backend", f"b{i}", {"backendId": f"b{i}", "serviceName": "gw", "url": UNKNOWN,
                                                             "protocol": "http"}, {"url": [urn(online, f"oe{i}")]})
        add("azure-native:apimanagement:ApiPolicy", f"pol{i}", {
            "serviceName": "gw", "apiId": f"api{i}", "format": "xml",
            "value": policy(i)})
        add("aws:ec2/subnet:Subnet", f"s{i}", {"cidrBlock": "10.0.0.0/24"})
        add("aws:s3/bucketObjectv2:BucketObjectv2", f"o{i}", {"bucket": "b", "key": f"k{i}"})
    add("azure-native:apimanagement:ApiManagementService", "gw", {"serviceName": "gw", "location": "westeurope"})
    return {"config": {}, "steps": steps, "duration": 1, "changeSummary": {"create": len(steps)}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--format", dest="formats", action="append", metavar="NAME")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="work (and leave the files) in this directory")
    args = parser.parse_args(argv)
    formats = [a for f in (args.formats or ["json", "sarif"]) for a in ("--format", f)]
    ok = True
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        plans = (("terraform", terraform_plan(args.resources)), ("pulumi", pulumi_preview(args.resources)))
        for name, document in plans:
            plan = work / f"{name}.json"
            plan.write_text(json.dumps(document, indent=2), encoding="utf-8")
            count = len(document.get("resource_changes") or document.get("steps") or [])
            for _ in range(args.repeat):
                run = run_child(name, [sys.executable, "-m", "auditor", "scan", "plan", str(plan), *formats,
                                       "--out", str(work / f"out-{name}"), "--quiet"])
                wall, cpu, peak, code = run.wall_s, run.cpu_s, run.peak_mb, run.code
                within = cpu < TARGET_S and peak < TARGET_MB and code in (0, 1, 2)
                ok = ok and within
                print(f"{name:9} {count:6,} resources ({plan.stat().st_size / 1e6:.1f} MB): wall {wall:.2f} s, "
                      f"CPU {cpu:.2f} s, peak RSS {peak:.0f} MB, exit {code}  "
                      f"[target < {TARGET_S:.0f} s, < {TARGET_MB:.0f} MB: {'ok' if within else 'MISSED'}]")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
