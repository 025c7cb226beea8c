"""The live PLC: a scan thread that owns the :class:`~plc_emulator.scan.ScanCycle` and paces it.

Threads: the scan thread (``plc[engine].scan``) is the only writer of the engine state and of the
current snapshot; everything else (adapters, HTTP, tests) runs on the asyncio loop and talks to it
through a lock-protected command queue and pacing flags, and reads the current snapshot with one
reference read.

Pacing modes, switchable at any time (also by client writes to ``runtime.paused``,
``runtime.speed`` and ``runtime.step``):

* real time (``speed=1``) and ``speed=N``: scan k starts at ``t0 + k * period / speed`` (absolute
  deadlines, no drift);
* as fast as possible (``speed=0``);
* paused; ``step(n)`` then advances exactly ``n`` ticks (while running, ``step(n)`` pauses first).

Commands submitted before a tick starts are applied at that tick, in arrival order, after the
scenario's commands for that tick, and journaled with it. On stop, commands still queued are applied
in one final tick, so nothing accepted is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import structlog

from plc_emulator.commands import Command, CommandKind
from plc_emulator.errors import EmulatorError
from plc_emulator.image.memory import WriteOverlay
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.runtime.checkpoint import CheckpointWriter, capture, restore
from plc_emulator.runtime.config import RuntimeConfig
from plc_emulator.runtime.epoch import start_time
from plc_emulator.runtime.journal import JournalHeader, JournalWriter
from plc_emulator.runtime.pacing import Pacer, ScanStats, check_speed
from plc_emulator.scan import RuntimeValues, ScanCycle
from plc_emulator.tagmap.model import TagMap

__all__ = ["HealthStatus", "PlcRuntime", "RuntimeStopped", "SnapshotCallback"]

log = structlog.get_logger("plc_emulator.runtime")

SnapshotCallback = Callable[[Snapshot], object]

OVERRUN_LOG_INTERVAL = 5.0  # s between "scan.overrun" log lines during a burst
MAX_COMMAND_LOG_LINES = 20  # more commands than this in one tick: one summary line instead


class RuntimeStopped(EmulatorError):
    """The runtime is stopping or stopped; no more commands are accepted."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HealthStatus:
    ok: bool
    reason: str
    detail: dict[str, float | int | str | bool]


@dataclasses.dataclass(slots=True, kw_only=True)
class _Batch:
    """What the scan thread does next: one tick (with its commands) or a republish."""

    republish: bool = False
    commands: list[Command] = dataclasses.field(default_factory=list)
    paused: bool = False
    speed: float = 1.0
    planned: float | None = None  # planned start (None: unpaced - max speed, step, final drain)
    start: float = 0.0


