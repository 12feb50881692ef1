"""auditor.untrusted: service texts redacted and escaped, URLs from answers held to the endpoint."""

from __future__ import annotations

import io
import json

import pytest

from auditor.console import Console
from auditor.untrusted import printable, redact_text, same_origin, service_text

KEY88 = ("Zm9vYmFyYmF6" * 8)[:86] + "=="  # the 88-character shape of a storage account key
SIG = "abcdEFGH1234ijklMNOP%3D"
ENDPOINT = "https://management.azure.com"


@pytest.mark.parametrize("url", [
    "https://management.azure.com/subscriptions?api-version=2022-12-01&$skiptoken=x",
    "HTTPS://Management.Azure.com:443/subscriptions",  # case and the default port are the same origin
])
def test_urls_on_the_endpoint_are_followed(url: str) -> None:
    assert same_origin(url, ENDPOINT)


@pytest.mark.parametrize("url", [
    "https://attacker.example/subscriptions",
    "http://management.azure.com/subscriptions",  # another scheme
    "https://management.azure.com:8443/subscriptions",  # another port
    "https://management.azure.com.attacker.example/x",
    "https://management.azure.com@attacker.example/x",  # user information: which host is it?
    "https://attacker.example\\@management.azure.com/x",  # parsers disagree on a backslash
    "https://management.azure.com\t.attacker.example/x",
    "//attacker.example/x",  # protocol-relative: not absolute
    "/subscriptions",
    "https://management.azure.com:99999/x",
    "",
])
def test_urls_anywhere_else_are_not(url: str) -> None:
    assert not same_origin(url, ENDPOINT)


def test_each_secret_word_is_redacted_and_the_reason_kept() -> None:
    text = (f"Storage DefaultEndpointsProtocol=https;AccountName=a;AccountKey={KEY88}; rejected, "
            f"key '{KEY88}' and blob https://a.blob.core.windows.net/c?sv=1&sig={SIG}. Retry later.")
    assert redact_text(text) == ("Storage <redacted>; rejected, key '<redacted>' and blob <redacted>. Retry later.")


@pytest.mark.parametrize("text", [
    "Login failed: Server=db;User ID=svc;Password=correct horse battery;Database=x",  # a value with spaces
    "Header was Bearer abcdefghijklmnopqrstuvwxyz0123456789 and it expired",  # a secret across two words
    "Key -----BEGIN RSA PRIVATE KEY----- MIIEowIBAAKCAQEA MIIEowIBAAKCAQEB -----END RSA PRIVATE KEY-----",
])
def test_a_secret_that_may_span_words_withholds_the_whole_text(text: str) -> None:
    redacted = redact_text(text)
    assert redacted.startswith("<message withheld: it looks like it holds a secret (")
    assert not any(part in redacted for part in ("horse", "abcdefghijklmnop", "MIIEow"))


def test_service_text_redacts_before_it_cuts_so_no_half_secret_survives() -> None:
    text = "x" * 380 + f" AccountKey={KEY88}"
    kept = service_text(text, 400)
    assert len(kept) <= 400 and "Zm9v" not in kept


def test_control_characters_are_shown_as_escapes() -> None:
    assert printable("a\x1b[2Jb\x07c\rd\ne\x9bf\u202eg\ud800") == "a\\x1b[2Jb\\x07c\\rd\\ne\\x9bf\\u202eg\\ud800"
    assert service_text("one\r\ntwo\x1b]0;title\x07", 100) == "one two\\x1b]0;title\\x07"
    assert printable("plain text, äöü — fine") == "plain text, äöü — fine"


def test_the_console_prints_no_control_character_in_text_or_json() -> None:
    text = io.StringIO()
    Console(stream=text).line("ERROR on /x\x1b[2J\rauditor: exit 0\x9b2J\u2028\ud800")
    assert text.getvalue() == "auditor: ERROR on /x\\x1b[2J\\rauditor: exit 0\\x9b2J\\u2028\\ud800\n"

    lines = io.StringIO()
    Console(stream=lines, log_format="json").line("x\x1b[2J\x9b2J\u202e\ud800", event="e", resource_id="r\x9b")
    written = lines.getvalue()
    assert written.count("\n") == 1 and not any(c in written for c in "\x1b\x9b\u202e")
    record = json.loads(written)
    assert record["message"] == "x\x1b[2J\x9b2J\u202e\ud800" and record["resource_id"] == "r\x9b"  # same text
