"""Physical sanity over a simulated week of the healthy plant (issue #2, 'What must be true')."""

from __future__ import annotations

import numpy as np

from plc_emulator.engine import status as st
from plc_emulator.engine._design import MEASURED
from plc_emulator.engine.catalogue import CATALOGUE, index_of
from tests.engine.conftest import Week

INVENTORY = ("vo1", "vw1", "vo2", "vw2", "vo3", "vw3")


class TestWeek:
    def test_liquid_mass_balance_closes(self, healthy_week: Week) -> None:
        """In - out - change of holdup, over the week, is below 0.5 % of what came in (per plant)."""
        a0, a1 = healthy_week.first.arrays, healthy_week.last.arrays
        held = sum(a1[k] - a0[k] for k in INVENTORY)
        came_in = a1["cum_in"]
        went_out = a1["cum_out"]
        assert (came_in > 1000.0).all()  # a week of ~28,000 bbl/d liquid is ~30,000 m3
        assert (np.abs(came_in - went_out - held) / came_in < 0.005).all()

    def test_outflow_matches_inflow_over_the_week(self, healthy_week: Week) -> None:
        """Holdup does not silently absorb the stream: pump + water dumps carry > 98 % of the inflow."""
        a1 = healthy_week.last.arrays
        assert (a1["cum_out"] / a1["cum_in"] > 0.98).all()

    def test_no_nan_and_measured_values_in_range(self, healthy_week: Week) -> None:
        """No NaN anywhere; every field instrument stays inside its EU range with quality Good."""
        assert not np.isnan(healthy_week.values).any()
        assert not np.isnan(healthy_week.truth).any()
        for name in MEASURED:
            c = index_of(name)
            lo, hi = CATALOGUE[c].range
            v = healthy_week.values[:, :, c]
            assert v.min() >= lo, name
            assert v.max() <= hi, name
            assert (healthy_week.status[:, :, c] == st.GOOD).all(), name

    def test_loops_hold_setpoints(self, healthy_week: Week) -> None:
        """Bands from the domain notes, section 1.1: levels inside the L/H alarm limits (25/75 % around SP 50, i.e.
        +-25 %; the interface inside 15-50 %), pressures inside the normal operating windows (V100
        900-1100, V200 150-250, V300 30-75 psig), crude cooler outlet inside 35-50 degC. Averaging
        level control is allowed to swing; it must not leave those windows in a healthy week."""
        bands = {
            "LIC100.pv": (25, 75),
            "LIC200.pv": (25, 75),
            "LIC300.pv": (25, 75),
            "LIC301.pv": (15, 50),
            "PIC100.pv": (900, 1100),
            "PIC200.pv": (150, 250),
            "PIC300.pv": (30, 75),
            "TIC100.pv": (35, 50),
        }
        warm = healthy_week.t > 3600  # after the first hour
        for plant in (0, 1):
            for name, (lo, hi) in bands.items():
                x = healthy_week.col(name, plant=plant)[warm]
                assert lo <= x.min(), (name, plant, x.min())
                assert x.max() <= hi, (name, plant, x.max())
            for name in ("LIC100", "PIC100", "PIC300", "TIC100"):
                pv = healthy_week.col(f"{name}.pv", plant=plant)[warm]
                sp = healthy_week.col(f"{name}.sp", plant=plant)[warm]
                span = np.diff(CATALOGUE[index_of(f"{name}.pv")].range)[0]
                assert abs(float(np.mean(pv - sp))) < 0.01 * span, name  # integral action: no offset

    def test_temperature_has_a_24_hour_cycle(self, healthy_week: Week) -> None:
        """The FFT of the separator outlet temperature (detrended) peaks at 24 h."""
        for name in ("V100.temperature", "V200.temperature", "E100.seawater_temperature"):
            x = healthy_week.col(name)
            x = x - np.polyval(np.polyfit(healthy_week.t, x, 2), healthy_week.t)
            spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
            freqs = np.fft.rfftfreq(len(x), d=float(healthy_week.t[1] - healthy_week.t[0]))
            band = freqs > 1.0 / (3 * 86400)  # ignore the weather's slow wander beyond 3 days
            peak = freqs[band][np.argmax(spec[band])]
            assert abs(1.0 / peak / 3600.0 - 24.0) < 2.5, (name, 1.0 / peak / 3600.0)

    def test_diurnal_cycle_peaks_in_the_afternoon(self, healthy_week: Week) -> None:
        """Averaged over the week, air temperature is highest near 14:00 and lowest near 02:00."""
        hours = ((healthy_week.t + 1767225600.0) % 86400) / 3600
        air = healthy_week.col("ambient.air_temperature")
        by_hour = np.array([air[(hours >= h) & (hours < h + 1)].mean() for h in range(24)])
        assert abs(int(np.argmax(by_hour)) - 14) <= 2
