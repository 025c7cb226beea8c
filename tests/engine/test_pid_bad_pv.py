"""A PID's return from a Bad PV is bumpless: the output continues from the held value."""

from __future__ import annotations

import numpy as np

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine import Engine, params_from_mapping
from plc_emulator.engine import status as st
from plc_emulator.engine.catalogue import index_of

QUIET = {"slugs": {"hydrodynamic": False, "severe_rate_per_day": 0.0}, "well": {"gas_drift_sigma": 0.0}}


def _run(fault_ticks: int = 600, after_ticks: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    eng = Engine(params_from_mapping(QUIET), dt=0.1, seed=3)
    s = eng.initial_state()
    s, _ = eng.run(s, 50)
    schedule = {
        s.tick + 1: [Command(kind=CommandKind.INJECT_FAULT, target="V100.pressure", params={"kind": "fail"})],
        s.tick + 1 + fault_ticks: [Command(kind=CommandKind.CLEAR_FAULT, target="V100.pressure")],
    }
    out, status, pressure = [], [], []
    for _ in range(fault_ticks + after_ticks):
        s, _ = eng.run(s, 1, schedule)
        o = eng.outputs(s)
        out.append(o.values[0, index_of("PIC100.out")])
        status.append(o.status[0, index_of("PIC100.pv")])
        pressure.append(o.truth[0, index_of("V100.pressure")])
    return np.array(out), np.array(status), np.array(pressure)


def test_return_from_bad_pv_moves_the_output_less_than_two_percent() -> None:
    out, status, pressure = _run()
    bad = np.flatnonzero(status == st.BAD_SENSOR_FAILURE)
    assert bad.size > 500  # the PV really was Bad for the whole fault
    held = out[bad[-1]]
    assert np.all(out[bad] == out[bad[0]])  # held while Bad
    after = out[bad[-1] + 1 : bad[-1] + 11]  # the first second back on a Good PV
    assert np.all(status[bad[-1] + 2 :] == st.GOOD)
    assert np.max(np.abs(after - held)) < 2.0  # % of the output span
    # and the process does not notice: HP pressure stays near its setpoint (was 1000 -> 852 psi)
    assert pressure[bad[-1] :].min() > 950.0
