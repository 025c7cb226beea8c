"""Each required behaviour detected by a test that could fail (issue #2)."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import curve_fit

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine import Engine, params_from_mapping
from plc_emulator.engine import _physics as ph
from plc_emulator.engine import status as st
from plc_emulator.engine.catalogue import index_of
from plc_emulator.engine.types import F64

QUIET = {"slugs": {"hydrodynamic": False, "severe_rate_per_day": 0.0}, "well": {"gas_drift_sigma": 0.0}}


def _trace(
    eng: Engine,
    ticks: int,
    every: int,
    names: tuple[str, ...],
    schedule: dict[int, list[Command]] | None = None,
    *,
    truth: bool = True,
) -> F64:
    s = eng.initial_state()
    rows = []
    sched = schedule or {}
    for _ in range(ticks // every):
        sub = {k: v for k, v in sched.items() if s.tick < k <= s.tick + every}
        s, _ = eng.run(s, every, sub)
        out = eng.outputs(s)
        arr = out.truth if truth else out.values
        rows.append([arr[0, index_of(n)] for n in names])
    return np.array(rows)


class TestDecline:
    def test_arps_fit_recovers_di(self) -> None:
        """One simulated day at decline_time_factor 3652.5 covers ten field years; fitting the Arps
        hyperbola to well.oil_rate recovers the configured Di (0.2/yr) within 10 %. The water cut is
        held (growth 0) so ten years of water do not flood the train into an LSHH trip."""
        eng = Engine(
            params_from_mapping({**QUIET, "well": {"decline_time_factor": 3652.5, "water_cut_growth_per_mmbbl": 0.0}}),
            dt=60.0,
            seed=2,
        )
        rate = _trace(eng, 1440, 10, ("well.oil_rate", "ESD.active"))
        t_years = np.arange(1, len(rate) + 1) * 600.0 * 3652.5 / ph.YEAR_S

        def arps(t: F64, qi: float, di: float, b: float) -> F64:
            out: F64 = qi / np.power(1.0 + b * di * t, 1.0 / b)
            return out

        (_qi, di, b), _ = curve_fit(
            arps, t_years, rate[:, 0], p0=(15000.0, 0.5, 0.8), bounds=([1.0, 1e-3, 0.05], [1e6, 5.0, 0.99])
        )
        assert abs(di - 0.2) / 0.2 < 0.10, di
        assert abs(b - 0.5) < 0.1
        assert rate[-1, 0] < 0.5 * rate[0, 0]
        assert not rate[:, 1].any()

    def test_water_cut_rises_with_cumulative(self) -> None:
        """Default factor (one simulated week = one field year): the water cut rises monotonically."""
        eng = Engine(params_from_mapping(QUIET), dt=60.0, seed=2)
        wc = _trace(eng, 7 * 1440, 60, ("well.water_cut",))[:, 0]
        assert np.all(np.diff(wc) >= 0)
        assert wc[-1] > wc[0] + 5.0


class TestVibration:
    def test_exponential_growth_and_iso_zones_in_order(self) -> None:
        """After a forced onset (beta 8/day) the overall RMS fits phi + theta exp(beta t) and crosses
        the ISO 10816-3 group 1 rigid boundaries 2.3, 4.5, 7.1 mm/s in that order; the bearing tone
        grows before the overall value leaves zone A; a 'failure' event marks zone D."""
        eng = Engine(params_from_mapping(QUIET), dt=10.0, seed=4)
        onset = 6
        cmd = Command(kind=CommandKind.START_DEGRADATION, target="P100", params={"beta_per_day": 8.0})
        s = eng.initial_state()
        s, ev0 = eng.run(s, onset, {onset: [cmd]})
        assert [e.kind for e in ev0] == ["degradation_onset"]
        rows, events = [], []
        for _ in range(0, 8640 // 2, 6):
            s, ev = eng.run(s, 6)
            events += ev
            out = eng.outputs(s)
            rows.append(
                [
                    s.tick * 10.0,
                    out.truth[0, index_of("P100.vibration")],
                    out.truth[0, index_of("P100.vib_bearing")],
                    out.truth[0, index_of("P100.vib_1x")],
                ]
            )
        r = np.array(rows)
        t = (r[:, 0] - onset * 10.0) / 86400.0
        v = r[:, 1]
        crossings = [float(t[np.argmax(v > z)]) for z in (2.3, 4.5, 7.1)]
        assert all(v.max() > z for z in (2.3, 4.5, 7.1))
        assert crossings[0] < crossings[1] < crossings[2]

        def model(tt: F64, phi: float, theta: float, beta: float) -> F64:
            out: F64 = phi + theta * np.exp(beta * tt)
            return out

        (phi, theta, beta), _ = curve_fit(model, t, v, p0=(1.0, 0.2, 5.0))
        resid = v - model(t, phi, theta, beta)
        r2 = 1.0 - resid.var() / v.var()
        assert r2 > 0.98, r2
        assert abs(beta - 8.0) / 8.0 < 0.15, beta
        # bearing tone first: it has doubled before the overall RMS grew by 10 %
        b0, v0 = r[0, 2], r[0, 1]
        t_bear = t[np.argmax(r[:, 2] > 2 * b0)]
        t_over = t[np.argmax(v > 1.1 * v0)]
        assert t_bear < t_over
        assert [e.kind for e in events].count("failure") == 1

    def test_harmonic_components_beat(self) -> None:
        """1x amplitude is modulated (beating), vane-pass is steady, overall stays in zone A healthy."""
        eng = Engine(params_from_mapping(QUIET), dt=1.0, seed=4)
        r = _trace(eng, 200, 1, ("P100.vib_1x", "P100.vib_vane", "P100.vibration"))
        assert r[:, 0].max() - r[:, 0].min() > 0.15
        assert r[:, 1].max() - r[:, 1].min() < 1e-12
        assert r[:, 2].min() > 0.7
        assert r[:, 2].max() < 2.3


class TestSensorFaults:
    def _run(self, kind: str, params: dict[str, float | str] | None = None, ticks: int = 600) -> tuple[F64, F64, F64]:
        eng = Engine(dt=1.0, seed=8)
        target = "V100.oil_level"
        cmd = Command(kind=CommandKind.INJECT_FAULT, target=target, params={"kind": kind, **(params or {})})
        s = eng.initial_state()
        s, _ = eng.run(s, 60)
        vals, sts, tru = [], [], []
        for k in range(ticks):
            s, _ = eng.step(s, [cmd] if k == 0 else [])
            out = eng.outputs(s)
            vals.append(out.values[0, index_of(target)])
            sts.append(out.status[0, index_of(target)])
            tru.append(out.truth[0, index_of(target)])
        return np.array(vals), np.array(sts), np.array(tru)

    def test_freeze_is_exactly_flat_with_good_quality(self) -> None:
        vals, sts, tru = self._run("freeze")
        assert np.all(vals == vals[0])
        assert np.all(sts == st.GOOD)
        assert tru.max() - tru.min() > 0.05  # the process keeps moving underneath

    def test_comm_loss_goes_uncertain_then_bad(self) -> None:
        vals, sts, _ = self._run("comm_loss", {"timeout": 30.0}, ticks=60)
        assert np.all(vals == vals[0])
        assert sts[0] == st.UNCERTAIN_NO_COMM_LAST_USABLE
        assert sts[28] == st.UNCERTAIN_NO_COMM_LAST_USABLE
        assert np.all(sts[31:] == st.BAD_NO_COMMUNICATION)

    def test_fail_reports_bad_sensor_failure(self) -> None:
        vals, sts, _ = self._run("fail", ticks=5)
        assert np.all(sts == st.BAD_SENSOR_FAILURE)
        assert np.all(vals < 0.0)  # NE 43 failure band below 4 mA

    def test_drift_and_bias_shift_the_reading(self) -> None:
        vals, sts, tru = self._run("drift", {"rate": 0.01}, ticks=300)
        err = vals - tru
        assert abs(err[-1] - 3.0) < 0.3
        assert np.all(sts == st.GOOD)
        vals, _, tru = self._run("bias", {"offset": 2.0}, ticks=50)
        assert abs(float(np.mean(vals - tru)) - 2.0) < 0.1

    def test_out_of_range_is_clamped_with_limit_bits(self) -> None:
        """A reading beyond the EU range saturates (NE 43 20.5 mA) with EU-exceeded + high limit bits."""
        vals, sts, _ = self._run("bias", {"offset": 150.0}, ticks=5)
        assert np.all(vals == 100.0 + 3.125)
        assert np.all(sts == (st.UNCERTAIN_EU_EXCEEDED | st.LIMIT_HIGH))

    def test_clear_fault_restores_the_live_reading(self) -> None:
        eng = Engine(dt=1.0, seed=8)
        s = eng.initial_state()
        s, ev = eng.run(
            s,
            200,
            {
                10: [Command(kind=CommandKind.INJECT_FAULT, target="V100.pressure", params={"kind": "freeze"})],
                100: [Command(kind=CommandKind.CLEAR_FAULT, target="*")],
            },
        )
        assert [e.kind for e in ev] == ["fault_start", "fault_end"]
        assert abs(s.arrays["meas"][0, 0] - s.arrays["truth"][0, 0]) < 5.0


class TestSlug:
    def test_forced_slug_raises_level_by_geometry(self) -> None:
        """15 m3 into SEP-V100 (D 3 m, L 12 m, from 50 %) with LIC100 in manual: the level rise equals
        the horizontal-cylinder inverse of (V(50 %) + 15 m3) within 10 % (the twin run without the
        slug removes the background). A dry well (water cut 1 %) keeps the water boot's interface
        controller from dumping part of the slug."""
        vol = 15.0
        man = Command(kind=CommandKind.WRITE, target="LIC100.mode", value=0.0)
        slug = Command(kind=CommandKind.FORCE_SLUG, target="well", params={"volume_m3": vol, "duration_s": 60.0})
        eng = Engine(params_from_mapping({**QUIET, "well": {"water_cut_initial": 0.01}}), dt=1.0, seed=5)
        base = _trace(eng, 300, 300, ("V100.oil_level",), {1: [man]})[-1, 0]
        hit = _trace(eng, 300, 300, ("V100.oil_level",), {1: [man, slug]})[-1, 0]
        v_total = math.pi * 1.5**2 * 12.0
        h0 = base / 100.0
        v0 = float(ph.volume_fraction(np.array(h0))) * v_total
        expected = 100.0 * float(ph.level_fraction(np.array((v0 + vol) / v_total))) - base
        assert expected > 10.0
        assert abs((hit - base) - expected) / expected < 0.10, (hit - base, expected)


def _ccf_zero_ratio(op: F64, pv: F64, smooth: int = 6) -> float:
    """|r(0)| / max|r(lag)| of the cross-correlation of OP and the PV's rate of change (Horch's test
    for integrating loops): near 1 (even) for a linear oscillation, well below 1 (odd) for stiction."""
    k = np.ones(smooth) / smooth
    pv_s = np.convolve(pv, k, "valid")
    op_s = np.convolve(op, k, "valid")[1:]
    dpv = np.diff(pv_s)
    a, b = op_s - op_s.mean(), dpv - dpv.mean()
    n = len(a)
    lags = range(-n // 4, n // 4)
    c = np.array([np.sum(a[max(0, -lg) : n - max(0, lg)] * b[max(0, lg) : n - max(0, -lg)]) for lg in lags])
    return float(abs(c[n // 4]) / np.abs(c).max())


class TestStiction:
    """LIC300 (integrating level loop): stick-slip limit cycle vs aggressive tuning, told apart by shape."""

    def _cycle(self, cmds: list[Command]) -> tuple[F64, F64]:
        eng = Engine(params_from_mapping(QUIET), dt=2.0, seed=1)
        r = _trace(eng, 3 * 1800, 3, ("LIC300.pv", "LIC300.out"), {300: cmds}, truth=False)
        return r[600:, 1], r[600:, 0]  # after the first hour (rows every 6 s)

    def test_stiction_is_odd_tuning_is_even(self) -> None:
        sticky = [
            Command(
                kind=CommandKind.INJECT_FAULT, target="LIC300.valve", params={"kind": "stiction", "S": 8.0, "J": 4.0}
            ),
            Command(kind=CommandKind.WRITE, target="LIC300.kc", value=1.0),
        ]
        tuned = [
            Command(
                kind=CommandKind.INJECT_FAULT, target="LIC300.valve", params={"kind": "stiction", "S": 0.0, "J": 0.0}
            ),
            Command(kind=CommandKind.WRITE, target="LIC300.kc", value=0.3),
            Command(kind=CommandKind.WRITE, target="LIC300.ti", value=20.0),
            Command(kind=CommandKind.WRITE, target="LIC300.sp", value=55.0),
        ]
        op_s, pv_s = self._cycle(sticky)
        op_t, pv_t = self._cycle(tuned)
        assert np.ptp(pv_s) > 3.0
        assert np.ptp(pv_t) > 3.0
        # across seeds 1-3 stiction gives 0.56-0.84 and tuning 0.997
        assert _ccf_zero_ratio(op_s, pv_s) < 0.9  # stiction: odd cross-correlation
        assert _ccf_zero_ratio(op_t, pv_t) > 0.97  # tuning: even cross-correlation

    def test_stuck_valve_does_not_move(self) -> None:
        eng = Engine(dt=1.0, seed=1)
        stuck = Command(kind=CommandKind.INJECT_FAULT, target="LIC100.valve", params={"kind": "stuck"})
        r = _trace(eng, 600, 10, ("LIC100.valve", "LIC100.out"), {1: [stuck]})
        assert np.ptp(r[:, 0]) == 0.0
        assert np.ptp(r[:, 1]) > 0.1
