"""The Modbus adapter: asyncio listeners in front of one :class:`ModbusService` (see docs/modbus.md).

Each connection has its own frame buffer, so garbage, a half frame or a hang-up on one connection
never reaches another. Pipelined requests are answered in order with one write per received
segment. The common case, a segment holding exactly one request while no link fault is active,
takes the short path: frame -> service -> one write, with no buffering (the per-request path is
what bounds the rate at one connection). Accepted sockets get TCP_NODELAY whatever the loop. A
client that stops reading is paused (transport flow control) instead of growing our buffers.
Every listener applies its :class:`~plc_emulator.modbus.config.Limits`: connections beyond the
listener's or the client address's maximum are refused at once (reset), and one sweeper task
closes connections idle for longer than the idle timeout or holding a half-received frame for
longer than the frame timeout. Refusals and closes are counted and logged at a limited rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self, cast

from pymodbus.pdu.device import ModbusDeviceIdentification

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine._commands import is_link_target
from plc_emulator.image.codec import RegisterImage
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.modbus.access import AccessLevel, Client
from plc_emulator.modbus.config import Limits
from plc_emulator.modbus.faults import LinkFault, LinkFaults, send_later
from plc_emulator.modbus.frames import FrameBuffer, FramingError, Request, mbap
from plc_emulator.modbus.ratelog import RateLimitedLog
from plc_emulator.modbus.serial_link import SerialConfig, SerialLink
from plc_emulator.modbus.service import ModbusService, ModbusStats, PlcLike
from plc_emulator.tagmap.model import TagMap

__all__ = ["Framer", "Listener", "ModbusAdapter"]


class Framer(Protocol):
    """Cuts one connection's byte stream into requests and wraps responses (MBAP or RTU)."""

    skipped: int
    crc_errors: int

    def __len__(self) -> int: ...

    def single(self, data: bytes) -> Request | None: ...

    def feed(self, data: bytes) -> list[Request]: ...

    def response(self, req: Request, pdu: bytes) -> bytes | None: ...


class MbapFramer(FrameBuffer):
    """Modbus TCP: MBAP header in, MBAP header out."""

    __slots__ = ()

    def response(self, req: Request, pdu: bytes) -> bytes | None:
        return mbap(req.tid, req.unit, pdu)


class Listener:
    """One listening socket: its link kind, access level, limits and connections."""

    def __init__(self, name: str, host: str, port: int, *, access: AccessLevel, limits: Limits,
                 framer: Callable[[], Framer] = MbapFramer, ssl_context: ssl.SSLContext | None = None,
                 level_of: Callable[[asyncio.Transport], AccessLevel | None] | None = None) -> None:
        self.name = name
        self.host = host
        self.requested_port = port
        self.port = 0
        self.access = access
        self.limits = limits
        self.framer = framer
        self.ssl_context = ssl_context
        self.level_of = level_of  # TLS: the role of the client certificate
        self.connections: set[_Connection] = set()
        self.per_address: dict[str, int] = {}
        self.server: asyncio.Server | None = None


