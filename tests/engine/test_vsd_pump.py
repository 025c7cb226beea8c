"""The ``vsd_pump`` block (a loading pump on a variable-speed drive) and the tank farm's loading
stations: affinity laws against the system curve, the drive's ramp, the arm, trip and reset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.blocks import KERNELS, LIBRARY, Context, initial_state, resolve_params
from plc_emulator.engine.plant import PlantEngine, load_plant
from plc_emulator.engine.types import F64

ROOT = Path(__file__).resolve().parents[2]
FARM = ROOT / "tag_maps" / "plants" / "asphalt_tank_farm.yaml"
KIND = "vsd_pump"


class Pump:
    """One vsd_pump unit (N = 1) stepped by hand, inputs held."""

    def __init__(self, params: dict[str, float], initial: dict[str, float] | None = None) -> None:
        spec = LIBRARY[KIND]
        self.kern = KERNELS[KIND]
        self.p = {k: v[:, None] for k, v in resolve_params(spec.params, params, 1).items()}
        init = resolve_params(spec.initial, initial or {}, 1)
        s0 = initial_state(spec, resolve_params(spec.params, params, 1), init, 1)
        self.s = {k: v[:, None] for k, v in s0.items()}
        self.i: dict[str, F64] = {"arm": np.full((1, 1), 100.0), "trip": np.zeros((1, 1))}
        self.t = 0.0

    def write(self, name: str, value: float) -> None:
        self.s[name] = np.full((1, 1), value)

    def run(self, seconds: float, dt: float = 1.0) -> dict[str, float]:
        ctx = Context(tick=0, dt=dt, t=0.0, sim_s=self.t, rng=np.random.default_rng(0), units=("LP",))
        for _ in range(round(seconds / dt)):
            self.t += dt
            ctx = Context(tick=0, dt=dt, t=0.0, sim_s=self.t, rng=np.random.default_rng(0), units=("LP",))
            self.s = {**self.s, **self.kern.update(self.p, self.s, self.i, ctx)}
        return {k: float(v[0, 0]) for k, v in self.kern.signals(self.p, self.s, self.i, ctx).items()}


@pytest.mark.parametrize("speed", [1480.0, 1110.0, 740.0, 370.0])
def test_affinity_laws_without_static_head(speed: float) -> None:
    """Pure friction system curve: Q ~ r, H ~ r^2, hydraulic power ~ r^3 (within 0.1 %)."""
    rated = Pump({"no_flow_power_kw": 0.0}).run(1.0)
    pump = Pump({"no_flow_power_kw": 0.0})
    pump.write("speed_sp", speed)
    got = pump.run(60.0)
    r = speed / 1480.0
    assert got["speed"] == pytest.approx(speed)
    assert got["flow"] == pytest.approx(114.0 * r, rel=1e-3)
    assert got["head"] == pytest.approx(rated["head"] * r**2, rel=1e-3)
    assert got["power"] == pytest.approx(rated["power"] * r**3, rel=1e-3)
    assert rated["flow"] == pytest.approx(114.0)
    assert rated["head"] == pytest.approx(40.0)


def test_static_head_bends_the_flow_below_the_affinity_line() -> None:
    """Hs = 5 m of H0 = 50 m: Q / Qr = sqrt((r^2 H0 - Hs) / (H0 - Hs)), 3.2 % below the affinity
    line at 80 % speed and 10.4 % at 60 %; zero below r = sqrt(Hs / H0) = 0.316."""
    params = {"static_head_m": 5.0}
    flows = {}
    for speed in (1480.0, 1184.0, 888.0, 444.0):
        pump = Pump(params)
        pump.write("speed_sp", speed)
        flows[speed] = pump.run(60.0)["flow"]
    assert flows[1480.0] == pytest.approx(114.0)
    for speed, below in ((1184.0, 0.032), (888.0, 0.104)):
        affinity = 114.0 * speed / 1480.0
        assert flows[speed] == pytest.approx(affinity * (1.0 - below), rel=2e-3)
    assert flows[444.0] == 0.0


def test_the_drive_ramps_at_its_rate() -> None:
    pump = Pump({"ramp_rpm_s": 50.0})
    pump.write("speed_sp", 740.0)
    assert pump.run(5.0)["speed"] == pytest.approx(1480.0 - 250.0)
    assert pump.run(10.0)["speed"] == pytest.approx(740.0)


def test_arm_shut_stops_the_flow_but_not_the_pump() -> None:
    pump = Pump({"no_flow_power_kw": 3.0})
    pump.i["arm"] = np.zeros((1, 1))
    got = pump.run(1.0)
    assert got["flow"] == 0.0
    assert got["head"] == pytest.approx(50.0)  # shut-off head 1.25 x 40 m
    assert got["power"] == pytest.approx(3.0)
    pump.i["arm"] = np.full((1, 1), 50.0)
    assert pump.run(1.0)["flow"] == pytest.approx(57.0)


def test_stop_trip_and_reset() -> None:
    pump = Pump({"ramp_rpm_s": 100.0})
    pump.write("run_cmd", 0.0)
    got = pump.run(20.0)
    assert got["status"] == 0.0
    assert got["speed"] == 0.0
    assert got["flow"] == 0.0
    pump.write("run_cmd", 1.0)
    assert pump.run(20.0)["flow"] == pytest.approx(114.0)
    pump.i["trip"] = np.ones((1, 1))
    got = pump.run(20.0)
    assert got["status"] == 2.0
    assert got["speed"] == 0.0
    pump.i["trip"] = np.zeros((1, 1))
    assert pump.run(5.0)["status"] == 2.0  # latched
    pump.write("reset", 1.0)
    got = pump.run(20.0)
    assert got["status"] == 1.0
    assert got["flow"] == pytest.approx(114.0)


def test_not_running_at_start() -> None:
    got = Pump({}, {"running": 0.0}).run(1.0)
    assert got["status"] == 0.0
    assert got["speed"] == 0.0
    assert got["flow"] == 0.0


def _w(target: str, value: float) -> Command:
    return Command(kind=CommandKind.WRITE, target=target, value=value)


def test_farm_loading_flow_follows_the_pump_speed() -> None:
    """LS-1 open, LP-1 at 1480 then 740 rpm: T-01 draws 114 then 57 m3/h (level drop per hour)."""
    farm = PlantEngine(load_plant(FARM), dt=10.0, seed=1)
    c = farm.column
    s, _ = farm.step(farm.initial_state(), [_w("LS-1.open", 1.0)])
    s, _ = farm.run(s, 5)
    assert s.truth[0, c["LP-1.flow"]] == pytest.approx(114.0)
    assert s.truth[0, c["LP-1.power"]] > 15.0
    level0 = s.truth[0, c["T-01.level_m"]]
    s, _ = farm.run(s, 360)
    full = level0 - s.truth[0, c["T-01.level_m"]]
    s, _ = farm.step(s, [_w("LP-1.speed_sp", 740.0)])
    s, _ = farm.run(s, 5)
    assert s.truth[0, c["LP-1.flow"]] == pytest.approx(57.0)
    level1 = s.truth[0, c["T-01.level_m"]]
    s, _ = farm.run(s, 360)
    half = level1 - s.truth[0, c["T-01.level_m"]]
    assert half == pytest.approx(full / 2.0, rel=0.02)
    assert s.truth[0, c["LP-2.flow"]] == 0.0  # LS-2 stays shut
