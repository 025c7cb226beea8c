"""Per-scan value publishing: only changed nodes, one scan at a time, in one event-loop turn.

:meth:`Publisher.apply` is a plain function (no ``await``) run on the event loop. It compares the
new snapshot with the last one it published, writes a fresh ``DataValue`` into the ``Value``
attribute of every changed node (SourceTimestamp = simulated time, StatusCode from the snapshot,
Bad -> null value as Part 4 7.7.1 says), and then queues the data-change notifications of every
monitored item on those nodes. Because nothing awaits in between, no Read, Browse or Publish request
can run while a scan is half applied: every client sees whole scans only.

The notification fast path does what asyncua's ``MonitoredItemService.datachange_callback`` does
(filter check, queue with the item's queue size) minus the per-value ``deepcopy`` and the
coroutine per change; our DataValues are new objects every scan and never mutated, so sharing them
is safe. Callbacks that are not monitored-item callbacks (e.g. history) are awaited afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from asyncua import ua
from asyncua.server.monitored_item_service import MonitoredItemService

from plc_emulator.image.snapshot import Snapshot
from plc_emulator.opcua.nodes import TagNode, to_variant_value

__all__ = ["Publisher"]

_NULL = ua.Variant(None, ua.VariantType.Null)


class Publisher:
    def __init__(self, tags: Sequence[TagNode],
                 extra: Callable[[Snapshot, datetime], int] | None = None) -> None:
        self._tags = list(tags)
        self._last_values: npt.NDArray[np.float64] | None = None
        self._last_status: npt.NDArray[np.uint32] | None = None
        self._status_cache: dict[int, ua.StatusCode] = {}
        self._extra = extra
        self._slow: list[tuple[Any, int, ua.DataValue]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self.last_tick: int | None = None
        self.scans = 0
        self.nodes_written = 0
        self.notifications = 0

    def status(self, code: int) -> ua.StatusCode:
        sc = self._status_cache.get(code)
        if sc is None:
            sc = self._status_cache[code] = ua.StatusCode(code)
        return sc

    def initial(self, snap: Snapshot) -> Callable[[int, ua.VariantType], tuple[ua.Variant, ua.StatusCode]]:
        """First value and status of each tag (used while building the address space)."""

        def first(index: int, vtype: ua.VariantType) -> tuple[ua.Variant, ua.StatusCode]:
            code = int(snap.status[index])
            if code & 0x80000000:
                return _NULL, self.status(code)
            return ua.Variant(to_variant_value(vtype, float(snap.values[index])), vtype), self.status(code)

        self._last_values = snap.values.copy()
        self._last_status = snap.status.copy()
        self.last_tick = snap.tick
        return first

    def changed(self, snap: Snapshot) -> npt.NDArray[np.intp]:
        values, status = snap.values, snap.status
        if self._last_values is None or self._last_status is None:
            return np.arange(len(values), dtype=np.intp)
        last_v, last_s = self._last_values, self._last_status
        # a Bad value is served as null: only its status matters
        both_bad = ((status & 0x80000000) != 0) & ((last_s & 0x80000000) != 0)
        same = (values == last_v) | (np.isnan(values) & np.isnan(last_v)) | both_bad
        return np.flatnonzero(~same | (status != last_s))

    def apply(self, snap: Snapshot, *, force: bool = False) -> int:
        """Publish one snapshot (synchronously). Returns the number of tag nodes written."""
        idx = np.arange(len(self._tags), dtype=np.intp) if force else self.changed(snap)
        ts = datetime.fromtimestamp(snap.sim_time, UTC)
        now = datetime.now(UTC)
        written: list[tuple[TagNode, ua.DataValue]] = []
        tags, status_of, double = self._tags, self.status, ua.VariantType.Double
        # plain Python numbers once per scan, not a numpy scalar per node
        for i, value, code in zip(idx.tolist(), snap.values[idx].tolist(), snap.status[idx].tolist(),
                                  strict=True):
            tn = tags[i]
            if code & 0x80000000:
                variant = _NULL
            elif tn.vtype is double:
                variant = ua.Variant(value, double)
            else:
                variant = ua.Variant(to_variant_value(tn.vtype, value), tn.vtype)
            dv = ua.DataValue(variant, StatusCode=status_of(code), SourceTimestamp=ts, ServerTimestamp=now)
            tn.attr.value = dv
            written.append((tn, dv))
        self._last_values = snap.values.copy()
        self._last_status = snap.status.copy()
        self.last_tick = snap.tick
        extra = self._extra(snap, ts) if self._extra is not None else 0
        for tn, dv in written:
            if tn.attr.datachange_callbacks:
                self.notify(tn.attr, dv)
        self.scans += 1
        self.nodes_written += len(written) + extra
        self._flush_slow()
        return len(written)

    def notify(self, attr: Any, dv: ua.DataValue) -> None:
        """Queue data-change notifications for every monitored item on one attribute."""
        for handle, cb in list(attr.datachange_callbacks.items()):
            svc = getattr(cb, "__self__", None)
            name = getattr(cb, "__name__", "")
            fast = isinstance(svc, MonitoredItemService) and name == "datachange_callback"
            if not fast:
                self._slow.append((cb, handle, dv))
                continue
            assert isinstance(svc, MonitoredItemService)
            mid = svc._monitored_datachange.get(handle)
            mdata = svc._monitored_items.get(mid) if mid is not None else None
            if mdata is None or mdata.mode == ua.MonitoringMode.Disabled:
                continue
            mv = mdata.mvalue
            mv.old_dvalue = mv.current_dvalue
            mv.current_dvalue = dv
            if mdata.filter:
                flt = mdata.filter
                passed = svc._is_data_changed(mv, flt.Trigger) and svc._is_deadband_exceeded(mv, flt)
            else:
                passed = svc._is_data_changed(mv, ua.DataChangeTrigger.StatusValue)
            if not passed:
                continue
            event = ua.MonitoredItemNotification(ClientHandle=mdata.client_handle, Value=dv)
            isub = svc.isub
            queue = isub._triggered_datachanges
            items = queue.get(mid)
            if items is None:
                queue[mid] = [event]
                if not isub._task and isub.data.RevisedPublishingInterval <= 0.0:
                    self._spawn(isub.publish_results())
            else:
                if mdata.queue_size and len(items) >= mdata.queue_size:
                    items.pop(0)
                items.append(event)
            self.notifications += 1

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _flush_slow(self) -> None:
        if not self._slow:
            return
        slow, self._slow = self._slow, []

        async def run() -> None:
            for cb, handle, dv in slow:
                await cb(handle, dv)

        self._spawn(run())
