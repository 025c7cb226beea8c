"""Devices and tags: signal binding, units, ranges, access, write limits, states, OPC UA."""

from __future__ import annotations

import re
from typing import Final

from yaml.nodes import Node, SequenceNode

from plc_emulator.engine.catalogue import Catalogue, SignalKind, SignalSpec, ValueType
from plc_emulator.signals import all_signals, lookup
from plc_emulator.tagmap._alarms import parse_alarms, parse_historian
from plc_emulator.tagmap._modbus import AddressBook, TagFacts, parse_point
from plc_emulator.tagmap._reader import Fields, Reader, did_you_mean, join, show
from plc_emulator.tagmap.model import (
    Access,
    Device,
    DeviceIdentification,
    Location,
    ModbusPoint,
    OpcUaPoint,
    Tag,
    TagKind,
    WordOrder,
)

__all__ = [
    "DEVICE_KEYS",
    "IDENTIFICATION_KEYS",
    "KNOWN_UNITS",
    "OPCUA_KEYS",
    "TAG_KEYS",
    "parse_devices",
]

DEVICE_KEYS = ("description", "word_order", "identification", "tags")
IDENTIFICATION_KEYS = ("manufacturer", "model", "serial_number", "hardware_revision", "software_revision")
TAG_KEYS = (
    "signal",
    "unit",
    "description",
    "kind",
    "range",
    "access",
    "write_limits",
    "states",
    "precision",
    "modbus",
    "modbus_mirrors",
    "opcua",
    "alarms",
    "historian",
    "retain",
)
TAG_REQUIRED = ("signal", "unit", "description", "kind", "range", "access")
OPCUA_KEYS = ("browse_name", "node_id", "historizing")

KNOWN_UNITS: Final[tuple[str, ...]] = tuple(
    sorted(
        {"PSI", "°C", "%", "MMSCFD", "bbl/day", "mm/s", "rpm", "s", "ms", "h", "kW/K", "x", "ticks", ""}
        | {s.unit for s in all_signals()}
    )
)
_DEVICE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _Registry:
    """Cross-tag facts: OPC UA node ids already taken, and the Modbus address book."""

    def __init__(self, catalogue: Catalogue | None) -> None:
        self.node_ids: dict[str, tuple[str, int]] = {}
        self.book = AddressBook()
        # None: the plant file did not load (its problems are reported); signals are not checked
        self.known = catalogue is not None
        self.catalogue = catalogue if catalogue is not None else Catalogue(name="(not loaded)", specs=())
        self.units = tuple(sorted({*KNOWN_UNITS, *(s.unit for s in self.catalogue.specs)}))


def parse_devices(r: Reader, node: Node, default_order: WordOrder,
                  catalogue: Catalogue | None) -> tuple[Device, ...]:
    """The devices; tag signals are checked against ``catalogue`` (the plant's) and the runtime's
    (None: the plant file failed to load, so its signals are unknown and not reported)."""
    reg = _Registry(catalogue)
    devices: list[Device] = []
    entries = r.pairs(node, "devices")
    if entries is None:
        return ()
    if not entries:
        r.err(node, "devices", "needs at least one device")
    for name, key_node, value in entries:
        path = join("devices", name)
        if not _DEVICE_NAME.match(name):
            r.err(
                key_node,
                path,
                f"device names are letters, digits, - and _, starting with a letter (got {name!r})",
            )
        dev = _parse_device(r, name, value, path=path, default_order=default_order, reg=reg)
        if dev is not None:
            devices.append(dev)
    return tuple(devices)


