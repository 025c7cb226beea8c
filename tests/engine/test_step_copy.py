"""``Engine.step`` without commands copies only what a tick writes in place; the input must stay intact."""

from __future__ import annotations

import numpy as np

from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine import Engine, EngineState

FAULTS = [
    Command(kind=CommandKind.INJECT_FAULT, target="V100.pressure", params={"kind": "spike", "probability": 0.3}),
    Command(kind=CommandKind.INJECT_FAULT, target="V200.level", params={"kind": "freeze"}),
    Command(kind=CommandKind.FORCE_SLUG, target="well", params={"volume_m3": 5.0}),
]


def _frozen_copy(s: EngineState) -> tuple[dict[str, np.ndarray], np.ndarray, object]:
    return {k: v.copy() for k, v in s.arrays.items()}, s.status.copy(), s.rng.bit_generator.state


def _assert_same(s: EngineState, snap: tuple[dict[str, np.ndarray], np.ndarray, object]) -> None:
    arrays, status, rng = snap
    assert set(arrays) == set(s.arrays)
    for k, v in arrays.items():
        assert np.array_equal(v, s.arrays[k]), k
    assert np.array_equal(status, s.status)
    assert s.rng.bit_generator.state == rng


def test_step_without_commands_leaves_every_earlier_state_intact() -> None:
    eng = Engine(dt=1.0, seed=3, n=2)
    s, _ = eng.step(eng.initial_state(), FAULTS)
    kept = []
    for _ in range(40):
        kept.append((s, _frozen_copy(s)))
        s, _ = eng.step(s)
    for state, snap in kept:
        _assert_same(state, snap)


def test_stepping_an_old_state_again_gives_the_same_result() -> None:
    eng = Engine(dt=1.0, seed=4)
    s0, _ = eng.step(eng.initial_state(), FAULTS)
    a, _ = eng.step(s0)
    for _ in range(10):
        a, _ = eng.step(a)
    b, _ = eng.step(s0)
    for _ in range(10):
        b, _ = eng.step(b)
    for k, v in a.arrays.items():
        assert np.array_equal(v, b.arrays[k]), k
    assert np.array_equal(a.status, b.status)
