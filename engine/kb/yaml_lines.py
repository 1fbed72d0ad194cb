"""YAML parsing that refuses duplicate keys and remembers the line of every key and item.

PyYAML's constructors silently keep the last of two equal keys, which would hide a reviewer's
edit; ruamel.yaml refuses them but its pure-Python parser takes seconds on a real pack. So we let
libyaml (C) compose the node tree and build plain dicts and lists from it ourselves.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping names the same key twice."""


class LineDict(dict[Any, Any]):
    """A mapping that knows the 1-based line of each of its keys."""

    line: int
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A sequence that knows the 1-based line of each of its items."""

    line: int
    item_lines: list[int]


_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """YAML 1.2 booleans: only true/false. In YAML 1.1 the answers ``yes``/``no`` became booleans."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


MAX_NODES = 500_000
"""Values one document may build. The largest bundled pack file builds about 40,000; a "billion
laughs" document (aliases of aliases) would build billions from a few hundred bytes, so it is
refused here, after a bounded amount of work, instead of exhausting memory."""
MAX_DEPTH = 200
"""Nesting levels; real files use fewer than ten, and deeper ones would exhaust the stack."""


class _Builder:
    """Plain dicts and lists from libyaml's node tree, counting every value built (aliases too)."""

    def __init__(self) -> None:
        self.constructor = yaml.constructor.SafeConstructor()
        self.built = 0

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        self.built += 1
        if self.built > MAX_NODES:
            raise yaml.MarkedYAMLError("while building the document", None,
                                       f"it expands to more than {MAX_NODES} values (aliases of aliases?); "
                                       "write the values out instead of repeating anchors", node.start_mark)
        if depth > MAX_DEPTH:
            raise yaml.MarkedYAMLError("while building the document", None,
                                       f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            sequence = LineList(self.build(item, depth + 1) for item in node.value)
            sequence.line = node.start_mark.line + 1
            sequence.item_lines = [item.start_mark.line + 1 for item in node.value]
            return sequence
        try:
            return self.constructor.construct_object(node, deep=True)
        except ValueError as exc:  # Python refuses integers of more than 4,300 digits
            problem = "a number with far more digits than any value needs" if "digits" in str(exc) else str(exc)
            raise yaml.MarkedYAMLError("while reading a value", None, problem, node.start_mark) from exc

    def _mapping(self, node: yaml.MappingNode, depth: int) -> LineDict:
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.build(key_node, depth + 1)
            if isinstance(key, dict | list):
                raise yaml.MarkedYAMLError("while constructing a mapping", node.start_mark,
                                           "found an unhashable key", key_node.start_mark)
            if key in mapping:
                raise DuplicateKeyError(
                    "while constructing a mapping", node.start_mark,
                    f'found duplicate key "{key}" (first on line {mapping.key_lines[key]})', key_node.start_mark,
                )
            mapping[key] = self.build(value_node, depth + 1)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping


def load(text: str) -> Any:
    """Parse one YAML document; raises ``yaml.MarkedYAMLError`` with a position on any problem."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _Builder().build(node)
    finally:
        loader.dispose()


def line_of(document: Any, path: list[str | int] | tuple[str | int, ...]) -> int | None:
    """The line of the deepest part of ``path`` that exists in the document."""
    node = document
    line: int | None = getattr(document, "line", None)
    for step in path:
        if isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            line, node = node.item_lines[step], node[step]
        elif isinstance(node, LineDict) and step in node:
            line, node = node.key_lines[step], node[step]
        else:
            break
    return line
