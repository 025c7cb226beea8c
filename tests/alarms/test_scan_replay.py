"""The alarm block inside the real scan: same alarm history (and digest) from a journal replay."""

from __future__ import annotations

from plc_emulator.commands import Command, CommandKind, command_from_json, command_to_json
from plc_emulator.scan import ScanCycle
from plc_emulator.tagmap import load
from tests.conftest import DEFAULT_TAGMAP

BAD = "SEP-V100.oil_level.BAD"


def schedule() -> dict[int, list[Command]]:
    return {
        5: [Command(kind=CommandKind.INJECT_FAULT, target="V100.oil_level", params={"kind": "fail"}, source="cli")],
        650: [Command(kind=CommandKind.WRITE, target=f"alarm.{BAD}.ack", value=1.0, source="modbus")],
        700: [Command(kind=CommandKind.CLEAR_FAULT, target="V100.oil_level", source="cli")],
        800: [
            Command(kind=CommandKind.ALARM_ACK, target="*", source="opcua"),
            Command(kind=CommandKind.ALARM_SHELVE, target="PMP-P100.vibration.HI", value=5.0, source="opcua"),
        ],
    }


def run(sched: dict[int, list[Command]]) -> tuple[list[tuple[int, str, str, str, str]], str, list[str]]:
    cycle = ScanCycle(load(DEFAULT_TAGMAP))
    history: list[tuple[int, str, str, str, str]] = []
    journal: list[str] = []
    for _ in range(900):
        cmds = sched.get(cycle.tick + 1, [])
        snap = cycle.step(cmds)
        journal += [command_to_json(snap.tick, c) for c in snap.commands]
        history += [(t.tick, t.alarm, t.event.value, t.new.name, t.source) for t in snap.alarms["transitions"]]
    return history, cycle.snapshot.digest, journal


def test_journal_replay_same_alarm_history() -> None:
    first, digest, journal = run(schedule())
    assert (650, BAD, "ACK", "ACKED", "modbus") in first  # the coil write became an acknowledgement
    assert any(a == BAD and e == "ACTIVATE" for _, a, e, _, _ in first)
    assert any(a == "PMP-P100.vibration.HI" and e == "SHELVE" for _, a, e, _, _ in first)
    replayed: dict[int, list[Command]] = {}
    for line in journal:
        entry = command_from_json(line)
        replayed.setdefault(entry.tick, []).append(entry.command)
    again, digest2, _ = run(replayed)
    assert again == first
    assert digest2 == digest
