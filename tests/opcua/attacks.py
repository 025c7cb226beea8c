"""Attacks on the OPC UA server at a fixed rate for a bounded time, and a 100 ms Modbus poller.

Used by ``tests/opcua/test_attacks.py`` and ``scripts/attack_opcua.py``. Each attack runs in its own
process (``python -m tests.opcua.attacks NAME CONFIG_JSON``, one JSON line out) so that neither its
CPU nor its event loop disturbs the poller that measures the victim.

* ``hel``      a HEL declaring a 4 GB message, then zeros at ``rate`` bytes/s; reconnects when closed.
* ``items``    one session, one subscription, ``count`` monitored items on ONE node in batches of
               ``batch`` at ``rate`` batches/s, kept until the end.
* ``write``    Write requests of ``count`` bad values at ``rate`` requests/s.
* ``login``    UserName logins with wrong passwords at ``rate``/s, alternating a known and an unknown
               user; reports the answer time of each.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from asyncua import Client, ua

__all__ = ["Poller", "run_attack"]


# ---------------------------------------------------------------------------------------------- poller
@dataclass
class Poller:
    """Reads 10 holding registers every 100 ms over raw Modbus TCP in a thread; latencies in ms."""

    host: str
    port: int
    period: float = 0.1
    samples: list[tuple[float, float]] = field(default_factory=list)  # (monotonic start, ms)
    errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Poller:
        self._thread = threading.Thread(target=self._run, name="modbus-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=2.0)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tid = 0
        nxt = time.monotonic()
        try:
            while not self._stop.is_set():
                tid = (tid + 1) & 0xFFFF
                req = struct.pack(">HHHBBHH", tid, 0, 6, 1, 3, 0, 10)
                t0 = time.monotonic()
                try:
                    sock.sendall(req)
                    need, got = 9 + 20, b""
                    while len(got) < need:
                        chunk = sock.recv(need - len(got))
                        if not chunk:
                            raise OSError("closed")
                        got += chunk
                    self.samples.append((t0, (time.monotonic() - t0) * 1000.0))
                except OSError:
                    self.errors += 1
                    self.samples.append((t0, 2000.0))
                    sock.close()
                    sock = socket.create_connection((self.host, self.port), timeout=2.0)
                nxt += self.period
                self._stop.wait(max(0.0, nxt - time.monotonic()))
        finally:
            sock.close()

    def window(self, t0: float, t1: float) -> list[float]:
        return [ms for t, ms in list(self.samples) if t0 <= t < t1]


def summary(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    s = sorted(ms)
    return {"n": len(s), "p50": round(statistics.median(s), 2), "p99": round(s[min(len(s) - 1, int(0.99 * len(s)))], 2),
            "max": round(s[-1], 2)}


# --------------------------------------------------------------------------------------------- attacks
async def hel(cfg: dict[str, Any]) -> dict[str, Any]:
    host, port = cfg["host"], int(cfg["port"])
    rate, seconds = float(cfg.get("rate", 20e6)), float(cfg["seconds"])
    end = time.monotonic() + seconds
    sent, connections, statuses = 0, 0, []
    zeros = bytes(65536)
    while time.monotonic() < end:
        connections += 1
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
        except (OSError, TimeoutError):
            await asyncio.sleep(0.05)
            continue
        writer.write(b"HELF" + struct.pack("<I", 0xFFFFFFFF) + struct.pack("<IIIII", 0, 65536, 65536, 0, 0))
        t_start = time.monotonic()
        reply = asyncio.ensure_future(reader.read(1024))
        while time.monotonic() < end and not reply.done():
            writer.write(zeros)
            sent += len(zeros)
            try:
                await asyncio.wait_for(writer.drain(), 1.0)
            except (OSError, TimeoutError):
                break
            # fixed rate: sleep until this many bytes are due
            due = t_start + sent / rate - time.monotonic()
            if due > 0:
                await asyncio.wait([reply], timeout=due)
        if reply.done() and not reply.cancelled() and reply.exception() is None:
            data = reply.result()
            if data[:3] == b"ERR" and len(data) >= 12:
                statuses.append(ua.StatusCode(struct.unpack("<I", data[8:12])[0]).name)
        else:
            reply.cancel()
        writer.close()
        await asyncio.sleep(0.05)
    return {"connections": connections, "bytes_sent": sent, "statuses": sorted(set(statuses)),
            "refused": len(statuses)}


async def items(cfg: dict[str, Any]) -> dict[str, Any]:
    count, batch, rate = int(cfg.get("count", 50_000)), int(cfg.get("batch", 1000)), float(cfg.get("rate", 10))
    end = time.monotonic() + float(cfg["seconds"])
    statuses: dict[str, int] = {}
    async with Client(cfg["url"], timeout=30) as c:
        ns = await c.get_namespace_index(cfg["ns_uri"])
        node = ua.NodeId(cfg["node"], ns)
        params = ua.CreateSubscriptionParameters(RequestedPublishingInterval=100, RequestedLifetimeCount=1000,
                                                 RequestedMaxKeepAliveCount=10, PublishingEnabled=True)
        sub = await c.uaclient.create_subscription(params, lambda _r: None)
        made = 0
        t0 = time.monotonic()
        while made < count and time.monotonic() < end:
            reqs = []
            for i in range(min(batch, count - made)):
                mp = ua.MonitoringParameters(ClientHandle=made + i, SamplingInterval=100, QueueSize=1,
                                             DiscardOldest=True)
                reqs.append(ua.MonitoredItemCreateRequest(
                    ItemToMonitor=ua.ReadValueId(NodeId=node, AttributeId=ua.AttributeIds.Value),
                    MonitoringMode=ua.MonitoringMode.Reporting, RequestedParameters=mp))
            p = ua.CreateMonitoredItemsParameters(SubscriptionId=sub.SubscriptionId, ItemsToCreate=reqs,
                                                  TimestampsToReturn=ua.TimestampsToReturn.Both)
            try:
                res = await c.uaclient.create_monitored_items(p)
                for r in res:
                    statuses[r.StatusCode.name] = statuses.get(r.StatusCode.name, 0) + 1
            except ua.UaStatusCodeError as exc:
                name = ua.StatusCode(exc.code).name
                statuses[name] = statuses.get(name, 0) + len(reqs)
            made += len(reqs)
            due = t0 + made / batch / rate - time.monotonic()
            if due > 0:
                await asyncio.sleep(due)
        await asyncio.sleep(max(0.0, end - time.monotonic()))
    return {"requested": made, "statuses": statuses}


async def write(cfg: dict[str, Any]) -> dict[str, Any]:
    count, rate = int(cfg.get("count", 20_000)), float(cfg.get("rate", 2))
    end = time.monotonic() + float(cfg["seconds"])
    statuses: dict[str, int] = {}
    sent = 0
    async with Client(cfg["url"], timeout=30) as c:
        ns = await c.get_namespace_index(cfg["ns_uri"])
        node = ua.NodeId(cfg["node"], ns)
        bad = ua.DataValue(ua.Variant(1e12, ua.VariantType.Double))  # out of range
        params = ua.WriteParameters(NodesToWrite=[ua.WriteValue(NodeId=node, AttributeId=ua.AttributeIds.Value,
                                                                Value=bad) for _ in range(count)])
        t0 = time.monotonic()
        while time.monotonic() < end:
            try:
                res = await c.uaclient.write(params)
                for r in res:
                    statuses[r.name] = statuses.get(r.name, 0) + 1
            except ua.UaStatusCodeError as exc:
                name = ua.StatusCode(exc.code).name
                statuses[name] = statuses.get(name, 0) + 1
            sent += 1
            due = t0 + sent / rate - time.monotonic()
            if due > 0:
                await asyncio.sleep(due)
    return {"requests": sent, "statuses": statuses}


async def _login_once(url: str, user: str, password: str) -> tuple[str, float]:
    c = Client(url, timeout=30)
    c.set_user(user)
    c.set_password(password)
    t0 = time.monotonic()
    try:
        await c.connect()
    except ua.UaStatusCodeError as exc:
        return ua.StatusCode(exc.code).name, time.monotonic() - t0
    except Exception as exc:
        return type(exc).__name__, time.monotonic() - t0
    await c.disconnect()
    return "Good", time.monotonic() - t0


async def login(cfg: dict[str, Any]) -> dict[str, Any]:
    rate = float(cfg.get("rate", 10))
    end = time.monotonic() + float(cfg["seconds"])
    known, unknown = cfg["known_user"], "nobody-" + cfg["known_user"]
    results: dict[str, list[float]] = {known: [], unknown: []}
    statuses: dict[str, int] = {}
    pending: set[asyncio.Task[tuple[str, float]]] = set()
    owner: dict[asyncio.Task[tuple[str, float]], str] = {}
    t0 = time.monotonic()
    n = 0
    while time.monotonic() < end:
        user = known if n % 2 == 0 else unknown
        task = asyncio.ensure_future(_login_once(cfg["url"], user, f"wrong-{n}"))
        pending.add(task)
        owner[task] = user
        n += 1
        due = t0 + n / rate - time.monotonic()
        if due > 0:
            done, pending = await asyncio.wait(pending, timeout=due)
            for t in done:
                st, dt = t.result()
                statuses[st] = statuses.get(st, 0) + 1
                results[owner[t]].append(dt)
    abandoned = 0
    if pending:  # answers held back by the server's backoff: wait a little, then give up on them
        done, rest = await asyncio.wait(pending, timeout=3)
        for t in done:
            st, dt = t.result()
            statuses[st] = statuses.get(st, 0) + 1
            results[owner[t]].append(dt)
        for t in rest:
            t.cancel()
        abandoned = len(rest)
    return {"attempts": n, "statuses": statuses, "abandoned": abandoned,
            "known_median_s": round(statistics.median(results[known]), 3) if results[known] else None,
            "unknown_median_s": round(statistics.median(results[unknown]), 3) if results[unknown] else None}


ATTACKS = {"hel": hel, "items": items, "write": write, "login": login}


def run_attack(name: str, cfg: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(ATTACKS[name](cfg))


if __name__ == "__main__":
    # The attacker would be another machine: here it yields the CPU to the victim and the poller, so
    # what is measured is the server's reaction, not this process competing for the same 2 cores.
    os.nice(10)
    print("started", flush=True)  # imports done: the measured window starts now
    out = run_attack(sys.argv[1], json.loads(sys.argv[2]))
    print(json.dumps(out), flush=True)
