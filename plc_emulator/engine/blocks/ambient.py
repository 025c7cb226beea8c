"""Ambient air and seawater: diurnal cosine peaking at 14:00, seasonal cosine, AR(1) weather."""

from __future__ import annotations

import math

import numpy as np

from plc_emulator.engine.blocks._build import num, out, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

SPEC = BlockSpec(
    kind="ambient",
    category=BlockCategory.ENVIRONMENT,
    summary="Air and seawater temperature: diurnal + seasonal + AR(1) weather.",
    params=(
        num("air_mean_c", "°C", 12.0, -60.0, 60.0, "annual mean air temperature"),
        num("air_diurnal_c", "K", 1.5, 0.0, 30.0, "diurnal amplitude (peak 14:00)"),
        num("air_seasonal_c", "K", 5.0, 0.0, 40.0, "seasonal amplitude (peak day 220)"),
        num("sea_mean_c", "°C", 11.0, -2.0, 40.0, "annual mean seawater temperature"),
        num("sea_diurnal_c", "K", 0.3, 0.0, 10.0, "seawater diurnal amplitude"),
        num("sea_seasonal_c", "K", 3.0, 0.0, 20.0, "seawater seasonal amplitude"),
        num("weather_tau_h", "h", 12.0, 0.01, 10000.0, "AR(1) weather correlation time"),
        num("weather_sigma_c", "K", 0.7, 0.0, 20.0, "air weather standard deviation"),
        num("sea_weather_sigma_c", "K", 0.2, 0.0, 10.0, "seawater weather standard deviation"),
    ),
    states=(
        state("w_air", "K", "air weather deviation"),
        state("w_sea", "K", "seawater weather deviation"),
    ),
    ports=(
        out("air", Quantity.TEMPERATURE, "air temperature"),
        out("sea", Quantity.TEMPERATURE, "seawater supply temperature"),
    ),
    signals=(
        shown("air_temperature", "°C", (-20, 50), "air temperature"),
        shown("sea_temperature", "°C", (0, 40), "seawater supply temperature"),
    ),
)


def _temps(p: Arrays, s: Arrays, ctx: Context) -> tuple[F64, F64]:
    hour = (ctx.t % 86400.0) / 3600.0
    doy = (ctx.t / 86400.0) % 365.2425
    diurnal = math.cos(2.0 * math.pi * (hour - 14.0) / 24.0)
    season = math.cos(2.0 * math.pi * (doy - 220.0) / 365.2425)
    air = p["air_mean_c"] + p["air_seasonal_c"] * season + p["air_diurnal_c"] * diurnal + s["w_air"]
    sea = p["sea_mean_c"] + p["sea_seasonal_c"] * season + p["sea_diurnal_c"] * diurnal + s["w_sea"]
    return air, sea


def _out(p: Arrays, s: Arrays, ctx: Context) -> dict[str, F64]:
    air, sea = _temps(p, s, ctx)
    return {"air": air, "sea": sea}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    phi = np.exp(-ctx.dt / (p["weather_tau_h"] * 3600.0))
    innov = np.sqrt(np.maximum(1.0 - phi * phi, 0.0))
    shape = s["w_air"].shape
    return {"w_air": phi * s["w_air"] + innov * p["weather_sigma_c"] * ctx.normal(0, shape),
            "w_sea": phi * s["w_sea"] + innov * p["sea_weather_sigma_c"] * ctx.normal(1, shape)}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    return {"air_temperature": i["air"], "sea_temperature": i["sea"]}


KERNEL = Kernel(out=_out, update=_update, signals=_signals)
