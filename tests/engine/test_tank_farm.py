"""Heated bitumen storage tank, hot-oil heater, on/off valve and the ``asphalt_tank_farm`` plant:
heat-up and cool-down rates of the worked default tank, stratification, loading, a heater trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.blocks import KERNELS, LIBRARY, Context, initial_state, resolve_params
from plc_emulator.engine.blocks.storage_tank import bitumen_viscosity
from plc_emulator.engine.plant import PlantEngine, load_plant
from plc_emulator.engine.types import F64

ROOT = Path(__file__).resolve().parents[2]
FARM = ROOT / "tag_maps" / "plants" / "asphalt_tank_farm.yaml"
MIXED = {"layers": 0.0}
LAYERED = {"layers": 1.0}


def _tank(params: dict[str, float], init: dict[str, float], inputs: dict[str, float], *, hours: float,
          dt: float = 60.0) -> dict[str, float]:
    """One storage tank (N = 1), oil 280 °C, coil valve 100 %, air 10 °C unless ``inputs`` says otherwise."""
    spec, kern = LIBRARY["storage_tank"], KERNELS["storage_tank"]
    p = {k: v[:, None] for k, v in resolve_params(spec.params, params, 1).items()}
    s = {k: v[:, None, ...] for k, v in
         initial_state(spec, resolve_params(spec.params, params, 1), resolve_params(spec.initial, init, 1), 1).items()}
    base = {"oil_supply": 280.0, "coil_valve": 100.0, "circulation": 1.0, "oil_flow_fraction": 100.0, "air": 10.0,
            "draw": 0.0, "receipt": 0.0}
    i: dict[str, F64] = {k: np.full((1, 1), v) for k, v in {**base, **inputs}.items()}
    rng = np.random.default_rng(0)
    ctx = Context(tick=0, dt=dt, t=0.0, sim_s=0.0, rng=rng)
    for k in range(round(hours * 3600.0 / dt)):
        ctx = Context(tick=k, dt=dt, t=0.0, sim_s=k * dt, rng=rng)
        s = {**s, **kern.update(p, s, i, ctx)}
    return {k: float(v[0, 0]) for k, v in kern.signals(p, s, i, ctx).items()}


def test_viscosity_line_of_the_default_grade() -> None:
    mu = bitumen_viscosity(np.array([100.0, 135.0, 160.0, 200.0]), np.array(10.98), np.array(-3.68))
    assert np.allclose(mu, [5.9, 0.51, 0.15, 0.037], rtol=0.1)


def test_heat_up_rate_of_the_worked_tank() -> None:
    """Full tank (11.5 m) at 160 °C, coil wide open on 280 °C oil: 0.24 K/h (5.8 K/day)."""
    end = _tank(MIXED, {}, {}, hours=24.0)
    assert abs((end["temperature"] - 160.0) / 24.0 - 0.24) < 0.2 * 0.24
    assert abs(end["coil_duty"] - 155.0) < 0.2 * 155.0  # kW, eps 0.23
    assert abs(end["oil_return_temperature"] - 253.0) < 5.0


def test_heat_up_rate_of_a_shallow_tank() -> None:
    """1.5 m of product heats at ~2.3 K/h."""
    end = _tank(MIXED, {"level_m": 1.5}, {}, hours=2.0, dt=10.0)
    assert abs((end["temperature"] - 160.0) / 2.0 - 2.3) < 0.2 * 2.3


def test_cool_down_rate_and_wind() -> None:
    """Heating off: 1.3 K/day (29 kW at 160 °C, air 10 °C); wind 0 -> 15 m/s adds only ~5 %."""
    end = _tank(MIXED, {"wind_m_s": 0.0}, {"coil_valve": 0.0}, hours=24.0, dt=600.0)
    assert abs((160.0 - end["temperature"]) - 1.3) < 0.2 * 1.3
    assert abs(end["heat_loss"] - 29.0) < 0.2 * 29.0
    windy = _tank(MIXED, {"wind_m_s": 15.0}, {"coil_valve": 0.0}, hours=1.0, dt=600.0)
    calm = _tank(MIXED, {"wind_m_s": 0.0}, {"coil_valve": 0.0}, hours=1.0, dt=600.0)
    assert 1.01 < windy["heat_loss"] / calm["heat_loss"] < 1.10


def test_hot_top_fill_stratifies_a_layered_tank_and_persists() -> None:
    """Loading from the bottom while a 180 °C receipt enters at the top: the top layer runs hot; a
    hotter upper layer only conducts, so the difference is still there a day later."""
    surge = {"draw": 114.0 / 3600.0, "receipt": 114.0 / 3600.0}
    end = _tank(LAYERED, {"receipt_c": 180.0}, {**surge, "coil_valve": 0.0}, hours=2.0, dt=10.0)
    assert end["temperature_top"] - end["temperature"] > 5.0
    mixed = _tank(MIXED, {"receipt_c": 180.0}, {**surge, "coil_valve": 0.0}, hours=2.0, dt=10.0)
    assert mixed["temperature_top"] == pytest.approx(mixed["temperature"])


@pytest.mark.parametrize("dt", [10.0, 600.0])
def test_loading_drops_the_level_at_the_rack_rate(dt: float) -> None:
    end = _tank(LAYERED, {}, {"draw": 114.0 / 3600.0}, hours=1.0, dt=dt)
    assert abs((11.5 - end["level_m"]) - 1.45) < 0.05


def _w(target: str, value: float) -> Command:
    return Command(kind=CommandKind.WRITE, target=target, value=value)


@pytest.fixture(scope="module")
def farm() -> PlantEngine:
    return PlantEngine(load_plant(FARM), dt=60.0, seed=1)


def test_farm_holds_temperatures_and_supply(farm: PlantEngine) -> None:
    s, _ = farm.run(farm.initial_state(), 360)
    c = farm.column
    assert abs(s.truth[0, c["H-1.supply_temperature"]] - 280.0) < 3.0
    for k in range(1, 11):
        assert abs(s.truth[0, c[f"T-{k:02d}.temperature"]] - 160.0) < 6.0


def test_loading_surge_with_a_hot_receipt_shows_stratification(farm: PlantEngine) -> None:
    c = farm.column
    s, _ = farm.run(farm.initial_state(), 60)
    before = s.truth[0, c["T-01.temperature_top"]] - s.truth[0, c["T-01.temperature"]]
    s, _ = farm.step(s, [_w("T-01.receipt_temperature", 185.0), _w("RCV-1.open", 1.0), _w("LS-1.open", 1.0),
                         _w("LS-2.open", 1.0)])
    s, _ = farm.run(s, 119)
    after = s.values[0, c["T-01.temperature_top"]] - s.values[0, c["T-01.temperature"]]
    assert after - before > 5.0  # the top thermometer (TT-01T) reads hotter than the thermowell
    assert abs((9.0 - s.truth[0, c["T-02.level_m"]]) - 2.0 * 1.45) < 0.15  # T-02 loaded for 2 h at 114 m3/h


def test_heater_trip_shows_in_the_alarm_signals(farm: PlantEngine) -> None:
    c = farm.column
    s, _ = farm.run(farm.initial_state(), 240)
    sup0 = s.values[0, c["H-1.supply_temperature"]]
    tank0 = s.truth[0, c["T-05.temperature"]]
    s, events = farm.step(s, [_w("H-1.trip", 1.0)])
    assert any(e.kind == "heater_trip" for e in events)
    s, _ = farm.run(s, 9)
    rate = (sup0 - s.values[0, c["H-1.supply_temperature"]]) / 10.0
    assert 0.5 < rate < 3.0  # K/min: the supply temperature falls while the tanks barely move
    assert s.truth[0, c["H-1.status"]] == 1.0
    assert s.truth[0, c["H-1.duty"]] == 0.0
    s, _ = farm.run(s, 110)
    assert s.values[0, c["H-1.supply_temperature"]] < 250.0  # below the supply L alarm
    assert abs(s.truth[0, c["T-05.temperature"]] - tank0) < 0.5


def test_half_circulation_speed_halves_the_coil_flows_and_cuts_the_pump_power_to_an_eighth(farm: PlantEngine) -> None:
    """The same state stepped at 100 % and at 50 % pump speed (the drive reaches 50 % within the 60 s
    tick): every coil's oil flow halves (friction-dominated loop, Q ~ n), the pump power goes n^3."""
    c = farm.column
    s, _ = farm.run(farm.initial_state(), 30)
    full, _ = farm.step(s, [])
    half, _ = farm.step(s, [_w("H-1.speed_sp", 50.0)])
    assert half.truth[0, c["H-1.speed"]] == 50.0
    assert full.truth[0, c["H-1.pump_power"]] == pytest.approx(22.0)
    assert half.truth[0, c["H-1.pump_power"]] == pytest.approx(22.0 / 8.0, rel=0.01)
    for k in range(1, 11):
        flow = full.truth[0, c[f"T-{k:02d}.oil_flow"]]
        assert flow > 0.5
        assert half.truth[0, c[f"T-{k:02d}.oil_flow"]] / flow == pytest.approx(0.5, rel=0.02)
    assert half.truth[0, c["H-1.flow"]] < 0.6 * full.truth[0, c["H-1.flow"]]  # the bypass follows the speed too


def test_circulation_pump_ramps_at_its_rate() -> None:
    """100 -> 50 % at the default 5 %/s takes (100 - 50) / 5 = 10 s, 5 % per 1 s tick."""
    eng = PlantEngine(load_plant(FARM), dt=1.0, seed=1)
    col = eng.column["H-1.speed"]
    s, _ = eng.step(eng.initial_state(), [_w("H-1.speed_sp", 50.0)])
    speeds = [float(s.truth[0, col])]
    for _ in range(11):
        s, _ = eng.step(s, [])
        speeds.append(float(s.truth[0, col]))
    assert speeds == pytest.approx([95.0 - 5.0 * k for k in range(10)] + [50.0, 50.0])
