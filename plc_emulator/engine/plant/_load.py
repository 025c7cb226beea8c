"""Plant file YAML -> :class:`PlantFile`, recording every problem with its line and column.

Only what one entry can check on its own is checked here (keys, types, block kinds, parameter names
and physical ranges); the graph checks (ports, units, algebraic loops, loop PVs) are in ``_graph``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from yaml.nodes import Node, ScalarNode, SequenceNode

from plc_emulator.engine.blocks import LIBRARY, BlockSpec, Param, ParamType
from plc_emulator.engine.plant._model import PlantFile, Unit, Where
from plc_emulator.engine.plant._sections import connection, instrument, interlock, loop, where
from plc_emulator.engine.playback import RECORDINGS, PlaybackError
from plc_emulator.tagmap._reader import T_STR, Fields, Reader, did_you_mean, join

__all__ = ["TOP_KEYS", "parse_plant"]

TOP_KEYS = ("plant", "description", "units", "connections", "instruments", "loops", "interlocks")
UNIT_KEYS = ("block", "params", "initial", "description")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
T = TypeVar("T")


def parse_plant(r: Reader, root: Node) -> PlantFile | None:
    f = r.fields(root, "", allowed=TOP_KEYS, required=("plant", "units"))
    if not f.ok:
        return None
    name = _opt(f, "plant", lambda n: r.text(n, "plant", nonempty=True)) or ""
    desc = _opt(f, "description", lambda n: r.text(n, "description")) or ""
    broken: set[str] = set()
    units = _mapping(r, f.get("units"), "units", _unit, broken)
    conns = _list(r, f.get("connections"), "connections", connection)
    insts = _mapping(r, f.get("instruments"), "instruments", instrument, broken)
    loops = _mapping(r, f.get("loops"), "loops", loop, broken)
    locks = _mapping(r, f.get("interlocks"), "interlocks", interlock, broken)
    return PlantFile(name=name, description=desc, file=r.problems.file, units=units, connections=conns,
                     instruments=insts, loops=loops, interlocks=locks, broken=frozenset(broken))


def _opt(f: Fields, key: str, read: Callable[[Node], T | None]) -> T | None:
    node = f.get(key)
    return None if node is None else read(node)


def _mapping(r: Reader, node: Node | None, path: str,
             read: Callable[[Reader, str, Node, Node, str], T | None], broken: set[str]) -> tuple[T, ...]:
    if node is None or (isinstance(node, ScalarNode) and node.tag.endswith("null")):
        return ()
    pairs = r.pairs(node, path)
    out: list[T] = []
    for key, key_node, value in pairs or ():
        sub = join(path, key)
        if not NAME.match(key):
            r.err(key_node, sub, f"names are a letter then letters, digits, _ or - (got \"{key}\")")
            continue
        before = len(r.problems.lines())
        item = read(r, key, key_node, value, sub)
        if item is not None:
            out.append(item)
        if item is None or len(r.problems.lines()) > before:
            broken.add(sub)
    return tuple(out)


def _list(r: Reader, node: Node | None, path: str,
          read: Callable[[Reader, Node, str], T | None]) -> tuple[T, ...]:
    if node is None or (isinstance(node, ScalarNode) and node.tag.endswith("null")):
        return ()
    if not isinstance(node, SequenceNode):
        r.err(node, path, "must be a list")
        return ()
    items = (read(r, item, join(path, i)) for i, item in enumerate(node.value))
    return tuple(x for x in items if x is not None)


# --- units -------------------------------------------------------------------------------------------


def _unit(r: Reader, name: str, key_node: Node, node: Node, path: str) -> Unit | None:
    f = r.fields(node, path, allowed=UNIT_KEYS, required=("block",))
    if not f.ok or "block" not in f:
        return None
    block_node = f.values["block"]
    kind = r.text(block_node, f.at("block"), nonempty=True)
    if kind is None:
        return None
    spec = LIBRARY.get(kind)
    if spec is None:
        r.err(block_node, f.at("block"), f'unknown block "{kind}"{did_you_mean(kind, LIBRARY)}; '
              "plc-emulator blocks lists the library")
        return None
    params, pw = _values(r, f.get("params"), f.at("params"), spec.params, spec, "parameter")
    init_node = f.get("initial")
    steady = False
    initial: dict[str, float | tuple[float, ...]] = {}
    if isinstance(init_node, ScalarNode) and init_node.tag == T_STR and init_node.value == "steady":
        steady = True
        if not spec.steady:
            r.err(init_node, f.at("initial"), f"block {kind} cannot start at steady state; "
                  "give its initial values instead")
    else:
        initial, _ = _values(r, init_node, f.at("initial"), spec.initial, spec, "initial value")
    _ordered(r, spec, params, pw, path)
    _required(r, spec, f.get("params"), key_node, f.at("params"))
    return Unit(name=name, block=kind, params=params, initial=initial, steady=steady, where=where(key_node),
                param_where=pw)


def _values(r: Reader, node: Node | None, path: str, specs: tuple[Param, ...], spec: BlockSpec,  # noqa: PLR0917
            what: str) -> tuple[dict[str, float | tuple[float, ...]], dict[str, Where]]:
    out: dict[str, float | tuple[float, ...]] = {}
    locs: dict[str, Where] = {}
    if node is None:
        return out, locs
    by_name = {p.name: p for p in specs}
    pairs = r.pairs(node, path) or []
    # a file before its column: the column is looked up in the file
    pairs.sort(key=lambda kv: (q := by_name.get(kv[0])) is None or q.kind is not ParamType.PATH)
    file = next((q.name for q in specs if q.kind is ParamType.PATH), "")
    for key, key_node, value in pairs:
        sub = join(path, key)
        p = by_name.get(key)
        if p is None:
            names = ", ".join(by_name) or "none"
            r.err(key_node, sub, f'unknown {what} "{key}" for block {spec.kind}{did_you_mean(key, by_name)} '
                  f"(valid: {names})")
            continue
        if isinstance(value, SequenceNode):
            got = [_one(r, item, join(sub, i), p, out.get(file)) for i, item in enumerate(value.value)]
            if not got:
                r.err(value, sub, "a per-row list needs at least one value")
            elif all(g is not None for g in got):
                out[key] = tuple(float(g) for g in got if g is not None)
                locs[key] = where(value)
            continue
        v = _one(r, value, sub, p, out.get(file))
        if v is not None:
            out[key] = v
            locs[key] = where(value)
    return out, locs


def _one(r: Reader, node: Node, path: str, p: Param, recording: float | tuple[float, ...] | None) -> float | None:
    """One value; ``recording`` is the handle(s) of the unit's file (read first) for a column."""
    if p.kind is ParamType.PATH:
        return _recording(r, node, path)
    if p.kind is ParamType.COLUMN:
        return _column(r, node, path, recording)
    if p.kind is ParamType.BOOL:
        b = r.boolean(node, path)
        return None if b is None else float(b)
    if p.kind is ParamType.CHOICE:
        s = r.text(node, path)
        if s is None:
            return None
        if s not in p.choices:
            r.err(node, path, f"must be one of {', '.join(p.choices)} (got \"{s}\"){did_you_mean(s, p.choices)}")
            return None
        return float(p.choices.index(s))
    if p.kind is ParamType.INT:
        i = r.integer(node, path)
        v: float | None = None if i is None else float(i)
    else:
        v = r.number(node, path)
    if v is None:
        return None
    if not p.lo <= v <= p.hi:
        r.err(node, path, f"outside the physical range {p.range_text()} {p.unit} (got {v:g})".replace("  ", " "))
        return None
    return v


