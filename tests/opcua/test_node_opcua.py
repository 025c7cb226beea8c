"""The same checks from npm's node-opcua-client: browse, EU/EURange, statuses, subscription, write, Step,
and a SignAndEncrypt + username session."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.opcua.security import Role, SecurityConfig, UserRecord, hash_password
from plc_emulator.opcua.server import OpcUaAdapter
from plc_emulator.opcua.units import unit_info
from plc_emulator.tagmap.model import TagKind
from tests.conftest import ROOT
from tests.opcua.fakes import FakePlc, make_tagmap

NODE = shutil.which("node")
NODE_MODULES = ROOT / "tools" / "node" / "node_modules"
SCRIPT = Path(__file__).parent / "js" / "client.js"

pytestmark = [
    pytest.mark.integration, pytest.mark.external,
    pytest.mark.skipif(NODE is None or not (NODE_MODULES / "node-opcua-client").is_dir(),
                       reason="node or tools/node/node_modules/node-opcua-client not installed"),
]


async def run_node(cfg: dict[str, Any], limit: float = 90.0, script: Path = SCRIPT) -> dict[str, Any]:
    assert NODE is not None
    env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
    pipe = asyncio.subprocess.PIPE
    proc = await asyncio.create_subprocess_exec(NODE, str(script), json.dumps(cfg), env=env, stdout=pipe,
                                                stderr=pipe)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode()[-2000:]
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def test_node_opcua_client(tmp_path: Path) -> None:
    tm = make_tagmap()
    plc = FakePlc(tm).start()
    plc.submit(Command(kind=CommandKind.INJECT_FAULT, target="V100.pressure", params={"kind": "fail"}))
    plc.submit(Command(kind=CommandKind.INJECT_FAULT, target="V100.temperature",
                       params={"kind": "comm_loss"}))
    try:
        async with OpcUaAdapter(tm, plc) as adapter:
            await plc.wait_tick(plc.tick + 2)
            res = await run_node({"url": adapter.endpoint, "nsUri": tm.opcua.namespace_uri, "plant": tm.plant,
                                  "secure": False, "pki": str(tmp_path / "pki"), "subscribeMs": 2500,
                                  "writeValue": 61.5, "step": 3})
    finally:
        plc.stop()
    ns = "ns=2;s="
    browsed = {n["nodeId"]: n for n in res["nodes"]}
    for tag in tm.tags:
        assert ns + tag.opcua.node_id in browsed, tag.key
    # EU + EURange of every analog tag
    analog = {a["nodeId"]: a for a in res["analog"]}
    want = [t for t in tm.tags if t.kind is TagKind.ANALOG]
    assert len(analog) == len(want)
    for tag in want:
        a = analog[ns + tag.opcua.node_id]
        assert (a["low"], a["high"]) == tag.range
        assert a["unitId"] == unit_info(tag.unit).unit_id
    # Good, Uncertain and Bad from the injected faults
    status = {v["nodeId"]: v for v in res["values"]}
    assert status[ns + "SEP-V100.inlet_pressure"]["status"] == "BadSensorFailure"
    assert status[ns + "SEP-V100.inlet_pressure"]["value"] is None
    assert status[ns + "SEP-V100.temperature"]["status"] == "UncertainNoCommunicationLastUsableValue"
    assert status[ns + "SEP-V100.oil_level"]["status"] == "Good"
    # every scan's change inside the subscription window
    notes = res["notifications"]
    got = {(n[0].removeprefix(ns), n[1]) for n in notes}
    times = sorted({n[1] for n in notes})
    assert len(times) > 10
    per_tag: dict[str, list[int]] = {}
    for node_id, ms in got:
        per_tag.setdefault(node_id, []).append(ms)
    # window: from the moment every monitored item was live to the last publish before terminate
    first = round((max(min(v) for v in per_tag.values()) / 1000 - tm.epoch) / tm.scan_period)
    last = round((times[-2] / 1000 - tm.epoch) / tm.scan_period)
    expected = set()
    for t in range(first + 1, last):
        a, b = plc.history[t - 1], plc.history[t]
        bad = ((a.status & 0x80000000) != 0) & ((b.status & 0x80000000) != 0)  # null stays null
        for i in np.flatnonzero(((a.values != b.values) & ~bad) | (a.status != b.status)):
            ms = round(datetime.fromtimestamp(tm.epoch + t * tm.scan_period, UTC).timestamp() * 1000)
            expected.add((tm.tags[i].opcua.node_id, ms))
    assert len(expected) > 50
    assert expected <= got, sorted(expected - got)[:5]
    # write -> the PLC queue; Step -> exactly 3 ticks
    assert res["writeStatus"] == "Good"
    assert ("LIC100.sp", 61.5) in [(c.target, c.value) for c in plc.submitted]
    assert (res["pauseStatus"], res["stepStatus"]) == ("Good", "Good")
    assert res["tickAfter"] - res["tickBefore"] == 3


async def test_node_opcua_sign_and_encrypt_with_user(tmp_path: Path) -> None:
    tm = make_tagmap()
    plc = FakePlc(tm).start()
    users = {"otto": UserRecord(name="otto", role=Role.OPERATOR, password_hash=hash_password("op-pw"))}
    security = SecurityConfig(policies=("Basic256Sha256:SignAndEncrypt",), anonymous=False, users=users,
                              pki_dir=tmp_path / "server-pki", trust_all=True)
    try:
        async with OpcUaAdapter(tm, plc, security=security) as adapter:
            res = await run_node({"url": adapter.endpoint, "nsUri": tm.opcua.namespace_uri, "plant": tm.plant,
                                  "secure": True, "user": "otto", "password": "op-pw",
                                  "pki": str(tmp_path / "client-pki"), "writeValue": 44.0})
    finally:
        plc.stop()
    assert res["securityMode"] == 3  # SignAndEncrypt
    assert res["writeStatus"] == "Good"
    assert ("LIC100.sp", 44.0) in [(c.target, c.value) for c in plc.submitted]


async def test_node_opcua_browses_the_typed_model() -> None:
    """node-opcua on the real PLC (default map): every equipment node's type definition, the
    controllers' SP/PV/OUT/MODE/KC/TI components, the transmitters' PV and DeviceHealth."""
    from plc_emulator.engine.catalogue import SignalKind
    from plc_emulator.opcua.model import EQUIPMENT_TYPES, LOOP_PV_SIGNALS, equipment_type
    from plc_emulator.runtime.config import RuntimeConfig
    from plc_emulator.runtime.plc import PlcRuntime
    from plc_emulator.signals import lookup
    from plc_emulator.tagmap import load
    from tests.conftest import DEFAULT_TAGMAP

    tm = load(str(DEFAULT_TAGMAP))
    async with (PlcRuntime(tm, RuntimeConfig(paused=True, speed=0.0)) as plc,
                OpcUaAdapter(tm, plc) as adapter):
        res = await run_node({"url": adapter.endpoint, "nsUri": tm.opcua.namespace_uri, "plant": tm.plant},
                             script=SCRIPT.parent / "typed_model.js")
    ns = "ns=2;s="
    objects = res["objects"]
    assert "EquipmentType" in res["subtypes"]["BaseObjectType"]
    assert set(res["subtypes"]["EquipmentType"]) == set(EQUIPMENT_TYPES)
    for device in tm.devices:
        obj = objects[f"{ns}{tm.plant}.{device.name}"]
        assert obj["type"] == (equipment_type(device) or "BaseObjectType"), device.name
        comps = {c["nodeId"] for c in obj["components"]}
        assert {ns + t.opcua.node_id for t in device.tags} <= comps
    controllers = {k: v for k, v in objects.items() if v["type"] == "PidControllerType"}
    assert {v["browseName"] for v in controllers.values()} == {
        "LIC100", "PIC100", "LIC200", "PIC200", "LIC300", "LIC301", "PIC300", "TIC100"}
    by_node = {ns + t.opcua.node_id: t for t in tm.tags}
    for ctrl in controllers.values():
        loop = ctrl["browseName"]
        roles = {by_node[c["nodeId"]].name.removeprefix(f"{loop}_") if by_node[c["nodeId"]].name.startswith(loop)
                 else "PV" for c in ctrl["components"]}
        want = {"SP", "OUT", "MODE", "KC", "TI", "VALVE"} | ({"PV"} if loop != "LIC200" else set())
        assert roles == want, (loop, roles)
        if loop in LOOP_PV_SIGNALS:
            assert any(by_node[c["nodeId"]].signal == LOOP_PV_SIGNALS[loop] for c in ctrl["components"])
    transmitters = {k: v for k, v in objects.items() if v["type"] == "TransmitterType"}
    measured = [t for t in tm.tags if (s := lookup(t.signal)) is not None and s.kind is SignalKind.MEASURED]
    assert len(transmitters) == len(measured) == 12
    for tag in measured:
        tt = transmitters[f"{ns}{tm.plant}.{tag.device}.{tag.name}_TT"]
        assert {c["browseName"] for c in tt["components"]} == {tag.opcua.browse_name, "DeviceHealth"}
        assert ns + tag.opcua.node_id in {c["nodeId"] for c in tt["components"]}
