"""Prometheus families of the OPC UA server, read at each scrape (``ctx.add_metrics(...)``).

* ``plc_opcua_sessions``                  sessions open now
* ``plc_opcua_subscriptions``             subscriptions now
* ``plc_opcua_monitored_items``           monitored items now (all subscriptions)
* ``plc_opcua_publish_queue``             notifications waiting to be published + unacknowledged
                                          publish results (what a slow client costs in memory)
* ``plc_opcua_publish_requests_waiting``  Publish requests parked by clients (per connection, summed)
* ``plc_opcua_rejected_requests_total{reason}``  refused requests by reason (:class:`.limits.Rejection`)
* ``plc_opcua_coalesced_scans_total``     scans merged into a later one because the loop was busy
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from plc_emulator.opcua.limits import Rejection

if TYPE_CHECKING:
    from plc_emulator.opcua.server import OpcUaAdapter

__all__ = ["opcua_families"]


def _queues(subs: Iterable[Any]) -> tuple[int, int]:
    items = queued = 0
    for sub in subs:
        items += len(sub.monitored_item_srv._monitored_items)
        queued += sum(len(v) for v in sub._triggered_datachanges.values())
        queued += sum(len(v) for v in sub._triggered_events.values())
        queued += len(sub._not_acknowledged_results)
    return items, queued


def opcua_families(adapter: OpcUaAdapter) -> list[Metric]:
    from asyncua.server.internal_session import SessionState

    iserver = adapter.server.iserver
    subs = list(iserver.subscription_service.subscriptions.values())
    items, queued = _queues(subs)
    bserver = adapter.server.bserver
    waiting = sum(len(p.processor._publish_requests) for p in (bserver.clients if bserver else ())
                  if p.processor is not None)

    def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, value=value)

    out: list[Metric] = [
        gauge("plc_opcua_sessions", "OPC UA sessions open now",
              sum(1 for s in adapter._sessions if s.state != SessionState.Closed)),
        gauge("plc_opcua_subscriptions", "OPC UA subscriptions now", len(subs)),
        gauge("plc_opcua_monitored_items", "OPC UA monitored items now, all subscriptions", items),
        gauge("plc_opcua_publish_queue", "Notifications queued for publishing plus unacknowledged publish "
              "results", queued),
        gauge("plc_opcua_publish_requests_waiting", "Publish requests parked by clients", waiting),
    ]
    rejected = CounterMetricFamily("plc_opcua_rejected_requests", "OPC UA requests refused, by reason",
                                   labels=["reason"])
    counts = adapter.guard.rejections.counts
    for reason in Rejection:
        rejected.add_metric([reason.value], counts.get(reason, 0))
    out.append(rejected)
    coalesced = CounterMetricFamily("plc_opcua_coalesced_scans", "Scans merged into a later one because the "
                                    "OPC UA event loop was busy")
    coalesced.add_metric([], adapter.coalesced_scans)
    out.append(coalesced)
    return out
