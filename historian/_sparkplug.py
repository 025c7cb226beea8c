"""Sparkplug B 3.0 edge node sink: births, data by alias, deaths, commands, primary host state.

One MQTT session = one birth session. On connect the NDEATH certificate (with a new ``bdSeq``,
persisted in ``state_file`` so it also moves on across restarts) is registered as the MQTT will.
When the primary host application (``host_id``) is online - or at once without a ``host_id`` - the
node publishes NBIRTH (``seq`` 0) and one DBIRTH per live device, then DDATA by alias for each
forwarded batch. Every message after NBIRTH takes the next ``seq`` modulo 256 (one lock orders them).

* ``spBv1.0/STATE/<host_id>`` offline: the session is *held* - the forwarder leaves data in the
  store; online again: a new birth, then the backlog follows as ``is_historical`` metrics.
* ``Node Control/Rebirth`` (NCMD): a new NBIRTH + DBIRTHs.
* DCMD: each metric (by name or alias) goes to ``on_write(tag, value, source)``, which validates and
  queues it like any other client write (the emulator side owns that rule); once the PLC shows the
  new value it is reported in one DDATA (setpoints are mostly not historized).
* Device liveness (``device_alive()``, polled): DDEATH when a device goes down, DBIRTH when back;
  data of a dead device is not published (the store keeps it for the other sinks).

Data and births go out with QoS 0, as the specification asks, so "acknowledged" means handed to the
connection; NDEATH is the will (QoS 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import structlog

from historian._sink import Batch, ForwardRow, SinkSession, SinkUnavailable
from historian._spb_codec import REBIRTH, MetricDef, NodeDef, Payload, data_payloads, dbirth, death, nbirth
from historian._transport import LinkWatch, MqttEndpoint, connect

__all__ = ["SparkplugSink"]

_log = structlog.get_logger("historian.sparkplug")

Current = Callable[[], Mapping[str, tuple[float, int]]]
Alive = Callable[[], Mapping[str, bool]]
Write = Callable[[str, float, str], Awaitable[str | None]]  # tag, value, source -> error or None


def _now_ms() -> int:
    return int(time.time() * 1000)


class _Session:
    def __init__(self, sink: SparkplugSink, client: aiomqtt.Client, bdseq: int) -> None:
        self.sink = sink
        self.node = sink.node
        self.client = client
        self.bdseq = bdseq
        self._seq = 0
        self._lock = asyncio.Lock()
        self._by_tag = self.node.by_tag()
        self._alias = {m.alias: m for d in self.node.devices for m in d.metrics}
        self._names = {(d.name, m.name): m for d in self.node.devices for m in d.metrics}
        self._alive: dict[str, bool] = {}
        self._host_online = sink.host_id is None
        self._born = False
        self.births = 0
        self._echo: set[asyncio.Task[None]] = set()
        self.link = LinkWatch(client, self._on_message)
        self._poll = asyncio.create_task(self._watch_devices(), name="historian[sparkplug devices]")

    # -- SinkSession -------------------------------------------------------------------------------
    def alive(self) -> bool:
        return self.link.alive()

    def held(self) -> bool:
        """True while data must stay in the store (primary host offline, or not born yet)."""
        return not (self._host_online and self._born)

    def epoch(self) -> int:
        return self.births

    async def send(self, batch: Batch) -> None:
        dead = [d for d, ok in self._alive.items() if not ok]
        payloads, _ = await asyncio.to_thread(
            data_payloads, batch.rows, self._by_tag, historical=batch.historical, skip_devices=dead
        )
        for device, p in payloads:
            await self._publish(self.node.topic("DDATA", device), p)

    # -- births and deaths ---------------------------------------------------------------------------
    async def _publish(self, topic: str, p: Payload, *, first: bool = False) -> None:
        async with self._lock:
            if first:
                self._seq = 0
            p.seq = self._seq
            p.timestamp = _now_ms()
            self._seq = (self._seq + 1) % 256
            data = p.SerializeToString()
            try:
                await self.client.publish(topic, data, qos=0, timeout=self.sink.timeout)
            except aiomqtt.MqttError as exc:
                raise SinkUnavailable(str(exc)) from exc

    async def birth(self, reason: str) -> None:
        ts = _now_ms()
        await self._publish(self.node.topic("NBIRTH"), nbirth(ts, self.bdseq), first=True)
        alive = dict(self.sink.device_alive())
        current = self.sink.current()
        for dev in self.node.devices:
            self._alive[dev.name] = alive.get(dev.name, True)
            if self._alive[dev.name]:
                await self._publish(self.node.topic("DBIRTH", dev.name), dbirth(dev, ts, current))
        self._born = True
        self.births += 1
        _log.info("historian.sparkplug_birth", node=self.node.edge_node, bdseq=self.bdseq, reason=reason,
                  devices=sum(self._alive.values()))

    async def _watch_devices(self) -> None:
        try:
            await self._device_loop()
        except SinkUnavailable:
            self.link.lost.set()  # the forwarder sees alive() False and reconnects (a new birth)

    async def _device_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sink.device_poll)
            if not self._born:
                continue
            alive = self.sink.device_alive()
            for dev in self.node.devices:
                now = alive.get(dev.name, True)
                if now == self._alive.get(dev.name, True):
                    continue
                self._alive[dev.name] = now
                if now:
                    await self._publish(self.node.topic("DBIRTH", dev.name),
                                        dbirth(dev, _now_ms(), self.sink.current()))
                else:
                    await self._publish(self.node.topic("DDEATH", dev.name), death(_now_ms()))
                _log.info("historian.sparkplug_device", device=dev.name, alive=now)

    # -- incoming: STATE, NCMD, DCMD ------------------------------------------------------------------
    async def _on_message(self, msg: aiomqtt.Message) -> None:
        topic = str(msg.topic)
        raw = msg.payload if isinstance(msg.payload, bytes | bytearray) else str(msg.payload).encode()
        try:
            if topic.startswith("spBv1.0/STATE/"):
                await self._on_state(bytes(raw))
            elif topic == self.node.topic("NCMD"):
                await self._on_ncmd(Payload.FromString(bytes(raw)))
            elif topic.startswith(self.node.topic("DCMD") + "/"):
                await self._on_dcmd(topic.rsplit("/", 1)[1], Payload.FromString(bytes(raw)))
        except SinkUnavailable:
            raise
        except Exception as exc:  # a malformed command must not end the session
            _log.warning("historian.sparkplug_bad_message", topic=topic, error=f"{type(exc).__name__}: {exc}")

    async def _on_state(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").strip()
        try:
            online = bool(json.loads(text).get("online"))
        except (ValueError, AttributeError):
            online = text.upper() == "ONLINE"  # Sparkplug 2.2 hosts publish plain ONLINE / OFFLINE
        was, self._host_online = self._host_online, online
        if not online:
            # the host's next ONLINE needs a new birth: until it is complete, held() stays true, so the
            # forwarder cannot send the backlog as live data between ONLINE and NBIRTH (it did, and the
            # birth that followed found nothing left to replay as historical)
            self._born = False
        _log.info("historian.sparkplug_host", host=self.sink.host_id, online=online)
        if online and (not was or not self._born):
            await self.birth("primary host online")

    async def _on_ncmd(self, p: Payload) -> None:
        for m in p.metrics:
            if m.name == REBIRTH and m.boolean_value:
                if self._host_online:
                    await self.birth("rebirth requested")
                return

    async def _on_dcmd(self, device: str, p: Payload) -> None:
        for m in p.metrics:
            md = self._alias.get(m.alias) if m.HasField("alias") else self._names.get((device, m.name))
            if md is None:
                _log.warning("historian.sparkplug_unknown_metric", device=device, name=m.name, alias=m.alias)
                continue
            field = m.WhichOneof("value")
            value = float(getattr(m, field)) if field in (
                "int_value", "long_value", "float_value", "double_value", "boolean_value") else float("nan")
            source = f"sparkplug:{self.sink.host_id or 'host'}"
            error = await self.sink.on_write(md.tag, value, source)
            if error is not None:
                _log.warning("historian.sparkplug_write_rejected", tag=md.tag, value=value, error=error)
            else:
                self._echo.add(asyncio.create_task(self._echo_write(device, md, value)))
                self._echo = {t for t in self._echo if not t.done()}

    async def _echo_write(self, device: str, md: MetricDef, value: float) -> None:
        """Report the written metric's new value once the PLC applied it (most setpoints are not
        historized, so the recorder would never send them): one DDATA, at most 2 s after the write."""
        for _ in range(100):
            got = self.sink.current().get(md.tag)
            if got is not None and abs(got[0] - value) <= 1e-6 * max(1.0, abs(value)):
                break
            await asyncio.sleep(0.02)
        got = self.sink.current().get(md.tag)
        if got is None or not self._alive.get(device, True):
            return
        row = ForwardRow(0, md.tag, device, time.time(), got[0], got[1])
        payloads, _ = data_payloads([row], self._by_tag, historical=False)
        with contextlib.suppress(SinkUnavailable):  # the link watcher notices a lost connection
            for dev, p in payloads:
                await self._publish(self.node.topic("DDATA", dev), p)

    async def close(self) -> None:
        for task in (self._poll, *self._echo):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.link.close()


class SparkplugSink:
    """A Sparkplug B edge node as a historian sink (``name`` is the cursor key)."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        node: NodeDef,
        *,
        state_file: Path,
        current: Current,
        device_alive: Alive,
        on_write: Write,
        host_id: str | None = None,
        name: str | None = None,
        timeout: float = 10.0,
        device_poll: float = 0.1,
    ) -> None:
        self.endpoint = endpoint
        self.node = node
        self.state_file = Path(state_file)
        self.current = current
        self.device_alive = device_alive
        self.on_write = on_write
        self.host_id = host_id
        self.name = name or f"sparkplug+{endpoint.url}/{node.group}/{node.edge_node}"
        self.timeout = timeout
        self.device_poll = device_poll

    def next_bdseq(self) -> int:
        """bdSeq of the next session: last one + 1 modulo 256, persisted before it is used."""
        try:
            last = int(json.loads(self.state_file.read_text())["bdSeq"])
        except (OSError, ValueError, KeyError, TypeError):
            last = -1
        value = (last + 1) % 256
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"bdSeq": value}))
        tmp.replace(self.state_file)
        return value

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SinkSession]:
        bdseq = await asyncio.to_thread(self.next_bdseq)
        will = aiomqtt.Will(self.node.topic("NDEATH"), death(_now_ms(), bdseq).SerializeToString(), qos=1)
        async with connect(self.endpoint, client_id=self.node.edge_node, timeout=self.timeout, will=will,
                           clean_session=True) as client:
            session = _Session(self, client, bdseq)
            try:
                await client.subscribe(self.node.topic("NCMD"), qos=1)
                await client.subscribe(self.node.topic("DCMD") + "/+", qos=1)
                if self.host_id is not None:
                    await client.subscribe(f"spBv1.0/STATE/{self.host_id}", qos=1)
                else:
                    await session.birth("connected")
                yield session
                # a clean stop: the NDEATH is published by us (the will only fires on a lost link)
                with contextlib.suppress(aiomqtt.MqttError):
                    await client.publish(self.node.topic("NDEATH"), death(_now_ms(), bdseq).SerializeToString(),
                                         qos=1, timeout=2.0)
            except aiomqtt.MqttError as exc:
                raise SinkUnavailable(str(exc)) from exc
            finally:
                await session.close()
