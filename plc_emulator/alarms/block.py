"""The alarm block: evaluates every alarm of the tag map each scan and runs the ISA-18.2 state table.

Pure and deterministic: state lives in numpy arrays with a leading batch axis ``n`` (one row per
plant), time is the integer tick, nothing reads a clock. One :meth:`AlarmBlock.step` per scan:

1. operator commands (``ALARM_*`` kinds, or writes to ``alarm.<id>.ack`` / ``alarms.ack_all``) are
   applied first, in arrival order, through :func:`~plc_emulator.alarms.states.transition`; a
   refused one (e.g. ACK of a NORMAL alarm) is reported in ``rejected`` and changes nothing;
2. shelving timers that ran out unshelve (source ``"timer"``);
3. conditions are evaluated, vectorised over plants and alarms: limits with deadband, on-delay and
   off-delay; rate of change over a window; bad quality; discrete off-normal; PM flags;
4. design suppression rules (``pm.suppression``) suppress / unsuppress;
5. every annunciated alarm whose state disagrees with its condition gets ``ACTIVATE`` or ``CLEAR``.

Every state change is returned as an :class:`AlarmTransition` with a block-wide sequence number,
which the OPC UA layer turns into a unique, reproducible EventId.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from plc_emulator.alarms.config import AlarmDef, AlarmKind, PmParams, Suppression, alarm_defs
from plc_emulator.alarms.states import HIDDEN, AlarmEvent, AlarmState, transition
from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine.catalogue import LEGACY, Catalogue
from plc_emulator.errors import EmulatorError

__all__ = [
    "AlarmBlock",
    "AlarmCommandError",
    "AlarmStatus",
    "AlarmTransition",
    "UnknownAlarm",
    "operator_command",
]

F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]
BOOLS = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

_KIND_CODE: Final = {k: i for i, k in enumerate(AlarmKind)}
_STATE_BY_CODE: Final = {s.value: s for s in AlarmState}

_OPERATOR: Final = {
    CommandKind.ALARM_ACK: AlarmEvent.ACK,
    CommandKind.ALARM_CONFIRM: AlarmEvent.CONFIRM,
    CommandKind.ALARM_SHELVE: AlarmEvent.SHELVE,
    CommandKind.ALARM_UNSHELVE: AlarmEvent.UNSHELVE,
    CommandKind.ALARM_OUT_OF_SERVICE: AlarmEvent.REMOVE,
    CommandKind.ALARM_RETURN_TO_SERVICE: AlarmEvent.RETURN,
}


class AlarmCommandError(EmulatorError):
    """An operator command with a bad argument (e.g. a shelving time <= 0)."""


class UnknownAlarm(AlarmCommandError):
    def __init__(self, alarm: str) -> None:
        self.alarm = alarm
        super().__init__(f'no alarm "{alarm}" in this tag map')


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmTransition:
    seq: int  # block-wide, strictly increasing: the basis of the OPC UA EventId
    tick: int
    plant: int
    alarm: str
    event: AlarmEvent
    old: AlarmState
    new: AlarmState
    source: str  # "process", "timer", "design", or the command's source (modbus, opcua, cli ...)
    value: float  # the watched value at that tick (NaN for PM flags)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmStatus:
    id: str
    state: AlarmState
    condition: bool  # evaluated condition, also while shelved / suppressed / out of service
    confirmed: bool
    priority: int
    severity: int
    since_tick: int  # tick of the last transition
    shelved_until: int  # tick, -1 when not shelved
    last_seq: int  # seq of the last transition (-1: none yet)

    @property
    def active(self) -> bool:
        return self.state.active_flag

    @property
    def acked(self) -> bool:
        return not self.state.unacked_flag


def operator_command(cmd: Command) -> Command | None:
    """An ALARM_* command as is; a write of 1 to ``alarm.<id>.ack`` / ``alarms.ack_all`` as ALARM_ACK.

    Anything else (including a write of 0 to an ack point) is not an alarm command: ``None``.
    """
    if cmd.kind in _OPERATOR:
        return cmd
    if cmd.kind is CommandKind.WRITE and cmd.value >= 0.5:
        if cmd.target == "alarms.ack_all":
            return Command(kind=CommandKind.ALARM_ACK, target="*", params=cmd.params, source=cmd.source)
        if cmd.target.startswith("alarm.") and cmd.target.endswith(".ack"):
            return Command(
                kind=CommandKind.ALARM_ACK,
                target=cmd.target[len("alarm.") : -len(".ack")],
                params=cmd.params,
                source=cmd.source,
            )
    return None


class AlarmBlock:
    """All alarms of one tag map, for ``n`` plants. See the module docstring for the scan order."""

    def __init__(
        self, defs: Sequence[AlarmDef], *, dt: float, n: int = 1, suppression: Sequence[Suppression] = (),
        catalogue: Catalogue = LEGACY,
    ) -> None:
        """``catalogue``: the plant's signals, the column order of the values ``step`` gets."""
        if dt <= 0 or n < 1:
            raise ValueError(f"dt must be > 0 and n >= 1 (got dt={dt}, n={n})")
        self.defs = tuple(defs)
        self.dt = float(dt)
        self.n = int(n)
        self.ids = tuple(d.id for d in self.defs)
        self._index = {a: i for i, a in enumerate(self.ids)}
        if len(self._index) != len(self.ids):
            raise ValueError("duplicate alarm id")
        a = len(self.defs)
        self._kind = np.array([_KIND_CODE[d.kind] for d in self.defs], dtype=np.int8)
        # signals outside the engine catalogue (PLC memory: wd.<name>.expired ...) are extra columns
        # the caller appends after the catalogue's, in this order (missing ones read 0, Good)
        cat = catalogue
        self.extra_signals = tuple(dict.fromkeys(d.signal for d in self.defs if d.signal and d.signal not in cat))
        extra = {sig: len(cat) + k for k, sig in enumerate(self.extra_signals)}
        self._width = len(cat) + len(self.extra_signals)
        self._sig = np.array([extra[d.signal] if d.signal in extra else cat.index_of(d.signal) if d.signal else 0
                              for d in self.defs], dtype=np.intp)
        self._limit = np.array([d.limit for d in self.defs], dtype=np.float64)
        self._deadband = np.array([d.deadband for d in self.defs], dtype=np.float64)
        self._on_ticks = np.array([self._ticks(d.on_delay) + 1 for d in self.defs], dtype=np.int32)
        self._off_ticks = np.array([self._ticks(d.off_delay) + 1 for d in self.defs], dtype=np.int32)
        self.priority = np.array([d.priority for d in self.defs], dtype=np.int8)
        k = self._kind
        self._is_hi = np.isin(k, [_KIND_CODE[AlarmKind.HI], _KIND_CODE[AlarmKind.HIHI]])
        self._is_lo = np.isin(k, [_KIND_CODE[AlarmKind.LO], _KIND_CODE[AlarmKind.LOLO]])
        self._is_roc = k == _KIND_CODE[AlarmKind.ROC]
        self._is_bad = k == _KIND_CODE[AlarmKind.BAD]
        self._is_disc = k == _KIND_CODE[AlarmKind.DISCRETE]
        self._is_pm = k == _KIND_CODE[AlarmKind.PM]
        self.pm_columns = np.flatnonzero(self._is_pm)
        # rate of change: ring buffer of the last W samples per ROC alarm
        self._roc_cols = np.flatnonzero(self._is_roc)
        self._roc_w = max([self._ticks(self.defs[i].roc_window) for i in self._roc_cols], default=1)
        self._roc_w = max(self._roc_w, 1)
        self._roc_lag = np.array(
            [max(1, self._ticks(self.defs[i].roc_window)) for i in self._roc_cols], dtype=np.intp
        )
        self._roc_buf = np.full((self.n, len(self._roc_cols), self._roc_w + 1), np.nan)
        # design suppression: (signal column, value, alarm columns)
        self._suppress: list[tuple[int, float, npt.NDArray[np.intp]]] = []
        for rule in suppression:
            cols = [self._index[x] for x in rule.alarms if x in self._index]
            self._suppress.append((cat.index_of(rule.signal), rule.not_equal, np.array(cols, dtype=np.intp)))
        # state
        self.tick = 0
        self.seq = 0
        self.state = np.zeros((self.n, a), dtype=np.int8)  # AlarmState values
        self.cond = np.zeros((self.n, a), dtype=np.bool_)
        self.confirmed = np.ones((self.n, a), dtype=np.bool_)
        self._on_cnt = np.zeros((self.n, a), dtype=np.int32)
        self._off_cnt = np.zeros((self.n, a), dtype=np.int32)
        self.shelved_until = np.full((self.n, a), -1, dtype=np.int64)
        self.since = np.zeros((self.n, a), dtype=np.int64)
        self.last_seq = np.full((self.n, a), -1, dtype=np.int64)
        self._value = np.full((self.n, a), np.nan)
        self._record = True
        self._log: list[AlarmTransition] = []
        # vectorised lookups for the two condition events (total over states by construction)
        self._next_act = np.array(
            [transition(s, AlarmEvent.ACTIVATE, "-").value for s in AlarmState], dtype=np.int8
        )
        self._next_clr = np.array(
            [transition(s, AlarmEvent.CLEAR, "-").value for s in AlarmState], dtype=np.int8
        )
        self._annunciated = np.array([s not in HIDDEN for s in AlarmState], dtype=np.bool_)
        self._shows_active = np.array([s.active_flag for s in AlarmState], dtype=np.bool_)
        self._shows_unacked = np.array([s.unacked_flag for s in AlarmState], dtype=np.bool_)

    @classmethod
    def from_tagmap(
        cls, tagmap: Any, *, dt: float | None = None, n: int = 1, pm: PmParams | None = None
    ) -> AlarmBlock:
        params = pm if pm is not None else tagmap.pm_params
        return cls(
            alarm_defs(tagmap, params),
            dt=tagmap.scan_period if dt is None else dt,
            n=n,
            suppression=params.suppression,
            catalogue=tagmap.catalogue,
        )

    def _ticks(self, seconds: float) -> int:
        return max(0, math.ceil(seconds / self.dt - 1e-9))

    # --------------------------------------------------------------------------------------
    # one scan
    # --------------------------------------------------------------------------------------

    def step(
        self,
        values: F64,
        status: U32,
        *,
        tick: int,
        commands: Iterable[Command] = (),
        pm_flags: BOOLS | None = None,
        record: bool = True,
    ) -> tuple[tuple[AlarmTransition, ...], tuple[tuple[Command, str], ...]]:
        """Advance to ``tick``. ``values``/``status`` are engine outputs ``(n, S)`` in catalogue order,
        optionally followed by the ``extra_signals`` columns; ``pm_flags`` is ``(n, len(pm_columns))``.
        Returns (transitions, rejected (command, reason))."""
        if values.shape[1] < self._width:  # no PLC memory here (fleet evaluation): extra columns read 0
            pad = ((0, 0), (0, self._width - values.shape[1]))
            values, status = np.pad(values, pad), np.pad(status, pad)
        self.tick = int(tick)
        self._record = record
        self._log = []
        rejected: list[tuple[Command, str]] = []
        for cmd in commands:
            op = operator_command(cmd)
            if op is None:
                continue
            try:
                self.apply(op)
            except EmulatorError as exc:
                rejected.append((cmd, str(exc)))
        self._timers()
        self._evaluate(values, status, pm_flags)
        self._design_suppression(values)
        self._annunciate()
        return tuple(self._log), tuple(rejected)

    def apply(self, cmd: Command) -> None:
        """One operator command now. Raises :class:`AlarmStateError` / :class:`UnknownAlarm`."""
        event = _OPERATOR[cmd.kind]
        plants = self._plants(cmd)
        if cmd.target == "*":
            if event is not AlarmEvent.ACK:
                raise UnknownAlarm("*")
            for p in plants:
                for a in np.flatnonzero(self._shows_unacked[self.state[p]]):
                    self._fire(p, int(a), event, cmd.source)
            return
        col = self._index.get(cmd.target)
        if col is None:
            raise UnknownAlarm(cmd.target)
        if event is AlarmEvent.SHELVE and not (cmd.value > 0 and math.isfinite(cmd.value)):
            raise AlarmCommandError(
                f'shelving time for alarm "{cmd.target}" must be > 0 s (got {cmd.value!r})'
            )
        for p in plants:  # check every plant first so a refused command changes nothing
            transition(self.state_of(cmd.target, p), event, cmd.target)
        for p in plants:
            self._fire(p, col, event, cmd.source)
            if event is AlarmEvent.SHELVE:
                self.shelved_until[p, col] = self.tick + max(1, self._ticks(cmd.value))
            elif event is AlarmEvent.CONFIRM:
                self.confirmed[p, col] = True

    def _plants(self, cmd: Command) -> list[int]:
        if "plant" in cmd.params:
            p = int(cmd.param("plant", 0))
            if not 0 <= p < self.n:
                raise UnknownAlarm(f"{cmd.target} (plant {p})")
            return [p]
        return list(range(self.n))

    def _fire(self, p: int, a: int, event: AlarmEvent, source: str) -> None:
        old = _STATE_BY_CODE[int(self.state[p, a])]
        new = transition(old, event, self.ids[a])
        self.state[p, a] = new.value
        if event is AlarmEvent.UNSHELVE or new is not AlarmState.SHELVED:
            self.shelved_until[p, a] = -1
        self._log_one(p, a, event, old, new, source=source)

    def _log_one(
        self, p: int, a: int, event: AlarmEvent, old: AlarmState, new: AlarmState, *, source: str
    ) -> None:
        self.since[p, a] = self.tick
        self.last_seq[p, a] = self.seq
        if self._record:
            self._log.append(
                AlarmTransition(
                    seq=self.seq,
                    tick=self.tick,
                    plant=p,
                    alarm=self.ids[a],
                    event=event,
                    old=old,
                    new=new,
                    source=source,
                    value=float(self._value[p, a]),
                )
            )
        self.seq += 1

    def _timers(self) -> None:
        due = (self.shelved_until >= 0) & (self.shelved_until <= self.tick)
        if not due.any():  # the usual case: skip np.nonzero and the Python loop
            return
        for p, a in zip(*np.nonzero(due), strict=True):
            self._fire(int(p), int(a), AlarmEvent.UNSHELVE, "timer")

    def _evaluate(self, values: F64, status: U32, pm_flags: BOOLS | None) -> None:
        pv = values[:, self._sig]
        self._value = np.where(self._is_pm, np.nan, pv)
        bad = (status[:, self._sig] >> np.uint32(30)) >= 2
        lim, db = self._limit, self._deadband
        raw_on = np.where(self._is_hi, pv >= lim, pv <= lim)
        raw_clear = np.where(self._is_hi, pv < lim - db, pv > lim + db)
        disc = np.abs(pv - lim) < 0.5
        raw_on = np.where(self._is_disc, disc, raw_on)
        raw_clear = np.where(self._is_disc, ~disc, raw_clear)
        if len(self._roc_cols):
            buf = np.roll(self._roc_buf, 1, axis=2)
            buf[:, :, 0] = pv[:, self._roc_cols]
            self._roc_buf = buf
            old = np.take_along_axis(buf, self._roc_lag[None, :, None].repeat(self.n, 0), axis=2)[:, :, 0]
            rate = np.abs(pv[:, self._roc_cols] - old) / (self._roc_lag * self.dt)
            fast = rate >= lim[self._roc_cols]
            raw_on[:, self._roc_cols] = fast
            raw_clear[:, self._roc_cols] = ~fast & ~np.isnan(old)
            raw_on[:, self._roc_cols] &= ~np.isnan(old)
        # a Bad value is not evaluated (the BAD alarm covers it): hold the condition
        raw_on &= ~bad
        raw_clear &= ~bad
        raw_on = np.where(self._is_bad, bad, raw_on)
        raw_clear = np.where(self._is_bad, ~bad, raw_clear)
        if pm_flags is not None and len(self.pm_columns):
            raw_on[:, self.pm_columns] = pm_flags
            raw_clear[:, self.pm_columns] = ~pm_flags
        cond = self.cond
        self._on_cnt = np.where(~cond & raw_on, self._on_cnt + 1, 0).astype(np.int32)
        self._off_cnt = np.where(cond & raw_clear, self._off_cnt + 1, 0).astype(np.int32)
        rise = self._on_cnt >= self._on_ticks
        fall = self._off_cnt >= self._off_ticks
        self.cond = np.where(cond, ~fall, rise)
        self._on_cnt[rise] = 0
        self._off_cnt[fall] = 0

    def _design_suppression(self, values: F64) -> None:
        for col, normal, alarms in self._suppress:
            on = np.abs(values[:, col] - normal) >= 0.5  # (n,)
            # vectorised pre-check: the per-alarm loop below only runs when some alarm must change
            st_now = self.state[:, alarms]
            sup = (st_now == AlarmState.SUPPRESSED.value)
            if not (on[:, None] & ~sup & (st_now != AlarmState.OUT_OF_SERVICE.value)).any() and not (
                ~on[:, None] & sup
            ).any():
                continue
            for a in alarms:
                for p in range(self.n):
                    st = _STATE_BY_CODE[int(self.state[p, a])]
                    if on[p] and st not in (AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE):
                        self._fire(p, int(a), AlarmEvent.SUPPRESS, "design")
                    elif not on[p] and st is AlarmState.SUPPRESSED:
                        self._fire(p, int(a), AlarmEvent.UNSUPPRESS, "design")

    def _annunciate(self) -> None:
        st = self.state
        shown = self._shows_active[st]
        ann = self._annunciated[st]
        act = ann & self.cond & ~shown
        clr = ann & ~self.cond & shown
        if not (act.any() or clr.any()):
            return
        new = np.where(act, self._next_act[st], np.where(clr, self._next_clr[st], st))
        self.confirmed[act] = False
        for p, a in zip(*np.nonzero(act | clr), strict=True):
            ev = AlarmEvent.ACTIVATE if act[p, a] else AlarmEvent.CLEAR
            self._log_one(
                int(p),
                int(a),
                ev,
                _STATE_BY_CODE[int(st[p, a])],
                _STATE_BY_CODE[int(new[p, a])],
                source="process",
            )
        self.state = new.astype(np.int8)

    # --------------------------------------------------------------------------------------
    # views
    # --------------------------------------------------------------------------------------

    def state_of(self, alarm: str, plant: int = 0) -> AlarmState:
        a = self._index.get(alarm)
        if a is None:
            raise UnknownAlarm(alarm)
        return _STATE_BY_CODE[int(self.state[plant, a])]

    def status(self, alarm: str, plant: int = 0) -> AlarmStatus:
        a = self._index.get(alarm)
        if a is None:
            raise UnknownAlarm(alarm)
        d = self.defs[a]
        return AlarmStatus(
            id=alarm,
            state=_STATE_BY_CODE[int(self.state[plant, a])],
            condition=bool(self.cond[plant, a]),
            confirmed=bool(self.confirmed[plant, a]),
            priority=d.priority,
            severity=d.severity,
            since_tick=int(self.since[plant, a]),
            shelved_until=int(self.shelved_until[plant, a]),
            last_seq=int(self.last_seq[plant, a]),
        )

    def active_mask(self) -> BOOLS:
        return self._shows_active[self.state]

    def unacked_mask(self) -> BOOLS:
        return self._shows_unacked[self.state]

    def summary(self, plant: int = 0) -> tuple[int, int, int]:
        """(count active, count unacked, highest priority among active or unacked alarms, 0 if none)."""
        act = self._shows_active[self.state[plant]]
        una = self._shows_unacked[self.state[plant]]
        shown = act | una
        top = int(self.priority[shown].max()) if shown.any() else 0
        return int(act.sum()), int(una.sum()), top

    def signal_values(self, plant: int = 0) -> dict[str, float]:
        """Values of every ``alarm.*`` / ``alarms.*`` signal (see :mod:`plc_emulator.alarms.signals`)."""
        st = self.state[plant]
        act = self._shows_active[st]
        una = self._shows_unacked[st]
        out: dict[str, float] = {}
        for i, a in enumerate(self.ids):
            out[f"alarm.{a}.active"] = float(act[i])
            out[f"alarm.{a}.unacked"] = float(una[i])
            out[f"alarm.{a}.state"] = float(st[i])
            out[f"alarm.{a}.ack"] = 0.0
        n_act, n_una, top = self.summary(plant)
        out["alarms.active_count"] = float(n_act)
        out["alarms.unacked_count"] = float(n_una)
        out["alarms.highest_priority"] = float(top)
        out["alarms.ack_all"] = 0.0
        return out

    def view(
        self,
        plant: int = 0,
        transitions: Sequence[AlarmTransition] = (),
        rejected: Sequence[tuple[Command, str]] = (),
    ) -> Mapping[str, Any]:
        """The mapping put in ``Snapshot.alarms``."""
        n_act, n_una, top = self.summary(plant)
        return {
            "alarms": {a: self.status(a, plant) for a in self.ids},
            "active_count": n_act,
            "unacked_count": n_una,
            "highest_priority": top,
            "transitions": tuple(t for t in transitions if t.plant == plant),
            "rejected": tuple(rejected),
        }
