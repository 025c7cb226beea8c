"""The plant file's connections, instruments, loops and interlocks: one entry each, as written."""

from __future__ import annotations

import re

from yaml.nodes import Node, SequenceNode

from plc_emulator.engine.plant._model import (
    Action,
    Condition,
    Connection,
    Instrument,
    Interlock,
    Loop,
    Where,
)
from plc_emulator.tagmap._reader import Fields, Reader, join

__all__ = ["INSTRUMENT_KEYS", "INTERLOCK_KEYS", "LOOP_KEYS", "connection", "instrument", "interlock", "loop",
           "where"]

INSTRUMENT_KEYS = ("measures", "unit", "range", "accuracy_pct", "bits", "comm_timeout_s", "field")
LOOP_KEYS = ("pv", "output", "sp", "kc", "ti", "td", "action", "mode", "out", "sp_limits")
INTERLOCK_KEYS = ("conditions", "acts_on", "latching", "delay_s")
CONDITION_KEYS = ("signal", "above", "below")
REF = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_]*$")
ARROW = re.compile(r"^\s*(\S+)\s*->\s*(\S+)\s*$")


def where(node: Node) -> Where:
    return Where(node.start_mark.line + 1, node.start_mark.column + 1)


def _ref(r: Reader, node: Node | None, path: str) -> str | None:
    """``UNIT.name``."""
    if node is None:
        return None
    text = r.text(node, path, nonempty=True)
    if text is None:
        return None
    if not REF.match(text):
        r.err(node, path, f'must be UNIT.name, e.g. V100.pressure (got "{text}")')
        return None
    return text


def connection(r: Reader, node: Node, path: str) -> Connection | None:
    """``- FROM_UNIT.port -> TO_UNIT.port``."""
    text = r.text(node, path, nonempty=True)
    if text is None:
        return None
    m = ARROW.match(text)
    if m is None or not (REF.match(m.group(1)) and REF.match(m.group(2))):
        r.err(node, path, f'must be "UNIT.port -> UNIT.port" (got "{text}")')
        return None
    (src, sp), (dst, dp) = (x.split(".", 1) for x in m.groups())
    return Connection(src=src, src_port=sp, dst=dst, dst_port=dp, where=where(node))


def _num(r: Reader, f: Fields, key: str, default: float, *, lo: float | None = None,
         hi: float | None = None) -> float:
    node = f.get(key)
    if node is None:
        return default
    v = r.number(node, f.at(key), lo=lo, hi=hi)
    return default if v is None else v


def _flag(r: Reader, f: Fields, key: str, default: bool) -> bool:
    node = f.get(key)
    v = None if node is None else r.boolean(node, f.at(key))
    return default if v is None else v


def instrument(r: Reader, name: str, key_node: Node, node: Node, path: str) -> Instrument | None:
    f = r.fields(node, path, allowed=INSTRUMENT_KEYS, required=("measures", "range"))
    if not f.ok:
        return None
    measures = _ref(r, f.get("measures"), f.at("measures"))
    unit_node = f.get("unit")
    unit = None if unit_node is None else r.text(unit_node, f.at("unit"))
    rng_node = f.get("range")
    rng = None if rng_node is None else r.pair(rng_node, f.at("range"))
    if rng is not None and rng[0] >= rng[1]:
        r.err(rng_node, f.at("range"), f"low end must be below the high end (got [{rng[0]:g}, {rng[1]:g}])")
        rng = None
    bits_node = f.get("bits")
    bits = None if bits_node is None else r.integer(bits_node, f.at("bits"), lo=8, hi=24)
    if measures is None or rng is None:
        return None
    return Instrument(name=name, measures=measures, unit=unit, range=rng,
                      accuracy_pct=_num(r, f, "accuracy_pct", 0.1, lo=0.0, hi=100.0),
                      bits=16 if bits is None else bits,
                      comm_timeout_s=_num(r, f, "comm_timeout_s", 10.0, lo=0.0, hi=86400.0),
                      field=_flag(r, f, "field", True), where=where(key_node))


