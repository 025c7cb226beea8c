"""The alarm block and the PM rules together: what the scan calls once per tick."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from plc_emulator.alarms.block import AlarmBlock, AlarmTransition
from plc_emulator.alarms.config import PmConfigError, PmParams, alarm_defs, pm_params_from_mapping
from plc_emulator.alarms.pm import PmBlock, PmOutputs
from plc_emulator.alarms.signals import alarm_signal_spec, pm_signal_values
from plc_emulator.commands import Command
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

    def __init__(
        self, tagmap: TagMap, *, dt: float | None = None, n: int = 1, params: PmParams | None = None
    ) -> None:
        self.params = params if params is not None else pm_params_from_mapping(tagmap.pm)
        self.dt = tagmap.scan_period if dt is None else float(dt)
        self.n = n
        self.pm = PmBlock(self.params, dt=self.dt, n=n)
        self.block = AlarmBlock(
            alarm_defs(tagmap, self.params), dt=self.dt, n=n, suppression=self.params.suppression
        )
        self.last: AlarmResult | None = None

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

    def signal_values(self, plant: int = 0) -> dict[str, float]:
        """Every ``alarm.*``, ``alarms.*`` and ``pm.*`` signal value of one plant (after a step)."""
        out = self.block.signal_values(plant)
        if self.last is not None:
            out.update(pm_signal_values(self.params, self.last.pm, plant))
        return out

    def view(self, plant: int = 0) -> Mapping[str, Any]:
        """The mapping for ``Snapshot.alarms``."""
        last = self.last
        base = dict(self.block.view(plant, last.transitions if last else (), last.rejected if last else ()))
        if last is not None:
            base["pm"] = pm_signal_values(self.params, last.pm, plant)
        return base


def validate_pm(raw: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Problems of a tag map's ``pm:`` section as ``(dotted path, message)``; empty when valid."""
    try:
        pm_params_from_mapping(raw)
    except PmConfigError as exc:
        return list(exc.problems)
    return []


def check_tagmap(tagmap: TagMap) -> list[tuple[str, str]]:
    """Cross-checks that need the whole tag map: tags bound to alarm signals name real alarms, and the
    suppression rules name real alarms. ``(dotted path, message)`` pairs."""
    problems = validate_pm(tagmap.pm)
    if problems:
        return problems
    params = pm_params_from_mapping(tagmap.pm)
    ids = {d.id for d in alarm_defs(tagmap, params)}
    for n, rule in enumerate(params.suppression):
        for i, a in enumerate(rule.alarms):
            if a not in ids:
                problems.append((f"pm.suppression[{n}].alarms[{i}]", f"no such alarm (got {a!r})"))
    for tag in tagmap.tags:
        if not tag.signal.startswith("alarm."):
            continue
        spec = alarm_signal_spec(tag.signal)
        alarm = tag.signal[len("alarm.") :].rsplit(".", 1)[0]
        if spec is None or alarm not in ids:
            problems.append(
                (
                    f"devices.{tag.device}.tags.{tag.name}.signal",
                    f"no such alarm signal (alarm ids look like SEP-V100.oil_level.HI) (got {tag.signal!r})",
                )
            )
    return problems
