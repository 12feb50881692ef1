"""The one redaction policy of both clouds (auditor.redaction): documents, tags, URLs, evidence."""

from __future__ import annotations

import pytest

from auditor.redaction import REDACTED, redact_document, redact_tags, redact_text, redact_value
from auditor.secrets import secret_kinds

AKIA = "AKIAQ3EGRXXXEXAMPLE7"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtb2RlbC1vcHMifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
CODE = "Zm5LZXlGb3JTY29yaW5n"


@pytest.mark.parametrize(("url", "shown"), [
    (f"https://fraud-fn.azurewebsites.net/api/score?code={CODE}",
     "https://fraud-fn.azurewebsites.net/api/score?code=<redacted>"),
    (f"https://gw.example.com/score?api-version=2024-05-01&API-Key={CODE}&x=1#frag",
     "https://gw.example.com/score?api-version=2024-05-01&API-Key=<redacted>&x=1#frag"),
    ("https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=abcdEFGH1234ijklMNOP%3D",
     "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=<redacted>"),
    ("postgresql://svc:Pg-S3cret-pw@db.internal:5432/features", "postgresql://<redacted>@db.internal:5432/features"),
    (f"https://app.example.com/cb#access_token={JWT}&token_type=bearer",
     "https://app.example.com/cb#access_token=<redacted>&token_type=bearer"),
    (f"https://h.example.com/p?owner={AKIA}", "https://h.example.com/p?owner=<redacted>"),  # by its value's shape
    (f"https://b.s3.amazonaws.com/o?X-Amz-Credential={AKIA}%2F20240101&X-Amz-Signature=ab12",
     "https://b.s3.amazonaws.com/o?X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted>"),
])
def test_a_url_keeps_its_shape_and_loses_its_credentials(url: str, shown: str) -> None:
    assert redact_text(url) == shown
    assert secret_kinds(shown) == ()
    assert redact_text(shown) == shown  # idempotent


@pytest.mark.parametrize("value", [
    f"https://h.example.com/v1/{JWT}/score",  # a token in the path: the URL cannot be shown at all
    f"call https://fn.example.com/api?code={CODE} to score",  # not one URL
    f"Bearer {CODE}{CODE}",
    f"Server=db;User ID=svc;Password={CODE};",
    AKIA,
])
def test_anything_else_that_looks_like_a_secret_is_redacted_whole(value: str) -> None:
    assert redact_text(value) == REDACTED


@pytest.mark.parametrize("value", [
    "https://fraud-scorer.westeurope.inference.ml.azure.com/score",
    "https://management.azure.com/subscriptions?api-version=2022-12-01&$skipToken=abc",
    "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/ranker", "user@example.com", "",
])
def test_ordinary_values_are_kept(value: str) -> None:
    assert redact_text(value) == value


def test_tags_of_either_cloud_follow_one_policy() -> None:
    tags = {"team": "ml", "owner": AKIA, "db": "Server=db;Password=hunter2hunter2;", "password": "plain-looking",
            "hook": f"https://fn.example.com/api?code={CODE}", AKIA: "key-as-name", "token": ""}
    assert redact_tags(tags) == {
        "team": "ml", "owner": REDACTED, "db": REDACTED, "password": REDACTED,  # a field named like a secret
        "hook": "https://fn.example.com/api?code=<redacted>", REDACTED: "key-as-name", "token": ""}
    # Azure keeps tags inside the document: the same result
    assert redact_document({"tags": tags})["tags"] == redact_tags(tags)


def test_aws_container_environment_keeps_names_only() -> None:
    model = {"ModelName": "ranker", "PrimaryContainer": {"Image": "img:7", "Environment": {
        "LOG_LEVEL": "info", "DB_URL": "postgresql://svc:pw-123456@db/x", "EMPTY": None}},
        "Containers": [{"Environment": {"API_KEY": CODE}}]}
    out = redact_document(model)
    assert out["PrimaryContainer"] == {"Image": "img:7", "Environment": {
        "LOG_LEVEL": REDACTED, "DB_URL": REDACTED, "EMPTY": None}}
    assert out["Containers"] == [{"Environment": {"API_KEY": REDACTED}}]
    assert model["PrimaryContainer"]["Environment"]["LOG_LEVEL"] == "info"  # the input is not changed
    # Azure v1 services' "environment" is an object describing an image, not variables: kept
    v1 = {"environment": {"name": "AzureML-Scikit-learn-0.20.3", "version": "3"}}
    assert redact_document(v1) == v1


def test_several_secret_shaped_keys_stay_distinct() -> None:
    other = "AKIAQ3EGRXXXEXAMPLE8"
    assert redact_tags({AKIA: "a", other: "b"}) == {REDACTED: "a", "<redacted-2>": "b"}


def test_evidence_values_of_any_shape() -> None:
    evidence = {"properties.url": f"http://fn.example.com/api?code={CODE}", "n": 3, "ok": True,
                "fronts": [{"host": "h", "note": JWT}], "nested": ({"k": AKIA},)}
    assert redact_value(evidence) == {"properties.url": "http://fn.example.com/api?code=<redacted>", "n": 3,
                                      "ok": True, "fronts": [{"host": "h", "note": REDACTED}],
                                      "nested": [{"k": REDACTED}]}
