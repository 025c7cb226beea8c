"""Runtime test helpers: the default tag map (loaded once), a runtime factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from plc_emulator.runtime import PlcRuntime, RuntimeConfig
from plc_emulator.tagmap import load
from plc_emulator.tagmap.model import TagMap
from tests.conftest import DEFAULT_TAGMAP

SP_TAG = "SEP-V100.LIC100_SP"  # rw, write limits 20..80 %


@pytest.fixture(scope="session")
def tagmap() -> TagMap:
    return load(str(DEFAULT_TAGMAP))


@contextlib.asynccontextmanager
async def running(tagmap: TagMap, **kw: Any) -> AsyncIterator[PlcRuntime]:
    """A started PlcRuntime (paused by default: lockstep)."""
    kw.setdefault("paused", True)
    async with PlcRuntime(tagmap, RuntimeConfig(**kw)) as plc:
        yield plc


def column(tagmap: TagMap, key: str) -> int:
    return [t.key for t in tagmap.tags].index(key)


def journal_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()
