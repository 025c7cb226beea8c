"""The evaluation on the real engine: scores come from ground truth, and a broken detector fails."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from plc_emulator.alarms import pm_params_from_mapping
from plc_emulator.alarms.evaluation import EvalConfig, compare_detectors, fault_schedule
from plc_emulator.cli import main
from plc_emulator.engine import PlantParams

ROOT = Path(__file__).resolve().parents[2]
TAGMAP = ROOT / "tag_maps" / "separation_train.yaml"


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:  # type: ignore[type-arg]
    """9 plants whose pumps start degrading on day ~2 and reach zone D around day 27; 12 h of faults
    (one per plant, every kind once). dt 120 s / 10 s keep the test near a minute."""
    good = pm_params_from_mapping({})
    broken = replace(
        good,
        vibration=replace(good.vibration, zones=(2.3, 6.9, 7.1), horizon=3600.0),  # alerts only at the brink
        instruments=replace(good.instruments, flatline_window=7200.0, flatline_tol=0.05),  # slow and trigger-happy
    )
    cfg = EvalConfig(
        plants=9,
        days=32.0,
        dt=120.0,
        fault_days=0.5,
        fault_dt=10.0,
        seed=5,
        weibull_shape=3.0,
        weibull_scale_days=2.0,
    )
    return compare_detectors(PlantParams(), {"good": good, "broken": broken}, cfg)


class TestEvaluation:
    def test_ground_truth_counts(self, results: dict[str, dict]) -> None:  # type: ignore[type-arg]
        """Both detectors are scored against the same truth: same failures, same injected faults."""
        g, b = results["good"], results["broken"]
        assert g["degradation"]["onsets"] == 9
        assert g["degradation"]["failed_plants"] == b["degradation"]["failed_plants"] >= 5
        assert g["faults"]["injected"] == b["faults"]["injected"] == 9

    def test_good_detector_meets_lead_missed_freeze(self, results: dict[str, dict]) -> None:  # type: ignore[type-arg]
        g = results["good"]["goals"]
        assert g["median_lead_h"]["pass"], g
        assert g["missed_share"]["pass"], g
        assert g["freeze_latency_p90_s"]["pass"], g

    def test_broken_detector_fails_goals(self, results: dict[str, dict]) -> None:  # type: ignore[type-arg]
        b = results["broken"]
        assert b["goals"]["median_lead_h"]["pass"] is False
        assert b["goals"]["freeze_latency_p90_s"]["pass"] is False
        assert b["goals"]["false_alerts_per_30_healthy_days"]["pass"] is False
        assert b["all_goals_pass"] is False

    def test_rul_scored(self, results: dict[str, dict]) -> None:  # type: ignore[type-arg]
        rul = results["good"]["degradation"]["rul"]["at_80pct_life"]
        assert rul["plants"] == results["good"]["degradation"]["failed_plants"]
        assert rul["mae_h"] is not None


def test_fault_schedule_every_kind_once_per_nine() -> None:
    sched = fault_schedule(EvalConfig(plants=9, fault_days=1.0, fault_dt=10.0))
    kinds = sorted(str(c.params["kind"]) for cmds in sched.values() for c in cmds if "kind" in c.params)
    assert kinds == sorted(["freeze", "drift", "bias", "spike", "noise", "fail", "comm_loss", "stuck", "stiction"])


class TestCli:
    def test_bad_arguments_exit_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["evaluate", str(TAGMAP), "--plants", "0"]) == 2
        assert "--plants must be >= 1 (got 0)" in capsys.readouterr().err

    def test_short_run_reports_na_and_no_empty_png(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No pump fails in 0.2 days: the lead-time goals are n/a (not FAIL) and no empty PNG is drawn."""
        out = tmp_path / "e.json"
        rc = main(
            [
                "evaluate",
                str(TAGMAP),
                "--plants",
                "2",
                "--days",
                "0.2",
                "--dt",
                "600",
                "--fault-days",
                "0.05",
                "--fault-dt",
                "30",
                "--out",
                str(out),
            ]
        )
        assert rc == 0
        data = json.loads(out.read_text())
        assert set(data["goals"]) == {
            "median_lead_h",
            "missed_share",
            "false_alerts_per_30_healthy_days",
            "freeze_latency_p90_s",
            "quiet_faults_detected_share",
            "residual_false_alerts_per_30_healthy_days",
            "noise_false_alerts_per_30_healthy_days",
        }
        assert data["goals"]["median_lead_h"] == {
            "value": None,
            "target": ">= 72",
            "pass": None,
            "note": "n/a: no failures; run longer",
        }
        assert data["goals"]["missed_share"]["pass"] is None
        assert data["goals"]["false_alerts_per_30_healthy_days"]["pass"] in (True, False)
        assert not (tmp_path / "e.png").exists()
        text = capsys.readouterr().out
        assert "n/a   median_lead_h (goal >= 72): n/a: no failures; run longer" in text
        assert "FAIL  median_lead_h" not in text
        assert "FAIL  missed_share" not in text
        assert "no RUL plot" in text