def _parse_device(
    r: Reader, name: str, node: Node, *, path: str, default_order: WordOrder, reg: _Registry
) -> Device | None:
    f = r.fields(node, path, allowed=DEVICE_KEYS, required=("tags",))
    if not f.ok:
        return None
    description = _opt_text(r, f, "description") or ""
    order = default_order
    if "word_order" in f:
        order = r.choice(f.values["word_order"], f.at("word_order"), WordOrder) or default_order
    tags: list[Tag] = []
    tags_node = f.get("tags")
    if tags_node is not None:
        entries = r.pairs(tags_node, f.at("tags"))
        for tag_name, key_node, value in entries or ():
            tpath = join(f.at("tags"), tag_name)
            if not _TAG_NAME.match(tag_name):
                r.err(
                    key_node,
                    tpath,
                    f"tag names are letters, digits and _, starting with a letter (got {tag_name!r})",
                )
            tag = _parse_tag(
                r, name, tag_name, key_node=key_node, node=value, path=tpath, order=order, reg=reg
            )
            if tag is not None:
                tags.append(tag)
        if entries is not None and not entries:
            r.err(tags_node, f.at("tags"), "needs at least one tag")
    return Device(name=name, description=description, tags=tuple(tags),
                  identification=_identification(r, f))


def _identification(r: Reader, f: Fields) -> DeviceIdentification:
    node = f.get("identification")
    if node is None:
        return DeviceIdentification()
    g = r.fields(node, f.at("identification"), allowed=IDENTIFICATION_KEYS)
    return DeviceIdentification(**{k: _opt_text(r, g, k, nonempty=True) for k in IDENTIFICATION_KEYS})


def _opt_text(r: Reader, f: Fields, key: str, *, nonempty: bool = False) -> str | None:
    node = f.get(key)
    return None if node is None else r.text(node, f.at(key), nonempty=nonempty)


def _signal(r: Reader, f: Fields, catalogue: Catalogue, known: bool) -> SignalSpec | None:
    node = f.get("signal")
    if node is None:
        return None
    name = r.text(node, f.at("signal"), nonempty=True)
    if name is None:
        return None
    spec = lookup(name, catalogue)
    if spec is None and known:
        hint = did_you_mean(name, [s.name for s in all_signals(catalogue)])
        r.err(node, f.at("signal"), f"unknown signal (got {show(node)}){hint}")
    return spec


def _parse_tag(
    r: Reader,
    device: str,
    name: str,
    *,
    key_node: Node,
    node: Node,
    path: str,
    order: WordOrder,
    reg: _Registry,
) -> Tag | None:
    f = r.fields(node, path, allowed=TAG_KEYS, required=TAG_REQUIRED)
    if not f.ok:
        return None
    key = f"{device}.{name}"
    spec = _signal(r, f, reg.catalogue, reg.known)
    unit = _unit(r, f, spec, reg.units if reg.known else ())
    description = _opt_text(r, f, "description")
    kind = None if "kind" not in f else r.choice(f.values["kind"], f.at("kind"), TagKind)
    rng = _range(r, f)
    access = None if "access" not in f else r.choice(f.values["access"], f.at("access"), Access)
    states = _states(r, f, kind, spec)
    if kind is not None and spec is not None:
        _check_kind(r, f, kind, spec)
    if access is Access.RW and spec is not None and spec.kind is not SignalKind.INPUT:
        r.err(
            f.values["access"],
            f.at("access"),
            f"rw tag bound to {spec.name}, which is a {spec.kind.value} signal, not a writable input",
        )
    write_limits = _write_limits(r, f, access, rng, spec)
    precision = 2 if kind in (None, TagKind.ANALOG) else 0
    if "precision" in f:
        got = r.integer(f.values["precision"], f.at("precision"), lo=0, hi=10)
        precision = precision if got is None else got

    facts = TagFacts(key=key, kind=kind, access=access, range=rng, signal=spec.name if spec else None)
    modbus: ModbusPoint | None = None
    if "modbus" in f:
        modbus = parse_point(
            r, f.values["modbus"], f.at("modbus"), tag=facts, word_order=order, book=reg.book
        )
    mirrors = _mirrors(r, f, facts, order, reg)
    opcua = _opcua(r, f, device, name, reg)
    alarms = (
        None
        if "alarms" not in f
        else parse_alarms(r, f.values["alarms"], f.at("alarms"), kind=kind, rng=rng, states=states)
    )
    historian = None if "historian" not in f else parse_historian(r, f.values["historian"], f.at("historian"))
    retain = _retain(r, f, access, spec)

    if (
        spec is None
        or unit is None
        or description is None
        or kind is None
        or rng is None
        or access is None
        or states is None
        or opcua is None
        or mirrors is None
    ):
        return None
    mark = key_node.start_mark
    return Tag(
        device=device,
        name=name,
        signal=spec.name,
        unit=unit,
        description=description,
        kind=kind,
        range=rng,
        access=access,
        write_limits=write_limits,
        states=states,
        precision=precision,
        modbus=modbus,
        modbus_mirrors=mirrors,
        opcua=opcua,
        alarms=alarms,
        historian=historian,
        retain=retain,
        location=Location(file=r.problems.file, line=mark.line + 1, col=mark.column + 1),
    )


