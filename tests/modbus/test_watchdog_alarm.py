"""The watchdog raises a real ISA-18.2 alarm: Modbus alarm bits and an OPC UA condition, acknowledgeable.

On the REAL runtime (PlcRuntime, paused and stepped scan by scan) with the Modbus and OPC UA
adapters: a counter the client keeps changing raises nothing; a stalled counter raises
``MEM.wd_expired.EXPIRED`` at the scan where the timeout is exceeded; a Modbus acknowledgement
shows on OPC UA; a changing counter clears it. The watchdog's action is NONE here, so only the
alarm block reacts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from asyncua import Client, ua
from pymodbus.client import AsyncModbusTcpClient

from plc_emulator.alarms.config import AlarmKind, alarm_defs
from plc_emulator.modbus import ModbusAdapter
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
ALARM = "MEM.wd_expired.EXPIRED"
TIMEOUT_S = 0.5  # 5 scans of 100 ms
H = "holding_register"


def _tag(signal: str, kind: str, access: str, modbus: dict[str, Any], **extra: Any) -> dict[str, Any]:
    rng = extra.pop("range", [0, 1] if kind == "discrete" else [0, 65535])
    t: dict[str, Any] = {"signal": signal, "unit": extra.pop("unit", ""), "description": signal, "kind": kind,
                         "range": rng, "access": access, "precision": 0, "modbus": modbus,
                         "opcua": {"browse_name": signal.replace(".", "_"), "node_id": f"MEM.{signal}"}, **extra}
    if access == "rw":
        t["write_limits"] = rng
    return t


def watchdog_map(tmp: Path) -> Path:
    doc = yaml.safe_load(DEFAULT_TAGMAP.read_text())
    doc["devices"]["MEM"] = {"description": "PLC memory", "tags": {
        "wd_counter": _tag("wd.scada.counter", "counter", "rw", {"table": H, "address": 1400, "format": "uint32"}),
        "wd_timeout": _tag("wd.scada.timeout", "analog", "rw", {"table": H, "address": 1402, "format": "float32"},
                           range=[0.1, 86400], unit="s", precision=1),
        "wd_expired": _tag("wd.scada.expired", "discrete", "ro",
                           {"table": "discrete_input", "address": 600, "format": "bool"},
                           states=["OK", "EXPIRED"], alarms={"discrete_alarm_state": 1, "priority": 3}),
        "wd_alarm_active": _tag(f"alarm.{ALARM}.active", "discrete", "ro",
                                {"table": "discrete_input", "address": 601, "format": "bool"},
                                states=["NORMAL", "ACTIVE"]),
        "wd_alarm_unacked": _tag(f"alarm.{ALARM}.unacked", "discrete", "ro",
                                 {"table": "discrete_input", "address": 602, "format": "bool"},
                                 states=["ACKED", "UNACKED"]),
        "wd_alarm_ack": _tag(f"alarm.{ALARM}.ack", "discrete", "rw",
                             {"table": "coil", "address": 600, "format": "bool"}, states=["NONE", "ACK"]),
    }}
    path = tmp / "watchdog.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@dataclass
class Rig:
    plc: PlcRuntime
    mb: AsyncModbusTcpClient
    ua: OpcUaAdapter
    client: Client

    async def step(self) -> None:
        target = self.plc.step(1)
        async with asyncio.timeout(10):
            await self.plc.wait_tick(target)
        await self.ua.conditions.wait_idle()

    async def counter(self, value: int) -> None:
        assert not (await self.mb.write_registers(1400, [value >> 16, value & 0xFFFF])).isError()

    async def bits(self) -> tuple[bool, bool, bool]:
        """(expired, alarm active, alarm unacked) read over Modbus."""
        rr = await self.mb.read_discrete_inputs(600, count=3)
        assert not rr.isError(), rr
        return bool(rr.bits[0]), bool(rr.bits[1]), bool(rr.bits[2])

    async def condition(self) -> tuple[bool, bool]:
        """(ActiveState/Id, AckedState/Id) of the OPC UA condition."""
        node = self.client.get_node(ua.NodeId(f"Alarms.{ALARM}", self.ua.namespace_index))
        active = await (await node.get_child(["0:ActiveState", "0:Id"])).read_value()
        acked = await (await node.get_child(["0:AckedState", "0:Id"])).read_value()
        return bool(active), bool(acked)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    tagmap = load(str(watchdog_map(tmp_path_factory.mktemp("wd"))))
    async with (PlcRuntime(tagmap, RuntimeConfig(paused=True, speed=0.0)) as plc,
                ModbusAdapter(tagmap, plc, host="127.0.0.1", port=0) as modbus,
                OpcUaAdapter(tagmap, plc, host="127.0.0.1", port=0) as uas):
        mb = AsyncModbusTcpClient("127.0.0.1", port=int(modbus.port), timeout=5, retries=0)
        await mb.connect()
        try:
            async with Client(uas.endpoint, timeout=10) as client:
                yield Rig(plc, mb, uas, client)
        finally:
            mb.close()


async def test_the_watchdog_alarm_is_a_discrete_alarm_of_the_alarm_block(rig: Rig) -> None:
    defs = {d.id: d for d in alarm_defs(rig.plc.tagmap)}
    assert defs[ALARM].kind is AlarmKind.DISCRETE
    assert (defs[ALARM].signal, defs[ALARM].limit, defs[ALARM].priority) == ("wd.scada.expired", 1.0, 3)


async def test_running_counter_raises_nothing_stalled_counter_raises_the_alarm(rig: Rig) -> None:
    assert not (await rig.mb.write_registers(1402, [0x3F00, 0x0000])).isError()  # float32 0.5 (ABCD)
    for k in range(1, 16):  # 1.5 s of a counter that changes every scan: three timeouts
        await rig.counter(k)
        await rig.step()
        assert await rig.bits() == (False, False, False), f"scan {k}"
    assert await rig.condition() == (False, True)

    stalled_scans = 0
    while await rig.bits() == (False, False, False):
        await rig.step()
        stalled_scans += 1
        assert stalled_scans * 0.1 <= TIMEOUT_S + 0.1 + 1e-9, "not raised within the timeout (+ one scan)"
    assert stalled_scans * 0.1 > TIMEOUT_S - 1e-9  # and not before it
    assert await rig.bits() == (True, True, True)  # expired, alarm active and unacknowledged
    assert await rig.condition() == (True, False)
    snap = rig.plc.snapshot
    assert [t.alarm for t in snap.alarms["transitions"]] == [ALARM]

    assert not (await rig.mb.write_coil(600, True)).isError()  # operator acknowledges over Modbus
    await rig.step()
    assert await rig.bits() == (True, True, False)
    assert await rig.condition() == (True, True)  # ... and OPC UA shows it acknowledged

    await rig.counter(100)  # the client is back
    await rig.step()
    assert await rig.bits() == (False, False, False)
    assert await rig.condition() == (False, True)
