"""The stream reader parses exactly what json.loads parses, whatever the chunk boundaries, and refuses the rest."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest

from auditor.jsonstream import NotStreamable, read_object

DOCUMENTS = [
    '{"a": [1, 22, 333, -4.5e-3, 1E+2, 0, -0.0, true, false, null, "x"], "b": {"c": [1, 2]}, "n": 123456789}',
    '{\n  "findings": [\n    {"id": "\\u00e9\\ud83d\\ude00 \\"q\\" \\\\", "v": [[], {}, [[]]]},\n'
    '    {"id": "zoë ✓ 😀", "v": 1.5e300}\n  ],\n  "z": "end"\n}\n',
    '\r\n\t {"findings" : [ ] , "inventory":[{"k":NaN},{"k":Infinity},{"k":-Infinity}] } \n\n',
    '{}',
    '{"findings": {"not": "an array"}, "inventory": "neither", "x": [1, [2, [3]]]}',
    '{"findings": [12345678901234567890, 3.14159, "long ' + "s" * 50 + '", {"deep": [[[[1]]]]}]}',
]


def _loaded(text: str, keys: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    whole = json.loads(text)
    items = {k: whole[k] for k in keys if isinstance(whole.get(k), list)}
    envelope = {k: ([] if k in items else v) for k, v in whole.items()}
    return envelope, items


def _same(a: Any, b: Any) -> bool:
    """Equality that holds NaN equal to NaN (json.loads gives a fresh float each time)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("text", DOCUMENTS)
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 13, 1 << 20])
def test_every_chunking_reads_what_json_loads_reads(text: str, chunk: int) -> None:
    keys = ("findings", "inventory", "a")
    seen: dict[str, list[Any]] = {k: [] for k in keys}
    envelope = read_object(io.BytesIO(text.encode("utf-8")), {k: seen[k].append for k in keys}, chunk=chunk)
    want_envelope, want_items = _loaded(text, keys)
    assert _same(envelope, want_envelope)
    assert all(_same(seen[k], want_items.get(k, [])) for k in keys)


@pytest.mark.parametrize(("text", "why"), [
    ('\ufeff{"a": 1}', "a byte order mark, which json.loads refuses"),
    ('{"findings": [1], "findings": [2]}', "a key twice: json.loads keeps the last, the first was streamed"),
    ('{"a": 1}}', "extra data"),
    ('{"a": [1, 2}', "not JSON"),
    ('{"a": 1', "truncated"),
    ('[1, 2]', "not an object"),
    ('{"a": 1, }', "a trailing comma"),
    ('{"a": 1e}', "a malformed number"),
    ('{"n": ' + "9" * 5000 + "}", "an integer over the interpreter's digit limit"),
    ("", "empty"),
])
def test_what_json_loads_would_not_read_the_same_way_is_not_streamable(text: str, why: str) -> None:
    for chunk in (1, 4, 1 << 20):
        with pytest.raises(NotStreamable):
            read_object(io.BytesIO(text.encode("utf-8")), {"findings": lambda item: None}, chunk=chunk)


def test_text_that_is_not_utf8_is_not_streamable() -> None:
    for chunk in (1, 3, 1 << 20):
        with pytest.raises(NotStreamable):
            read_object(io.BytesIO(b'{"a": "caf\xe9"}'), {}, chunk=chunk)
        with pytest.raises(NotStreamable):  # a sequence cut off by the end of the file
            read_object(io.BytesIO(b'{"a": 1} \xe2\x9c'), {}, chunk=chunk)


def test_a_callback_error_propagates() -> None:
    def refuse(item: Any) -> None:
        raise KeyError(item)

    with pytest.raises(KeyError):
        read_object(io.BytesIO(b'{"findings": [{"a": 1}]}'), {"findings": refuse})
