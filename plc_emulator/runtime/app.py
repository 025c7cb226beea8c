"""``plc-emulator run``: the PLC, its servers and the HTTP side door under one task tree.

Start-up order (each component an async context manager in an exit stack, so shutdown runs in
reverse):

1. sinks that must outlive the scan thread (historian: entered before the PLC, closed after it);
2. the PLC (:class:`PlcRuntime`: the scan thread);
3. servers: Modbus, OPC UA, HTTP; then one ``ready modbus=HOST:PORT http=HOST:PORT ...`` line on stdout.

Every long-lived task runs under one ``asyncio.TaskGroup`` with names: ``plc[engine].scan`` watches
the scan thread (a crash fails the group; the end of ``--duration`` requests a stop), one
``historian[forwarder SINK]`` per upstream sink, and ``app[shutdown]``, which waits for SIGTERM /
Ctrl-C and shuts down in order: stop accepting (close the servers), drain the command queue (one
final tick), stop the forwarders, close the journal, then the historian flushes.

Every part is configured by a typed frozen option object of :class:`AppConfig` (Modbus
:class:`ModbusConfig`, :class:`OpcUaOptions`, :class:`HistorianOptions`, :class:`UpstreamOptions`);
a part that is off is ``None`` or ``enabled=False``, never a missing key.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import structlog

from plc_emulator.audit import AuditLog, AuditRecord
from plc_emulator.errors import EmulatorError
from plc_emulator.http import HealthCheck, HttpServer, HttpSettings
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.modbus.config import ModbusConfig
from plc_emulator.runtime.config import HistorianOptions, OpcUaOptions, RuntimeConfig
from plc_emulator.runtime.metrics import Metrics, MetricsHook
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.runtime.upstream import UpstreamOptions
from plc_emulator.tagmap.model import TagMap

if TYPE_CHECKING:
    from historian import Forwarder

__all__ = ["AppConfig", "AppContext", "StartupError", "serve"]

log = structlog.get_logger("plc_emulator.app")

T = TypeVar("T")


class StartupError(EmulatorError):
    """A component could not start (e.g. its port is in use): one clear line, exit status 1."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AppConfig:
    host: str = "0.0.0.0"
    modbus_port: int = 5020
    http_port: int = 8080
    data_dir: Path = Path("data")
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    modbus: ModbusConfig = field(default_factory=ModbusConfig)  # access, limits, extra links
    opcua: OpcUaOptions | None = None  # None: no OPC UA server
    historian: HistorianOptions = field(default_factory=HistorianOptions)
    upstream: UpstreamOptions = field(default_factory=UpstreamOptions)  # MQTT sinks (JSON, Sparkplug B)

    @property
    def historian_db(self) -> Path | None:
        """The historian's database (None while the historian is off)."""
        return self.data_dir / self.historian.db_name if self.historian.enabled else None


@dataclass(slots=True, kw_only=True)
class AppContext:
    """What a component needs to plug itself in: the PLC, metrics and health registries."""

    tagmap: TagMap
    config: AppConfig
    plc: PlcRuntime
    metrics: Metrics
    ready: list[str]  # "name=host:port" parts of the ready line
    health_checks: list[tuple[str, HealthCheck]]
    audit: AuditLog = field(default_factory=AuditLog)  # client writes/calls of every interface

    def add_health_check(self, name: str, check: HealthCheck) -> None:
        self.health_checks.append((name, check))

    def add_metrics(self, hook: MetricsHook) -> None:
        self.metrics.add_collector(hook)


async def _enter(stack: AsyncExitStack, what: str, host: str, port: int,
                 cm: AbstractAsyncContextManager[T]) -> T:
    """Enter a server's context; a busy or unusable address becomes one clear StartupError."""
    try:
        return await stack.enter_async_context(cm)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE or "address already in use" in str(exc).lower():
            raise StartupError(f"{what} port {port} on {host} is already in use") from None
        raise StartupError(f"{what} cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _install_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Callable[[], None]:
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
            pass

    def remove() -> None:
        for sig in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)

    return remove