class _Connection(asyncio.Protocol):
    __slots__ = ("_adapter", "_clock", "_faults", "_frames", "_handle", "_listener", "_service", "_single",
                 "_stats", "client", "host", "last_rx", "partial_since", "transport")

    def __init__(self, adapter: ModbusAdapter, listener: Listener) -> None:
        self._adapter = adapter
        self._listener = listener
        self._service = adapter.service
        self._stats = adapter.stats
        self._frames = listener.framer()
        # bound once per connection, read per request
        self._single = self._frames.single
        self._handle = adapter.service.handle
        self._faults = adapter.faults.active  # the live dict of active link faults (empty: none)
        self._clock = adapter.clock
        self.transport: asyncio.Transport | None = None
        self.client = Client("?", listener.access, listener.name)
        self.host = "?"
        self.last_rx = 0.0
        self.partial_since: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast("asyncio.Transport", transport)  # uvloop's transports are not asyncio subclasses
        lst, st = self._listener, self._stats
        peer = transport.get_extra_info("peername")
        self.host = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
        address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
        reason = None
        if len(lst.connections) >= lst.limits.max_connections:
            reason = f"listener at its limit of {lst.limits.max_connections} connections"
        elif lst.per_address.get(self.host, 0) >= lst.limits.max_per_address:
            reason = f"{self.host} at its limit of {lst.limits.max_per_address} connections"
        if reason is not None:
            st.connections_refused += 1
            self._adapter.ratelog.warning("modbus.connection_refused", listener=lst.name, client=address,
                                          reason=reason, refused_total=st.connections_refused)
            transport.abort()
            return
        level = lst.access
        if lst.level_of is not None:
            found = lst.level_of(transport)
            if found is None:
                st.connections_refused += 1
                self._adapter.ratelog.warning("modbus.connection_refused", listener=lst.name, client=address,
                                              reason="client certificate carries no usable role")
                transport.abort()
                return
            level = found
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # answers leave at once (asyncio and uvloop set it too)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport
        self.client = Client(address, level, lst.name)
        self.last_rx = self._clock()
        lst.connections.add(self)
        lst.per_address[self.host] = lst.per_address.get(self.host, 0) + 1
        st.connected_clients += 1
        st.connections_total += 1

    def connection_lost(self, exc: Exception | None) -> None:
        lst = self._listener
        if self in lst.connections:
            lst.connections.discard(self)
            n = lst.per_address.get(self.host, 1) - 1
            if n > 0:
                lst.per_address[self.host] = n
            else:
                lst.per_address.pop(self.host, None)
            self._stats.connected_clients -= 1
        self.transport = None

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        self.last_rx = now = self._clock()
        if not self._faults:
            req = self._single(data)
            if req is not None:  # exactly one request, nothing buffered: a poller's usual segment
                resp = self._handle(req.unit, req.pdu, self.client)
                if resp is not None:
                    wire = self._frames.response(req, resp)
                    if wire is not None:
                        transport.write(wire)
                return
        frames = self._frames
        skipped, crc = frames.skipped, frames.crc_errors
        try:
            requests = frames.feed(data)
        except FramingError as exc:  # answer what was complete before the bad header, then close
            self._stats.framing_errors += 1
            self._answer(transport, exc.requests)
            self._adapter.ratelog.warning("modbus.framing_error", listener=self._listener.name,
                                          client=self.client.address, error=str(exc))
            transport.close()
            return
        if frames.skipped != skipped:
            self._stats.skipped_frames += frames.skipped - skipped
        if frames.crc_errors != crc:
            self._stats.crc_errors += frames.crc_errors - crc
        if len(frames) == 0:
            self.partial_since = None
        elif requests or self.partial_since is None:
            self.partial_since = now
        if requests:
            self._answer(transport, requests)

    def _answer(self, transport: asyncio.Transport, requests: list[Request]) -> None:
        if self._faults:
            self._answer_faulty(transport, requests)
            return
        handle = self._service.handle
        response = self._frames.response
        client = self.client
        out: list[bytes] = []
        for req in requests:
            resp = handle(req.unit, req.pdu, client)
            if resp is not None:
                wire = response(req, resp)
                if wire is not None:
                    out.append(wire)
        if out:
            transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _answer_faulty(self, transport: asyncio.Transport, requests: list[Request]) -> None:
        """:meth:`_answer` while link faults are active (docs/modbus.md, "Link faults")."""
        faults, service, lst = self._adapter.faults, self._service, self._listener
        out: list[bytes] = []
        delay = 0.0
        for req in requests:
            fault = faults.lookup(lst.name, req.unit)
            kind = fault.kind if fault is not None else ""
            if kind == "close" and fault is not None and not fault.target.startswith("modbus.unit."):
                self._stats.link_fault_actions += 1
                transport.abort()
                return
            if kind == "exception" and fault is not None:
                resp: bytes | None = service.fault_exception(req.pdu, fault.code)
            else:
                resp = service.handle(req.unit, req.pdu, self.client)
            if resp is None:
                continue
            if kind == "drop" and fault is not None and fault.dropped():
                self._stats.link_fault_actions += 1
                continue
            wire = self._frames.response(req, resp)
            if wire is None:
                continue
            if kind == "corrupt_crc" and not isinstance(self._frames, MbapFramer):  # RTU: the CRC is last
                wire = wire[:-1] + bytes((wire[-1] ^ 0xFF,))
            if kind == "delay" and fault is not None:
                delay = max(delay, fault.delay())
            out.append(wire)
        if not out:
            return
        data = b"".join(out)
        if delay > 0:
            self._stats.link_fault_actions += 1
            send_later(asyncio.get_running_loop(), delay, self._write_late, data)
        else:
            transport.write(data)

    def _write_late(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()


def _no_clock() -> float:
    return 0.0


class ModbusAdapter:
    """Serve ``plc``'s current snapshot over Modbus TCP (and the extra listeners added).

    ``async with ModbusAdapter(tagmap, plc, host="127.0.0.1", port=0) as mb:`` listens until the
    block ends; ``mb.port`` is the bound port, ``mb.stats`` the counters exported to Prometheus.
    ``plc`` provides ``.snapshot`` and a thread-safe ``.submit(cmd)`` (``.submit_many`` is used
    when present so a multi-point write is queued atomically). ``unit_id`` overrides the tag map's.
    ``access`` is the level of every client of the plain TCP listener and ``limits`` its
    connection hygiene (docs/modbus.md, "Access levels" and "Connections").
    """

    def __init__(self, tagmap: TagMap, plc: PlcLike, host: str = "127.0.0.1", port: int = 0,
                 unit_id: int | None = None, *, image: RegisterImage | None = None,
                 identity: ModbusDeviceIdentification | None = None,
                 access: AccessLevel = AccessLevel.OPERATOR, limits: Limits | None = None,
                 unit_ids: tuple[int, ...] = ()) -> None:
        self.tagmap = tagmap
        self.host = host
        self.requested_port = port
        self.stats = ModbusStats()
        self.service = ModbusService(tagmap, plc, unit_id=unit_id, image=image, stats=self.stats,
                                     identity=identity, unit_ids=unit_ids)
        self.ratelog = RateLimitedLog()
        self.listeners: list[Listener] = [
            Listener("tcp", host, port, access=access, limits=limits if limits is not None else Limits())]
        self.serial_links: list[SerialLink] = []
        self.plc = plc
        self.faults = LinkFaults(self._fault_changed)
        self._stopped: set[str] = set()  # listeners stopped by a stop_listening fault
        self._closed = False
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.clock: Callable[[], float] = _no_clock  # the loop's time() once started

    @property
    def unit_id(self) -> int:
        return self.service.unit_id

    @property
    def port(self) -> int:
        return self.listeners[0].port

    @property
    def access(self) -> AccessLevel:
        return self.listeners[0].access

    def add_listener(self, listener: Listener) -> Listener:
        """Serve the same request service on another socket (call before :meth:`start`)."""
        self.listeners.append(listener)
        return listener

    def add_serial(self, config: SerialConfig) -> SerialLink:
        """Serve RTU on a serial port too (call before :meth:`start`)."""
        link = SerialLink(self.service, config, self.faults)
        self.serial_links.append(link)
        return link

    def endpoints(self) -> list[tuple[str, int]]:
        """("modbus", port) for plain TCP, ("modbus-<link>", port) for the others (the ready line)."""
        return [("modbus" if lst.name == "tcp" else f"modbus-{lst.name}", lst.port) for lst in self.listeners
                if lst.server is not None]

    def listener(self, name: str) -> Listener:
        return next(lst for lst in self.listeners if lst.name == name)

    async def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self.clock = loop.time
        try:
            for lst in self.listeners:
                lst.server = await loop.create_server(
                    lambda lst=lst: _Connection(self, lst),
                    lst.host, lst.requested_port, reuse_address=True, ssl=lst.ssl_context)
                lst.port = int(lst.server.sockets[0].getsockname()[1])
            for link in self.serial_links:
                await link.start()
        except BaseException:
            await self.stop()
            raise
        self._sweeper = loop.create_task(self._sweep(), name="modbus[hygiene]")
        on_snapshot = getattr(self.plc, "on_snapshot", None)
        if callable(on_snapshot):
            on_snapshot(self._on_snapshot)

    # ------------------------------------------------------------------ link faults
    def _on_snapshot(self, snap: Snapshot) -> None:
        """Scan thread: hand this tick's link-fault changes to the loop.

        The engine (inject_fault / clear_fault commands) and the memory block (writes to the
        ``comm.*`` control point) record link faults as ground truth; the adapter acts on exactly
        those events, plus ``clear_fault *``.
        """
        cmds: list[Command] = []
        for e in snap.events:
            if e.kind in ("fault_start", "fault_end") and is_link_target(e.target):
                kind = CommandKind.INJECT_FAULT if e.kind == "fault_start" else CommandKind.CLEAR_FAULT
                cmds.append(Command(kind=kind, target=e.target, params=dict(e.params), source="ground_truth"))
        cmds += [c for c in snap.commands if c.kind is CommandKind.CLEAR_FAULT and c.target == "*"]
        loop = self._loop
        if cmds and loop is not None and not self._closed:
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                loop.call_soon_threadsafe(self.faults.apply, cmds)

    def _fault_changed(self, target: str, fault: LinkFault | None) -> None:
        self.ratelog.warning(f"modbus.link_fault.{target}", target=target,
                             fault=None if fault is None else fault.kind)
        if target.startswith("modbus.unit."):
            unit = int(target.rsplit(".", 1)[1])
            self.service.set_unit_down(unit, fault is not None and fault.kind == "close")
            return
        names = {lst.name for lst in self.listeners} if target == "modbus.*" else {target.removeprefix("modbus.")}
        for lst in self.listeners:
            if lst.name not in names:
                continue
            current = self.faults.listener_fault(lst.name)
            if current is not None and current.kind == "stop_listening" and lst.name not in self._stopped:
                self._stopped.add(lst.name)
                self._stop_listener(lst)
            elif (current is None or current.kind != "stop_listening") and lst.name in self._stopped:
                self._stopped.discard(lst.name)
                if self._loop is not None and not self._closed:
                    self._loop.create_task(self._listen(lst), name=f"modbus[{lst.name}].relisten")

    @staticmethod
    def _stop_listener(lst: Listener) -> None:
        server, lst.server = lst.server, None
        if server is not None:
            server.close()
        for conn in list(lst.connections):
            if conn.transport is not None:
                conn.transport.abort()

    async def _listen(self, lst: Listener) -> None:
        loop = asyncio.get_running_loop()
        port = lst.port or lst.requested_port
        try:
            lst.server = await loop.create_server(lambda: _Connection(self, lst), lst.host, port,
                                                  reuse_address=True, ssl=lst.ssl_context)
        except OSError as exc:
            self.ratelog.warning("modbus.relisten_failed", listener=lst.name, port=port, error=str(exc))
            return
        lst.port = int(lst.server.sockets[0].getsockname()[1])

    def _sweep_interval(self) -> float:
        ts = [t for lst in self.listeners for t in (lst.limits.idle_timeout, lst.limits.frame_timeout) if t > 0]
        return min(1.0, max(0.02, min(ts) / 4)) if ts else 1.0

    async def _sweep(self) -> None:
        """Close idle connections and connections stuck in a half-received frame (slowloris)."""
        interval = self._sweep_interval()
        st = self.stats
        while True:
            await asyncio.sleep(interval)
            now = self.clock()
            for lst in self.listeners:
                idle, frame = lst.limits.idle_timeout, lst.limits.frame_timeout
                for conn in list(lst.connections):
                    t = conn.transport
                    if t is None:
                        continue
                    if frame > 0 and conn.partial_since is not None and now - conn.partial_since > frame:
                        st.frame_timeouts += 1
                        self.ratelog.warning("modbus.frame_timeout", listener=lst.name,
                                             client=conn.client.address, timeout_s=frame)
                        t.abort()
                    elif idle > 0 and now - conn.last_rx > idle:
                        st.idle_closed += 1
                        self.ratelog.warning("modbus.idle_closed", listener=lst.name,
                                             client=conn.client.address, timeout_s=idle)
                        t.close()

    async def stop(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for link in self.serial_links:
            await link.stop()
        for lst in self.listeners:
            server, lst.server = lst.server, None
            if server is None:
                continue
            server.close()
            for conn in list(lst.connections):
                if conn.transport is not None:
                    conn.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=5.0)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
