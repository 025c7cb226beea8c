"""The one composition root (runtime/app.py): typed options only, forwarders as tasks of its TaskGroup."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import typing
from pathlib import Path

import pytest

from historian import Forwarder, mqtt_endpoint
from plc_emulator.errors import EmulatorError
from plc_emulator.runtime.app import AppConfig, serve
from plc_emulator.runtime.config import HistorianOptions, RuntimeConfig
from plc_emulator.runtime.upstream import JsonSinkOptions, UpstreamOptions
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP
from tests.historian.conftest import Broker, Subscriber, broker

__all__ = ["broker"]  # the mosquitto fixture, used below

FORWARDER = "historian[forwarder"


def test_app_config_has_no_untyped_settings() -> None:
    hints = typing.get_type_hints(AppConfig)
    assert "extras" not in hints
    for name, hint in hints.items():
        assert hint is not typing.Any, name
        assert typing.get_origin(hint) is not dict, name  # no dict[str, Any] across layers
    for cls in (HistorianOptions, JsonSinkOptions, UpstreamOptions):
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def config(tmp_path: Path, url: str) -> AppConfig:
    return AppConfig(host="127.0.0.1", modbus_port=0, http_port=0, data_dir=tmp_path / "data",
                     runtime=RuntimeConfig(),
                     upstream=UpstreamOptions(sinks=(JsonSinkOptions(endpoint=mqtt_endpoint(url)),)))


async def test_forwarder_runs_in_the_taskgroup_and_ends_with_serve(tmp_path: Path, broker: Broker) -> None:
    tm = load(DEFAULT_TAGMAP)
    sub = Subscriber(broker.port)
    stop = asyncio.Event()
    app = asyncio.create_task(serve(tm, config(tmp_path, broker.url), out=io.StringIO(), stop=stop))
    try:
        async with asyncio.timeout(60):
            while not sub.snapshot():  # samples reached the broker through the forwarder
                assert not app.done(), app
                await asyncio.sleep(0.05)
        names = {t.get_name() for t in asyncio.all_tasks()}
        assert {"plc[engine].scan", "app[shutdown]"} <= names
        assert any(n.startswith(FORWARDER) for n in names)
    finally:
        stop.set()
        await asyncio.wait_for(app, 60)
        sub.close()
    assert not any(t.get_name().startswith(FORWARDER) for t in asyncio.all_tasks())


async def test_a_crashing_forwarder_stops_the_app_with_one_clear_error(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, a forwarder task outside the group could die unseen; now its crash ends serve() in order."""
    crashed = asyncio.Event()

    async def boom(self: Forwarder) -> None:
        crashed.set()
        raise RuntimeError("bug in the forwarder")

    monkeypatch.setattr(Forwarder, "run", boom)
    tm = load(DEFAULT_TAGMAP)
    cfg = dataclasses.replace(config(tmp_path, "mqtt://127.0.0.1:1"), opcua=None)
    with pytest.raises(EmulatorError, match=r"historian forwarder .* crashed: RuntimeError\('bug in the forwarder'\)"):
        await asyncio.wait_for(serve(tm, cfg, out=io.StringIO()), 60)
    assert crashed.is_set()
