"""The default tag map, tag_maps/separation_train.yaml: loads, and carries what the brief asks for."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from plc_emulator.engine.catalogue import LOOPS, SignalKind
from plc_emulator.signals import lookup
from plc_emulator.tagmap import Access, Table, TagKind, TagMap, ValueFormat, WordOrder, load
from tests.conftest import DEFAULT_TAGMAP

FIELD = [
    ("SEP-V100", "inlet_pressure", "PSI", "V100.pressure"),
    ("SEP-V100", "outlet_temperature", "°C", "V100.temperature"),
    ("SEP-V100", "oil_level", "%", "V100.oil_level"),
    ("SEP-V200", "inlet_pressure", "PSI", "V200.pressure"),
    ("SEP-V200", "outlet_temperature", "°C", "V200.temperature"),
    ("SEP-V200", "gas_flow", "MMSCFD", "V200.gas_flow"),
    ("SEP-V300", "inlet_pressure", "PSI", "V300.pressure"),
    ("SEP-V300", "water_level", "%", "V300.water_level"),
    ("PMP-P100", "discharge_pressure", "PSI", "P100.discharge_pressure"),
    ("PMP-P100", "vibration", "mm/s", "P100.vibration"),
    ("PMP-P100", "oil_flow", "bbl/day", "P100.oil_flow"),
    ("HX-E100", "outlet_temperature", "°C", "E100.outlet_temperature"),
]


@pytest.fixture(scope="module")
def tm() -> TagMap:
    return load(DEFAULT_TAGMAP)


def _field_tags(tm: TagMap) -> list[tuple[str, str, str, str]]:
    out = []
    for t in tm.tags:
        spec = lookup(t.signal)
        if spec is not None and spec.kind is SignalKind.MEASURED:
            out.append((t.device, t.name, t.unit, t.signal))
    return out


class TestDefaultMap:
    def test_settings(self, tm: TagMap) -> None:
        """Top level as the brief fixes it: 100 ms scan, unit id 1, epoch 2026-01-01 UTC."""
        assert (tm.name, tm.plant, tm.scan_period, tm.modbus.unit_id) == (
            "separation_train",
            "SeparationTrain",
            0.1,
            1,
        )
        assert tm.epoch == 1767225600.0  # 2026-01-01T00:00:00Z
        assert tm.modbus.unknown_unit == "exception"
        assert dict(tm.process) == {}
        assert set(tm.pm) >= {"horizon", "vibration", "instruments", "stiction", "fouling"}
        assert tm.historian.retention_hours == 24.0

    def test_sha256_is_of_the_file_bytes(self, tm: TagMap) -> None:
        assert tm.sha256 == hashlib.sha256(DEFAULT_TAGMAP.read_bytes()).hexdigest()

    def test_exactly_the_twelve_field_instruments(self, tm: TagMap) -> None:
        assert _field_tags(tm) == FIELD

    def test_every_loop_has_its_points(self, tm: TagMap) -> None:
        """SP, MODE, OUT, VALVE, KC, TI for every loop of the catalogue, and LIC300 also PV."""
        signals = {t.signal: t for t in tm.tags}
        for loop, *_ in LOOPS:
            for part in ("sp", "mode", "out", "valve", "kc", "ti"):
                tag = signals[f"{loop}.{part}"]
                assert tag.name == f"{loop}_{part.upper()}"
        assert signals["LIC300.pv"].name == "LIC300_PV"

    def test_system_points(self, tm: TagMap) -> None:
        signals = {t.signal for t in tm.tags}
        wanted = {
            "P100.run_cmd",
            "P100.speed_sp",
            "P100.speed",
            "P100.status",
            "P100.trip_reset",
            "ESD.active",
            "ESD.trip",
            "ESD.reset",
            "runtime.heartbeat",
            "runtime.tick",
            "runtime.sim_time",
            "runtime.scan_time_ms",
            "runtime.jitter_ms",
            "runtime.overruns",
            "runtime.paused",
            "runtime.speed",
            "runtime.step",
        }
        assert wanted <= signals

    def test_counts(self, tm: TagMap) -> None:
        """Plant devices: 12 field + 8 loops x 6 + LIC300 PV + 5 pump + 3 ESD + 6 diagnostics + 3 simulation
        control. ALARMS device: per alarm an active bit, an unacked bit and an ack coil, plus ack-all,
        three summary registers, three PM registers and the residual detectors' 5 CUSUM and 5 noise-ratio registers."""
        plant = [t for t in tm.tags if t.device != "ALARMS"]
        alarms = [t for t in tm.tags if t.device == "ALARMS"]
        assert len(plant) == 12 + 8 * 6 + 1 + 5 + 3 + 6 + 3
        per_alarm = [t for t in alarms if t.signal.startswith("alarm.")]
        n_alarms = len({t.signal.rsplit(".", 1)[0] for t in per_alarm})
        assert n_alarms > 0
        assert len(per_alarm) == 3 * n_alarms
        assert len(alarms) == 3 * n_alarms + 1 + 3 + 3 + 5 + 5
        assert [d.name for d in tm.devices] == [
            "SEP-V100",
            "SEP-V200",
            "SEP-V300",
            "PMP-P100",
            "HX-E100",
            "PLC",
            "ALARMS",
        ]

    def test_every_tag_is_complete(self, tm: TagMap) -> None:
        for t in tm.tags:
            assert t.description, t.key
            assert t.range[0] < t.range[1], t.key
            assert t.opcua.node_id == t.key
            assert t.modbus is not None, t.key
            assert (t.write_limits is not None) == (t.access is Access.RW), t.key
            if t.kind in (TagKind.DISCRETE, TagKind.MULTISTATE):
                assert len(t.states) >= 2, t.key

    def test_field_instruments_alarm_and_historize(self, tm: TagMap) -> None:
        for device, name, *_ in FIELD:
            t = tm.tag(f"{device}.{name}")
            assert t.alarms is not None, t.key
            assert t.historian is not None, t.key
            assert t.opcua.historizing, t.key
            assert t.modbus is not None, t.key
            assert t.modbus.quality_address == t.modbus.address + 2
            assert t.alarms.deadband > 0, t.key
            assert t.alarms.on_delay > 0, t.key

    def test_alarm_limits_from_domain_reference(self, tm: TagMap) -> None:
        """V100 oil level LL 15 / L 25 / H 75 / HH 85; vibration H 4.5 / HH 7.1 (ISO 10816-3 group 1)."""
        lvl = tm.tag("SEP-V100.oil_level").alarms
        vib = tm.tag("PMP-P100.vibration").alarms
        assert lvl is not None
        assert vib is not None
        assert (lvl.lolo, lvl.lo, lvl.hi, lvl.hihi) == (15, 25, 75, 85)
        assert (vib.hi, vib.hihi) == (4.5, 7.1)

    def test_all_four_word_orders_and_every_format(self, tm: TagMap) -> None:
        points = [p for t in tm.tags for p in (t.modbus, *t.modbus_mirrors) if p is not None]
        wide = {p.word_order for p in points if p.format.registers == 2}
        assert wide == set(WordOrder)
        formats = {p.format for p in points}
        assert {
            ValueFormat.FLOAT32,
            ValueFormat.UINT32,
            ValueFormat.INT16,
            ValueFormat.UINT16,
            ValueFormat.BOOL,
        } <= formats

    def test_mirrors_are_scaled_uint16_input_registers(self, tm: TagMap) -> None:
        """The twelve field PVs are mirrored at input registers 0-11 as uint16 0..65535 <-> EU range."""
        mirrors = [(t.key, t.modbus_mirrors) for t in tm.tags if t.modbus_mirrors]
        assert [k for k, _ in mirrors] == [f"{d}.{n}" for d, n, *_ in FIELD]
        for i, (_, (m,)) in enumerate(mirrors):
            assert (m.table, m.address, m.format, m.raw_range) == (
                Table.INPUT_REGISTER,
                i,
                ValueFormat.UINT16,
                (0, 65535),
            )

    def test_tables_by_purpose(self, tm: TagMap) -> None:
        """Coils are rw commands, discrete inputs ro status; the alarm blocks hold only alarm points."""
        for t in tm.tags:
            assert t.modbus is not None
            if t.modbus.table is Table.COIL:
                assert t.access is Access.RW
            if t.modbus.table is Table.DISCRETE_INPUT:
                assert t.access is Access.RO
            in_alarm_block = (t.modbus.table is Table.HOLDING_REGISTER and 900 <= t.modbus.address <= 999) or (
                t.modbus.table is Table.DISCRETE_INPUT and 100 <= t.modbus.address <= 299)
            assert in_alarm_block == (t.device == "ALARMS" and t.modbus.table is not Table.COIL), t.key

    def test_no_two_points_share_an_address(self, tm: TagMap) -> None:
        used: Counter[tuple[Table, int]] = Counter()
        for t in tm.tags:
            for p in (t.modbus, *t.modbus_mirrors):
                if p is None:
                    continue
                used.update((p.table, p.address + i) for i in range(p.count))
                if p.quality_address is not None:
                    used[(p.table, p.quality_address)] += 1
        assert max(used.values()) == 1

    def test_tag_order_is_document_order(self, tm: TagMap) -> None:
        lines = [t.location.line for t in tm.tags]
        assert lines == sorted(lines)
        first = tm.tags[0]
        text = DEFAULT_TAGMAP.read_text(encoding="utf-8").splitlines()
        assert text[first.location.line - 1].strip() == f"{first.name}:"
