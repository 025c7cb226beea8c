"""``plc-emulator certs``: the OPC UA server certificate and key, and password hashes for users files.

    plc-emulator certs [--dir pki] [--hostname H] [--application-uri URI] [--force]
    plc-emulator certs --hash-password            # reads the password from stdin (or a prompt)
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

DEFAULT_APPLICATION_URI = "urn:plc-emulator:server"


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "certs", help="create the OPC UA server certificate, or hash a user password",
        description="Create the OPC UA server's self-signed certificate and key (SAN: application URI, "
                    "host name, localhost, 127.0.0.1) under DIR/own/, and the trust list folder "
                    "DIR/trusted/. With --hash-password, print a salted scrypt hash for a users file.")
    p.add_argument("--dir", default="pki", metavar="DIR", help="PKI folder (default ./pki)")
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
    from plc_emulator.opcua.certs import create_certificate, load_server_pki
    from plc_emulator.opcua.security import hash_password

    if args.hash_password:
        tty = sys.stdin.isatty()
        password = getpass.getpass("password: ") if tty else sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInput("empty password")
        print(hash_password(password))
        return 0
    pki = Path(args.dir)
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
