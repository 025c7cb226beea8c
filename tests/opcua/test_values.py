"""Values: StatusCodes from faults, SourceTimestamp = simulated time, whole scans, subscriptions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from asyncua import ua

from plc_emulator.engine import status as st
from tests.opcua.conftest import Plant, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def sim_dt(plant: Plant, tick: int) -> datetime:
    return datetime.fromtimestamp(plant.tagmap.epoch + tick * plant.tagmap.scan_period, UTC)


async def call(plant: Plant, name: str, *args: Any) -> Any:
    sim = plant.client.get_node(ua.NodeId(f"{plant.tagmap.plant}.Simulation", plant.ns))
    return await sim.call_method(ua.NodeId(f"{plant.tagmap.plant}.Simulation.{name}", plant.ns), *args)


class TestQuality:
    async def test_good_uncertain_bad_from_faults(self, plant: Plant) -> None:
        """InjectFault fail -> null/BadSensorFailure, comm_loss -> value/Uncertain..., others Good."""
        await call(plant, "InjectFault", "SEP-V100.inlet_pressure", "fail", "{}")
        await call(plant, "InjectFault", "SEP-V100.temperature", "comm_loss", '{"timeout": 30}')
        assert {c.target for c in plant.plc.submitted} == {"V100.pressure", "V100.temperature"}
        await plant.plc.wait_tick(plant.plc.tick + 2)
        tick = await plant.pause()
        snap = plant.plc.history[tick]
        bad = await plant.node("SEP-V100.inlet_pressure").read_data_value(raise_on_bad_status=False)
        unc = await plant.node("SEP-V100.temperature").read_data_value(raise_on_bad_status=False)
        good = await plant.node("SEP-V100.oil_level").read_data_value(raise_on_bad_status=False)
        assert bad.StatusCode.value == st.BAD_SENSOR_FAILURE
        assert bad.Value.Value is None
        assert unc.StatusCode.value == st.UNCERTAIN_NO_COMM_LAST_USABLE
        assert unc.Value.Value == pytest.approx(float(snap.values[1]))
        assert good.StatusCode.is_good()
        assert good.Value.Value == pytest.approx(float(snap.values[2]))
        assert good.SourceTimestamp == sim_dt(plant, tick)

    async def test_clear_fault_returns_to_good(self, plant: Plant) -> None:
        await call(plant, "InjectFault", "V100.pressure", "fail", "")
        await plant.plc.wait_tick(plant.plc.tick + 2)
        await call(plant, "ClearFault", "*")
        await plant.plc.wait_tick(plant.plc.tick + 2)
        await plant.pause()
        dv = await plant.node("SEP-V100.inlet_pressure").read_data_value(raise_on_bad_status=False)
        assert dv.StatusCode.is_good()
        assert dv.Value.Value is not None

    @pytest.mark.parametrize(("args", "status"), [
        (("no.such.tag", "fail", "{}"), "BadNodeIdUnknown"),
        (("SEP-V100.inlet_pressure", "explode", "{}"), "BadInvalidArgument"),
        (("SEP-V100.inlet_pressure", "drift", "{not json"), "BadInvalidArgument"),
        (("LIC100.sp", "fail", "{}"), "BadInvalidArgument"),  # faults go on measured signals only
    ])
    async def test_bad_fault_requests_refused(self, plant: Plant, args: tuple[str, ...], status: str) -> None:
        with pytest.raises(ua.UaStatusCodeError, match=status):
            await call(plant, "InjectFault", *args)
        assert plant.plc.submitted == []


class TestWholeScans:
    async def test_one_read_never_mixes_two_scans(self, plant: Plant) -> None:
        """Reading every tag in one request while the PLC runs fast: all values from one scan."""
        handler = _Collector()
        sub = await plant.client.create_subscription(50, handler)
        nodes = [plant.node(t.opcua.node_id) for t in plant.tagmap.tags]
        await sub.subscribe_data_change(nodes)
        plant.plc.set_speed(50.0)  # 2 ms scans
        moving = [i for i, t in enumerate(plant.tagmap.tags)
                  if t.signal.split(".")[0] in ("V100", "V200", "P100") and t.kind.value == "analog"]
        tick_col = next(i for i, t in enumerate(plant.tagmap.tags) if t.signal == "runtime.tick")
        params = ua.ReadParameters()
        for t in plant.tagmap.tags:
            params.NodesToRead.append(ua.ReadValueId(NodeId=ua.NodeId(t.opcua.node_id, plant.ns),
                                                     AttributeId=ua.AttributeIds.Value))
        seen = set()
        for _ in range(40):
            dvs = await plant.client.uaclient.read(params)
            tick = int(dvs[tick_col].Value.Value)
            snap = plant.plc.history[tick]
            assert dvs[tick_col].SourceTimestamp == sim_dt(plant, tick)
            for i in moving:
                assert dvs[i].SourceTimestamp == sim_dt(plant, tick), plant.tagmap.tags[i].key
                assert dvs[i].Value.Value == float(snap.values[i]), plant.tagmap.tags[i].key
            seen.add(tick)
            await asyncio.sleep(0.003)
        assert len(seen) > 5  # the PLC really moved during the reads
        await sub.delete()


class _Collector:
    def __init__(self) -> None:
        self.got: set[tuple[str, datetime]] = set()
        self.count = 0

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        dv = data.monitored_item.Value
        self.got.add((node.nodeid.Identifier, dv.SourceTimestamp))
        self.count += 1


class TestSubscriptions:
    async def test_every_scan_change_delivered_at_100ms(self, plant: Plant) -> None:
        """Subscribe to all tags at 100 ms publishing: one notification per changed tag per scan."""
        tm = plant.tagmap
        handler = _Collector()
        sub = await plant.client.create_subscription(100, handler)
        nodes = [plant.node(t.opcua.node_id) for t in tm.tags]
        await sub.subscribe_data_change(nodes, queuesize=50)
        first = await plant.settle() + 1
        await plant.plc.wait_tick(first + 15)
        last = await plant.pause()
        expected: set[tuple[str, datetime]] = set()
        for t in range(first, last + 1):
            a, b = plant.plc.history[t - 1], plant.plc.history[t]
            changed = np.flatnonzero((a.values != b.values) | (a.status != b.status))
            for i in changed:
                expected.add((tm.tags[i].opcua.node_id, sim_dt(plant, t)))
        assert len(expected) > 15 * 5
        await wait_for(lambda: expected <= handler.got, limit=10, what="all notifications")
        await sub.delete()
