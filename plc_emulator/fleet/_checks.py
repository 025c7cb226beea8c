"""Whole-fleet checks after expansion: ids, addresses, and each RTU's parameters against its plant."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from plc_emulator.engine.params import ParamError, params_from_mapping
from plc_emulator.fleet.model import Gateway, RtuSpec
from plc_emulator.tagmap._reader import Reader, join

__all__ = ["check_fleet", "check_parameters", "nested"]


def _child(entry: Node | None, key: str) -> Node | None:
    if isinstance(entry, MappingNode):
        for k, v in entry.value:
            if isinstance(k, ScalarNode) and k.value == key and isinstance(v, Node):
                return v
    return entry


def check_fleet(r: Reader, rtus: Iterable[RtuSpec], gateways: Mapping[str, Gateway], rtus_node: Node | None) -> None:
    """Duplicate RTU ids; an own port used twice or also a gateway's; a unit id used twice on a gateway."""
    entries: dict[int, tuple[int, Node]] = {}
    if rtus_node is not None:
        for i, item in enumerate(rtus_node.value):
            entries.setdefault(item.start_mark.line + 1, (i, item))
    gateway_ports = {g.port: g.name for g in gateways.values()}
    ids: dict[str, RtuSpec] = {}
    ports: dict[int, RtuSpec] = {}
    units: dict[tuple[str, int], RtuSpec] = {}

    def report(rtu: RtuSpec, key: str, message: str) -> None:
        i, item = entries.get(rtu.source_line, (0, None))
        r.err(_child(item, key), join(join("rtus", i), key), message)

    for rtu in rtus:
        first = ids.setdefault(rtu.id, rtu)
        if first is not rtu:
            report(rtu, "id", f'duplicate RTU id "{rtu.id}" (first from line {first.source_line})')
        a = rtu.modbus
        if a.gateway is not None:
            other = units.setdefault((a.gateway, a.unit), rtu)
            if other is not rtu:
                report(rtu, "modbus", f'unit {a.unit} on gateway "{a.gateway}" is also RTU {other.id} '
                                      f"(line {other.source_line})")
            continue
        if a.port in gateway_ports:
            report(rtu, "modbus", f'RTU {rtu.id}: port {a.port} is gateway "{gateway_ports[a.port]}"\'s port')
            continue
        owner = ports.setdefault(a.port, rtu)
        if owner is not rtu:
            report(rtu, "modbus", f"RTU {rtu.id}: port {a.port} is also RTU {owner.id}'s (line {owner.source_line})")


def nested(dotted: Mapping[str, float], base: Mapping[str, Any]) -> dict[str, Any]:
    """``{"well.oil_rate_bpd": 1.0}`` merged over a ``process:`` mapping (the tag map's)."""
    out: dict[str, Any] = _copy(base)
    for path, value in dotted.items():
        parts = path.split(".")
        node = out
        for p in parts[:-1]:
            child = node.get(p)
            if not isinstance(child, dict):
                child = node[p] = {}
            node = child
        node[parts[-1]] = value
    return out


def _copy(m: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, Mapping) else v for k, v in m.items()}


def check_parameters(r: Reader, node: Node, path: str, tagmap: Any, rtus: list[RtuSpec]) -> None:
    """Each RTU's overrides against its tag map's plant; each distinct problem once, naming an RTU."""
    if not rtus or not rtus[0].parameters:
        return
    seen: set[str] = set()
    for rtu in rtus:
        try:
            params_from_mapping(nested(rtu.parameters, tagmap.process))
        except ParamError as exc:
            for where, message in exc.problems:
                if where in seen:
                    continue
                seen.add(where)
                r.err(_child(node, where), join(path, where), f"{message} (RTU {rtu.id})")
        if len(seen) >= 20:  # a bad constant fails every RTU alike: enough said
            return
