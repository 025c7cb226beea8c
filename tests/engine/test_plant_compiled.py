"""The compiled block engine: same bits as the numpy path, rows independent of the batch, a numpy
fallback for kinds without a compiled kernel, and counter-based draws that are normal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.blocks import LIBRARY, _rng
from plc_emulator.engine.fast import KINDS, STALE, compiled_kinds
from plc_emulator.engine.fast._common import check
from plc_emulator.engine.plant import PlantEngine, load_plant
from plc_emulator.engine.types import GroundTruthEvent

ROOT = Path(__file__).resolve().parents[2]
TRAIN = load_plant(ROOT / "tag_maps" / "plants" / "separation_train.yaml")
EPOCH = 1767225600.0

# faults, writes, slugs, degradation and an ESD trip: every command path and every event kind
SCHEDULE = {
    20: [Command(kind=CommandKind.INJECT_FAULT, target="V100.pressure", params={"kind": "fail"})],
    40: [Command(kind=CommandKind.WRITE, target="LIC100.sp", value=60.0),
         Command(kind=CommandKind.FORCE_SLUG, target="well", params={"volume_m3": 20.0, "duration_s": 30.0})],
    60: [Command(kind=CommandKind.CLEAR_FAULT, target="V100.pressure"),
         Command(kind=CommandKind.START_DEGRADATION, target="P100", params={"beta_per_day": 40.0})],
    80: [Command(kind=CommandKind.FORCE_SLUG, target="well", params={"severe": 1.0}),
         Command(kind=CommandKind.INJECT_FAULT, target="LIC200.valve", params={"kind": "stiction", "S": 3.0})],
    150: [Command(kind=CommandKind.WRITE, target="ESD.trip", value=1.0)],
}


def _key(e: GroundTruthEvent) -> tuple[int, int, str, str, str]:
    return e.tick, e.plant, e.kind, e.target, repr(sorted(e.params.items()))


def test_compiled_and_numpy_paths_agree() -> None:
    """Both paths evaluate the same equations in the same order with the same draws: they agree to
    rounding (numpy's SIMD exp/pow and the C library's differ in the last bit), every discrete
    decision (status codes, events, trips) is the same."""
    fast = PlantEngine(TRAIN, dt=1.0, seed=3, n=2, epoch=EPOCH)
    slow = PlantEngine(TRAIN, dt=1.0, seed=3, n=2, epoch=EPOCH, compiled=False)
    assert fast.compiled
    assert not slow.compiled
    a, ev_a = fast.run(fast.initial_state(), 200, SCHEDULE)
    b, ev_b = slow.run(slow.initial_state(), 200, SCHEDULE)
    assert np.allclose(a.values, b.values, rtol=1e-7, atol=1e-9)
    assert np.allclose(a.truth, b.truth, rtol=1e-7, atol=1e-9)
    assert np.allclose(a.flat, b.flat, rtol=1e-7, atol=1e-9)
    assert np.array_equal(a.status, b.status)
    assert sorted(map(_key, ev_a)) == sorted(map(_key, ev_b))
    kinds = {e.kind for e in ev_a}
    assert {"fault_start", "fault_end", "slug", "severe_slug", "degradation_onset", "esd_trip"} <= kinds
    assert not np.array_equal(a.truth, fast.initial_state().truth)  # the run did move the plant
    # a block signal published under two names (a valve's position is also its loop's valve signal)
    stem = a.groups[fast.where["LV100"][0]]["stem"][:, fast.where["LV100"][1]]
    assert np.array_equal(a.truth[:, fast.column["LV100.position"]], stem)


@pytest.mark.parametrize(("path", "kind"), [("tests/user_plants/twin_hp.yaml", "header"),
                                            ("tag_maps/plants/cstr.yaml", "cstr")])
def test_other_plants_agree_on_both_paths(path: str, kind: str) -> None:
    plant = load_plant(ROOT / path)
    fast = PlantEngine(plant, dt=1.0, seed=5, n=2, epoch=EPOCH)
    slow = PlantEngine(plant, dt=1.0, seed=5, n=2, epoch=EPOCH, compiled=False)
    assert fast.compiled
    assert kind in {g.kind for g in fast.plan.groups}
    a, _ = fast.run(fast.initial_state(), 150)
    b, _ = slow.run(slow.initial_state(), 150)
    assert np.allclose(a.truth, b.truth, rtol=1e-7, atol=1e-9)
    assert np.array_equal(a.status, b.status)


def test_a_row_has_the_same_bits_alone_and_inside_a_batch() -> None:
    """Row k of a batch of 7 (row seed = seed + k) equals a batch of 1 with that row's seed."""
    batch = PlantEngine(TRAIN, dt=1.0, seed=11, n=7, epoch=EPOCH)
    alone = PlantEngine(TRAIN, dt=1.0, seed=14, n=1, epoch=EPOCH)
    explicit = PlantEngine(TRAIN, dt=1.0, n=1, epoch=EPOCH, row_seeds=[int(batch.row_seeds[3])])
    schedule = {k: v for k, v in SCHEDULE.items() if k < 100}
    big, _ = batch.run(batch.initial_state(), 150, schedule)
    for eng in (alone, explicit):
        one, _ = eng.run(eng.initial_state(), 150, schedule)
        assert np.array_equal(big.values[3], one.values[0])
        assert np.array_equal(big.truth[3], one.truth[0])
        assert np.array_equal(big.status[3], one.status[0])
    assert not np.array_equal(big.values[2], big.values[3])  # rows do differ (their noise)


