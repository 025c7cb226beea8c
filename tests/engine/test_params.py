"""params_from_mapping: defaults, overrides and every problem reported at once."""

from __future__ import annotations

import pytest

from plc_emulator.engine import ParamError, PlantParams, params_from_mapping


class TestParams:
    def test_empty_mapping_gives_defaults(self) -> None:
        assert params_from_mapping({}) == PlantParams()
        assert params_from_mapping(None) == PlantParams()

    def test_override_nested_value(self) -> None:
        p = params_from_mapping({"well": {"oil_rate_bpd": 18000}, "valves": {"PIC200": {"stiction_s": 4}}})
        assert p.well.oil_rate_bpd == 18000.0
        assert p.valves.PIC200.stiction_s == 4.0
        assert p.valves.PIC100 == PlantParams().valves.PIC100

    def test_all_problems_reported_with_paths(self) -> None:
        with pytest.raises(ParamError) as exc:
            params_from_mapping(
                {
                    "well": {"oil_rate_bpd": -5, "oil_rat": 1},
                    "valves": {"LIC100": {"characteristic": "quick"}},
                    "nope": 1,
                }
            )
        problems = dict(exc.value.problems)
        assert problems["well.oil_rate_bpd"] == "must be > 0 (got -5)"
        assert "valid keys are oil_rate_bpd" in problems["well.oil_rat"]
        assert "equal, linear" in problems["valves.LIC100.characteristic"]
        assert "nope" in problems
        assert "process.well.oil_rate_bpd: must be > 0 (got -5)" in str(exc.value)
        assert isinstance(exc.value, ValueError)

    @pytest.mark.parametrize(
        ("mapping", "path"),
        [
            ({"well": {"water_cut_initial": 1.5}}, "well.water_cut_initial"),
            ({"well": "fast"}, "well"),
            ({"pump": {"trip_on_vibration": 1}}, "pump.trip_on_vibration"),
            ({"loops": {"LIC100": {"mode": 2}}}, "loops.LIC100.mode"),
            ({"vibration": {"zone_bc": 1.0}}, "vibration.zone_ab"),
            ({"slugs": {"severe_cycles_min": 2.5}}, "slugs.severe_cycles_min"),
            ({"ambient": {"heat_loss_k": float("nan")}}, "ambient.heat_loss_k"),
        ],
    )
    def test_rejects(self, mapping: dict[str, object], path: str) -> None:
        with pytest.raises(ParamError) as exc:
            params_from_mapping(mapping)
        assert path in dict(exc.value.problems)