def _recording(r: Reader, node: Node, path: str) -> float | None:
    """A file relative to the plant file, loaded now: its handle, or a problem naming the place."""
    text = r.text(node, path, nonempty=True)
    if text is None:
        return None
    base = Path(r.problems.file).parent
    try:
        return float(RECORDINGS.load(base / text))
    except PlaybackError as exc:
        r.err(node, path, f'bad recording "{text}": {exc}')
        return None


def _column(r: Reader, node: Node, path: str, handles: float | tuple[float, ...] | None) -> float | None:
    """A column name of the unit's recording: its index. Without a readable file the file's own
    problem is the one reported."""
    text = r.text(node, path, nonempty=True)
    if text is None or handles is None:
        return None
    found: set[int] = set()
    for h in handles if isinstance(handles, tuple) else (handles,):
        columns = RECORDINGS.get(int(h)).columns
        if text not in columns:
            r.err(node, path, f'no column "{text}" in the recording (columns: {", ".join(columns)})'
                  f"{did_you_mean(text, columns)}")
            return None
        found.add(columns.index(text))
    if len(found) > 1:
        r.err(node, path, f'column "{text}" is at different places in the per-row recordings')
        return None
    return float(found.pop())


def _required(r: Reader, spec: BlockSpec, node: Node | None, key_node: Node, path: str) -> None:
    """A path parameter has no default (a problem with a given one is already reported)."""
    given = {k for k, _, _ in r.pairs(node, path) or ()} if node is not None else set()  # repeats deduplicated
    for p in spec.params:
        if p.kind is ParamType.PATH and p.name not in given:
            r.err(node or key_node, path, f"block {spec.kind} needs {p.name}: ({p.description})")


def _ordered(r: Reader, spec: BlockSpec, params: dict[str, float | tuple[float, ...]],
             locs: dict[str, Where], path: str) -> None:
    """Parameter pairs the physics needs in order (e.g. water_cut_initial < water_cut_max)."""
    for lo_name, hi_name, strict in ORDERED.get(spec.kind, ()):
        lo = params.get(lo_name, _default(spec, lo_name))
        hi = params.get(hi_name, _default(spec, hi_name))
        lo_max = max(lo) if isinstance(lo, tuple) else lo
        hi_min = min(hi) if isinstance(hi, tuple) else hi
        if lo_max > hi_min or (strict and lo_max == hi_min):
            at = locs.get(lo_name) or locs.get(hi_name)
            word = "below" if strict else "at most"
            r.problems.add((at.line, at.col) if at else None, join(join(path, "params"), lo_name),
                  f"must be {word} {hi_name} (got {lo_max:g} and {hi_min:g})")


def _default(spec: BlockSpec, name: str) -> float:
    p = spec.param(name)
    return p.default if p is not None else 0.0


ORDERED: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "well": (("water_cut_initial", "water_cut_max", True), ("length_min_d", "length_max_d", False),
             ("holdup_min", "holdup_max", False), ("severe_cycles_min", "severe_cycles_max", False)),
    "pump": (("zone_ab", "zone_bc", True), ("zone_bc", "zone_cd", True)),
    "pid": (("pv_lo", "pv_hi", True), ("sp_lo", "sp_hi", False)),
    "transmitter": (("lo", "hi", True),),
}
