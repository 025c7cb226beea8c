"""OPC UA security settings, the users file and roles (no asyncua import: pure configuration).

Roles (least to most):

* ``viewer``   - reads, browses, subscribes. No writes, no method calls that change anything.
* ``operator`` - also writes setpoints, modes, manual outputs, pump commands and alarm acks
  (every writable tag except ``runtime.*`` simulation control).
* ``engineer`` - also injects/clears faults and controls the simulation (Pause, Resume, Step,
  SetSpeed, the ``runtime.*`` tags).

Users file (YAML)::

    users:
      alice: {role: operator, password: "scrypt$16384$8$1$<salt b64>$<hash b64>"}
      bob:   {role: engineer, password: "pbkdf2_sha256$600000$<salt b64>$<hash b64>"}
      carol: {role: engineer, certificate: carol.der}     # X.509 user token (path relative to this file)

Hashes come from ``plc-emulator certs --hash-password`` (scrypt, random 16-byte salt). Plain-text
passwords are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, Final

from plc_emulator.errors import EmulatorError

__all__ = [
    "ALL_POLICIES", "ConfigError", "Role", "SecurityConfig", "UserRecord", "hash_password", "load_users",
    "parse_policies", "verify_password",
]


class ConfigError(EmulatorError):
    """Bad OPC UA security configuration (users file, certificates, policy names). One line."""


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ENGINEER = 3

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"must be one of viewer, operator, engineer (got {text!r})") from None


# Policy names accepted by --opcua-security, each with the modes it offers.
_POLICY_NAMES: Final = {
    "none": "None",
    "basic256sha256": "Basic256Sha256",
    "aes128_sha256_rsaoaep": "Aes128_Sha256_RsaOaep",
    "aes128sha256rsaoaep": "Aes128_Sha256_RsaOaep",
    "aes256_sha256_rsapss": "Aes256_Sha256_RsaPss",
    "aes256sha256rsapss": "Aes256_Sha256_RsaPss",
}
_MODES: Final = {"sign": "Sign", "signandencrypt": "SignAndEncrypt"}
ALL_POLICIES: Final[tuple[str, ...]] = (
    "None",
    "Basic256Sha256:Sign", "Basic256Sha256:SignAndEncrypt",
    "Aes128_Sha256_RsaOaep:Sign", "Aes128_Sha256_RsaOaep:SignAndEncrypt",
    "Aes256_Sha256_RsaPss:Sign", "Aes256_Sha256_RsaPss:SignAndEncrypt",
)


def parse_policies(text: str) -> tuple[str, ...]:
    """``"None,Basic256Sha256:SignAndEncrypt,Aes256_Sha256_RsaPss"`` -> canonical ``Policy:Mode`` names.

    A policy without ``:Mode`` offers both Sign and SignAndEncrypt; ``all`` means every policy.
    """
    out: list[str] = []
    for raw in (p.strip() for p in text.split(",")):
        if not raw:
            continue
        if raw.lower() == "all":
            out.extend(ALL_POLICIES)
            continue
        name, _, mode = raw.partition(":")
        policy = _POLICY_NAMES.get(name.strip().lower())
        if policy is None:
            raise ConfigError(f"unknown OPC UA security policy {name!r} (use None, Basic256Sha256, "
                              "Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss, optionally :Sign or "
                              ":SignAndEncrypt)")
        if policy == "None":
            if mode:
                raise ConfigError(f"security policy None has no mode (got {raw!r})")
            out.append("None")
            continue
        if mode:
            m = _MODES.get(mode.strip().lower())
            if m is None:
                raise ConfigError(f"unknown security mode {mode!r} in {raw!r} (use Sign or SignAndEncrypt)")
            out.append(f"{policy}:{m}")
        else:
            out.extend((f"{policy}:Sign", f"{policy}:SignAndEncrypt"))
    if not out:
        raise ConfigError("no OPC UA security policy selected")
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    name: str
    role: Role
    password_hash: str = ""              # "" = no password login for this user
    certificate: str | None = None       # SHA-1 thumbprint (hex) of an X.509 user certificate


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityConfig:
    """How the OPC UA server lets clients in.

    ``anonymous_role`` None means: engineer when no users file is given (a bench emulator works out of
    the box), viewer when one is. ``pki_dir`` holds ``own/cert.der``, ``own/key.pem`` (created on first
    start when a secure policy is on) and ``trusted/`` (client certificates, DER or PEM).
    """

    policies: tuple[str, ...] = ("None",)
    anonymous: bool = True
    anonymous_role: Role | None = None
    users: Mapping[str, UserRecord] = field(default_factory=dict)
    pki_dir: Path | None = None
    trust_all: bool = False
    hostname: str | None = None

    @property
    def secure(self) -> bool:
        return any(p != "None" for p in self.policies)

    @property
    def password_users(self) -> bool:
        return any(u.password_hash for u in self.users.values())

    @property
    def cert_users(self) -> dict[str, UserRecord]:
        """X.509 user certificates: thumbprint -> user."""
        return {u.certificate: u for u in self.users.values() if u.certificate}

    @property
    def effective_anonymous_role(self) -> Role:
        if self.anonymous_role is not None:
            return self.anonymous_role
        return Role.VIEWER if self.users else Role.ENGINEER


_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Salted scrypt hash in the users-file format ``scrypt$N$r$p$salt$hash``."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                            dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _check_hash_format(text: str) -> None:
    parts = text.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            int(parts[1]), int(parts[2]), int(parts[3])
            base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
            return
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            int(parts[1])
            base64.b64decode(parts[2], validate=True), base64.b64decode(parts[3], validate=True)
            return
    except ValueError:
        pass
    raise ValueError("must be a salted hash 'scrypt$N$r$p$salt$hash' or 'pbkdf2_sha256$iter$salt$hash' "
                     "(make one with: plc-emulator certs --hash-password)")


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored hash; False for any malformed hash."""
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, want = base64.b64decode(parts[4]), base64.b64decode(parts[5])
            got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(want),
                                 maxmem=2**27)
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            iters = int(parts[1])
            salt, want = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iters, dklen=len(want))
        else:
            return False
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got, want)


