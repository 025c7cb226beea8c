"""Well inflow: Arps decline, logistic water cut, GOR rise, hydrodynamic and severe slugging.

Rates: Arps hyperbolic q(t) = qi / (1 + b Di t)^(1/b) in field time (``decline_time_factor`` field
years per simulated year); water cut logistic in cumulative oil; slugs are Poisson arrivals at the
Gregory-Scott frequency, severe riser slugging runs in episodes of 2-5 cycles (build-up 60 %,
blow-out 15 %, gas blow-down 15 %, recovery 10 % of the period). The arriving liquid is smoothed by
the inlet device (first-order lag ``inlet_tau_s``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from plc_emulator.engine import _physics as ph
from plc_emulator.engine.blocks._build import flag, inp, num, out, shown, state
from plc_emulator.engine.blocks._kernel import Arrays, Bools, Context, Kernel
from plc_emulator.engine.blocks._spec import BlockCategory, BlockSpec, Quantity
from plc_emulator.engine.types import F64

__all__ = ["KERNEL", "SPEC"]

def _start(params: Mapping[str, F64], init: Mapping[str, F64], n: int) -> dict[str, F64]:
    """Steady state: the inlet lag already carries the design liquid rate."""
    wc = params["water_cut_initial"]
    return {"liq_in": params["oil_rate_bpd"] * ph.BBL_M3 / ph.DAY_S / (1.0 - wc)}


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
    start=_start,
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


def _decline(p: Arrays, ctx: Context) -> tuple[F64, F64, F64]:
    """Oil rate (bbl/day), water cut (fraction) and GOR (scf/bbl) at this tick's field time."""
    t = ctx.sim_s * p["decline_time_factor"] / ph.YEAR_S
    qi, di, b = p["oil_rate_bpd"], p["arps_di_per_year"], p["arps_b"]
    bs = np.maximum(b, 1e-6)
    q = np.where(b < 1e-6, qi * np.exp(-di * t), qi / np.power(1.0 + bs * di * t, 1.0 / bs))
    qy, qiy, dis = q * 365.25, qi * 365.25, np.maximum(di, 1e-12)
    cum = np.where(b < 1e-6, (qiy - qy) / dis,
                   np.where(np.abs(b - 1.0) < 1e-6, qiy / dis * np.log(qiy / np.maximum(qy, 1e-12)),
                            qiy / ((1.0 - np.where(np.abs(b - 1.0) < 1e-6, 0.5, b)) * dis)
                            * (1.0 - np.power(qy / qiy, 1.0 - b))))
    cum = np.where(di < 1e-12, qiy * t, cum) / 1e6
    wc0, wcm = p["water_cut_initial"], p["water_cut_max"]
    wc = wcm / (1.0 + (wcm / wc0 - 1.0) * np.exp(-p["water_cut_growth_per_mmbbl"] * cum))
    return q, wc, p["gor_scf_per_bbl"] * (1.0 + p["gor_rise_per_mmbbl"] * cum)


def _severe(s: Arrays) -> tuple[F64, F64, Bools]:
    """Liquid and gas multipliers of the severe-slugging cycle, and whether liquid is surging."""
    on = s["sev_left"] > 0.5
    frac = np.where(on, s["sev_phase"] / np.maximum(s["sev_period"], 1.0), 1.0)
    liq = np.where(frac < 0.6, 0.1, np.where(frac < 0.75, 5.1, np.where(frac < 0.9, 0.5, 1.0)))
    gas = np.where(frac < 0.6, 0.6, np.where(frac < 0.75, 0.5, np.where(frac < 0.9, 3.1, 1.0)))
    return np.where(on, liq, 1.0), np.where(on, gas, 1.0), on & (frac >= 0.6) & (frac < 0.75)


