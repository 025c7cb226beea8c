"""Named distributions in scenario files: draws from the run seed, located errors, the real runtime."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from plc_emulator.scenario import ScenarioError, load_scenario, loads_scenario
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP
from tests.runtime._proc import CLI, run

ONE = """\
seed: 3
events:
  - at: {dist: weibull, shape: 1.5, scale: 2h}
    action: inject_fault
    target: V100.pressure
    params: {kind: bias, offset: {dist: normal, mean: 20, sd: 5}}
  - at: {dist: uniform, low: 10s, high: 1h}
    action: write
    target: LIC100.sp
    value: {dist: lognormal, median: 50, sigma: 0.1, max: 60}
  - at: {dist: exponential, mean: 30min}
    action: clear_fault
    target: '*'
"""


def _draws(text: str, seed: int | None = None) -> list[tuple[float, float, tuple[tuple[str, object], ...]]]:
    scen = loads_scenario(text, 0.1, seed=seed)
    return [(e.at, e.command.value, tuple(sorted(e.command.params.items()))) for e in scen.events]


def test_draws_follow_the_run_seed_and_each_event_has_its_own_stream() -> None:
    a, b = _draws(ONE), _draws(ONE)
    assert a == b  # the file's seed: 3
    assert loads_scenario(ONE, 0.1).draw_seed == 3
    assert _draws(ONE, seed=3) == a
    assert _draws(ONE, seed=4) != a  # --seed wins over the file's seed
    scen = loads_scenario(ONE, 0.1, seed=4)
    assert [e.tick for e in scen.events] == sorted(e.tick for e in scen.events)
    assert all(e.tick == max(1, math.ceil(e.at / 0.1 - 1e-9)) for e in scen.events)
    # an event added at the end does not change the draws of the others
    longer = ONE + "  - {at: {dist: normal, mean: 1h, sd: 1min}, action: trip_pump}\n"
    by_target = {e.command.target: e for e in loads_scenario(ONE, 0.1, seed=9).events}
    by_target_longer = {e.command.target: e for e in loads_scenario(longer, 0.1, seed=9).events}
    assert all(by_target_longer[k] == v for k, v in by_target.items())


def test_the_tag_maps_seed_is_the_last_fallback() -> None:
    tagmap = load(DEFAULT_TAGMAP)
    text = ONE.replace("seed: 3\n", "")
    assert loads_scenario(text, tagmap).draw_seed == tagmap.seed
    assert loads_scenario(text, 0.1).draw_seed == 0


@pytest.mark.parametrize(("spec", "mean", "sd"), [
    ("{dist: normal, mean: 10, sd: 2}", 10.0, 2.0),
    ("{dist: uniform, low: 2, high: 8}", 5.0, 6.0 / math.sqrt(12.0)),
    ("{dist: weibull, shape: 2, scale: 10}", 10.0 * math.gamma(1.5),
     10.0 * math.sqrt(math.gamma(2.0) - math.gamma(1.5) ** 2)),
    ("{dist: exponential, mean: 4}", 4.0, 4.0),
    ("{dist: lognormal, median: 3, sigma: 0.5}", 3.0 * math.exp(0.125), 3.0 * math.sqrt((math.e ** 0.25 - 1)
                                                                                       * math.e ** 0.25)),
])
def test_each_distribution_has_its_textbook_mean_and_spread(spec: str, mean: float, sd: float) -> None:
    """1000 events' magnitudes: sample mean within 4 standard errors, sample sd within 12 %."""
    n = 1000
    text = "events:\n" + f"  - {{at: 1s, action: trip_pump, value: {spec}}}\n" * n
    values = np.array([e.command.value for e in loads_scenario(text, 0.1, seed=11).events])
    assert abs(values.mean() - mean) < 4 * sd / math.sqrt(n)
    assert values.std() == pytest.approx(sd, rel=0.12)


def test_times_in_durations_and_clipping() -> None:
    text = ("events:\n"
            + "  - {at: {dist: normal, mean: 10s, sd: 1h}, action: trip_pump}\n" * 50
            + "  - {at: {dist: uniform, low: 1d, high: 2d, max: 36h}, action: trip_pump}\n" * 50
            + "  - {at: 1s, action: write, target: LIC100.sp, value: {dist: normal, mean: 50, sd: 100}}\n" * 50)
    ev = loads_scenario(text, 0.1, seed=2).events
    times = [e.at for e in ev if e.command.target == "P100"]
    assert min(times) == 0.0  # a negative time is clipped to the start
    assert any(t > 3600 for t in times)  # sd 1h: the durations are seconds
    assert max(times) == 36 * 3600.0
    assert min(t for t in times if t > 86400 - 1) >= 86400.0
    sps = [e.command.value for e in ev if e.command.target == "LIC100.sp"]
    assert min(sps) == 20.0  # LIC100.sp write limits 20..80
    assert max(sps) == 80.0


