"""YAML with positions: load documents and find the line of any value by its path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from gatekeeper.text import quoted, scrub_surrogates


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
            pair = _keys(node).get(str(part))
            if pair is not None:
                found = pair[1]
                best = pair[0] if at_key else pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = node.value[part]
            best = found
        if found is None:
            break
        node = found
    return best.start_mark.line + 1, best.start_mark.column + 1


def _keys(node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """The mapping's (key node, value node) pairs by key text, first one first; built once per
    node and kept on it (a compose file with 20,000 services was a quadratic scan per lookup)."""
    index: dict[str, tuple[yaml.Node, yaml.Node]] | None = getattr(node, "_gk_keys", None)
    if index is None:
        index = {}
        for key_node, value_node in node.value:
            text = getattr(key_node, "value", None)
            if isinstance(text, str):
                index.setdefault(scrub_surrogates(text), (key_node, value_node))
        node._gk_keys = index  # type: ignore[attr-defined]
    return index


_NUMBERS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


class TooDeep(yaml.MarkedYAMLError):
    """The YAML nests deeper than the reader can follow (it would exhaust Python's stack)."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading YAML the way Compose (compose-go) and Kubernetes do.

    - no YAML 1.1 sexagesimal numbers: `user: 33:33` or `- 22:22` are strings, not 2013 and 1342;
    - mapping keys are the key's text as written: `on:`, `yes:`, `1:` and `null:` are the keys
      "on", "yes", "1" and "null" (YAML 1.1 would make them True, 1 and None); a list or a mapping
      as a key is an error;
    - a key written twice in one mapping is an error; keys brought in by a `<<` merge may be
      overridden by the mapping's own keys;
    - timestamps stay text (`expires: 2027-03-31` is the string, as the policy schema wants).
    """

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is yaml.ScalarNode and implicit[0] and tag in _NUMBERS and ":" in value:
            return "tag:yaml.org,2002:str"
        return tag

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's, with a scalar that its tag cannot read (`!!int abc`, `!!bool maybe`, an
        integer of 5,000 digits) a ConstructorError at that scalar, not a bare ValueError."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            if isinstance(exc, yaml.YAMLError) or not isinstance(node, yaml.ScalarNode):
                raise
            kind = str(node.tag).rpartition(":")[2] or str(node.tag)
            shown = quoted(node.value)
            why = " (too many digits)" if "digits" in str(exc) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"{shown} is not a valid {kind}{why}", node.start_mark
            ) from None

    def construct_scalar(self, node: yaml.Node) -> Any:
        """PyYAML's, with lone surrogates (a `"\\ud800"` escape) as U+FFFD: valid YAML, but no
        UTF-8 report could hold them."""
        value = super().construct_scalar(node)  # type: ignore[arg-type]
        return scrub_surrogates(value) if isinstance(value, str) else value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, but found {node.id}", node.start_mark
            )
        merged, own = self._pairs(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in merged:
            mapping[_key(key_node)] = self.construct_object(value_node, deep=deep)
        seen: set[str] = set()
        for key_node, value_node in own:
            key = _key(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def _pairs(
        self, node: yaml.MappingNode
    ) -> tuple[list[tuple[yaml.Node, yaml.Node]], list[tuple[yaml.Node, yaml.Node]]]:
        """(pairs from `<<` merges, lowest priority first; the mapping's own pairs).

        Like PyYAML's flatten_mapping, but without rewriting the node tree (its lines are still
        looked up by path afterwards).
        """
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        own: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                own.append((key_node, value_node))
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in reversed(sources):  # in a list of merges, the first one wins
                if not isinstance(source, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping or a list of mappings for merging, but found {source.id}",
                        source.start_mark,
                    )
                inner_merged, inner_own = self._pairs(source)
                merged += inner_merged + inner_own
        return merged, own


def _key(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "a mapping key must be a plain value, not a list or a mapping", node.start_mark
        )
    return scrub_surrogates(str(node.value))  # keys are shown (a service name) like values


def _timestamp_as_text(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor(_TIMESTAMP, _timestamp_as_text)


MAX_EXPANDED = 100_000
"""Values one document may hold once its aliases are expanded, when the aliases multiply it (10
times its own nodes or more). Aliases share what they point at while loading, but everything
that walks the data (schema validation, the parsers) sees each use: nine levels of ten aliases
("billion laughs") is 10**9 values from a 300-byte file. A large document without aliases, or
with a few, is not limited."""
ALIAS_FACTOR = 10


def _check_expansion(node: yaml.Node) -> None:
    """Raise a YAML error at the first node whose expanded size passes MAX_EXPANDED, when the
    whole document's expanded size is ALIAS_FACTOR times its distinct nodes or more."""
    sizes: dict[int, int] = {}
    first: list[yaml.Node] = []

    def size(current: yaml.Node) -> int:
        known = sizes.get(id(current))
        if known is not None:
            return known
        total = 1
        if isinstance(current, yaml.SequenceNode):
            total += sum(size(item) for item in current.value)
        elif isinstance(current, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in current.value)
        if total > MAX_EXPANDED and not first:
            first.append(current)
        sizes[id(current)] = total
        return total

    expanded = size(node)
    if first and expanded >= ALIAS_FACTOR * len(sizes):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"the document expands to more than {MAX_EXPANDED:,} values through its aliases",
            first[0].start_mark,
        )


def _too_deep(loader: _Loader) -> TooDeep:
    return TooDeep(problem="the YAML is nested too deeply", problem_mark=loader.get_mark())


def load_all(text: str) -> list[Located]:
    """Every document of a (multi-document) YAML text, with positions. Raises yaml.YAMLError."""
    loader = _Loader(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                _check_expansion(node)
            documents.append(Located(loader.construct_document(node), node))
        return documents
    except RecursionError:
        raise _too_deep(loader) from None
    finally:
        loader.dispose()


def load(text: str) -> Located:
    """The one document of a YAML text (an empty text is Located(None, None)). Raises yaml.YAMLError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node)
        data = loader.construct_document(node) if node is not None else None
        return Located(data, node)
    except RecursionError:
        raise _too_deep(loader) from None
    finally:
        loader.dispose()


def yaml_error(origin: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{origin}{where}: invalid YAML: {problem}"
