"""A real PLC (PlcRuntime, paused: lockstep) with its historian and the HTTP server on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from plc_emulator.http import HttpServer, HttpSettings
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.opcua.security import Role, UserRecord, hash_password
from plc_emulator.runtime import PlcRuntime, RuntimeConfig
from plc_emulator.runtime.metrics import Metrics
from plc_emulator.runtime.recorder import HistorianService
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import TagMap
from tests.conftest import DEFAULT_TAGMAP

JSON = {"Content-Type": "application/json"}
PASSWORDS = {"vic": "viewer-pw", "olga": "operator-pw", "ed": "engineer-pw"}


@pytest.fixture(scope="session")
def tagmap() -> TagMap:
    return load(str(DEFAULT_TAGMAP))


@pytest.fixture(scope="session")
def users() -> dict[str, UserRecord]:
    roles = {"vic": Role.VIEWER, "olga": Role.OPERATOR, "ed": Role.ENGINEER}
    return {n: UserRecord(name=n, role=roles[n], password_hash=hash_password(PASSWORDS[n])) for n in roles}


@dataclass
class Rig:
    plc: PlcRuntime
    http: HttpServer
    base: str
    session: aiohttp.ClientSession
    historian: HistorianService | None

    def col(self, key: str) -> int:
        return [t.key for t in self.plc.tagmap.tags].index(key)

    def value(self, key: str) -> float:
        return float(self.plc.snapshot.values[self.col(key)])

    async def step(self, n: int = 1) -> Snapshot:
        async with asyncio.timeout(30):
            return await self.plc.wait_tick(self.plc.step(n))

    async def flush(self) -> None:
        assert self.historian is not None
        assert self.historian.historian is not None
        await asyncio.to_thread(self.historian.historian.flush, 10.0)

    async def call(self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None,
                   **kw: Any) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
        hdrs = dict(JSON if body is not None else {}) | dict(headers or {})
        data = None if body is None else (body if isinstance(body, str | bytes) else json.dumps(body))
        async with self.session.request(method, self.base + path, data=data, headers=hdrs, **kw) as r:
            text = await r.text()
            try:
                parsed: Any = json.loads(text) if text else None
            except ValueError:
                parsed = text
            return r.status, parsed, r.headers


@contextlib.asynccontextmanager
async def rig(tagmap: TagMap, data_dir: Path | None = None, **settings: Any) -> AsyncIterator[Rig]:
    plc = PlcRuntime(tagmap, RuntimeConfig(paused=True))
    async with contextlib.AsyncExitStack() as stack:
        hist = None
        if data_dir is not None:
            hist = await stack.enter_async_context(HistorianService(tagmap, plc, data_dir=data_dir))
            settings.setdefault("historian_db", data_dir / "historian.db")
        first = plc.snapshot
        await stack.enter_async_context(plc)
        async with asyncio.timeout(10):  # a paused start republishes tick 0 once with its pacing points
            await plc.wait_until(lambda snap: snap is not first)
        http = await stack.enter_async_context(
            HttpServer(plc, Metrics(plc), host="127.0.0.1", port=0, settings=HttpSettings(**settings)))
        session = await stack.enter_async_context(aiohttp.ClientSession())
        yield Rig(plc=plc, http=http, base=f"http://127.0.0.1:{http.port}", session=session, historian=hist)


@pytest.fixture
async def plant(tagmap: TagMap, tmp_path: Path) -> AsyncIterator[Rig]:
    """Anonymous = engineer (no users file), historian on."""
    async with rig(tagmap, tmp_path) as r:
        yield r


@pytest.fixture
async def secured(tagmap: TagMap, users: dict[str, UserRecord]) -> AsyncIterator[Rig]:
    """A users file: anonymous = viewer, as on OPC UA."""
    async with rig(tagmap, users=users, anonymous_role=Role.VIEWER) as r:
        yield r
