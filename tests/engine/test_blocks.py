"""The block library: well-formed specs, serialisable state, docs/blocks.md generated from it."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plc_emulator.cli import main
from plc_emulator.engine.blocks import (
    LIBRARY,
    Direction,
    ParamType,
    SignalKind,
    StateError,
    initial_state,
    pack_state,
    resolve_params,
    unpack_state,
)
from plc_emulator.engine.blocks._doc import library_markdown
from plc_emulator.engine.plant import compile_plan, load_plant

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", list(LIBRARY))
def test_spec_is_well_formed(kind: str) -> None:
    spec = LIBRARY[kind]
    assert spec.kind == kind
    assert spec.summary
    for p in (*spec.params, *spec.initial):
        assert p.lo <= p.default <= p.hi, (kind, p.name)
        if p.kind is ParamType.CHOICE:
            assert 0 <= int(p.default) < len(p.choices)
        assert p.description, (kind, p.name)
    for port in spec.ports:
        assert port.description
        assert not (port.direction is Direction.IN and port.depends)
    for s in spec.signals:
        assert s.range[0] < s.range[1]
        assert (s.limits is not None) == (s.kind is SignalKind.INPUT), (kind, s.name)


@pytest.mark.parametrize("kind", list(LIBRARY))
def test_state_round_trip(kind: str) -> None:
    spec = LIBRARY[kind]
    n = 3
    params = resolve_params(spec.params, {}, n)
    init = resolve_params(spec.initial, {}, n)
    st = initial_state(spec, params, init, n)
    assert set(st) == {s.name for s in spec.states}
    assert all(v.shape[0] == n and v.dtype == np.float64 for v in st.values())
    buf = io.BytesIO()
    np.savez(buf, **pack_state(spec, st))
    buf.seek(0)
    with np.load(buf) as z:
        back = unpack_state(spec, dict(z), n)
    assert all(np.array_equal(back[k], st[k]) for k in st)


def test_state_refuses_wrong_version_kind_and_shape() -> None:
    spec = LIBRARY["pid"]
    st = initial_state(spec, resolve_params(spec.params, {}, 2), resolve_params(spec.initial, {}, 2), 2)
    packed = pack_state(spec, st)
    with pytest.raises(StateError, match="version"):
        unpack_state(spec, {**packed, "_version": np.array(99)}, 2)
    with pytest.raises(StateError, match="expected 'separator'"):
        unpack_state(LIBRARY["separator"], {**packed}, 2)
    with pytest.raises(StateError, match="shape"):
        unpack_state(spec, packed, 3)
    with pytest.raises(StateError, match="unknown state arrays"):
        unpack_state(spec, {**packed, "extra": np.zeros(2)}, 2)


def test_separator_starts_from_its_levels() -> None:
    spec = LIBRARY["separator"]
    params = resolve_params(spec.params, {"diameter_m": 2.0, "length_m": 8.0}, 1)
    init = resolve_params(spec.initial, {"level_pct": 50.0, "interface_pct": 50.0}, 1)
    st = initial_state(spec, params, init, 1)
    vol = np.pi * 1.0**2 * 8.0
    assert st["water"][0] == pytest.approx(vol / 2.0, rel=1e-9)  # half full of water, no oil
    assert st["oil"][0] == pytest.approx(0.0, abs=1e-9)


def test_plan_state_round_trip() -> None:
    loaded = load_plant(ROOT / "tag_maps" / "plants" / "separation_train.yaml")
    plan = compile_plan(loaded.graph, n=2)
    states = plan.initial_states(loaded.graph)
    packed = plan.pack(states)
    back = plan.unpack(packed)
    for a, b in zip(states, back, strict=True):
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[k], b[k]) for k in a)
    v100 = next(g for g in plan.groups if g.kind == "separator")
    assert states[plan.groups.index(v100)]["pressure"].shape == (2, 3)
    wrong = dict(packed)
    key = next(k for k in packed if k.endswith("._units"))
    wrong[key] = np.array(["X"])
    with pytest.raises(StateError, match="holds units"):
        plan.unpack(wrong)


def test_docs_blocks_md_is_generated_from_the_library() -> None:
    doc = (ROOT / "docs" / "blocks.md").read_text(encoding="utf-8")
    assert doc.endswith(library_markdown(LIBRARY)), "docs/blocks.md is out of date: run scripts/gen_blocks_doc.py"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_blocks_doc.py"), "--check"],
                       capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode == 0, r.stderr


def test_cli_blocks_lists_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["blocks"]) == 0
    out = capsys.readouterr().out
    for kind, spec in LIBRARY.items():
        assert f"### `{kind}`" in out
        for p in spec.params:
            assert f"| `{p.name}` |" in out
    assert main(["blocks", "pump"]) == 0
    assert "`weibull_shape`" in capsys.readouterr().out
    assert main(["blocks", "pmup"]) == 2
    assert 'did you mean "pump"' in capsys.readouterr().err
