"""The Catalogue type: one signal table per plant (the built-in engine's LEGACY, a plant file's)."""

from __future__ import annotations

import pytest

from plc_emulator.engine._design import MEASURED, PV_SOURCE
from plc_emulator.engine.catalogue import CATALOGUE, LEGACY, LOOPS, Catalogue, SignalKind, SignalSpec, index_of
from plc_emulator.engine.plant import PlantEngine, load_plant
from plc_emulator.engine.plant._catalogue import plant_catalogue
from tests.conftest import ROOT


def test_legacy_is_the_module_table() -> None:
    assert LEGACY.specs == CATALOGUE
    assert all(LEGACY.index_of(s.name) == index_of(s.name) for s in CATALOGUE)
    assert LEGACY.loop_ids == tuple(lp[0] for lp in LOOPS)
    # each loop's PV instrument is the one the built-in engine's controller reads
    want = {lp[0]: (MEASURED[int(i)] if int(i) < len(MEASURED) else None) for lp, i in zip(LOOPS, PV_SOURCE,
                                                                                            strict=True)}
    assert {lp.id: lp.pv for lp in LEGACY.loops} == want
    assert LEGACY.valves == tuple(f"{lp}.valve" for lp in LEGACY.loop_ids)


def test_index_of_with_did_you_mean_and_duplicates() -> None:
    with pytest.raises(KeyError, match=r'did you mean "V100\.pressure"'):
        LEGACY.index_of("V100.presure")
    spec = SignalSpec(name="a.b", unit="", kind=SignalKind.STATE)
    with pytest.raises(ValueError, match=r"duplicate signal name in the catalogue of x: a\.b"):
        Catalogue(name="x", specs=(spec, spec))


def test_plant_catalogue_follows_the_engine_columns() -> None:
    loaded = load_plant(ROOT / "tests" / "user_plants" / "twin_hp.yaml")
    cat = plant_catalogue(loaded)
    engine = PlantEngine(loaded, dt=1.0)
    assert cat.names == engine.names
    assert set(cat.measured) == {"HP-A.pressure", "HP-A.oil_level", "HP-B.pressure", "HP-B.oil_level",
                                 "LP.pressure", "LP.oil_level", "LP.water_level", "P-1.discharge_pressure",
                                 "P-1.vibration", "P-1.oil_flow", "E-1.outlet_temperature"}
    pic = next(lp for lp in cat.loops if lp.id == "PIC-A")
    assert (pic.pv, pic.unit, pic.range, pic.sp_limits) == ("HP-A.pressure", "PSI", (0.0, 1500.0), (600.0, 1200.0))
    assert cat.inputs["PIC-A.sp"].limits == (600.0, 1200.0)
    assert cat.action_targets == {"start_degradation": ("P-1",), "force_slug": ("well-A", "well-B"),
                                  "trip_pump": ("P-1",)}
    assert "PIC-A.valve" in cat.valves