# PLC memory kept over a warm restart unless the tag says otherwise: setpoints, modes, tuning and
# free memory registers/coils (``mem.*``, docs/modbus.md); commands, resets, manual outputs, watchdog
# and handshake points (``wd.*``, ``hs.*``) and link-fault controls (``comm.*``) start from their initial values
RETAINED_SUFFIXES: Final[tuple[str, ...]] = (".sp", "_sp", ".mode", ".kc", ".ti", ".td")
RETAINED_PREFIXES: Final[tuple[str, ...]] = ("mem.",)


def default_retain(signal: str) -> bool:
    return signal.endswith(RETAINED_SUFFIXES) or signal.startswith(RETAINED_PREFIXES)


def _retain(r: Reader, f: Fields, access: Access | None, spec: SignalSpec | None) -> bool:
    node = f.get("retain")
    if node is None:
        return access is Access.RW and spec is not None and default_retain(spec.name)
    got = r.boolean(node, f.at("retain"))
    if got and access is Access.RO:
        r.err(node, f.at("retain"), "applies to rw tags only (a ro tag is computed, not remembered)")
    return bool(got)


def _unit(r: Reader, f: Fields, spec: SignalSpec | None, known: tuple[str, ...]) -> str | None:
    """The tag's unit: one of ``known`` (empty: the plant's units are unknown, not checked)."""
    node = f.get("unit")
    if node is None:
        return None
    unit = r.text(node, f.at("unit"))
    if unit is None:
        return None
    if known and unit not in known:
        shown = ", ".join(u or '""' for u in known)
        r.err(
            node,
            f.at("unit"),
            f"unknown unit (got {show(node)}){did_you_mean(unit, known)}; known: {shown}",
        )
        return None
    if spec is not None and unit != spec.unit and not spec.name.startswith("mem."):  # free memory: any unit
        r.err(node, f.at("unit"), f'does not match {spec.name}, which is in "{spec.unit}" (got {show(node)})')
        return None
    return unit


def _range(r: Reader, f: Fields) -> tuple[float, float] | None:
    node = f.get("range")
    if node is None:
        return None
    got = r.pair(node, f.at("range"))
    if got is not None and got[0] >= got[1]:
        r.err(node, f.at("range"), f"min must be < max (got min={got[0]:g}, max={got[1]:g})")
        return None
    return got


def _states(r: Reader, f: Fields, kind: TagKind | None, spec: SignalSpec | None) -> tuple[str, ...] | None:
    node = f.get("states")
    multi = kind in (TagKind.DISCRETE, TagKind.MULTISTATE)
    if node is None:
        if multi and kind is not None:
            r.err(f.node, f.path, f'missing required field "states" (names by value for a {kind.value} tag)')
            return None
        return ()
    states = r.strings(node, f.at("states"))
    if states is None or kind is None:
        return None
    if not multi:
        r.err(node, f.at("states"), f"apply to discrete and multistate tags only (got kind {kind.value})")
        return None
    if kind is TagKind.DISCRETE and len(states) != 2:
        r.err(node, f.at("states"), f"a discrete tag has exactly 2 states (got {len(states)})")
        return None
    if spec is not None and spec.states and len(states) != len(spec.states):
        r.err(
            node,
            f.at("states"),
            f"{spec.name} has {len(spec.states)} states ({', '.join(spec.states)}) (got {len(states)})",
        )
        return None
    if len(states) < 2:
        r.err(node, f.at("states"), f"needs at least 2 state names (got {len(states)})")
        return None
    return states


