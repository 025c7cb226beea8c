"""Well inflow: Arps decline, logistic water cut, GOR rise, hydrodynamic and severe slugging.

Rates: Arps hyperbolic q(t) = qi / (1 + b Di t)^(1/b) in field time (``decline_time_factor`` field
years per simulated year); water cut logistic in cumulative oil; slugs are Poisson arrivals at the
Gregory-Scott frequency, severe riser slugging runs in episodes of 2-5 cycles (build-up 60 %,
blow-out 15 %, gas blow-down 15 %, recovery 10 % of the period). The arriving liquid is smoothed by
the inlet device (first-order lag ``inlet_tau_s``).
"""

from __future__ import annotations

from plc_emulator.engine.blocks._build import flag, inp, num, out, shown, state
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity

__all__ = ["SPEC"]

SPEC = BlockSpec(
    kind="well",
    category=BlockCategory.SOURCE,
    summary="Well stream: Arps decline, water cut, GOR rise, hydrodynamic and severe slugging.",
    params=(
        num("oil_rate_bpd", "bbl/day", 20000.0, 1.0, 500000.0, "initial oil rate q_i"),
        num("water_cut_initial", "fraction", 0.30, 0.0, 0.99, "water cut at start"),
        num("water_cut_max", "fraction", 0.90, 0.01, 0.999, "logistic ceiling of the water cut"),
        num("water_cut_growth_per_mmbbl", "1/MMbbl", 0.10, 0.0, 100.0, "logistic rate in cumulative oil"),
        num("gor_scf_per_bbl", "scf/bbl", 800.0, 1.0, 50000.0, "producing gas-oil ratio"),
        num("gor_rise_per_mmbbl", "1/MMbbl", 0.02, 0.0, 10.0, "fractional GOR rise per MMbbl"),
        num("arps_b", "", 0.5, 0.0, 2.0, "Arps hyperbolic exponent (0 = exponential)"),
        num("arps_di_per_year", "1/yr", 0.2, 0.0, 10.0, "nominal initial decline"),
        num("decline_time_factor", "", 52.18, 0.0, 10000.0, "field years per simulated year"),
        num("temperature_c", "°C", 75.0, -20.0, 250.0, "arrival temperature"),
        num("gas_drift_sigma", "fraction", 0.03, 0.0, 1.0, "std of the slow inlet-gas disturbance"),
        num("gas_drift_tau_s", "s", 3600.0, 1.0, 1e7, "its correlation time"),
        flag("hydrodynamic", True, "hydrodynamic (Poisson) slugs on"),
        num("line_diameter_m", "m", 0.3, 0.01, 3.0, "flowline inner diameter"),
        num("line_pressure_psig", "psig", 1050.0, 0.0, 15000.0, "flowline pressure (in-situ gas velocity)"),
        num("length_min_d", "diameters", 12.0, 1.0, 1000.0, "shortest slug"),
        num("length_max_d", "diameters", 30.0, 1.0, 1000.0, "longest slug"),
        num("holdup_min", "fraction", 0.7, 0.0, 1.0, "lowest liquid holdup in a slug body"),
        num("holdup_max", "fraction", 1.0, 0.0, 1.0, "highest liquid holdup in a slug body"),
        num("severe_rate_per_day", "1/day", 0.3, 0.0, 1000.0, "Poisson rate of severe-slugging episodes"),
        num("severe_cycles_min", "", 2, 1, 100, "fewest cycles per episode", integer=True),
        num("severe_cycles_max", "", 5, 1, 100, "most cycles per episode", integer=True),
        num("severe_period_s", "s", 600.0, 10.0, 86400.0, "cycle period T0 (each cycle T0 x U(0.8, 1.2))"),
        num("forced_volume_m3", "m3", 15.0, 0.0, 1000.0, "volume of a forced slug without volume_m3"),
        num("forced_duration_s", "s", 60.0, 0.001, 86400.0, "duration of a forced slug"),
        num("inlet_tau_s", "s", 20.0, 0.001, 3600.0, "inlet device smoothing of the arriving liquid"),
    ),
    steady=True,
    states=(
        state("liq_in", "m3/s", "smoothed liquid arriving at the outlet"),
        state("hyd_lag", "m3/s", "smoothed gas displacement by slugs"),
        state("gas_dev", "fraction", "AR(1) inlet-gas disturbance"),
        state("slug_t", "s", "time left of the current hydrodynamic slug"),
        state("slug_q", "m3/s", "its liquid rate"),
        state("fslug_t", "s", "time left of a forced slug"),
        state("fslug_q", "m3/s", "its liquid rate"),
        state("sev_left", "cycles", "severe-slugging cycles left in the episode"),
        state("sev_phase", "s", "time into the current cycle"),
        state("sev_period", "s", "period of the current cycle"),
        state("sev_force", "0/1", "a forced severe episode starts next tick"),
    ),
    ports=(
        inp("shut_in", Quantity.FLAG, "1 = inflow stopped (ESD)", optional=True),
        out("outlet", Quantity.STREAM, "the well stream", depends=("shut_in",)),
    ),
    signals=(
        shown("oil_rate", "bbl/day", (0, 40000), "oil rate"),
        shown("water_cut", "%", (0, 100), "water cut"),
        shown("gas_rate", "MMSCFD", (0, 60), "gas rate"),
        shown("slug_active", "", (0, 1), "a slug is arriving", states=("NO", "YES")),
    ),
)
