"""REST handlers: readings, tags, alarms, history, faults, simulation control, the SSE stream.

Every change goes through the same path as Modbus and OPC UA: tag writes through
:func:`~plc_emulator.image.writes.validate_write` (role, access, type, limits; the same rejection
vocabulary, mapped to problem+json by :func:`~plc_emulator.http.problems.rejected`), then
``plc.submit`` onto the one command queue, applied at the next tick and journaled. Nothing is
applied on a rejection. Every accepted change is logged with who asked (user or peer address).
"""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import structlog
from aiohttp import web

from plc_emulator.alarms.states import HIDDEN, AlarmState
from plc_emulator.audit import AuditAction, AuditLog, AuditRecord
from plc_emulator.commands import Command, CommandKind
from plc_emulator.errors import EmulatorError, WriteRejected
from plc_emulator.http.auth import PRINCIPAL, Principal
from plc_emulator.http.faults import FaultTracker, parse_fault
from plc_emulator.http.history import HistoryReader, parse_time
from plc_emulator.http.overview import plant_overview
from plc_emulator.http.problems import Problem, rejected
from plc_emulator.http.stream import Broadcaster
from plc_emulator.http.views import alarm_list, iso, readings, tag_json, transitions_json
from plc_emulator.image.writes import validate_write
from plc_emulator.opcua.security import Role
from plc_emulator.runtime.plc import PlcRuntime
from plc_emulator.signals import lookup
from plc_emulator.tagmap.model import Tag, TagKind

__all__ = ["Api"]

log = structlog.get_logger("plc_emulator.http")

MAX_BODY = 64 * 1024


def who(request: web.Request) -> Principal:
    p = request.get(PRINCIPAL)
    if not isinstance(p, Principal):  # the auth wrapper always sets it; be explicit if not
        raise Problem(401, "unauthorized", "no principal")
    return p


async def json_body(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Problem(413, "too-large", f"body larger than {MAX_BODY} bytes")
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "bad-json", f"body is not valid JSON: {exc}") from None


def _query_int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise Problem(400, "bad-query", f"{name}: must be an integer (got {raw!r})") from None
    if not lo <= v <= hi:
        raise Problem(400, "bad-query", f"{name}: must be {lo}..{hi} (got {v})")
    return v


