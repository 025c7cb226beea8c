"""The bridge from the PLC to the historian: snapshots -> samples and events.

:class:`Recorder` is called from the scan thread (``plc.on_snapshot``) and must not block: it filters
each scan with a per-tag exception deadband (PI-style; docs/historian.md) and hands the survivors to
:meth:`historian.Historian.record_many`, which only appends to a bounded in-memory queue.

Per historized tag (``historian:`` block in the tag map, ``enabled``):

* a value is recorded when it moved more than ``deadband`` EU from the last recorded value, when its
  StatusCode changed (always), or when ``max_interval`` seconds passed since the last recorded one;
* when a value is recorded after a quiet spell, the last unrecorded value before it is recorded too
  (the "preceding value"), so a trend keeps the corner before an excursion;
* the first scan records every tag.

Events: the engine's ground-truth events, alarm transitions and the commands applied at each tick.

:class:`HistorianService` is the async context manager ``plc-emulator run`` enters: it opens the
store under ``DATA_DIR``, registers the recorder, builds one forwarder per upstream sink (JSON MQTT,
Sparkplug B; the application runs them as tasks of its one TaskGroup), and provides the health
checks and the Prometheus metrics (labelled by sink).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import structlog

from historian import (
    Event,
    ForwardConfig,
    Forwarder,
    ForwardMetrics,
    Historian,
    HistorianConfig,
    TagInfo,
    check_database,
    move_aside,
)
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.upstream import UpstreamOptions, build_sinks
from plc_emulator.tagmap.model import Tag, TagMap

__all__ = ["HistorianService", "RecordedPlc", "Recorder", "historian_config", "historized_tags"]

log = structlog.get_logger("plc_emulator.recorder")

RESTART_EVENT_COMMIT_S = 5.0  # longest the first scan after a restart waits for its event's commit


class RecordedPlc(Protocol):
    """What the historian needs from the PLC (:class:`~plc_emulator.runtime.plc.PlcRuntime` has it)."""

    def on_snapshot(self, cb: Callable[[Snapshot], None]) -> None: ...

    def on_epoch(self, cb: Callable[[float, int, float], object]) -> None: ...

    @property
    def restarted_from(self) -> int | None: ...

    @property
    def config(self) -> RuntimeConfig: ...


def historized_tags(tagmap: TagMap) -> list[tuple[int, Tag]]:
    """(column in snapshot arrays, tag) of every tag the historian records."""
    return [(i, t) for i, t in enumerate(tagmap.tags) if t.historian is not None and t.historian.enabled]


def historian_config(tagmap: TagMap, retention_hours: float | None = None) -> HistorianConfig:
    s = tagmap.historian
    return HistorianConfig(
        batch_size=s.batch_size,
        commit_interval=s.commit_interval,
        queue_size=s.queue_size,
        retention_hours=retention_hours if retention_hours is not None else s.retention_hours,
        max_db_bytes=s.max_db_bytes,
    )


def _jsonable(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: _jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return str(getattr(obj, "value", obj))


class Recorder:
    """Exception (deadband) filter over snapshots, feeding a :class:`historian.Historian`."""

    def __init__(self, tagmap: TagMap, historian: Historian) -> None:
        self.historian = historian
        tags = historized_tags(tagmap)
        self.names = [t.key for _, t in tags]
        self._cols = np.asarray([i for i, _ in tags], dtype=np.intp)
        self._deadband = np.asarray([t.historian.deadband if t.historian else 0.0 for _, t in tags])
        self._max_interval = np.asarray([t.historian.max_interval if t.historian else 60.0 for _, t in tags])
        n = len(tags)
        self._last_v = np.zeros(n)
        self._last_s = np.zeros(n, dtype=np.uint32)
        self._last_t = np.full(n, -math.inf)
        self._held_v = np.zeros(n)
        self._held_s = np.zeros(n, dtype=np.uint32)
        self._held_t = np.full(n, -math.inf)
        self._held = np.zeros(n, dtype=bool)
        self._first = True
        self.last_tick = -1
        self.last_time = 0.0
        self.recorded = 0
        self.scans = 0
        historian.register_tags(
            TagInfo(name=t.key, device=t.device, unit=t.unit, description=t.description) for _, t in tags
        )

    def on_snapshot(self, snap: Snapshot) -> None:
        """Scan-thread callback: filter this scan and queue samples and events (never blocks)."""
        if snap.tick <= self.last_tick:
            return  # the same tick again (only pacing points changed)
        self.last_tick = snap.tick
        self.last_time = t = float(snap.sim_time)
        self.scans += 1
        rows = self.filter(t, snap.values[self._cols], snap.status[self._cols])
        if rows:
            self.historian.record_many(rows)
            self.recorded += len(rows)
        for ev in self.events(snap):
            self.historian.record_event(ev)

    def filter(
        self, t: float, values: np.ndarray[Any, Any], status: np.ndarray[Any, Any]
    ) -> list[tuple[str, float, float, int]]:
        """The exception filter for one scan -> rows ``(tag, time, value, status)`` to record."""
        if self._first:
            self._first = False
            fire = np.ones(len(self.names), dtype=bool)
            preceding = np.zeros(len(self.names), dtype=bool)
        else:
            both_nan = np.isnan(values) & np.isnan(self._last_v)
            diff = np.abs(values - self._last_v)
            moved = ~both_nan & ((diff > self._deadband) | (np.isnan(values) != np.isnan(self._last_v)))
            fire = moved | (status != self._last_s) | (t - self._last_t >= self._max_interval - 1e-9)
            preceding = fire & self._held & (self._held_t > self._last_t)
        rows: list[tuple[str, float, float, int]] = []
        if preceding.any():
            for k in np.flatnonzero(preceding):
                rows.append(
                    (self.names[k], float(self._held_t[k]), float(self._held_v[k]), int(self._held_s[k]))
                )
        for k in np.flatnonzero(fire):
            rows.append((self.names[k], t, float(values[k]), int(status[k])))
        self._last_v = np.where(fire, values, self._last_v)
        self._last_s = np.where(fire, status, self._last_s)
        self._last_t = np.where(fire, t, self._last_t)
        quiet = ~fire
        self._held = quiet
        self._held_v = np.where(quiet, values, self._held_v)
        self._held_s = np.where(quiet, status, self._held_s)
        self._held_t = np.where(quiet, t, self._held_t)
        return rows

    @staticmethod
    def events(snap: Snapshot) -> Iterable[Event]:
        t = float(snap.sim_time)
        for ev in snap.events:
            yield Event(
                time=t,
                kind=str(getattr(ev, "kind", "ground_truth")),
                source=str(getattr(ev, "target", "")),
                data={"tick": snap.tick, **_jsonable(ev)},
            )
        for cmd in snap.commands:
            yield Event(
                time=t,
                kind="command",
                source=str(cmd.target),
                data={
                    "tick": snap.tick,
                    "command": str(cmd.kind.value),
                    "value": _jsonable(cmd.value),
                    "params": _jsonable(dict(cmd.params)),
                    "source": cmd.source,
                },
            )
        transitions = snap.alarms.get("transitions", ()) if snap.alarms else ()
        for tr in transitions:
            yield Event(time=t, kind="alarm", source=str(getattr(tr, "alarm", "")), data=_jsonable(tr))


class HistorianService:
    """Historian + recorder (+ MQTT forwarders) for one running PLC; an async context manager.

    Enter it before the PLC starts and leave it after the PLC stopped, so the last scans are
    flushed. ``forwarders`` (one per upstream sink) are built on entry but not started: the caller
    runs each ``fwd.run()`` as a task of its TaskGroup and calls ``fwd.stop()`` before leaving.
    """

    def __init__(
        self,
        tagmap: TagMap,
        plc: RecordedPlc,
        *,
        data_dir: Path,
        upstream: UpstreamOptions | None = None,
        retention_hours: float | None = None,
        forward: ForwardConfig | None = None,
        db_name: str = "historian.db",
        repair: bool = False,
    ) -> None:
        self.repair = repair
        self.tagmap = tagmap
        self.plc = plc
        self.path = Path(data_dir) / db_name
        self.upstream = upstream or UpstreamOptions()
        self.config = historian_config(tagmap, retention_hours)
        self.forward_config = forward or ForwardConfig(max_backlog_age=self.upstream.max_backlog_age)
        self.historian: Historian | None = None
        self.recorder: Recorder | None = None
        self.forwarders: list[Forwarder] = []

    async def __aenter__(self) -> HistorianService:
        tm = self.tagmap
        if self.repair and self.path.exists():
            verdict = await asyncio.to_thread(check_database, self.path)
            if verdict != "ok":
                moved = move_aside(self.path, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
                log.warning("historian.moved_aside", path=str(self.path), to=str(moved), check=verdict[:200])
        self.historian = await asyncio.to_thread(
            Historian,
            self.path,
            self.config,
            clock=self._now,
            metadata={"tagmap_sha256": tm.sha256, "tagmap": tm.path, "seed": str(tm.seed), "plant": tm.plant},
        )
        self.recorder = Recorder(tm, self.historian)
        self.plc.on_snapshot(self.recorder.on_snapshot)
        self.plc.on_epoch(self._on_epoch)
        self.forwarders = [Forwarder(self.path, sink, self.forward_config)
                           for sink in build_sinks(self.upstream, tm, self.plc, self.path.parent)]
        log.info("historian.started", path=str(self.path), tags=len(self.recorder.names),
                 sinks=[f.sink.name for f in self.forwarders])
        return self

    async def __aexit__(self, *exc: object) -> None:
        for fwd in self.forwarders:  # normally stopped (and awaited) by the caller already
            fwd.stop()
        if self.historian is not None:
            await asyncio.to_thread(self.historian.close)
            m = self.historian.metrics()
            log.info("historian.stopped", committed=m.committed_rows, dropped=m.dropped_queue)

    def _on_epoch(self, epoch: float, tick: int, sim_time: float) -> None:
        """Scan thread, first scan: a run that continues from a checkpoint gets a ``restart`` event."""
        restarted = self.plc.restarted_from
        if self.historian is None or restarted is None:
            return
        self.historian.record_event(Event(time=sim_time, kind="restart", source="plc", data={
            "tick": tick, "checkpoint_tick": restarted, "mode": self.plc.config.start_mode.value, "epoch": epoch}))
        # committed now, not at the next time-triggered commit (up to commit_interval later): a kill
        # within that second would lose the only record that this restart happened
        if not self.historian.flush(RESTART_EVENT_COMMIT_S):
            log.warning("historian.restart_event_not_committed", tick=tick, waited_s=RESTART_EVENT_COMMIT_S,
                        reason="historian writes are failing; the event stays queued")

    def _now(self) -> float:
        """Retention's "now": the newest simulated time seen (wall clock before the first scan)."""
        return self.recorder.last_time if self.recorder is not None and self.recorder.scans else time.time()

    def health(self) -> tuple[bool, str]:
        """OK while the writer thread lives and commits keep up with what is queued."""
        h = self.historian
        if h is None:
            return False, "historian not started"
        m = h.metrics()
        if not m.writer_alive:
            return False, f"historian writer stopped: {m.last_error or 'unknown'}"
        if m.checking:
            return False, f"historian checking {self.path} before writing ({m.queued} rows waiting)"
        if not m.writing:
            return False, (f"historian cannot write, retrying: {m.last_error}; {m.held + m.queued} rows waiting, "
                           f"{m.dropped_queue} dropped (recorded as gaps)")
        stale = max(10.0, 5 * self.config.commit_interval)
        if m.queued and m.last_commit_monotonic and time.monotonic() - m.last_commit_monotonic > stale:
            return False, f"historian has not committed for {stale:g}s ({m.queued} rows queued)"
        return True, f"historian ok ({m.committed_rows} rows committed)"

    def upstream_health(self) -> tuple[bool, str]:
        """Failing while a sink refuses our credentials/certificates or its backlog is too old."""
        results = [f.health() for f in self.forwarders]
        bad = [reason for ok, reason in results if not ok]
        return (False, "; ".join(bad)) if bad else (True, "; ".join(r for _, r in results))

    def metric_families(self) -> list[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        out: list[Any] = []
        if self.historian is None:
            return out
        m = self.historian.metrics()
        out.append(GaugeMetricFamily("plc_historian_queue_rows", "Samples waiting in memory", value=m.queued))
        out.append(
            CounterMetricFamily(
                "plc_historian_committed_rows", "Samples committed to SQLite", value=m.committed_rows
            )
        )
        dropped = CounterMetricFamily(
            "plc_historian_dropped_rows", "Samples dropped by policy", labels=["reason"]
        )
        dropped.add_metric(["queue_full"], m.dropped_queue)
        dropped.add_metric(["size_cap"], m.size_cap_dropped)
        out.append(dropped)
        out.append(GaugeMetricFamily("plc_historian_writing", "1 while commits succeed", value=float(m.writing)))
        out.append(CounterMetricFamily("plc_historian_write_errors", "Failed commit attempts (retried)",
                                       value=m.write_errors))
        out.append(GaugeMetricFamily("plc_historian_held_rows", "Rows of a failed commit waiting for retry",
                                     value=m.held))
        out.append(
            CounterMetricFamily(
                "plc_historian_retention_deleted_rows",
                "Forwarded samples deleted after the retention window",
                value=m.retention_deleted,
            )
        )
        out.append(
            GaugeMetricFamily(
                "plc_historian_db_bytes", "Used bytes in the historian database", value=m.db_bytes
            )
        )
        out.extend(self._forward_families())
        return out

    def _forward_families(self) -> list[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        specs: list[tuple[type[Any], str, str, Callable[[ForwardMetrics], float]]] = [
            (GaugeMetricFamily, "plc_historian_backlog_rows", "Committed samples not yet acknowledged "
             "(counted in the store, also while disconnected)", lambda f: f.backlog_rows),
            (GaugeMetricFamily, "plc_historian_oldest_unforwarded_age_seconds",
             "Newest committed sample time minus the oldest unacknowledged one",
             lambda f: f.oldest_unforwarded_age_seconds),
            (GaugeMetricFamily, "plc_historian_forward_lag_seconds",
             "Newest committed sample time minus newest acknowledged", lambda f: f.forward_lag_seconds),
            (CounterMetricFamily, "plc_historian_forwarded_rows", "Samples acknowledged by the sink",
             lambda f: f.forwarded_rows),
            (GaugeMetricFamily, "plc_historian_forwarded_per_second", "Forward rate over the last 10 s",
             lambda f: f.forwarded_per_second),
            (CounterMetricFamily, "plc_historian_quarantined_rows", "Samples moved to quarantine",
             lambda f: f.quarantined_rows),
            (GaugeMetricFamily, "plc_historian_forward_connected", "1 while the sink is connected",
             lambda f: 1.0 if f.connected else 0.0),
            (GaugeMetricFamily, "plc_historian_forward_refused",
             "1 while the sink refuses our credentials or certificates", lambda f: 1.0 if f.refused else 0.0),
            (GaugeMetricFamily, "plc_historian_forward_held",
             "1 while a connected sink holds data back (Sparkplug primary host offline)",
             lambda f: 1.0 if f.held else 0.0),
        ]
        metrics = [f.metrics() for f in self.forwarders]
        out: list[Any] = []
        for cls, name, doc, get in specs:
            fam = cls(name, doc, labels=["sink"])
            for m in metrics:
                fam.add_metric([m.sink], get(m))
            out.append(fam)
        return out
