"""The Gymnasium environment in process: check_env, seeding, the action rule, the CSTR agent."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from plc_emulator.errors import WriteRejected  # noqa: E402
from plc_emulator.gym import PlantEnv, for_task, make_env  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

CSTR = ROOT / "tag_maps" / "plants" / "cstr.yaml"
TRAIN = ROOT / "tag_maps" / "plants" / "separation_train.yaml"


def test_check_env_passes_with_warnings_as_errors() -> None:
    env = make_env(CSTR, max_steps=20, scaled_actions=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)


def test_check_env_passes_with_eu_actions() -> None:
    """Write-limit (EU) action spaces pass too; gymnasium only recommends a normalized space."""
    env = make_env(CSTR, max_steps=20)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    assert all("symmetric and normalized" in str(w.message) for w in seen), [str(w.message) for w in seen]
    assert env.action_space.low.tolist() == [0.0]
    assert env.action_space.high.tolist() == [100.0]


def test_gymnasium_make_by_id() -> None:
    env = gymnasium.make("plc_emulator/Plant-v0", source=str(CSTR), max_steps=5)
    assert isinstance(env.unwrapped, PlantEnv)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (3,)
    assert obs.dtype == np.float32


def _rollout(env: PlantEnv, seed: int, steps: int) -> tuple[np.ndarray, list[float]]:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    seen, rewards = [obs], []
    for _ in range(steps):
        obs, r, *_ = env.step(env.action_space.sample())
        seen.append(obs)
        rewards.append(r)
    return np.array(seen), rewards


def test_same_seed_same_episode_other_seed_other_noise() -> None:
    env = make_env(CSTR, max_steps=50)
    a, ra = _rollout(env, 7, 15)
    b, rb = _rollout(env, 7, 15)
    c, _ = _rollout(env, 8, 15)
    np.testing.assert_array_equal(a, b)
    assert ra == rb
    assert not np.array_equal(a[:, 0], c[:, 0])  # transmitter noise follows the seed


def test_cstr_agent_holds_the_unstable_steady_state() -> None:
    """TIC-1 in MAN: the agent holds 350 K within 1 K for 5 min; a frozen output runs away and trips HTI."""
    env = make_env(CSTR, max_steps=300)
    obs, info = env.reset(seed=1)
    assert info["values"]["TIC-1.mode"] == 0.0  # the preset's set-up write put the loop in MAN
    agent = for_task("cstr")
    agent.reset(obs)
    temps, terminated, truncated = [], False, False
    while not (terminated or truncated):
        obs, _, terminated, truncated, info = env.step(agent.act(obs))
        temps.append(info["values"]["R-1.temperature"])
    assert truncated
    assert not terminated
    assert len(temps) == 300
    assert max(abs(t - 350.0) for t in temps) < 1.0

    obs, _ = env.reset(seed=1)
    frozen = np.array([obs[2]], dtype=np.float32)  # the valve where it was
    steps, terminated = 0, False
    while not terminated and steps < 300:
        obs, reward, terminated, _, info = env.step(frozen)
        steps += 1
    assert terminated, "a frozen coolant valve should run away"
    assert steps < 200
    assert info["values"]["HTI.active"] == 1.0
    assert reward < -5.0


def test_out_of_limit_action_is_clipped_or_rejected() -> None:
    """The documented rule: clip to the write limits (default) or reject; enums round; NaN is refused."""
    env = make_env(CSTR, observe=["TIC-1.sp", "TIC-1.mode"], act=["TIC-1.sp", "TIC-1.mode"], reward="cstr",
                   setup={}, max_steps=5)
    assert env.action_space.low.tolist() == [300.0, 0.0]
    assert env.action_space.high.tolist() == [400.0, 1.0]
    env.reset(seed=1)
    obs, *_, info = env.step(np.array([500.0, 0.3], dtype=np.float32))
    assert info["clipped"] == ["TIC-1.sp"]
    assert obs.tolist() == [400.0, 0.0]  # SP at its write limit, mode rounded to MAN
    with pytest.raises(WriteRejected, match="TYPE_MISMATCH"):
        env.step(np.array([350.0, np.nan], dtype=np.float32))

    strict = make_env(CSTR, observe=["TIC-1.sp"], act=["TIC-1.sp", "TIC-1.mode"], reward="cstr", setup={},
                      on_limit="reject")
    strict.reset(seed=1)
    with pytest.raises(WriteRejected, match=r"OUT_OF_RANGE.*300\.\.400 \(got 299\)"):
        strict.step(np.array([299.0, 1.0], dtype=np.float32))
    obs, *_ = strict.step(np.array([360.0, 1.0], dtype=np.float32))
    assert obs.tolist() == [360.0]  # the refused action wrote nothing; the next one applies


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"observe": ["R-1.nope"]}, "observed signals not readable: R-1.nope"),
    ({"act": ["R-1.temperature"]}, "'R-1.temperature': not writable"),
    ({"act": ["X.y"]}, "'X.y': not a signal of this plant"),
    ({"reward": "golf"}, "unknown reward 'golf'"),
    ({"setup": {"TIC-1.sp": 999.0}}, "outside write limits 300..400"),
])
def test_bad_configuration_is_one_clear_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, WriteRejected), match=message):
        make_env(CSTR, **kwargs)  # type: ignore[arg-type]


def test_separation_train_reward_tracks_every_level_and_pressure_loop() -> None:
    env = make_env(TRAIN, max_steps=3)
    assert [pv for pv, _ in env.pairs] == ["V100.oil_level", "V100.pressure", "V200.oil_level", "V200.pressure",
                                           "V300.oil_level", "V300.water_level", "V300.pressure"]
    _, info = env.reset(seed=1)
    v = info["values"]
    _, reward, *_ = env.step(np.array([55.0], dtype=np.float32))
    assert -0.5 < reward <= 0.0
    assert v["LIC100.mode"] == 0.0
