"""HTTP: ``/health`` and ``/metrics``, the REST API (OpenAPI 3.1 at ``/openapi.json``), the SSE stream
and the web HMI at ``/``, all on one aiohttp port. See ``docs/http.md``.
"""

from plc_emulator.http.overview import Overview, plant_overview
from plc_emulator.http.server import ROUTES, HealthCheck, HttpServer, HttpSettings

__all__ = ["ROUTES", "HealthCheck", "HttpServer", "HttpSettings", "Overview", "plant_overview"]
