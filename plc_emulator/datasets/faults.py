"""Random fault campaigns for a batch of plants (pure: numpy only).

Per plant, fault starts form a Poisson process of ``rate_per_day``; each fault lasts
U(``min_hours``, ``max_hours``) and the next one starts only after it ended, so at most one fault is
active per plant at a time (labels stay unambiguous). The kind is drawn uniformly from every fault
kind the plant has targets for; sensor kinds go to a random measured signal of the plant's catalogue,
valve kinds to a random loop ending in a control valve (``Fleet``: the built-in train's when none is
given). Magnitudes come from :func:`plc_emulator.alarms.fleet.fault_params`, the same draws
``evaluate`` uses. The stream is its own ``SeedSequence([seed, 0xDA7A])``, so the plant run itself is
unchanged by the campaign's draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plc_emulator.alarms.fleet import MEASURED, SENSOR_KINDS, VALVE_KINDS, Fleet, fault_params
from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.catalogue import LEGACY

__all__ = ["FaultCampaign", "fault_campaign"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultCampaign:
    rate_per_day: float = 1.0
    min_hours: float = 2.0
    max_hours: float = 12.0
    first_after_hours: float = 1.0  # a healthy stretch at the start of every plant


def fault_campaign(
    campaign: FaultCampaign, *, plants: int, ticks: int, dt: float, seed: int, fleet: Fleet | None = None
) -> dict[int, list[Command]]:
    """``{tick: [INJECT_FAULT / CLEAR_FAULT commands]}`` with ``params["plant"]`` set on each."""
    sched: dict[int, list[Command]] = {}
    cat = LEGACY if fleet is None else fleet.catalogue
    sensors = MEASURED if fleet is None else fleet.sensors
    valves = LEGACY.valves if fleet is None else fleet.valves
    kinds = (SENSOR_KINDS if sensors else ()) + (VALVE_KINDS if valves else ())
    if campaign.rate_per_day <= 0 or not kinds:
        return sched
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xDA7A]))
    horizon = ticks * dt
    mean_gap = 86400.0 / campaign.rate_per_day
    for plant in range(plants):
        t = campaign.first_after_hours * 3600.0 + float(rng.exponential(mean_gap))
        while t < horizon:
            kind = kinds[int(rng.integers(len(kinds)))]
            if kind in VALVE_KINDS:
                target = valves[int(rng.integers(len(valves)))]
            else:
                target = sensors[int(rng.integers(len(sensors)))]
            length = float(rng.uniform(campaign.min_hours, campaign.max_hours)) * 3600.0
            t0 = max(1, round(t / dt))
            t1 = max(t0 + 1, round((t + length) / dt))
            params = {**fault_params(kind, target, rng, cat), "plant": plant}
            sched.setdefault(t0, []).append(
                Command(kind=CommandKind.INJECT_FAULT, target=target, params=params, source="dataset")
            )
            if t1 <= ticks:
                sched.setdefault(t1, []).append(
                    Command(kind=CommandKind.CLEAR_FAULT, target=target, params={"plant": plant},
                            source="dataset")
                )
            t = t1 * dt + float(rng.exponential(mean_gap))
    return sched
