"""HTTP side door (aiohttp): ``/health`` and ``/metrics``.

``/health`` answers 200 ``{"status": "ok", ...}`` only while the scans are on time (see
:meth:`PlcRuntime.health`) and every registered health check passes (the historian registers one);
otherwise 503 ``{"status": "unhealthy", "reason": "...", ...}``. A health check is a callable
returning ``(ok, reason)``; one that raises counts as failing.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import structlog
from aiohttp import web

from plc_emulator.runtime.metrics import CONTENT_TYPE, Metrics
from plc_emulator.runtime.plc import PlcRuntime

__all__ = ["HealthCheck", "HttpServer"]

log = structlog.get_logger("plc_emulator.http")

HealthCheck = Callable[[], tuple[bool, str]]


class HttpServer:
    """``async with HttpServer(plc, metrics, host, port) as http:``; ``http.port`` is the bound port."""

    def __init__(self, plc: PlcRuntime, metrics: Metrics, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.plc = plc
        self.metrics = metrics
        self.host = host
        self.requested_port = port
        self.checks: list[tuple[str, HealthCheck]] = []
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

    async def _health(self, _request: web.Request) -> web.Response:
        ok, body = self.health()
        return web.json_response(body, status=200 if ok else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
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
        if self._runner is not None:
            await self._runner.cleanup()
