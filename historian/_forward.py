"""The async forwarder: moves committed rows from the store to one sink, and sleeps.

Decisions (what next, how to acknowledge, backoff) come from :mod:`historian._policy`. Database
calls run in a worker thread (``asyncio.to_thread``) on the forwarder's own connection, so the event
loop never waits on SQLite. Guarantees:

* the cursor moves only after ``SinkSession.send`` returned (the broker acknowledged the batch);
* each stream is sent in seq order, one batch at a time, so a crash or disconnect can duplicate
  only the batch that was in flight;
* connection failures back off exponentially with jitter (RNG and clock injected) and never count
  against a batch; a batch that fails ``max_attempts`` times while connected is moved to quarantine
  (the cursor passes it, other data flows) with its error, for ``historian quarantine retry|drop``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from historian._model import ForwardConfig
from historian._policy import (
    Backoff,
    TokenBucket,
    Work,
    acknowledge,
    next_work,
    plan_on_birth,
    plan_on_connect,
)
from historian._sink import Batch, ForwardRow, Sink, SinkSession, SinkUnavailable, rows_to_json
from historian._store import Cursor, Store

__all__ = ["ForwardMetrics", "Forwarder"]

_log = structlog.get_logger("historian.forwarder")


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardMetrics:
    sink: str
    connected: bool
    backlog_rows: int  # committed rows not yet acknowledged (counted in the store, also while offline)
    oldest_unforwarded_age_seconds: float  # newest committed sample time - oldest unacknowledged one
    forward_lag_seconds: float  # time of newest committed sample - time of newest acknowledged one
    forwarded_rows: int  # acknowledged by the sink (this process)
    forwarded_per_second: float  # over the last 10 s
    quarantined_batches: int  # moved to quarantine (this process)
    quarantined_rows: int
    reconnects: int
    last_error: str
    refused: bool  # the last connect was refused (credentials, certificates): retrying alone won't fix it
    held: bool  # connected, but the far end wants data kept in the store (Sparkplug host offline)


class Forwarder:
    """Forward one database to one sink until ``stop()`` (use ``run()`` as a task)."""

    def __init__(
        self,
        path: str | Path,
        sink: Sink,
        config: ForwardConfig | None = None,
        *,
        rng: Callable[[], float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.path = Path(path)
        self.sink = sink
        self.config = config or ForwardConfig()
        self._mono = monotonic
        self._sleep = sleep
        self._backoff = Backoff(
            self.config.backoff_initial, self.config.backoff_max, rng or random.Random().random
        )
        self._store: Store | None = None
        self._cursor: Cursor | None = None
        self._devices: dict[int, tuple[str, str]] = {}
        self._attempts: dict[tuple[bool, int], int] = {}
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.connected = False
        self._forwarded = 0
        self._window: deque[tuple[float, int]] = deque()
        self._q_batches = 0
        self._q_rows = 0
        self._reconnects = 0
        self._backlog = 0
        self._oldest_age = 0.0
        self._lag = 0.0
        self._next_gauges = 0.0
        self._refused = False
        self._logged_error = ""
        self._last_error = ""
        self._next_retry_check = 0.0
        self._epoch = 0  # birth count of the current session last planned for
        self._is_held = False

    # -- control ---------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def poke(self) -> None:
        """New data was committed: look at the store now instead of at the next poll."""
        self._wake.set()

    def metrics(self) -> ForwardMetrics:
        now = self._mono()
        while self._window and now - self._window[0][0] > 10.0:
            self._window.popleft()
        rate = sum(n for _, n in self._window) / 10.0
        return ForwardMetrics(
            sink=self.sink.name,
            connected=self.connected,
            backlog_rows=self._backlog,
            oldest_unforwarded_age_seconds=self._oldest_age,
            forward_lag_seconds=self._lag,
            forwarded_rows=self._forwarded,
            forwarded_per_second=rate,
            quarantined_batches=self._q_batches,
            quarantined_rows=self._q_rows,
            reconnects=self._reconnects,
            last_error=self._last_error,
            refused=self._refused,
            held=self._is_held,
        )

    def health(self) -> tuple[bool, str]:
        """Failing while the sink refuses us, or while the backlog is older than ``max_backlog_age``."""
        if self._refused:
            return False, f"{self.sink.name}: {self._last_error}"
        if self._oldest_age > self.config.max_backlog_age:
            return False, (
                f"{self.sink.name}: {self._backlog} rows unforwarded, oldest {self._oldest_age:.0f}s old "
                f"(bound {self.config.max_backlog_age:g}s; {self._last_error or 'connected'})"
            )
        state = "connected" if self.connected else f"disconnected ({self._last_error or 'connecting'})"
        if self._is_held:
            state += ", holding data (far end not ready)"
        return True, f"{self.sink.name}: {state}, {self._backlog} rows behind"

    async def run(self) -> None:
        """Connect, forward, back off on failure; returns after ``stop()``."""
        self._store = await asyncio.to_thread(Store, self.path)
        try:
            self._cursor = await asyncio.to_thread(self._store.cursor, self.sink.name)
            while not self._stop.is_set():
                try:
                    async with self.sink.session() as session:
                        self.connected = True
                        self._refused = False
                        self._logged_error = ""
                        self._backoff.reset()
                        await self._forward(session)
                except SinkUnavailable as exc:
                    # a clear refusal stands until a session succeeds: an ambiguous failure after it (TLS 1.3
                    # sometimes delivers the broker's certificate alert only as an EOF, i.e. a timeout here)
                    # does not overturn the diagnosis on /health and in the metrics
                    if exc.refused or not self._refused:
                        self._last_error = str(exc)
                        self._refused = exc.refused
                finally:
                    if self.connected:
                        self._reconnects += 1
                    self.connected = False
                    self._is_held = False
                if self._stop.is_set():
                    break
                delay = self._backoff.next_delay()
                self._log_failure(delay)
                await self._offline_pause(delay)
        finally:
            await asyncio.to_thread(self._store.close)

    def _log_failure(self, delay: float) -> None:
        """A refusal is one error line (again only when the reason changes); outages log each backoff."""
        fields = {"sink": self.sink.name, "delay": round(delay, 3), "failures": self._backoff.failures}
        if not self._refused:
            _log.info("historian.forward_backoff", **fields, error=self._last_error)
        elif self._last_error != self._logged_error:
            self._logged_error = self._last_error
            _log.error("historian.forward_refused", **fields, reason=self._last_error)
        else:
            _log.debug("historian.forward_backoff", **fields, error=self._last_error)

    async def _offline_pause(self, delay: float) -> None:
        """Back off, refreshing the backlog gauges from the store meanwhile (they must not freeze)."""
        assert self._store is not None
        end = self._mono() + delay
        while not self._stop.is_set():
            await self._update_gauges(await asyncio.to_thread(self._store.max_seq))
            if self._sleep is not None:  # injected clock: one sleep of the whole delay
                await self._sleep(delay)
                return
            left = end - self._mono()
            if left <= 0:
                return
            await self._pause(min(left, self.config.gauge_interval))

    # -- the forwarding loop ---------------------------------------------------------------------
    async def _forward(self, session: SinkSession) -> None:
        assert self._store is not None
        assert self._cursor is not None
        store, cfg = self._store, self.config
        head = await asyncio.to_thread(store.max_seq)
        planned = plan_on_connect(self._cursor, head, cfg.live_split_rows)
        if planned != self._cursor:
            _log.info(
                "historian.backfill_start",
                sink=self.sink.name,
                backlog=head - self._cursor.acked,
                live_from=planned.live_from,
            )
            await self._save(planned)
        bucket = TokenBucket(cfg.backfill_rate, max(cfg.backfill_rate, float(cfg.batch_rows)), self._mono())
        self._epoch = 0
        backfill_turn = False  # after a live batch, a pending backfill batch goes next
        while not self._stop.is_set():
            if await self._held(session):
                continue
            await self._retry_quarantined(session)
            head = await asyncio.to_thread(store.max_seq)
            cur = self._cursor
            work = next_work(cur, head, cfg.batch_rows, bucket.available(self._mono()), backfill_turn=backfill_turn)
            await self._update_gauges(head, force=work is None and self._backlog > 0)
            if work is None:
                if cur.live_from is not None and cur.live_from > cur.acked:
                    wait = min(
                        cfg.poll_interval, bucket.wait_for(min(cfg.batch_rows, cur.live_from - cur.acked))
                    )
                else:
                    wait = cfg.poll_interval
                await self._pause(wait, wakeable=True)
                continue
            rows = await asyncio.to_thread(self._read, work)
            if not rows:  # only holes (dropped by policy) in this range
                await self._save(acknowledge(cur, work, work.upto))
                continue
            batch = Batch(
                first_seq=rows[0].seq, last_seq=rows[-1].seq, rows=tuple(rows), historical=work.historical
            )
            key = (work.historical, batch.first_seq)
            try:
                await session.send(batch)
            except SinkUnavailable:
                self._attempts[key] = self._attempts.get(key, 0) + 1
                if self._attempts[key] >= cfg.max_attempts:
                    await self._quarantine(cur, work, batch, "connection lost while sending, repeatedly")
                raise
            except Exception as exc:
                self._attempts[key] = self._attempts.get(key, 0) + 1
                self._last_error = f"{type(exc).__name__}: {exc}"
                _log.warning(
                    "historian.batch_failed",
                    sink=self.sink.name,
                    first_seq=batch.first_seq,
                    attempts=self._attempts[key],
                    error=self._last_error,
                )
                if self._attempts[key] >= cfg.max_attempts:
                    await self._quarantine(cur, work, batch, self._last_error)
                else:
                    await self._pause(self._backoff.next_delay())
                continue
            self._attempts.pop(key, None)
            self._backoff.reset()
            backfill_turn = not work.historical
            if work.historical:
                bucket.spend(len(rows))
            await self._save(acknowledge(cur, work, batch.last_seq))
            self._count(len(rows))
            if cur.live_from is not None and self._cursor.live_from is None:
                _log.info("historian.backfill_done", sink=self.sink.name, acked=self._cursor.acked)

    async def _held(self, session: SinkSession) -> bool:
        """True (after a poll interval) while the session holds data back; re-plans after a birth."""
        assert self._store is not None
        if not session.alive():
            raise SinkUnavailable("connection lost")
        self._is_held = session.held()
        if self._is_held:  # e.g. Sparkplug primary host offline: the data stays in the store
            await self._update_gauges(await asyncio.to_thread(self._store.max_seq))
            await self._pause(self.config.poll_interval)
            return True
        if session.epoch() != self._epoch:  # a new birth: everything committed before it is history
            self._epoch = session.epoch()
            await self._replan_after_birth()
        return False

    async def _replan_after_birth(self) -> None:
        assert self._store is not None
        assert self._cursor is not None
        head = await asyncio.to_thread(self._store.max_seq)
        planned = plan_on_birth(self._cursor, head)
        if planned != self._cursor:
            _log.info("historian.backfill_start", sink=self.sink.name, backlog=head - self._cursor.acked,
                      live_from=planned.live_from, reason="birth")
            await self._save(planned)

    def _read(self, work: Work) -> list[ForwardRow]:
        assert self._store is not None
        raw = self._store.read_seq_range(work.after, work.upto, work.limit)
        if any(r[1] not in self._devices for r in raw):
            self._devices = {i: (t.name, t.device) for i, t in self._store.tag_infos().items()}
        out = []
        for seq, tid, t, v, st in raw:
            name, device = self._devices.get(tid, (f"tag{tid}", ""))
            out.append(ForwardRow(seq, name, device, t, v, st))
        return out

    async def _save(self, cursor: Cursor) -> None:
        assert self._store is not None
        await asyncio.to_thread(self._store.set_cursor, cursor, time.time())
        self._cursor = cursor

    def _count(self, n: int) -> None:
        self._forwarded += n
        self._window.append((self._mono(), n))
        if len(self._window) > 10_000:
            self._window.popleft()

    async def _update_gauges(self, head: int, *, force: bool = False) -> None:
        """Backlog rows (counted), oldest unforwarded age and lag; at most every ``gauge_interval``."""
        assert self._store is not None
        assert self._cursor is not None
        now = self._mono()
        if not force and now < self._next_gauges:
            return
        self._next_gauges = now + self.config.gauge_interval
        cur = self._cursor
        self._backlog, oldest = await asyncio.to_thread(self._store.backlog, cur, head)
        if self._backlog == 0:
            self._lag = 0.0
            self._oldest_age = 0.0
            return
        newest = await asyncio.to_thread(self._store.time_of, head)
        self._oldest_age = 0.0 if newest is None or oldest is None else max(0.0, newest - oldest)
        if head <= cur.head:
            self._lag = 0.0
            return
        acked = await asyncio.to_thread(self._store.time_of, cur.head) if cur.head > 0 else None
        if newest is None:
            self._lag = 0.0
        elif acked is None:
            first = await asyncio.to_thread(self._store.time_of_first)
            self._lag = max(0.0, newest - (first if first is not None else newest))
        else:
            self._lag = max(0.0, newest - acked)

    async def _quarantine(self, cur: Cursor, work: Work, batch: Batch, error: str) -> None:
        assert self._store is not None
        attempts = self._attempts.pop((work.historical, batch.first_seq), 0)
        entry = await asyncio.to_thread(
            self._store.quarantine_add,
            sink=self.sink.name,
            first_seq=batch.first_seq,
            last_seq=batch.last_seq,
            rows=len(batch.rows),
            attempts=attempts,
            error=error,
            payload=[
                {**d, "device": r.device} for d, r in zip(rows_to_json(batch.rows), batch.rows, strict=True)
            ],
            now=time.time(),
        )
        self._q_batches += 1
        self._q_rows += len(batch.rows)
        _log.error(
            "historian.quarantined",
            sink=self.sink.name,
            entry=entry,
            first_seq=batch.first_seq,
            last_seq=batch.last_seq,
            rows=len(batch.rows),
            error=error,
        )
        await self._save(acknowledge(cur, work, batch.last_seq))

    async def _retry_quarantined(self, session: SinkSession) -> None:
        assert self._store is not None
        now = self._mono()
        if now < self._next_retry_check:
            return
        self._next_retry_check = now + 1.0
        entries = await asyncio.to_thread(self._store.quarantine_list, "retry")
        for e in entries:
            if e.sink != self.sink.name:
                continue
            payload = await asyncio.to_thread(self._store.quarantine_payload, e.id)
            rows = tuple(
                ForwardRow(
                    int(d["seq"]),
                    str(d["tag"]),
                    str(d.get("device", "")),
                    float(d["time"]),
                    float("nan") if d["value"] is None else float(d["value"]),
                    int(d["status"]),
                )
                for d in payload
            )
            try:
                await session.send(
                    Batch(first_seq=e.first_seq, last_seq=e.last_seq, rows=rows, historical=True)
                )
            except SinkUnavailable:
                raise
            except Exception as exc:
                err = f"{type(exc).__name__}: {exc}"
                await asyncio.to_thread(
                    self._store.quarantine_set, e.id, state="held", attempts=e.attempts + 1, error=err
                )
                _log.warning("historian.quarantine_retry_failed", entry=e.id, error=err)
                continue
            await asyncio.to_thread(self._store.quarantine_delete, e.id)
            self._count(len(rows))
            _log.info("historian.quarantine_delivered", entry=e.id, rows=len(rows))

    async def _pause(self, seconds: float, *, wakeable: bool = False) -> None:
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        waiter = self._wake if wakeable else self._stop
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await waiter.wait()
        except TimeoutError:
            pass
        if wakeable:
            self._wake.clear()
