"""Commands applied to a mutable working copy of the state at the start of a tick."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine import status as st
from plc_emulator.engine._design import LOOP_NAMES, MEASURED
from plc_emulator.engine.catalogue import CATALOGUE, SignalKind, index_of
from plc_emulator.engine.params import PlantParams
from plc_emulator.engine.types import F64, U32, GroundTruthEvent

_LOOP_INDEX = {n: i for i, n in enumerate(LOOP_NAMES)}
_MEAS_INDEX = {n: i for i, n in enumerate(MEASURED)}
_LOOP_FIELDS = {"sp": "sp", "mode": "mode", "out": "man", "kc": "kc", "ti": "ti"}
SENSOR_FAULTS = ("freeze", "drift", "bias", "spike", "noise", "fail", "comm_loss")
VALVE_FAULTS = ("stuck", "stiction")
# Communication-link faults of the Modbus listeners (docs/modbus.md, "Link faults"): the engine only
# records their ground truth; the Modbus adapter acts on them. Targets: modbus.tcp, modbus.rtu-tcp,
# modbus.tls, modbus.rtu, modbus.* (every listener) and modbus.unit.N (one unit id).
LINK_FAULTS = ("delay", "drop", "exception", "close", "stop_listening", "corrupt_crc")
_LINK_TARGET = re.compile(r"^modbus\.(tcp|rtu-tcp|tls|rtu|\*|unit\.(0|[1-9][0-9]{0,2}))$")


def is_link_target(target: str) -> bool:
    """``modbus.<listener>``, ``modbus.*`` or ``modbus.unit.<id>``: a link-fault target."""
    return _LINK_TARGET.match(target) is not None
_FAULT_ARRAYS = (
    "f_freeze",
    "f_drift",
    "f_drift_acc",
    "f_bias",
    "f_spike_p",
    "f_spike_a",
    "f_noise_x",
    "f_fail",
    "f_comm",
    "f_comm_t",
    "f_comm_timeout",
)


def _rows(cmd: Command, n: int) -> slice | int | None:
    if "plant" not in cmd.params:
        return slice(None)
    try:
        i = int(cmd.params["plant"])
    except (TypeError, ValueError):
        return None
    return i if 0 <= i < n else None


def _limits(target: str, value: float) -> float:
    spec = CATALOGUE[index_of(target)]
    lo, hi = spec.limits if spec.limits is not None else spec.range
    return float(min(max(value, lo), hi))


def apply_commands(
    cmds: Iterable[Command], *,
    a: dict[str, F64],
    status: U32,
    tick: int,
    p: PlantParams,
    events: list[GroundTruthEvent],
) -> None:
    """Apply ``cmds`` in order to the working arrays ``a``; record ground truth in ``events``."""
    n = status.shape[0]
    for cmd in cmds:
        rows = _rows(cmd, n)
        if rows is None:
            _ignored(cmd, tick, events, n, "no such plant")
            continue
        kind = cmd.kind
        if kind is CommandKind.WRITE:
            _write(cmd, rows=rows, a=a, tick=tick, events=events, n=n)
        elif kind is CommandKind.INJECT_FAULT:
            _inject(cmd, rows=rows, a=a, tick=tick, p=p, events=events, n=n)
        elif kind is CommandKind.CLEAR_FAULT:
            _clear(cmd, rows=rows, a=a, tick=tick, p=p, events=events, n=n)
        elif kind is CommandKind.START_DEGRADATION:
            a["degr_start"][rows] = 1.0
            if "beta_per_day" in cmd.params:
                a["vib_beta"][rows] = cmd.param("beta_per_day", 0.0) / 86400.0
            if "theta" in cmd.params:
                a["vib_theta"][rows] = cmd.param("theta", p.vibration.theta_mm_s)
        elif kind is CommandKind.FORCE_SLUG:
            if cmd.param("severe", 0.0) >= 0.5:
                a["sev_force"][rows] = 1.0
            else:
                vol = cmd.param("volume_m3", p.slugs.forced_volume_m3)
                dur = max(cmd.param("duration_s", p.slugs.forced_duration_s), 1e-3)
                a["fslug_q"][rows] = vol / dur
                a["fslug_t"][rows] = dur
                for i in _plants(rows, n):
                    events.append(
                        GroundTruthEvent(
                            tick=tick,
                            plant=i,
                            kind="slug",
                            target="well",
                            params={"volume_m3": vol, "duration_s": dur, "forced": 1},
                        )
                    )
        elif kind is CommandKind.TRIP_PUMP:
            a["trip_cmd"][rows] = 1.0
        # alarm commands belong to the alarm block; the engine has nothing to do


def _plants(rows: slice | int, n: int) -> range:
    return range(n) if isinstance(rows, slice) else range(rows, rows + 1)


def _ignored(cmd: Command, tick: int, events: list[GroundTruthEvent], n: int, why: str) -> None:
    rows = _rows(cmd, n)
    for i in _plants(rows if rows is not None else slice(None), n):
        events.append(
            GroundTruthEvent(
                tick=tick,
                plant=i,
                kind="write_ignored",
                target=cmd.target,
                params={"reason": why, "value": cmd.value},
            )
        )


def _write(
    cmd: Command, *, rows: slice | int, a: dict[str, F64], tick: int, events: list[GroundTruthEvent], n: int
) -> None:
    target = cmd.target
    try:
        spec = CATALOGUE[index_of(target)]
    except KeyError:
        _ignored(cmd, tick, events, n, "unknown signal")
        return
    if spec.kind is not SignalKind.INPUT or not np.isfinite(cmd.value):
        _ignored(cmd, tick, events, n, "not writable")
        return
    value = _limits(target, cmd.value)
    loop, _, fld = target.partition(".")
    if loop in _LOOP_INDEX:
        li = _LOOP_INDEX[loop]
        if fld == "out":
            mode = a["mode"][rows, li]
            auto = np.atleast_1d(mode > 0.5)
            if auto.all():
                _ignored(cmd, tick, events, n, "output written while in AUTO")
                return
            if auto.any():
                for i, au in zip(_plants(rows, n), auto, strict=True):
                    if au:
                        events.append(
                            GroundTruthEvent(
                                tick=tick,
                                plant=i,
                                kind="write_ignored",
                                target=target,
                                params={"reason": "output written while in AUTO"},
                            )
                        )
            a["man"][rows, li] = np.where(np.atleast_1d(mode > 0.5), a["man"][rows, li], value)
            return
        if fld == "mode":
            value = 1.0 if value >= 0.5 else 0.0
        a[_LOOP_FIELDS[fld]][rows, li] = value
        return
    key = {
        "P100.run_cmd": "run_cmd",
        "P100.speed_sp": "speed_sp",
        "P100.trip_reset": "pump_reset",
        "ESD.trip": "esd_cmd",
        "ESD.reset": "esd_reset",
    }.get(target)
    if key is None:  # pragma: no cover - every catalogue input is handled above
        _ignored(cmd, tick, events, n, "not writable")
        return
    if key in ("run_cmd", "pump_reset", "esd_cmd", "esd_reset"):
        value = 1.0 if value >= 0.5 else 0.0
    a[key][rows] = value


def _inject(
    cmd: Command, *,
    rows: slice | int,
    a: dict[str, F64],
    tick: int,
    p: PlantParams,
    events: list[GroundTruthEvent],
    n: int,
) -> None:
    fk = str(cmd.params.get("kind", ""))
    target = cmd.target
    loop, _, fld = target.partition(".")
    if fld == "valve" and loop in _LOOP_INDEX and fk in VALVE_FAULTS:
        li = _LOOP_INDEX[loop]
        if fk == "stuck":
            a["v_stuck"][rows, li] = 1.0
        else:
            a["st_s"][rows, li] = max(cmd.param("S", 2.0), 0.0)
            a["st_j"][rows, li] = max(cmd.param("J", 1.0), 0.0)
    elif target in _MEAS_INDEX and fk in SENSOR_FAULTS:
        k = _MEAS_INDEX[target]
        a["faults_on"][rows] = 1.0  # leaves the instruments' fast path (cleared by clear_fault *)
        meas = a["meas"]
        if fk == "freeze":
            a["f_freeze"][rows, k] = 1.0
            a["f_freeze_v"][rows, k] = meas[rows, k]
        elif fk == "drift":
            a["f_drift"][rows, k] = cmd.param("rate", 0.01)
        elif fk == "bias":
            a["f_bias"][rows, k] = cmd.param("offset", 0.0)
        elif fk == "spike":
            a["f_spike_p"][rows, k] = min(max(cmd.param("probability", 0.01), 0.0), 1.0)
            a["f_spike_a"][rows, k] = cmd.param("amplitude", 0.1 * 100.0)
        elif fk == "noise":
            a["f_noise_x"][rows, k] = max(cmd.param("factor", 5.0), 0.0)
        elif fk == "fail":
            a["f_fail"][rows, k] = 1.0
        else:  # comm_loss
            a["f_comm"][rows, k] = 1.0
            a["f_comm_t"][rows, k] = 0.0
            a["f_comm_timeout"][rows, k] = max(cmd.param("timeout", p.instruments.comm_timeout_s), 0.0)
            a["f_comm_v"][rows, k] = meas[rows, k]
    elif is_link_target(target) and fk in LINK_FAULTS:
        pass  # nothing in the plant changes: only the ground truth below
    else:
        _ignored(cmd, tick, events, n, f"unknown fault {fk!r} for {target}")
        return
    for i in _plants(rows, n):
        events.append(
            GroundTruthEvent(tick=tick, plant=i, kind="fault_start", target=target, params=dict(cmd.params))
        )


def _clear(
    cmd: Command, *,
    rows: slice | int,
    a: dict[str, F64],
    tick: int,
    p: PlantParams,
    events: list[GroundTruthEvent],
    n: int,
) -> None:
    from plc_emulator.engine._design import build_design  # cheap and only on a clear

    target = cmd.target
    if is_link_target(target):
        for i in _plants(rows, n):
            events.append(GroundTruthEvent(tick=tick, plant=i, kind="fault_end", target=target, params={}))
        return
    d = build_design(p) if (target == "*" or target.endswith(".valve")) else None
    cleared: list[str] = []
    if target == "*" or target in _MEAS_INDEX:
        cols = list(range(len(MEASURED))) if target == "*" else [_MEAS_INDEX[target]]
        if target == "*":
            a["faults_on"][rows] = 0.0
        for k in cols:
            active = any(
                float(np.max(np.atleast_1d(a[f][rows, k]))) != (1.0 if f == "f_noise_x" else 0.0)
                for f in _FAULT_ARRAYS
                if f not in ("f_comm_t", "f_comm_timeout", "f_drift_acc")
            )
            for f in _FAULT_ARRAYS:
                a[f][rows, k] = 1.0 if f == "f_noise_x" else 0.0
            if active:
                cleared.append(MEASURED[k])
    if target == "*" or target.endswith(".valve"):
        loop = target.partition(".")[0]
        cols = (
            list(range(len(LOOP_NAMES)))
            if target == "*"
            else ([_LOOP_INDEX[loop]] if loop in _LOOP_INDEX else [])
        )
        assert d is not None
        for li in cols:
            active = bool(
                np.any(a["v_stuck"][rows, li] > 0.5)
                or np.any(a["st_s"][rows, li] != d.stiction_s[li])
                or np.any(a["st_j"][rows, li] != d.stiction_j[li])
            )
            a["v_stuck"][rows, li] = 0.0
            a["st_s"][rows, li] = d.stiction_s[li]
            a["st_j"][rows, li] = d.stiction_j[li]
            if active:
                cleared.append(f"{LOOP_NAMES[li]}.valve")
    if not cleared and target != "*" and target not in _MEAS_INDEX and not target.endswith(".valve"):
        _ignored(cmd, tick, events, n, "nothing to clear")
        return
    for name in cleared:
        for i in _plants(rows, n):
            events.append(GroundTruthEvent(tick=tick, plant=i, kind="fault_end", target=name, params={}))
    _ = st  # status codes are recomputed by the instrument model on this tick
