"""Link faults: make a Modbus listener or unit misbehave the way field communication does.

The kinds are the engine's fault table (:data:`plc_emulator.engine._commands.LINK_FAULTS`), injected
and cleared like process faults (scenario events, ``inject_fault`` / ``clear_fault`` commands), so
they are journaled and the engine records them as ground truth (``fault_start`` / ``fault_end``).
The adapter sees each command in the snapshot of the tick that applied it and changes its
behaviour from then until the fault is cleared:

| kind | params | what a client sees |
|---|---|---|
| ``delay`` | ``ms`` or ``min_ms``+``max_ms`` | every answer that much later (fixed, or uniform in the range) |
| ``drop`` | ``percent`` (default 100) | that share of answers never sent: the client times out |
| ``exception`` | ``code`` (4 or 6, default 6) | the request is not executed; exception 0x04 / 0x06 |
| ``close`` | | the connection is closed on the next request (a unit target: exception 0x0B) |
| ``stop_listening`` | | the listener closes its socket and connections: connects are refused |
| ``corrupt_crc`` | | RTU answers carry a wrong CRC (the client drops them) |

Targets: ``modbus.tcp``, ``modbus.rtu-tcp``, ``modbus.tls``, ``modbus.rtu``, ``modbus.*`` (every
listener) and ``modbus.unit.N``; a unit fault wins over a listener fault. ``clear_fault *`` clears
every link fault too.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine._commands import LINK_FAULTS, is_link_target

__all__ = ["LINK_FAULTS", "LinkFault", "LinkFaults", "send_later"]


def send_later(loop: asyncio.AbstractEventLoop, delay: float, send: Callable[[bytes], None], data: bytes) -> None:
    """``send(data)`` after at least ``delay`` seconds.

    A loop timer may fire a little early (uvloop's clock has millisecond steps and is read at the
    start of a loop iteration), and a ``delay`` fault promises an answer no sooner than configured,
    so the remainder, if any, is waited again."""
    due = time.monotonic() + delay

    def fire() -> None:
        left = due - time.monotonic()
        if left > 0:
            loop.call_later(left, fire)
        else:
            send(data)

    loop.call_later(delay, fire)


@dataclass(slots=True)
class LinkFault:
    kind: str
    target: str
    delay_lo: float = 0.0  # s
    delay_hi: float = 0.0
    drop: float = 1.0  # probability
    code: int = 6
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def of(cls, cmd: Command) -> LinkFault:
        kind = str(cmd.params.get("kind", ""))
        f = cls(kind=kind, target=cmd.target, rng=random.Random(f"{cmd.target}:{kind}"))
        if kind == "delay":
            if "ms" in cmd.params:
                f.delay_lo = f.delay_hi = max(cmd.param("ms", 0.0), 0.0) / 1000.0
            else:
                lo, hi = cmd.param("min_ms", 0.0), cmd.param("max_ms", 0.0)
                f.delay_lo, f.delay_hi = max(min(lo, hi), 0.0) / 1000.0, max(lo, hi, 0.0) / 1000.0
        elif kind == "drop":
            f.drop = min(max(cmd.param("percent", 100.0), 0.0), 100.0) / 100.0
        elif kind == "exception":
            f.code = 4 if int(cmd.param("code", 6)) == 4 else 6
        return f

    def delay(self) -> float:
        return self.delay_lo if self.delay_hi <= self.delay_lo else self.rng.uniform(self.delay_lo, self.delay_hi)

    def dropped(self) -> bool:
        return self.drop >= 1.0 or self.rng.random() < self.drop


class LinkFaults:
    """The active link faults of one adapter, by target. ``changed(target, fault_or_None)`` is told."""

    def __init__(self, changed: Callable[[str, LinkFault | None], None] | None = None) -> None:
        self.active: dict[str, LinkFault] = {}
        self._changed = changed

    def __bool__(self) -> bool:
        return bool(self.active)

    def apply(self, cmds: Iterable[Command]) -> None:
        for c in cmds:
            if c.kind is CommandKind.INJECT_FAULT and is_link_target(c.target):
                if str(c.params.get("kind", "")) in LINK_FAULTS:
                    self._set(c.target, LinkFault.of(c))
            elif c.kind is CommandKind.CLEAR_FAULT and (c.target == "*" or is_link_target(c.target)):
                for t in [t for t in self.active if c.target in ("*", t)]:
                    self._set(t, None)

    def _set(self, target: str, fault: LinkFault | None) -> None:
        if fault is None:
            self.active.pop(target, None)
        else:
            self.active[target] = fault
        if self._changed is not None:
            self._changed(target, fault)

    def lookup(self, listener: str, unit: int) -> LinkFault | None:
        a = self.active
        return a.get(f"modbus.unit.{unit}") or a.get(f"modbus.{listener}") or a.get("modbus.*")

    def listener_fault(self, listener: str) -> LinkFault | None:
        a = self.active
        return a.get(f"modbus.{listener}") or a.get("modbus.*")
