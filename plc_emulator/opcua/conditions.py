"""OPC UA Alarms & Conditions (Part 9) over the alarm block (asyncua does not provide the state machine).

One condition object per alarm under its tag's node (``ExclusiveLimitAlarmType`` for HIHI/HI/LO/LOLO,
``OffNormalAlarmType`` for discrete, bad-quality, rate-of-change and PM alarms; PM flags sit under the
tag bound to their signal, else under the Server object). Every :class:`~plc_emulator.alarms.AlarmTransition`
of a scan becomes one event emitted from the Server object (where clients subscribe), with:

* a unique, reproducible EventId ``<alarm id>#<seq>`` (seq is the alarm block's transition counter);
* Severity from the priority, Retain = active or unacknowledged, ActiveState, AckedState,
  ConfirmedState, SuppressedState, ShelvingState and, for limit alarms, LimitState;
* the condition node's own state variables written with the same values, so a client reading the
  condition sees what the events say.

Methods (role operator): ``Acknowledge`` / ``Confirm`` (i=9111 / i=9113, EventId + Comment; an
unknown EventId gives BadEventIdUnknown, an acknowledged branch BadConditionBranchAlreadyAcked),
``TimedShelve`` / ``Unshelve`` (i=2949 / i=2947, ObjectId = the condition or its ShelvingState), and
``ConditionRefresh`` (asyncua's, bound here). Each method submits an ``ALARM_*`` command to the PLC's
queue, so it is journaled and applied at the next tick exactly like a Modbus acknowledge.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import threading
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from asyncua import Node, ua
from asyncua.common import events as ua_events

from plc_emulator.alarms import (
    AlarmDef,
    AlarmKind,
    AlarmState,
    AlarmStatus,
    AlarmTransition,
    PmParams,
    alarm_defs,
)
from plc_emulator.commands import Command, CommandKind
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.opcua.security import Role

__all__ = ["AlarmConditions"]

log = logging.getLogger(__name__)

BAD_EVENT_ID_UNKNOWN = 0x809A0000
BAD_ALREADY_ACKED = 0x80CF0000
BAD_ALREADY_CONFIRMED = 0x80D00000
BAD_ALREADY_SHELVED = 0x80D10000
BAD_NOT_SHELVED = 0x80D20000
BAD_SHELVING_TIME = 0x80D30000
BAD_INVALID_STATE = 0x80AF0000
BAD_NODE_ID_INVALID = 0x80330000
BAD_INVALID_ARGUMENT = 0x80AB0000

_LIMIT_TEXT = {
    AlarmKind.HIHI: ("HighHigh", 9329),
    AlarmKind.HI: ("High", 9331),
    AlarmKind.LO: ("Low", 9333),
    AlarmKind.LOLO: ("LowLow", 9335),
}
_EVENT_IDS_KEPT = 64


class _Cond:
    """One alarm's condition: node, event template, the EventIds it issued."""

    def __init__(self, d: AlarmDef, node: Node, source: ua.NodeId, source_name: str, event: Any) -> None:
        self.d = d
        self.node = node
        self.source = source
        self.source_name = source_name
        self.event = event
        self.event_ids: deque[bytes] = deque(maxlen=_EVENT_IDS_KEPT)
        self.vars: dict[str, Node] = {}


