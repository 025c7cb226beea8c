"""One way to reach an MQTT broker for every sink: URL, TLS, credentials, and clear connect errors.

``mqtt://host:port`` is plain TCP (port 1883 by default), ``mqtts://host:port`` is TLS (8883). TLS
uses the system trust store or ``ca_file``, TLS 1.2 or newer, and checks the broker's host name
against its certificate unless ``verify_hostname`` is off. A client certificate (``cert_file`` +
``key_file``) and a username/password are optional. The password is never logged or shown in a
``repr``.

:func:`connect` turns every way a connection can fail into :class:`SinkUnavailable` with one line a
person can act on; ``refused=True`` marks failures that will not go away by retrying (bad password,
untrusted certificate, missing client certificate): the forwarder still retries (the operator may fix
the broker side), but ``/health`` reports the reason.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from historian._model import HistorianError
from historian._sink import SinkUnavailable

__all__ = ["LinkWatch", "MqttEndpoint", "connect", "mqtt_endpoint", "parse_mqtt_url"]

_SCHEMES = {"mqtt": (False, 1883), "tcp": (False, 1883), "mqtts": (True, 8883), "ssl": (True, 8883)}


def parse_mqtt_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` or ``mqtts://host:port`` -> (host, port); default port 1883 / 8883."""
    ep = mqtt_endpoint(url)
    return ep.host, ep.port


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttEndpoint:
    """Where and how to connect; built (and checked) by :func:`mqtt_endpoint`."""

    host: str
    port: int
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_hostname: bool = True

    @property
    def url(self) -> str:
        """The URL without credentials (safe to log, used as the default cursor key)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = self.verify_hostname
        if self.cert_file is not None:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        return ctx


def _readable(path: str | Path | None, what: str) -> Path | None:
    if path is None or str(path) == "":
        return None
    p = Path(path)
    if not p.is_file():
        raise HistorianError(f"MQTT {what} not found: {p}")
    return p


def mqtt_endpoint(
    url: str,
    *,
    ca_file: str | Path | None = None,
    cert_file: str | Path | None = None,
    key_file: str | Path | None = None,
    username: str | None = None,
    password: str | None = None,
    verify_hostname: bool = True,
) -> MqttEndpoint:
    """Check a broker URL and its TLS / credential settings; :class:`HistorianError` names the problem."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise HistorianError(f"not an MQTT URL: {parts.scheme}://{parts.hostname or ''} "
                             "(expected mqtt://host:port or mqtts://host:port)")
    if parts.password is not None:
        raise HistorianError("MQTT URL must not contain a password: use a password file or MQTT_PASSWORD")
    tls, default_port = _SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise HistorianError(f"bad port in MQTT URL {parts.scheme}://{parts.hostname}") from None
    user = username if username is not None else parts.username
    if password is not None and not user:
        raise HistorianError("an MQTT password needs a username (--mqtt-username)")
    if (cert_file is None) != (key_file is None):
        raise HistorianError("an MQTT client certificate needs both a certificate and a key file")
    if not tls and (ca_file or cert_file):
        raise HistorianError("MQTT CA / client certificate given for a plain mqtt:// URL: use mqtts://")
    ep = MqttEndpoint(
        host=parts.hostname, port=port, tls=tls, ca_file=_readable(ca_file, "CA file"),
        cert_file=_readable(cert_file, "client certificate"), key_file=_readable(key_file, "client key"),
        username=user or None, password=password, verify_hostname=verify_hostname,
    )
    try:
        ep.tls_context()  # unreadable PEM, key not matching the certificate: fail now, not at connect
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise HistorianError(f"MQTT TLS settings unusable: {exc}") from None
    return ep


class _LastError(logging.Handler):
    """Keeps paho's last socket error: after a TLS 1.3 handshake a refused client certificate only
    shows up as an alert on the socket, while the connect itself merely times out."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage()


def _explain(ep: MqttEndpoint, exc: aiomqtt.MqttError, socket_error: str) -> SinkUnavailable:
    where = ep.url
    text = str(exc)
    if isinstance(exc, MqttConnectError):
        return SinkUnavailable(f"{where} refused the connection: {text} (check username and password)",
                               refused=True)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip()
        return SinkUnavailable(f"{where}: broker certificate not trusted ({detail}; check the CA file "
                               "and the host name)", refused=True)
    for marker, reason in (
        ("CERTIFICATE_REQUIRED", "the broker requires a client certificate"),
        ("UNKNOWN_CA", "the broker does not trust our client certificate"),
        ("BAD_CERTIFICATE", "the broker rejected our client certificate"),
        ("CERTIFICATE_EXPIRED", "our client certificate has expired"),
        ("PROTOCOL_VERSION", "no common TLS version (TLS 1.2 or newer required)"),
        ("WRONG_VERSION_NUMBER", "the broker does not speak TLS on this port (use mqtt://?)"),
    ):
        if marker in socket_error or marker in text:
            return SinkUnavailable(f"{where}: TLS refused: {reason}", refused=True)
    if socket_error and "timed out" in text:
        return SinkUnavailable(f"{where}: {text} ({socket_error})")
    return SinkUnavailable(f"connect to {where} failed: {text}")


@asynccontextmanager
async def connect(
    ep: MqttEndpoint,
    *,
    client_id: str,
    timeout: float,  # noqa: ASYNC109 - handed to aiomqtt (connect and each publish), not an await bound
    will: aiomqtt.Will | None = None,
    clean_session: bool | None = None,
) -> AsyncIterator[aiomqtt.Client]:
    """A connected client; raises :class:`SinkUnavailable` (with the reason) when it cannot connect."""
    errors = _LastError()
    logger = logging.getLogger(f"historian.mqtt.{client_id}")
    logger.propagate = False  # the forwarder logs one clear line per failure instead
    logger.handlers[:] = [errors]
    client = aiomqtt.Client(
        ep.host, ep.port, identifier=client_id, timeout=timeout, username=ep.username,
        password=ep.password, tls_context=ep.tls_context(), will=will, clean_session=clean_session,
        logger=logger,
    )
    try:
        await client.__aenter__()
    except aiomqtt.MqttError as exc:
        raise _explain(ep, exc, errors.last) from None
    except OSError as exc:  # e.g. name resolution
        raise SinkUnavailable(f"connect to {ep.url} failed: {exc}") from None
    try:
        yield client
    finally:
        with suppress(aiomqtt.MqttError):  # the connection may already be gone
            await client.__aexit__(None, None, None)


class LinkWatch:
    """Reads a client's incoming messages in a task: hands them to ``on_message`` and notices a dropped
    connection at once (an idle publisher would otherwise learn it only at its next publish)."""

    def __init__(
        self, client: aiomqtt.Client, on_message: Callable[[aiomqtt.Message], Awaitable[None]] | None = None
    ) -> None:
        self._client = client
        self._on_message = on_message
        self.lost = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="historian[mqtt link]")

    async def _run(self) -> None:
        try:
            async for msg in self._client.messages:
                if self._on_message is not None:
                    await self._on_message(msg)
        except (aiomqtt.MqttError, SinkUnavailable):
            pass  # the connection is gone: alive() turns False and the forwarder reconnects
        finally:
            self.lost.set()

    def alive(self) -> bool:
        return not self.lost.is_set()

    async def close(self) -> None:
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task
