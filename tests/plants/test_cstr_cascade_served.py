"""The cascade CSTR served live (tag_maps/cstr_cascade.yaml, ``model:``): it validates, the cascade
holds the unstable 350 K through the scan with no alarm, MAN/AUTO/CAS behave as documented, and the
lockstep runtime, the replay of its journal and a headless ScanCycle give one digest."""

from __future__ import annotations

import asyncio
from pathlib import Path

from plc_emulator.cli import main
from plc_emulator.commands import Command, CommandKind
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap import load
from plc_emulator.testing import emulator
from tests.conftest import ROOT
from tests.runtime._proc import CLI, run

TAGMAP = ROOT / "tag_maps" / "cstr_cascade.yaml"
WRITES = (("TC-1.TC_1_MODE", "TC-1.mode", 1.0), ("TC-1.TC_1_SLAVE_SP", "TC-1.slave_sp", 324.0))


def _col(name: str) -> int:
    return [t.key for t in load(TAGMAP).tags].index(name)


def test_validates() -> None:
    assert main(["validate", str(TAGMAP)]) == 0


def test_cascade_holds_350_k_and_its_modes() -> None:
    """CAS for 10 min: reactor within 2 K of 350 K, no alarm; the master moves the slave SP.
    AUTO: the slave holds a written jacket SP. MAN: a written output reaches the valve. CAS again."""
    tm = load(TAGMAP)
    cycle = ScanCycle(tm)
    temp, slave_sp, out, valve = (_col(k) for k in ("R-1.temperature", "TC-1.TC_1_SLAVE_SP", "TC-1.TC_1_OUT",
                                                     "TC-1.CV_1_POSITION"))
    seen_sp: set[float] = set()
    for _ in range(600):
        snap = cycle.step(())
        assert abs(snap.values[temp] - 350.0) < 2.0
        assert not snap.alarms["transitions"]
        seen_sp.add(round(float(snap.values[slave_sp]), 3))
    assert len(seen_sp) > 10  # CAS: the master sets the jacket setpoint
    w = [Command(kind=CommandKind.WRITE, target=t, value=v, source="test") for _, t, v in WRITES]
    cycle.step(w)
    for _ in range(30):
        snap = cycle.step(())
        assert snap.values[slave_sp] == 324.0  # AUTO: the written jacket setpoint stays
    cycle.step([Command(kind=CommandKind.WRITE, target="TC-1.mode", value=0.0, source="test"),
                Command(kind=CommandKind.WRITE, target="TC-1.out", value=90.0, source="test")])
    for _ in range(15):
        snap = cycle.step(())
    assert snap.values[out] == 90.0  # MAN: the written output (the block's manual state)
    assert abs(snap.values[valve] - 90.0) < 1.0
    snap = cycle.step([Command(kind=CommandKind.WRITE, target="TC-1.mode", value=2.0, source="test")])
    assert snap.values[_col("TC-1.TC_1_MODE")] == 2.0  # back to CAS (a multistate write, not made binary)


async def _lockstep(journal: Path) -> tuple[str, int]:
    async with emulator(TAGMAP, journal=journal) as emu, asyncio.timeout(60):
        await emu.step(5)
        for key, _, value in WRITES:
            emu.write(key, value)
        snap = await emu.step(55)
        return snap.digest, snap.tick


def test_digest_equal_lockstep_replay_and_headless(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    live, ticks = asyncio.run(_lockstep(journal))
    assert ticks == 60
    rep = run([CLI, "replay", str(TAGMAP), str(journal)])
    assert rep.returncode == 0, rep.stderr
    assert next(line.split()[1] for line in rep.stdout.splitlines() if line.startswith("digest: ")) == live
    cmds = [Command(kind=CommandKind.WRITE, target=t, value=v, source="test") for _, t, v in WRITES]
    tm = load(TAGMAP)
    assert ScanCycle(tm).run(60, {6: cmds}).digest == live
    assert ScanCycle(tm).run(60).digest != live
