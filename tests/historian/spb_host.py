"""A minimal Sparkplug B host application for tests: aiomqtt + the compiled Tahu schema."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import aiomqtt

from historian.sparkplug.sparkplug_b_pb2 import Payload


@dataclass
class SpbMsg:
    topic: str
    kind: str  # NBIRTH, DBIRTH, NDATA, DDATA, NDEATH, DDEATH, ...
    device: str | None
    payload: Payload
    wall: float
    raw: bytes

    def metric(self, name: str) -> Payload.Metric:
        return next(m for m in self.payload.metrics if m.name == name)


def props(m: Payload.Metric) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in zip(m.properties.keys, m.properties.values, strict=True):
        field = v.WhichOneof("value")
        out[k] = getattr(v, field) if field else None
    return out


class Host:
    """Subscribes to ``spBv1.0/#`` and keeps every node message in arrival order."""

    def __init__(self, port: int, host_id: str = "test-host") -> None:
        self.port = port
        self.host_id = host_id
        self.msgs: list[SpbMsg] = []
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Host:
        self._client = aiomqtt.Client("127.0.0.1", self.port, identifier=f"host-{self.host_id}")
        await self._client.__aenter__()
        await self._client.subscribe("spBv1.0/#", qos=1)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        assert self._client is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._client.__aexit__(None, None, None)

    async def _read(self) -> None:
        assert self._client is not None
        async for m in self._client.messages:
            parts = str(m.topic).split("/")
            if parts[1] == "STATE" or parts[2] in ("NCMD", "DCMD"):
                continue  # the host's own messages
            raw = m.payload if isinstance(m.payload, bytes) else bytes(str(m.payload), "utf-8")
            self.msgs.append(SpbMsg(str(m.topic), parts[2], parts[4] if len(parts) > 4 else None,
                                    Payload.FromString(raw), time.time(), raw))

    async def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        assert self._client is not None
        await self._client.publish(topic, payload, qos=qos, retain=retain)

    async def state(self, online: bool) -> None:
        body = json.dumps({"online": online, "timestamp": int(time.time() * 1000)}).encode()
        await self.publish(f"spBv1.0/STATE/{self.host_id}", body, qos=1, retain=True)

    async def rebirth(self, group: str, node: str) -> None:
        p = Payload(timestamp=int(time.time() * 1000))
        p.metrics.add(name="Node Control/Rebirth", datatype=11, boolean_value=True)
        await self.publish(f"spBv1.0/{group}/NCMD/{node}", p.SerializeToString())

    async def dcmd_float(self, group: str, node: str, device: str, name: str, value: float) -> None:
        p = Payload(timestamp=int(time.time() * 1000))
        p.metrics.add(name=name, datatype=9, float_value=value)
        await self.publish(f"spBv1.0/{group}/DCMD/{node}/{device}", p.SerializeToString())

    def kinds(self, kind: str, device: str | None = None) -> list[SpbMsg]:
        return [m for m in self.msgs if m.kind == kind and (device is None or m.device == device)]

    async def wait(self, pred: Any, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if pred():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out after {seconds}s waiting for {what}; got "
                             f"{[(m.kind, m.device) for m in self.msgs[-8:]]}")
