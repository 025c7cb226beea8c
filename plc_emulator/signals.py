"""Every signal a tag may bind to: the plant's catalogue plus the runtime's own points.

Namespaces:
* engine signals (``V100.pressure``, ``LIC100.sp`` ...): the tag map's catalogue (the built-in
  engine's, :data:`plc_emulator.engine.catalogue.LEGACY`, or the plant file's of ``model:``).
* ``runtime.*``: scan diagnostics and simulation control, owned by the scan loop.
* ``alarm.*`` / ``alarms.*`` / ``pm.*``: alarm block outputs and operator actions (see the alarms package).
* ``mem.*``, ``wd.*``, ``hs.*``, ``comm.*``: free memory, watchdog, handshake and link-fault control
  points (:mod:`plc_emulator.memory`).

Which signals feed the run digest: every engine and alarm signal plus ``runtime.tick`` and
``runtime.sim_time``; wall-clock-dependent runtime points (scan time, jitter, overruns, heartbeat,
pacing) do not, so the digest is the same in every pacing mode.
"""

from __future__ import annotations

from typing import Final

from plc_emulator.alarm_points import alarm_signal_spec, is_alarm_signal
from plc_emulator.engine.catalogue import LEGACY, Catalogue, SignalKind, SignalSpec, ValueType
from plc_emulator.memory import memory_signal_spec

__all__ = ["DETERMINISTIC_RUNTIME", "RUNTIME_SIGNALS", "all_signals", "lookup"]

IN, S = SignalKind.INPUT, SignalKind.STATE

RUNTIME_SIGNALS: Final[tuple[SignalSpec, ...]] = (
    SignalSpec(name="runtime.tick", unit="", kind=S, vtype=ValueType.INT, range=(0, 4294967295),
               description="Scan counter (ticks since start)"),
    SignalSpec(name="runtime.sim_time", unit="s", kind=S, vtype=ValueType.INT, range=(0, 4294967295),
               description="Simulated time, whole seconds since the Unix epoch"),
    SignalSpec(name="runtime.heartbeat", unit="", kind=S, vtype=ValueType.INT, range=(0, 65535),
               description="Heartbeat counter, +1 every scan, wraps at 65535"),
    SignalSpec(name="runtime.scan_time_ms", unit="ms", kind=S, range=(0, 10000),
               description="Duration of the last scan"),
    SignalSpec(name="runtime.jitter_ms", unit="ms", kind=S, range=(0, 10000),
               description="|actual - planned| start of the last scan"),
    SignalSpec(name="runtime.overruns", unit="", kind=S, vtype=ValueType.INT, range=(0, 4294967295),
               description="Scans that overran their period"),
    SignalSpec(name="runtime.paused", unit="", kind=IN, vtype=ValueType.BOOL, range=(0, 1), limits=(0, 1),
               states=("RUNNING", "PAUSED"), description="Pause (1) or resume (0) the simulation"),
    SignalSpec(name="runtime.speed", unit="x", kind=IN, range=(0, 10000), limits=(0, 10000),
               description="Speed factor relative to real time; 0 = as fast as possible"),
    SignalSpec(name="runtime.step", unit="ticks", kind=IN, vtype=ValueType.INT, range=(0, 65535),
               limits=(1, 65535), description="While paused: write N to advance exactly N ticks"),
)

DETERMINISTIC_RUNTIME: Final = frozenset({"runtime.tick", "runtime.sim_time"})

_RUNTIME: Final[dict[str, SignalSpec]] = {s.name: s for s in RUNTIME_SIGNALS}


def lookup(name: str, catalogue: Catalogue = LEGACY) -> SignalSpec | None:
    """The spec of a signal of ``catalogue``'s plant or of the runtime; None if unknown."""
    spec = catalogue.get(name) or _RUNTIME.get(name)
    if spec is None and name.startswith(("mem.", "wd.", "hs.", "comm.")):  # memory, handshake, link control
        return memory_signal_spec(name)
    if spec is None and is_alarm_signal(name):  # alarm points and PM outputs, named after the map's alarms
        spec = alarm_signal_spec(name, catalogue)
    return spec


def all_signals(catalogue: Catalogue = LEGACY) -> tuple[SignalSpec, ...]:
    return (*catalogue.specs, *RUNTIME_SIGNALS)
