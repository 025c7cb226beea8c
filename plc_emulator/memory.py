"""PLC memory and handshake points: registers a client owns, with PLC logic only where stated (pure).

Three signal namespaces, bound to tags like engine signals (docs/modbus.md, "Memory and handshake
points"):

* ``mem.<name>``: free memory, no process binding. A write is stored and read back (any kind:
  analog, counter, discrete, multi-state; any unit). Starts at 0. A ``mem.*`` point with a Modbus
  ``string`` format keeps its text here (``text_of``; written by a command whose ``params["text"]``
  holds it, journaled like any command); its number is the text's length.
* ``wd.<name>.counter`` / ``.echo`` / ``.expired`` / ``.timeout``: a watchdog (heartbeat) pair.
  The client writes a changing counter; the PLC echoes it in ``.echo``; when the counter has not
  changed for ``.timeout`` seconds (writable, default 10 s) ``.expired`` becomes 1 and a
  ``watchdog_expired`` ground-truth event is recorded (``watchdog_restored`` when it changes again).
  ``.action`` (writable: 0 none, 1 trip the ESD, 2 trip pump P100) is what the PLC does when it
  expires, at the next scan: the ESD trip raises the ESD alarm like any other trip. An ``alarms:``
  section on the ``.expired`` tag makes the expiry an alarm of its own: the scan feeds memory
  signals that alarms watch to the alarm block (``AlarmBlock.extra_signals``).
* ``hs.<name>.cmd`` / ``.status``: a command/acknowledge handshake. Writing a non-zero command
  sets status BUSY (1) for one scan, then DONE (2); writing 0 acknowledges and returns the status
  to IDLE (0); a different non-zero command while BUSY or DONE (not acknowledged) is a protocol
  error: ERROR (3), until the client writes 0.

* ``comm.<link>.fault`` / ``comm.<link>.param``: the Modbus control point of the link faults
  (docs/modbus.md, "Link faults"); ``<link>`` is ``tcp``, ``rtu-tcp``, ``tls``, ``rtu``, ``all`` or
  ``unit<N>``. Writing a kind index (0 none, then the engine's LINK_FAULTS in order) records a
  ``fault_start`` ground-truth event for the link target with the parameter register as its
  parameter (``ms`` for delay, ``percent`` for drop, ``code`` for exception), and ``fault_end`` for the
  fault it replaces; the Modbus adapter acts on those events. Engineer access only.

Everything is a function of the commands and the tick, so runs replay bit for bit and the values
feed the digest like engine signals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine._commands import LINK_FAULTS
from plc_emulator.engine.catalogue import SignalKind, SignalSpec, ValueType
from plc_emulator.engine.types import GroundTruthEvent

__all__ = ["MEMORY_PREFIXES", "HandshakeStatus", "MemoryBlock", "is_memory_signal", "memory_signal_spec"]

MEMORY_PREFIXES: Final = ("mem.", "wd.", "hs.", "comm.")
_COMM: Final = re.compile(r"^comm\.(tcp|rtu-tcp|tls|rtu|all|unit(?:0|[1-9][0-9]{0,2}))\.(fault|param)$")
_PARAM_NAME: Final = {"delay": "ms", "drop": "percent", "exception": "code"}
_ACTIONS: Final[tuple[tuple[str, Command | None], ...]] = (
    ("none", None),
    ("esd_trip", Command(kind=CommandKind.WRITE, target="ESD.trip", value=1.0, source="watchdog")),
    ("pump_trip", Command(kind=CommandKind.TRIP_PUMP, target="P100", source="watchdog")),
)
DEFAULT_WATCHDOG_TIMEOUT: Final = 10.0  # s
IDLE, BUSY, DONE, ERROR = 0, 1, 2, 3
HandshakeStatus: Final = ("IDLE", "BUSY", "DONE", "ERROR")
_BIG: Final = 1e15

_IN, _S = SignalKind.INPUT, SignalKind.STATE
_SUFFIX_SPECS: Final[dict[tuple[str, str], SignalSpec]] = {
    ("wd", "counter"): SignalSpec(name="", unit="", kind=_IN, vtype=ValueType.INT, range=(0, 65535),
                                  limits=(0, 65535), description="watchdog counter written by the client"),
    ("wd", "echo"): SignalSpec(name="", unit="", kind=_S, vtype=ValueType.INT, range=(0, 65535),
                               description="watchdog counter echoed by the PLC"),
    ("wd", "expired"): SignalSpec(name="", unit="", kind=_S, vtype=ValueType.BOOL, range=(0, 1),
                                  states=("OK", "EXPIRED"),
                                  description="counter unchanged for longer than the timeout"),
    ("wd", "action"): SignalSpec(name="", unit="", kind=_IN, vtype=ValueType.ENUM, range=(0, 2), limits=(0, 2),
                                 states=("NONE", "ESD_TRIP", "PUMP_TRIP"),
                                 description="what the PLC does when the watchdog expires"),
    ("wd", "timeout"): SignalSpec(name="", unit="s", kind=_IN, range=(0, 86400), limits=(0.1, 86400),
                                  description="watchdog timeout"),
    ("hs", "cmd"): SignalSpec(name="", unit="", kind=_IN, vtype=ValueType.INT, range=(0, 65535), limits=(0, 65535),
                              description="handshake command (0 = none)"),
    ("hs", "status"): SignalSpec(name="", unit="", kind=_S, vtype=ValueType.ENUM, range=(0, 3),
                                 states=HandshakeStatus, description="handshake status"),
}


def is_memory_signal(name: str) -> bool:
    return name.startswith(MEMORY_PREFIXES)


def memory_signal_spec(name: str) -> SignalSpec | None:
    """The spec of a memory/handshake signal name, None when it is not one (or malformed)."""
    if name.startswith("mem.") and len(name) > 4:
        return SignalSpec(name=name, unit="", kind=_IN, range=(-_BIG, _BIG), description="free memory")
    m = _COMM.match(name)
    if m is not None:
        if m.group(2) == "fault":
            return SignalSpec(name=name, unit="", kind=_IN, vtype=ValueType.ENUM, range=(0, len(LINK_FAULTS)),
                              limits=(0, len(LINK_FAULTS)), states=("none", *LINK_FAULTS),
                              description="link fault of this Modbus link (0 = none)")
        return SignalSpec(name=name, unit="", kind=_IN, range=(0, 1e6), limits=(0, 1e6),
                          description="link fault parameter: delay ms, drop percent or exception code")
    ns, _, rest = name.partition(".")
    base, _, suffix = rest.rpartition(".")
    spec = _SUFFIX_SPECS.get((ns, suffix)) if base else None
    if spec is None:
        return None
    return SignalSpec(name=name, unit=spec.unit, kind=spec.kind, vtype=spec.vtype, range=spec.range,
                      limits=spec.limits, states=spec.states, description=spec.description)


@dataclass(slots=True)
class _Watchdog:
    counter: float = 0.0
    changed_tick: int = 0
    timeout: float = DEFAULT_WATCHDOG_TIMEOUT
    expired: bool = False
    action: int = 0


@dataclass(slots=True)
class _Handshake:
    cmd: float = 0.0
    status: int = IDLE
    busy_since: int | None = None


@dataclass(slots=True)
class MemoryBlock:
    """The state of every memory/handshake point of one PLC; ``step`` once per tick."""

    dt: float
    mem: dict[str, float] = field(default_factory=dict)  # mem.* and comm.* registers
    text: dict[str, str] = field(default_factory=dict)  # mem.* string points (mem holds the length)
    wd: dict[str, _Watchdog] = field(default_factory=dict)
    hs: dict[str, _Handshake] = field(default_factory=dict)
    actions: list[Command] = field(default_factory=list)  # for the next scan (watchdog actions)

    @classmethod
    def for_signals(cls, signals: Sequence[str], dt: float) -> MemoryBlock:
        b = cls(dt=dt)
        for s in signals:
            ns, _, rest = s.partition(".")
            base = rest.rpartition(".")[0]
            if ns in ("mem", "comm"):
                b.mem.setdefault(s, 0.0)
            elif ns == "wd":
                b.wd.setdefault(base, _Watchdog())
            elif ns == "hs":
                b.hs.setdefault(base, _Handshake())
        return b

    def step(self, cmds: Sequence[Command], tick: int) -> list[GroundTruthEvent]:
        """Apply this tick's writes to memory points, advance watchdogs and handshakes."""
        events: list[GroundTruthEvent] = []
        for h in self.hs.values():  # BUSY lasts one scan
            if h.status == BUSY and h.busy_since is not None and tick > h.busy_since:
                h.status, h.busy_since = DONE, None
        for c in cmds:
            if c.kind is not CommandKind.WRITE or not is_memory_signal(c.target):
                continue
            ns, _, rest = c.target.partition(".")
            base, _, suffix = rest.rpartition(".")
            if ns == "mem":
                self.mem[c.target] = float(c.value)
                text = c.params.get("text")
                if isinstance(text, str):
                    self.text[c.target] = text
            elif ns == "comm":
                if suffix == "fault" and c.value != self.mem.get(c.target, 0.0):
                    events.extend(self._link_fault(base, self.mem.get(c.target, 0.0), c.value, cmds, tick))
                self.mem[c.target] = float(c.value)
            elif ns == "wd" and base in self.wd:
                w = self.wd[base]
                if suffix == "counter" and c.value != w.counter:
                    w.counter, w.changed_tick = float(c.value), tick
                elif suffix == "timeout":
                    w.timeout = float(c.value)
                elif suffix == "action":
                    w.action = int(c.value)
            elif ns == "hs" and base in self.hs and suffix == "cmd":
                h = self.hs[base]
                if c.value == 0:
                    h.status, h.busy_since = IDLE, None
                elif h.status in (BUSY, DONE) and c.value != h.cmd:
                    h.status, h.busy_since = ERROR, None  # a new command before the last was acknowledged
                elif h.status == IDLE:
                    h.status, h.busy_since = BUSY, tick
                h.cmd = float(c.value)
        for name, w in self.wd.items():
            expired = (tick - w.changed_tick) * self.dt > w.timeout
            if expired != w.expired:
                w.expired = expired
                events.append(GroundTruthEvent(tick=tick, plant=0, target=f"wd.{name}",
                                               kind="watchdog_expired" if expired else "watchdog_restored",
                                               params={"timeout_s": w.timeout, "action": _ACTIONS[w.action][0]}))
                if expired and _ACTIONS[w.action][1] is not None:
                    self.actions.append(_ACTIONS[w.action][1])  # type: ignore[arg-type]
        return events

    def take_actions(self) -> list[Command]:
        """Commands the PLC logic issues for the next scan (applied before the engine step)."""
        out, self.actions = self.actions, []
        return out

    def _link_fault(self, link: str, old: float, new: float, cmds: Sequence[Command],
                    tick: int) -> list[GroundTruthEvent]:
        """Ground truth for a write to ``comm.<link>.fault``: end the old fault, start the new one."""
        target = "modbus.*" if link == "all" else (
            f"modbus.unit.{link[4:]}" if link.startswith("unit") else f"modbus.{link}")
        out: list[GroundTruthEvent] = []
        if old:
            out.append(GroundTruthEvent(tick=tick, plant=0, kind="fault_end", target=target, params={}))
        if new:
            kind = LINK_FAULTS[int(new) - 1]
            param = self.mem.get(f"comm.{link}.param", 0.0)
            for c in cmds:  # a parameter written in the same tick counts
                if c.kind is CommandKind.WRITE and c.target == f"comm.{link}.param":
                    param = float(c.value)
            params: dict[str, float | int | str] = {"kind": kind}
            if kind in _PARAM_NAME and param:
                params[_PARAM_NAME[kind]] = param
            out.append(GroundTruthEvent(tick=tick, plant=0, kind="fault_start", target=target, params=params))
        return out

    def text_of(self, signal: str) -> str:
        """The text of a string point (``mem.*`` with a string Modbus format); '' until written."""
        return self.text.get(signal, "")

    def value(self, signal: str) -> float:
        ns, _, rest = signal.partition(".")
        base, _, suffix = rest.rpartition(".")
        if ns in ("mem", "comm"):
            return self.mem.get(signal, 0.0)
        if ns == "wd" and base in self.wd:
            w = self.wd[base]
            return {"counter": w.counter, "echo": w.counter, "expired": float(w.expired),
                    "timeout": w.timeout, "action": float(w.action)}.get(suffix, 0.0)
        if ns == "hs" and base in self.hs:
            h = self.hs[base]
            return h.cmd if suffix == "cmd" else float(h.status)
        return 0.0
