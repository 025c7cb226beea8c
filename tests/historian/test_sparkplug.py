"""Sparkplug B edge node: a host application written here watches the real ``plc-emulator run``."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import struct
from pathlib import Path

import pytest

from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP, free_port
from tests.historian.conftest import Broker
from tests.historian.spb_host import Host, SpbMsg, props
from tests.runtime._proc import CLI, Proc

pytestmark = [pytest.mark.integration, pytest.mark.external]

GROUP, NODE = "SeparationTrain", "separation_train"
# Sparkplug datatypes expected per Modbus format, written out independently of the implementation
EXPECTED_TYPE = {"float32": 9, "bool": 11, "int16": 2, "uint16": 6, "uint32": 7}
VALUE_FIELD = {9: "float_value", 11: "boolean_value", 2: "int_value", 6: "int_value", 7: "long_value"}


def _run(broker: Broker, data: Path, *extra: str) -> tuple[Proc, int]:
    mb = free_port()
    proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", str(mb),
                 "--opcua-port", "0", "--http-port", "0", "--data-dir", str(data),
                 "--sparkplug-url", broker.url, *extra])
    return proc, mb


def _node_sessions(msgs: list[SpbMsg]) -> list[list[SpbMsg]]:
    """Node messages split at each NBIRTH (NDEATH, which carries no seq, and the host's own commands
    left out)."""
    sessions: list[list[SpbMsg]] = []
    for m in msgs:
        if m.kind == "NBIRTH":
            sessions.append([])
        if m.kind not in ("NDEATH", "NCMD", "DCMD") and sessions:
            sessions[-1].append(m)
    return sessions


def _check_seq(msgs: list[SpbMsg]) -> None:
    sessions = _node_sessions(msgs)
    assert sessions
    for s in sessions:
        seqs = [m.payload.seq for m in s]
        assert seqs[0] == 0
        bad = [i for i, (a, b) in enumerate(itertools.pairwise(seqs)) if b != (a + 1) % 256]
        assert not bad, [(s[i].kind, seqs[i], s[i + 1].kind, seqs[i + 1]) for i in bad[:5]]


async def _modbus_float(port: int, address: int) -> float:
    from pymodbus.client import AsyncModbusTcpClient

    async with AsyncModbusTcpClient("127.0.0.1", port=port, timeout=3) as client:
        rr = await client.read_holding_registers(address, count=2, device_id=1)
        return float(struct.unpack(">f", struct.pack(">HH", *rr.registers))[0])


def _check_births(host: Host) -> None:
    """NBIRTH first with seq 0 and bdSeq, then one DBIRTH per device with every tag of the map."""
    tm = load(str(DEFAULT_TAGMAP))
    assert host.msgs[0].kind == "NBIRTH"
    assert host.msgs[0].payload.seq == 0
    nb = host.msgs[0]
    assert nb.metric("bdSeq").datatype == 4
    assert nb.metric("Node Control/Rebirth").boolean_value is False
    births = {m.device: m for m in host.kinds("DBIRTH")}
    assert set(births) == {d.name for d in tm.devices}
    aliases: set[int] = set()
    for dev in tm.devices:
        metrics = {m.name: m for m in births[dev.name].payload.metrics}
        assert set(metrics) == {t.name for t in dev.tags}
        for t in dev.tags:
            m = metrics[t.name]
            want = EXPECTED_TYPE[t.modbus.format.value] if t.modbus else 10
            assert m.datatype == want, t.key
            p = props(m)
            assert p.get("engUnit", "") == t.unit, t.key
            assert (p["engLow"], p["engHigh"]) == t.range, t.key
            assert p["readOnly"] is (t.access.value != "rw")
            assert p["Quality"] in (192, 500, 0)
            if not m.is_null:
                assert m.WhichOneof("value") == VALUE_FIELD[want], t.key
            aliases.add(m.alias)
    assert len(aliases) == len(tm.tags)  # aliases unique within the node


async def test_edge_node_births_data_rebirth_dcmd_comm_loss_and_death(broker: Broker, tmp_path: Path) -> None:
    """One real run: NBIRTH seq 0 then DBIRTHs with every metric (types, units, ranges), DDATA by
    alias, DDEATH/DBIRTH around a comm_loss, a DCMD setpoint write read back on Modbus, a fresh birth
    after Rebirth, seq continuous per birth session, NDEATH with the birth's bdSeq after kill -9, and
    bdSeq + 1 after the restart."""
    scenario = tmp_path / "comm.yaml"
    scenario.write_text(
        "events:\n"
        "  - {at: 3s, action: inject_fault, target: V200.pressure, params: {kind: comm_loss, timeout: 0}}\n"
        "  - {at: 5s, action: clear_fault, target: V200.pressure}\n"
    )
    data = tmp_path / "data"
    async with Host(broker.port) as host:
        proc, mb = _run(broker, data, "--scenario", str(scenario))
        try:
            await asyncio.to_thread(proc.wait_line, "ready ", 60)
            await host.wait(lambda: len(host.kinds("DBIRTH")) == 7, 20, "7 DBIRTH")
            _check_births(host)
            bdseq = host.msgs[0].metric("bdSeq").long_value
            await host.wait(lambda: host.kinds("DDATA"), 10, "DDATA")
            dd = host.kinds("DDATA")[0].payload.metrics[0]
            assert dd.HasField("alias")
            assert not dd.HasField("name")
            # comm_loss on a SEP-V200 instrument: DDEATH, then DBIRTH when it is cleared
            await host.wait(lambda: host.kinds("DDEATH", "SEP-V200"), 15, "DDEATH SEP-V200")
            await host.wait(lambda: len(host.kinds("DBIRTH", "SEP-V200")) == 2, 15, "DBIRTH SEP-V200 again")
            # DCMD: a setpoint write goes through validation and the command queue
            await host.dcmd_float(GROUP, NODE, "SEP-V100", "LIC100_SP", 61.5)
            for _ in range(100):
                if await _modbus_float(mb, 100) == 61.5:
                    break
                await asyncio.sleep(0.05)
            assert await _modbus_float(mb, 100) == 61.5
            # Rebirth on request
            births = len(host.kinds("NBIRTH"))
            await host.rebirth(GROUP, NODE)
            await host.wait(lambda: len(host.kinds("NBIRTH")) == births + 1, 10, "rebirth")
            await host.wait(lambda: len(host.kinds("DBIRTH")) >= 14, 10, "DBIRTHs after rebirth")
            await host.wait(lambda: host.msgs[-1].kind == "DDATA", 10, "data after rebirth")
            _check_seq(host.msgs)
            proc.kill()  # kill -9: the broker publishes the NDEATH will
            await host.wait(lambda: host.kinds("NDEATH"), 10, "NDEATH")
            assert host.kinds("NDEATH")[0].metric("bdSeq").long_value == bdseq
            # bdSeq persisted: the next run births with bdSeq + 1
            n = len(host.kinds("NBIRTH"))
            proc, _ = _run(broker, data)
            await asyncio.to_thread(proc.wait_line, "ready ", 60)
            await host.wait(lambda: len(host.kinds("NBIRTH")) == n + 1, 20, "NBIRTH after restart")
            assert host.kinds("NBIRTH")[-1].metric("bdSeq").long_value == (bdseq + 1) % 256
            assert await asyncio.to_thread(proc.terminate, 30) == 0
            await host.wait(lambda: len(host.kinds("NDEATH")) == 2, 10, "NDEATH on a clean stop")
        finally:
            proc.kill()
    with sqlite3.connect(data / "historian.db") as db:
        sources = {r[0] for r in db.execute("SELECT json_extract(data, '$.source') FROM events "
                                            "WHERE kind='command'")}
    assert "sparkplug:host" in sources  # audited like any other client write
