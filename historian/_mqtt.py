"""MQTT sink (aiomqtt, QoS 1): one JSON message per device per batch on ``plc/<plant>/<device>``.

Payload::

    {"plant": "...", "device": "SEP-V100", "historical": false, "first_seq": 10, "last_seq": 2009,
     "samples": [{"seq": 10, "tag": "SEP-V100.inlet_pressure", "time": 1.7e9, "value": 45.2,
                  "status": 0}, ...]}

``send`` returns after the broker's PUBACK for every message of the batch; nothing is acknowledged to
the store before that, so a lost connection means the whole batch is sent again after reconnecting.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomqtt

from historian._sink import Batch, ForwardRow, SinkSession, SinkUnavailable, rows_to_json
from historian._transport import LinkWatch, MqttEndpoint, connect, mqtt_endpoint

__all__ = ["MqttSink"]


class _Session:
    """One connected client; ``send`` returns after the PUBACK of every message of the batch."""

    def __init__(self, client: aiomqtt.Client, plant: str, timeout: float) -> None:
        self._client = client
        self._plant = plant
        self._timeout = timeout
        self.link = LinkWatch(client)

    def alive(self) -> bool:
        return self.link.alive()

    def held(self) -> bool:
        return False

    def epoch(self) -> int:
        return 0

    def _encode(self, batch: Batch) -> list[tuple[str, str]]:
        by_device: dict[str, list[ForwardRow]] = {}
        for r in batch.rows:
            by_device.setdefault(r.device or "_", []).append(r)
        messages = []
        for device, rows in by_device.items():
            payload = {
                "plant": self._plant,
                "device": device,
                "historical": batch.historical,
                "first_seq": rows[0].seq,
                "last_seq": rows[-1].seq,
                "samples": rows_to_json(rows),
            }
            messages.append((f"plc/{self._plant}/{device}", json.dumps(payload, separators=(",", ":"))))
        return messages

    async def send(self, batch: Batch) -> None:
        # JSON encoding of a few thousand rows runs in a worker thread: the loop also serves clients
        messages = await asyncio.to_thread(self._encode, batch)
        try:
            await asyncio.gather(*(self._client.publish(t, p, qos=1, timeout=self._timeout) for t, p in messages))
        except aiomqtt.MqttError as exc:
            raise SinkUnavailable(str(exc)) from exc


class MqttSink:
    """Forward to an MQTT broker; ``name`` is the cursor key (one per broker URL by default).

    ``url`` is an ``mqtt://`` / ``mqtts://`` URL or an :class:`MqttEndpoint` with TLS and credentials.
    """

    def __init__(
        self,
        url: str | MqttEndpoint,
        *,
        plant: str,
        client_id: str | None = None,
        name: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.endpoint = url if isinstance(url, MqttEndpoint) else mqtt_endpoint(url)
        self.host, self.port = self.endpoint.host, self.endpoint.port
        self.plant = plant
        self.name = name or self.endpoint.url
        self.client_id = client_id or f"plc-emulator-{plant}"
        self.timeout = timeout

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SinkSession]:
        async with connect(self.endpoint, client_id=self.client_id, timeout=self.timeout) as client:
            session = _Session(client, self.plant, self.timeout)
            try:
                yield session
            finally:
                await session.link.close()
