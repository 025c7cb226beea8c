"""The HTTP server: health and metrics, the REST API, the SSE stream and the web HMI on one port.

``/health`` answers 200 ``{"status": "ok", ...}`` only while the scans are on time (see
:meth:`PlcRuntime.health`) and every registered health check passes (the historian registers one);
otherwise 503 ``{"status": "unhealthy", "reason": "...", ...}``. A health check is a callable
returning ``(ok, reason)``; one that raises counts as failing.

Routes and the least role each needs are one table (:data:`ROUTES`); ``None`` means public.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import structlog
from aiohttp import web

from plc_emulator.audit import AuditLog
from plc_emulator.http.api import Api, json_body
from plc_emulator.http.auth import PRINCIPAL, Authenticator, csrf_middleware
from plc_emulator.http.faults import FaultTracker
from plc_emulator.http.history import HistoryReader
from plc_emulator.http.openapi import openapi_document
from plc_emulator.http.problems import Problem, problem_middleware
from plc_emulator.http.stream import Broadcaster
from plc_emulator.opcua.security import Role, UserRecord
from plc_emulator.runtime.metrics import CONTENT_TYPE, Metrics
from plc_emulator.runtime.plc import PlcRuntime

__all__ = ["ROUTES", "HealthCheck", "HttpServer", "HttpSettings"]

log = structlog.get_logger("plc_emulator.http")

HealthCheck = Callable[[], tuple[bool, str]]
STATIC: Final = Path(__file__).resolve().parent / "static"
_V, _O, _E = Role.VIEWER, Role.OPERATOR, Role.ENGINEER

# (method, path, Api handler or server handler name, least role; None = public)
ROUTES: Final[tuple[tuple[str, str, str, Role | None], ...]] = (
    ("GET", "/readings", "get_readings", _V),
    ("GET", "/readings/{tag}", "get_reading", _V),
    ("GET", "/tags", "get_tags", _V),
    ("PUT", "/tags/{tag}", "put_tag", _V),  # validate_write decides per tag (viewer refused there: 403)
    ("GET", "/overview", "get_overview", _V),
    ("GET", "/alarms", "get_alarms", _V),
    ("POST", "/alarms/{id}/{action:ack|shelve|unshelve}", "post_alarm", _O),
    ("GET", "/history", "get_history", _V),
    ("GET", "/events", "get_events", _V),
    ("GET", "/faults", "get_faults", _V),
    ("POST", "/faults", "post_fault", _E),
    ("DELETE", "/faults/{id}", "delete_fault", _E),
    ("GET", "/sim", "get_sim", _V),
    ("POST", "/sim", "post_sim", _E),
    ("GET", "/stream", "get_stream", _V),
    ("POST", "/token", "token", None),
    ("GET", "/health", "health_route", None),
    ("GET", "/metrics", "metrics_route", None),
    ("GET", "/openapi.json", "openapi_route", None),
    ("GET", "/docs", "docs_route", None),
    ("GET", "/", "index_route", None),
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """Who may do what over HTTP (the OPC UA users and anonymous role), and where history lives."""

    users: Mapping[str, UserRecord] = field(default_factory=dict)
    anonymous_role: Role | None = Role.ENGINEER  # None: anonymous refused
    token_ttl: float = 3600.0  # s
    historian_db: Path | None = None
    trusted_origins: tuple[str, ...] = ()  # other origins allowed to send state-changing requests
    stream_client_buffer: int = 32  # SSE events a client may lag before it is dropped to a snapshot

    @classmethod
    def from_security(cls, security: Any, historian_db: Path | None) -> HttpSettings:
        """From the OPC UA :class:`SecurityConfig` (same users, same anonymous rule)."""
        users = dict(getattr(security, "users", {}) or {})
        anonymous = bool(getattr(security, "anonymous", True))
        role = security.effective_anonymous_role if security is not None else Role.ENGINEER
        return cls(users=users, anonymous_role=role if anonymous else None, historian_db=historian_db)


class HttpServer:
    """``async with HttpServer(plc, metrics, host, port, settings=...) as http:``; ``http.port`` is bound."""

    def __init__(self, plc: PlcRuntime, metrics: Metrics, *, host: str = "127.0.0.1", port: int = 0,
                 settings: HttpSettings | None = None, audit: AuditLog | None = None) -> None:
        self.plc = plc
        self.metrics = metrics
        self.host = host
        self.requested_port = port
        self.settings = s = settings or HttpSettings()
        self.checks: list[tuple[str, HealthCheck]] = []
        self.auth = Authenticator(s.users, s.anonymous_role, token_ttl=s.token_ttl)
        self.faults = FaultTracker()
        self.history = HistoryReader(s.historian_db) if s.historian_db is not None else None
        self.broadcaster = Broadcaster(plc.tagmap, self._stream_extras, client_buffer=s.stream_client_buffer)
        self.api = Api(plc, history=self.history, broadcaster=self.broadcaster, faults=self.faults)
        self.api.audit = audit
        self._openapi = openapi_document(plc.tagmap.name or "plc-emulator")
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._was_ok = True

    def add_health_check(self, name: str, check: HealthCheck) -> None:
        """Register ``check() -> (ok, reason)``; /health is 503 while any check fails."""
        self.checks.append((name, check))

    @property
    def port(self) -> int:
        if self._site is None:
            raise RuntimeError("HTTP server not started")
        return int(self._site.port)

    def health(self) -> tuple[bool, dict[str, Any]]:
        scan = self.plc.health()
        body: dict[str, Any] = {"status": "ok", "reason": scan.reason, "scan": scan.detail, "checks": {}}
        failures: list[str] = [] if scan.ok else [scan.reason]
        for name, check in self.checks:
            try:
                ok, reason = check()
            except Exception as exc:
                ok, reason = False, f"health check raised {exc!r}"
            body["checks"][name] = {"ok": bool(ok), "reason": reason}
            if not ok:
                failures.append(f"{name}: {reason}")
        if failures:
            body["status"] = "unhealthy"
            body["reason"] = "; ".join(failures)
        ok = not failures
        if ok != self._was_ok:
            self._was_ok = ok
            if ok:
                log.info("health.ok")
            else:
                log.warning("health.failing", reason=body["reason"])
        return ok, body

    def _stream_extras(self, snap: Any) -> dict[str, Any]:
        return self.api.stream_extras(snap)

    # ------------------------------------------------------------------ public routes
    async def health_route(self, _request: web.Request) -> web.Response:
        ok, body = self.health()
        return web.json_response(body, status=200 if ok else 503)

    async def metrics_route(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def openapi_route(self, _request: web.Request) -> web.Response:
        return web.json_response(self._openapi)

    async def docs_route(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "docs.html")

    async def index_route(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def token(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        user = body.get("username") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(user, str) or not isinstance(password, str):
            raise Problem(401, "unauthorized", 'body must be {"username": "...", "password": "..."}')
        who = await self.auth.check_password(user, password)
        if who is None:
            log.warning("http.login_failed", user=user, peer=request.remote)
            raise Problem(401, "unauthorized", "wrong user name or password")
        token, ttl = self.auth.issue(who)
        log.info("http.token_issued", user=user, role=who.role.name.lower(), peer=request.remote)
        return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": ttl,
                                  "role": who.role.name.lower()})

    # ------------------------------------------------------------------ assembly
    def _guard(self, handler: Handler, role: Role | None) -> Handler:
        if role is None:
            return handler
        auth = self.auth

        async def guarded(request: web.Request) -> web.StreamResponse:
            who = await auth.principal(request)
            if who.role < role:
                raise Problem(403, "access-denied",
                              f"role {who.role.name.lower()} may not do this (needs {role.name.lower()})")
            request[PRINCIPAL] = who
            return await handler(request)

        return guarded

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[problem_middleware, csrf_middleware(self.settings.trusted_origins)],
                              client_max_size=64 * 1024)
        for method, path, name, role in ROUTES:
            target = getattr(self.api, name, None) or getattr(self, name)
            app.router.add_route(method, path, self._guard(target, role))
        app.router.add_static("/static", STATIC, append_version=False)
        app.on_response_prepare.append(_security_headers)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, _app: web.Application) -> None:
        self.broadcaster.close()  # open SSE streams end, so cleanup does not wait for them

    async def __aenter__(self) -> Self:
        self.broadcaster.bind(asyncio.get_running_loop(), self.plc.snapshot)
        self.plc.on_snapshot(self.faults.on_snapshot)
        self.plc.on_snapshot(self.broadcaster.on_snapshot)
        self._runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.requested_port)
        try:
            await self._site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.broadcaster.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.history is not None:
            self.history.close()


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """No framing (an ESD button must not be clickjacked), no sniffing, scripts from this origin only."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
