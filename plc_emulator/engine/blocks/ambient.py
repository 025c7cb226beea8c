"""Ambient air and seawater: diurnal cosine peaking at 14:00, seasonal cosine, AR(1) weather."""

from __future__ import annotations

from plc_emulator.engine.blocks._build import num, out, shown, state
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity

__all__ = ["SPEC"]

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
