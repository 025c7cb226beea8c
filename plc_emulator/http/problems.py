"""RFC 9457 problem details: every 4xx/5xx answer of the REST API, built in one place.

A :class:`Problem` is raised by a handler (or the auth/CSRF middleware) and turned into an
``application/problem+json`` response by :func:`problem_middleware`. Write rejections map from the
one :class:`~plc_emulator.errors.Rejection` vocabulary shared with Modbus and OPC UA
(:data:`REJECTION_STATUS`), so a refused write answers the same reason on every protocol.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiohttp import web

from plc_emulator.errors import Rejection, WriteRejected

__all__ = ["PROBLEM_TYPE", "REJECTION_STATUS", "Problem", "problem_middleware", "rejected"]

PROBLEM_TYPE: Final = "urn:plc-emulator:problem:"  # + a slug, e.g. urn:plc-emulator:problem:out-of-range
CONTENT_TYPE: Final = "application/problem+json"

# Rejection -> (HTTP status, problem slug). NOT_WRITABLE is a property of the resource (405 with
# Allow: GET); a bad value is 422; the role is 403; an unknown tag is 404.
REJECTION_STATUS: Final[Mapping[Rejection, tuple[int, str]]] = {
    Rejection.NOT_WRITABLE: (405, "not-writable"),
    Rejection.OUT_OF_RANGE: (422, "out-of-range"),
    Rejection.TYPE_MISMATCH: (422, "type-mismatch"),
    Rejection.ACCESS_DENIED: (403, "access-denied"),
    Rejection.UNKNOWN: (404, "unknown-tag"),
}

_TITLES: Final[Mapping[int, str]] = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
    500: "Internal Server Error", 503: "Service Unavailable",
}


class Problem(Exception):
    """An HTTP error answered as ``application/problem+json``."""

    def __init__(self, status: int, slug: str, detail: str, *, headers: Mapping[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra

    def response(self, instance: str) -> web.Response:
        body: dict[str, Any] = {"type": PROBLEM_TYPE + self.slug, "title": _TITLES.get(self.status, "Error"),
                                "status": self.status, "detail": self.detail, "instance": instance}
        body.update(self.extra)
        return web.Response(status=self.status, text=json.dumps(body), content_type=CONTENT_TYPE,
                            headers=self.headers)


def rejected(exc: WriteRejected) -> Problem:
    """The problem for a write refused by ``validate_write`` (same reason as Modbus/OPC UA)."""
    status, slug = REJECTION_STATUS[exc.reason]
    headers = {"Allow": "GET"} if exc.reason is Rejection.NOT_WRITABLE else None
    return Problem(status, slug, str(exc), headers=headers, tag=exc.tag, reason=exc.reason.name)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Problems (and aiohttp's own 4xx such as 404/405 for unknown routes) as problem+json."""
    try:
        return await handler(request)
    except Problem as p:
        return p.response(request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        slug = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(exc.status, "http-error")
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return Problem(exc.status, slug, exc.reason or "error", headers=headers).response(request.path)
