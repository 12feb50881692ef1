"""A small SageMaker estate for the remediation tests, seeded through boto3 into moto.

Three endpoints on two configs that lack keys, and one that is compliant:

* ``scorer`` and ``scorer-b`` run ``scorer-cfg``: no volume key, data capture without a key (FAIL
  kms_volume_encryption on the config, FAIL data_capture_encrypted on both endpoints);
* ``ranker`` runs ``ranker-cfg``: volume key ``legacy`` (rotation off: FAIL rotation_enabled),
  capture with key ``capture``;
* ``embedder`` runs ``embedder-cfg``: volume key ``volumes``, no capture.

The capture bucket has SSE-S3 and three of the four public access block settings (FAIL both S3
rules). Every key a fix uses is already referenced by a config, so fixes add no key to the inventory.
"""

from __future__ import annotations

from auditor.demo.aws_estate import DemoEstate, seed_estate
from auditor.demo.aws_spec import (
    BucketSpec,
    Capture,
    ConfigSpec,
    EndpointSpec,
    EstateSpec,
    KeySpec,
    ModelSpec,
    RoleSpec,
    Variant,
)

REGION = "eu-west-1"
BUCKET = "remediation-capture-eu"
SECRET_ENV = "sk-" + "remediationTestOpenAIStyleKey0123456789"  # a secret value in a model's environment

SPEC = EstateSpec(
    regions=(REGION,),
    roles=(RoleSpec("remediation-exec", "execution role",
                    inline={"runtime": ((("s3:GetObject",), "arn:aws:s3:::artifacts/*"),)}),),
    keys=(KeySpec("volumes", REGION), KeySpec("capture", REGION), KeySpec("legacy", REGION, rotation=False)),
    buckets=(BucketSpec(BUCKET, REGION, block=(True, True, True, False)),),
    models=(ModelSpec("scorer-model", REGION, "remediation-exec", "img:1", environment={"OPENAI_KEY": SECRET_ENV}),
            ModelSpec("ranker-model", REGION, "remediation-exec", "img:1"),
            ModelSpec("embedder-model", REGION, "remediation-exec", "img:1")),
    configs=(ConfigSpec("scorer-cfg", REGION, (Variant("scorer-model"),), capture=Capture(BUCKET)),
             ConfigSpec("ranker-cfg", REGION, (Variant("ranker-model"),), volume_key="legacy",
                        capture=Capture(BUCKET, key="capture")),
             ConfigSpec("embedder-cfg", REGION, (Variant("embedder-model"),), volume_key="volumes")),
    endpoints=(EndpointSpec("scorer", REGION, "scorer-cfg"), EndpointSpec("scorer-b", REGION, "scorer-cfg"),
               EndpointSpec("ranker", REGION, "ranker-cfg"), EndpointSpec("embedder", REGION, "embedder-cfg")),
    tags={"team": "ml"},
)


def seed(url: str) -> DemoEstate:
    return seed_estate(url, SPEC, workers=2)
