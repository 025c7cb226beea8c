"""``plc-emulator run`` flags of the Modbus listeners -> one :class:`ModbusConfig` (parsed once).

``add_arguments(parser)`` adds the group; ``parse(args)`` checks every value before anything
starts and raises :class:`~plc_emulator.cli._common.BadInput` (exit 2) with one clear line.
Environment: MODBUS_ACCESS (the plain listener's level).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from plc_emulator.cli._common import BadInput, duration_arg, env_or
from plc_emulator.modbus.access import AccessLevel, parse_level
from plc_emulator.modbus.config import Limits, ModbusConfig
from plc_emulator.modbus.serial_link import SerialConfig
from plc_emulator.modbus.tls import DEFAULT_PORT, TlsConfig, server_context

__all__ = ["add_arguments", "parse"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("Modbus listeners (docs/modbus.md)")
    g.add_argument("--modbus-access", default=None, metavar="LEVEL",
                   help="viewer, operator or engineer for plain TCP/RTU clients (env MODBUS_ACCESS; "
                        "default operator)")
    g.add_argument("--modbus-max-connections", type=int, default=None, metavar="N",
                   help="connections per listener (default: a quarter of the descriptor limit, 8..256)")
    g.add_argument("--modbus-max-per-client", type=int, default=None, metavar="N",
                   help="connections per client address (default 64)")
    g.add_argument("--modbus-idle-timeout", type=duration_arg, default=None, metavar="T",
                   help="close connections silent this long, 0 = never (default 300s)")
    g.add_argument("--modbus-frame-timeout", type=duration_arg, default=None, metavar="T",
                   help="close connections holding a half-received frame this long, 0 = never (default 5s)")
    g.add_argument("--modbus-units", default=None, metavar="IDS",
                   help="more unit ids (RTU slave addresses) to answer besides the tag map's, e.g. 2,5")
    g.add_argument("--modbus-rtu-tcp-port", type=int, default=None, metavar="PORT",
                   help="also serve RTU framing over TCP (serial-to-Ethernet gateways) on this port")
    g.add_argument("--modbus-rtu", default=None, metavar="DEV", help="also serve Modbus RTU on this serial port")
    g.add_argument("--modbus-rtu-baud", type=int, default=19200, metavar="BAUD", help="default 19200")
    g.add_argument("--modbus-rtu-parity", default="E", choices=("N", "E", "O"), help="default E (even)")
    g.add_argument("--modbus-rtu-stop-bits", type=int, default=1, choices=(1, 2), help="default 1")
    g.add_argument("--modbus-tls-port", type=int, default=None, metavar="PORT",
                   help=f"serve Modbus/TCP Security (TLS, client certificates) on this port (standard 802; "
                        f"{DEFAULT_PORT} needs no root); needs --modbus-tls-cert/-key/-ca")
    g.add_argument("--modbus-tls-cert", default=None, metavar="PEM", help="server certificate")
    g.add_argument("--modbus-tls-key", default=None, metavar="PEM", help="server private key")
    g.add_argument("--modbus-tls-ca", default=None, metavar="PEM", help="CA that signs client certificates")
    g.add_argument("--modbus-tls-default-role", default="viewer", metavar="LEVEL",
                   help="level of a client certificate without a Modbus role (default viewer)")


def _limits(args: Any) -> Limits:
    base = Limits()
    try:
        return Limits(
            max_connections=base.max_connections if args.modbus_max_connections is None
            else int(args.modbus_max_connections),
            max_per_address=base.max_per_address if args.modbus_max_per_client is None
            else int(args.modbus_max_per_client),
            idle_timeout=base.idle_timeout if args.modbus_idle_timeout is None else float(args.modbus_idle_timeout),
            frame_timeout=base.frame_timeout if args.modbus_frame_timeout is None
            else float(args.modbus_frame_timeout),
        )
    except ValueError as exc:
        raise BadInput(f"modbus: {exc}") from None


def parse(args: argparse.Namespace) -> ModbusConfig:
    """The Modbus settings of ``args`` (and the environment), checked."""
    try:
        access = parse_level(str(env_or(getattr(args, "modbus_access", None), "MODBUS_ACCESS", "operator")))
    except ValueError as exc:
        raise BadInput(f"--modbus-access: {exc}") from None
    return ModbusConfig(access=access, limits=_limits(args), unit_ids=_units(args.modbus_units),
                        rtu_tcp_port=None if args.modbus_rtu_tcp_port is None
                        else _port(args.modbus_rtu_tcp_port, "--modbus-rtu-tcp-port"),
                        tls=_tls(args), serial=_serial(args, access))


def _port(value: int, what: str) -> int:
    if not 0 <= value <= 65535:
        raise BadInput(f"{what} must be a port number 0-65535 (got {value})")
    return value


def _units(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        ids = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise BadInput(f"--modbus-units must be unit ids 1-247 separated by commas (got {text!r})") from None
    if any(not 1 <= u <= 247 for u in ids):
        raise BadInput(f"--modbus-units must be unit ids 1-247 separated by commas (got {text!r})")
    return ids


def _tls(args: Any) -> TlsConfig | None:
    if args.modbus_tls_port is None:
        return None
    files = {"--modbus-tls-cert": args.modbus_tls_cert, "--modbus-tls-key": args.modbus_tls_key,
             "--modbus-tls-ca": args.modbus_tls_ca}
    for flag, value in files.items():
        if not value:
            raise BadInput(f"--modbus-tls-port needs {flag} FILE")
        if not Path(value).is_file():
            raise BadInput(f"{flag}: file not found: {value}")
    try:
        default = parse_level(args.modbus_tls_default_role)
    except ValueError as exc:
        raise BadInput(f"--modbus-tls-default-role: {exc}") from None
    cfg = TlsConfig(port=_port(args.modbus_tls_port, "--modbus-tls-port"), cert=Path(args.modbus_tls_cert),
                    key=Path(args.modbus_tls_key), ca=Path(args.modbus_tls_ca), default_level=default)
    try:
        server_context(cfg)  # load the files now: a bad certificate is a bad flag, not a start-up crash
    except ValueError as exc:
        raise BadInput(f"--modbus-tls-cert: {exc}") from None
    return cfg


def _serial(args: Any, access: AccessLevel) -> SerialConfig | None:
    if not args.modbus_rtu:
        return None
    try:
        return SerialConfig(device=args.modbus_rtu, baud=args.modbus_rtu_baud, parity=args.modbus_rtu_parity,
                            stop_bits=args.modbus_rtu_stop_bits, access=access)
    except ValueError as exc:
        raise BadInput(f"--modbus-rtu: {exc}") from None
