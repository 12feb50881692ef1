from __future__ import annotations

import pytest

from auditor.secrets import secret_kinds

# Synthetic values shaped like real secrets (none is a live credential).
KEY88 = ("Zm9vYmFyYmF6" * 8)[:86] + "=="  # the 88-character shape of a storage account key


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (f"DefaultEndpointsProtocol=https;AccountName=mlstore;AccountKey={KEY88};EndpointSuffix=core.windows.net",
         "storage_connection_string"),
        (KEY88, "storage_account_key"),
        ("https://mlstore.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2027-01-01&sig=abcdEFGH1234ijklMNOP%3D",
         "sas_token"),
        ("Server=tcp:db.database.windows.net;Database=scores;User ID=svc;Password=Tr0ub4dor&3;",
         "connection_string_password"),
        ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc123def456=",
         "shared_access_key"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow...", "private_key"),
        ("Bearer abcdefghijklmnopqrstuvwxyz0123456789", "bearer_token"),
        ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl", "jwt"),
        ("postgresql://svc:s3cr3t-pw@db.internal:5432/features", "url_credentials"),
        ("AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
        ("ghp_" + "a1B2" * 10, "github_token"),
        ("sk-proj-" + "Xy9" * 8, "openai_style_key"),
        # Case-blind kinds in another case, and secrets inside longer text, still pass the first gate.
        (f"accountname=x;ACCOUNTKEY={KEY88}", "storage_connection_string"),
        ("Driver={ODBC};PWD=hunter2hunter2", "connection_string_password"),
        ("https://x.blob.core.windows.net/c?SIG=abcdEFGH1234ijklMNOP", "sas_token"),
        ("Authorization: BEARER abcdefghijklmnopqrstuvwxyz0123456789", "bearer_token"),
        ("  " + KEY88 + "\n", "storage_account_key"),
    ],
)
def test_secret_shapes_are_recognised(value, kind):
    assert kind in secret_kinds(value)


@pytest.mark.parametrize("value", ["", "resnet50", "https://mlstore.blob.core.windows.net/models/v3", "4", None, 42,
                                   "AccountName=mlstore;EndpointSuffix=core.windows.net", "Bearer"])
def test_ordinary_values_are_not_secrets(value):
    assert secret_kinds(value) == ()
