"""The ISA-18.2 alarm state model as ONE transition table.

Theory of operation (after h11's ``_state.py``):

* Every alarm is in exactly one :class:`AlarmState` (ISA-18.2 / IEC 62682 letters in brackets).
* Something happens to it: an :class:`AlarmEvent`. Two kinds of events exist:

  - *condition events* (``ACTIVATE``, ``CLEAR``) come from the evaluation of the process value every
    scan. They are defined in **every** state (the table is total for them), so the scan can never
    fail on a process value. In the hidden states (shelved, suppressed by design, out of service)
    they are self-loops: the alarm still evaluates but does not annunciate.
  - *operator and design events* (``ACK``, ``CONFIRM``, ``SHELVE``, ``UNSHELVE``, ``SUPPRESS``,
    ``UNSUPPRESS``, ``REMOVE``, ``RETURN``) are defined only where they make sense. Anything else
    raises :class:`AlarmStateError` naming event, alarm and state, e.g.
    ``can't handle ACK when alarm "SEP-V100.oil_level.HI" is NORMAL``.

* Rule: leaving a hidden state always goes to ``NORMAL``; the block then re-evaluates the
  condition in the same scan and, if it is still present, fires ``ACTIVATE``, so a returning alarm
  that is still active re-annunciates as new (ISA-18.2 "return from shelving").
* ``CONFIRM`` (OPC UA Part 9 ConfirmedState) is accepted only once the alarm is acknowledged.

The state diagram in ``docs/alarms.md`` is generated from :data:`TRANSITIONS` by
``scripts/gen_alarm_diagram.py``.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from plc_emulator.errors import EmulatorError

__all__ = [
    "ANNUNCIATED",
    "CONDITION_EVENTS",
    "HIDDEN",
    "TRANSITIONS",
    "AlarmEvent",
    "AlarmState",
    "AlarmStateError",
    "transition",
]


class AlarmState(Enum):
    NORMAL = 0  # A: inactive, acknowledged
    UNACKED = 1  # B: active, unacknowledged
    ACKED = 2  # C: active, acknowledged
    RTN_UNACKED = 3  # D: returned to normal, unacknowledged
    SHELVED = 4  # F: hidden by the operator, time-limited
    SUPPRESSED = 5  # G: suppressed by design (logic, e.g. equipment stopped)
    OUT_OF_SERVICE = 6  # H: removed for maintenance

    @property
    def active_flag(self) -> bool:
        """ISA active bit as annunciated (hidden states annunciate nothing)."""
        return self in (AlarmState.UNACKED, AlarmState.ACKED)

    @property
    def unacked_flag(self) -> bool:
        return self in (AlarmState.UNACKED, AlarmState.RTN_UNACKED)


class AlarmEvent(Enum):
    ACTIVATE = "ACTIVATE"  # condition became true (after on-delay)
    CLEAR = "CLEAR"  # condition returned to normal (after deadband and off-delay)
    ACK = "ACK"
    CONFIRM = "CONFIRM"
    SHELVE = "SHELVE"
    UNSHELVE = "UNSHELVE"  # operator, or the shelving timer running out
    SUPPRESS = "SUPPRESS"  # design suppression starts (e.g. pump stopped)
    UNSUPPRESS = "UNSUPPRESS"
    REMOVE = "REMOVE"  # out of service
    RETURN = "RETURN"  # return to service


S, E = AlarmState, AlarmEvent

HIDDEN: Final = frozenset({S.SHELVED, S.SUPPRESSED, S.OUT_OF_SERVICE})
ANNUNCIATED: Final = frozenset(set(S) - HIDDEN)
CONDITION_EVENTS: Final = frozenset({E.ACTIVATE, E.CLEAR})

TRANSITIONS: Final[dict[tuple[AlarmState, AlarmEvent], AlarmState]] = {
    # --- the process (A-D) ------------------------------------------------------------------
    (S.NORMAL, E.ACTIVATE): S.UNACKED,  # A -> B
    (S.NORMAL, E.CLEAR): S.NORMAL,
    (S.UNACKED, E.ACTIVATE): S.UNACKED,
    (S.UNACKED, E.CLEAR): S.RTN_UNACKED,  # B -> D
    (S.ACKED, E.ACTIVATE): S.ACKED,
    (S.ACKED, E.CLEAR): S.NORMAL,  # C -> A
    (S.RTN_UNACKED, E.ACTIVATE): S.UNACKED,  # D -> B (re-alarm before ack)
    (S.RTN_UNACKED, E.CLEAR): S.RTN_UNACKED,
    # --- the operator ------------------------------------------------------------------------
    (S.UNACKED, E.ACK): S.ACKED,  # B -> C
    (S.RTN_UNACKED, E.ACK): S.NORMAL,  # D -> A
    (S.NORMAL, E.CONFIRM): S.NORMAL,
    (S.ACKED, E.CONFIRM): S.ACKED,
    # --- shelving, suppression by design, out of service (any of A-D -> F/G/H and back) --------
    (S.NORMAL, E.SHELVE): S.SHELVED,
    (S.UNACKED, E.SHELVE): S.SHELVED,
    (S.ACKED, E.SHELVE): S.SHELVED,
    (S.RTN_UNACKED, E.SHELVE): S.SHELVED,
    (S.SHELVED, E.UNSHELVE): S.NORMAL,
    (S.NORMAL, E.SUPPRESS): S.SUPPRESSED,
    (S.UNACKED, E.SUPPRESS): S.SUPPRESSED,
    (S.ACKED, E.SUPPRESS): S.SUPPRESSED,
    (S.RTN_UNACKED, E.SUPPRESS): S.SUPPRESSED,
    (S.SHELVED, E.SUPPRESS): S.SUPPRESSED,  # design suppression overrides operator shelving
    (S.SUPPRESSED, E.UNSUPPRESS): S.NORMAL,
    (S.NORMAL, E.REMOVE): S.OUT_OF_SERVICE,
    (S.UNACKED, E.REMOVE): S.OUT_OF_SERVICE,
    (S.ACKED, E.REMOVE): S.OUT_OF_SERVICE,
    (S.RTN_UNACKED, E.REMOVE): S.OUT_OF_SERVICE,
    (S.SHELVED, E.REMOVE): S.OUT_OF_SERVICE,
    (S.SUPPRESSED, E.REMOVE): S.OUT_OF_SERVICE,
    (S.OUT_OF_SERVICE, E.RETURN): S.NORMAL,
    # --- hidden states keep evaluating but do not annunciate ----------------------------------
    (S.SHELVED, E.ACTIVATE): S.SHELVED,
    (S.SHELVED, E.CLEAR): S.SHELVED,
    (S.SUPPRESSED, E.ACTIVATE): S.SUPPRESSED,
    (S.SUPPRESSED, E.CLEAR): S.SUPPRESSED,
    (S.OUT_OF_SERVICE, E.ACTIVATE): S.OUT_OF_SERVICE,
    (S.OUT_OF_SERVICE, E.CLEAR): S.OUT_OF_SERVICE,
}


class AlarmStateError(EmulatorError):
    """An event the alarm's current state does not allow (the operator's or caller's fault)."""

    def __init__(self, event: AlarmEvent, alarm: str, state: AlarmState) -> None:
        self.event = event
        self.alarm = alarm
        self.state = state
        super().__init__(f'can\'t handle {event.value} when alarm "{alarm}" is {state.name}')


def transition(state: AlarmState, event: AlarmEvent, alarm: str) -> AlarmState:
    """The one place a state changes: look ``(state, event)`` up, or raise :class:`AlarmStateError`."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise AlarmStateError(event, alarm, state) from None
