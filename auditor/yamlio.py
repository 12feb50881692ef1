"""YAML loading that remembers where every value came from.

User files (rules, policies, waivers) must be rejected with file, line and field. PyYAML's
composed node tree carries the marks; ``LocatedYaml.line_of`` walks it by field path.
"""

from __future__ import annotations

from collections.abc import Sequence
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
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror or e}", file=str(path)) from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text: {e}", file=str(path)) from e
    return parse_yaml(text, str(path))


def parse_yaml(text: str, file: str) -> LocatedYaml:
    loader = _Loader(text)
    try:  # parse once: the node tree keeps the line marks, the data is constructed from it
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"YAML syntax error: {e.problem or e}", file=file, line=line) from e
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML error: {e}", file=file) from e
    finally:
        loader.dispose()
    return LocatedYaml(file, data, root)