def _feed(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    q_bpd, wc, gor = _decline(p, ctx)
    ok = 1.0 - (i["shut_in"] > 0.5)
    _, gas_mult, _ = _severe(s)
    q_oil = q_bpd * ph.BBL_M3 / ph.DAY_S
    in_situ = (p["line_pressure_psig"] + ph.ATM_PSI) / ph.P_STD_PSIA * ph.T_STD_R / ph.celsius_to_rankine(
        p["temperature_c"]) / 0.9
    gas = np.maximum(q_oil * ok * gor / ph.BBL_M3 * (1.0 + s["gas_dev"]) * gas_mult
                     - s["hyd_lag"] * ph.FT3_PER_M3 * in_situ, 0.0)
    liq = s["liq_in"]
    return {"outlet": np.stack((liq * (1.0 - wc), liq * wc, gas, p["temperature_c"]), axis=-1),
            "_ok": ok, "_q_bpd": q_bpd, "_wc": wc, "_gor": gor}


def _slugs(p: Arrays, s: Arrays, i: Arrays, ctx: Context, u: list[F64]) -> tuple[F64, F64, dict[str, F64]]:
    """Hydrodynamic slugs (Poisson at the Gregory-Scott frequency): this tick's slug liquid rate,
    the share of the base flow that travels in slugs, and the new slug states."""
    dt, d = ctx.dt, p["line_diameter_m"]
    area = np.pi * d**2 / 4.0
    q_liq = i["_q_bpd"] * ph.BBL_M3 / ph.DAY_S / (1.0 - i["_wc"])
    gas_std = i["_q_bpd"] * np.maximum(i["_gor"] - 0.2 * p["gor_scf_per_bbl"], 0.0) / ph.DAY_S * 0.0283168
    u_sl = q_liq / area
    u_mix = u_sl + gas_std * (ph.ATM_PSI / (p["line_pressure_psig"] + ph.ATM_PSI)) * 1.15 / area
    f_s = np.where(p["hydrodynamic"] > 0.5, ph.gregory_scott(u_sl, u_mix, 1.0) * d ** -1.2, 0.0)
    mean_vol = 0.5 * (p["length_min_d"] + p["length_max_d"]) * d * area * 0.5 * (p["holdup_min"] + p["holdup_max"])
    share = np.minimum(f_s * mean_vol / np.maximum(q_liq, 1e-9), 0.8)
    free = (s["sev_left"] < 0.5) & (i["_ok"] > 0.5)
    start = free & (s["slug_t"] <= 0.0) & (u[0] < 1.0 - np.exp(-f_s * dt))
    length = (p["length_min_d"] + (p["length_max_d"] - p["length_min_d"]) * u[1]) * d
    vol = length * area * (p["holdup_min"] + (p["holdup_max"] - p["holdup_min"]) * u[2])
    dur = np.maximum(length / (1.2 * u_mix), dt)
    slug_q = np.where(start, vol / dur, s["slug_q"])
    slug_t = np.where(start, dur, s["slug_t"])
    q_slug = np.where((slug_t > 0.0) & free, slug_q, 0.0)
    return q_slug, share, {"slug_q": slug_q, "slug_t": slug_t - dt}


def _update(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    dt, ok = ctx.dt, i["_ok"]
    u = [ctx.uniform(k, ok.shape) for k in range(6)]
    z = ctx.normal(3, ok.shape)
    q_slug, share, new = _slugs(p, s, i, ctx, u)
    sev_on = s["sev_left"] > 0.5
    start = ((~sev_on & (u[3] < p["severe_rate_per_day"] * dt / 86400.0)) | (s["sev_force"] > 0.5)) & (ok > 0.5)
    ctx.event("severe_slug", start)
    cycles = np.floor(p["severe_cycles_min"] + (p["severe_cycles_max"] - p["severe_cycles_min"] + 1.0) * u[4])
    left = np.where(start, np.maximum(cycles, 1.0), s["sev_left"])
    period = np.where(start, p["severe_period_s"] * (0.8 + 0.4 * u[5]), s["sev_period"])
    phase = np.where(start, 0.0, s["sev_phase"])
    liq_mult, _, _ = _severe({"sev_left": left, "sev_phase": phase, "sev_period": period})
    on = left > 0.5
    phase = np.where(on, phase + dt, 0.0)
    done = on & (phase >= period)
    q_liq = i["_q_bpd"] * ph.BBL_M3 / ph.DAY_S / (1.0 - i["_wc"])
    base = q_liq * np.where(on, 1.0, 1.0 - share) * liq_mult
    forced = np.where((s["fslug_t"] > 0.0) & (ok > 0.5), s["fslug_q"], 0.0)
    lag = 1.0 - np.exp(-dt / p["inlet_tau_s"])
    hyd = (q_liq * (np.where(on, 1.0, 1.0 - share) - 1.0) + q_slug) * ok
    g_phi = np.exp(-dt / p["gas_drift_tau_s"])
    return {**new, "liq_in": s["liq_in"] + lag * ((base + q_slug) * ok + forced - s["liq_in"]),
            "hyd_lag": s["hyd_lag"] + lag * (hyd - s["hyd_lag"]),
            "gas_dev": g_phi * s["gas_dev"] + np.sqrt(1.0 - g_phi * g_phi) * p["gas_drift_sigma"] * z,
            "sev_left": np.where(done, left - 1.0, left), "sev_phase": np.where(done, 0.0, phase),
            "sev_period": period, "sev_force": np.zeros_like(ok), "fslug_t": s["fslug_t"] - dt}


def _signals(p: Arrays, s: Arrays, i: Arrays, ctx: Context) -> dict[str, F64]:
    _, _, surge = _severe(s)
    active = (s["slug_t"] > 0.0) | (s["fslug_t"] > 0.0) | surge
    return {"oil_rate": i["_q_bpd"] * i["_ok"], "water_cut": i["_wc"] * 100.0,
            "gas_rate": i["_q_bpd"] * i["_gor"] / 1e6 * i["_ok"] * (1.0 + s["gas_dev"]),
            "slug_active": active.astype(np.float64)}


KERNEL = Kernel(feed=_feed, update=_update, signals=_signals)