_VARS: tuple[tuple[str, int, ua.VariantType, Any, int], ...] = (
    # (browse path, typedefinition, variant type, initial value, datatype)
    (
        "EnabledState",
        ua.ObjectIds.TwoStateVariableType,
        ua.VariantType.LocalizedText,
        ua.LocalizedText("Enabled"),
        ua.ObjectIds.LocalizedText,
    ),
    ("EnabledState/Id", ua.ObjectIds.PropertyType, ua.VariantType.Boolean, True, ua.ObjectIds.Boolean),
    (
        "ActiveState",
        ua.ObjectIds.TwoStateVariableType,
        ua.VariantType.LocalizedText,
        ua.LocalizedText("Inactive"),
        ua.ObjectIds.LocalizedText,
    ),
    ("ActiveState/Id", ua.ObjectIds.PropertyType, ua.VariantType.Boolean, False, ua.ObjectIds.Boolean),
    (
        "AckedState",
        ua.ObjectIds.TwoStateVariableType,
        ua.VariantType.LocalizedText,
        ua.LocalizedText("Acknowledged"),
        ua.ObjectIds.LocalizedText,
    ),
    ("AckedState/Id", ua.ObjectIds.PropertyType, ua.VariantType.Boolean, True, ua.ObjectIds.Boolean),
    ("Retain", ua.ObjectIds.PropertyType, ua.VariantType.Boolean, False, ua.ObjectIds.Boolean),
    ("Severity", ua.ObjectIds.PropertyType, ua.VariantType.UInt16, 0, ua.ObjectIds.UInt16),
    ("SourceName", ua.ObjectIds.PropertyType, ua.VariantType.String, "", ua.ObjectIds.String),
    ("ConditionName", ua.ObjectIds.PropertyType, ua.VariantType.String, "", ua.ObjectIds.String),
)
_LIMIT_VARS: tuple[tuple[str, int, ua.VariantType, Any, int], ...] = (
    (
        "LimitState/CurrentState",
        ua.ObjectIds.FiniteStateVariableType,
        ua.VariantType.LocalizedText,
        ua.LocalizedText(""),
        ua.ObjectIds.LocalizedText,
    ),
    ("LimitState/CurrentState/Id", ua.ObjectIds.PropertyType, ua.VariantType.NodeId, ua.NodeId(), ua.ObjectIds.NodeId),
)


def _node_item(
    items: list[ua.AddNodesItem],
    *,
    nodeid: ua.NodeId,
    parent: ua.NodeId,
    name: str,
    ns: int,
    cls: ua.NodeClass,
    ref: int,
    typedef: int,
    value: Any = None,
    vtype: ua.VariantType | None = None,
    datatype: int = 0,
) -> None:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = nodeid
    item.BrowseName = ua.QualifiedName(name, ns)
    item.NodeClass = cls
    item.ParentNodeId = parent
    item.ReferenceTypeId = ua.NodeId(ref)
    item.TypeDefinition = ua.NodeId(typedef)
    if cls == ua.NodeClass.Variable:
        attrs = ua.VariableAttributes()
        attrs.DataType = ua.NodeId(datatype)
        attrs.Value = ua.Variant(value, vtype)
        attrs.ValueRank = ua.ValueRank.Scalar
        attrs.AccessLevel = ua.AccessLevel.CurrentRead.mask
        attrs.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
    else:
        attrs = ua.ObjectAttributes()
        attrs.EventNotifier = 0
    attrs.DisplayName = ua.LocalizedText(name)
    attrs.Description = ua.LocalizedText(name)
    item.NodeAttributes = attrs
    items.append(item)


def _condition_items(
    items: list[ua.AddNodesItem],
    d: AlarmDef,
    *,
    node_id: ua.NodeId,
    parent: ua.NodeId,
    name: str,
    type_id: int,
    ns: int,
) -> tuple[dict[str, ua.NodeId], ua.NodeId]:
    """AddNodes items for one condition object and the state variables kept current."""
    _node_item(
        items,
        nodeid=node_id,
        parent=parent,
        name=name,
        ns=ns,
        cls=ua.NodeClass.Object,
        ref=ua.ObjectIds.HasComponent,
        typedef=type_id,
    )
    base = node_id.Identifier
    paths: dict[str, ua.NodeId] = {}
    specs = _VARS + (_LIMIT_VARS if d.kind.is_limit else ())
    if d.kind.is_limit:
        limit_obj = ua.NodeId(f"{base}.LimitState", ns)
        _node_item(
            items,
            nodeid=limit_obj,
            parent=node_id,
            name="LimitState",
            ns=0,
            cls=ua.NodeClass.Object,
            ref=ua.ObjectIds.HasComponent,
            typedef=ua.ObjectIds.ExclusiveLimitStateMachineType,
        )
    for path, typedef, vtype, value, datatype in specs:
        parts = path.split("/")
        nid = ua.NodeId(f"{base}.{'.'.join(parts)}", ns)
        parent_nid = ua.NodeId(f"{base}.{'.'.join(parts[:-1])}", ns) if len(parts) > 1 else node_id
        ref = ua.ObjectIds.HasProperty if typedef == ua.ObjectIds.PropertyType else ua.ObjectIds.HasComponent
        _node_item(
            items,
            nodeid=nid,
            parent=parent_nid,
            name=parts[-1],
            ns=0,
            cls=ua.NodeClass.Variable,
            ref=ref,
            typedef=typedef,
            value=value,
            vtype=vtype,
            datatype=datatype,
        )
        paths[path] = nid
    shelving = ua.NodeId(f"{base}.ShelvingState", ns)
    _node_item(
        items,
        nodeid=shelving,
        parent=node_id,
        name="ShelvingState",
        ns=0,
        cls=ua.NodeClass.Object,
        ref=ua.ObjectIds.HasComponent,
        typedef=ua.ObjectIds.ShelvedStateMachineType,
    )
    return paths, shelving


