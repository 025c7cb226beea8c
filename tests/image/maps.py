"""Synthetic tag maps for codec and adapter tests: every format, word order, scaling and access."""

from __future__ import annotations

from plc_emulator.tagmap.model import (
    Access,
    Device,
    HistorianSettings,
    Location,
    ModbusPoint,
    ModbusSettings,
    OpcUaPoint,
    OpcUaSettings,
    Table,
    Tag,
    TagKind,
    TagMap,
    ValueFormat,
    WordOrder,
)

H, IR, C, D = Table.HOLDING_REGISTER, Table.INPUT_REGISTER, Table.COIL, Table.DISCRETE_INPUT
F32, I32, U16 = ValueFormat.FLOAT32, ValueFormat.INT32, ValueFormat.UINT16
BOOL = ValueFormat.BOOL


def make_tag(name: str, signal: str, point: ModbusPoint | None, *, access: Access = Access.RO,
             kind: TagKind = TagKind.ANALOG, rng: tuple[float, float] = (0.0, 100.0),
             limits: tuple[float, float] | None = None, states: tuple[str, ...] = (),
             device: str = "DEV") -> Tag:
    return Tag(device=device, name=name, signal=signal, unit="", description=f"test {name}", kind=kind,
               range=rng, access=access, write_limits=limits, states=states, precision=2, modbus=point,
               opcua=OpcUaPoint(browse_name=name, node_id=f"{device}.{name}"), alarms=None, historian=None,
               location=Location(file="test.yaml", line=1, col=1))


def make_map(tags: list[Tag], unit_id: int = 1, unknown_unit: str = "exception") -> TagMap:
    return TagMap(path="test.yaml", sha256="0" * 64, name="test", plant="Plant", description="",
                  scan_period=0.1, seed=1, epoch=0.0,
                  modbus=ModbusSettings(unit_id=unit_id, unknown_unit=unknown_unit),
                  opcua=OpcUaSettings(), historian=HistorianSettings(), process={}, pm={},
                  devices=(Device(name="DEV", description="", tags=tuple(tags)),))


def full_map(unit_id: int = 1, unknown_unit: str = "exception") -> TagMap:
    """Holding 0..: one ro float32 per word order (+quality), then rw points; input/coil/discrete too."""
    tags: list[Tag] = []
    addr = 0
    for fmt in (ValueFormat.FLOAT32, ValueFormat.INT32, ValueFormat.UINT32):
        for order in WordOrder:
            p = ModbusPoint(table=H, address=addr, format=fmt, word_order=order, quality_address=addr + 2)
            rng = (-1e6, 1e6) if fmt is not ValueFormat.UINT32 else (0.0, 4e9)
            tags.append(make_tag(f"ro_{fmt.value}_{order.value}", "V100.pressure", p, rng=rng))
            addr += 3
    # addr == 36: scaled 16-bit values
    tags.append(make_tag("ro_u16_scaled", "V100.oil_level",
                         ModbusPoint(table=H, address=addr, format=ValueFormat.UINT16, raw_range=(0, 10000),
                                     quality_address=addr + 1)))
    tags.append(make_tag("ro_i16_scaled", "V100.temperature",
                         ModbusPoint(table=H, address=addr + 2, format=ValueFormat.INT16,
                                     raw_range=(-1000, 1000)),
                         rng=(-50.0, 50.0)))
    tags.append(make_tag("ro_u16_plain", "runtime.heartbeat",
                         ModbusPoint(table=H, address=addr + 3, format=ValueFormat.UINT16), rng=(0, 65535)))
    # rw points from 40; 49..59 is a gap, holding 60 the last register
    tags.append(make_tag("sp_f32", "LIC100.sp", ModbusPoint(table=H, address=40, format=F32,
                                                            word_order=WordOrder.CDAB, quality_address=42),
                         access=Access.RW, limits=(20.0, 80.0)))
    tags.append(make_tag("sp_u16", "LIC200.sp", ModbusPoint(table=H, address=43, format=ValueFormat.UINT16,
                                                            raw_range=(0, 1000)),
                         access=Access.RW, limits=(20.0, 80.0)))
    tags.append(make_tag("mode", "LIC100.mode", ModbusPoint(table=H, address=44, format=ValueFormat.UINT16),
                         access=Access.RW, kind=TagKind.MULTISTATE, rng=(0, 1), limits=(0, 1),
                         states=("MAN", "AUTO")))
    tags.append(make_tag("speed_i32", "P100.speed_sp", ModbusPoint(table=H, address=45, format=I32,
                                                                   word_order=WordOrder.DCBA),
                         access=Access.RW, rng=(0, 3600), limits=(1500, 3600)))
    tags.append(make_tag("step", "runtime.step", ModbusPoint(table=H, address=47, format=ValueFormat.UINT16),
                         access=Access.RW, kind=TagKind.COUNTER, rng=(0, 65535), limits=(1, 65535)))
    # input registers
    tags.append(make_tag("ir_f32", "V200.pressure", ModbusPoint(table=IR, address=0, format=F32,
                                                                word_order=WordOrder.BADC, quality_address=2),
                         rng=(0, 500)))
    tags.append(make_tag("ir_u16", "V200.gas_flow", ModbusPoint(table=IR, address=3, format=U16,
                                                                raw_range=(0, 65535)), rng=(0, 30)))
    # coils and discrete inputs (quality of bits lives in holding registers)
    tags.append(make_tag("run_cmd", "P100.run_cmd", ModbusPoint(table=C, address=0, format=BOOL,
                                                                quality_address=48),
                         access=Access.RW, kind=TagKind.DISCRETE, rng=(0, 1), limits=(0, 1),
                         states=("STOP", "RUN")))
    tags.append(make_tag("esd_trip", "ESD.trip", ModbusPoint(table=C, address=1, format=BOOL),
                         access=Access.RW, kind=TagKind.DISCRETE, rng=(0, 1), limits=(0, 1),
                         states=("-", "TRIP")))
    tags.append(make_tag("esd_active", "ESD.active", ModbusPoint(table=C, address=2, format=BOOL),
                         kind=TagKind.DISCRETE, rng=(0, 1), states=("NORMAL", "TRIPPED")))
    tags.append(make_tag("slug", "well.slug_active", ModbusPoint(table=D, address=0, format=BOOL),
                         kind=TagKind.DISCRETE, rng=(0, 1), states=("NO", "YES")))
    tags.append(make_tag("esd_di", "ESD.active", ModbusPoint(table=D, address=5, format=BOOL),
                         kind=TagKind.DISCRETE, rng=(0, 1), states=("NORMAL", "TRIPPED")))
    tags.append(make_tag("far", "runtime.overruns", ModbusPoint(table=H, address=60, format=U16),
                         kind=TagKind.COUNTER, rng=(0, 65535)))
    tags.append(make_tag("no_modbus", "V300.pressure", None))
    return make_map(tags, unit_id=unit_id, unknown_unit=unknown_unit)
