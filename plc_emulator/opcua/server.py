"""The OPC UA adapter: an asyncua server over the PLC's snapshots and command queue.

``OpcUaAdapter(tagmap, plc, host, port, security)`` is an async context manager. It builds the
address space in bulk (:mod:`.nodes`), publishes each scan's changes in one event-loop turn
(:mod:`.publish`), sends client writes through :func:`plc_emulator.image.writes.validate_write` to
``plc.submit`` (the node keeps its old value until the PLC applies the command at the next tick),
and checks roles for writes and method calls in a session subclass, the one place that sees both the
request and the logged-in user.

Hooks for the other parts: :meth:`OpcUaAdapter.set_history_storage` (HistoryRead backend, before
start), :meth:`OpcUaAdapter.tag_node` (parent for Alarms & Conditions nodes),
:meth:`OpcUaAdapter.require_role` (role needed to call a method node), ``.server`` (the asyncua
Server).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import math
import threading
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from asyncua import Node, Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.security_policies import SecurityPolicyNone
from asyncua.server.internal_session import InternalSession, SessionState
from asyncua.server.user_managers import UserManager
from asyncua.ua.uaerrors import UaStringParsingError

from plc_emulator.audit import AuditAction, AuditLog, AuditRecord
from plc_emulator.commands import Command, CommandKind
from plc_emulator.engine._commands import LINK_FAULTS, SENSOR_FAULTS, VALVE_FAULTS, is_link_target
from plc_emulator.engine.catalogue import SignalKind
from plc_emulator.errors import EmulatorError, WriteRejected
from plc_emulator.image.snapshot import Snapshot
from plc_emulator.image.writes import validate_write
from plc_emulator.opcua.audit_events import AuditEvents
from plc_emulator.opcua.certs import ensure_server_pki
from plc_emulator.opcua.events_history import EventHistory
from plc_emulator.opcua.history_processed import ProcessedHistory, add_history_configuration, is_reverse_raw
from plc_emulator.opcua.limits import LoginGuard, OpcUaLimits, Rejection
from plc_emulator.opcua.model import TypedModel, add_types, build_model, equipment_type
from plc_emulator.opcua.nodes import TagNode, build_plant
from plc_emulator.opcua.publish import Publisher
from plc_emulator.opcua.security import ConfigError, Role, SecurityConfig, verify_password
from plc_emulator.opcua.transport import Guard, GuardedBinaryServer
from plc_emulator.opcua.trust import TrustList, thumbprint
from plc_emulator.signals import lookup
from plc_emulator.tagmap.model import Tag, TagKind, TagMap

__all__ = ["FAULT_KINDS", "OpcUaAdapter", "PlcLike"]

log = logging.getLogger(__name__)

FAULT_KINDS = (*SENSOR_FAULTS, *VALVE_FAULTS, *LINK_FAULTS)  # the one fault vocabulary of scenario files

_BAD_NOT_WRITABLE = 0x803B0000
_BAD_TYPE_MISMATCH = 0x80740000
_BAD_USER_ACCESS_DENIED = 0x801F0000
_BAD_OUT_OF_RANGE = 0x803C0000
_BAD_INVALID_ARGUMENT = 0x80AB0000
_BAD_ARGUMENTS_MISSING = 0x80760000
_BAD_TOO_MANY_ARGUMENTS = 0x80E50000
_BAD_NODE_ID_UNKNOWN = 0x80340000
_BAD_INTERNAL_ERROR = 0x80020000
_BAD_INDEX_RANGE_INVALID = 0x80360000

_INT_TYPES = frozenset({ua.VariantType.SByte, ua.VariantType.Byte, ua.VariantType.Int16,
                        ua.VariantType.UInt16, ua.VariantType.Int32, ua.VariantType.UInt32,
                        ua.VariantType.Int64, ua.VariantType.UInt64})
_NUMBER_TYPES = _INT_TYPES | {ua.VariantType.Float, ua.VariantType.Double}

_POLICY_TYPES = {
    "None": ua.SecurityPolicyType.NoSecurity,
    "Basic256Sha256:Sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "Basic256Sha256:SignAndEncrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    "Aes128_Sha256_RsaOaep:Sign": ua.SecurityPolicyType.Aes128Sha256RsaOaep_Sign,
    "Aes128_Sha256_RsaOaep:SignAndEncrypt": ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    "Aes256_Sha256_RsaPss:Sign": ua.SecurityPolicyType.Aes256Sha256RsaPss_Sign,
    "Aes256_Sha256_RsaPss:SignAndEncrypt": ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
}


class PlcLike(Protocol):
    """What the adapter needs from the running PLC (``PlcRuntime`` or a test double)."""

    @property
    def snapshot(self) -> Snapshot: ...
    def submit(self, cmd: Command) -> None: ...
    def on_snapshot(self, cb: Callable[[Snapshot], None]) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def step(self, n: int = 1) -> int: ...
    def set_speed(self, speed: float) -> None: ...


_TOKEN: ContextVar[type | None] = ContextVar("opcua_identity_token", default=None)


@dataclass
class PlcUser(User):
    """An asyncua user carrying our role."""

    plc_role: Role = Role.VIEWER


class _Users(UserManager):
    """asyncua asks synchronously, on the event loop; the password itself was already checked in a
    worker thread by the guarded processor (:mod:`.transport`), which left its verdict in ``guard``."""

    def __init__(self, security: SecurityConfig, guard: Guard) -> None:
        self._security = security
        self._guard = guard

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if _TOKEN.get() is ua.X509IdentityToken:
            # asyncua verified the userTokenSignature (proof of the private key) before asking
            der = certificate if isinstance(certificate, bytes) else b""
            record = self._security.cert_users.get(thumbprint(der)) if der else None
            if record is None:
                return None
            return PlcUser(role=UserRole.User, name=record.name, plc_role=record.role)
        if username is None:
            if not self._security.anonymous:
                return None
            return PlcUser(role=UserRole.User, name=None, plc_role=self._security.effective_anonymous_role)
        record = self._security.users.get(username)
        verdict = self._guard.verdicts.pop((username, password or ""), None)
        if verdict is None:  # not seen by the processor (internal use): check here
            verdict = record is not None and password is not None and verify_password(password,
                                                                                      record.password_hash)
        if not verdict or record is None or not record.password_hash:
            return None
        return PlcUser(role=UserRole.User, name=username, plc_role=record.role)


class _PlcServer(Server):
    """asyncua's Server listening through the guarded transport (:mod:`.transport`)."""

    guard: Guard

    async def start(self) -> None:  # asyncua 2.1 Server.start with GuardedBinaryServer
        await self._setup_server_nodes()
        await self.iserver.start()
        try:
            host, port = self._get_bind_socket_info()
            bserver = GuardedBinaryServer(self.iserver, host, port, self.limits)
            bserver.guard = self.guard
            self.bserver = bserver
            bserver.set_policies(self._policies)
            await bserver.start()
        except Exception:
            await self.iserver.stop()
            raise


