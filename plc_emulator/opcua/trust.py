"""Client certificate trust list: validate, keep refused certificates in ``rejected/``, list and trust.

Layout of the PKI folder (the convention of UaExpert, Prosys and open62541)::

    pki/own/cert.der      the server's certificate (see :mod:`.certs`)
    pki/trusted/          client certificates the server trusts (*.der / *.pem)
    pki/rejected/         client certificates the server refused, newest kept (at most REJECTED_CAP)

A refused certificate is written to ``rejected/<common name>_<sha1 thumbprint>.der`` so the user can
trust it with ``plc-emulator certs trust rejected/NAME.der`` (or by moving the file into
``trusted/``). The folder is capped: certificate spraying cannot fill the disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

__all__ = ["REJECTED_CAP", "CertInfo", "TrustList", "cert_info", "list_certificates", "store_rejected",
           "trust_certificate"]

log = logging.getLogger(__name__)

REJECTED_CAP: Final = 100
GROUPS: Final = ("own", "trusted", "rejected")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class CertInfo:
    group: str          # own, trusted or rejected
    path: Path
    subject: str        # common name (or the whole subject when there is none)
    application_uri: str
    thumbprint: str     # SHA-1 of the DER, hex (what OPC UA tools show)
    not_after: datetime

    @property
    def expired(self) -> bool:
        from datetime import UTC

        return self.not_after < datetime.now(UTC)


def _load(data: bytes) -> x509.Certificate:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else cert.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _application_uri(cert: x509.Certificate) -> str:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ""
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else ""


def thumbprint(der: bytes) -> str:
    return hashlib.sha1(der).hexdigest()


def cert_info(path: Path, group: str) -> CertInfo | None:
    """What ``certs list`` shows of one file; None if it is not a certificate."""
    try:
        cert = _load(path.read_bytes())
    except (OSError, ValueError):
        return None
    der = cert.public_bytes(serialization.Encoding.DER)
    return CertInfo(group=group, path=path, subject=_common_name(cert), application_uri=_application_uri(cert),
                    thumbprint=thumbprint(der), not_after=cert.not_valid_after_utc)


def list_certificates(pki_dir: Path) -> list[CertInfo]:
    """Own, trusted and rejected certificates, in that order (own: only ``cert.der``)."""
    out: list[CertInfo] = []
    for group in GROUPS:
        folder = pki_dir / group
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if group == "own" and path.name != "cert.der":
                continue
            if path.suffix.lower() not in (".der", ".pem", ".crt", ".cer"):
                continue
            info = cert_info(path, group)
            if info is not None:
                out.append(info)
    return out


def store_rejected(folder: Path, der: bytes, *, cap: int = REJECTED_CAP) -> Path | None:
    """Write a refused certificate to ``folder`` (once per thumbprint), keeping the newest ``cap`` files.

    Returns the file, or None when it could not be written (logged; refusing goes on regardless).
    """
    try:
        cn = _common_name(_load(der))
    except ValueError:
        cn = "invalid"
    name = f"{_SAFE.sub('_', cn).strip('_')[:64] or 'certificate'}_{thumbprint(der)}.der"
    path = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        files = {p: p.stat().st_mtime_ns for p in folder.iterdir() if p.suffix == ".der"}
        if path not in files:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(der)
            tmp.replace(path)
        # file times are coarse (ms): make this one strictly the newest so "oldest" is well defined
        stamp = max([time.time_ns(), *(t + 1 for t in files.values())])
        os.utime(path, ns=(stamp, stamp))
        files[path] = stamp
        for old in sorted(files, key=files.__getitem__)[:max(0, len(files) - cap)]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("opcua.rejected_store_failed folder=%s error=%s", folder, exc.strerror or exc)
        return None
    return path


def trust_certificate(pki_dir: Path, file: Path) -> Path:
    """Move (from ``rejected/``) or copy a certificate into ``trusted/``; returns the new path.

    ``file`` may be relative to the working directory or to ``pki_dir`` (``rejected/NAME.der``).
    Raises ValueError (one line) when it is missing or not a certificate.
    """
    src = file if file.exists() or file.is_absolute() else pki_dir / file
    if not src.is_file():
        raise ValueError(f"certificate file not found: {file} (looked in . and {pki_dir})")
    info = cert_info(src, "rejected")
    if info is None:
        raise ValueError(f"{src} is not a DER or PEM certificate")
    trusted = pki_dir / "trusted"
    trusted.mkdir(parents=True, exist_ok=True)
    dst = trusted / src.name
    if src.resolve().parent == (pki_dir / "rejected").resolve():
        shutil.move(str(src), dst)
    else:
        shutil.copyfile(src, dst)
    return dst


class TrustList:
    """Validator for asyncua's CreateSession: client certificates must be in ``trusted/``.

    The folder is re-read for each new session, so a certificate trusted while the server runs works
    without a restart; an empty folder trusts nobody. A refused certificate is kept in ``rejected/``.
    """

    def __init__(self, pki_dir: Path) -> None:
        self.trusted_dir = pki_dir / "trusted"
        self.rejected_dir = pki_dir / "rejected"
        self.rejected = 0

    async def validate(self, cert: x509.Certificate, app_description: Any) -> None:
        from asyncua import ua
        from asyncua.common.utils import ServiceError
        from asyncua.crypto.truststore import TrustStore
        from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

        try:
            store = TrustStore([self.trusted_dir], [])
            try:
                await store.load()
            except (ValueError, OSError):  # empty or unreadable folder: nobody is trusted
                raise ServiceError(ua.StatusCodes.BadCertificateUntrusted) from None
            opts = CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT
            await CertificateValidator(opts, store).validate(cert, app_description)
        except ServiceError as exc:
            self.rejected += 1
            der = cert.public_bytes(serialization.Encoding.DER)
            kept = store_rejected(self.rejected_dir, der)
            log.warning("opcua.certificate_refused status=%s subject=%s thumbprint=%s kept=%s",
                        ua.StatusCode(exc.code).name, _common_name(cert), thumbprint(der), kept)
            raise
