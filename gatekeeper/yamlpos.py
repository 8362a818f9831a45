"""YAML with positions: load documents and find the line of any value by its path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Located:
    """One YAML document: its data and its node tree (for line numbers)."""

    data: Any
    node: yaml.Node | None

    def line(self, path: Sequence[Any], at_key: bool = False) -> int | None:
        where = locate(self.node, path, at_key)
        return where[0] if where else None


def locate(node: yaml.Node | None, path: Sequence[Any], at_key: bool = False) -> tuple[int, int] | None:
    """Line and column (1-based) of the value (or its key) at a path; the nearest parent if absent."""
    if node is None:
        return None
    best = node
    for part in path:
        found = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == str(part):
                    found = value_node
                    best = key_node if at_key else value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = node.value[part]
            best = found
        if found is None:
            break
        node = found
    return best.start_mark.line + 1, best.start_mark.column + 1


_NUMBERS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without YAML 1.1 sexagesimal numbers.

    Compose (compose-go) and Kubernetes read `user: 33:33` or `- 22:22` as strings; PyYAML alone
    would turn them into 2013 and 1342.
    """

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is yaml.ScalarNode and implicit[0] and tag in _NUMBERS and ":" in value:
            return "tag:yaml.org,2002:str"
        return tag


def load_all(text: str) -> list[Located]:
    """Every document of a (multi-document) YAML text, with positions. Raises yaml.YAMLError."""
    nodes = list(yaml.compose_all(text, Loader=_Loader))
    datas = list(yaml.load_all(text, Loader=_Loader))
    return [Located(d, n) for d, n in zip(datas, nodes, strict=False)]


def yaml_error(origin: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{origin}{where}: invalid YAML: {problem}"
