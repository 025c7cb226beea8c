"""What a SCADA master polls in a fleet: per RTU, host, port, unit id and its holding register span.

The lines feed the C fleet poller (``tools/mbfleet``): ``HOST PORT UNIT START COUNT``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from plc_emulator.fleet.model import RtuSpec
from plc_emulator.tagmap.model import Table, TagMap

__all__ = ["holding_span", "poll_lines"]


def holding_span(tagmap: TagMap) -> tuple[int, int]:
    """(first address, count) covering every holding register of the tag map (values, mirrors, quality)."""
    lo, hi = 65536, -1
    for tag in tagmap.tags:
        for p in (tag.modbus, *tag.modbus_mirrors):
            if p is None or p.table is not Table.HOLDING_REGISTER:
                continue
            last = p.address + p.count - 1
            if p.quality_address is not None:
                last = max(last, p.quality_address)
            lo, hi = min(lo, p.address), max(hi, last)
    return (0, 0) if hi < 0 else (lo, hi - lo + 1)


def poll_lines(rtus: Iterable[RtuSpec], host: str, load: Callable[[Path], TagMap]) -> list[str]:
    """One ``HOST PORT UNIT START COUNT`` line per RTU with holding registers (tag maps loaded once)."""
    spans: dict[Path, tuple[int, int]] = {}
    out = []
    for rtu in rtus:
        if rtu.tagmap not in spans:
            spans[rtu.tagmap] = holding_span(load(rtu.tagmap))
        start, count = spans[rtu.tagmap]
        if count:
            out.append(f"{host} {rtu.modbus.port} {rtu.modbus.unit} {start} {count}")
    return out