@pytest.mark.parametrize(("event", "where", "message"), [
    ("{at: {dist: gaussian, mean: 1h, sd: 1s}, action: trip_pump}", "3:17: events[0].at.dist",
     "must be one of normal, uniform, weibull, exponential, lognormal"),
    ("{at: {mean: 1h, sd: 1s}, action: trip_pump}", "3:10: events[0].at", 'needs "dist"'),
    ("{at: {dist: normal, mean: 1h}, action: trip_pump}", "3:10: events[0].at", "normal needs sd"),
    ("{at: {dist: normal, mean: 1h, sd: 0}, action: trip_pump}", "3:39: events[0].at.sd", "must be > 0"),
    ("{at: {dist: normal, mean: 1h, sd: 1s, scale: 2}, action: trip_pump}", "3:50: events[0].at.scale",
     "unknown parameter for normal; valid: mean, sd, min, max"),
    ("{at: {dist: weibull, shape: -1, scale: 1d}, action: trip_pump}", "3:33: events[0].at.shape", "must be > 0"),
    ("{at: {dist: weibull, shape: 2, scale: soon}, action: trip_pump}", "3:43: events[0].at.scale",
     "must be a duration"),
    ("{at: {dist: uniform, low: 2h, high: 1h}, action: trip_pump}", "3:41: events[0].at.high", "must be > low"),
    ("{at: {dist: exponential, mean: 0}, action: trip_pump}", "3:36: events[0].at.mean", "must be > 0"),
    ("{at: {dist: lognormal, median: 1h, sigma: 0}, action: trip_pump}", "3:47: events[0].at.sigma", "must be > 0"),
    ("{at: {dist: normal, mean: 1h, sd: 1s, min: 2h, max: 1h}, action: trip_pump}", "3:57: events[0].at.max",
     "must be >= min"),
    ("{at: 1s, action: write, target: LIC100.sp, value: {dist: normal, mean: x, sd: 1}}",
     "3:76: events[0].value.mean", "must be a number"),
    ("{at: 1s, action: inject_fault, target: V100.pressure, params: {kind: bias, offset: {dist: uniform, "
     "low: 1}}}", "3:88: events[0].params.offset", "uniform needs high"),
    ("{at: 1s, action: inject_fault, target: V100.pressure, params: {kind: {dist: normal}}}",
     "3:74: events[0].params.kind", "must be a number or a string"),
])
def test_every_bad_parameter_is_located(event: str, where: str, message: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        loads_scenario(f"name: x\nevents:\n  - {event}\n", 0.1, path="s.yaml")
    lines = exc.value.problems
    assert len(lines) == 1, lines  # no follow-on noise
    assert lines[0].startswith(f"s.yaml:{where}: ")
    assert message in lines[0]


def test_run_draws_from_its_seed_and_journals_the_draws(tmp_path: Path) -> None:
    """The real runtime: the journal holds the drawn times and values for --seed; a bad one exits 2."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("events:\n"
                        "  - {at: {dist: uniform, low: 1s, high: 5s}, action: write, target: LIC100.sp,\n"
                        "     value: {dist: normal, mean: 50, sd: 5}}\n"
                        "  - {at: {dist: exponential, mean: 2s, max: 5s}, action: inject_fault, target: V100.pressure,"
                        " params: {kind: bias, offset: {dist: lognormal, median: 20, sigma: 0.3}}}\n")
    journal = tmp_path / "j.jsonl"
    res = run([CLI, "run", str(DEFAULT_TAGMAP), "--host", "127.0.0.1", "--modbus-port", "0", "--http-port", "0",
               "--speed", "max", "--duration", "6s", "--scenario", str(scenario), "--seed", "17",
               "--journal", str(journal), "--data-dir", str(tmp_path / "data"), "--log-level", "error"])
    assert res.returncode == 0, res.stderr
    entries = [json.loads(x) for x in journal.read_text().splitlines()[1:-1]]
    want = load_scenario(scenario, load(DEFAULT_TAGMAP), seed=17)
    assert [(e["tick"], e["target"], e["value"], e["params"]) for e in entries] == [
        (ev.tick, ev.command.target, ev.command.value, dict(ev.command.params)) for ev in want.events]
    assert want.events != load_scenario(scenario, 0.1, seed=18).events

    scenario.write_text("events:\n  - {at: {dist: weibul, shape: 1, scale: 1d}, action: trip_pump}\n")
    bad = run([CLI, "run", str(DEFAULT_TAGMAP), "--data-dir", str(tmp_path), "--scenario", str(scenario)])
    assert bad.returncode == 2
    assert bad.stderr.startswith(f"{scenario}:2:17: events[0].at.dist: must be one of")
    assert "did you mean" in bad.stderr
    assert "Traceback" not in bad.stderr
