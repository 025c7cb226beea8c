"""The YAML layer: compose once, keep every node's mark, read typed values and collect problems.

PyYAML's constructors lose positions and silently let a later duplicate key win, so the loader works
on the composed node tree instead. Every problem becomes one line
``FILE:LINE:COL: dotted.path: message (got VALUE)`` (1-based line and column).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["Fields", "Problems", "Reader", "compose", "did_you_mean", "join", "parse_duration"]

E = TypeVar("E", bound=StrEnum)

T_STR = "tag:yaml.org,2002:str"
T_INT = "tag:yaml.org,2002:int"
T_FLOAT = "tag:yaml.org,2002:float"
T_BOOL = "tag:yaml.org,2002:bool"
T_NULL = "tag:yaml.org,2002:null"
T_TIMESTAMP = "tag:yaml.org,2002:timestamp"
T_MAP = "tag:yaml.org,2002:map"
T_SEQ = "tag:yaml.org,2002:seq"
T_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = frozenset({T_STR, T_INT, T_FLOAT, T_BOOL, T_NULL, T_TIMESTAMP})

# Same grammar as plc_emulator.cli._common.parse_duration, copied so this package stays free of argparse.
_EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_SCALE: dict[str | None, float] = {
    "ms": 0.001,
    "s": 1.0,
    None: 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}


class _Bad:
    """Marks a value whose problem is already recorded."""


BAD = _Bad()
_MAX_PLAIN_NODES = 100_000  # bound on free mappings (process/pm): defeats alias "billion laughs"
_MAX_PLAIN_DEPTH = 64


def parse_duration(text: str) -> float | None:
    """``500ms``, ``30s``, ``2h``, ``7d`` (or a bare number of seconds) -> seconds; None if not a duration."""
    m = _DURATION.match(text)
    if not m:
        return None
    return float(m.group(1)) * _SCALE[m.group(2)]


def join(path: str, key: str | int) -> str:
    """Dotted path of a child: ``join("devices", "SEP-V100")``; list items as ``path[3]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean "kind"?)`` for the closest choice (case-insensitive), or nothing."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f' (did you mean "{by_lower[close[0]]}"?)' if close else ""


def show(node: Node) -> str:
    """How a value appears in ``(got ...)``: strings quoted, other scalars as written."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    text = str(node.value)
    if len(text) > 60:
        text = text[:57] + "..."
    if node.tag == T_STR:
        return '"' + text.replace('"', '\\"') + '"'
    if node.tag == T_NULL:
        return "null"
    return text


class Problems:
    """Every problem found, one formatted line each, reported in file order."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._items: list[tuple[int, int, int, str]] = []
        self._other: list[str] = []  # problems of another file this one refers to (a plant file)

    def add_lines(self, lines: Iterable[str]) -> None:
        """Already formatted ``FILE:LINE:COL`` lines of a referenced file; reported first."""
        self._other.extend(lines)

    def add(self, where: Node | yaml.Mark | tuple[int, int] | None, path: str, message: str) -> None:
        if isinstance(where, Node):
            line, col = where.start_mark.line + 1, where.start_mark.column + 1
        elif isinstance(where, yaml.Mark):
            line, col = where.line + 1, where.column + 1
        elif isinstance(where, tuple):
            line, col = where
        else:
            line, col = 1, 1
        prefix = f"{path}: " if path else ""
        self._items.append((line, col, len(self._items), f"{self.file}:{line}:{col}: {prefix}{message}"))

    def __bool__(self) -> bool:
        return bool(self._items or self._other)

    def lines(self) -> list[str]:
        out: list[str] = list(self._other)
        seen: set[str] = set()
        for *_, text in sorted(self._items):
            if text not in seen:  # a merged (<<) block can report the same problem twice
                seen.add(text)
                out.append(text)
        return out