def _certificate_thumbprint(path: Path) -> str:
    """SHA-1 thumbprint of a DER or PEM certificate file (ValueError with the reason)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        cert = (x509.load_pem_x509_certificate(data) if data.lstrip().startswith(b"-----BEGIN")
                else x509.load_der_x509_certificate(data))
    except ValueError:
        raise ValueError(f"{path} is not a DER or PEM certificate") from None
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()  # OPC UA thumbprint


def load_users(path: str | Path) -> dict[str, UserRecord]:
    """Read and validate a users file; every problem is reported in one ConfigError."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read users file: {exc.strerror or exc}") from None
    try:
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(p)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("users"), dict):
        raise ConfigError(f"{p}: users: must be a mapping of user name -> {{role, password}}")
    problems: list[str] = []
    users: dict[str, UserRecord] = {}
    for name, entry in doc["users"].items():
        where = f"{p}: users.{name}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping with role and password (got {entry!r})")
            continue
        try:
            role = Role.parse(str(entry.get("role", "")))
        except ValueError as exc:
            problems.append(f"{where}.role: {exc}")
            continue
        pw = entry.get("password")
        cert = entry.get("certificate")
        if not isinstance(pw, str) and cert is None:
            problems.append(f"{where}: needs a password hash or a certificate file")
            continue
        thumb = None
        if cert is not None:
            try:
                thumb = _certificate_thumbprint(p.parent / str(cert))
            except ValueError as exc:
                problems.append(f"{where}.certificate: {exc}")
                continue
        if isinstance(pw, str):
            try:
                _check_hash_format(pw)
            except ValueError as exc:
                problems.append(f"{where}.password: {exc}")
                continue
        users[str(name)] = UserRecord(name=str(name), role=role, password_hash=pw if isinstance(pw, str) else "",
                                      certificate=thumb)
    if problems:
        raise ConfigError("; ".join(problems))
    return users
