"""Moved to :mod:`plc_emulator.http` (REST API, SSE stream and web HMI beside /health and /metrics)."""

from plc_emulator.http.server import HealthCheck, HttpServer, HttpSettings

__all__ = ["HealthCheck", "HttpServer", "HttpSettings"]