def loop(r: Reader, name: str, key_node: Node, node: Node, path: str) -> Loop | None:
    f = r.fields(node, path, allowed=LOOP_KEYS, required=("pv", "output", "sp", "kc", "ti"))
    if not f.ok:
        return None
    pv = _ref(r, f.get("pv"), f.at("pv"))
    output = _ref(r, f.get("output"), f.at("output"))
    action = Action.DIRECT
    if (a := f.get("action")) is not None:
        action = r.choice(a, f.at("action"), Action) or Action.DIRECT
    auto = True
    if (m := f.get("mode")) is not None:
        text = r.text(m, f.at("mode"))
        if text not in (None, "AUTO", "MAN"):
            r.err(m, f.at("mode"), f'must be AUTO or MAN (got "{text}")')
        auto = text != "MAN"
    limits = None
    if (lim := f.get("sp_limits")) is not None:
        limits = r.pair(lim, f.at("sp_limits"))
        if limits is not None and limits[0] > limits[1]:
            r.err(lim, f.at("sp_limits"), f"low limit above the high limit (got [{limits[0]:g}, {limits[1]:g}])")
    if pv is None or output is None or "sp" not in f:
        return None
    sp = r.number(f.values["sp"], f.at("sp"))
    if sp is None:
        return None
    return Loop(name=name, pv=pv, output=output, sp=sp, kc=_num(r, f, "kc", 1.0, lo=0.0, hi=100.0),
                ti=_num(r, f, "ti", 120.0, lo=1.0, hi=1e6), td=_num(r, f, "td", 0.0, lo=0.0, hi=1e5),
                action=action, auto=auto, out=_num(r, f, "out", 50.0, lo=0.0, hi=100.0), sp_limits=limits,
                where=where(key_node))


def _condition(r: Reader, node: Node, path: str) -> Condition | None:
    f = r.fields(node, path, allowed=CONDITION_KEYS, required=("signal",))
    if not f.ok:
        return None
    signal = _ref(r, f.get("signal"), f.at("signal"))
    above = None if (n := f.get("above")) is None else r.number(n, f.at("above"))
    below = None if (n := f.get("below")) is None else r.number(n, f.at("below"))
    if "above" not in f and "below" not in f:
        r.err(node, path, "needs above: or below: (the trip threshold)")
        return None
    if signal is None or (above is None and below is None):
        return None
    return Condition(signal=signal, above=above, below=below, where=where(node))


def interlock(r: Reader, name: str, key_node: Node, node: Node, path: str) -> Interlock | None:
    f = r.fields(node, path, allowed=INTERLOCK_KEYS, required=("conditions",))
    if not f.ok:
        return None
    conds: list[Condition] = []
    cnode = f.get("conditions")
    if cnode is not None and not isinstance(cnode, SequenceNode):
        r.err(cnode, f.at("conditions"), "must be a list of {signal, above|below}")
    elif cnode is not None:
        conds = [c for i, item in enumerate(cnode.value)
                 if (c := _condition(r, item, join(f.at("conditions"), i))) is not None]
    acts: list[tuple[str, Where]] = []
    anode = f.get("acts_on")
    if anode is not None and not isinstance(anode, SequenceNode):
        r.err(anode, f.at("acts_on"), "must be a list of UNIT.port")
    elif anode is not None:
        for i, item in enumerate(anode.value):
            ref = _ref(r, item, join(f.at("acts_on"), i))
            if ref is not None:
                acts.append((ref, where(item)))
    return Interlock(name=name, conditions=tuple(conds), acts_on=tuple(acts),
                     latching=_flag(r, f, "latching", True),
                     delay_s=_num(r, f, "delay_s", 0.0, lo=0.0, hi=3600.0), where=where(key_node))


