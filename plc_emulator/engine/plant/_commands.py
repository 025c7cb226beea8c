"""Commands on a plant engine: writes to block inputs, sensor and valve faults, slugs, degradation.

Commands apply at the start of a tick to the new tick's state vector (a fresh copy: a state is never
mutated), in arrival order; a command that cannot apply is a ``write_ignored`` ground-truth event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.blocks import Context, SignalKind
from plc_emulator.engine.blocks.transmitter import FAULT_KINDS
from plc_emulator.engine.types import F64, GroundTruthEvent

if TYPE_CHECKING:
    from plc_emulator.engine.plant._run import PlantEngine, PlantState

__all__ = ["CommandTable", "apply_plant_commands"]

# (block kind, input signal) -> state array it writes
WRITES = {("pid", "sp"): "sp", ("pid", "mode"): "mode", ("pid", "out"): "manual", ("pid", "kc"): "kc",
          ("pid", "ti"): "ti", ("pump", "run_cmd"): "run_cmd", ("pump", "speed_sp"): "speed_sp",
          ("pump", "trip_reset"): "reset_cmd", ("interlock", "trip"): "trip_cmd",
          ("interlock", "reset"): "reset_cmd", ("interlock", "bypass"): "bypass", ("cascade", "out"): "manual"}
_BINARY = {"mode", "run_cmd", "reset_cmd", "trip_cmd", "bypass"}
_MULTISTATE = {("cascade", "mode")}  # 0 MAN, 1 AUTO, 2 CAS: rounded, not made binary
_FAULT_STATES = ("f_freeze", "f_drift", "f_bias", "f_spike", "f_noise", "f_fail", "f_comm_loss", "drift_acc")
Loc = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Write:
    loc: Loc
    state: str
    limits: tuple[float, float]
    kind: str


@dataclass(frozen=True, slots=True)
class CommandTable:
    writes: dict[str, Write]
    sensors: dict[str, Loc]  # measured signal -> its transmitter
    valves: dict[str, Loc]  # "LOOP.valve" -> the valve unit
    units: dict[str, Loc]  # every unit by name (wells, pumps)

    @classmethod
    def build(cls, eng: PlantEngine) -> CommandTable:
        writes: dict[str, Write] = {}
        for name, ref in eng.plan.signals.items():
            kind = eng.graph.units[ref.unit].block
            var = WRITES.get((kind, ref.source))
            if var is None and any(v.name == ref.source for v in eng.graph.spec(ref.unit).states):
                var = ref.source  # a block's writable signal stored in the state of the same name
            if ref.spec.kind is SignalKind.INPUT and var is not None:
                lim = ref.spec.limits or ref.spec.range
                writes[name] = Write(eng.where[ref.unit], var, (float(lim[0]), float(lim[1])), kind)
        sensors = {n: eng.where[r.instrument] for n, r in eng.plan.signals.items() if r.instrument is not None}
        valves = {n: eng.where[r.unit] for n, r in eng.plan.signals.items()
                  if n.endswith(".valve") and eng.graph.units[r.unit].block == "control_valve"}
        return cls(writes=writes, sensors=sensors, valves=valves, units=dict(eng.where))


def _set(groups: list[dict[str, F64]], loc: Loc, var: str, rows: slice | int, value: float | F64) -> None:
    groups[loc[0]][var][rows, loc[1]] = value  # views of the new tick's state vector (a fresh copy)


def _rows(cmd: Command, n: int) -> slice | int | None:
    if "plant" not in cmd.params:
        return slice(None)
    try:
        i = int(cmd.params["plant"])
    except (TypeError, ValueError):
        return None
    return i if 0 <= i < n else None


def apply_plant_commands(eng: PlantEngine, groups: list[dict[str, F64]], state: PlantState,
                         commands: Sequence[Command], ctx: Context) -> None:
    for cmd in commands:
        rows = _rows(cmd, eng.n)
        done = rows is not None and _apply(eng, groups, state=state, cmd=cmd, rows=rows, ctx=ctx)
        if not done:
            ctx.events.append(GroundTruthEvent(tick=ctx.tick, plant=-1, kind="write_ignored", target=cmd.target,
                                               params={"command": cmd.kind.value}))


def _apply(eng: PlantEngine, groups: list[dict[str, F64]], *, state: PlantState, cmd: Command,
           rows: slice | int, ctx: Context) -> bool:
    t = eng.commands
    kind = cmd.kind
    if kind is CommandKind.WRITE:
        w = t.writes.get(cmd.target)
        if w is None or not np.isfinite(cmd.value):
            return False
        value = min(max(float(cmd.value), w.limits[0]), w.limits[1])
        if (w.kind, w.state) in _MULTISTATE:
            value = float(round(value))
        elif w.state in _BINARY:
            value = 1.0 if value >= 0.5 else 0.0
        if w.state == "manual" and np.all(groups[w.loc[0]]["mode"][rows, w.loc[1]] > 0.5):
            return False  # output written while in AUTO
        _set(groups, w.loc, w.state, rows, value)
        if w.state == "bypass":
            ctx.events.append(GroundTruthEvent(tick=ctx.tick, plant=-1, kind="bypass", target=cmd.target,
                                               params={"value": value}))
        return True
    if kind is CommandKind.INJECT_FAULT:
        return _inject(t, groups, cmd=cmd, rows=rows, ctx=ctx)
    if kind is CommandKind.CLEAR_FAULT:
        return _clear(eng, groups, cmd, rows, ctx)
    return _process(t, groups, cmd, rows, ctx)


def _inject(t: CommandTable, groups: list[dict[str, F64]], *, cmd: Command, rows: slice | int,
            ctx: Context) -> bool:
    fk = str(cmd.params.get("kind", ""))
    if cmd.target in t.valves and fk == "stuck":
        _set(groups, t.valves[cmd.target], "fault_stuck", rows, 1.0)
    elif cmd.target in t.valves and fk == "stiction":
        _set(groups, t.valves[cmd.target], "s_now", rows, max(cmd.param("S", 2.0), 0.0))
        _set(groups, t.valves[cmd.target], "j_now", rows, max(cmd.param("J", 1.0), 0.0))
    elif cmd.target in t.sensors and fk in FAULT_KINDS:
        loc = t.sensors[cmd.target]
        current = groups[loc[0]]["value"][rows, loc[1]]
        value = {"freeze": 1.0, "fail": 1.0, "comm_loss": 1.0, "drift": cmd.param("rate", 0.01),
                 "bias": cmd.param("offset", 0.0), "spike": cmd.param("probability", 0.01),
                 "noise": cmd.param("factor", 5.0)}[fk]
        _set(groups, loc, f"f_{fk}", rows, value)
        if fk in ("freeze", "comm_loss"):
            _set(groups, loc, "freeze_value", rows, current)
            _set(groups, loc, "comm_t", rows, 0.0)
        if fk == "spike":
            _set(groups, loc, "spike_amp", rows, cmd.param("amplitude", 10.0))
    else:
        return False
    row = rows if isinstance(rows, int) else -1  # the plant row a fault was injected on (-1: every row)
    ctx.events.append(GroundTruthEvent(tick=ctx.tick, plant=row, kind="fault_start", target=cmd.target,
                                       params=dict(cmd.params)))
    return True


def _clear(eng: PlantEngine, groups: list[dict[str, F64]], cmd: Command, rows: slice | int, ctx: Context) -> bool:
    t = eng.commands
    sensors = t.sensors if cmd.target == "*" else {k: v for k, v in t.sensors.items() if k == cmd.target}
    valves = t.valves if cmd.target == "*" else {k: v for k, v in t.valves.items() if k == cmd.target}
    if not sensors and not valves:
        return False
    for loc in sensors.values():
        for var in _FAULT_STATES:
            _set(groups, loc, var, rows, 0.0)
    for loc in valves.values():
        _set(groups, loc, "fault_stuck", rows, 0.0)
        params = eng.plan.groups[loc[0]].params
        _set(groups, loc, "s_now", rows, params["stiction_s"][rows, loc[1]])
        _set(groups, loc, "j_now", rows, params["stiction_j"][rows, loc[1]])
    row = rows if isinstance(rows, int) else -1
    ctx.events.append(GroundTruthEvent(tick=ctx.tick, plant=row, kind="fault_end", target=cmd.target, params={}))
    return True


def _process(t: CommandTable, groups: list[dict[str, F64]], cmd: Command, rows: slice | int, ctx: Context) -> bool:
    loc = t.units.get(cmd.target)
    if loc is None:
        return False
    st = groups[loc[0]]
    if cmd.kind is CommandKind.FORCE_SLUG and "fslug_t" in st:
        if cmd.param("severe", 0.0) >= 0.5:
            _set(groups, loc, "sev_force", rows, 1.0)
        else:
            dur = max(cmd.param("duration_s", 60.0), 1e-3)
            _set(groups, loc, "fslug_q", rows, cmd.param("volume_m3", 15.0) / dur)
            _set(groups, loc, "fslug_t", rows, dur)
            ctx.events.append(GroundTruthEvent(tick=ctx.tick, plant=-1, kind="slug", target=cmd.target,
                                               params=dict(cmd.params)))
        return True
    if cmd.kind is CommandKind.START_DEGRADATION and "onset_s" in st:
        _set(groups, loc, "onset_s", rows, st["hours"][rows, loc[1]] * 3600.0)
        if "beta_per_day" in cmd.params:
            _set(groups, loc, "beta", rows, cmd.param("beta_per_day", 0.0) / 86400.0)
        if "theta" in cmd.params:
            _set(groups, loc, "theta", rows, cmd.param("theta", 0.2))
        return True
    if cmd.kind is CommandKind.TRIP_PUMP and "status" in st:
        _set(groups, loc, "status", rows, 2.0)
        ctx.events.append(GroundTruthEvent(tick=ctx.tick, plant=-1, kind="pump_trip", target=cmd.target,
                                           params={"reason": "command"}))
        return True
    return False
