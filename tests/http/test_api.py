"""REST API against a real PlcRuntime: readings, tags, writes, alarms, history, faults, simulation."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from plc_emulator.engine.catalogue import SignalKind
from plc_emulator.signals import lookup
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP
from tests.http.conftest import Rig
from tests.runtime._proc import CLI, Proc, ready_parts

pytestmark = pytest.mark.integration

SP = "SEP-V100.LIC100_SP"  # rw, write limits 20..80 %
PROBLEM = "application/problem+json"


async def test_readings_list_the_twelve_field_instruments_with_units_and_quality(plant: Rig) -> None:
    await plant.step(2)
    status, body, _ = await plant.call("GET", "/readings")
    assert status == 200
    assert len(body["readings"]) == len(plant.plc.tagmap.tags)
    by_tag = {r["tag"]: r for r in body["readings"]}
    field = [t for t in plant.plc.tagmap.tags if (s := lookup(t.signal)) is not None and s.kind is SignalKind.MEASURED]
    assert len(field) == 12
    for t in field:
        r = by_tag[t.key]
        assert r["unit"] == t.unit, t.key
        assert r["unit"], t.key
        assert r["quality"] == {"name": "Good", "code": 0, "severity": "good"}
        assert r["value"] == plant.value(t.key)  # the snapshot's value, unrounded
        assert r["source_time"] == body["time"]
    assert by_tag["SEP-V100.inlet_pressure"]["unit"] == "PSI"


async def test_readings_filters_and_one_tag(plant: Rig) -> None:
    status, body, _ = await plant.call("GET", "/readings?device=PMP-P100")
    assert status == 200
    assert {r["device"] for r in body["readings"]} == {"PMP-P100"}
    status, body, _ = await plant.call("GET", "/readings?tag=SEP-V100.oil_level,PMP-P100.status")
    assert [r["tag"] for r in body["readings"]] == ["SEP-V100.oil_level", "PMP-P100.status"]
    assert body["readings"][1]["state"] in ("STOPPED", "RUNNING", "TRIPPED")
    status, one, _ = await plant.call("GET", "/readings/SEP-V100.oil_level")
    assert status == 200
    assert one["tag"] == "SEP-V100.oil_level"
    assert one["unit"] == "%"
    for path in ("/readings?device=NOPE", "/readings?tag=NOPE.x", "/readings/NOPE.x"):
        status, problem, headers = await plant.call("GET", path)
        assert status == 404, path
        assert headers["Content-Type"].startswith(PROBLEM), path
        assert problem["status"] == 404
        assert "NOPE" in problem["detail"]


async def test_tags_give_types_limits_and_addresses(plant: Rig) -> None:
    status, body, _ = await plant.call("GET", "/tags")
    assert status == 200
    assert len(body) == len(plant.plc.tagmap.tags)
    sp = next(t for t in body if t["tag"] == SP)
    assert sp["access"] == "rw"
    assert sp["write_limits"] == [20.0, 80.0]
    assert sp["modbus"]["table"] == "holding_register"
    assert sp["modbus"]["address"] == 100
    assert sp["opcua"]["node_id"].endswith(";s=SEP-V100.LIC100_SP")
    status, only, _ = await plant.call("GET", "/tags?device=HX-E100")
    assert {t["device"] for t in only} == {"HX-E100"}


async def test_write_is_served_at_once_and_applied_at_the_next_tick(plant: Rig) -> None:
    """PLC memory semantics (docs/modbus.md): the served image shows an accepted write at once on
    every interface; the engine takes it at the next tick and keeps it."""
    tick = plant.plc.snapshot.tick
    status, body, _ = await plant.call("PUT", f"/tags/{SP}", body={"value": 61.5})
    assert status == 202
    assert body["value"] == 61.5
    assert plant.plc.snapshot.tick == tick
    assert plant.value(SP) == 61.5
    status, reading, _ = await plant.call("GET", f"/readings/{SP}")
    assert status == 200
    assert reading["value"] == 61.5
    await plant.step()
    assert plant.value(SP) == 61.5
    status, _, _ = await plant.call("PUT", "/tags/SEP-V100.LIC100_MODE", body={"value": "MAN"})
    assert status == 202
    await plant.step()
    assert plant.value("SEP-V100.LIC100_MODE") == 0.0


@pytest.mark.parametrize(("tag", "value", "status", "reason"), [
    (SP, 95.0, 422, "OUT_OF_RANGE"),
    (SP, "fifty", 422, "TYPE_MISMATCH"),
    ("SEP-V100.inlet_pressure", 10.0, 405, "NOT_WRITABLE"),
    ("SEP-V100.LIC100_MODE", 0.5, 422, "TYPE_MISMATCH"),
])
async def test_rejected_writes_are_problems_and_nothing_is_applied(plant: Rig, tag: str, value: object,
                                                                   status: int, reason: str) -> None:
    before = plant.value(tag)
    got, problem, headers = await plant.call("PUT", f"/tags/{tag}", body={"value": value})
    assert got == status
    assert headers["Content-Type"].startswith(PROBLEM)
    assert problem["reason"] == reason
    assert problem["tag"] == tag
    assert problem["instance"] == f"/tags/{tag}"
    assert plant.plc.queue_depth == 0
    await plant.step()
    assert plant.value(tag) == before or tag == "SEP-V100.inlet_pressure"
    assert not any(c.source == "http" for c in plant.plc.snapshot.commands)


async def test_unknown_tag_and_bad_body(plant: Rig) -> None:
    assert (await plant.call("PUT", "/tags/NOPE.x", body={"value": 1}))[0] == 404
    assert (await plant.call("PUT", f"/tags/{SP}", body="{not json"))[0] == 400
    assert (await plant.call("PUT", f"/tags/{SP}", body={"val": 50}))[0] == 422
    assert plant.plc.queue_depth == 0


async def test_alarm_ack_shelve_unshelve(plant: Rig) -> None:
    alarm = "PMP-P100.status.TRIPPED"  # a discrete alarm without on-delay
    status, _, _ = await plant.call("POST", "/faults", body={"action": "trip_pump"})
    assert status == 202
    await plant.step(2)
    alarms = {a["id"]: a for a in (await plant.call("GET", "/alarms"))[1]["alarms"]}
    assert alarms[alarm]["state"] == "UNACKED"
    assert alarms[alarm]["tag"] == "PMP-P100.status"
    assert (await plant.call("POST", f"/alarms/{alarm}/ack", headers={"X-PLC-Request": "1"}))[0] == 202
    await plant.step()
    status, a, _ = await plant.call("GET", "/alarms")
    assert next(x for x in a["alarms"] if x["id"] == alarm)["state"] == "ACKED"
    status, problem, _ = await plant.call("POST", f"/alarms/{alarm}/ack", headers={"X-PLC-Request": "1"})
    assert status == 409
    assert "already" in problem["detail"]
    assert (await plant.call("POST", f"/alarms/{alarm}/shelve", body={"duration": "30m"}))[0] == 422
    assert (await plant.call("POST", f"/alarms/{alarm}/shelve", body={"duration": -5, "reason": "x"}))[0] == 422
    status, _, _ = await plant.call("POST", f"/alarms/{alarm}/shelve",
                                    body={"duration": "30m", "reason": "transmitter being replaced"})
    assert status == 202
    await plant.step()
    shelved = next(x for x in (await plant.call("GET", "/alarms"))[1]["alarms"] if x["id"] == alarm)
    assert shelved["state"] == "SHELVED"
    assert shelved["shelved_until"] is not None
    assert plant.plc.snapshot.commands[0].params["reason"] == "transmitter being replaced"
    assert (await plant.call("POST", f"/alarms/{alarm}/unshelve", body={}))[0] == 202
    await plant.step()
    assert next(x for x in (await plant.call("GET", "/alarms"))[1]["alarms"] if x["id"] == alarm)["state"] != "SHELVED"
    assert (await plant.call("POST", f"/alarms/{alarm}/unshelve", body={}))[0] == 409
    assert (await plant.call("POST", "/alarms/NOPE/ack", body={}))[0] == 404


async def test_faults_use_the_scenario_vocabulary(plant: Rig) -> None:
    status, problem, _ = await plant.call("POST", "/faults", body={"target": "V100.oil_levl",
                                                                   "params": {"kind": "freeze"}})
    assert status == 422
    assert 'did you mean "V100.oil_level"' in problem["detail"]
    status, problem, _ = await plant.call("POST", "/faults", body={"target": "V100.oil_level",
                                                                   "params": {"kind": "melt"}})
    assert status == 422
    assert "freeze" in problem["detail"]
    assert (await plant.call("POST", "/faults", body={"action": "write", "target": "LIC100.sp"}))[0] == 422
    status, _body, headers = await plant.call("POST", "/faults", body={"target": "V200.pressure",
                                                                      "params": {"kind": "bias", "offset": 5}})
    assert status == 202
    assert headers["Location"] == "/faults/V200.pressure"
    await plant.step()
    assert plant.plc.snapshot.commands[0].params == {"kind": "bias", "offset": 5}
    faults = (await plant.call("GET", "/faults"))[1]["faults"]
    assert [f["id"] for f in faults] == ["V200.pressure"]
    assert (await plant.call("DELETE", "/faults/V100.pressure", headers={"X-PLC-Request": "1"}))[0] == 404
    assert (await plant.call("DELETE", "/faults/V200.pressure", headers={"X-PLC-Request": "1"}))[0] == 202
    await plant.step()
    assert (await plant.call("GET", "/faults"))[1]["faults"] == []
    assert (await plant.call("POST", "/faults", body={"action": "trip_pump"}))[0] == 202


async def test_sim_pause_resume_step_speed(plant: Rig) -> None:
    t0 = plant.plc.tick
    status, _body, _ = await plant.call("POST", "/sim", body={"action": "step", "ticks": 5})
    assert status == 200
    async with asyncio.timeout(10):
        await plant.plc.wait_tick(t0 + 5)
    assert plant.plc.tick == t0 + 5
    assert (await plant.call("POST", "/sim", body={"action": "speed", "speed": 4}))[1]["speed"] == 4.0
    assert (await plant.call("POST", "/sim", body={"action": "speed", "speed": -1}))[0] == 422
    assert (await plant.call("POST", "/sim", body={"action": "step", "ticks": 0}))[0] == 422
    assert (await plant.call("POST", "/sim", body={"action": "warp"}))[0] == 422
    assert (await plant.call("POST", "/sim", body={"action": "resume"}))[1]["paused"] is False
    assert (await plant.call("POST", "/sim", body={"action": "pause"}))[1]["paused"] is True
    status, sim, _ = await plant.call("GET", "/sim")
    assert sim["paused"] is True
    assert sim["speed"] == 4.0


async def test_history_pages_and_events(plant: Rig) -> None:
    await plant.call("POST", "/faults", body={"target": "V100.temperature", "params": {"kind": "freeze"}})
    await plant.step(30)
    await plant.flush()
    tag = "SEP-V100.inlet_pressure"
    t_end = plant.plc.snapshot.sim_time
    status, page1, _ = await plant.call("GET", f"/history?tag={tag}&limit=10&to={t_end}")
    assert status == 200
    assert len(page1["samples"]) == 10
    assert page1["next"]
    assert page1["samples"][0]["quality"]["name"] == "Good"
    assert page1["gaps"] == []
    status, page2, _ = await plant.call("GET", f"/history?tag={tag}&limit=10&to={t_end}&page={page1['next']}")
    assert status == 200
    assert page2["samples"][0]["t"] > page1["samples"][-1]["t"]
    status, events, _ = await plant.call("GET", "/events")
    assert status == 200
    assert any(e["kind"] == "fault_start" and e["source"] == "V100.temperature" for e in events["events"])
    assert (await plant.call("GET", "/history"))[0] == 400
    assert (await plant.call("GET", "/history?tag=NOPE.x"))[0] == 404
    assert (await plant.call("GET", f"/history?tag={tag}&from=yesterday"))[0] == 400
    assert (await plant.call("GET", f"/history?tag={tag}&page=!!"))[0] == 400


async def test_history_shows_the_historians_gaps(plant: Rig, tmp_path: Path) -> None:
    """A gap the historian recorded (samples dropped) inside the window comes back with the page."""
    await plant.step(20)
    await plant.flush()
    t_gap = plant.plc.snapshot.sim_time - 1.0
    with sqlite3.connect(tmp_path / "historian.db") as db:  # as the writer records a queue overflow
        db.execute("INSERT INTO gaps VALUES (?, ?, ?, ?)", (1000, 1041, "queue_full", t_gap))
    tag = "SEP-V100.inlet_pressure"
    status, page, _ = await plant.call("GET", f"/history?tag={tag}")
    assert status == 200
    assert page["gaps"] == [{"time": page["gaps"][0]["time"], "t": t_gap, "samples_lost": 42, "reason": "queue_full"}]
    status, page, _ = await plant.call("GET", f"/history?tag={tag}&to={t_gap - 5}")
    assert page["gaps"] == []


async def test_plc_emulator_run_serves_readings_and_the_hmi(tmp_path: Path) -> None:
    """The app mounts the API on the HTTP port of the real command (`plc-emulator run`)."""
    proc = Proc([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0", "--http-port", "0",
                 "--opcua-port", "0", "--opcua-security", "None", "--data-dir", str(tmp_path)])
    try:
        line = await asyncio.to_thread(proc.wait_line, "ready", 90.0)
        base = "http://" + ready_parts(line)["http"]
        async with aiohttp.ClientSession() as s:
            async with s.get(base + "/readings") as r:
                body = await r.json()
            async with s.get(base + "/") as r:
                assert r.status == 200
                assert "hmi.js" in await r.text()
        units = {x["tag"]: x["unit"] for x in body["readings"]}
        assert units["SEP-V100.inlet_pressure"] == "PSI"
        assert units["PMP-P100.oil_flow"] == "bbl/day"
        assert len(body["readings"]) == len(load(str(DEFAULT_TAGMAP)).tags)
    finally:
        assert await asyncio.to_thread(proc.terminate) == 0
