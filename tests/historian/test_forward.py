"""Forward policy (pure) and the forwarder against an in-memory sink: order, acks, quarantine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from historian import (
    Backoff,
    Batch,
    Cursor,
    ForwardConfig,
    Forwarder,
    Historian,
    SinkSession,
    SinkUnavailable,
    Store,
    TokenBucket,
)
from historian._policy import acknowledge, next_work, plan_on_birth, plan_on_connect


class TestPolicy:
    def test_backoff_grows_caps_and_jitters_with_injected_rng(self) -> None:
        """delay_n in [d/2, d], d = min(max, initial * 2**n); the RNG decides where."""
        lo = Backoff(0.5, 4.0, lambda: 0.0)
        hi = Backoff(0.5, 4.0, lambda: 1.0)
        assert [lo.next_delay() for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
        assert [hi.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
        hi.reset()
        assert hi.next_delay() == 0.5

    def test_token_bucket(self) -> None:
        b = TokenBucket(rate=100.0, burst=50.0, now=0.0)
        assert b.available(0.0) == 50
        b.spend(50)
        assert b.available(0.1) == 10
        assert b.wait_for(30) == pytest.approx(0.2)

    def test_split_live_first_then_backfill_then_merge(self) -> None:
        """After an outage: live rows above the split go first; backfill is rate limited; streams merge."""
        c = plan_on_connect(Cursor(sink="s", acked=100), head=5000, live_split_rows=1000)
        assert (c.live_from, c.live_acked) == (5000, 5000)
        w = next_work(c, head=5100, batch_rows=500, backfill_budget=0)
        assert w is not None
        assert (w.after, w.upto, w.historical) == (5000, 5100, False)
        c = acknowledge(c, w, 5100)
        assert next_work(c, head=5100, batch_rows=500, backfill_budget=0) is None
        w = next_work(c, head=5100, batch_rows=500, backfill_budget=200)
        assert w is not None
        assert (w.after, w.limit, w.historical) == (100, 200, True)
        c = acknowledge(c, w, 300)
        assert c.acked == 300
        assert c.live_from == 5000
        w = next_work(c, head=5100, batch_rows=10_000, backfill_budget=10_000)
        assert w is not None
        assert w.upto == 5000
        c = acknowledge(c, w, 5000)
        assert c == Cursor(sink="s", acked=5100)

    def test_backfill_turn_alternates_with_live_rows_that_never_run_dry(self) -> None:
        """A sink slower than the commits always has live rows waiting: after a live batch the
        backfill goes next, so the backlog drains (it starved before: live always went first)."""
        c = Cursor(sink="s", acked=100, live_from=5000, live_acked=5000)
        live = next_work(c, head=5100, batch_rows=500, backfill_budget=200)
        assert live is not None
        assert live.historical is False
        back = next_work(c, head=5100, batch_rows=500, backfill_budget=200, backfill_turn=True)
        assert back is not None
        assert (back.after, back.upto, back.limit, back.historical) == (100, 5000, 200, True)
        # no budget left, or nothing left to backfill: live rows go even on the backfill's turn
        w = next_work(c, head=5100, batch_rows=500, backfill_budget=0, backfill_turn=True)
        assert w is not None
        assert w.historical is False
        done = Cursor(sink="s", acked=5000, live_from=5000, live_acked=5050)
        w = next_work(done, head=5100, batch_rows=500, backfill_budget=200, backfill_turn=True)
        assert w is not None
        assert (w.after, w.historical) == (5050, False)

    def test_small_backlog_is_not_split(self) -> None:
        c = plan_on_connect(Cursor(sink="s", acked=100), head=600, live_split_rows=1000)
        assert c.live_from is None

    def test_birth_makes_every_unacknowledged_row_history(self) -> None:
        """A Sparkplug birth: (acked, head] becomes backfill; with an earlier split still draining the
        backfill widens over the rows sent live (sent again, as historical), nothing is skipped."""
        assert plan_on_birth(Cursor(sink="s", acked=100), head=100) == Cursor(sink="s", acked=100)
        c = plan_on_birth(Cursor(sink="s", acked=100), head=130)
        assert (c.acked, c.live_from, c.live_acked) == (100, 130, 130)
        draining = Cursor(sink="s", acked=100, live_from=130, live_acked=150)
        c = plan_on_birth(draining, head=170)
        assert (c.acked, c.live_from, c.live_acked) == (100, 170, 170)
        w = next_work(c, head=170, batch_rows=1000, backfill_budget=1000)
        assert w is not None
        assert (w.after, w.upto, w.historical) == (100, 170, True)
        assert acknowledge(c, w, 170) == Cursor(sink="s", acked=170)


class FakeSink:
    """In-memory sink: rejects batches containing a poison seq; can be 'down'."""

    name = "fake"

    def __init__(self, poison: int | None = None) -> None:
        self.poison = poison
        self.down = False
        self.batches: list[Batch] = []
        self.connects = 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SinkSession]:
        if self.down:
            raise SinkUnavailable("down")
        self.connects += 1
        yield self

    def alive(self) -> bool:
        return not self.down

    def held(self) -> bool:
        return False

    def epoch(self) -> int:
        return 0

    async def send(self, batch: Batch) -> None:
        if self.down:
            raise SinkUnavailable("lost")
        if self.poison is not None and batch.first_seq <= self.poison <= batch.last_seq:
            raise ValueError(f"schema mismatch at seq {self.poison}")
        self.batches.append(batch)


async def _until(pred, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def _fill(db: Path, n: int) -> None:
    with Historian(db) as h:
        h.record_many((f"D{i % 2}.x", float(i), float(i), 0) for i in range(n))


class TestForwarder:
    async def test_poison_batch_goes_to_quarantine_and_the_rest_flows(self, tmp_path: Path) -> None:
        """A batch failing max_attempts times is quarantined with its error; later data still flows;
        retry delivers it once the sink accepts it; drop removes it with a counter."""
        db = tmp_path / "h.db"
        _fill(db, 1000)
        sink = FakeSink(poison=450)
        cfg = ForwardConfig(
            batch_rows=100, max_attempts=3, backoff_initial=0.001, backoff_max=0.002, poll_interval=0.01
        )
        fwd = Forwarder(db, sink, cfg, rng=lambda: 0.5)
        task = asyncio.create_task(fwd.run())
        try:
            await _until(lambda: fwd.metrics().forwarded_rows == 900, 20, "900 rows forwarded")
            m = fwd.metrics()
            assert (m.quarantined_batches, m.quarantined_rows) == (1, 100)
            sent = [r.seq for b in sink.batches for r in b.rows]
            assert sent == [s for s in range(1, 1001) if not 401 <= s <= 500]
            with Store(db) as st:
                (entry,) = st.quarantine_list()
                assert (entry.first_seq, entry.last_seq, entry.attempts) == (401, 500, 3)
                assert "schema mismatch at seq 450" in entry.error
                sink.poison = None
                st.quarantine_set(entry.id, state="retry")
            await _until(lambda: fwd.metrics().forwarded_rows == 1000, 20, "retried batch delivered")
            assert [r.seq for r in sink.batches[-1].rows] == list(range(401, 501))
            with Store(db) as st:
                assert st.quarantine_list() == []
        finally:
            fwd.stop()
            await asyncio.wait_for(task, 10)

    async def test_outage_backs_off_and_resumes_without_loss(self, tmp_path: Path) -> None:
        """Sink down: no cursor movement, exponential backoff; up again: everything delivered in order."""
        db = tmp_path / "h.db"
        _fill(db, 500)
        sink = FakeSink()
        sink.down = True
        delays: list[float] = []

        async def fake_sleep(s: float) -> None:
            delays.append(s)
            if len(delays) == 4:
                sink.down = False
            await asyncio.sleep(0)

        fwd = Forwarder(
            db,
            sink,
            ForwardConfig(batch_rows=64, backoff_initial=1.0, backoff_max=4.0),
            rng=lambda: 1.0,
            sleep=fake_sleep,
        )
        task = asyncio.create_task(fwd.run())
        try:
            await _until(lambda: fwd.metrics().forwarded_rows == 500, 20, "500 rows")
            assert delays[:4] == [1.0, 2.0, 4.0, 4.0]
            assert [r.seq for b in sink.batches for r in b.rows] == list(range(1, 501))
            with Store(db) as st:
                assert st.cursor("fake").acked == 500
        finally:
            fwd.stop()
            await asyncio.wait_for(task, 10)

    async def test_cursor_survives_restart(self, tmp_path: Path) -> None:
        """A new forwarder resumes after the durable cursor: nothing is sent twice."""
        db = tmp_path / "h.db"
        _fill(db, 300)
        first = FakeSink()
        fwd = Forwarder(db, first, ForwardConfig(batch_rows=100, poll_interval=0.01))
        task = asyncio.create_task(fwd.run())
        await _until(lambda: fwd.metrics().forwarded_rows == 300, 20, "first run")
        fwd.stop()
        await asyncio.wait_for(task, 10)
        with Historian(db) as h:
            h.record_many(("D0.x", 1e4 + i, 0.0, 0) for i in range(50))
        second = FakeSink()
        fwd = Forwarder(db, second, ForwardConfig(batch_rows=100, poll_interval=0.01))
        task = asyncio.create_task(fwd.run())
        await _until(lambda: fwd.metrics().forwarded_rows == 50, 20, "second run")
        fwd.stop()
        await asyncio.wait_for(task, 10)
        assert [r.seq for b in second.batches for r in b.rows] == list(range(301, 351))


class _RefusingSink:
    """Refuses clearly once, then fails ambiguously (a timeout) on every later attempt."""

    name = "refusing"

    def __init__(self) -> None:
        self.attempts = 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SinkSession]:
        self.attempts += 1
        if self.attempts == 1:
            raise SinkUnavailable("mqtts://b: TLS refused: the broker does not trust our client certificate",
                                  refused=True)
        raise SinkUnavailable("mqtts://b: timed out (EOF occurred in violation of protocol)")
        yield  # pragma: no cover


async def test_an_ambiguous_failure_does_not_overturn_a_clear_refusal(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _fill(db, 10)
    sink = _RefusingSink()
    fwd = Forwarder(db, sink, ForwardConfig(backoff_initial=0.001, backoff_max=0.002, poll_interval=0.01),
                    rng=lambda: 0.5)
    task = asyncio.create_task(fwd.run())
    try:
        await _until(lambda: sink.attempts >= 3, 10, "three attempts")
    finally:
        fwd.stop()
        await asyncio.wait_for(task, 10)
    assert fwd.metrics().refused
    ok, reason = fwd.health()
    assert not ok
    assert "does not trust our client certificate" in reason, reason
