"""Reading the YAML files we are given (configuration, app specs, workflows, scenarios): a size-capped
read, one safe loader, and one clear line for anything wrong with them.

The loader refuses duplicate keys and keys that are not plain values, accepts merge keys
(``<<: *defaults``), and bounds the work a hostile file can cause: nesting deeper than
``MAX_DEPTH`` and documents whose aliases would expand to more than ``MAX_NODES`` nodes (a
430-byte "billion laughs" file expands to billions) are refused before anything walks them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from terp_actions.errors import BadInput

MAX_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 64
MAX_NODES: Final = 200_000
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


def read_text(path: Path, *, what: str = "file", limit: int = MAX_BYTES) -> str:
    """The text of ``path``: at most ``limit`` bytes of UTF-8, else one line saying what is wrong
    (so ``/dev/zero`` or a directory named like a file is refused, not read for ever)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise BadInput(f"{path}: the {what} cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > limit:
        raise BadInput(f"{path}: the {what} is larger than {limit // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: the {what} is not UTF-8 text (byte {exc.start})") from None


def parse(text: str, *, where: str) -> Any:
    """The YAML document in ``text``; any problem is BadInput naming ``where`` and the line."""
    import yaml  # noqa: PLC0415 - only when there is a file to read

    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise BadInput(f"{where}: {problem(exc)}") from None
    except RecursionError:
        raise BadInput(f"{where}: nested too deeply") from None
    finally:
        loader.dispose()


def load(path: Path, *, what: str = "file", where: str = "") -> tuple[str, Any]:
    """``read_text`` then ``parse``: the text and its YAML."""
    text = read_text(path, what=what)
    return text, parse(text, where=where or str(path))


def problem(exc: Exception) -> str:
    """A YAML error as one phrase with its line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    message = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {message}"
    return f"not valid YAML: {message}"


def locate(text: str, path: Sequence[str | int]) -> int:
    """The 1-based line of the key (or list item) at ``path`` in the YAML ``text`` — ``("on",
    "pull_request", "paths-ignore", 2)`` — or 0 when it is not there (or the text is not YAML)."""
    import yaml  # noqa: PLC0415

    loader = _loader()(text)
    try:
        node = loader.get_single_node()
    except (yaml.YAMLError, RecursionError):
        return 0
    finally:
        loader.dispose()
    line = 0
    for step in path:
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            found = next(
                ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == step), None
            )
            if found is None:
                return 0
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return 0
    return line


def _check_expansion(root: Any, where: str) -> None:
    """Refuse a document whose aliases expand it past MAX_NODES (each node counted once per use),
    or whose aliases refer to themselves (``a: &a [*a]`` would never end)."""
    import yaml  # noqa: PLC0415

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        kids = _children(node, yaml)
        if not children_done and kids:
            if id(node) in open_nodes:
                raise BadInput(f"{where}: an alias refers to the node that holds it; refused")
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids if id(kid) not in sizes)
            continue
        open_nodes.discard(id(node))
        sizes[id(node)] = 1 + sum(sizes.get(id(kid), 1) for kid in kids)
        if sizes[id(node)] > MAX_NODES:
            raise BadInput(f"{where}: aliases expand the document past {MAX_NODES:,} nodes; refused")


def _children(node: Any, yaml: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


@functools.cache
def _loader() -> type[Any]:
    """A SafeLoader with the limits and the key rules above."""
    import yaml  # noqa: PLC0415

    class Loader(yaml.SafeLoader):
        _depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                    raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} deep", mark)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark
                )
            key = loader.construct_object(key_node)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {line})", key_node.start_mark
                )
            seen.add(key)
        loader.flatten_mapping(node)  # merge keys: the mapping's own keys win, as YAML says
        return loader.construct_mapping(node)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Loader
