"""Per-plant constants derived once from :class:`PlantParams`: valve sizing and loop vectors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from plc_emulator.engine import _physics as ph
from plc_emulator.engine.catalogue import LOOPS
from plc_emulator.engine.params import LoopParams, PlantParams, ValveParams, VesselParams
from plc_emulator.engine.types import F64

LOOP_NAMES = tuple(name for name, *_ in LOOPS)
L_LIC100, L_PIC100, L_LIC200, L_PIC200, L_LIC300, L_LIC301, L_PIC300, L_TIC100 = range(8)

MEASURED = (
    "V100.pressure",
    "V100.temperature",
    "V100.oil_level",
    "V200.pressure",
    "V200.temperature",
    "V200.gas_flow",
    "V300.pressure",
    "V300.water_level",
    "P100.discharge_pressure",
    "P100.vibration",
    "P100.oil_flow",
    "E100.outlet_temperature",
)
# extended transmitter vector: the 12 field instruments + V200 level + V300 oil level (internal)
PV_SOURCE = np.array([2, 0, 12, 3, 13, 7, 6, 11], dtype=np.intp)
Z_FACTOR = np.array([0.90, 0.95, 0.98])
OIL_RHO = 850.0
WATER_RHO = 1025.0


def vessel_volume(v: VesselParams) -> float:
    return math.pi * (v.diameter_m / 2.0) ** 2 * v.length_m


@dataclass(frozen=True, slots=True)
class Design:
    """Constants of one flowsheet, shared by every plant of the batch."""

    vol: F64  # (3,) vessel volumes m3
    diam: F64  # (3,)
    header: F64  # (3,) gas header pressures psig
    cv: F64  # (8,) valve Cv
    equal: F64  # (8,) 1 = equal-%
    rangeability: F64
    tau_v: F64
    stiction_s: F64
    stiction_j: F64
    pv_lo: F64  # (8,) PV range, EU
    pv_span: F64
    action: F64  # (8,) -1 direct (all loops of this train open on a rising PV)
    boot_cap: float  # V100 water-boot dump capacity, m3/s per sqrt(psi) at 100 %
    q_oil_design: float  # m3/s
    rs_ref_scf_bbl: float  # solution GOR at V100 design pressure
    pump_dp0: float  # shut-off differential at rated speed, psi
    pump_a: float  # psi/(m3/s)^2
    line_k: float  # psi/(m3/s)^2
    meas_lo: F64  # (14,)
    meas_span: F64
    sigma: F64  # (14,) noise std, EU
    quantum: F64  # (14,)


def _loop_arrays(valves: list[ValveParams]) -> tuple[F64, F64, F64, F64, F64]:
    return (
        np.array([1.0 if v.characteristic == "equal" else 0.0 for v in valves]),
        np.array([v.rangeability for v in valves]),
        np.array([v.tau_s for v in valves]),
        np.array([v.stiction_s for v in valves]),
        np.array([v.stiction_j for v in valves]),
    )


def _f(v: ValveParams) -> float:
    x = v.design_opening_pct / 100.0
    if v.characteristic == "equal":
        return float(v.rangeability ** (x - 1.0) - (1.0 - x) / v.rangeability)
    return x


def loop_params(p: PlantParams) -> list[LoopParams]:
    return [getattr(p.loops, n) for n in LOOP_NAMES]


def build_design(p: PlantParams) -> Design:
    valves = [getattr(p.valves, n) for n in LOOP_NAMES]
    vessels = (p.v100, p.v200, p.v300)
    w = p.well
    q_oil = w.oil_rate_bpd * ph.BBL_M3 / ph.DAY_S
    q_water = q_oil * w.water_cut_initial / (1.0 - w.water_cut_initial)
    wio = p.v100.water_in_oil
    q_l1 = q_oil / (1.0 - wio)
    q_boot = max(q_water - q_l1 * wio, 1e-6)
    p1, p2, p3 = (v.initial_pressure_psig for v in vessels)
    rs_ref = 0.2 * w.gor_scf_per_bbl
    bpd = w.oil_rate_bpd

    def rs(pp: float) -> float:
        return float(rs_ref * ((pp + ph.ATM_PSI) / (p1 + ph.ATM_PSI)) ** 1.2)

    def head(v: VesselParams, rho: float, frac: float) -> float:
        return rho * ph.G * v.diameter_m * frac * ph.PSI_PER_PA

    t_r = float(ph.celsius_to_rankine(np.array(w.temperature_c)))
    gas = [
        bpd * (w.gor_scf_per_bbl - rs(p1)) / ph.DAY_S,
        bpd * (rs(p1) - rs(p2)) / ph.DAY_S,
        bpd * (rs(p2) - rs(p3)) / ph.DAY_S,
    ]
    sg_l1 = (OIL_RHO * (1 - wio) + WATER_RHO * wio) / 1000.0

    # Cv for the design flow at the design opening
    def liq_cv(q: float, dp: float, sg: float, v: ValveParams) -> float:
        return q / ph.GPM_TO_M3S / math.sqrt(max(dp, 1.0) / sg) / _f(v)

    def gas_cv(q: float, pu: float, pd: float, v: ValveParams) -> float:
        one = float(ph.gas_flow(np.array(1.0), np.array(pu), pd, np.array(t_r)))
        return q / one / _f(v)

    pump = p.pump
    q_rated = pump.rated_flow_bpd * ph.BBL_M3 / ph.DAY_S
    p_suc = p3 + pump.suction_static_psi + head(p.v300, OIL_RHO, p.v300.initial_level_pct / 100.0)
    p_dis = p_suc + pump.rated_dp_psi
    p_line = pump.export_static_psig + pump.export_line_dp_psi
    auto = [
        liq_cv(q_l1, p1 + head(p.v100, OIL_RHO, 0.5) - p2, sg_l1, valves[L_LIC100]),
        gas_cv(gas[0], p1, p.v100.gas_header_psig, valves[L_PIC100]),
        liq_cv(q_l1, p2 + head(p.v200, OIL_RHO, 0.5) - p3, sg_l1, valves[L_LIC200]),
        gas_cv(gas[1], p2, p.v200.gas_header_psig, valves[L_PIC200]),
        liq_cv(q_oil, p_dis - p_line, pump.oil_sg, valves[L_LIC300]),
        liq_cv(q_l1 * wio, p3 + head(p.v300, WATER_RHO, 0.3), 1.025, valves[L_LIC301]),
        gas_cv(gas[2], p3, p.v300.gas_header_psig, valves[L_PIC300]),
        0.0,  # TIC100: the seawater valve has no Cv, its flow is seawater_max_kg_s * f(x)
    ]
    cv = np.array([v.cv if v.cv > 0 else a for v, a in zip(valves, auto, strict=True)])
    equal, rng_, tau, s_, j_ = _loop_arrays(valves)
    lo = np.array([rng[0] for _, _, _, rng, _ in LOOPS], dtype=np.float64)
    hi = np.array([rng[1] for _, _, _, rng, _ in LOOPS], dtype=np.float64)
    from plc_emulator.engine.catalogue import CATALOGUE, index_of

    m_lo = [CATALOGUE[index_of(n)].range[0] for n in MEASURED] + [0.0, 0.0]
    m_hi = [CATALOGUE[index_of(n)].range[1] for n in MEASURED] + [100.0, 100.0]
    m_lo_a = np.array(m_lo, dtype=np.float64)
    m_span = np.array(m_hi, dtype=np.float64) - m_lo_a
    inst = p.instruments
    return Design(
        vol=np.array([vessel_volume(v) for v in vessels]),
        diam=np.array([v.diameter_m for v in vessels]),
        header=np.array([v.gas_header_psig for v in vessels]),
        cv=cv,
        equal=equal,
        rangeability=rng_,
        tau_v=tau,
        stiction_s=s_,
        stiction_j=j_,
        pv_lo=lo,
        pv_span=hi - lo,
        action=-np.ones(8),
        boot_cap=2.0 * q_boot / math.sqrt(max(p1 + head(p.v100, WATER_RHO, 0.25) - 0.0, 1.0)),
        q_oil_design=q_oil,
        rs_ref_scf_bbl=rs_ref,
        pump_dp0=pump.shutoff_ratio * pump.rated_dp_psi,
        pump_a=(pump.shutoff_ratio - 1.0) * pump.rated_dp_psi / q_rated**2,
        line_k=pump.export_line_dp_psi / q_rated**2,
        meas_lo=m_lo_a,
        meas_span=m_span,
        sigma=inst.accuracy_pct / 200.0 * m_span,
        quantum=m_span / (2.0**inst.bits - 1.0),
    )
