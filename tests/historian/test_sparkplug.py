"""Sparkplug B edge node: a host application written here watches the real ``plc-emulator run``."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import struct
import subprocess
import time
import warnings
from pathlib import Path

import pytest

from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP, ROOT, free_port
from tests.historian.conftest import Broker
from tests.historian.spb_host import Host, SpbMsg, props
from tests.runtime._proc import CLI, Proc, ready_parts

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


PYSPARKPLUG = ROOT / ".venv-pysparkplug" / "bin" / "python"
PYSP_TYPES = {9: "FLOAT", 11: "BOOLEAN", 2: "INT16", 6: "UINT16", 7: "UINT32", 4: "INT64"}


def _independent_decode(msgs: list[SpbMsg]) -> None:
    """pysparkplug (its own schema and decoder) reads our payloads as we meant them."""
    if not PYSPARKPLUG.exists():
        warnings.warn("pysparkplug venv missing (scripts/setup --all): independent decoding not checked",
                      stacklevel=2)
        return
    chosen = [m for m in msgs if m.kind in ("NBIRTH", "DBIRTH", "DDATA", "DDEATH", "NDEATH")][:400]
    lines = "".join(json.dumps({"kind": m.kind, "device": m.device, "hex": m.raw.hex()}) + "\n" for m in chosen)
    res = subprocess.run([str(PYSPARKPLUG), str(ROOT / "tests/historian/pysparkplug_decode.py")], input=lines,
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    decoded = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(decoded) == len(chosen)
    names: dict[tuple[str | None, int], str] = {}
    for ours, theirs in zip(chosen, decoded, strict=True):
        if ours.kind not in ("NDEATH", "DDEATH"):
            assert theirs["seq"] == ours.payload.seq
        for m, t in zip(ours.payload.metrics, theirs["metrics"], strict=True):
            if ours.kind == "DBIRTH":
                names[(ours.device, m.alias)] = m.name
            name = m.name or names[(ours.device, m.alias)]
            assert t["name"] == name
            assert t["datatype"] == PYSP_TYPES[m.datatype]
            assert t["is_historical"] == m.is_historical
            assert t["is_null"] == m.is_null
            field = m.WhichOneof("value")
            if field is not None and field != "int_value":
                assert t["value"] == pytest.approx(getattr(m, field)), name


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
            sp_alias = next(m.alias for b in host.kinds("DBIRTH", "SEP-V100") for m in b.payload.metrics
                            if m.name == "LIC100_SP")
            await host.wait(lambda: any(m.alias == sp_alias and m.float_value == 61.5
                                        for x in host.kinds("DDATA", "SEP-V100") for m in x.payload.metrics),
                            10, "the written setpoint reported back in DDATA")
            # bad commands: refused and logged, nothing applied, the session goes on
            births = len(host.kinds("NBIRTH"))
            await host.publish(f"spBv1.0/{GROUP}/DCMD/{NODE}/SEP-V100", b"\x08not protobuf")
            await host.dcmd_float(GROUP, NODE, "SEP-V100", "LIC100_SP", 500.0)  # outside 0..100 %
            await host.dcmd_float(GROUP, NODE, "SEP-V100", "inlet_pressure", 1.0)  # read-only
            n = len(host.msgs)
            await host.wait(lambda: len([m for m in host.msgs[n:] if m.kind == "DDATA"]) >= 3, 10, "data goes on")
            assert await _modbus_float(mb, 100) == 61.5
            assert len(host.kinds("NBIRTH")) == births
            # Rebirth on request
            await host.rebirth(GROUP, NODE)
            await host.wait(lambda: len(host.kinds("NBIRTH")) == births + 1, 10, "rebirth")
            await host.wait(lambda: len(host.kinds("DBIRTH")) >= 14, 10, "DBIRTHs after rebirth")
            await host.wait(lambda: host.msgs[-1].kind == "DDATA", 10, "data after rebirth")
            _check_seq(host.msgs)
            await asyncio.to_thread(_independent_decode, host.msgs)
            first = proc
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
    first.wait(10)
    log = "\n".join(first.stderr)
    assert "historian.sparkplug_bad_message" in log
    assert log.count("historian.sparkplug_write_rejected") >= 2
    assert "OUT_OF_RANGE" in log
    assert "NOT_WRITABLE" in log
    with sqlite3.connect(data / "historian.db") as db:
        sources = {r[0] for r in db.execute("SELECT json_extract(data, '$.source') FROM events "
                                            "WHERE kind='command'")}
    assert "sparkplug:host" in sources  # audited like any other client write


def _committed(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as c:
        try:
            return int(c.execute("SELECT coalesce(max(seq), 0) FROM samples").fetchone()[0])
        except sqlite3.OperationalError:  # schema not created yet
            return 0


async def _host_offline_run(broker: Broker, tmp_path: Path, offline_s: float) -> None:
    data = tmp_path / "data"
    db = data / "historian.db"
    async with Host(broker.port, host_id="scada") as host:
        proc, _ = _run(broker, data, "--sparkplug-host-id", "scada")
        try:
            http = ready_parts(await asyncio.to_thread(proc.wait_line, "ready ", 60))["http"]
            await host.wait(lambda: _committed(db) > 0, 20, "rows committed")
            assert host.msgs == [], "the node must wait for its primary host before any birth"
            await host.state(True)
            await host.wait(lambda: len(host.kinds("DBIRTH")) == 7, 20, "births once the host is online")
            assert host.msgs[0].kind == "NBIRTH"
            await host.wait(lambda: host.kinds("DDATA"), 10, "data")
            await host.state(False)
            t_off = time.time()
            await asyncio.sleep(offline_s)  # the host outage itself: a fixed interval is the test
            late = [(m.kind, round(m.wall - t_off, 2)) for m in host.msgs if m.wall > t_off + 2.0]
            assert late == [], late  # beyond the batch in flight when STATE arrived, nothing is sent
            acked_while_off = _acked(db)
            metrics = await asyncio.to_thread(_get_text, f"http://{http}/metrics")
            held = [x for x in metrics.splitlines() if x.startswith("plc_historian_forward_held{")]
            assert held, metrics[-500:]
            assert held[0].endswith(" 1.0"), held
            head_at_online = _committed(db)
            await host.state(True)
            await host.wait(lambda: len(host.kinds("NBIRTH")) == 2, 10, "birth again")
            second = host.msgs.index(host.kinds("NBIRTH")[1])

            def replayed() -> list[tuple[int, int]]:
                return [(m.alias, m.timestamp) for x in host.msgs[second:] if x.kind == "DDATA"
                        for m in x.payload.metrics if m.is_historical]

            await host.wait(lambda: len(replayed()) > 0 and _acked(db) >= head_at_online, 30 + offline_s,
                            "historical replay of the offline backlog")
            assert await asyncio.to_thread(proc.terminate, 30) == 0
        finally:
            proc.kill()
    hist = replayed()
    per_metric: dict[int, list[int]] = {}
    for a, ts in hist:
        per_metric.setdefault(a, []).append(ts)
    assert all(v == sorted(v) for v in per_metric.values()), "historical metrics out of order"
    stamps = [ts for _, ts in hist]
    with sqlite3.connect(db) as c:  # the samples held back while the host was offline (simulated time:
        # on a loaded host the scan falls behind the wall clock, so 5 s offline may be < 5 s of samples)
        lo, hi = c.execute("SELECT min(t), max(t) FROM samples WHERE seq > ? AND seq <= ?",
                           (acked_while_off, head_at_online)).fetchone()
    assert lo is not None, "no samples were held while the host was offline"
    assert hi - lo >= (offline_s - 1) / 2, "the outage held back less than half its length"
    covered = min(stamps) <= round(lo * 1000) and max(stamps) >= round(hi * 1000)
    assert covered, "the replay does not span the samples held while the host was offline"
    _check_seq(host.msgs)
    alias = {f"{b.device}.{m.name}": m.alias for b in host.kinds("DBIRTH") for m in b.payload.metrics}
    got = {(m.alias, m.timestamp) for x in host.kinds("DDATA") for m in x.payload.metrics}
    acked = _acked(db)
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT tags.name, samples.t FROM samples JOIN tags ON tags.id = samples.tag_id "
                         "WHERE samples.seq <= ?", (acked,)).fetchall()
    want = {(alias[name], round(t * 1000)) for name, t in rows}
    missing = want - got
    assert not missing, f"{len(missing)} of {len(want)} samples never reached the host, e.g. {sorted(missing)[:3]}"


def _get_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as r:
        return str(r.read().decode())


def _acked(db: Path) -> int:
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT acked, live_acked FROM cursors WHERE sink LIKE 'sparkplug+%'").fetchone()
    return 0 if row is None else max(int(row[0]), int(row[1] or 0))


async def test_primary_host_offline_then_historical_replay(broker: Broker, tmp_path: Path) -> None:
    """STATE drives store and forward: no birth before the host is online; while it is offline (5 s)
    data stays in the historian; back online: a new birth, then every sample as is_historical, in
    order, none missing."""
    await _host_offline_run(broker, tmp_path, offline_s=5.0)


@pytest.mark.slow
async def test_primary_host_offline_sixty_seconds(broker: Broker, tmp_path: Path) -> None:
    await _host_offline_run(broker, tmp_path, offline_s=60.0)
