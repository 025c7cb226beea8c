"""A throw-away PKI (``cryptography``) and mosquitto configured like a hosted broker: TLS, client
certificate required, password file, no anonymous access."""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.historian.conftest import Broker

USER = "edge"
PASSWORD = "s3cret-Pa55"


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_ca: Path  # a CA that signed nothing the broker uses
    rogue_cert: Path  # a client certificate signed by the rogue CA
    rogue_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )
    path.chmod(0o644)  # mosquitto drops root privileges and must read its key


def _ca(root: Path, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = root / f"{name.replace(' ', '_')}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def _leaf(root: Path, stem: str, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate,
          *, server: bool) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder().subject_name(_name("localhost" if server else stem)).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if server:
        # DNS name only: connecting to 127.0.0.1 must fail host name verification
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    cert = b.sign(ca_key, hashes.SHA256())
    crt, kpath = root / f"{stem}.crt", root / f"{stem}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, kpath)
    return crt, kpath


def make_pki(root: Path) -> Pki:
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    ca_key, ca, ca_path = _ca(root, "Test CA")
    rogue_key, rogue, rogue_path = _ca(root, "Rogue CA")
    scrt, skey = _leaf(root, "server", ca_key, ca, server=True)
    ccrt, ckey = _leaf(root, "client", ca_key, ca, server=False)
    rcrt, rkey = _leaf(root, "rogue-client", rogue_key, rogue, server=False)
    return Pki(ca_path, scrt, skey, ccrt, ckey, rogue_path, rcrt, rkey)


class TlsBroker(Broker):
    """mosquitto with ``require_certificate true``, a password file and ``allow_anonymous false``."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.pki = make_pki(root / "pki")
        passwd = root / "passwd"
        subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), USER, PASSWORD], check=True,
                       capture_output=True)
        passwd.chmod(0o644)
        data = root / "mqtt"
        self.conf.write_text(
            "user root\n"  # keep root: pytest tmp dirs are 0700, the broker must read its key files
            "per_listener_settings true\n"
            f"listener {self.port} 127.0.0.1\n"
            f"cafile {self.pki.ca}\ncertfile {self.pki.server_cert}\nkeyfile {self.pki.server_key}\n"
            "require_certificate true\ntls_version tlsv1.2\n"
            f"allow_anonymous false\npassword_file {passwd}\n"
            f"persistence true\npersistence_location {data}/\nmax_queued_messages 0\n"
            "max_inflight_messages 0\nlog_dest stdout\n"
        )
        self.url = f"mqtts://localhost:{self.port}"

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca))
        ctx.load_cert_chain(str(self.pki.client_cert), str(self.pki.client_key))
        return ctx
