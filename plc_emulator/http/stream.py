"""Server-Sent Events: one change set per scan, encoded once, fanned out without stalling the scan.

Data path: the scan thread's snapshot callback only appends the snapshot to a bounded deque and
wakes the event loop (O(1), no encoding: the scan never waits for a client). On the loop,
:meth:`Broadcaster._drain` turns each snapshot into ONE ``event: changes`` chunk (the tags whose
value or quality changed since the previous scan, the scan's alarm transitions, fault and
simulation state) and hands the same bytes to every client; ``stats.encodes`` counts encodings.

Back-pressure: each client holds at most ``client_buffer`` pending chunks. A client that falls
further behind (slow network, stalled reader) has its backlog dropped and is sent one
``event: snapshot`` (the full current state, encoded at most once per scan whatever the number of
lagging clients) when it next drains, then changes again. Per-client memory is therefore bounded
by ``client_buffer`` chunks plus the transport's write buffer, and the scan never blocks on it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from plc_emulator.http.views import value_or_none
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.tagmap.model import TagMap

__all__ = ["Broadcaster", "StreamStats"]

KEEPALIVE_S = 15.0


@dataclass(slots=True)
class StreamStats:
    encodes: int = 0  # change sets encoded (one per scan while anyone listens)
    snapshot_encodes: int = 0  # full snapshots encoded
    scans_seen: int = 0
    clients: int = 0
    clients_total: int = 0
    dropped_to_snapshot: int = 0  # times a lagging client's backlog was replaced by a snapshot
    coalesced: int = 0  # scans merged because the loop fell more than the backlog behind


class _Client:
    __slots__ = ("limit", "need_snapshot", "pending", "wake")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending: collections.deque[bytes] = collections.deque()
        self.need_snapshot = True  # the first thing a client gets is the full state
        self.wake = asyncio.Event()

    def push(self, chunk: bytes, stats: StreamStats) -> None:
        if not self.need_snapshot:
            if len(self.pending) >= self.limit:
                self.pending.clear()
                self.need_snapshot = True
                stats.dropped_to_snapshot += 1
            else:
                self.pending.append(chunk)
        self.wake.set()


def _sse(event: str, ident: int, payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return f"event: {event}\nid: {ident}\ndata: {data}\n\n".encode()


class Broadcaster:
    """Register :meth:`on_snapshot` with the PLC; serve clients with :meth:`serve`."""

    def __init__(self, tagmap: TagMap, extras: Callable[[Snapshot], dict[str, Any]], *, client_buffer: int = 32,
                 backlog: int = 256) -> None:
        self.tagmap = tagmap
        self._keys = [t.key for t in tagmap.tags]
        self._extras = extras  # alarm transitions, faults, sim state for a snapshot (from the server)
        self._client_buffer = client_buffer
        self._incoming: collections.deque[Snapshot] = collections.deque(maxlen=backlog)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._last: Snapshot | None = None
        self._snap_cache: tuple[int, bytes] | None = None
        self._clients: set[_Client] = set()
        self._closed = False
        self.stats = StreamStats()

    def bind(self, loop: asyncio.AbstractEventLoop, current: Snapshot) -> None:
        self._loop = loop
        self._last = current

    # ---------------------------------------------------------------- scan thread
    def on_snapshot(self, snap: Snapshot) -> None:
        """Scan-thread callback: O(1), never blocks, never encodes."""
        loop = self._loop
        if loop is None or self._closed:
            return
        if len(self._incoming) == self._incoming.maxlen:
            self.stats.coalesced += 1
        self._incoming.append(snap)
        if not self._scheduled:
            self._scheduled = True
            with contextlib.suppress(RuntimeError):  # loop closed under us
                loop.call_soon_threadsafe(self._drain)

    # ---------------------------------------------------------------- event loop
    def _drain(self) -> None:
        self._scheduled = False
        while self._incoming:
            snap = self._incoming.popleft()
            self.stats.scans_seen += 1
            prev, self._last = self._last, snap
            if not self._clients or prev is None or snap is prev:
                continue
            chunk = self._encode_changes(prev, snap)
            for c in self._clients:
                c.push(chunk, self.stats)

    def _encode_changes(self, prev: Snapshot, snap: Snapshot) -> bytes:
        same = (snap.values == prev.values) | (np.isnan(snap.values) & np.isnan(prev.values))
        changed = np.flatnonzero(~same | (snap.status != prev.status)).tolist()
        values = snap.values.tolist()
        codes = snap.status.tolist()
        payload: dict[str, Any] = {
            "tick": snap.tick, "time": snap.sim_time,
            "values": {self._keys[i]: [value_or_none(values[i], int(codes[i])), int(codes[i])] for i in changed},
        }
        payload.update(self._extras(snap))
        self.stats.encodes += 1
        return _sse("changes", snap.tick, payload)

    def snapshot_chunk(self) -> bytes:
        """The full current state as one ``event: snapshot`` (cached per tick)."""
        snap = self._last
        if snap is None:
            return b""
        cached = self._snap_cache
        if cached is not None and cached[0] == snap.tick:
            return cached[1]
        values = snap.values.tolist()
        codes = snap.status.tolist()
        payload: dict[str, Any] = {
            "tick": snap.tick, "time": snap.sim_time,
            "values": {k: [value_or_none(values[i], int(codes[i])), int(codes[i])] for i, k in enumerate(self._keys)},
        }
        payload.update(self._extras(snap))
        chunk = _sse("snapshot", snap.tick, payload)
        self.stats.snapshot_encodes += 1
        self._snap_cache = (snap.tick, chunk)
        return chunk

    async def serve(self, write: Callable[[bytes], Any]) -> None:
        """Feed one client through ``await write(bytes)`` until :meth:`close` (or the write fails)."""
        client = _Client(self._client_buffer)
        self._clients.add(client)
        self.stats.clients = len(self._clients)
        self.stats.clients_total += 1
        try:
            while not self._closed:
                if client.need_snapshot:
                    client.need_snapshot = False
                    client.pending.clear()
                    await write(self.snapshot_chunk())
                while client.pending and not client.need_snapshot:
                    await write(client.pending.popleft())
                if client.need_snapshot or client.pending:
                    continue
                client.wake.clear()
                try:
                    async with asyncio.timeout(KEEPALIVE_S):
                        await client.wake.wait()
                except TimeoutError:
                    await write(b": keep-alive\n\n")
        finally:
            self._clients.discard(client)
            self.stats.clients = len(self._clients)

    def close(self) -> None:
        self._closed = True
        for c in self._clients:
            c.wake.set()

    @property
    def closed(self) -> bool:
        return self._closed

