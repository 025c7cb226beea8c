"""Limits against the adapter: each refused with the right status before anything is created, the
values advertised in ServerCapabilities/OperationLimits, login backoff and decoy hashing, /metrics."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from asyncua import Client, ua

from plc_emulator.opcua.limits import OpcUaLimits
from plc_emulator.opcua.security import Role, SecurityConfig, UserRecord, hash_password
from plc_emulator.opcua.server import OpcUaAdapter
from tests.opcua.fakes import FakePlc, make_tagmap

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

LIMITS = OpcUaLimits(max_sessions=3, max_subscriptions_per_session=2, max_monitored_items=40,
                     max_monitored_items_per_subscription=30, max_monitored_items_per_call=25,
                     max_monitored_items_per_node=5, max_nodes_per_read=20, max_nodes_per_write=10,
                     max_nodes_per_browse=10)


@dataclass
class Limited:
    adapter: OpcUaAdapter
    client: Client
    ns: int


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def limited() -> AsyncIterator[Limited]:
    tm = make_tagmap(extra_analog=40)
    plc = FakePlc(tm).start()
    users = {"otto": UserRecord(name="otto", role=Role.OPERATOR, password_hash=hash_password("right"))}
    adapter = OpcUaAdapter(tm, plc, security=SecurityConfig(users=users), limits=LIMITS)
    await adapter.start()
    client = Client(adapter.endpoint, timeout=10)
    try:
        await client.connect()
        ns = await client.get_namespace_index(tm.opcua.namespace_uri)
        yield Limited(adapter=adapter, client=client, ns=ns)
    finally:
        await client.disconnect()
        await adapter.stop()
        plc.stop()


def nodes(s: Limited, n: int) -> list[ua.NodeId]:
    tags = [tn.nodeid for tn in s.adapter.tags]
    return [tags[i % len(tags)] for i in range(n)]


async def test_limits_are_advertised(limited: Limited) -> None:
    c = limited.client
    ol = "i=11704"  # Server/ServerCapabilities/OperationLimits
    want = {"MaxNodesPerRead": 20, "MaxNodesPerWrite": 10, "MaxNodesPerBrowse": 10, "MaxMonitoredItemsPerCall": 25}
    for name, value in want.items():
        node = await c.get_node(ol).get_child(f"0:{name}")
        assert await node.read_value() == value, name
    caps = c.get_node(ua.ObjectIds.Server_ServerCapabilities)
    assert await (await caps.get_child("0:MaxSessions")).read_value() == 3
    assert await (await caps.get_child("0:MaxMonitoredItemsPerSubscription")).read_value() == 30


async def test_too_many_operations(limited: Limited) -> None:
    c = limited.client
    def read(n: int) -> ua.ReadParameters:
        return ua.ReadParameters(NodesToRead=[ua.ReadValueId(NodeId=x, AttributeId=ua.AttributeIds.Value)
                                              for x in nodes(limited, n)])

    assert len(await c.uaclient.read(read(20))) == 20
    with pytest.raises(ua.UaStatusCodeError, match="BadTooManyOperations"):
        await c.uaclient.read(read(21))
    wv = [ua.WriteValue(NodeId=n, AttributeId=ua.AttributeIds.Value,
                        Value=ua.DataValue(ua.Variant(1.0, ua.VariantType.Double))) for n in nodes(limited, 11)]
    with pytest.raises(ua.UaStatusCodeError, match="BadTooManyOperations"):
        await c.uaclient.write(ua.WriteParameters(NodesToWrite=wv))
    br = [ua.BrowseDescription(NodeId=n, BrowseDirection=ua.BrowseDirection.Forward) for n in nodes(limited, 11)]
    with pytest.raises(ua.UaStatusCodeError, match="BadTooManyOperations"):
        await c.uaclient.browse(ua.BrowseParameters(NodesToBrowse=br))
    assert limited.adapter.guard.rejections.counts["too_many_operations"] == 3  # type: ignore[index]


async def test_write_to_missing_node(limited: Limited) -> None:
    wv = ua.WriteValue(NodeId=ua.NodeId("no.such.node", limited.ns), AttributeId=ua.AttributeIds.Value,
                       Value=ua.DataValue(ua.Variant(1.0, ua.VariantType.Double)))
    res = await limited.client.uaclient.write(ua.WriteParameters(NodesToWrite=[wv]))
    assert res[0].name == "BadNodeIdUnknown"


async def monitor(c: Client, sub_id: int, ids: list[ua.NodeId]) -> list[str]:
    reqs = [ua.MonitoredItemCreateRequest(
        ItemToMonitor=ua.ReadValueId(NodeId=n, AttributeId=ua.AttributeIds.Value),
        MonitoringMode=ua.MonitoringMode.Reporting,
        RequestedParameters=ua.MonitoringParameters(ClientHandle=i, SamplingInterval=100, QueueSize=1))
        for i, n in enumerate(ids)]
    res = await c.uaclient.create_monitored_items(ua.CreateMonitoredItemsParameters(
        SubscriptionId=sub_id, ItemsToCreate=reqs, TimestampsToReturn=ua.TimestampsToReturn.Both))
    return [r.StatusCode.name for r in res]


async def test_monitored_items_and_subscriptions(limited: Limited) -> None:
    c = limited.client
    s1 = await c.create_subscription(100, None)
    sid = s1.subscription_id
    tags = [tn.nodeid for tn in limited.adapter.tags]
    with pytest.raises(ua.UaStatusCodeError, match="BadTooManyOperations"):  # 26 > 25 per call
        await monitor(c, sid, tags[:26])
    # one node 8 times: 5 accepted (per node), 3 refused
    assert await monitor(c, sid, [tags[0]] * 8) == ["Good"] * 5 + ["BadTooManyMonitoredItems"] * 3
    # per subscription: 30 - 5 = 25 more fit
    assert await monitor(c, sid, tags[1:26]) == ["Good"] * 25
    assert await monitor(c, sid, [tags[30]]) == ["BadTooManyMonitoredItems"]
    # per server: 40 - 30 = 10 more, in another subscription
    s2 = await c.create_subscription(100, None)
    got = await monitor(c, s2.subscription_id, tags[30:42])
    assert got == ["Good"] * 10 + ["BadTooManyMonitoredItems"] * 2
    with pytest.raises(ua.UaStatusCodeError, match="BadTooManySubscriptions"):
        await c.create_subscription(100, None)
    fams = {f.name: f for f in limited.adapter.metric_families()}
    assert fams["plc_opcua_monitored_items"].samples[0].value == 40
    assert fams["plc_opcua_subscriptions"].samples[0].value == 2
    await s1.delete()
    await s2.delete()


async def test_too_many_sessions(limited: Limited) -> None:
    extra = [Client(limited.adapter.endpoint, timeout=10) for _ in range(3)]
    connected = []
    try:
        for cl in extra[:2]:  # the fixture's client is the first session
            await cl.connect()
            connected.append(cl)
        with pytest.raises(ua.UaStatusCodeError, match="BadTooManySessions"):
            await extra[2].connect()
    finally:
        for cl in connected:
            await cl.disconnect()


async def test_hello_declaring_4gb_is_refused_at_its_header(limited: Limited) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", limited.adapter.port)
    writer.write(b"HELF" + struct.pack("<I", 0xFFFFFFFF) + bytes(1000))
    data = await asyncio.wait_for(reader.read(1024), 10)
    assert data[:3] == b"ERR"
    assert ua.StatusCode(struct.unpack("<I", data[8:12])[0]).name == "BadTcpMessageTooLarge"
    assert await asyncio.wait_for(reader.read(1024), 10) == b""  # closed
    writer.close()


async def test_metrics_families(limited: Limited) -> None:
    fams = {f.name: f for f in limited.adapter.metric_families()}
    assert fams["plc_opcua_sessions"].samples[0].value >= 1
    rejected = {s.labels["reason"]: s.value for s in fams["plc_opcua_rejected_requests"].samples}
    assert rejected["message_too_large"] >= 1
    assert rejected["too_many_operations"] >= 3
    for name in ("plc_opcua_subscriptions", "plc_opcua_monitored_items", "plc_opcua_publish_queue"):
        assert name in fams


async def test_login_backoff_and_decoy(limited: Limited) -> None:
    """Unknown users cost a real hash (no enumeration by timing); after 3 failures an address waits."""
    adapter = limited.adapter
    t0 = time.perf_counter()
    assert not await adapter._check_login("otto", "wrong", "10.0.0.1")
    known = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert not await adapter._check_login("nobody", "wrong", "10.0.0.2")
    unknown = time.perf_counter() - t0
    assert unknown > 0.3 * known  # both ran scrypt (an unknown user without a decoy takes ~0 s)
    assert await adapter._check_login("otto", "right", "10.0.0.3")
    for _ in range(3):
        await adapter._check_login("x", "wrong", "10.0.0.9")
    assert adapter.login_guard.delay("y", "10.0.0.9") == 0.5
