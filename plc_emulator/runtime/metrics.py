"""Prometheus ``/metrics``: a private registry filled at scrape time from plain stats objects.

Nothing here runs per scan: the scan thread keeps plain counters and bucket counts
(:class:`~plc_emulator.runtime.pacing.ScanStats`), adapters keep their own ``stats`` objects, and
a collector turns them into metric families when Prometheus scrapes. Other components add their
own metrics with :meth:`Metrics.add_collector` (a callable returning metric families).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from plc_emulator.runtime.pacing import Histogram
from plc_emulator.runtime.plc import PlcRuntime

__all__ = ["CONTENT_TYPE", "Metrics", "MetricsHook"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MetricsHook = Callable[[], Iterable[Metric]]


_EXTRA_MODBUS_COUNTERS = ("framing_errors", "skipped_frames", "ignored_units", "writes_accepted", "writes_denied",
                          "connections_refused", "idle_closed", "frame_timeouts", "crc_errors",
                          "link_fault_actions")


def _hist(name: str, doc: str, h: Histogram) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, doc, buckets=h.cumulative(), sum_value=h.total)


def _as_mapping(obj: Any, *names: str) -> Mapping[Any, Any]:
    for n in names:
        v = getattr(obj, n, None)
        if isinstance(v, Mapping):
            return v
    return {}


def _as_number(obj: Any, *names: str) -> float | None:
    for n in names:
        v = getattr(obj, n, None)
        if isinstance(v, int | float):
            return float(v)
    return None


def modbus_families(stats: Any) -> list[Metric]:
    """Modbus adapter stats -> metric families.

    Reads ``requests`` ({function code: count}), ``exceptions`` ({function code: count} or
    {(function code, exception code): count}) and ``connected_clients`` / ``connections_total``
    from the adapter's plain stats object, whatever else it carries.
    """
    req = CounterMetricFamily("plc_modbus_requests", "Modbus requests by function code",
                              labels=["function_code"])
    for fc, n in sorted(_as_mapping(stats, "requests", "requests_by_fc").items(), key=lambda kv: str(kv[0])):
        req.add_metric([str(fc)], float(n))
    exc = CounterMetricFamily("plc_modbus_exceptions", "Modbus exception responses by function code and code",
                              labels=["function_code", "exception_code"])
    exceptions = _as_mapping(stats, "exceptions", "exceptions_by_fc")
    for key, n in sorted(exceptions.items(), key=lambda kv: str(kv[0])):
        if isinstance(key, tuple) and len(key) == 2:
            exc.add_metric([str(key[0]), str(key[1])], float(n))
        elif isinstance(n, Mapping):  # {fc: {code: count}}
            for code, m in sorted(n.items()):
                exc.add_metric([str(key), str(code)], float(m))
        else:
            exc.add_metric([str(key), ""], float(n))
    out: list[Metric] = [req, exc]
    clients = _as_number(stats, "connected_clients", "clients", "connections")
    if clients is not None:
        g = GaugeMetricFamily("plc_modbus_connected_clients", "Modbus TCP clients connected now")
        g.add_metric([], clients)
        out.append(g)
    total = _as_number(stats, "connections_total", "accepted")
    if total is not None:
        c = CounterMetricFamily("plc_modbus_connections", "Modbus TCP connections accepted")
        c.add_metric([], total)
        out.append(c)
    for name in _EXTRA_MODBUS_COUNTERS:  # whichever of these the adapter keeps
        v = _as_number(stats, name)
        if v is not None:
            c = CounterMetricFamily(f"plc_modbus_{name}", f"Modbus adapter counter {name}")
            c.add_metric([], v)
            out.append(c)
    return out


class _Collector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def collect(self) -> Iterable[Metric]:
        yield from self._m.runtime_families()
        for hook in list(self._m.hooks):
            yield from hook()


class Metrics:
    """The ``/metrics`` exporter for one PLC."""

    def __init__(self, plc: PlcRuntime) -> None:
        self.plc = plc
        self.registry = CollectorRegistry(auto_describe=False)
        self.hooks: list[MetricsHook] = []
        self.registry.register(_Collector(self))

    def add_collector(self, hook: MetricsHook) -> None:
        """Register ``hook() -> iterable of metric families``, called at each scrape."""
        self.hooks.append(hook)

    def add_modbus(self, stats: Any) -> None:
        self.add_collector(lambda: modbus_families(stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def runtime_families(self) -> list[Metric]:
        plc = self.plc
        st = plc.stats
        out: list[Metric] = [
            _hist("plc_scan_duration_seconds", "Duration of each scan (engine step, publish, callbacks)",
                  st.scan_hist),
            _hist("plc_scan_jitter_seconds", "|actual - planned| start of each paced scan", st.jitter_hist),
        ]

        def counter(name: str, doc: str, value: float) -> None:
            c = CounterMetricFamily(name, doc)
            c.add_metric([], value)
            out.append(c)

        def gauge(name: str, doc: str, value: float) -> None:
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], value)
            out.append(g)

        counter("plc_scan_overruns", "Paced scans that took longer than their period", st.overruns)
        counter("plc_scans", "Scans run since start", st.ticks)
        counter("plc_commands_applied", "Commands applied to the plant", st.commands_applied)
        counter("plc_snapshot_callback_errors", "Exceptions raised by on_snapshot callbacks",
                st.callback_errors)
        counter("plc_pacing_reanchors", "Times pacing gave up catching up after a stall",
                plc.pacing_reanchors)
        gauge("plc_tick", "Tick of the current snapshot", plc.tick)
        gauge("plc_sim_time_seconds", "Simulated time of the current snapshot (Unix seconds)",
              plc.snapshot.sim_time)
        gauge("plc_scan_jitter_last_seconds", "Jitter of the last paced scan", st.last_jitter)
        gauge("plc_scan_jitter_max_seconds", "Largest jitter since start", st.max_jitter)
        gauge("plc_scan_last_duration_seconds", "Duration of the last scan", st.last_scan_time)
        gauge("plc_command_queue_depth", "Commands waiting for the next tick", plc.queue_depth)
        gauge("plc_speed", "Speed factor (0 = as fast as possible)", plc.speed)
        gauge("plc_paused", "1 while paused", 1.0 if plc.paused else 0.0)
        gauge("plc_scan_period_seconds", "Scan period (simulated seconds per tick)", plc.period)
        return out
