"""``plc-emulator run`` flags of the Modbus listeners -> one :class:`ModbusConfig` (parsed once).

``add_arguments(parser)`` adds the group; ``parse(args)`` checks every value before anything
starts and raises :class:`~plc_emulator.cli._common.BadInput` (exit 2) with one clear line.
Environment: MODBUS_ACCESS (the plain listener's level).
"""

from __future__ import annotations

import argparse
from typing import Any

from plc_emulator.cli._common import BadInput, duration_arg, env_or
from plc_emulator.modbus.access import parse_level
from plc_emulator.modbus.config import Limits, ModbusConfig

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
    return ModbusConfig(access=access, limits=_limits(args))