class Api:
    def __init__(self, plc: PlcRuntime, *, history: HistoryReader | None, broadcaster: Broadcaster,
                 faults: FaultTracker) -> None:
        self.plc = plc
        self.tagmap = tm = plc.tagmap
        self.tags = {t.key: t for t in tm.tags}
        self.columns = {t.key: i for i, t in enumerate(tm.tags)}
        self.by_signal = {t.signal: t for t in tm.tags}
        self.alarm_defs = {d.id: d for d in plc.cycle.alarms.block.defs}
        self.history = history
        self.broadcaster = broadcaster
        self.faults = faults
        self.overview = plant_overview(tm).to_json()
        self.audit: AuditLog | None = None  # the runtime's shared audit log (set by the HTTP server)

    def stream_extras(self, snap: Any) -> dict[str, Any]:
        """Per-scan additions to the SSE payload (alarm transitions and summary, sim state, faults)."""
        a = snap.alarms or {}
        return {"alarms": {"transitions": transitions_json(snap), "active_count": int(a.get("active_count", 0)),
                           "unacked_count": int(a.get("unacked_count", 0))},
                "sim": {"paused": self.plc.paused, "speed": self.plc.speed}, "faults": self.faults.active()}

    def _audit(self, request: web.Request, action: str, *, old: Any = None, result: str = "Good", **kw: Any) -> None:
        """Log one client change and hand it to the runtime's audit log (historian events, OPC UA events)."""
        p = who(request)
        log.info("http.accepted" if result == "Good" else "http.refused", action=action, user=p.label,
                 role=p.role.name.lower(), peer=request.remote, **kw)
        if self.audit is None:
            return
        target = str(kw.get("tag") or kw.get("target") or kw.get("alarm") or "")
        write = action == "write"
        self.audit.record(AuditRecord(
            interface="http", action=AuditAction.WRITE if write else AuditAction.CALL,
            target=target if write else f"{action}({target})", user=p.name, client=request.remote or "",
            old=old, new=kw.get("value"), result=result))

    def _submit(self, cmd: Command) -> None:
        try:
            self.plc.submit(cmd)
        except EmulatorError as exc:  # queue full or stopping: the client may retry
            raise Problem(503, "unavailable", str(exc), headers={"Retry-After": "1"}) from None

    # ------------------------------------------------------------------ readings and the map
    async def get_readings(self, request: web.Request) -> web.Response:
        cols = list(range(len(self.tagmap.tags)))
        device = request.query.get("device")
        if device is not None:
            if device not in {d.name for d in self.tagmap.devices}:
                raise Problem(404, "unknown-device", f"no device {device!r} in this tag map")
            cols = [i for i in cols if self.tagmap.tags[i].device == device]
        wanted = [k for v in request.query.getall("tag", []) for k in v.split(",") if k]
        if wanted:
            missing = [k for k in wanted if k not in self.columns]
            if missing:
                raise Problem(404, "unknown-tag", f"no tag {', '.join(missing)} in this tag map")
            keep = {self.columns[k] for k in wanted}
            cols = [i for i in cols if i in keep]
        snap = self.plc.snapshot
        return web.json_response({"tick": snap.tick, "time": iso(snap.sim_time),
                                  "readings": readings(self.tagmap, snap, cols)})

    def _tag(self, request: web.Request) -> Tag:
        key = request.match_info["tag"]
        tag = self.tags.get(key)
        if tag is None:
            raise Problem(404, "unknown-tag", f"no tag {key!r} in this tag map (keys are DEVICE.tag)")
        return tag

    async def get_reading(self, request: web.Request) -> web.Response:
        tag = self._tag(request)
        return web.json_response(readings(self.tagmap, self.plc.snapshot, [self.columns[tag.key]])[0])

    async def get_tags(self, request: web.Request) -> web.Response:
        ns = self.tagmap.opcua.namespace_uri
        device = request.query.get("device")
        return web.json_response([tag_json(t, ns) for t in self.tagmap.tags if device in (None, t.device)])

    async def get_overview(self, _request: web.Request) -> web.Response:
        return web.json_response(self.overview)

    async def put_tag(self, request: web.Request) -> web.Response:
        tag = self._tag(request)
        body = await json_body(request)
        if not isinstance(body, dict) or "value" not in body:
            raise Problem(422, "type-mismatch", 'body must be {"value": <number, true/false or state name>}')
        value = body["value"]
        if isinstance(value, str) and tag.kind in (TagKind.DISCRETE, TagKind.MULTISTATE) and value in tag.states:
            value = tag.states.index(value)
        p = who(request)
        old = float(self.plc.snapshot.values[self.columns[tag.key]])
        try:
            cmd = validate_write(tag, value, source="http", role=p.role.name.lower())
        except WriteRejected as exc:
            self._audit(request, "write", tag=tag.key, value=value, old=old, result=exc.reason.name)
            raise rejected(exc) from None
        self._submit(cmd)
        self._audit(request, "write", tag=tag.key, value=cmd.value, old=old)
        return web.json_response({"tag": tag.key, "value": cmd.value, "applies_at_tick": self.plc.tick + 1},
                                 status=202)

    # ------------------------------------------------------------------ alarms
    async def get_alarms(self, _request: web.Request) -> web.Response:
        snap = self.plc.snapshot
        a = snap.alarms or {}
        return web.json_response({
            "tick": snap.tick, "active_count": int(a.get("active_count", 0)),
            "unacked_count": int(a.get("unacked_count", 0)), "highest_priority": int(a.get("highest_priority", 0)),
            "alarms": alarm_list(snap, self.alarm_defs, self.plc.period),
        })

    async def post_alarm(self, request: web.Request) -> web.Response:
        alarm, action = request.match_info["id"], request.match_info["action"]
        states = self.plc.snapshot.alarms.get("alarms", {}) if self.plc.snapshot.alarms else {}
        st = states.get(alarm)
        if st is None:
            raise Problem(404, "unknown-alarm", f"no alarm {alarm!r} in this tag map")
        body = await json_body(request)
        value = 0.0
        params: dict[str, float | int | str] = {}
        if action == "ack":
            if st.acked:
                raise Problem(409, "already-acked", f"alarm {alarm} is already acknowledged ({st.state.name})")
            kind = CommandKind.ALARM_ACK
        elif action == "shelve":
            value, reason = _shelve_args(body)
            if st.state in HIDDEN:
                raise Problem(409, "already-shelved", f"alarm {alarm} is {st.state.name}; cannot shelve")
            kind, params = CommandKind.ALARM_SHELVE, {"reason": reason}
        else:  # unshelve
            if st.state is not AlarmState.SHELVED:
                raise Problem(409, "not-shelved", f"alarm {alarm} is not shelved ({st.state.name})")
            kind = CommandKind.ALARM_UNSHELVE
        self._submit(Command(kind=kind, target=alarm, value=value, params=params, source="http"))
        self._audit(request, f"alarm_{action}", alarm=alarm, params=params)
        return web.json_response({"alarm": alarm, "action": action, "applies_at_tick": self.plc.tick + 1},
                                 status=202)

    # ------------------------------------------------------------------ history
    def _reader(self) -> HistoryReader:
        if self.history is None:
            raise Problem(503, "no-historian", "the historian is not running in this emulator")
        return self.history

    def _window(self, request: web.Request) -> tuple[float, float]:
        try:
            end = parse_time(request.query["to"], "to") if "to" in request.query else self.plc.snapshot.sim_time
            start = parse_time(request.query["from"], "from") if "from" in request.query else end - 3600.0
        except ValueError as exc:
            raise Problem(400, "bad-query", str(exc)) from None
        if start > end:
            raise Problem(400, "bad-query", "from: must not be after to")
        return start, end

    async def get_history(self, request: web.Request) -> web.Response:
        reader = self._reader()
        key = request.query.get("tag")
        if not key:
            raise Problem(400, "bad-query", "tag: required (a DEVICE.tag key)")
        if key not in self.tags:
            raise Problem(404, "unknown-tag", f"no tag {key!r} in this tag map")
        start, end = self._window(request)
        limit = _query_int(request, "limit", 1000, 1, 5000)
        try:
            page = await reader.samples(key, start, end, limit, request.query.get("page"))
        except ValueError as exc:
            raise Problem(400, "bad-query", str(exc)) from None
        return web.json_response(page)

    async def get_events(self, request: web.Request) -> web.Response:
        reader = self._reader()
        start, end = self._window(request)
        limit = _query_int(request, "limit", 1000, 1, 5000)
        return web.json_response({"events": await reader.events(start, end, limit)})

    # ------------------------------------------------------------------ faults
    async def get_faults(self, _request: web.Request) -> web.Response:
        return web.json_response({"faults": self.faults.active()})

    async def post_fault(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        try:
            cmd = parse_fault(body, "http", self.tagmap.catalogue)
        except ValueError as exc:
            raise Problem(422, "invalid-fault", str(exc)) from None
        self._submit(cmd)
        self._audit(request, cmd.kind.value, target=cmd.target, params=dict(cmd.params))
        out = {"id": cmd.target, "action": cmd.kind.value, "applies_at_tick": self.plc.tick + 1}
        headers = {"Location": f"/faults/{cmd.target}"} if cmd.kind is CommandKind.INJECT_FAULT else {}
        return web.json_response(out, status=202, headers=headers)

    async def delete_fault(self, request: web.Request) -> web.Response:
        target = request.match_info["id"]
        if target != "*" and target not in self.faults:
            raise Problem(404, "unknown-fault", f"no active fault {target!r} (GET /faults lists them; * clears all)")
        self._submit(Command(kind=CommandKind.CLEAR_FAULT, target=target, source="http"))
        self._audit(request, "clear_fault", target=target)
        return web.json_response({"id": target, "applies_at_tick": self.plc.tick + 1}, status=202)

    # ------------------------------------------------------------------ simulation control
    def sim_state(self) -> dict[str, Any]:
        return {"paused": self.plc.paused, "speed": self.plc.speed, "tick": self.plc.tick,
                "time": iso(self.plc.snapshot.sim_time), "period": self.plc.period}

    async def get_sim(self, _request: web.Request) -> web.Response:
        return web.json_response(self.sim_state())

    async def post_sim(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise Problem(422, "invalid-sim", 'body must be {"action": "pause"|"resume"|"step"|"speed", ...}')
        action = body.get("action")
        if action == "pause":
            signal, value = "runtime.paused", body.get("paused", 1)
        elif action == "resume":
            signal, value = "runtime.paused", 0
        elif action == "step":
            signal, value = "runtime.step", body.get("ticks", 1)
        elif action == "speed":
            signal, value = "runtime.speed", body.get("speed")
        else:
            raise Problem(422, "invalid-sim", f"action: must be pause, resume, step or speed (got {action!r})")
        cmd = self._runtime_write(signal, value, who(request))
        self._submit(cmd)
        self._audit(request, f"sim_{action}", value=cmd.value)
        return web.json_response(self.sim_state())

    def _runtime_write(self, signal: str, value: object, p: Principal) -> Command:
        """``runtime.*`` writes: through the tag's validate_write when the map serves the point."""
        tag = self.by_signal.get(signal)
        role = p.role.name.lower()
        try:
            if tag is not None:
                return validate_write(tag, value, source="http", role=role)
            if p.role < Role.ENGINEER:
                raise Problem(403, "access-denied", f"role {role!r} may not write {signal}")
            spec = lookup(signal, self.tagmap.catalogue)
            lo, hi = spec.limits if spec is not None and spec.limits is not None else (0.0, math.inf)
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= float(value) <= hi:
                raise Problem(422, "out-of-range", f"{signal}: must be a number {lo:g}..{hi:g} (got {value!r})")
            if signal == "runtime.step" and not float(value).is_integer():
                raise Problem(422, "type-mismatch", f"{signal}: must be a whole number (got {value!r})")
            return Command(kind=CommandKind.WRITE, target=signal, value=float(value), source="http")
        except WriteRejected as exc:
            raise rejected(exc) from None

    # ------------------------------------------------------------------ SSE
    async def get_stream(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        with contextlib.suppress(ConnectionResetError, ConnectionError):
            await self.broadcaster.serve(resp.write)
        return resp


def _shelve_args(body: Any) -> tuple[float, str]:
    """``{"duration": 1800 | "30m", "reason": "..."}`` -> (seconds, reason); ISA-18.2 timed shelving."""
    from plc_emulator.cli._common import BadInput, parse_duration

    if not isinstance(body, dict):
        raise Problem(422, "invalid-shelve", 'body must be {"duration": "30m", "reason": "..."}')
    raw = body.get("duration")
    try:
        seconds = parse_duration(raw) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else -1.0
    except BadInput as exc:
        raise Problem(422, "invalid-shelve", f"duration: {exc}") from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise Problem(422, "invalid-shelve", f"duration: must be a positive duration such as 1800 or '30m' "
                      f"(got {raw!r})")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Problem(422, "invalid-shelve", "reason: required (ISA-18.2 shelving records why)")
    return seconds, reason.strip()[:200]