async def _start_historian(stack: AsyncExitStack, ctx: AppContext) -> list[Forwarder]:
    """Historian + recorder under ``DATA_DIR``; returns one (not yet running) forwarder per upstream sink."""
    from historian import Event, HistorianError
    from plc_emulator.runtime.recorder import HistorianService

    opts = ctx.config.historian
    if not opts.enabled:
        return []
    service = HistorianService(ctx.tagmap, ctx.plc, data_dir=ctx.config.data_dir, upstream=ctx.config.upstream,
                               retention_hours=opts.retention_hours, repair=opts.repair, db_name=opts.db_name)
    try:
        await stack.enter_async_context(service)
    except HistorianError as exc:
        raise StartupError(f"historian: {exc}") from None
    ctx.add_health_check("historian", service.health)
    if service.forwarders:
        ctx.add_health_check("upstream", service.upstream_health)
    ctx.add_metrics(service.metric_families)

    def audit_to_historian(rec: AuditRecord) -> None:  # simulated time, like every other stored event
        if service.historian is not None:
            service.historian.record_event(Event(time=ctx.plc.snapshot.sim_time, kind="audit", source=rec.target,
                                                 data=rec.as_dict()))

    ctx.audit.add_sink(audit_to_historian)
    return service.forwarders


async def _start_modbus(servers: AsyncExitStack, ctx: AppContext) -> None:
    from plc_emulator.modbus.links import build_adapter

    cfg, host = ctx.config, ctx.config.host
    modbus = await _enter(servers, "modbus", host, cfg.modbus_port,
                          build_adapter(ctx.tagmap, ctx.plc, host, cfg.modbus_port, cfg.modbus))
    modbus.service.audit_sink = ctx.audit.record  # every Modbus write attempt, with the client address
    ctx.metrics.add_modbus(modbus.stats)
    ctx.ready.extend(f"{n}={host}:{p}" for n, p in modbus.endpoints())


async def _start_opcua(servers: AsyncExitStack, ctx: AppContext) -> None:
    opts, host = ctx.config.opcua, ctx.config.host
    if opts is None:
        return
    from plc_emulator.opcua import OpcUaAdapter

    adapter = OpcUaAdapter(ctx.tagmap, ctx.plc, host=host, port=opts.port, security=opts.security,
                           freeze_gc=True, audit=ctx.audit)
    db = ctx.config.historian_db
    if db is not None:  # HistoryRead from the historian store
        from plc_emulator.opcua.history import HistorianHistory

        adapter.set_history_storage(HistorianHistory(db, ctx.tagmap))
    opcua = await _enter(servers, "opcua", host, opts.port, adapter)
    ctx.add_metrics(adapter.metric_families)
    ctx.ready.append(f"opcua={host}:{opcua.port}")


async def _start_http(servers: AsyncExitStack, ctx: AppContext) -> None:
    cfg = ctx.config
    security = cfg.opcua.security if cfg.opcua is not None else None
    http = HttpServer(ctx.plc, ctx.metrics, host=cfg.host, port=cfg.http_port,
                      settings=HttpSettings.from_security(security, cfg.historian_db), audit=ctx.audit)
    http.checks = ctx.health_checks  # one list: checks added later still count
    await _enter(servers, "http", cfg.host, cfg.http_port, http)
    ctx.ready.insert(1, f"http={cfg.host}:{http.port}")


