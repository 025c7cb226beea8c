"""Identity and audit: X.509 user tokens mapped to a role, user names in audit records, Server.Auditing,
AuditWriteUpdateEvent / AuditUpdateMethodEvent, the anonymous role and its startup warning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua

from plc_emulator.audit import AuditAction, AuditLog, AuditRecord
from plc_emulator.opcua.certs import create_certificate
from plc_emulator.opcua.security import Role, SecurityConfig, hash_password, load_users
from plc_emulator.opcua.server import OpcUaAdapter
from tests.opcua.fakes import FakePlc, make_tagmap

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CLIENT_URI = "urn:plc-emulator:test-client"


@dataclass
class Env:
    adapter: OpcUaAdapter
    plc: FakePlc
    records: list[AuditRecord]
    cert: Path
    key: Path
    stranger: tuple[Path, Path]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    tmp = tmp_path_factory.mktemp("audit")
    certs = []
    for name in ("carol", "stranger"):
        c, k = tmp / f"{name}.der", tmp / f"{name}.pem"
        create_certificate(common_name=name, application_uri=CLIENT_URI, hostname="localhost", cert_path=c,
                           key_path=k, client=True)
        certs.append((c, k))
    users_file = tmp / "users.yaml"
    users_file.write_text(f'users:\n  otto: {{role: operator, password: "{hash_password("op-pw")}"}}\n'
                          "  carol: {role: engineer, certificate: carol.der}\n")
    users = load_users(users_file)
    assert users["carol"].certificate is not None
    tm = make_tagmap()
    plc = FakePlc(tm).start()
    audit = AuditLog()
    records: list[AuditRecord] = []
    audit.add_sink(records.append)
    security = SecurityConfig(policies=("None", "Basic256Sha256:SignAndEncrypt"), users=users,
                              anonymous_role=Role.VIEWER, pki_dir=tmp / "pki", trust_all=True)
    adapter = OpcUaAdapter(tm, plc, security=security, audit=audit)
    await adapter.start()
    try:
        yield Env(adapter, plc, records, certs[0][0], certs[0][1], certs[1])
    finally:
        await adapter.stop()
        plc.stop()


async def write_sp(c: Client, value: float, ns_uri: str) -> ua.StatusCode:
    ns = await c.get_namespace_index(ns_uri)
    params = ua.WriteParameters(NodesToWrite=[ua.WriteValue(
        NodeId=ua.NodeId("LIC100.sp", ns), AttributeId=ua.AttributeIds.Value,
        Value=ua.DataValue(ua.Variant(value, ua.VariantType.Double)))])
    return (await c.uaclient.write(params))[0]


class Handler:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def event_notification(self, event: Any) -> None:
        self.events.append(event)


async def test_writes_and_calls_are_audited_with_user_and_events(env: Env) -> None:
    ns_uri = env.adapter.tagmap.opcua.namespace_uri
    async with Client(env.adapter.endpoint, timeout=10) as watcher:
        assert await watcher.get_node(ua.ObjectIds.Server_Auditing).read_value() is True
        handler = Handler()
        sub = await watcher.create_subscription(50, handler)
        await sub.subscribe_events(watcher.nodes.server, ua.ObjectIds.AuditWriteUpdateEventType)
        c = Client(env.adapter.endpoint, timeout=10)
        c.set_user("otto")
        c.set_password("op-pw")
        async with c:
            assert (await write_sp(c, 61.5, ns_uri)).is_good()
            plant = env.adapter.tagmap.plant
            ns = await c.get_namespace_index(ns_uri)
            with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):  # operator may not Pause
                await c.get_node(ua.NodeId(f"{plant}.Simulation", ns)).call_method(
                    ua.NodeId(f"{plant}.Simulation.Pause", ns))
        async with Client(env.adapter.endpoint, timeout=10) as anon:  # viewer
            assert (await write_sp(anon, 62.0, ns_uri)).name == "BadUserAccessDenied"
        for _ in range(200):
            if len(handler.events) >= 2:
                break
            await asyncio.sleep(0.02)
    w = [r for r in env.records if r.action is AuditAction.WRITE]
    assert [(r.user, r.new, r.result) for r in w[-2:]] == [("otto", 61.5, "Good"),
                                                            (None, 62.0, "BadUserAccessDenied")]
    assert w[-2].target == w[-1].target
    assert w[-2].target.endswith(".sp")
    assert w[-2].client.startswith("127.0.0.1:")
    assert isinstance(w[-2].old, float)
    calls = [r for r in env.records if r.action is AuditAction.CALL]
    assert calls[-1].user == "otto"
    assert calls[-1].result == "BadUserAccessDenied"
    assert calls[-1].target.endswith("Simulation.Pause")
    users = [(e.ClientUserId, e.Status, e.NewValue.Value if isinstance(e.NewValue, ua.Variant) else e.NewValue)
             for e in handler.events]
    assert ("otto", True, 61.5) in users
    assert ("anonymous", False, 62.0) in users


async def x509_client(env: Env, cert: Path, key: Path) -> Client:
    c = Client(env.adapter.endpoint, timeout=10)
    c.application_uri = CLIENT_URI
    await c.set_security_string(f"Basic256Sha256,SignAndEncrypt,{cert},{key}")
    await c.load_client_certificate(str(cert))
    await c.load_private_key(str(key))
    return c


async def test_x509_user_token_maps_to_role(env: Env) -> None:
    c = await x509_client(env, env.cert, env.key)
    async with c:
        plant = env.adapter.tagmap.plant
        ns = await c.get_namespace_index(env.adapter.tagmap.opcua.namespace_uri)
        sim = c.get_node(ua.NodeId(f"{plant}.Simulation", ns))
        await sim.call_method(ua.NodeId(f"{plant}.Simulation.Pause", ns))  # engineer
        await sim.call_method(ua.NodeId(f"{plant}.Simulation.Resume", ns))
    assert [r.user for r in env.records if r.action is AuditAction.CALL][-2:] == ["carol", "carol"]
    stranger = await x509_client(env, *env.stranger)
    with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
        await stranger.connect()
    await stranger.disconnect()


async def test_audit_source_of_writes_from_other_protocols(env: Env) -> None:
    """Modbus, REST and Sparkplug writes are audited by signal name (``LIC100.sp``), not by a NodeId
    string: the event's source is the tag bound to the signal, and a target that is neither a tag nor a
    NodeId falls back to the Server object instead of raising (it raised UaStringParsingError, logged
    as ``opcua.audit_event_failed`` with a traceback on every Modbus write)."""
    tag = next(t for t in env.adapter.tags if t.tag.signal.endswith(".sp"))
    assert env.adapter._audit_source(tag.tag.signal) == (tag.nodeid, tag.tag.key)
    assert env.adapter._audit_source("no.such.signal") == (ua.NodeId(ua.ObjectIds.Server), "no.such.signal")