class AlarmConditions:
    """Attach with ``await AlarmConditions(adapter, tagmap, plc).attach()`` after the adapter started."""

    def __init__(self, adapter: Any, tagmap: Any, plc: Any, params: PmParams | None = None) -> None:
        self.adapter = adapter
        self.tagmap = tagmap
        self.plc = plc
        self.params = params if params is not None else tagmap.pm_params
        self.defs = alarm_defs(tagmap, self.params)
        self.conds: dict[str, _Cond] = {}
        self._by_node: dict[ua.NodeId, _Cond] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._queue: deque[Snapshot] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.events_sent = 0

    # ------------------------------------------------------------------ build
    def _parent_for(self, d: AlarmDef) -> tuple[ua.NodeId, str]:
        by_key = self.adapter._by_key
        if d.tag and d.tag in by_key:
            return by_key[d.tag].nodeid, d.tag
        if d.kind is AlarmKind.PM:
            subject = d.id[len("PM.") :].rsplit(".", 1)[0]
            rule = d.id.rsplit(".", 1)[1]
            wanted = {
                "vibration": (self.params.vibration.signal,),
                "fouling": (self.params.fouling.signal, "E100.outlet_temperature"),
                "stiction": (f"{subject}.valve", f"{subject}.out", f"{subject}.sp"),
            }.get(rule, (subject,))
            for sig in wanted:
                for tn in self.adapter.tags:
                    if tn.tag.signal == sig:
                        return tn.nodeid, tn.tag.key
        # no tag shows this signal: keep the plant tree to devices, hang the condition on the Server object
        return ua.NodeId(ua.ObjectIds.Server), d.id[len("PM.") :].rsplit(".", 1)[0] if d.kind is AlarmKind.PM else d.id

    async def attach(self) -> None:
        server = self.adapter.server
        iserver = server.iserver
        if ua.ObjectIds.RefreshStartEventType not in iserver.subscription_service.standard_events:
            iserver.bind_condition_methods = 1
            await iserver.setup_condition_methods()
        ns = self.adapter.namespace_index
        templates: dict[int, Any] = {}
        for type_id in (ua.ObjectIds.ExclusiveLimitAlarmType, ua.ObjectIds.OffNormalAlarmType):
            ev = await ua_events.get_event_obj_from_type_node(server.get_node(ua.NodeId(type_id)))
            ev.add_property("NodeId", None, ua.VariantType.NodeId)  # ConditionId
            templates[type_id] = ev
        server_node = ua.NodeId(ua.ObjectIds.Server)
        items: list[ua.AddNodesItem] = []
        planned: list[tuple[AlarmDef, ua.NodeId, str, str, int, dict[str, ua.NodeId], ua.NodeId]] = []
        for d in self.defs:
            type_id = ua.ObjectIds.ExclusiveLimitAlarmType if d.kind.is_limit else ua.ObjectIds.OffNormalAlarmType
            parent_id, source_name = self._parent_for(d)
            name = d.id.rsplit(".", 1)[1] if d.kind is not AlarmKind.PM else d.id
            node_id = ua.NodeId(f"Alarms.{d.id}", ns)
            paths, shelving = _condition_items(
                items, d, node_id=node_id, parent=parent_id, name=name, type_id=type_id, ns=ns
            )
            planned.append((d, parent_id, source_name, name, type_id, paths, shelving))
        # one AddNodes call for every condition: instantiate() per condition takes seconds each
        for res in await iserver.isession.add_nodes(items):
            res.StatusCode.check()
        for d, parent_id, source_name, name, type_id, paths, shelving in planned:
            node = server.get_node(ua.NodeId(f"Alarms.{d.id}", ns))
            ev = copy.deepcopy(templates[type_id])
            ev.emitting_node = server_node
            ev.NodeId = node.nodeid
            ev.SourceNode = parent_id
            ev.SourceName = source_name
            ev.ConditionName = name
            ev.Severity = d.severity
            cond = _Cond(d, node, parent_id, source_name, ev)
            cond.vars = {path: server.get_node(nid) for path, nid in paths.items()}
            self.conds[d.id] = cond
            self._by_node[node.nodeid] = cond
            self._by_node[shelving] = cond
        for method_id, cb in (
            (ua.ObjectIds.AcknowledgeableConditionType_Acknowledge, self._acknowledge),
            (ua.ObjectIds.AcknowledgeableConditionType_Confirm, self._confirm),
            (ua.ObjectIds.ShelvedStateMachineType_TimedShelve, self._timed_shelve),
            (ua.ObjectIds.ShelvedStateMachineType_Unshelve, self._unshelve),
        ):
            method = server.get_node(ua.NodeId(method_id))
            server.link_method(method, cb)
            self.adapter.require_role(method.nodeid, Role.OPERATOR)
        snap = self.plc.snapshot
        states: Mapping[str, AlarmStatus] = snap.alarms.get("alarms", {}) if snap.alarms else {}
        for cond in self.conds.values():
            st = states.get(cond.d.id)
            if st is not None:
                await self._write_state(cond, st)
                if st.active or not st.acked:
                    await self._emit(cond, st, snap, seq=st.last_seq, message=f"{cond.d.message} (state at start)")
            else:
                await self._write_enabled(cond)
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="opcua[conditions]")
        self.plc.on_snapshot(self._on_snapshot)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # ------------------------------------------------------------------ scans in
    def _on_snapshot(self, snap: Snapshot) -> None:
        """Scan thread: queue snapshots with transitions (none is dropped), wake the loop."""
        if not snap.alarms or not snap.alarms.get("transitions") or self._loop is None or self._wake is None:
            return
        with self._lock:
            self._queue.append(snap)
        try:
            self._loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:
            return

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    if not self._queue:
                        break
                    snap = self._queue.popleft()
                try:
                    await self._apply(snap)
                except Exception:  # a bad scan must not kill the server
                    log.exception("opcua.conditions_failed tick=%s", snap.tick)

    async def _apply(self, snap: Snapshot) -> None:
        states: Mapping[str, AlarmStatus] = snap.alarms.get("alarms", {})
        tr: AlarmTransition
        for tr in snap.alarms.get("transitions", ()):
            cond = self.conds.get(tr.alarm)
            st = states.get(tr.alarm)
            if cond is None or st is None:
                continue
            await self._write_state(cond, st)
            await self._emit(
                cond,
                st,
                snap,
                seq=tr.seq,
                message=f"{cond.d.message}: {tr.event.value} ({tr.old.name} -> {tr.new.name}, {tr.source})",
            )

    async def wait_idle(self) -> None:
        """For tests: until every queued snapshot has been turned into events."""
        for _ in range(1000):
            with self._lock:
                if not self._queue:
                    return
            await asyncio.sleep(0.005)

    # ------------------------------------------------------------------ state -> event / nodes
    @staticmethod
    def _flags(st: AlarmStatus) -> tuple[bool, bool, bool]:
        active = st.state.active_flag or (
            st.state in (AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE) and st.condition
        )
        acked = st.acked
        return active, acked, active or not acked

    async def _write_enabled(self, cond: _Cond) -> None:
        for path, val, vt in (
            ("EnabledState", ua.LocalizedText("Enabled"), ua.VariantType.LocalizedText),
            ("EnabledState/Id", True, ua.VariantType.Boolean),
            ("ActiveState", ua.LocalizedText("Inactive"), ua.VariantType.LocalizedText),
            ("ActiveState/Id", False, ua.VariantType.Boolean),
            ("AckedState", ua.LocalizedText("Acknowledged"), ua.VariantType.LocalizedText),
            ("AckedState/Id", True, ua.VariantType.Boolean),
            ("Retain", False, ua.VariantType.Boolean),
            ("Severity", cond.d.severity, ua.VariantType.UInt16),
            ("SourceName", cond.source_name, ua.VariantType.String),
            ("ConditionName", cond.event.ConditionName, ua.VariantType.String),
        ):
            node = cond.vars.get(path)
            if node is not None:
                await node.write_value(ua.Variant(val, vt))

    async def _write_state(self, cond: _Cond, st: AlarmStatus) -> None:
        active, acked, retain = self._flags(st)
        limit = _LIMIT_TEXT.get(cond.d.kind)
        values: list[tuple[str, Any, ua.VariantType]] = [
            ("EnabledState", ua.LocalizedText("Enabled"), ua.VariantType.LocalizedText),
            ("EnabledState/Id", True, ua.VariantType.Boolean),
            (
                "ActiveState",
                ua.LocalizedText("Active" if active else "Inactive"),
                ua.VariantType.LocalizedText,
            ),
            ("ActiveState/Id", active, ua.VariantType.Boolean),
            (
                "AckedState",
                ua.LocalizedText("Acknowledged" if acked else "Unacknowledged"),
                ua.VariantType.LocalizedText,
            ),
            ("AckedState/Id", acked, ua.VariantType.Boolean),
            ("Retain", retain, ua.VariantType.Boolean),
            ("Severity", cond.d.severity, ua.VariantType.UInt16),
            ("SourceName", cond.source_name, ua.VariantType.String),
            ("ConditionName", cond.event.ConditionName, ua.VariantType.String),
        ]
        if limit is not None:
            values.append(
                (
                    "LimitState/CurrentState",
                    ua.LocalizedText(limit[0] if active else ""),
                    ua.VariantType.LocalizedText,
                )
            )
            values.append(
                (
                    "LimitState/CurrentState/Id",
                    ua.NodeId(limit[1]) if active else ua.NodeId(),
                    ua.VariantType.NodeId,
                )
            )
        for path, val, vt in values:
            node = cond.vars.get(path)
            if node is not None:
                await node.write_value(ua.Variant(val, vt))

    async def _emit(self, cond: _Cond, st: AlarmStatus, snap: Snapshot, *, seq: int, message: str) -> None:
        active, acked, retain = self._flags(st)
        ev = copy.copy(cond.event)
        event_id = f"{cond.d.id}#{seq}".encode()
        cond.event_ids.append(event_id)
        ev.EventId = event_id
        t = datetime.fromtimestamp(snap.sim_time, UTC)
        ev.Time = t
        ev.ReceiveTime = datetime.now(UTC)
        ev.Message = ua.LocalizedText(message)
        ev.Retain = retain
        ev.Severity = cond.d.severity
        fields: dict[str, Any] = {
            "ActiveState": ua.LocalizedText("Active" if active else "Inactive"),
            "ActiveState/Id": active,
            "AckedState": ua.LocalizedText("Acknowledged" if acked else "Unacknowledged"),
            "AckedState/Id": acked,
            "ConfirmedState": ua.LocalizedText("Confirmed" if st.confirmed else "Unconfirmed"),
            "ConfirmedState/Id": st.confirmed,
            "EnabledState": ua.LocalizedText("Enabled"),
            "EnabledState/Id": True,
            "SuppressedState": ua.LocalizedText("Suppressed" if st.state is AlarmState.SUPPRESSED else "Unsuppressed"),
            "SuppressedState/Id": st.state is AlarmState.SUPPRESSED,
            "OutOfServiceState/Id": st.state is AlarmState.OUT_OF_SERVICE,
            "ShelvingState/CurrentState": ua.LocalizedText(
                "TimedShelved" if st.state is AlarmState.SHELVED else "Unshelved"
            ),
        }
        limit = _LIMIT_TEXT.get(cond.d.kind)
        if limit is not None:
            fields["LimitState/CurrentState"] = ua.LocalizedText(limit[0] if active else "")
            fields["LimitState/CurrentState/Id"] = ua.NodeId(limit[1]) if active else ua.NodeId()
        for name, value in fields.items():
            if hasattr(ev, name):
                setattr(ev, name, value)
        await self.adapter.server.iserver.subscription_service.trigger_event(ev)
        self.events_sent += 1

    # ------------------------------------------------------------------ methods
    def _current(self, cond: _Cond) -> AlarmStatus | None:
        snap = self.plc.snapshot
        states = snap.alarms.get("alarms", {}) if snap.alarms else {}
        st = states.get(cond.d.id)
        return st if isinstance(st, AlarmStatus) else None

    def _submit(self, kind: CommandKind, cond: _Cond, value: float = 0.0) -> None:
        self.plc.submit(Command(kind=kind, target=cond.d.id, value=value, source="opcua"))

    def _cond_and_event(self, parent: ua.NodeId, args: tuple[Any, ...]) -> _Cond | int:
        cond = self._by_node.get(parent)
        if cond is None:
            return BAD_NODE_ID_INVALID
        if len(args) < 1:
            return BAD_INVALID_ARGUMENT
        raw = args[0].Value if isinstance(args[0], ua.Variant) else args[0]
        if not isinstance(raw, bytes | bytearray) or bytes(raw) not in cond.event_ids:
            return BAD_EVENT_ID_UNKNOWN
        return cond

    async def _acknowledge(self, parent: ua.NodeId, *args: Any) -> Any:
        cond = self._cond_and_event(parent, args)
        if isinstance(cond, int):
            return ua.StatusCode(cond)
        st = self._current(cond)
        if st is None or st.acked:
            return ua.StatusCode(BAD_ALREADY_ACKED)
        self._submit(CommandKind.ALARM_ACK, cond)
        return []

    async def _confirm(self, parent: ua.NodeId, *args: Any) -> Any:
        cond = self._cond_and_event(parent, args)
        if isinstance(cond, int):
            return ua.StatusCode(cond)
        st = self._current(cond)
        if st is None or not st.acked:
            return ua.StatusCode(BAD_INVALID_STATE)
        if st.confirmed:
            return ua.StatusCode(BAD_ALREADY_CONFIRMED)
        self._submit(CommandKind.ALARM_CONFIRM, cond)
        return []

    async def _timed_shelve(self, parent: ua.NodeId, *args: Any) -> Any:
        cond = self._by_node.get(parent)
        if cond is None:
            return ua.StatusCode(BAD_NODE_ID_INVALID)
        raw = args[0].Value if args and isinstance(args[0], ua.Variant) else (args[0] if args else None)
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not raw > 0:
            return ua.StatusCode(BAD_SHELVING_TIME)
        st = self._current(cond)
        if st is None or st.state in (AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE):
            return ua.StatusCode(BAD_ALREADY_SHELVED)
        self._submit(CommandKind.ALARM_SHELVE, cond, float(raw) / 1000.0)  # ShelvingTime is a Duration (ms)
        return []

    async def _unshelve(self, parent: ua.NodeId, *args: Any) -> Any:
        cond = self._by_node.get(parent)
        if cond is None:
            return ua.StatusCode(BAD_NODE_ID_INVALID)
        st = self._current(cond)
        if st is None or st.state is not AlarmState.SHELVED:
            return ua.StatusCode(BAD_NOT_SHELVED)
        self._submit(CommandKind.ALARM_UNSHELVE, cond)
        return []
