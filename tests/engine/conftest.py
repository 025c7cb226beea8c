"""Shared engine fixtures: one simulated week of the healthy plant, computed once per session."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from plc_emulator.engine import Engine, EngineState, params_from_mapping
from plc_emulator.engine.catalogue import index_of
from plc_emulator.engine.types import F64

EPOCH = 1767225600.0  # 2026-01-01T00:00:00Z
# healthy = no severe riser slugging (an upset by design) and no injected faults
HEALTHY = {"slugs": {"severe_rate_per_day": 0.0}}


@dataclass
class Week:
    engine: Engine
    first: EngineState
    last: EngineState
    t: F64  # (K,) seconds since tick 0 of each record
    values: F64  # (K, N, S)
    truth: F64
    status: npt.NDArray[np.uint32]

    def col(self, name: str, *, truth: bool = True, plant: int = 0) -> F64:
        arr = self.truth if truth else self.values
        out: F64 = arr[:, plant, index_of(name)]
        return out


@pytest.fixture(scope="session")
def healthy_week() -> Week:
    """7 days at dt = 20 s, N = 2 plants, recorded every 2 min.

    dt = 20 s instead of the tag map's 100 ms keeps the suite fast; it is still below a tenth of the
    slowest-loop time constants that matter here (gas holdup ~180 s, level loops Ti 600-2400 s) and
    every lag uses the exact exponential update, so the week is stable and physically the same run.
    """
    eng = Engine(params_from_mapping(HEALTHY), dt=20.0, seed=11, n=2, epoch=EPOCH)
    s0 = eng.initial_state()
    s = s0
    vals, tru, sts, ts = [], [], [], []
    every = 6
    for _ in range(7 * 86400 // (20 * every)):
        s, _ = eng.run(s, every)
        out = eng.outputs(s)
        vals.append(out.values)
        tru.append(out.truth)
        sts.append(out.status)
        ts.append(s.tick * eng.dt)
    return Week(
        engine=eng, first=s0, last=s, t=np.array(ts), values=np.array(vals), truth=np.array(tru), status=np.array(sts)
    )
