"""Client writes -> validation -> the PLC's queue; rejections; Step; lockstep with the Modbus image."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asyncua import ua

from plc_emulator.commands import CommandKind
from plc_emulator.image.codec import decode_words
from plc_emulator.image.quality import quality_word
from plc_emulator.tagmap.model import Table, TagKind
from tests.opcua.conftest import Plant
from tests.opcua.test_values import call

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def _registers(snap: object, table: Table) -> object:
    return {Table.HOLDING_REGISTER: snap.holding, Table.INPUT_REGISTER: snap.input,  # type: ignore[attr-defined]
            Table.COIL: snap.coils, Table.DISCRETE_INPUT: snap.discrete}[table]  # type: ignore[attr-defined]


def modbus_value(plant: Plant, key: str, tick: int) -> float:
    """Decode a tag from the Modbus tables of the snapshot of ``tick`` (what a Modbus read returns)."""
    tag = plant.tagmap.tag(key)
    assert tag.modbus is not None
    regs = _registers(plant.plc.history[tick], tag.modbus.table)
    a = tag.modbus.address
    words = [int(x) for x in regs[a:a + tag.modbus.count]]  # type: ignore[index]
    return decode_words(words, tag.modbus, tag.range)


async def write(plant: Plant, key: str, variant: ua.Variant) -> ua.StatusCode:
    node = plant.node(plant.tagmap.tag(key).opcua.node_id)
    params = ua.WriteParameters()
    params.NodesToWrite.append(ua.WriteValue(NodeId=node.nodeid, AttributeId=ua.AttributeIds.Value,
                                             Value=ua.DataValue(variant)))
    return (await plant.client.uaclient.write(params))[0]


class TestWrites:
    async def test_setpoint_goes_through_the_plc(self, plant: Plant) -> None:
        """The node keeps the old value until the PLC applies the write at the next tick."""
        tick = await plant.pause()
        node = plant.node("LIC100.sp")
        before = await node.read_value()
        assert before != 55.0
        sc = await write(plant, "LIC100.sp", ua.Variant(55.0, ua.VariantType.Double))
        assert sc.is_good()
        assert await node.read_value() == before
        [cmd] = plant.plc.queued
        want = (CommandKind.WRITE, "LIC100.sp", 55.0, "opcua")
        assert (cmd.kind, cmd.target, cmd.value, cmd.source) == want
        plant.plc.step(1)
        await plant.plc.wait_tick(tick + 1)
        await plant.settle()
        assert await node.read_value() == 55.0
        # Modbus image of the same tick (read over the wire by the Modbus tests)
        assert modbus_value(plant, "LIC100.sp", tick + 1) == 55.0
        assert modbus_value(plant, "LIC100.sp", tick) == pytest.approx(before)

    async def test_mode_and_command(self, plant: Plant) -> None:
        await plant.pause()
        assert (await write(plant, "LIC100.mode", ua.Variant(0, ua.VariantType.UInt32))).is_good()
        assert (await write(plant, "PMP-P100.run_cmd", ua.Variant(True, ua.VariantType.Boolean))).is_good()
        queued = [(c.target, c.value) for c in plant.plc.queued]
        assert queued == [("LIC100.mode", 0.0), ("P100.run_cmd", 1.0)]

    @pytest.mark.parametrize(("key", "variant", "status"), [
        ("SEP-V100.inlet_pressure", ua.Variant(10.0, ua.VariantType.Double), "BadNotWritable"),
        ("LIC100.sp", ua.Variant(95.0, ua.VariantType.Double), "BadOutOfRange"),
        ("LIC100.sp", ua.Variant(float("nan"), ua.VariantType.Double), "BadTypeMismatch"),
        ("LIC100.sp", ua.Variant("55", ua.VariantType.String), "BadTypeMismatch"),
        ("LIC100.mode", ua.Variant(5, ua.VariantType.UInt32), "BadOutOfRange"),
        ("LIC100.mode", ua.Variant(1.0, ua.VariantType.Double), "BadTypeMismatch"),
        ("PMP-P100.run_cmd", ua.Variant(1.0, ua.VariantType.Double), "BadTypeMismatch"),
    ])
    async def test_rejections_apply_nothing(self, plant: Plant, key: str, variant: ua.Variant,
                                            status: str) -> None:
        tick = await plant.pause()
        node = plant.node(plant.tagmap.tag(key).opcua.node_id)
        before = await node.read_data_value(raise_on_bad_status=False)
        sc = await write(plant, key, variant)
        assert sc.name == status
        assert plant.plc.queued == []
        plant.plc.step(1)
        await plant.plc.wait_tick(tick + 1)
        await plant.settle()
        after = await node.read_data_value(raise_on_bad_status=False)
        if plant.tagmap.tag(key).access.value == "rw":
            assert after.Value == before.Value

    async def test_non_value_attribute_not_writable(self, plant: Plant) -> None:
        node = plant.node("LIC100.sp")
        params = ua.WriteParameters()
        params.NodesToWrite.append(ua.WriteValue(
            NodeId=node.nodeid, AttributeId=ua.AttributeIds.Description,
            Value=ua.DataValue(ua.Variant(ua.LocalizedText("x"), ua.VariantType.LocalizedText))))
        [sc] = await plant.client.uaclient.write(params)
        assert sc.name == "BadNotWritable"


class TestSimulation:
    async def test_step_advances_exactly_n_ticks(self, plant: Plant) -> None:
        await call(plant, "Pause")
        tick = await plant.pause()
        diag = f"{plant.tagmap.plant}.Diagnostics"
        assert await plant.node(f"{diag}.Tick").read_value() == tick
        await call(plant, "Step", ua.Variant(7, ua.VariantType.UInt32))
        await plant.plc.wait_tick(tick + 7)
        assert await plant.pause() == tick + 7
        assert await plant.node(f"{diag}.Tick").read_value() == tick + 7
        want = datetime.fromtimestamp(plant.tagmap.epoch + (tick + 7) * plant.tagmap.scan_period, UTC)
        assert await plant.node(f"{diag}.SimulatedTime").read_value() == want.replace(tzinfo=None) or \
            await plant.node(f"{diag}.SimulatedTime").read_value() == want
        assert await plant.node("PLC.tick").read_value() == tick + 7

    @pytest.mark.parametrize(("name", "arg", "status"), [
        ("Step", ua.Variant(0, ua.VariantType.UInt32), "BadOutOfRange"),
        ("Step", ua.Variant(1.5, ua.VariantType.Double), "BadInvalidArgument"),
        ("SetSpeed", ua.Variant(-1.0, ua.VariantType.Double), "BadOutOfRange"),
    ])
    async def test_bad_arguments(self, plant: Plant, name: str, arg: ua.Variant, status: str) -> None:
        with pytest.raises(ua.UaStatusCodeError, match=status):
            await call(plant, name, arg)

    async def test_resume_and_speed(self, plant: Plant) -> None:
        await call(plant, "Pause")
        assert plant.plc.paused
        await call(plant, "SetSpeed", ua.Variant(2.0, ua.VariantType.Double))
        await call(plant, "Resume")
        assert not plant.plc.paused
        assert plant.plc._speed == 2.0


class TestLockstep:
    async def test_every_tag_equals_modbus_and_quality_matches(self, plant: Plant) -> None:
        """Paused: each tag over OPC UA equals its Modbus decoding; quality word matches StatusCode."""
        await call(plant, "InjectFault", "SEP-V100.inlet_pressure", "fail", "{}")
        await call(plant, "InjectFault", "SEP-V100.temperature", "comm_loss", "{}")
        await plant.plc.wait_tick(plant.plc.tick + 2)
        tick = await plant.pause()
        snap = plant.plc.history[tick]
        checked = 0
        for tag in plant.tagmap.tags:
            assert tag.modbus is not None
            dv = await plant.node(tag.opcua.node_id).read_data_value(raise_on_bad_status=False)
            mb = modbus_value(plant, tag.key, tick)
            code = dv.StatusCode.value
            if dv.StatusCode.is_bad():
                assert dv.Value.Value is None
            elif tag.kind is TagKind.ANALOG:
                assert float(dv.Value.Value) == pytest.approx(mb, rel=1e-6, abs=1e-6), tag.key  # float32
            else:
                assert float(dv.Value.Value) == mb, tag.key
            if tag.modbus.quality_address is not None:
                qw = int(snap.holding[tag.modbus.quality_address])
                assert qw == quality_word(code), tag.key
            checked += 1
        assert checked == len(plant.tagmap.tags)
