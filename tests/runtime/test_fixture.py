"""plc_emulator.testing: the documented usage, lockstep replay, and the logs the runtime emits."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import struct
from pathlib import Path

import pytest
import structlog
from pymodbus.client import AsyncModbusTcpClient
from structlog.testing import capture_logs

from plc_emulator.commands import Command, CommandKind
from plc_emulator.errors import WriteRejected
from plc_emulator.runtime import read_journal
from plc_emulator.runtime.logs import configure_logging
from plc_emulator.testing import emulator
from tests.conftest import DEFAULT_TAGMAP
from tests.runtime.conftest import SP_TAG

pytestmark = pytest.mark.integration


class TestFixture:
    async def test_documented_example(self) -> None:
        """The docs/runtime.md example: write, step, read back over Modbus TCP."""
        async with emulator(seed=7) as emu:
            emu.write("SEP-V100.LIC100_SP", 55.0)  # validated like a client write
            snap = await emu.step()  # applied at the next tick
            assert snap.tick == 1
            assert emu.value("SEP-V100.LIC100_SP", snap) == 55.0

            client = AsyncModbusTcpClient("127.0.0.1", port=emu.modbus_port)
            await client.connect()
            try:
                rr = await client.read_holding_registers(100, count=2, device_id=1)  # LIC100_SP, float32 ABCD
            finally:
                client.close()
            assert not rr.isError()
            assert struct.unpack(">f", struct.pack(">HH", *rr.registers))[0] == 55.0

            with pytest.raises(WriteRejected, match="OUT_OF_RANGE"):
                emu.write("SEP-V100.LIC100_SP", 95.0)
            later = await emu.step(10)
            assert later.tick == 11
            assert emu.tick == 11

    async def test_opcua_when_asked(self) -> None:
        """opcua=True also serves OPC UA on a free port; a value written and stepped is readable there."""
        from asyncua.client.client import Client

        async with emulator(opcua=True) as emu, asyncio.timeout(60):
            if emu.opcua_port is None:
                pytest.skip("OPC UA adapter not installed")
            assert emu.opcua_endpoint is not None
            emu.write(SP_TAG, 66.0)
            await emu.step()
            async with Client(emu.opcua_endpoint, timeout=10) as client:
                ns = await client.get_namespace_index(emu.tagmap.opcua.namespace_uri)
                node = client.get_node(f"ns={ns};s={emu.tag(SP_TAG).opcua.node_id}")
                value = await node.read_value()
                while value != 66.0:  # bounded by the timeout above: the adapter publishes per scan
                    await asyncio.sleep(0.05)
                    value = await node.read_value()
        assert value == 66.0

    async def test_lockstep_journal_replays_to_the_live_digest(self, tmp_path: Path) -> None:
        """Writes, a fault, speed changes in lockstep; replaying the journal gives the live digest."""
        from plc_emulator.cli.replay import replay

        journal = tmp_path / "j.jsonl"
        async with emulator(journal=journal, seed=11) as emu, asyncio.timeout(60):
            await emu.step(5)
            emu.write(SP_TAG, 62.0)
            await emu.step(3)
            emu.submit(Command(kind=CommandKind.INJECT_FAULT, target="V100.pressure",
                               params={"kind": "bias", "offset": 2.5}))
            emu.submit(Command(kind=CommandKind.WRITE, target="runtime.speed", value=0.0))  # not journaled
            await emu.step(20)
            emu.write(SP_TAG, 45.0)
            emu.submit(Command(kind=CommandKind.CLEAR_FAULT, target="V100.pressure"))
            live = await emu.step(12)
        parsed = read_journal(journal)
        assert [e.tick for e in parsed.entries] == [6, 9, 29, 29]
        assert parsed.end_tick == live.tick == 40
        assert parsed.header.seed == 11
        assert replay(emu.tagmap, parsed).digest == live.digest

    async def test_other_seed_gives_another_digest(self) -> None:
        """The digest comparison above can fail: a different seed changes it."""
        digests = []
        for seed in (1, 2):
            async with emulator(seed=seed) as emu, asyncio.timeout(60):
                digests.append((await emu.step(20)).digest)
        assert digests[0] != digests[1]


class TestLogs:
    async def test_control_writes_and_lifecycle_are_logged(self) -> None:
        """One event per meaningful action (captured as dicts, not formatted strings), none per scan."""
        with capture_logs() as logs:
            async with emulator(tagmap_path=DEFAULT_TAGMAP) as emu, asyncio.timeout(60):
                emu.write(SP_TAG, 44.0, source="opcua")
                emu.submit(Command(kind=CommandKind.WRITE, target="runtime.step", value=30, source="modbus"))
                await emu.plc.wait_tick(30)
        events = [e["event"] for e in logs]
        assert events[0] == "plc.started"
        assert {"event": "write.applied", "target": "runtime.step", "value": 30, "source": "modbus",
                "log_level": "info"} in logs
        applied = [e for e in logs if e["event"] == "command.applied"]
        assert applied == [{"event": "command.applied", "tick": 1, "kind": "write", "target": "LIC100.sp",
                            "value": 44.0, "source": "opcua", "log_level": "info"}]
        assert events[-1] == "plc.stopped"
        assert len(events) < 10  # 30 scans, a handful of lines

    def test_json_when_not_a_tty(self) -> None:
        buf = io.StringIO()
        configure_logging("info", stream=buf)
        log = structlog.get_logger("t")
        log.debug("hidden")
        log.info("plc.started", seed=3)
        lines = buf.getvalue().splitlines()
        assert len(lines) == 1
        obj = json.loads(lines[0])
        assert (obj["event"], obj["seed"], obj["level"]) == ("plc.started", 3, "info")
        assert "timestamp" in obj

    def test_stdlib_loggers_share_the_format(self) -> None:
        """asyncua / the OPC UA adapter log through logging: same JSON lines; chatty INFO is dropped."""
        buf = io.StringIO()
        configure_logging("info", stream=buf)
        logging.getLogger("plc_emulator.opcua").info("opcua.started endpoint=%s", "opc.tcp://x")
        logging.getLogger("asyncua.server.uaprocessor").info("per-request noise")
        lines = [json.loads(x) for x in buf.getvalue().splitlines()]
        assert [(x["event"], x["logger"], x["level"]) for x in lines] == [
            ("opcua.started endpoint=opc.tcp://x", "plc_emulator.opcua", "info")]

    def test_console_when_asked_and_bad_level(self) -> None:
        buf = io.StringIO()
        configure_logging("debug", json=False, stream=buf)
        structlog.get_logger("t").debug("scan.overrun", overran_ms=12.5)
        text = buf.getvalue()
        assert "scan.overrun" in text
        assert "overran_ms" in text
        assert not text.lstrip().startswith("{")
        with pytest.raises(ValueError, match="log level must be one of"):
            configure_logging("loud")