class PlcRuntime:
    """``async with PlcRuntime(tagmap, config) as plc:`` starts the scan thread (and nothing else)."""

    def __init__(self, tagmap: TagMap, config: RuntimeConfig | None = None) -> None:
        self.tagmap = tagmap
        self.config = cfg = config or RuntimeConfig()
        self._restart_cmds: list[Command] = []
        self._first_scan_done = False
        self.period = float(tagmap.scan_period)
        self.cycle = self._build_cycle(self._epoch_now(-math.inf))
        self.seed = self.cycle.seed
        self.stats = ScanStats()
        self._clock = cfg.clock
        self._overlay = WriteOverlay(tagmap, self.cycle.image)  # queued writes are readable at once
        # a restart's memory writes (applied at the first tick) are PLC memory from the start: served
        # before the first scan too (the app resumes the scan thread only once the servers listen)
        self._snapshot: Snapshot = self._overlay.apply(self.cycle.snapshot, self._restart_cmds)
        self._cond = threading.Condition()
        # --- guarded by _cond ---
        self._queue: list[Command] = []
        self._paused = bool(cfg.paused)
        self._speed = check_speed(cfg.speed)
        self._steps = 0
        self._repace = True  # re-anchor the pacer before the next scan
        # pacing points differ from the tick-0 snapshot's defaults (running, speed 1): republish it
        self._republish = self._paused or self._speed != 1.0
        self._stopping = False
        self._scheduled_tick = self.cycle.tick  # tick of the last scan started (or being run)
        self._resumed_at = 0.0
        # --- scan thread only ---
        self._pacer = Pacer(self.period, self._speed, now=0.0, tick=1, max_lag=cfg.max_lag)
        self._journal: JournalWriter | None = None
        self.checkpoints: CheckpointWriter | None = None
        self._next_checkpoint = math.inf
        self._epoch_callbacks: list[Callable[[float, int, float], object]] = []
        self._last_overrun_log = -math.inf
        self._overruns_logged = 0
        self._callbacks: list[SnapshotCallback] = []
        self._failed_callbacks: set[int] = set()
        self._thread: threading.Thread | None = None
        self._crash: BaseException | None = None
        self._finished = False  # scan thread has exited
        self._reached_end = False  # stopped because stop_at_tick was reached
        # --- asyncio side ---
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick_event: asyncio.Event | None = None
        self._done: asyncio.Future[None] | None = None
        self._notify_pending = False
        self._runtime_cols = {name: np.asarray([i for i, t in enumerate(tagmap.tags) if t.signal == name],
                                               dtype=np.intp)
                              for name in ("runtime.paused", "runtime.speed")}

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.stop()
        await self.join(raise_crash=et is None)

    async def start(self) -> None:
        if self._thread is not None:
            raise EmulatorError("runtime already started")
        self._loop = asyncio.get_running_loop()
        self._tick_event = asyncio.Event()
        self._done = self._loop.create_future()
        if self.config.journal is not None:
            self._journal = JournalWriter(self.config.journal)  # header at the first scan (epoch fixed)
        if self.config.checkpoint_path is not None:
            self.checkpoints = CheckpointWriter(Path(self.config.checkpoint_path))
            self._next_checkpoint = self._clock() + self.config.checkpoint_interval
        self.stats.last_start = self._resumed_at = now = self._clock()
        self.stats.overrun_history.append((now, 0))
        self._thread = threading.Thread(target=self._thread_main, name="plc[engine].scan", daemon=True)
        self._thread.start()
        log.info("plc.started", tagmap=self.tagmap.name, tagmap_sha256=self.tagmap.sha256[:12],
                 seed=self.seed,
                 period_ms=round(self.period * 1000, 3), speed=self._speed, paused=self._paused,
                 journal=str(self.config.journal) if self.config.journal else None)

    def stop(self) -> None:
        """Ask the scan thread to stop (after applying whatever is still queued). Idempotent."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    async def join(self, *, raise_crash: bool = True) -> None:
        """Wait until the scan thread has exited; re-raise its crash if it had one."""
        if self._done is None:
            return
        await asyncio.shield(self._done)
        if self._crash is not None and raise_crash:
            raise EmulatorError(f"scan thread crashed: {self._crash!r}") from self._crash

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._finished

    @property
    def reached_end(self) -> bool:
        """True once the scan thread stopped because ``stop_at_tick`` was reached."""
        return self._reached_end

    # ------------------------------------------------------------------ epoch, restore, checkpoints
    def _epoch_now(self, floor: float) -> float:
        """The epoch to use if the clock were taken now (see runtime/epoch.py)."""
        plan = self.config.epoch
        ck = self.config.restore
        if plan is None:
            return self.tagmap.epoch
        if plan.pinned is not None:
            return plan.pinned
        tick = ck.tick if ck is not None else 0
        floor = max(floor, plan.floor, ck.sim_time if ck is not None else -math.inf)
        return start_time(self.config.wall_clock(), self.period, floor) - tick * self.period

    def _build_cycle(self, epoch: float) -> ScanCycle:
        tm = self.tagmap if epoch == self.tagmap.epoch else dataclasses.replace(self.tagmap, epoch=epoch)
        cycle = ScanCycle(tm, seed=self.config.seed)
        ck = self.config.restore
        if ck is not None:
            self._restart_cmds = restore(cycle, ck, self.config.start_mode)
        return cycle

    def _first_scan(self) -> bool:
        """Before the first tick: a wall-clock run takes the clock now (never behind what was
        published), the journal gets its header, a restart is logged. True if the cycle was rebuilt."""
        self._first_scan_done = True
        rebuilt = False
        plan = self.config.epoch
        if plan is not None and plan.pinned is None:
            epoch = self._epoch_now(self._snapshot.sim_time)
            if epoch > self.cycle.tagmap.epoch:
                self.cycle = self._build_cycle(epoch)
                with self._cond:  # writes accepted before the first scan stay visible (PLC memory)
                    self._snapshot = self._overlay.apply(self.cycle.snapshot, [*self._restart_cmds, *self._queue])
                rebuilt = True
        self._begin_journal()
        ck = self.config.restore
        if ck is not None:
            log.info("plc.restart", mode=self.config.start_mode.value, tick=self.cycle.tick,
                     downtime_s=round(self.cycle.sim_time - ck.sim_time, 3), checkpoint=ck.path,
                     resets=len(self._restart_cmds))
        for cb in self._epoch_callbacks:
            cb(self.cycle.tagmap.epoch, self.cycle.tick, self.cycle.sim_time)
        return rebuilt

    def _begin_journal(self) -> None:
        if self._journal is None:
            return
        ck = self.config.restore
        self._journal.begin(JournalHeader(
            tagmap_sha256=self.tagmap.sha256, seed=self.seed, dt=self.period, epoch=self.cycle.tagmap.epoch,
            start_tick=self.cycle.tick, checkpoint_sha256=ck.sha256 if ck is not None else None,
            start_mode=self.config.start_mode.value if ck is not None else None))

    def on_epoch(self, cb: Callable[[float, int, float], object]) -> None:
        """``cb(epoch, tick, sim_time)`` from the scan thread once simulated time is fixed (first scan)."""
        self._epoch_callbacks.append(cb)

    @property
    def epoch(self) -> float:
        return self.cycle.tagmap.epoch

    @property
    def restarted_from(self) -> int | None:
        """Tick of the checkpoint this run continued from (None: a fresh plant)."""
        return self.config.restore.tick if self.config.restore is not None else None

    def _memory(self) -> dict[str, float]:
        snap = self._snapshot
        return {t.key: float(snap.values[i]) for i, t in enumerate(self.tagmap.tags) if t.access.value == "rw"}

    def _maybe_checkpoint(self, now: float, *, final: bool = False) -> None:
        w = self.checkpoints
        if w is None or (not final and now < self._next_checkpoint):
            return
        self._next_checkpoint = now + self.config.checkpoint_interval
        t0 = self._clock()
        cap = capture(self.cycle, wall_time=self.config.wall_clock(), memory=self._memory())
        took = self._clock() - t0
        w.stats.last_capture_s = took
        w.stats.max_capture_s = max(w.stats.max_capture_s, took)
        if final:
            w.close(cap)
        else:
            w.submit(cap)

    # ------------------------------------------------------------------ public API
    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def tick(self) -> int:
        return self._snapshot.tick

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def pacing_reanchors(self) -> int:
        """Times pacing re-anchored after falling more than ``max_lag`` behind."""
        return self._pacer.reanchors

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    def submit(self, cmd: Command) -> None:
        """Queue a validated command for the next tick (thread-safe).

        ``runtime.*`` writes (pause, speed, step) act at once and are not queued or journaled.
        Raises :class:`RuntimeStopped` once stopping, and :class:`EmulatorError` when the queue is full.
        """
        if cmd.target.startswith("runtime."):
            self._control(cmd)
            return
        with self._cond:
            if self._stopping or self._finished:
                raise RuntimeStopped("the PLC is stopping; command not accepted")
            if len(self._queue) >= self.config.max_queue:
                raise EmulatorError(f"command queue full ({self.config.max_queue} pending)")
            self._queue.append(cmd)
            self._publish_overlay((cmd,))

    def _publish_overlay(self, cmds: Sequence[Command]) -> None:
        """Under the lock: show accepted writes at once (PLC memory); the scan thread re-runs callbacks."""
        snap = self._overlay.apply(self._snapshot, cmds)
        if snap is not self._snapshot:
            self._snapshot = snap
            self._republish = True
            self._cond.notify_all()

    def submit_many(self, cmds: Sequence[Command]) -> None:
        """Queue several commands atomically (all applied at the same tick, in order)."""
        if any(c.target.startswith("runtime.") for c in cmds):
            for c in cmds:
                self.submit(c)
            return
        with self._cond:
            if self._stopping or self._finished:
                raise RuntimeStopped("the PLC is stopping; command not accepted")
            if len(self._queue) + len(cmds) > self.config.max_queue:
                raise EmulatorError(f"command queue full ({self.config.max_queue} pending)")
            self._queue.extend(cmds)
            self._publish_overlay(cmds)

    def on_snapshot(self, cb: SnapshotCallback) -> None:
        """Call ``cb(snapshot)`` from the scan thread after each publish.

        It must not block (it delays the scan; hand work over to another thread or loop). Exceptions
        are caught, counted (``stats.callback_errors``) and logged once per callback. A callback may
        also be called again for the same tick when only the pacing points (paused, speed) change.
        """
        self._callbacks.append(cb)

    def pause(self) -> None:
        with self._cond:
            if not self._paused:
                self._paused = True
                self._show_pacing()
        log.info("plc.paused", tick=self.tick)

    def resume(self) -> None:
        with self._cond:
            if self._paused:
                self._paused = False
                self._steps = 0
                self._repace = True
                self._resumed_at = self._clock()
                self._show_pacing()
        log.info("plc.resumed", tick=self.tick, speed=self._speed)

    def step(self, n: int = 1) -> int:
        """Advance exactly ``n`` ticks (pausing first if running); returns the tick that will be reached."""
        n = int(n)
        if n < 1:
            raise ValueError(f"step count must be >= 1 (got {n})")
        with self._cond:
            if not self._paused:
                self._paused = True
                self._show_pacing()
            self._steps += n
            target = self._scheduled_tick + self._steps
            self._cond.notify_all()
        return target

    def set_speed(self, speed: float) -> None:
        """Speed factor relative to real time; 0 = as fast as possible."""
        s = check_speed(speed)
        with self._cond:
            if s != self._speed:
                self._speed = s
                self._repace = True
                self._show_pacing()
        log.info("plc.speed", speed=s, tick=self.tick)

    async def wait_tick(self, tick: int) -> Snapshot:
        """Wait until ``tick`` is published (an asyncio event set by the scan thread; no sleeping).

        Bound it with ``async with asyncio.timeout(...)``. Raises :class:`RuntimeStopped` if the scan
        thread ends first.
        """
        return await self.wait_until(lambda s: s.tick >= tick, f"tick {tick}")

    async def wait_until(self, predicate: Callable[[Snapshot], bool], what: str = "condition") -> Snapshot:
        """Wait until ``predicate(current snapshot)`` holds, re-checking at each publish (no sleeping)."""
        if self._tick_event is None:
            raise EmulatorError("runtime not started")
        while not predicate(self._snapshot):
            if self._finished:
                raise RuntimeStopped(f"runtime stopped at tick {self._snapshot.tick} before {what}")
            await self._tick_event.wait()
        return self._snapshot

    def health(self) -> HealthStatus:
        """Are scans on time? (``/health`` combines this with other components' checks.)"""
        now = self._clock()
        st = self.stats
        detail: dict[str, float | int | str | bool] = {
            "tick": self._snapshot.tick, "paused": self._paused, "speed": self._speed,
            "overruns": st.overruns, "scan_time_ms": round(st.last_scan_time * 1000, 3),
        }
        if self._crash is not None:
            return HealthStatus(ok=False, reason=f"scan thread crashed: {self._crash!r}", detail=detail)
        if self._finished or self._thread is None:
            return HealthStatus(ok=False, reason="scan thread not running", detail=detail)
        if self._paused and self._steps == 0:
            return HealthStatus(ok=True, reason="paused", detail=detail)
        cfg = self.config
        limit = max(cfg.health_late_periods * self._pacer.wall_period, cfg.health_min_late)
        since = now - max(st.last_start, self._resumed_at)
        detail["last_scan_age_ms"] = round(since * 1000, 1)
        if since > limit:
            return HealthStatus(ok=False, detail=detail, reason=(
                f"scan late: last scan started {since * 1000:.0f} ms ago (limit {limit * 1000:.0f} ms)"))
        grew = st.overruns_since(now - cfg.health_window)
        if grew > 0:
            return HealthStatus(ok=False, detail=detail, reason=(
                f"overruns increasing: +{grew} in the last {cfg.health_window:g} s"))
        return HealthStatus(ok=True, reason="scans on time", detail=detail)

    # ------------------------------------------------------------------ runtime.* control points
    def _control(self, cmd: Command) -> None:
        if cmd.kind is not CommandKind.WRITE:
            raise EmulatorError(f"{cmd.kind.value} is not supported on {cmd.target}")
        if cmd.target == "runtime.paused":
            if cmd.value:
                self.pause()
            else:
                self.resume()
        elif cmd.target == "runtime.speed":
            self.set_speed(cmd.value)
        elif cmd.target == "runtime.step":
            self.step(round(cmd.value))
        else:
            raise EmulatorError(f"{cmd.target} is read-only")
        log.info("write.applied", target=cmd.target, value=cmd.value, source=cmd.source)

    # ------------------------------------------------------------------ scan thread
    def _thread_main(self) -> None:
        try:
            self._scan_loop()
        except BaseException as exc:
            self._crash = exc
            log.exception("plc.crashed", tick=self._snapshot.tick)
        finally:
            if self.checkpoints is not None:
                if self._crash is None and self._first_scan_done:
                    self._maybe_checkpoint(self._clock(), final=True)
                else:
                    self.checkpoints.close()
            self._finished = True
            if self._journal is not None:
                with contextlib.suppress(OSError):
                    self._begin_journal()  # no scan ran: the header still names the run
                    self._journal.close(self._snapshot.tick if self._crash is None else None)
            log.info("plc.stopped", tick=self._snapshot.tick, digest=self._snapshot.digest,
                     overruns=self.stats.overruns, reached_end=self._reached_end)
            self._notify(final=True)

    def _next_batch(self) -> _Batch | None:
        """Block until the next tick is due (or a republish is asked for); None means exit."""
        clock = self._clock
        stop_at = self.config.stop_at_tick
        with self._cond:
            while True:
                if self._republish:
                    return _Batch(republish=True)
                nxt = self._scheduled_tick + 1
                if self._stopping:
                    if not self._queue:
                        return None
                    break  # one final tick applies what is still queued
                if stop_at is not None and nxt > stop_at:
                    self._reached_end = True
                    self._stopping = True  # refuse further commands
                    if self._queue:  # arrived after the last tick of the run: not applied
                        log.warning("commands.dropped", count=len(self._queue), reason="run reached its end",
                                    end_tick=stop_at)
                        self._queue = []
                    return None
                if self._paused:
                    if self._steps > 0:
                        self._steps -= 1
                        break
                    self._cond.wait()
                    continue
                now = clock()
                if self._repace:
                    self._repace = False
                    self._pacer.anchor(now, nxt, self._speed)
                planned = self._pacer.due(nxt, now)
                if planned is None or now >= planned:
                    return _Batch(commands=self._take(nxt), paused=False, speed=self._speed,
                                  planned=planned, start=now)
                self._cond.wait(planned - now)
            return _Batch(commands=self._take(nxt), paused=self._paused, speed=self._speed, start=clock())

    def _take(self, nxt: int) -> list[Command]:
        """Under the lock: claim tick ``nxt`` and its commands (scenario first, then queued)."""
        self._scheduled_tick = nxt
        cmds = list(self.config.schedule.get(nxt, ()))
        if self._queue:
            cmds.extend(self._queue)
            self._queue = []
        return cmds

    def _scan_loop(self) -> None:
        clock = self._clock
        st = self.stats
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch.republish:
                self._do_republish()
                continue
            if not self._first_scan_done and self._first_scan():  # simulated time starts at the wall clock now
                batch.start = clock()  # the rebuild is not this scan's time; pace on from here
                if batch.planned is not None:
                    batch.planned = batch.start
                with self._cond:
                    self._repace = True
            if self._restart_cmds:
                batch.commands[:0], self._restart_cmds = self._restart_cmds, []
            cmds, start, planned = batch.commands, batch.start, batch.planned
            paced = planned is not None
            jitter = abs(start - planned) if planned is not None else None
            rv = RuntimeValues(scan_time_ms=st.last_scan_time * 1000.0,
                               jitter_ms=(jitter or 0.0) * 1000.0, overruns=st.overruns,
                               paused=batch.paused, speed=batch.speed)
            snap = self.cycle.step(cmds, runtime=rv)
            if cmds:
                if self._journal is not None:
                    self._journal.write_batch(snap.tick, cmds)
                st.commands_applied += len(cmds)
            with self._cond:  # writes queued and pacing changed since this tick began stay visible
                self._snapshot = self._overlay.apply(snap, self._queue) if self._queue else snap
                self._show_pacing()
                self._republish = False
                snap = self._snapshot
            self._run_callbacks(snap)
            end = clock()
            overran: float | None = None
            if paced and end - start > self._pacer.wall_period:  # the scan took longer than its period
                overran = end - start - self._pacer.wall_period
            st.record(start=start, scan_time=end - start, jitter=jitter, overran=overran)
            if overran is not None:
                self._log_overrun(end, overran)
            if cmds:
                self._log_applied(snap.tick, cmds)
            self._maybe_checkpoint(end)
            self._notify()

    def _show_pacing(self) -> None:
        """Under the lock: put the pacing points (paused, speed) into the served snapshot at once."""
        upd = {int(i): (1.0 if self._paused else 0.0) for i in self._runtime_cols["runtime.paused"]}
        upd.update({int(i): self._speed for i in self._runtime_cols["runtime.speed"]})
        self._snapshot = self._overlay.set_values(self._snapshot, upd)
        self._republish = True
        self._cond.notify_all()

    def _do_republish(self) -> None:
        with self._cond:  # under the lock: a write overlaid meanwhile is not lost
            self._show_pacing()
            self._republish = False
            new = self._snapshot
        self.stats.republished += 1
        self._run_callbacks(new)
        self._notify()

    def _run_callbacks(self, snap: Snapshot) -> None:
        for cb in self._callbacks:
            try:
                cb(snap)
            except Exception:
                self.stats.callback_errors += 1
                if id(cb) not in self._failed_callbacks:
                    self._failed_callbacks.add(id(cb))
                    log.exception("snapshot_callback.failed", callback=getattr(cb, "__qualname__", repr(cb)),
                                  tick=snap.tick)

    @staticmethod
    def _log_applied(tick: int, cmds: list[Command]) -> None:
        if len(cmds) > MAX_COMMAND_LOG_LINES:
            log.info("commands.applied", tick=tick, count=len(cmds),
                     sources=sorted({c.source for c in cmds}))
            return
        for c in cmds:
            log.info("command.applied", tick=tick, kind=c.kind.value, target=c.target, value=c.value,
                     source=c.source, **({"params": dict(c.params)} if c.params else {}))

    def _log_overrun(self, now: float, overran: float) -> None:
        if now - self._last_overrun_log >= OVERRUN_LOG_INTERVAL:
            log.warning("scan.overrun", overran_ms=round(overran * 1000, 2), overruns=self.stats.overruns,
                        since_last_log=self.stats.overruns - self._overruns_logged, tick=self._snapshot.tick)
            self._last_overrun_log = now
            self._overruns_logged = self.stats.overruns

    # ------------------------------------------------------------------ thread -> loop
    def _notify(self, *, final: bool = False) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if final:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._on_finished)
            return
        if not self._notify_pending:
            self._notify_pending = True
            with contextlib.suppress(RuntimeError):  # loop closed under us
                loop.call_soon_threadsafe(self._on_tick)

    def _on_tick(self) -> None:
        self._notify_pending = False
        ev = self._tick_event
        if ev is not None:
            self._tick_event = asyncio.Event()
            ev.set()

    def _on_finished(self) -> None:
        self._on_tick()
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
