"""``plc-emulator certs``: the OPC UA server certificate and key, the client trust list, password hashes.

    plc-emulator certs [create] [--dir DIR] [--hostname H] [--application-uri URI] [--force]
    plc-emulator certs list [--dir DIR]                  # own, trusted, rejected: thumbprint, expiry
    plc-emulator certs trust rejected/NAME.der [--dir DIR]
    plc-emulator certs --hash-password                   # reads the password from stdin (or a prompt)

DIR defaults to ``$DATA_DIR/pki`` (``data/pki``), the folder ``plc-emulator run`` uses.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

DEFAULT_APPLICATION_URI = "urn:plc-emulator:server"


def _default_dir() -> str:
    return str(Path(os.environ.get("DATA_DIR") or "data") / "pki")


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "certs", help="OPC UA certificates: create the server's, list, trust a client's; hash a password",
        description="create (default): the OPC UA server's self-signed certificate and key (SAN: application "
                    "URI, host name, localhost, 127.0.0.1) under DIR/own/ and the trust list DIR/trusted/. "
                    "list: own, trusted and rejected certificates with thumbprint and expiry. trust FILE: "
                    "move a refused client certificate (DIR/rejected/NAME.der) into DIR/trusted/. "
                    "--hash-password: print a salted scrypt hash for a users file.")
    p.add_argument("action", nargs="?", choices=("create", "list", "trust"), default="create",
                   help="create (default), list or trust")
    p.add_argument("file", nargs="?", default=None, metavar="FILE",
                   help="for trust: the certificate, e.g. rejected/NAME.der (relative to DIR or .)")
    p.add_argument("--dir", default=None, metavar="DIR", help="PKI folder (default $DATA_DIR/pki = data/pki)")
    p.add_argument("--hostname", default=None, help="host name for the certificate (default: this host)")
    p.add_argument("--application-uri", default=DEFAULT_APPLICATION_URI, metavar="URI",
                   help=f"OPC UA application URI (default {DEFAULT_APPLICATION_URI}; must match the "
                        "tag map's opcua.application_uri)")
    p.add_argument("--force", action="store_true", help="replace an existing certificate and key")
    p.add_argument("--hash-password", action="store_true",
                   help="read a password (stdin or prompt) and print its hash for the users file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from plc_emulator.cli._common import BadInput
    from plc_emulator.opcua.security import hash_password

    if args.hash_password:
        tty = sys.stdin.isatty()
        password = getpass.getpass("password: ") if tty else sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInput("empty password")
        print(hash_password(password))
        return 0
    pki = Path(args.dir or _default_dir())
    if args.action != "trust" and args.file is not None:
        raise BadInput(f"certs {args.action} takes no file (got {args.file!r})")
    if args.action == "list":
        return _list(pki)
    if args.action == "trust":
        if args.file is None:
            raise BadInput("certs trust needs a certificate file, e.g. rejected/NAME.der")
        return _trust(pki, Path(args.file))
    return _create(pki, args)


def _create(pki: Path, args: argparse.Namespace) -> int:
    from plc_emulator.cli._common import BadInput
    from plc_emulator.opcua.certs import create_certificate, load_server_pki

    cert, key = pki / "own" / "cert.der", pki / "own" / "key.pem"
    if (cert.exists() or key.exists()) and not args.force:
        raise BadInput(f"{cert} or {key} already exists (use --force to replace them)")
    host = args.hostname or socket.gethostname()
    try:
        create_certificate(common_name=f"plc-emulator@{host}", application_uri=args.application_uri,
                           hostname=host, cert_path=cert, key_path=key)
    except OSError as exc:
        raise BadInput(f"cannot write certificate in {pki}: {exc.strerror or exc}") from None
    load_server_pki(pki)  # also creates the trust-list folder
    print(f"wrote {cert} ({cert.with_suffix('.pem').name}), {key}; trust list {pki / 'trusted'}")
    return 0


def _list(pki: Path) -> int:
    from plc_emulator.cli._common import BadInput
    from plc_emulator.opcua.trust import list_certificates

    if not pki.is_dir():
        raise BadInput(f"PKI folder not found: {pki} (plc-emulator run creates it; or give --dir)")
    rows = list_certificates(pki)
    print(f"{'GROUP':<9} {'EXPIRES':<11} {'THUMBPRINT (SHA-1)':<41} {'SUBJECT':<28} FILE")
    for c in rows:
        expiry = c.not_after.strftime("%Y-%m-%d") + ("!" if c.expired else "")
        print(f"{c.group:<9} {expiry:<11} {c.thumbprint:<41} {c.subject[:28]:<28} {c.path.relative_to(pki)}")
    counts = {g: sum(1 for c in rows if c.group == g) for g in ("own", "trusted", "rejected")}
    print(f"{counts['own']} own, {counts['trusted']} trusted, {counts['rejected']} rejected in {pki}"
          + ("  (! = expired)" if any(c.expired for c in rows) else ""))
    return 0


def _trust(pki: Path, file: Path) -> int:
    from plc_emulator.cli._common import BadInput
    from plc_emulator.opcua.trust import trust_certificate

    try:
        dst = trust_certificate(pki, file)
    except (ValueError, OSError) as exc:
        raise BadInput(str(exc)) from None
    print(f"trusted {dst} (new sessions use it at once, no restart)")
    return 0