def _role_of(user: Any) -> Role:
    role = getattr(user, "plc_role", None)
    if isinstance(role, Role):
        return role
    # asyncua's own internal session (server-side code) is Admin
    return Role.ENGINEER if getattr(user, "role", None) == UserRole.Admin else Role.VIEWER


def _user_name(user: Any) -> str | None:
    name = getattr(user, "name", None)
    return str(name) if name else None


def _peer(name: Any) -> str:
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)


def _status(code: int) -> ua.StatusCode:
    return ua.StatusCode(code)


class _Session(InternalSession):
    """Routes tag writes to the PLC and checks method roles; everything else is asyncua's."""

    adapter: OpcUaAdapter

    async def create_session(self, params: ua.CreateSessionParameters,
                             sockname: tuple[str, int] | None = None) -> ua.CreateSessionResult:
        adapter = self.adapter
        live = sum(1 for s in adapter._sessions if s.state != SessionState.Closed)
        if live >= adapter.limits.max_sessions:
            adapter.guard.refuse(Rejection.TOO_MANY_SESSIONS, f"peer={self.name} limit={live}")
            raise ServiceError(ua.StatusCodes.BadTooManySessions)
        # Part 4 5.6.2.2 (CreateSession): "If the securityPolicyUri is None, the Server shall ignore
        # the ApplicationInstanceCertificate." asyncua validates it on every channel.
        if params.ClientCertificate and adapter._channel_is_none(self.name):
            params.ClientCertificate = None
        try:
            result = await super().create_session(params, sockname)
        except ServiceError:
            adapter.guard.rejections.add(Rejection.CERTIFICATE)
            raise
        adapter._sessions.add(self)
        return result

    def activate_session(self, params: ua.ActivateSessionParameters, peer_certificate: bytes | None
                         ) -> ua.ActivateSessionResult:
        # which token this is, for the user manager (asyncua passes the channel's certificate with
        # every token, the user's certificate only with an X509IdentityToken)
        reset = _TOKEN.set(type(params.UserIdentityToken))
        try:
            return super().activate_session(params, peer_certificate)
        finally:
            _TOKEN.reset(reset)

    async def create_subscription(self, params: ua.CreateSubscriptionParameters, callback: Callable[..., Any],
                                  request_callback: Callable[..., Any] | None = None
                                  ) -> ua.CreateSubscriptionResult:
        adapter = self.adapter
        subs = adapter.server.iserver.subscription_service.subscriptions
        mine = sum(1 for sub in subs.values() if sub.session_id == self.session_id)
        if mine >= adapter.limits.max_subscriptions_per_session:
            adapter.guard.refuse(Rejection.TOO_MANY_SUBSCRIPTIONS, f"session={self.name} limit={mine}")
            raise ServiceError(ua.StatusCodes.BadTooManySubscriptions)
        params.RequestedPublishingInterval = max(float(params.RequestedPublishingInterval or 0.0),
                                                 adapter.min_publishing_interval_ms)
        return await super().create_subscription(params, callback, request_callback)

    async def create_monitored_items(self, params: ua.CreateMonitoredItemsParameters
                                     ) -> list[ua.MonitoredItemCreateResult]:
        adapter = self.adapter
        service = adapter.server.iserver.subscription_service
        sub = service.subscriptions.get(params.SubscriptionId)
        if sub is None:
            return await super().create_monitored_items(params)
        items = list(params.ItemsToCreate)
        accept = adapter._admit_items(sub, service.subscriptions.values(), items)
        over = len(items) - sum(accept)
        if over == 0:
            return await super().create_monitored_items(params)
        adapter.guard.refuse(Rejection.TOO_MANY_MONITORED_ITEMS,
                             f"session={self.name} subscription={params.SubscriptionId} refused={over}", n=over)
        params.ItemsToCreate = [it for it, ok in zip(items, accept, strict=True) if ok]
        created = iter(await super().create_monitored_items(params) if params.ItemsToCreate else [])
        refused = ua.StatusCode(ua.StatusCodes.BadTooManyMonitoredItems)
        return [next(created) if ok else ua.MonitoredItemCreateResult(StatusCode=refused) for ok in accept]

    async def write(self, params: ua.WriteParameters) -> list[ua.StatusCode]:
        results: list[ua.StatusCode] = []
        role = _role_of(self.user)
        adapter = self.adapter
        aspace = adapter.server.iserver.aspace
        snap = adapter.plc.snapshot
        for wv in params.NodesToWrite:
            tn = adapter._by_nodeid.get(wv.NodeId)
            if tn is not None:
                results.append(_status(adapter._client_write(tn, wv, role)))
            elif wv.NodeId not in aspace:
                results.append(_status(_BAD_NODE_ID_UNKNOWN))
            else:
                sub = ua.WriteParameters(NodesToWrite=[wv])
                results.extend(await super().write(sub))
            new = wv.Value.Value.Value if wv.Value is not None and wv.Value.Value is not None else None
            old = float(snap.values[tn.index]) if tn is not None else None
            adapter.audit.record(AuditRecord(
                interface="opcua", action=AuditAction.WRITE, target=tn.tag.key if tn else wv.NodeId.to_string(),
                user=_user_name(self.user), client=_peer(self.name), old=old, new=new, result=results[-1].name))
        bad = sum(1 for r in results if not r.is_good())
        if bad:
            adapter.guard.refuse(Rejection.WRITE, f"session={self.name} items={len(results)} refused={bad} "
                                 f"first={results[next(i for i, r in enumerate(results) if not r.is_good())].name}",
                                 n=bad)
        return results

    async def browse(self, params: ua.BrowseParameters) -> list[ua.BrowseResult]:
        self.adapter._check_count(len(params.NodesToBrowse), "max_nodes_per_browse", self.name)
        return await super().browse(params)

    async def history_read(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        adapter = self.adapter
        adapter._check_count(len(params.NodesToRead), "max_nodes_per_history_read", self.name)
        details = params.HistoryReadDetails
        if adapter.events is not None and isinstance(details, ua.ReadEventDetails):
            return await adapter.events.read(details, list(params.NodesToRead))
        if adapter.processed is not None and (
                isinstance(details, ua.ReadProcessedDetails | ua.ReadAtTimeDetails) or is_reverse_raw(details)):
            return await adapter.processed.read(details, list(params.NodesToRead))
        return await super().history_read(params)

    async def call(self, params: list[ua.CallMethodRequest]) -> list[ua.CallMethodResult]:
        role = _role_of(self.user)
        out: list[ua.CallMethodResult] = []
        for req in params:
            need = self.adapter._method_roles.get(req.MethodId)
            if need is not None and role < need:
                out.append(ua.CallMethodResult(StatusCode=_status(_BAD_USER_ACCESS_DENIED)))
            else:
                out.extend(await super().call([req]))
            args = [a.Value for a in req.InputArguments or []]
            self.adapter.audit.record(AuditRecord(
                interface="opcua", action=AuditAction.CALL, target=req.MethodId.to_string(),
                user=_user_name(self.user), client=_peer(self.name), new=args, result=out[-1].StatusCode.name))
        return out


def _arg(name: str, vtype: ua.VariantType, description: str) -> ua.Argument:
    return ua.Argument(Name=name, DataType=ua.NodeId(int(vtype)), ValueRank=-1, ArrayDimensions=[],
                       Description=ua.LocalizedText(description))


class OpcUaAdapter:
    """OPC UA server for one PLC. ``async with OpcUaAdapter(tagmap, plc) as ua_server: ...``."""

    def __init__(self, tagmap: TagMap, plc: PlcLike, host: str = "127.0.0.1", port: int = 0,
                 security: SecurityConfig | None = None, *, path: str = "/plc-emulator/",
                 freeze_gc: bool = False, limits: OpcUaLimits | None = None,
                 audit: AuditLog | None = None) -> None:
        self.tagmap = tagmap
        self.plc = plc
        self.host = host
        self._port = port
        self.security = security or SecurityConfig()
        self.path = path if path.startswith("/") else f"/{path}"
        self.limits = limits or OpcUaLimits()
        self.audit = audit if audit is not None else AuditLog()
        self.audit_events: AuditEvents | None = None
        self.guard = Guard(limits=self.limits)
        self.login_guard = LoginGuard()
        self.min_publishing_interval_ms = max(50.0, tagmap.scan_period * 1000.0)
        self._sessions: weakref.WeakSet[_Session] = weakref.WeakSet()
        self._pending_logins = 0
        self._hash_pool: Any = None
        self.server = _PlcServer(user_manager=_Users(self.security, self.guard))
        self.server.guard = self.guard
        self.namespace_index = 0
        self.plant_nodeid: ua.NodeId | None = None
        self.tags: list[TagNode] = []
        self.model: TypedModel | None = None
        self._by_nodeid: dict[ua.NodeId, TagNode] = {}
        self._by_key: dict[str, TagNode] = {}
        self._method_roles: dict[ua.NodeId, Role] = {}
        self._publisher: Publisher | None = None
        self._diag: dict[str, Any] = {}
        self._runtime_cols: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._pending: Snapshot | None = None
        self._scheduled = False
        self._closed = False
        self._started = False
        self.build_seconds = 0.0
        self.applied_scans = 0
        self.coalesced_scans = 0
        self.server_certificate: Path | None = None
        self.conditions: Any = None  # AlarmConditions once started
        self.trust_list: TrustList | None = None
        self.processed: ProcessedHistory | None = None
        self.events: EventHistory | None = None
        self.freeze_gc = freeze_gc

    # ------------------------------------------------------------------ public surface
    @property
    def port(self) -> int:
        bserver = getattr(self.server, "bserver", None)
        return int(bserver.port) if bserver is not None else self._port

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}{self.path}"

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            raise RuntimeError("adapter not started")
        return self._publisher

    def tag_node(self, key: str) -> Node:
        """The asyncua Node of a tag (``DEVICE.tag``), e.g. to add condition nodes under it."""
        return self.server.get_node(self._by_key[key].nodeid)

    def require_role(self, method: ua.NodeId | Node, role: Role) -> None:
        """Calls of ``method`` need at least ``role`` (alarm Acknowledge: operator)."""
        nodeid = method.nodeid if isinstance(method, Node) else method
        self._method_roles[nodeid] = role

    def metric_families(self) -> list[Any]:
        """Prometheus families for /metrics (:mod:`.metrics`)."""
        from plc_emulator.opcua.metrics import opcua_families

        return opcua_families(self)

    def _admit_items(self, sub: Any, subs: Any, items: list[ua.MonitoredItemCreateRequest]) -> list[bool]:
        """Which of ``items`` fit the limits: per subscription, per server, and per node (the same node
        monitored more than ``max_monitored_items_per_node`` times server-wide serves no client)."""
        lim = self.limits
        wanted = {it.ItemToMonitor.NodeId for it in items}
        per_node: dict[ua.NodeId, int] = dict.fromkeys(wanted, 0)
        total = 0
        for s in subs:
            mis = s.monitored_item_srv._monitored_items
            total += len(mis)
            for md in mis.values():
                nid = md.read_value_id.NodeId if md.read_value_id is not None else None
                if nid in per_node:
                    per_node[nid] += 1
        room = min(lim.max_monitored_items_per_subscription - len(sub.monitored_item_srv._monitored_items),
                   lim.max_monitored_items - total)
        out: list[bool] = []
        for it in items:
            nid = it.ItemToMonitor.NodeId
            ok = room > 0 and per_node[nid] < lim.max_monitored_items_per_node
            if ok:
                room -= 1
                per_node[nid] += 1
            out.append(ok)
        return out

    def _audit_source(self, target: str) -> tuple[ua.NodeId, str]:
        tn = self._tag_for(target)  # a tag key (OPC UA writes) or a signal (Modbus, REST, Sparkplug writes)
        if tn is not None:
            return tn.nodeid, tn.tag.key
        try:
            node = ua.NodeId.from_string(target)
        except (ValueError, TypeError, UaStringParsingError):
            return ua.NodeId(ua.ObjectIds.Server), target
        return node, str(node.Identifier)

    def _tag_for(self, name: str) -> TagNode | None:
        tn = self._by_key.get(name)
        if tn is None:
            tn = next((t for t in self.tags if t.tag.signal == name), None)
        return tn

    def _event_source(self, kind: str, source: str, data: dict[str, Any]) -> tuple[int, ua.NodeId, str, int, str]:
        """Historian event -> (EventType, SourceNode, SourceName, Severity, ConditionName)."""
        server = ua.NodeId(ua.ObjectIds.Server)
        cond = self.conditions.conds.get(source) if kind == "alarm" and self.conditions is not None else None
        if cond is not None:
            limit = getattr(cond.d.kind, "is_limit", False)
            type_id = ua.ObjectIds.ExclusiveLimitAlarmType if limit else ua.ObjectIds.OffNormalAlarmType
            return type_id, cond.source, cond.source_name, int(cond.d.severity), str(cond.event.ConditionName)
        tn = self._tag_for(source)
        node, name = (tn.nodeid, tn.tag.key) if tn is not None else (server, source)
        if kind in ("command", "audit"):
            method = data.get("method") or data.get("command") not in (None, "write")
            type_id = ua.ObjectIds.AuditUpdateMethodEventType if method else ua.ObjectIds.AuditWriteUpdateEventType
            return type_id, node, name, 100, ""
        if kind == "alarm":
            return ua.ObjectIds.AlarmConditionType, node, name, 500, source
        return ua.ObjectIds.DeviceFailureEventType, node, name, 700, ""

    def _contains(self, read: ua.NodeId, source: ua.NodeId) -> bool:
        """Is ``source`` the node read or below it (Server and the plant object contain everything)?"""
        if read == source or read == ua.NodeId(ua.ObjectIds.Server) or read == self.plant_nodeid:
            return True
        ident = read.Identifier
        return (isinstance(ident, str) and isinstance(source.Identifier, str) and read.NamespaceIndex ==
                source.NamespaceIndex and source.Identifier.startswith(ident + "."))

    def _check_count(self, n: int, limit_name: str, who: object) -> None:
        """BadTooManyOperations for a request of more than the limit's items (service fault)."""
        limit = int(getattr(self.limits, limit_name))
        if n > limit:
            self.guard.refuse(Rejection.TOO_MANY_OPERATIONS, f"session={who} items={n} limit={limit} "
                              f"({limit_name})")
            raise ServiceError(ua.StatusCodes.BadTooManyOperations)

    def _channel_is_none(self, peer: object) -> bool:
        """True if the client at ``peer`` talks over a SecurityPolicy None channel (unknown: False)."""
        bserver = self.server.bserver
        for proto in bserver.clients if bserver is not None else ():
            if proto.peer_name == peer and proto.processor is not None:
                policy = proto.processor._connection.security_policy
                return bool(policy.URI == SecurityPolicyNone.URI)
        return False

    def set_history_storage(self, storage: Any) -> None:
        """HistoryRead backend (an asyncua HistoryStorageInterface); call before start. A storage with a
        ``path`` (the historian file) also serves ReadProcessed, ReadAtTime and reverse raw reads."""
        self.server.iserver.history_manager.set_storage(storage)
        path = getattr(storage, "path", None)
        if path is not None:
            self.processed = ProcessedHistory(path, self.tagmap)
            self.events = EventHistory(path, self._event_source, self._contains)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        t0 = loop.time()
        await self.build()
        self.plc.on_snapshot(self._on_snapshot)
        # Alarms & Conditions: one condition per alarm of the tag map (plc_emulator/opcua/conditions.py)
        from plc_emulator.opcua.conditions import AlarmConditions

        self.conditions = AlarmConditions(self, self.tagmap, self.plc)
        await self.conditions.attach()
        self.audit_events = AuditEvents(self.server, self._audit_source)
        await self.audit_events.start()
        self.audit.add_sink(self.audit_events)
        await self.server.start()
        self._started = True
        # whatever changed since the snapshot the nodes were built from
        self.publisher.apply(self.plc.snapshot)
        if self.freeze_gc:
            # The address space is hundreds of thousands of long-lived objects; without this every
            # full collection walks them all (a 0.5 s pause at 10,000 tags). For the one server of a
            # process (plc-emulator run), not for tests that start many.
            gc.freeze()
        sec = self.security
        if sec.anonymous and "None" in sec.policies and sec.effective_anonymous_role >= Role.OPERATOR:
            log.warning("opcua.anonymous_can_write role=%s: anonymous clients can change the process over "
                        "the unencrypted None endpoint (use --opcua-anonymous-role viewer, or leave None out "
                        "of --opcua-security)", sec.effective_anonymous_role.name.lower())
        self.build_seconds = loop.time() - t0
        log.info("opcua.started endpoint=%s tags=%d seconds=%.2f", self.endpoint, len(self.tags),
                 self.build_seconds)

    async def build(self) -> None:
        """Configure the server and build the address space (no socket yet); used by nodeset export."""
        server = self.server
        await server.init()
        server.set_endpoint(f"opc.tcp://{self.host}:{self._port}{self.path}")
        server.set_server_name(f"plc-emulator {self.tagmap.name}")
        await server.set_application_uri(self.tagmap.opcua.application_uri)
        self._configure_security()
        self._configure_limits()
        await self._load_pki()
        self.namespace_index = await server.register_namespace(self.tagmap.opcua.namespace_uri)
        snap = self.plc.snapshot
        publisher = Publisher([], extra=self._update_diagnostics)
        types = await add_types(server, self.namespace_index)
        device_types = {d.name: types[t] for d in self.tagmap.devices if (t := equipment_type(d)) is not None}
        self.plant_nodeid, self.tags = build_plant(server.iserver.aspace, self.tagmap, self.namespace_index,
                                                   publisher.initial(snap),
                                                   datetime.fromtimestamp(snap.sim_time, UTC),
                                                   device_types=device_types)
        self.model = build_model(server, self.tagmap, self.namespace_index, types=types, tags=self.tags,
                                 status=snap.status, source_time=datetime.fromtimestamp(snap.sim_time, UTC))
        publisher._tags = self.tags
        self._publisher = publisher
        self._by_nodeid = {tn.nodeid: tn for tn in self.tags}
        self._by_key = {tn.tag.key: tn for tn in self.tags}
        for i, tn in enumerate(self.tags):
            if tn.tag.signal.startswith("runtime."):
                self._runtime_cols.setdefault(tn.tag.signal, i)
        await self._add_simulation()
        await self._add_diagnostics(snap)
        await self._advertise_limits()
        await add_history_configuration(server, self.tagmap, self.namespace_index,
                                        {tn.tag.opcua.node_id: tn.nodeid for tn in self.tags})
        if self.events is not None:  # the Server object: SubscribeToEvents | HistoryRead (event history)
            await server.nodes.server.write_attribute(ua.AttributeIds.EventNotifier,
                                                      ua.DataValue(ua.Variant(5, ua.VariantType.Byte)))
        iserver = server.iserver

        def create_session(name: str, user: User = User(role=UserRole.Anonymous),  # noqa: B008
                           external: bool = False) -> InternalSession:
            session = _Session(iserver, iserver.aspace, iserver.subscription_service, name, user=user,
                               external=external)
            session.adapter = self
            return session

        iserver.create_session = create_session  # type: ignore[method-assign]

    def _configure_limits(self) -> None:
        """Transport and service limits into asyncua; the login check off the event loop."""
        lim = self.limits
        tl = self.server.limits
        tl.max_recv_buffer = tl.max_send_buffer = lim.max_chunk_size
        tl.max_message_size = lim.max_message_size
        tl.max_chunk_count = lim.max_chunk_count
        iserver = self.server.iserver
        iserver.max_subscriptions = lim.max_subscriptions
        iserver.max_connections = lim.max_sessions * 2  # sockets: sessions plus discovery connections
        iserver.max_monitored_item_queue_size = 100
        if self.security.password_users:
            self.guard.check_login = self._check_login

    async def _advertise_limits(self) -> None:
        """ServerCapabilities and OperationLimits (Part 5 6.3.2, 6.3.11) as the limits enforced."""
        lim = self.limits
        ids = ua.ObjectIds
        values: list[tuple[int, int, ua.VariantType]] = [
            (ids.Server_ServerCapabilities_MaxSessions, lim.max_sessions, ua.VariantType.UInt32),
            (ids.Server_ServerCapabilities_MaxSubscriptions, lim.max_subscriptions, ua.VariantType.UInt32),
            (ids.Server_ServerCapabilities_MaxSubscriptionsPerSession, lim.max_subscriptions_per_session,
             ua.VariantType.UInt32),
            (ids.Server_ServerCapabilities_MaxMonitoredItems, lim.max_monitored_items, ua.VariantType.UInt32),
            (ids.Server_ServerCapabilities_MaxMonitoredItemsPerSubscription,
             lim.max_monitored_items_per_subscription, ua.VariantType.UInt32),
            (ids.Server_ServerCapabilities_MaxMonitoredItemsQueueSize, 100, ua.VariantType.UInt32),
            (ids.Server_ServerCapabilities_MaxByteStringLength, lim.max_message_size, ua.VariantType.UInt32),
            (ids.Server_ServerCapabilities_MaxStringLength, lim.max_message_size, ua.VariantType.UInt32),
        ]
        ol = {
            "MaxNodesPerRead": lim.max_nodes_per_read, "MaxNodesPerWrite": lim.max_nodes_per_write,
            "MaxNodesPerBrowse": lim.max_nodes_per_browse, "MaxNodesPerMethodCall": lim.max_nodes_per_method_call,
            "MaxNodesPerTranslateBrowsePathsToNodeIds": lim.max_nodes_per_translate,
            "MaxNodesPerRegisterNodes": lim.max_nodes_per_register,
            "MaxNodesPerHistoryReadData": lim.max_nodes_per_history_read,
            "MaxNodesPerHistoryReadEvents": lim.max_nodes_per_history_read,
            "MaxMonitoredItemsPerCall": lim.max_monitored_items_per_call,
            "MaxNodesPerNodeManagement": lim.max_nodes_per_node_management,
        }
        for name, value in ol.items():
            values.append((getattr(ids, f"Server_ServerCapabilities_OperationLimits_{name}"), value,
                           ua.VariantType.UInt32))
        aspace = self.server.iserver.aspace
        for node_id, value, vtype in values:
            nid = ua.NodeId(node_id)
            if nid in aspace:
                await self.server.write_attribute_value(nid, ua.DataValue(ua.Variant(min(value, 2**32 - 1),
                                                                                     vtype)))

    async def _check_login(self, user: str, password: str, peer: str) -> bool:
        """Password check in a worker thread, with backoff; unknown users cost as much as known ones."""
        from concurrent.futures import ThreadPoolExecutor

        delay = self.login_guard.delay(user, peer)
        if delay > 0:  # backing off: refused after the delay, no hash computed (right password too)
            self.guard.refuse(Rejection.LOGIN_BACKOFF, f"peer={peer} wait={delay:.1f}s")
            await asyncio.sleep(delay)
            return False
        if self._pending_logins >= self.limits.max_pending_logins:
            self.guard.refuse(Rejection.LOGIN_BACKOFF, f"peer={peer} pending={self._pending_logins}")
            self.login_guard.failed(user, peer)
            return False
        record = self.security.users.get(user)
        # an unknown user is checked against a real user's hash: same cost, same answer time
        stored = record.password_hash if record is not None and record.password_hash else self._decoy_hash
        if self._hash_pool is None:
            self._hash_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opcua-login")
        self._pending_logins += 1
        try:
            ok = await asyncio.get_running_loop().run_in_executor(self._hash_pool, verify_password, password,
                                                                  stored)
        finally:
            self._pending_logins -= 1
        ok = ok and record is not None and bool(record.password_hash)
        if ok:
            self.login_guard.succeeded(user)
        else:
            self.login_guard.failed(user, peer)
            self.guard.refuse(Rejection.LOGIN, f"peer={peer}")
        return ok

    @property
    def _decoy_hash(self) -> str:
        return next(u.password_hash for u in self.security.users.values() if u.password_hash)

    def _configure_security(self) -> None:
        sec = self.security
        server = self.server
        try:
            types = [_POLICY_TYPES[p] for p in sec.policies]
        except KeyError as exc:
            raise ConfigError(f"unknown OPC UA security policy {exc.args[0]!r}") from None
        server.set_security_policy(types)
        tokens: list[type] = []
        if sec.anonymous:
            tokens.append(ua.AnonymousIdentityToken)
        if sec.password_users:
            tokens.append(ua.UserNameIdentityToken)
        if sec.cert_users:
            tokens.append(ua.X509IdentityToken)
        if not tokens:
            raise ConfigError("anonymous login is off and no users file is given: nobody could log in "
                              "(give --opcua-users FILE or allow anonymous)")
        server.set_identity_tokens(tokens)
        if not sec.secure:
            return
        if sec.pki_dir is None:
            raise ConfigError("secure OPC UA policies need a PKI folder (--opcua-pki DIR)")
        pki = ensure_server_pki(sec.pki_dir, application_uri=self.tagmap.opcua.application_uri,
                                hostname=sec.hostname)
        self.server_certificate = pki.cert_path
        self._pki = pki

    async def _load_pki(self) -> None:
        pki = getattr(self, "_pki", None)
        if pki is None:
            return
        try:
            await self.server.load_certificate(str(pki.cert_path))
            await self.server.load_private_key(str(pki.key_path))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load OPC UA certificate {pki.cert_path} / key {pki.key_path}: "
                              f"{exc}") from None
        if not self.security.trust_all:
            self.trust_list = TrustList(pki.cert_path.parent.parent)
            self.server.set_certificate_validator(self.trust_list.validate)

    async def stop(self) -> None:
        self._closed = True
        if self.conditions is not None:
            await self.conditions.close()
        if self.audit_events is not None:
            await self.audit_events.stop()
        if self._started:
            self._started = False
            await self.server.stop()
        if self._hash_pool is not None:
            self._hash_pool.shutdown(wait=False, cancel_futures=True)
        if self.processed is not None:
            self.processed.close()
        if self.events is not None:
            self.events.close()

    # ------------------------------------------------------------------ scans in
    def _on_snapshot(self, snap: Snapshot) -> None:
        """Scan thread: keep only the newest snapshot and wake the loop once."""
        if self._closed or self._loop is None:
            return
        with self._lock:
            if self._pending is not None:
                self.coalesced_scans += 1
            self._pending = snap
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # loop closed during shutdown
            self._closed = True

    def _drain(self) -> None:
        with self._lock:
            snap, self._pending = self._pending, None
            self._scheduled = False
        if snap is not None and not self._closed:
            self._apply(snap)

    def _apply(self, snap: Snapshot) -> None:
        if self._publisher is None:
            return
        try:
            self._publisher.apply(snap)
            self.applied_scans += 1
        except Exception:  # a bad scan must not kill the server
            log.exception("opcua.publish_failed tick=%s", snap.tick)

    # ------------------------------------------------------------------ client writes
    def _client_write(self, tn: TagNode, wv: ua.WriteValue, role: Role) -> int:
        if wv.AttributeId != ua.AttributeIds.Value:
            return _BAD_NOT_WRITABLE
        if wv.IndexRange:
            return _BAD_INDEX_RANGE_INVALID
        variant = wv.Value.Value if wv.Value is not None else None
        value = _typed_value(tn.tag, variant)
        if value is None:
            return _BAD_TYPE_MISMATCH
        try:
            cmd = validate_write(tn.tag, value, source="opcua", role=role.name.lower())
        except WriteRejected as exc:  # counted and logged (rate-limited) per request by the session
            log.debug("opcua.write_rejected tag=%s reason=%s detail=%s", exc.tag, exc.reason.name, exc.detail)
            return exc.opcua_status
        try:
            self.plc.submit(cmd)
        except EmulatorError as exc:
            log.warning("opcua.submit_failed tag=%s error=%s", tn.tag.key, exc)
            return _BAD_INTERNAL_ERROR
        return 0

    # ------------------------------------------------------------------ Simulation object
    async def _add_simulation(self) -> None:
        ns = self.namespace_index
        assert self.plant_nodeid is not None
        plant = self.server.get_node(self.plant_nodeid)
        base = f"{self.tagmap.plant}.Simulation"
        sim = await plant.add_object(ua.NodeId(base, ns), ua.QualifiedName("Simulation", ns))
        V = ua.VariantType
        methods: list[tuple[str, Callable[..., Any], list[ua.Argument]]] = [
            ("Pause", self._m_pause, []),
            ("Resume", self._m_resume, []),
            ("Step", self._m_step, [_arg("ticks", V.UInt32, "ticks to advance (1..65535); pauses first")]),
            ("SetSpeed", self._m_set_speed, [_arg("factor", V.Double, "speed factor, 0 = fastest")]),
            ("InjectFault", self._m_inject, [
                _arg("tag", V.String, "tag (DEVICE.tag), node id or engine signal"),
                _arg("kind", V.String, "fault kind: " + ", ".join(FAULT_KINDS)),
                _arg("parameters", V.String, 'JSON object of fault parameters, e.g. {"rate": 0.5}')]),
            ("ClearFault", self._m_clear, [_arg("tag", V.String, 'tag, node id or signal; "*" clears all')]),
        ]
        for name, cb, inputs in methods:
            node = await sim.add_method(ua.NodeId(f"{base}.{name}", ns), ua.QualifiedName(name, ns), cb,
                                        inputs, [])
            self._method_roles[node.nodeid] = Role.ENGINEER

    async def _m_pause(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        if args:
            return _status(_BAD_TOO_MANY_ARGUMENTS)
        self.plc.pause()
        return []

    async def _m_resume(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        if args:
            return _status(_BAD_TOO_MANY_ARGUMENTS)
        self.plc.resume()
        return []

    async def _m_step(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        bad = _arity(args, 1)
        if bad:
            return _status(bad)
        v = args[0]
        if v.VariantType not in _INT_TYPES:
            return _status(_BAD_INVALID_ARGUMENT)
        n = int(v.Value)
        if not 1 <= n <= 65535:
            return _status(_BAD_OUT_OF_RANGE)
        self.plc.step(n)
        return []

    async def _m_set_speed(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        bad = _arity(args, 1)
        if bad:
            return _status(bad)
        v = args[0]
        if v.VariantType not in _NUMBER_TYPES:
            return _status(_BAD_INVALID_ARGUMENT)
        x = float(v.Value)
        if not math.isfinite(x) or not 0.0 <= x <= 10000.0:
            return _status(_BAD_OUT_OF_RANGE)
        self.plc.set_speed(x)
        return []

    def _resolve_signal(self, text: str) -> str | None:
        tn = self._by_key.get(text)
        if tn is None:
            tn = self._by_nodeid.get(ua.NodeId(text, self.namespace_index))
        if tn is not None:
            return tn.tag.signal
        return text if lookup(text, self.tagmap.catalogue) is not None else None

    async def _m_inject(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        bad = _arity(args, 3)
        if bad:
            return _status(bad)
        if any(a.VariantType is not ua.VariantType.String or a.Value is None for a in args[:2]):
            return _status(_BAD_INVALID_ARGUMENT)
        target, kind = str(args[0].Value), str(args[1].Value)
        raw = args[2].Value if args[2].VariantType is ua.VariantType.String else None
        try:
            extra = json.loads(raw) if raw else {}
        except ValueError:
            return _status(_BAD_INVALID_ARGUMENT)
        if not isinstance(extra, dict) or not all(
                isinstance(k, str) and isinstance(v, int | float | str) and not isinstance(v, bool)
                and (not isinstance(v, float) or math.isfinite(v)) for k, v in extra.items()):
            return _status(_BAD_INVALID_ARGUMENT)
        if is_link_target(target):  # a Modbus listener or unit id (docs/modbus.md, "Link faults")
            if kind not in LINK_FAULTS:
                return _status(_BAD_INVALID_ARGUMENT)
            self.plc.submit(Command(kind=CommandKind.INJECT_FAULT, target=target, params={"kind": kind, **extra},
                                    source="opcua"))
            return []
        signal = self._resolve_signal(target)
        if signal is None:
            return _status(_BAD_NODE_ID_UNKNOWN)
        if kind not in FAULT_KINDS or kind in LINK_FAULTS:
            return _status(_BAD_INVALID_ARGUMENT)
        spec = lookup(signal, self.tagmap.catalogue)
        if kind in VALVE_FAULTS:
            if not signal.endswith(".valve"):
                loop_id = signal.split(".", 1)[0]
                signal = f"{loop_id}.valve"
        elif spec is None or spec.kind is not SignalKind.MEASURED:
            return _status(_BAD_INVALID_ARGUMENT)
        params: dict[str, float | int | str] = {"kind": kind, **extra}
        self.plc.submit(Command(kind=CommandKind.INJECT_FAULT, target=signal, params=params, source="opcua"))
        return []

    async def _m_clear(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        bad = _arity(args, 1)
        if bad:
            return _status(bad)
        if args[0].VariantType is not ua.VariantType.String or not args[0].Value:
            return _status(_BAD_INVALID_ARGUMENT)
        text = str(args[0].Value)
        signal = text if text == "*" or is_link_target(text) else self._resolve_signal(text)
        if signal is None:
            return _status(_BAD_NODE_ID_UNKNOWN)
        self.plc.submit(Command(kind=CommandKind.CLEAR_FAULT, target=signal, source="opcua"))
        return []

    # ------------------------------------------------------------------ Diagnostics object
    async def _add_diagnostics(self, snap: Snapshot) -> None:
        ns = self.namespace_index
        assert self.plant_nodeid is not None
        plant = self.server.get_node(self.plant_nodeid)
        base = f"{self.tagmap.plant}.Diagnostics"
        diag = await plant.add_object(ua.NodeId(base, ns), ua.QualifiedName("Diagnostics", ns))
        V = ua.VariantType
        spec = [
            ("ScanTimeMs", 0.0, V.Double, "duration of the last scan, ms"),
            ("JitterMs", 0.0, V.Double, "|actual - planned| start of the last scan, ms"),
            ("Overruns", 0, V.UInt32, "scans that overran their period"),
            ("SimulatedTime", datetime.fromtimestamp(snap.sim_time, UTC), V.DateTime, "simulated time"),
            ("Tick", snap.tick, V.UInt64, "scan counter"),
            ("RunDigest", snap.digest, V.String, "SHA-256 of the deterministic snapshot stream"),
        ]
        for name, value, vtype, desc in spec:
            node = await diag.add_variable(ua.NodeId(f"{base}.{name}", ns), ua.QualifiedName(name, ns),
                                           ua.Variant(value, vtype), varianttype=vtype)
            await node.write_attribute(ua.AttributeIds.Description,
                                       ua.DataValue(ua.Variant(ua.LocalizedText(desc), V.LocalizedText)))
            nd = self.server.iserver.aspace[node.nodeid]
            self._diag[name] = (nd.attributes[ua.AttributeIds.Value], vtype)

    def _update_diagnostics(self, snap: Snapshot, ts: datetime) -> int:
        stats = getattr(self.plc, "stats", None)

        def runtime(signal: str, attr: str, scale: float) -> float:
            col = self._runtime_cols.get(signal)
            if col is not None:
                return float(snap.values[col])
            return float(getattr(stats, attr, 0.0) or 0.0) * scale

        values = {
            "ScanTimeMs": runtime("runtime.scan_time_ms", "last_scan_time", 1000.0),
            "JitterMs": runtime("runtime.jitter_ms", "last_jitter", 1000.0),
            "Overruns": int(runtime("runtime.overruns", "overruns", 1.0)),
            "SimulatedTime": ts,
            "Tick": int(snap.tick),
            "RunDigest": snap.digest,
        }
        assert self._publisher is not None
        n = self.model.update(snap.status, ts, self._publisher.notify) if self.model is not None else 0
        for name, value in values.items():
            attr, vtype = self._diag[name]
            old = attr.value
            if old is not None and old.Value is not None and old.Value.Value == value:
                continue
            dv = ua.DataValue(ua.Variant(value, vtype), SourceTimestamp=ts, ServerTimestamp=datetime.now(UTC))
            attr.value = dv
            if attr.datachange_callbacks:
                self._publisher.notify(attr, dv)
            n += 1
        return n


def _arity(args: tuple[ua.Variant, ...], n: int) -> int:
    if len(args) < n:
        return _BAD_ARGUMENTS_MISSING
    if len(args) > n:
        return _BAD_TOO_MANY_ARGUMENTS
    return 0


def _typed_value(tag: Tag, variant: ua.Variant | None) -> bool | int | float | None:
    """The written Python value if the Variant's type fits the node's DataType, else None."""
    if variant is None or variant.Value is None or variant.is_array:
        return None
    vt = variant.VariantType
    if tag.kind is TagKind.DISCRETE:
        return bool(variant.Value) if vt is ua.VariantType.Boolean else None
    if tag.kind in (TagKind.MULTISTATE, TagKind.COUNTER):
        return int(variant.Value) if vt in _INT_TYPES else None
    if vt in _NUMBER_TYPES:
        return float(variant.Value)
    return None
