"""YAML loading that remembers where every value came from, and refuses hostile shapes.

User files (rules, policies, waivers) must be rejected with file, line and field. PyYAML's
composed node tree carries the marks; ``LocatedYaml.line_of`` walks it by field path.

A YAML file is untrusted input: a few hundred bytes of nested anchors and aliases ("billion laughs")
stand for billions of values, which any walk, copy or message over them expands. Before anything is
composed, the event stream is checked in bounded memory (``check_shape``): a file over ``MAX_BYTES``,
over ``MAX_NODES`` nodes or nested deeper than ``MAX_DEPTH``, an alias to a node that contains it
(a recursive value), or aliases that together stand for more than ``MAX_ALIAS_NODES`` nodes or
``MAX_ALIAS_CHARS`` characters of text are a ConfigError naming the file and line. Error messages
quote values through ``brief``, which never builds more than a few dozen characters of any value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import ConfigError

# libyaml's parser when PyYAML was built with it (the wheels are): the pure-Python scanner costs
# seconds over the whole catalog. Both build the same safe types and carry the same line marks.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """A safe loader that keeps dates as text: the caller validates them and names the field."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class LocatedYaml:
    file: str
    data: Any
    root: yaml.Node | None

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """1-based line of the value at ``path`` (or of its deepest existing parent)."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                nxt = None
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        nxt = value
                        line = key.start_mark.line + 1
                        break
                if nxt is None:
                    return line
                node = nxt
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def error(self, message: str, path: Sequence[str | int]) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line_of(path), field=field_name(path) or None)


def field_name(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(path: Path) -> LocatedYaml:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror or e}", file=str(path)) from e
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"larger than {MAX_BYTES:,} bytes: not read", file=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text: {e.reason} at byte {e.start}", file=str(path)) from e
    return parse_yaml(text, str(path))


def parse_yaml(text: str, file: str) -> LocatedYaml:
    if len(text) > MAX_BYTES:  # characters: at least as many bytes
        raise ConfigError(f"larger than {MAX_BYTES:,} bytes: not read", file=file)
    try:
        check_shape(text, file)
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(e, file) from e
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML error: {_cut(str(e))}", file=file) from e
    loader = _Loader(text)
    try:  # parse once: the node tree keeps the line marks, the data is constructed from it
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(e, file) from e
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML error: {_cut(str(e))}", file=file) from e
    except ValueError as e:  # e.g. an integer of more digits than Python converts (4,300)
        raise ConfigError(f"YAML value error: {_cut(str(e))}", file=file) from e
    finally:
        loader.dispose()
    return LocatedYaml(file, data, root)


def _syntax_error(e: yaml.MarkedYAMLError, file: str) -> ConfigError:
    mark = e.problem_mark or e.context_mark
    line = mark.line + 1 if mark is not None else None
    return ConfigError(f"YAML syntax error: {_cut(str(e.problem or e))}", file=file, line=line)


# --- bounds ---------------------------------------------------------------------------------------

MAX_BYTES = 2 * 1024 * 1024  # the largest shipped rule file is under 4 KB; a waivers file of 10,000 entries ~2 MB
MAX_NODES = 250_000  # values, keys included, as written (before aliases)
MAX_DEPTH = 64  # nesting of mappings and sequences
MAX_ALIAS_NODES = 10_000  # nodes that aliases add, counted as if expanded
MAX_ALIAS_CHARS = 1024 * 1024  # characters of scalar text that aliases add, counted as if expanded


@dataclass
class _Open:
    """A mapping or sequence being read: its anchor and what it holds when expanded."""

    anchor: str | None
    nodes: int = 1
    chars: int = 0


def check_shape(text: str, file: str) -> None:
    """Refuse, in one pass over the parser's events and in memory bounded by the nesting, a document whose
    size, depth or alias expansion is beyond the bounds above. YAML syntax errors propagate as PyYAML's."""
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, chars) of its value, expanded
    stack: list[_Open] = []
    nodes = alias_nodes = alias_chars = 0

    def refuse(message: str, event: yaml.Event) -> ConfigError:
        mark = event.start_mark
        return ConfigError(message, file=file, line=mark.line + 1 if mark is not None else None)

    for event in _events(text):
        if isinstance(event, yaml.AliasEvent):
            anchor = str(event.anchor)
            if any(o.anchor == anchor for o in stack):
                raise refuse(f"the alias *{_cut(anchor, 40)} refers to a value that contains it (a recursive "
                             "value): refused", event)
            size = sizes.get(anchor)
            if size is None:
                continue  # an undefined alias: composing reports it with its line
            alias_nodes += size[0]
            alias_chars += size[1]
            if alias_nodes > MAX_ALIAS_NODES or alias_chars > MAX_ALIAS_CHARS:
                raise refuse(f"aliases expand to more than {MAX_ALIAS_NODES:,} values or {MAX_ALIAS_CHARS:,} "
                             "characters (an alias bomb?): refused; write the values out", event)
            _add(stack, *size)
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            size = (1, len(event.value))
            if event.anchor is not None:
                sizes[str(event.anchor)] = size
            _add(stack, *size)
        elif isinstance(event, yaml.CollectionStartEvent):
            nodes += 1
            if event.anchor is not None:
                sizes.pop(str(event.anchor), None)
            stack.append(_Open(None if event.anchor is None else str(event.anchor)))
            if len(stack) > MAX_DEPTH:
                raise refuse(f"nested deeper than {MAX_DEPTH} levels: refused", event)
        elif isinstance(event, yaml.CollectionEndEvent):
            done = stack.pop()
            if done.anchor is not None:
                sizes[done.anchor] = (done.nodes, done.chars)
            _add(stack, done.nodes, done.chars)
        if nodes > MAX_NODES:
            raise refuse(f"more than {MAX_NODES:,} values: refused", event)


def _events(text: str) -> Iterator[yaml.Event]:
    loader = _Loader(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


def _add(stack: list[_Open], nodes: int, chars: int) -> None:
    if stack:
        stack[-1].nodes += nodes
        stack[-1].chars += chars


# --- quoting values in messages -------------------------------------------------------------------

BRIEF = 80  # characters of a value quoted in a message


def brief(value: Any, limit: int = BRIEF) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters (with ``...``), built without
    walking more of ``value`` than those characters need: a whole value is never rendered."""
    out: list[str] = []
    left = limit + 1
    for piece in _repr_pieces(value, depth=0):
        out.append(piece[:left])
        left -= len(piece)
        if left <= 0:
            return "".join(out)[:limit] + "..."
    return "".join(out)


def _repr_pieces(value: Any, depth: int) -> Iterator[str]:
    if isinstance(value, str):
        yield repr(value[: BRIEF * 4]) if len(value) <= BRIEF * 4 else repr(value[: BRIEF * 4])[:-1] + "..."
    elif depth > 8 and isinstance(value, Mapping | list | tuple):
        yield "[...]" if isinstance(value, list | tuple) else "{...}"
    elif isinstance(value, Mapping):
        yield "{"
        for i, (k, v) in enumerate(value.items()):
            yield ", " if i else ""
            yield from _repr_pieces(k, depth + 1)
            yield ": "
            yield from _repr_pieces(v, depth + 1)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "[" if isinstance(value, list) else "("
        for i, v in enumerate(value):
            yield ", " if i else ""
            yield from _repr_pieces(v, depth + 1)
        yield "]" if isinstance(value, list) else ",)" if len(value) == 1 else ")"
    elif isinstance(value, int) and value.bit_length() > 256:
        yield f"<an integer of {value.bit_length()} bits>"
    else:
        yield repr(value)


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
