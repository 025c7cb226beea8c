"""A small valid tag map that the broken-file tests break one line at a time (line numbers matter)."""

from __future__ import annotations

MINI = """\
name: mini
plant: Mini
scan_period: 100ms
seed: 1
epoch: "2026-01-01T00:00:00Z"
modbus: {unit_id: 1, word_order: ABCD}
process: {}
pm: {}
devices:
  SEP-V100:
    description: HP separator
    tags:
      inlet_pressure:
        signal: V100.pressure
        unit: PSI
        description: Inlet pressure
        kind: analog
        range: [0, 1500]
        access: ro
        modbus: {ref: 40001, format: float32, quality_ref: 40003}
        alarms: {lolo: 600, lo: 800, hi: 1250, hihi: 1400, deadband: 30, on_delay: 15s}
        historian: {deadband: 1, max_interval: 60s}
      LIC100_SP:
        signal: LIC100.sp
        unit: "%"
        description: Level setpoint
        kind: analog
        range: [0, 100]
        access: rw
        write_limits: [20, 80]
        modbus: {table: holding_register, address: 10, format: float32}
      LIC100_MODE:
        signal: LIC100.mode
        unit: ""
        description: Level loop mode
        kind: discrete
        states: [MAN, AUTO]
        range: [0, 1]
        access: rw
        write_limits: [0, 1]
        modbus: {table: coil, address: 0, format: bool}
  SEP-V200:
    tags:
      inlet_pressure:
        signal: V200.pressure
        unit: PSI
        description: Inlet pressure
        kind: analog
        range: [0, 500]
        access: ro
        modbus: {ref: 40005, format: float32, word_order: CDAB}
        modbus_mirrors: [{ref: 30001, format: uint16, raw_range: [0, 65535]}]
"""


def broken(old: str, new: str, *, nth: int = 1) -> str:
    """MINI with the ``nth`` occurrence of ``old`` replaced (it must occur at least that often)."""
    assert MINI.count(old) >= nth, old
    head, sep, tail = "", "", MINI
    for _ in range(nth):
        before, sep, tail = tail.partition(old)
        head += before + (sep if _ < nth - 1 else "")
    return head + new + tail
