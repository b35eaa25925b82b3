"""A strict YAML reader for configs: safe tags only, each key once, bounded nesting and alias expansion.

PyYAML's ``safe_load`` silently keeps the last of two equal keys, builds recursive structures from
self-referencing anchors and lets a few aliases stand for millions of values (the "billion laughs"),
which later code then expands until it runs out of stack or memory. :func:`load_strict` reads one
document with ``SafeLoader`` and refuses all of these while the text is parsed, with the line of the
offending key or alias, before any value reaches the config layer.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 32  # nested mappings/lists; experiment configs use fewer than 8
MAX_VALUES = 100_000  # values once every alias is expanded; experiment configs hold a few hundred
MAX_NUMBER_DIGITS = 400  # longer numbers are refused (Python converts at most 4300 digits to an int)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class StrictYAMLError(yaml.MarkedYAMLError):
    """A YAML document the config layer refuses; ``problem`` and ``problem_mark`` say what and where."""


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` whose composer refuses nesting deeper than :data:`MAX_DEPTH` while it reads."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise StrictYAMLError(
                    problem=f"nesting deeper than {MAX_DEPTH} levels",
                    problem_mark=self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_strict(text: str) -> Any:
    """Parse one YAML document strictly; raise ``yaml.YAMLError`` (with a mark where known) on any fault.

    Refused beyond ``yaml.safe_load``: a key given twice in one mapping (the message names the dotted
    key and both lines), an anchor that contains its own alias, more than :data:`MAX_DEPTH` levels of
    nesting and more than :data:`MAX_VALUES` values after expanding aliases.
    """
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _Inspector().visit(node, "", 1)
        try:
            return loader.construct_document(node)
        except (ValueError, OverflowError) as exc:  # a scalar PyYAML matched but Python cannot convert
            raise StrictYAMLError(
                problem=f"cannot convert a value: {exc}", problem_mark=node.start_mark
            ) from exc
    finally:
        loader.dispose()


class _Inspector:
    """Walks the composed node graph once per node: duplicate keys, cycles, expanded depth and size."""

    def __init__(self) -> None:
        self._sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded values, expanded depth)
        self._active: set[int] = set()

    def visit(self, node: Node, path: str, depth: int) -> tuple[int, int]:
        """(values, depth) of ``node`` with aliases expanded; raises past the limits."""
        if id(node) in self._active:
            raise StrictYAMLError(
                problem=f"'{path or '<top>'}' refers to an anchor that contains it (a recursive alias)",
                problem_mark=node.start_mark,
            )
        known = self._sizes.get(id(node))
        if known is None:
            self._active.add(id(node))
            try:
                known = self._measure(node, path, depth)
            finally:
                self._active.discard(id(node))
            self._sizes[id(node)] = known
        if depth - 1 + known[1] > MAX_DEPTH:
            raise StrictYAMLError(
                problem=f"'{path or '<top>'}' nests deeper than {MAX_DEPTH} levels once aliases are expanded",
                problem_mark=node.start_mark,
            )
        return known

    def _measure(self, node: Node, path: str, depth: int) -> tuple[int, int]:
        if isinstance(node, ScalarNode):
            if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_DIGITS:
                raise StrictYAMLError(
                    problem=f"'{path or '<top>'}': a number of {len(node.value)} characters "
                    f"(at most {MAX_NUMBER_DIGITS})",
                    problem_mark=node.start_mark,
                )
            return 1, 1
        if isinstance(node, SequenceNode):
            children = [self.visit(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node.value)]
        elif isinstance(node, MappingNode):
            _check_unique_keys(node, path)
            children = []
            for key, value in node.value:
                children.append(self.visit(key, path, depth + 1))
                children.append(self.visit(value, _child_path(path, key), depth + 1))
        else:  # pragma: no cover - PyYAML composes only the three kinds
            return 1, 1
        size = 1 + sum(values for values, _ in children)
        if size > MAX_VALUES:
            raise StrictYAMLError(
                problem=f"'{path or '<top>'}' expands to more than {MAX_VALUES} values (anchors and aliases)",
                problem_mark=node.start_mark,
            )
        return size, 1 + max((d for _, d in children), default=0)


def _child_path(path: str, key: Node) -> str:
    name = key.value if isinstance(key, ScalarNode) else "<key>"
    if len(name) > 60:
        name = name[:57] + "..."
    return f"{path}.{name}" if path else name


def _check_unique_keys(node: MappingNode, path: str) -> None:
    seen: dict[tuple[str, str], Node] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
            continue
        identity = (key.tag, key.value)
        if identity in seen:
            first = seen[identity].start_mark.line + 1
            raise StrictYAMLError(
                problem=f"duplicate key '{_child_path(path, key)}' (first given at line {first}); "
                "a mapping takes each key once",
                problem_mark=key.start_mark,
            )
        seen[identity] = key
