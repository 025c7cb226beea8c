"""Modbus/TCP Security (TLS): mutual certificates, the client's role from its certificate.

Modbus/TCP Security (MB-TCP-Security v21): TLS 1.2 or later, both sides authenticate with X.509
certificates, the server authorizes each request from the *role* in the client certificate's
extension OID 1.3.6.1.4.1.50316.802.1 (an ASN.1 UTF8String). Roles map to the access levels
``viewer``, ``operator`` and ``engineer`` (case-insensitive); a certificate without the extension
gets the listener's default level (``viewer``), one with any other role is refused. The standard
port 802 needs root in a container, so the default here is 8802.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from plc_emulator.modbus.access import AccessLevel

__all__ = ["ROLE_OID", "TlsConfig", "level_of", "role_of", "server_context"]

ROLE_OID: Final = ObjectIdentifier("1.3.6.1.4.1.50316.802.1")
DEFAULT_PORT: Final = 8802


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsConfig:
    port: int = DEFAULT_PORT
    cert: Path  # server certificate (PEM)
    key: Path  # its private key (PEM)
    ca: Path  # CA certificate(s) client certificates must chain to (PEM)
    default_level: AccessLevel = AccessLevel.VIEWER  # client certificate without a role


def server_context(cfg: TlsConfig) -> ssl.SSLContext:
    """TLS 1.2+ server context that requires a client certificate signed by ``cfg.ca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cfg.cert), str(cfg.key))
        ctx.load_verify_locations(str(cfg.ca))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load TLS certificate {cfg.cert} / key {cfg.key} / CA {cfg.ca}: {exc}") from None
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def role_of(der: bytes) -> str | None:
    """The Modbus role string of a DER certificate, or None without the role extension."""
    cert = x509.load_der_x509_certificate(der)
    try:
        ext = cert.extensions.get_extension_for_oid(ROLE_OID)
    except x509.ExtensionNotFound:
        return None
    raw = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
    if len(raw) >= 2 and raw[0] == 0x0C and raw[1] < 0x80 and len(raw) == 2 + raw[1]:  # UTF8String
        return raw[2:].decode("utf-8", "replace")
    return ""


def level_of(transport: asyncio.Transport, default: AccessLevel = AccessLevel.VIEWER) -> AccessLevel | None:
    """Access level of a TLS connection from its client certificate; None refuses the connection."""
    sslobj = transport.get_extra_info("ssl_object")
    der = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
    if not der:
        return None
    role = role_of(der)
    if role is None:
        return default
    try:
        return AccessLevel(role.strip().lower())
    except ValueError:
        return None
