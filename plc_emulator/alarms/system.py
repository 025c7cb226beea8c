"""The alarm block and the PM rules together: what the scan calls once per tick."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from plc_emulator.alarms.block import AlarmBlock, AlarmStatus, AlarmTransition
from plc_emulator.alarms.config import PmConfigError, PmParams, alarm_defs, check_tagmap, pm_params_from_mapping
from plc_emulator.alarms.pm import PmBlock, PmOutputs
from plc_emulator.alarms.signals import pm_signal_values
from plc_emulator.alarms.states import AlarmState
from plc_emulator.commands import Command
from plc_emulator.engine.catalogue import LEGACY, Catalogue
from plc_emulator.tagmap.model import TagMap

__all__ = ["AlarmResult", "AlarmSystem", "check_tagmap", "validate_pm"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmResult:
    tick: int
    transitions: tuple[AlarmTransition, ...]
    rejected: tuple[tuple[Command, str], ...]  # operator commands refused, with the reason
    pm: PmOutputs


class AlarmSystem:
    """PM rules first (their flags are alarm conditions), then the alarm block."""

    def __init__(self, tagmap: TagMap, *, dt: float | None = None, n: int = 1, params: PmParams | None = None) -> None:
        self.params = params if params is not None else tagmap.pm_params
        self.dt = tagmap.scan_period if dt is None else float(dt)
        self.n = n
        self.pm = PmBlock(self.params, dt=self.dt, n=n, catalogue=tagmap.catalogue)
        self.block = AlarmBlock(alarm_defs(tagmap, self.params), dt=self.dt, n=n, suppression=self.params.suppression,
                                catalogue=tagmap.catalogue)
        self.last: AlarmResult | None = None
        self._plans: dict[tuple[str, ...], tuple[dict[str, tuple[Any, Any]], list[int]]] = {}
        self._pm_cache: tuple[AlarmResult | None, int, dict[str, float]] = (None, -1, {})

    def step(
        self,
        values: npt.NDArray[np.float64],
        status: npt.NDArray[np.uint32],
        *,
        tick: int,
        commands: Iterable[Command] = (),
        record: bool = True,
    ) -> AlarmResult:
        pm = self.pm.step(values, status, tick=tick)
        transitions, rejected = self.block.step(
            values, status, tick=tick, commands=commands, pm_flags=pm.flags, record=record
        )
        self.last = AlarmResult(tick=tick, transitions=transitions, rejected=rejected, pm=pm)
        return self.last

    def _pm_values(self, plant: int) -> dict[str, float]:
        """``pm_signal_values`` of the last step, built once per step and plant (read-only for callers)."""
        last, cached_plant, vals = self._pm_cache
        if last is not self.last or cached_plant != plant:
            vals = pm_signal_values(self.params, self.last.pm, plant) if self.last is not None else {}
            self._pm_cache = (self.last, plant, vals)
        return vals

    def signal_values(self, plant: int = 0) -> dict[str, float]:
        """Every ``alarm.*``, ``alarms.*`` and ``pm.*`` signal value of one plant (after a step)."""
        out = self.block.signal_values(plant)
        out.update(self._pm_values(plant))
        return out

    def view(self, plant: int = 0) -> Mapping[str, Any]:
        """The mapping for ``Snapshot.alarms`` (per-alarm statuses built only when read)."""
        return _LazyView(self, plant)

    def signal_vector(self, signals: Sequence[str], plant: int = 0) -> npt.NDArray[np.float64]:
        """Values of ``signals`` (alarm.* / alarms.* / pm.*) in that order, vectorised for the scan."""
        key = tuple(signals)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(key)
        fields, others = plan
        st = self.block.state[plant]
        out = np.zeros(len(key))
        for field, (where, alarms) in fields.items():
            if field == "active":
                out[where] = self.block.active_mask()[plant, alarms]
            elif field == "unacked":
                out[where] = self.block.unacked_mask()[plant, alarms]
            elif field == "state":
                out[where] = st[alarms]
        if others:
            n_act, n_una, top = self.block.summary(plant)
            vals: dict[str, float] = {
                "alarms.active_count": float(n_act),
                "alarms.unacked_count": float(n_una),
                "alarms.highest_priority": float(top),
            }
            vals.update(self._pm_values(plant))
            for i in others:
                out[i] = vals.get(key[i], 0.0)
        return out

    def _plan(self, key: tuple[str, ...]) -> tuple[dict[str, tuple[Any, Any]], list[int]]:
        index = {a: i for i, a in enumerate(self.block.ids)}
        buckets: dict[str, tuple[list[int], list[int]]] = {}
        others: list[int] = []
        for i, name in enumerate(key):
            if name.startswith("alarm."):
                alarm, field = name[len("alarm.") :].rsplit(".", 1)
                if alarm in index and field in ("active", "unacked", "state"):
                    b = buckets.setdefault(field, ([], []))
                    b[0].append(i)
                    b[1].append(index[alarm])
                    continue
                if alarm in index and field == "ack":
                    continue  # a command point reads 0
            others.append(i)
        fields = {f: (np.asarray(w, dtype=np.intp), np.asarray(a, dtype=np.intp)) for f, (w, a) in buckets.items()}
        return fields, others


class _LazyView(Mapping[str, Any]):
    """``Snapshot.alarms``: counts and transitions now, per-alarm statuses from a copy when read."""

    _KEYS = ("alarms", "active_count", "unacked_count", "highest_priority", "transitions", "rejected", "pm")

    def __init__(self, system: AlarmSystem, plant: int) -> None:
        blk = system.block
        self._ids = blk.ids
        self._defs = blk.defs
        self._state = blk.state[plant].copy()
        self._cond = blk.cond[plant].copy()
        self._confirmed = blk.confirmed[plant].copy()
        self._since = blk.since[plant].copy()
        self._shelved = blk.shelved_until[plant].copy()
        self._seq = blk.last_seq[plant].copy()
        act, una, top = blk.summary(plant)
        last = system.last
        self._data: dict[str, Any] = {
            "active_count": act,
            "unacked_count": una,
            "highest_priority": top,
            "transitions": tuple(t for t in last.transitions if t.plant == plant) if last else (),
            "rejected": tuple(last.rejected) if last else (),
            "pm": dict(system._pm_values(plant)),
        }

    def __getitem__(self, key: str) -> Any:
        if key == "alarms" and "alarms" not in self._data:
            states = {s.value: s for s in AlarmState}
            self._data["alarms"] = {
                a: AlarmStatus(
                    id=a,
                    state=states[int(self._state[i])],
                    condition=bool(self._cond[i]),
                    confirmed=bool(self._confirmed[i]),
                    priority=d.priority,
                    severity=d.severity,
                    since_tick=int(self._since[i]),
                    shelved_until=int(self._shelved[i]),
                    last_seq=int(self._seq[i]),
                )
                for i, (a, d) in enumerate(zip(self._ids, self._defs, strict=True))
            }
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)


def validate_pm(raw: Mapping[str, Any] | None, catalogue: Catalogue = LEGACY) -> list[tuple[str, str]]:
    """Problems of a tag map's ``pm:`` section as ``(dotted path, message)``; empty when valid."""
    try:
        pm_params_from_mapping(raw, catalogue)
    except PmConfigError as exc:
        return list(exc.problems)
    return []