def _line_col(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    line = before.count("\n") + 1
    return line, index - (before.rfind("\n") + 1) + 1


def compose(text: str, problems: Problems) -> Node | None:
    """The document's root node, or None (problem recorded) for a syntax error or an empty file."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or "syntax error"
        if exc.context and exc.context.startswith("while"):
            detail = f"{detail} ({exc.context})"
        elif exc.context:  # "expected a single document in the stream, but found another document"
            detail = f"{exc.context}, {detail}"
        problems.add(mark, "", f"YAML syntax error: {detail}")
        return None
    except yaml.reader.ReaderError as exc:
        problems.add(
            _line_col(text, exc.position),
            "",
            f"not a text file: special character {exc.character!r} is not allowed in YAML",
        )
        return None
    except yaml.YAMLError as exc:
        problems.add(None, "", f"YAML error: {exc}")
        return None
    except RecursionError:
        problems.add(None, "", "YAML nesting is too deep")
        return None
    if root is None:
        problems.add(None, "", "empty tag map (expected a mapping with name, plant, devices, ...)")
    return root


class Reader:
    """Typed access to composed nodes. Each getter returns None after recording a problem."""

    def __init__(self, file: str) -> None:
        self.problems = Problems(file)
        self._ctor = SafeConstructor()

    def err(self, where: Node | None, path: str, message: str) -> None:
        self.problems.add(where, path, message)

    # --- mappings -----------------------------------------------------------------------------
    def pairs(
        self, node: Node, path: str, *, _seen: frozenset[int] = frozenset()
    ) -> list[tuple[str, Node, Node]] | None:
        """(key, key node, value node) in order; duplicates reported and dropped; ``<<`` merged in."""
        if not isinstance(node, MappingNode) or node.tag not in (T_MAP,):
            self.err(node, path, f"must be a mapping (got {show(node)})")
            return None
        own: list[tuple[str, Node, Node]] = []
        merged: list[tuple[str, Node, Node]] = []
        first: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == T_MERGE:
                merged += self._merge(value_node, path, _seen | {id(node)})
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag not in (T_STR, T_INT, T_FLOAT, T_BOOL):
                self.err(key_node, path, f"keys must be plain names (got {show(key_node)})")
                continue
            key = str(key_node.value)
            if key in first:
                self.err(
                    key_node,
                    join(path, key),
                    f'duplicate key "{key}" (first at line {first[key].start_mark.line + 1})',
                )
                continue
            first[key] = key_node
            own.append((key, key_node, value_node))
        extra = [p for p in merged if p[0] not in first]
        taken = set(first)
        result = list(own)
        for p in extra:  # earlier merge sources win, as in YAML's merge-key rules
            if p[0] not in taken:
                taken.add(p[0])
                result.append(p)
        return result

    def _merge(self, value: Node, path: str, seen: frozenset[int]) -> list[tuple[str, Node, Node]]:
        sources = value.value if isinstance(value, SequenceNode) else [value]
        out: list[tuple[str, Node, Node]] = []
        for src in sources:
            if id(src) in seen:
                self.err(src, path, "merge key (<<) refers to the mapping that contains it")
                continue
            got = self.pairs(src, path, _seen=seen)
            if got:
                out += got
        return out

    def fields(
        self, node: Node, path: str, *, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> Fields:
        return Fields(self, node, path, allowed=allowed, required=required)

    # --- scalars ------------------------------------------------------------------------------
    def scalar(self, node: Node, path: str, what: str) -> object:
        """The Python value of a scalar node; problem + BAD for lists, mappings and bad tags."""
        if not isinstance(node, ScalarNode):
            self.err(node, path, f"must be {what} (got {show(node)})")
            return BAD
        if node.tag not in _SCALAR_TAGS:
            self.err(node, path, f"unsupported YAML tag {node.tag} (got {show(node)})")
            return BAD
        try:
            return self._ctor.yaml_constructors[node.tag](self._ctor, node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, IndexError):
            self.err(node, path, f"must be {what} (got {show(node)}, which YAML cannot read)")
            return BAD

    def text(self, node: Node, path: str, *, nonempty: bool = False) -> str | None:
        value = self.scalar(node, path, "a string")
        if value is BAD:
            return None
        if node.tag != T_STR or not isinstance(value, str):
            self.err(node, path, f"must be a string (got {show(node)}; quote it)")
            return None
        if nonempty and not value.strip():
            self.err(node, path, "must not be empty")
            return None
        return value

    def integer(self, node: Node, path: str, *, lo: int | None = None, hi: int | None = None) -> int | None:
        value = self.scalar(node, path, "an integer")
        if value is BAD:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.err(node, path, f"must be an integer (got {show(node)})")
            return None
        return self._bounded(node, path, value, lo, hi)

    def number(
        self, node: Node, path: str, *, lo: float | None = None, hi: float | None = None
    ) -> float | None:
        value = self.scalar(node, path, "a number")
        if value is BAD:
            return None
        if (
            isinstance(value, str)
            and isinstance(node, ScalarNode)
            and node.style is None
            and _EXPONENT.match(value)
        ):
            value = float(value)  # YAML 1.1 reads a plain 1e3 as a string; it is meant as a number
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.err(node, path, f"must be a number (got {show(node)})")
            return None
        if not math.isfinite(value):
            self.err(node, path, f"must be a finite number (got {show(node)})")
            return None
        return self._bounded(node, path, float(value), lo, hi)

    def _bounded(self, node: Node, path: str, value: _N, lo: float | None, hi: float | None) -> _N | None:
        if lo is not None and value < lo:
            self.err(node, path, f"must be >= {_num(lo)} (got {show(node)})")
            return None
        if hi is not None and value > hi:
            self.err(node, path, f"must be <= {_num(hi)} (got {show(node)})")
            return None
        return value

    def boolean(self, node: Node, path: str) -> bool | None:
        value = self.scalar(node, path, "true or false")
        if value is BAD:
            return None
        if not isinstance(value, bool):
            self.err(node, path, f"must be true or false (got {show(node)})")
            return None
        return value

    def choice(self, node: Node, path: str, enum: type[E]) -> E | None:
        names = [m.value for m in enum]
        value = self.scalar(node, path, "one of " + ", ".join(names))
        if value is BAD:
            return None
        if isinstance(value, str) and value in names:
            return enum(value)
        hint = did_you_mean(str(value), names)
        self.err(node, path, f"must be one of {', '.join(names)} (got {show(node)}){hint}")
        return None

    def duration(self, node: Node, path: str, *, positive: bool = False) -> float | None:
        """Seconds from ``500ms``/``30s``/``2h``/``7d`` or a bare number of seconds."""
        value = self.scalar(node, path, "a duration")
        if value is BAD:
            return None
        seconds: float | None = None
        if isinstance(value, str):
            seconds = parse_duration(value)
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            seconds = float(value) if value >= 0 else None
        if seconds is None:
            self.err(node, path, f"must be a duration such as 500ms, 30s, 2h, 7d (got {show(node)})")
            return None
        if positive and seconds <= 0:
            self.err(node, path, f"must be longer than 0 s (got {show(node)})")
            return None
        return seconds

    def pair(self, node: Node, path: str, *, integers: bool = False) -> tuple[float, float] | None:
        """``[lo, hi]``: a list of exactly two numbers."""
        what = "a list of two integers [lo, hi]" if integers else "a list of two numbers [min, max]"
        if not isinstance(node, SequenceNode) or len(node.value) != 2:
            got = f"a list of {len(node.value)}" if isinstance(node, SequenceNode) else show(node)
            self.err(node, path, f"must be {what} (got {got})")
            return None
        if integers:
            a: float | None = self.integer(node.value[0], join(path, 0))
            b: float | None = self.integer(node.value[1], join(path, 1))
        else:
            a = self.number(node.value[0], join(path, 0))
            b = self.number(node.value[1], join(path, 1))
        if a is None or b is None:
            return None
        return (a, b)

    def strings(self, node: Node, path: str) -> tuple[str, ...] | None:
        if not isinstance(node, SequenceNode):
            self.err(node, path, f"must be a list of names (got {show(node)})")
            return None
        out = [self.text(item, join(path, i), nonempty=True) for i, item in enumerate(node.value)]
        if any(s is None for s in out):
            return None
        return tuple(s for s in out if s is not None)

    def epoch(self, node: Node, path: str) -> float | None:
        """ISO 8601 UTC (``2026-01-01T00:00:00Z``) or Unix seconds -> Unix seconds."""
        value = self.scalar(node, path, "an ISO 8601 UTC time")
        if value is BAD:
            return None
        when: _dt.datetime | None = None
        if isinstance(value, _dt.datetime):
            when = value
        elif isinstance(value, str):
            try:
                when = _dt.datetime.fromisoformat(value.strip())
            except ValueError:
                when = None
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        if when is None:
            self.err(
                node, path, f"must be an ISO 8601 UTC time such as 2026-01-01T00:00:00Z (got {show(node)})"
            )
            return None
        offset = when.utcoffset()
        if offset is None or offset.total_seconds() != 0:
            self.err(node, path, f"must be in UTC, ending in Z or +00:00 (got {show(node)})")
            return None
        return when.timestamp()

    def plain(self, node: Node, path: str) -> object:
        """A free-form subtree (``process:``, ``pm:``) as plain dicts, lists and scalars."""
        budget = [_MAX_PLAIN_NODES]
        return self._plain(node, path, budget, 0)

    def _plain(self, node: Node, path: str, budget: list[int], depth: int) -> object:
        budget[0] -= 1
        if budget[0] < 0 or depth > _MAX_PLAIN_DEPTH:
            if budget[0] == -1 or depth == _MAX_PLAIN_DEPTH + 1:
                self.err(node, path, "too large or too deeply nested")
            return None
        if isinstance(node, MappingNode):
            got = self.pairs(node, path)
            if got is None:
                return None
            return {k: self._plain(v, join(path, k), budget, depth + 1) for k, _, v in got}
        if isinstance(node, SequenceNode):
            if node.tag != T_SEQ:
                self.err(node, path, f"unsupported YAML tag {node.tag}")
                return None
            return [self._plain(v, join(path, i), budget, depth + 1) for i, v in enumerate(node.value)]
        value = self.scalar(node, path, "a value")
        if value is BAD:
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.err(node, path, f"must be a finite number (got {show(node)})")
            return None
        if isinstance(value, _dt.date | bytes):
            return str(node.value)
        return value


_N = TypeVar("_N", int, float)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


class Fields:
    """The keys of one mapping node, checked for duplicate, unknown and missing keys."""

    def __init__(
        self, reader: Reader, node: Node, path: str, *, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> None:
        self.node = node
        self.path = path
        self.values: dict[str, Node] = {}
        self.keys: dict[str, Node] = {}
        got = reader.pairs(node, path)
        self.ok = got is not None
        if got is None:
            return
        for key, key_node, value_node in got:
            if key not in allowed and not key.startswith("x-"):
                reader.err(key_node, join(path, key), f'unknown key "{key}"{did_you_mean(key, allowed)}')
                continue
            self.values[key] = value_node
            self.keys[key] = key_node
        for name in required:
            if name not in self.values:
                reader.err(node, path, f'missing required field "{name}"')

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str) -> Node | None:
        return self.values.get(name)

    def at(self, name: str) -> str:
        return join(self.path, name)