def test_step_and_run_agree_and_the_input_state_is_not_mutated() -> None:
    eng = PlantEngine(TRAIN, dt=1.0, seed=2, n=3, epoch=EPOCH)
    s0 = eng.initial_state()
    before = [x.copy() for x in (s0.flat, s0.scal, s0.vec, s0.truth, s0.values, s0.status)]
    ran, _ = eng.run(s0, 60, SCHEDULE)
    s = s0
    for _ in range(60):
        s, _ = eng.step(s, SCHEDULE.get(s.tick + 1, ()))
    assert np.array_equal(s.values, ran.values)
    assert np.array_equal(s.flat, ran.flat)
    after = (s0.flat, s0.scal, s0.vec, s0.truth, s0.values, s0.status)
    assert all(np.array_equal(x, y) for x, y in zip(before, after, strict=True))
    with pytest.raises(ValueError, match="read-only"):
        s0.groups[0][next(iter(s0.groups[0]))][...] = 0.0


def test_a_kind_without_a_compiled_kernel_runs_on_the_numpy_path() -> None:
    plant = load_plant(ROOT / "tag_maps" / "plants" / "asphalt_tank_farm.yaml")
    missing = sorted({u.block for u in plant.graph.units.values()} - set(KINDS))
    assert missing  # storage tanks have no compiled kernel: this plant exercises the fallback
    eng = PlantEngine(plant, dt=1.0, seed=1)
    assert not eng.compiled
    s, _ = eng.run(eng.initial_state(), 30)
    assert np.all(np.isfinite(s.values))
    with pytest.raises(ValueError, match=missing[0]):
        PlantEngine(plant, dt=1.0, compiled=True)


def test_compiled_draws_match_the_numpy_draws_and_are_normal() -> None:
    from numba import njit

    from plc_emulator.engine.fast._common import counter, normal, uniform

    @njit(cache=False)  # type: ignore[untyped-decorator]
    def draws(base, tick, out_u, out_z):  # type: ignore[no-untyped-def]
        for i in range(base.shape[0]):
            out_u[i] = uniform(base[i], counter(tick, 5))
            out_z[i] = normal(base[i], tick, 1)

    base = _rng.bases(_rng.row_seeds(7, 200_000), _rng.unit_keys(["PT-1"]))[:, 0].copy()
    u, z = np.empty(base.size), np.empty(base.size)
    draws(base, 42.0, u, z)
    assert np.array_equal(u, _rng.uniform(base, 42, 5))
    assert np.array_equal(z, _rng.normal(base, 42, 1))
    assert abs(z.mean()) < 0.01
    assert abs(z.std() - 1.0) < 0.01
    assert abs(np.mean(np.abs(z) > 1.959964) - 0.05) < 0.003  # both tails
    assert abs(np.mean(z > 3.0) - 0.00135) < 0.0004
    assert abs(u.mean() - 0.5) < 0.005
    assert u.min() >= 0.0
    assert u.max() < 1.0


def test_every_compiled_kernel_matches_its_block_spec() -> None:
    """A spec changed without its compiled kernel would run on the numpy path: make it fail here."""
    assert not STALE, f"compiled kernels out of date with their block specs: {sorted(STALE)}"
    spec = LIBRARY["pressure_boundary"]
    try:
        assert not check(spec, params=("temperature_c", "pressure_psig", "water_fraction"), states=(),
                         ports=("inlet", "pressure", "source"), signals=("pressure", "flow", "gas_flow"))
        assert "pressure_boundary" not in compiled_kinds()
    finally:
        STALE.discard("pressure_boundary")
    assert "pressure_boundary" in compiled_kinds()


@pytest.mark.parametrize("compiled", [True, False])
def test_saved_state_restores_the_same_plant_on_both_paths(compiled: bool) -> None:
    """A checkpoint's arrays (``saved``) give back a state that continues bit for bit like the
    uninterrupted run, on the compiled path and on the numpy path (whose per-group port values are
    recomputed from the flat state)."""
    eng = PlantEngine(TRAIN, dt=1.0, seed=4, compiled=compiled)
    s, _ = eng.run(eng.initial_state(), 30)
    back = eng.restored(s.tick, {k: np.array(v) for k, v in eng.saved(s).items()})
    a, _ = eng.run(s, 20)
    b, _ = eng.run(back, 20)
    assert a.tick == b.tick == 50
    assert np.array_equal(a.values, b.values)
    assert np.array_equal(a.truth, b.truth)
    assert np.array_equal(a.status, b.status)


def test_a_numpy_path_random_walk_moves_and_rows_stay_independent(tmp_path: Path) -> None:
    """A numpy-path kind drawing through ctx.normal: fresh draws every tick, the same per row."""
    f = tmp_path / "walk.yaml"
    f.write_text("plant: walk\nunits:\n  W: {block: signal_generator, params: {shape: random_walk, sigma: 1.0}}\n",
                 encoding="utf-8")
    plant = load_plant(f)
    batch = PlantEngine(plant, dt=1.0, seed=9, n=3)
    alone = PlantEngine(plant, dt=1.0, seed=10, n=1)
    assert not batch.compiled
    s, t = batch.initial_state(), alone.initial_state()
    col = batch.column["W.value"]
    walk = []
    for _ in range(50):
        s, _ = batch.step(s)
        t, _ = alone.step(t)
        walk.append(float(s.truth[1, col]))
        assert s.truth[1, col] == t.truth[0, col]
    steps = np.diff(walk)
    assert len(set(np.round(steps, 12))) > 40  # not one repeated draw
    assert 0.5 < float(np.std(steps)) < 1.6
