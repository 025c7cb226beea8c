"""The ISA-18.2 transition table: every row, the totality rules, and the refusal messages."""

from __future__ import annotations

import pytest

from plc_emulator.alarms.states import (
    CONDITION_EVENTS,
    HIDDEN,
    TRANSITIONS,
    AlarmEvent,
    AlarmState,
    AlarmStateError,
    transition,
)

S, E = AlarmState, AlarmEvent


class TestTable:
    @pytest.mark.parametrize(("state", "event"), sorted(TRANSITIONS, key=lambda k: (k[0].value, k[1].value)))
    def test_every_row(self, state: AlarmState, event: AlarmEvent) -> None:
        """Each row of the table is reachable through transition() and gives the row's target."""
        assert transition(state, event, "X") is TRANSITIONS[(state, event)]

    def test_condition_events_total(self) -> None:
        """ACTIVATE/CLEAR are defined in every state, so evaluating a process value never raises."""
        for s in AlarmState:
            for e in CONDITION_EVENTS:
                assert (s, e) in TRANSITIONS

    def test_hidden_states_do_not_annunciate(self) -> None:
        """Shelved, suppressed and out-of-service alarms keep their state on condition changes."""
        for s in HIDDEN:
            assert transition(s, E.ACTIVATE, "X") is s
            assert transition(s, E.CLEAR, "X") is s

    def test_isa_core_cycle(self) -> None:
        """A->B on condition, B->C ack, C->A RTN; B->D RTN, D->A ack (domain.md 9.1)."""
        assert transition(S.NORMAL, E.ACTIVATE, "X") is S.UNACKED
        assert transition(S.UNACKED, E.ACK, "X") is S.ACKED
        assert transition(S.ACKED, E.CLEAR, "X") is S.NORMAL
        assert transition(S.UNACKED, E.CLEAR, "X") is S.RTN_UNACKED
        assert transition(S.RTN_UNACKED, E.ACK, "X") is S.NORMAL

    def test_leaving_hidden_goes_to_normal(self) -> None:
        assert transition(S.SHELVED, E.UNSHELVE, "X") is S.NORMAL
        assert transition(S.SUPPRESSED, E.UNSUPPRESS, "X") is S.NORMAL
        assert transition(S.OUT_OF_SERVICE, E.RETURN, "X") is S.NORMAL


class TestRefusals:
    def test_ack_normal_message(self) -> None:
        """The message names event, alarm and state."""
        with pytest.raises(AlarmStateError, match=r'^can\'t handle ACK when alarm "SEP-V100.oil_level.HI" is NORMAL$'):
            transition(S.NORMAL, E.ACK, "SEP-V100.oil_level.HI")

    def test_every_missing_pair_raises(self) -> None:
        """Every (state, event) not in the table raises, with the state and event attached."""
        missing = [(s, e) for s in AlarmState for e in AlarmEvent if (s, e) not in TRANSITIONS]
        assert len(missing) > 20
        for s, e in missing:
            with pytest.raises(AlarmStateError) as info:
                transition(s, e, "A.b.HI")
            assert info.value.state is s
            assert info.value.event is e
            assert f'{e.value} when alarm "A.b.HI" is {s.name}' in str(info.value)

    def test_double_ack_and_double_shelve(self) -> None:
        with pytest.raises(AlarmStateError, match=r"ACK when .* is ACKED"):
            transition(S.ACKED, E.ACK, "X")
        with pytest.raises(AlarmStateError, match=r"SHELVE when .* is SHELVED"):
            transition(S.SHELVED, E.SHELVE, "X")
        with pytest.raises(AlarmStateError, match=r"CONFIRM when .* is UNACKED"):
            transition(S.UNACKED, E.CONFIRM, "X")


def test_docs_diagram_is_generated_from_the_table() -> None:
    """docs/alarms.md carries the diagram of the current TRANSITIONS (scripts/gen_alarm_diagram.py --check)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    res = subprocess.run(
        [sys.executable, str(root / "scripts" / "gen_alarm_diagram.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
