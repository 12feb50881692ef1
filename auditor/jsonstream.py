"""Read a large JSON object from a file in pieces: its big top-level arrays item by item, the rest whole.

``json.loads`` of a 150 MB findings.json holds the file's bytes, its text and every parsed finding at
once (over 600 MB). :func:`read_object` keeps about a megabyte of text: it walks the top-level object
itself and hands each item of the arrays it is asked to stream to a callback as soon as it is parsed,
with the standard library's own decoder (``JSONDecoder.raw_decode``), so every value is exactly the
value ``json.loads`` builds.

It reads only what it can read exactly like ``json.loads``: on anything else (text that is not UTF-8
or not JSON, a byte order mark, a top-level key given twice, whose last value ``json.loads`` would keep
after the first was streamed) it raises :class:`NotStreamable`, and the caller reads the file whole,
which produces the error ``json.loads`` gives, with its line and column.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Mapping
from typing import IO, Any

CHUNK = 1 << 20  # characters decoded per read

_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace: what json.loads skips
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")  # what may still follow a number's first characters
_DECODER = json.JSONDecoder()  # json.loads' default decoder: the same parse as json.loads


class NotStreamable(Exception):  # noqa: N818 - a verdict on the input, not a failure of this module
    """The file is not a JSON object this reader reads exactly as ``json.loads`` does: read it whole."""


class _Text:
    """The file's text, decoded as UTF-8 in chunks: ``buf[pos:]`` is what has not been consumed."""

    def __init__(self, stream: IO[bytes], chunk: int) -> None:
        self._stream = stream
        self._decode = codecs.getincrementaldecoder("utf-8")("strict").decode
        self._chunk = chunk
        self.buf = ""
        self.pos = 0
        self.eof = False

    def more(self, size: int) -> None:
        """Append at least ``size`` more bytes' text (or reach the end of the file)."""
        if self.eof:
            raise NotStreamable("unexpected end of the text")
        data = self._stream.read(max(size, self._chunk))
        try:
            text = self._decode(data, not data)
        except UnicodeDecodeError as exc:
            raise NotStreamable(str(exc)) from exc
        self.buf = self.buf[self.pos:] + text
        self.pos = 0
        self.eof = not data

    def skip_space(self) -> str:
        """Skip whitespace; the next character, or "" at the end of the text."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr] # always matches
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return ""
            self.more(self._chunk)

    def expect(self, allowed: str) -> str:
        char = self.skip_space()
        if not char or char not in allowed:
            raise NotStreamable(f"expected one of {allowed!r}")
        self.pos += 1
        return char

    def value(self) -> Any:
        """The JSON value after the current position (and whitespace), as ``json.loads`` parses it."""
        size = self._chunk
        self.skip_space()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise NotStreamable(str(exc)) from exc
                self.more(size)  # the value may continue in the next chunk: parse it again with more text
                size *= 2  # doubling: a huge value costs O(n), not O(n^2) re-parses
                continue
            except (ValueError, RecursionError) as exc:  # e.g. an integer over the digit limit
                raise NotStreamable(str(exc)) from exc
            if not self.eof and type(value) in (int, float) and _NUMBER_TAIL.fullmatch(self.buf, end):
                self.more(size)  # "12" of "123", or "1" of "1.5e3": the number may go on
                size *= 2
                continue
            self.pos = end
            return value


def read_object(stream: IO[bytes], streamed: Mapping[str, Callable[[Any], None]], *,
                chunk: int = CHUNK) -> dict[str, Any]:
    """The top-level JSON object in ``stream`` (UTF-8), with each array under a key of ``streamed`` passed
    item by item to that key's callback, in order, and left empty (``[]``) in the object returned.

    A streamed key whose value is not an array is returned as parsed, without callback. Raises
    :class:`NotStreamable` as described in the module; exceptions of the callbacks propagate.
    """
    text = _Text(stream, chunk)
    document: dict[str, Any] = {}
    text.expect("{")
    if text.skip_space() == "}":
        text.pos += 1
    else:
        while True:
            if text.skip_space() != '"':
                raise NotStreamable("expected a key")
            key = text.value()
            if key in document:
                raise NotStreamable(f"the key {key!r} is given twice")
            text.expect(":")
            callback = streamed.get(key)
            if callback is not None and text.skip_space() == "[":
                text.pos += 1
                document[key] = []
                if text.skip_space() == "]":
                    text.pos += 1
                else:
                    while True:
                        callback(text.value())
                        if text.expect(",]") == "]":
                            break
            else:
                document[key] = text.value()
            if text.expect(",}") == "}":
                break
    if text.skip_space():
        raise NotStreamable("extra data after the object")
    return document
