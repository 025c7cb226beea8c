"""The event loop of ``plc-emulator run``: uvloop when installed, else asyncio's own.

Every adapter (Modbus, OPC UA, HTTP, MQTT upstream) runs on one event loop. At one Modbus
connection the request rate is bound by the round trip through the loop, and uvloop (libuv, in C)
spends far less per request than asyncio's pure-Python selector loop; docs/modbus.md
("Performance") has the figures. ``--event-loop asyncio`` (env ``EVENT_LOOP``) runs on asyncio's
loop instead, e.g. to tell a loop problem from an emulator problem.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any, TypeVar

import structlog

__all__ = ["EventLoop", "default_loop", "loop_factory", "parse_loop", "run"]

T = TypeVar("T")


class EventLoop(StrEnum):
    UVLOOP = "uvloop"
    ASYNCIO = "asyncio"


def default_loop() -> EventLoop:
    """uvloop when it can be imported (it is a dependency on Linux and macOS), else asyncio."""
    return EventLoop.UVLOOP if importlib.util.find_spec("uvloop") is not None else EventLoop.ASYNCIO


def parse_loop(text: str) -> EventLoop:
    """``uvloop`` / ``asyncio`` (any case); ValueError with the choices, or when uvloop is missing."""
    try:
        kind = EventLoop(str(text).strip().lower())
    except ValueError:
        choices = ", ".join(k.value for k in EventLoop)
        raise ValueError(f"event loop must be one of {choices} (got {text!r})") from None
    if kind is EventLoop.UVLOOP and importlib.util.find_spec("uvloop") is None:
        raise ValueError("event loop uvloop is not installed (pip install uvloop, or use asyncio)")
    return kind


def loop_factory(kind: EventLoop) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind is EventLoop.UVLOOP:
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T], kind: EventLoop | None = None) -> T:
    """``asyncio.run(main)`` on the chosen loop (default: :func:`default_loop`), logged once."""
    kind = kind if kind is not None else default_loop()
    structlog.get_logger("plc_emulator.runtime").info("runtime.event_loop", loop=kind.value)
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(main)