async def _run(plc: PlcRuntime, servers: AsyncExitStack, forwarders: list[Forwarder], stop: asyncio.Event,
               *, forwarder_grace: float = 15.0) -> None:
    """The one TaskGroup: scan watch, forwarders, shutdown; returns once all have ended."""
    plc_ended = asyncio.Event()

    async def watch_plc() -> None:
        try:
            await plc.join()  # the scan thread ended: --duration reached (or stop); crash raises
        finally:
            plc_ended.set()
        stop.set()

    async def shutdown(tasks: list[asyncio.Task[None]]) -> None:
        await stop.wait()
        log.info("app.stopping", tick=plc.tick, reached_end=plc.reached_end)
        await servers.aclose()  # stop accepting
        plc.stop()  # drain the queue in one final tick; the journal gets end_tick
        await plc_ended.wait()
        for fwd in forwarders:
            fwd.stop()
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=forwarder_grace)
            for task in late:
                task.cancel()

    async def forward(fwd: Forwarder) -> None:
        try:
            await fwd.run()  # returns after fwd.stop(); sink failures are retried inside
        except Exception as exc:  # a bug, not an outage: stop in order with one clear line
            log.exception("historian.forwarder_crashed", sink=fwd.sink.name)
            raise EmulatorError(f"historian forwarder {fwd.sink.name} crashed: {exc!r}") from exc

    async with asyncio.TaskGroup() as tg:
        tg.create_task(watch_plc(), name="plc[engine].scan")
        tasks = [tg.create_task(forward(fwd), name=f"historian[forwarder {fwd.sink.name}]") for fwd in forwarders]
        tg.create_task(shutdown(tasks), name="app[shutdown]")


def _checkpoint_metrics(plc: PlcRuntime) -> Callable[[], list[Any]]:
    def families() -> list[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        w = plc.checkpoints
        if w is None:
            return []
        st = w.stats
        return [
            CounterMetricFamily("plc_checkpoints_written", "Checkpoints written", value=st.written),
            CounterMetricFamily("plc_checkpoint_failures", "Checkpoint writes that failed", value=st.failed),
            GaugeMetricFamily("plc_checkpoint_capture_seconds", "Last capture on the scan thread",
                              value=st.last_capture_s),
            GaugeMetricFamily("plc_checkpoint_write_seconds", "Last encode+write+fsync+rename",
                              value=st.last_write_s),
            GaugeMetricFamily("plc_checkpoint_bytes", "Size of the last checkpoint", value=st.last_bytes),
        ]

    return families


async def serve(tagmap: TagMap, config: AppConfig, *, out: TextIO | None = None,
                stop: asyncio.Event | None = None) -> Snapshot:
    """Run until SIGTERM/Ctrl-C, ``stop`` is set, or ``--duration`` is reached; returns the last snapshot."""
    out = out if out is not None else sys.stdout
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    remove_signals = _install_signals(loop, stop)
    # Like a PLC going to RUN only after boot: the scan thread starts paused and is resumed once
    # every server is listening, so building the OPC UA address space (seconds, holding the GIL)
    # cannot show up as overruns of the first scans.
    plc = PlcRuntime(tagmap, dataclasses.replace(config.runtime, paused=True))
    metrics = Metrics(plc)
    ctx = AppContext(tagmap=tagmap, config=config, plc=plc, metrics=metrics, ready=[], health_checks=[])
    ctx.add_metrics(_checkpoint_metrics(plc))
    try:
        async with AsyncExitStack() as outer:
            # (1) Sinks that must outlive the scan thread: the historian is closed (and flushed)
            #     after the PLC has stopped.
            forwarders = await _start_historian(outer, ctx)
            # (2) The PLC.
            await outer.enter_async_context(plc)
            # (3) Servers, closed first on shutdown.
            servers = await outer.enter_async_context(AsyncExitStack())
            await _start_modbus(servers, ctx)
            await _start_opcua(servers, ctx)
            await _start_http(servers, ctx)
            scan_ms = round(plc.period * 1000, 3)
            speed = "max" if plc.speed == 0 else f"{plc.speed:g}"
            line = f"ready {' '.join(ctx.ready)} scan={scan_ms:g}ms speed={speed}"
            if not config.runtime.paused:
                plc.resume()
            print(line, file=out, flush=True)
            log.info("app.ready", endpoints=ctx.ready, scan_ms=scan_ms, speed=speed)
            await _run(plc, servers, forwarders, stop)
    except* EmulatorError as group:
        raise group.exceptions[0] from None
    finally:
        remove_signals()
    log.info("app.stopped", tick=plc.tick, digest=plc.snapshot.digest)
    return plc.snapshot