def _check_kind(r: Reader, f: Fields, kind: TagKind, spec: SignalSpec) -> None:
    fits = {
        TagKind.ANALOG: (ValueType.FLOAT, ValueType.INT),
        TagKind.COUNTER: (ValueType.INT,),
        TagKind.DISCRETE: (ValueType.BOOL, ValueType.ENUM),
        TagKind.MULTISTATE: (ValueType.ENUM,),
    }[kind]
    if spec.vtype not in fits and not spec.name.startswith("mem."):  # free memory: any kind
        r.err(
            f.values["kind"],
            f.at("kind"),
            f"{kind.value} does not fit {spec.name}, which is a {spec.vtype.value} signal",
        )


def _write_limits(
    r: Reader, f: Fields, access: Access | None, rng: tuple[float, float] | None, spec: SignalSpec | None
) -> tuple[float, float] | None:
    node = f.get("write_limits")
    if node is None:
        if access is Access.RW:
            r.err(f.node, f.path, 'missing required field "write_limits" (every rw tag needs [min, max])')
        return None
    if access is Access.RO:
        r.err(node, f.at("write_limits"), "apply to rw tags only (this tag is ro)")
        return None
    got = r.pair(node, f.at("write_limits"))
    if got is None:
        return None
    lo, hi = got
    if lo > hi:
        r.err(node, f.at("write_limits"), f"min must be <= max (got [{lo:g}, {hi:g}])")
        return None
    if rng is not None and (lo < rng[0] or hi > rng[1]):
        r.err(
            node,
            f.at("write_limits"),
            f"outside the EU range [{rng[0]:g}, {rng[1]:g}] (got [{lo:g}, {hi:g}])",
        )
        return None
    if spec is not None and spec.limits is not None and (lo < spec.limits[0] or hi > spec.limits[1]):
        r.err(
            node,
            f.at("write_limits"),
            f"wider than {spec.name} allows [{spec.limits[0]:g}, {spec.limits[1]:g}] (got [{lo:g}, {hi:g}])",
        )
        return None
    return got


def _mirrors(
    r: Reader, f: Fields, facts: TagFacts, order: WordOrder, reg: _Registry
) -> tuple[ModbusPoint, ...] | None:
    node = f.get("modbus_mirrors")
    if node is None:
        return ()
    if not isinstance(node, SequenceNode):
        r.err(node, f.at("modbus_mirrors"), f"must be a list of Modbus points (got {show(node)})")
        return None
    ro = TagFacts(key=facts.key, kind=facts.kind, access=Access.RO, range=facts.range)
    out: list[ModbusPoint] = []
    for i, item in enumerate(node.value):
        p = parse_point(
            r, item, join(f.at("modbus_mirrors"), i), tag=ro, word_order=order, book=reg.book, mirror=True
        )
        if p is not None:
            out.append(p)
    return tuple(out) if len(out) == len(node.value) else None


def _opcua(r: Reader, f: Fields, device: str, name: str, reg: _Registry) -> OpcUaPoint | None:
    node = f.get("opcua")
    browse, node_id, historizing = name, f"{device}.{name}", False
    id_node: Node | None = None
    path = f.at("opcua")
    if node is not None:
        o = r.fields(node, path, allowed=OPCUA_KEYS)
        if not o.ok:
            return None
        ok = True
        if "browse_name" in o:
            got = r.text(o.values["browse_name"], o.at("browse_name"), nonempty=True)
            ok = got is not None
            browse = got or browse
        if "node_id" in o:
            got = r.text(o.values["node_id"], o.at("node_id"), nonempty=True)
            ok = ok and got is not None
            node_id = got or node_id
            id_node = o.values["node_id"]
            path = o.at("node_id")
        if "historizing" in o:
            hz = r.boolean(o.values["historizing"], o.at("historizing"))
            ok = ok and hz is not None
            historizing = bool(hz)
        if not ok:
            return None
    where = id_node if id_node is not None else f.node
    if node_id in reg.node_ids:
        owner, line = reg.node_ids[node_id]
        r.err(where, path, f'duplicate OPC UA node id "{node_id}" (also {owner}, line {line})')
        return None
    reg.node_ids[node_id] = (f"{device}.{name}", where.start_mark.line + 1)
    return OpcUaPoint(browse_name=browse, node_id=node_id, historizing=historizing)
