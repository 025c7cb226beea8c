"""Who is calling, and may they: bearer tokens, HTTP Basic, the anonymous role, cross-site refusal.

Users and roles are the OPC UA ones (``--opcua-users``; :class:`~plc_emulator.opcua.security.Role`
viewer < operator < engineer, passwords checked by the same ``verify_password``), so one users file
governs both protocols. Credentials:

* ``POST /token`` with ``{"username", "password"}`` issues an opaque bearer token that expires after
  ``token_ttl`` seconds; send it as ``Authorization: Bearer <token>``.
* ``Authorization: Basic`` is accepted only from a loopback peer or over TLS (elsewhere the password
  would cross the network in clear text): 401 otherwise.
* No credentials: the anonymous role, as on OPC UA (``--opcua-anonymous-role``, operator by default;
  refused with ``--opcua-no-anonymous``).

Cross-site requests: a state-changing request (POST/PUT/DELETE) must come from the page's own origin
(an ``Origin`` or ``Sec-Fetch-Site: cross-site`` naming another site is refused, 403) and must carry
``Content-Type: application/json`` or the ``X-PLC-Request`` header (415 otherwise). An HTML form can
send neither, and a script on another site cannot without a CORS pre-flight, which this server never
grants (no ``Access-Control-*`` headers), so a cross-site form post cannot trip the ESD.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import ipaddress
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Middleware

from plc_emulator.http.problems import Handler, Problem
from plc_emulator.opcua.security import Role, UserRecord, verify_password

__all__ = ["CSRF_HEADER", "PRINCIPAL", "Authenticator", "Principal", "csrf_middleware", "is_loopback"]

CSRF_HEADER: Final = "X-PLC-Request"
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKENS: Final = 10_000  # live tokens kept; the oldest go first beyond this
_BASIC_CACHE_TTL: Final = 60.0  # s a verified Basic credential is remembered (scrypt costs ~50 ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    name: str | None  # None: anonymous
    role: Role

    @property
    def label(self) -> str:
        return self.name or "anonymous"


PRINCIPAL: Final = web.RequestKey("principal", Principal)


def is_loopback(request: web.Request) -> bool:
    peer = request.remote
    if not peer:
        return False
    try:
        return ipaddress.ip_address(peer.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class Authenticator:
    """Token store + credential checks; ``clock`` is injectable (monotonic seconds) for expiry tests."""

    def __init__(self, users: Mapping[str, UserRecord], anonymous_role: Role | None, *, token_ttl: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.users = dict(users)
        self.anonymous_role = anonymous_role
        self.token_ttl = float(token_ttl)
        self._clock = clock
        self._tokens: dict[str, tuple[Principal, float]] = {}
        self._basic: dict[bytes, tuple[Principal, float]] = {}

    async def check_password(self, username: str, password: str) -> Principal | None:
        record = self.users.get(username)
        if record is None:
            # same cost as a real check, so a name cannot be probed by timing
            await asyncio.to_thread(verify_password, password, _DUMMY_HASH)
            return None
        ok = await asyncio.to_thread(verify_password, password, record.password_hash)
        return Principal(name=username, role=record.role) if ok else None

    def issue(self, who: Principal) -> tuple[str, float]:
        now = self._clock()
        self._prune(now)
        token = secrets.token_urlsafe(32)
        self._tokens[token] = (who, now + self.token_ttl)
        return token, self.token_ttl

    def _prune(self, now: float) -> None:
        for tok in [t for t, (_, exp) in self._tokens.items() if exp <= now]:
            del self._tokens[tok]
        while len(self._tokens) >= MAX_TOKENS:
            del self._tokens[next(iter(self._tokens))]

    async def principal(self, request: web.Request) -> Principal:
        """The caller, or a 401 Problem (bad/expired token, bad password, Basic in clear text)."""
        header = request.headers.get("Authorization", "")
        scheme, _, cred = header.partition(" ")
        scheme = scheme.lower()
        if not header:
            if self.anonymous_role is None:
                raise Problem(401, "unauthorized", "credentials required (anonymous access is off)",
                              headers={"WWW-Authenticate": 'Bearer realm="plc-emulator"'})
            return Principal(name=None, role=self.anonymous_role)
        if scheme == "bearer":
            entry = self._tokens.get(cred.strip())
            if entry is None or entry[1] <= self._clock():
                raise Problem(401, "invalid-token", "bearer token unknown or expired",
                              headers={"WWW-Authenticate": 'Bearer realm="plc-emulator", error="invalid_token"'})
            return entry[0]
        if scheme == "basic":
            if not (request.secure or is_loopback(request)):
                raise Problem(401, "basic-needs-tls", "HTTP Basic is accepted only over loopback or TLS; "
                              "use POST /token and a bearer token", headers={"WWW-Authenticate": "Bearer"})
            return await self._basic_principal(cred.strip())
        raise Problem(401, "unauthorized", f"unsupported authorization scheme {scheme!r} (use Bearer or Basic)",
                      headers={"WWW-Authenticate": 'Bearer realm="plc-emulator"'})

    async def _basic_principal(self, cred: str) -> Principal:
        try:
            user, sep, password = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, sep, password = "", "", ""
        if not sep:
            raise Problem(401, "unauthorized", "malformed Basic credentials",
                          headers={"WWW-Authenticate": 'Basic realm="plc-emulator"'})
        key = hashlib.sha256(cred.encode("ascii", "replace")).digest()
        now = self._clock()
        hit = self._basic.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        who = await self.check_password(user, password)
        if who is None:
            raise Problem(401, "unauthorized", "wrong user name or password",
                          headers={"WWW-Authenticate": 'Basic realm="plc-emulator"'})
        if len(self._basic) >= MAX_TOKENS:
            self._basic.clear()
        self._basic[key] = (who, now + _BASIC_CACHE_TTL)
        return who


# a valid scrypt hash of a random password: unknown users cost as much as known ones
_DUMMY_HASH: Final = ("scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")


def _own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}".lower()


def csrf_middleware(trusted_origins: tuple[str, ...] = ()) -> Middleware:
    """Refuse cross-site state-changing requests (see the module docstring)."""
    trusted = frozenset(o.rstrip("/").lower() for o in trusted_origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in _SAFE_METHODS:
            return await handler(request)
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/").lower() not in ({_own_origin(request)} | trusted):
            raise Problem(403, "cross-site", f"cross-site request from {origin} refused")
        if origin is None and request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
            raise Problem(403, "cross-site", "cross-site request refused")
        ctype = request.content_type.lower()
        if not (ctype == "application/json" or ctype.endswith("+json") or CSRF_HEADER in request.headers):
            raise Problem(415, "json-required", f"state-changing requests need Content-Type: application/json "
                          f"or the {CSRF_HEADER} header (got Content-Type {ctype or 'none'})")
        return await handler(request)

    return middleware
