"""Server certificate and key: create (self-signed, RSA 2048, SHA-256) and load with clear errors.

Layout of the PKI folder::

    pki/own/cert.der   server certificate (SAN: application URI, host name, localhost, 127.0.0.1)
    pki/own/cert.pem   the same, PEM, to hand to clients
    pki/own/key.pem    private key (mode 0600)
    pki/trusted/       client certificates the server trusts (*.der / *.pem)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from plc_emulator.opcua.security import ConfigError

__all__ = ["ServerPki", "create_certificate", "ensure_server_pki", "load_server_pki"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerPki:
    cert_path: Path
    key_path: Path
    trusted_dir: Path
    created: bool = False


def create_certificate(*, common_name: str, application_uri: str, hostname: str, cert_path: Path,
                       key_path: Path, days: int = 3650, client: bool = False) -> None:
    """Write a self-signed certificate (DER + PEM next to it) and its private key (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "plc-emulator")])
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri), x509.DNSName(hostname)]
    if hostname != "localhost":
        names.append(x509.DNSName("localhost"))
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    usage = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [ExtendedKeyUsageOID.SERVER_AUTH,
                                                                ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                                     data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    cert_path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))


def _paths(pki_dir: Path) -> ServerPki:
    return ServerPki(cert_path=pki_dir / "own" / "cert.der", key_path=pki_dir / "own" / "key.pem",
                     trusted_dir=pki_dir / "trusted")


def load_server_pki(pki_dir: Path) -> ServerPki:
    """Check the server certificate and key exist and parse; ConfigError with one line otherwise."""
    pki = _paths(pki_dir)
    files = (("certificate", pki.cert_path), ("private key", pki.key_path))
    for label, path in files:
        if not path.exists():
            raise ConfigError(f"OPC UA server {label} {path} is missing (create it with: plc-emulator certs "
                              f"--dir {pki_dir})")
    for label, path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"OPC UA server {label} {path} is unreadable: {exc.strerror or exc}") from None
        try:
            if label == "certificate":
                x509.load_der_x509_certificate(data)
            else:
                serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            kind = "DER certificate" if label == "certificate" else "unencrypted PEM key"
            raise ConfigError(f"OPC UA server {label} {path} is not a valid {kind}: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    pki.trusted_dir.mkdir(parents=True, exist_ok=True)
    return pki


def ensure_server_pki(pki_dir: Path, *, application_uri: str, hostname: str | None = None) -> ServerPki:
    """Create the server certificate and key if neither exists yet, then load them."""
    pki = _paths(pki_dir)
    created = False
    if not pki.cert_path.exists() and not pki.key_path.exists():
        host = hostname or socket.gethostname()
        try:
            create_certificate(common_name=f"plc-emulator@{host}", application_uri=application_uri,
                               hostname=host, cert_path=pki.cert_path, key_path=pki.key_path)
        except OSError as exc:
            raise ConfigError(f"cannot create OPC UA certificate in {pki_dir}: "
                              f"{exc.strerror or exc}") from None
        created = True
    loaded = load_server_pki(pki_dir)
    return ServerPki(cert_path=loaded.cert_path, key_path=loaded.key_path, trusted_dir=loaded.trusted_dir,
                     created=created)
