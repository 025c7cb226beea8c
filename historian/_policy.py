"""Pure forwarding decisions: what to send next, how to acknowledge it, how long to back off.

No I/O and no clock of its own: the async forwarder feeds it the store's head, the time and random
numbers, so every decision is testable with plain values (style.md practice 13).

Two streams per sink. Normally there is one: seqs in order, cursor ``acked``. When a connection
starts with more than ``live_split_rows`` unacknowledged rows (after an outage), the forwarder marks
``live_from`` = the current head: rows above it are *live* and sent as soon as they are committed;
rows in (``acked``, ``live_from``] are *backfill*, sent flagged ``historical`` at a limited rate. Each
stream is in seq order; when the backfill reaches ``live_from`` the streams merge again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from historian._store import Cursor

__all__ = ["Backoff", "TokenBucket", "Work", "acknowledge", "next_work", "plan_on_birth", "plan_on_connect"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Work:
    """One batch to send: seqs in (``after``, ``upto``], at most ``limit`` rows."""

    after: int
    upto: int
    limit: int
    historical: bool  # True for backfill of a backlog


def plan_on_connect(cursor: Cursor, head: int, live_split_rows: int) -> Cursor:
    """Split into live + backfill when the backlog on (re)connect is larger than ``live_split_rows``."""
    if cursor.live_from is not None:
        return cursor  # an earlier split is still draining
    if head - cursor.acked > live_split_rows:
        return replace(cursor, live_from=head, live_acked=head)
    return cursor


def plan_on_birth(cursor: Cursor, head: int) -> Cursor:
    """A new birth (Sparkplug): every committed row not yet acknowledged becomes backfill.

    With an earlier split still draining, the new backfill also spans the rows already sent live in
    (``live_from``, ``live_acked``]: they are sent again as historical (at-least-once; a host keeps
    one value per metric and timestamp), since the cursor has room for one hole only.
    """
    if head <= cursor.head and cursor.live_from is None:
        return cursor
    return replace(cursor, live_from=max(head, cursor.head), live_acked=max(head, cursor.head))


def next_work(cursor: Cursor, head: int, batch_rows: int, backfill_budget: int, *,
              backfill_turn: bool = False) -> Work | None:
    """Live data first; then backfill, at most ``backfill_budget`` rows (0 = not now).

    ``backfill_turn`` (the forwarder sets it after a live batch): a pending backfill goes before
    pending live rows, so the two streams alternate. Without it a sink slower than the scan's
    commits (a loaded host) always has live rows waiting and the backlog would never drain."""
    if cursor.live_from is None:
        if head > cursor.acked:
            return Work(after=cursor.acked, upto=head, limit=batch_rows, historical=False)
        return None
    live_acked = cursor.live_acked if cursor.live_acked is not None else cursor.live_from
    backfill = None
    if backfill_budget > 0 and cursor.live_from > cursor.acked:
        backfill = Work(
            after=cursor.acked, upto=cursor.live_from, limit=min(batch_rows, backfill_budget), historical=True
        )
    if head > live_acked and not (backfill_turn and backfill is not None):
        return Work(after=live_acked, upto=head, limit=batch_rows, historical=False)
    return backfill


def acknowledge(cursor: Cursor, work: Work, last_seq: int) -> Cursor:
    """The sink acknowledged every row of ``work`` up to ``last_seq`` (the last seq it contained, or
    ``work.upto`` when the range held no rows)."""
    if not work.historical:
        if cursor.live_from is None:
            return replace(cursor, acked=max(cursor.acked, last_seq))
        return replace(cursor, live_acked=max(cursor.live_acked or 0, last_seq))
    acked = max(cursor.acked, last_seq)
    if cursor.live_from is not None and acked >= cursor.live_from:
        return Cursor(sink=cursor.sink, acked=max(acked, cursor.live_acked or acked))  # streams merge
    return replace(cursor, acked=acked)


class Backoff:
    """Capped exponential backoff with "equal jitter": delay in [d/2, d], d = min(max, initial * 2**n)."""

    def __init__(self, initial: float, maximum: float, rng: Callable[[], float]) -> None:
        self.initial = initial
        self.maximum = maximum
        self._rng = rng
        self.failures = 0

    def next_delay(self) -> float:
        d = min(self.maximum, self.initial * (2.0 ** min(self.failures, 62)))
        self.failures += 1
        return d * (0.5 + 0.5 * self._rng())

    def reset(self) -> None:
        self.failures = 0


class TokenBucket:
    """Rate limiter: ``rate`` rows/s, bursts up to ``burst`` rows. Time comes from the caller."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._t = now

    def available(self, now: float) -> int:
        self._tokens = min(self.burst, self._tokens + (now - self._t) * self.rate)
        self._t = now
        return int(self._tokens)

    def spend(self, n: int) -> None:
        self._tokens -= n

    def wait_for(self, n: int) -> float:
        """Seconds until ``n`` tokens are available (0 when they are)."""
        missing = n - self._tokens
        return 0.0 if missing <= 0 else missing / self.rate
