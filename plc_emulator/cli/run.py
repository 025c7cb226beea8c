"""``plc-emulator run TAGMAP``: serve the PLC over Modbus TCP (+ OPC UA) with /health and /metrics.

Configuration precedence: flag > environment variable > tag map > built-in default.
Environment: LOG_LEVEL, POLL_INTERVAL_MS (scan period), MODBUS_PORT, OPCUA_PORT, OPCUA_SECURITY,
API_PORT (HTTP), DATA_DIR, BIND_HOST (listen address). Prints ``ready modbus=HOST:PORT
http=HOST:PORT ...`` on stdout when serving and ``digest: <sha256>`` when it stops; logs go to
stderr. Exit status 0 after SIGTERM / Ctrl-C or ``--duration``, 2 for bad arguments or a bad tag
map, 1 otherwise (e.g. a port in use).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import os
import sys
from pathlib import Path
from typing import Any

from plc_emulator.cli._common import BadInput, duration_arg, env_or
from plc_emulator.cli._upstream import add_upstream_arguments, upstream_options
from plc_emulator.commands import Command

__all__ = ["handler", "parse_speed", "register"]


def parse_speed(text: str) -> float:
    """``1`` (real time), ``N`` (N x real time), ``max`` or ``0`` (as fast as possible)."""
    t = str(text).strip().lower()
    if t in ("max", "0"):
        return 0.0
    try:
        v = float(t.removesuffix("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"speed must be a number > 0 or 'max' (got {text!r})") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"speed must be a number > 0 or 'max' (got {text!r})")
    return v


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="serve the PLC (Modbus TCP, HTTP /health and /metrics)",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("tagmap", metavar="TAGMAP", help="tag map YAML")
    p.add_argument("--host", default=None, help="listen address (env BIND_HOST; default 0.0.0.0)")
    p.add_argument("--modbus-port", type=int, default=None,
                   help="Modbus TCP port (env MODBUS_PORT; tag map; default 5020)")
    p.add_argument("--http-port", type=int, default=None,
                   help="HTTP port for /health and /metrics (env API_PORT; default 8080)")
    p.add_argument("--speed", type=parse_speed, default=1.0,
                   help="1 = real time, N = N x real time, max = as fast as possible")
    p.add_argument("--paused", action="store_true",
                   help="start paused (advance with writes to runtime.step / runtime.paused)")
    p.add_argument("--seed", type=int, default=None,
                   help="RNG seed (default: the scenario's, else the tag map's)")
    p.add_argument("--scenario", default=None, metavar="FILE", help="scenario YAML of timed events")
    p.add_argument("--journal", default=None, metavar="FILE", help="write the command journal (for replay)")
    p.add_argument("--duration", type=duration_arg, default=None,
                   help="stop after this much simulated time (e.g. 30s, 2h)")
    p.add_argument("--data-dir", default=None, help="historian and data files (env DATA_DIR; default ./data)")
    p.add_argument("--cleanup-hours", type=float, default=None,
                   help="historian retention in hours (env CLEANUP_HOURS; tag map; default 24)")
    p.add_argument("--log-level", default=None,
                   help="debug, info, warning, error (env LOG_LEVEL; default info)")
    add_upstream_arguments(p)
    ua = p.add_argument_group("OPC UA (docs/opcua.md)")
    ua.add_argument("--opcua-port", type=int, default=None,
                    help="OPC UA port (env OPCUA_PORT; tag map; default 4840)")
    ua.add_argument("--opcua-security", default=None, metavar="POLICIES",
                    help="comma-separated: None, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss "
                         "(optionally :Sign or :SignAndEncrypt), or all (env OPCUA_SECURITY; default all)")
    ua.add_argument("--opcua-users", default=None, metavar="FILE",
                    help="users file (YAML: name -> role viewer/operator/engineer + salted password hash)")
    ua.add_argument("--opcua-no-anonymous", action="store_true", help="refuse anonymous sessions")
    ua.add_argument("--opcua-anonymous-role", default="operator", choices=("viewer", "operator", "engineer"),
                    help="what anonymous sessions may do (default operator: write setpoints, modes, acks)")
    ua.add_argument("--opcua-trust-all", action="store_true",
                    help="accept any client certificate (default: only those in PKI/trusted/)")
    ua.add_argument("--opcua-pki", default=None, metavar="DIR",
                    help="server certificate, key and trust list (default DATA_DIR/pki; created on first "
                         "run)")
    from plc_emulator.modbus.options import add_arguments as add_modbus_arguments

    add_modbus_arguments(p)
    p.set_defaults(func=handler)


def _port(value: object, what: str) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise BadInput(f"{what} must be a port number 0-65535 (got {value!r})") from None
    if not 0 <= port <= 65535:
        raise BadInput(f"{what} must be a port number 0-65535 (got {port})")
    return port


def _scan_period(fallback: float) -> float:
    raw = os.environ.get("POLL_INTERVAL_MS", "")
    if raw == "":
        return fallback
    try:
        ms = float(raw)
    except ValueError:
        raise BadInput(f"POLL_INTERVAL_MS must be a number of milliseconds > 0 (got {raw!r})") from None
    if not math.isfinite(ms) or ms <= 0:
        raise BadInput(f"POLL_INTERVAL_MS must be a number of milliseconds > 0 (got {raw!r})")
    return ms / 1000.0


def _load_scenario(path: str, tagmap: Any) -> tuple[dict[int, list[Command]], int | None]:
    """Scenario file -> (``{tick: [Command]}``, its seed or None); ScenarioError exits 2."""
    from plc_emulator.scenario import load_scenario

    if not Path(path).is_file():
        raise BadInput(f"scenario file not found: {path}")
    scenario = load_scenario(path, tagmap)
    return {int(k): list(v) for k, v in scenario.schedule.items()}, scenario.seed


def _historian_extras(args: argparse.Namespace) -> dict[str, Any]:
    """--cleanup-hours / CLEANUP_HOURS, checked before anything starts."""
    extras: dict[str, Any] = {}
    hours = env_or(getattr(args, "cleanup_hours", None), "CLEANUP_HOURS", None)
    if hours is not None:
        try:
            value = float(str(hours))
        except ValueError:
            raise BadInput(f"CLEANUP_HOURS must be a number of hours > 0 (got {hours!r})") from None
        if not math.isfinite(value) or value <= 0:
            raise BadInput(f"CLEANUP_HOURS must be a number of hours > 0 (got {hours!r})")
        extras["retention_hours"] = value
    return extras


def _opcua_extras(args: argparse.Namespace, tagmap: Any, data_dir: Path) -> dict[str, Any]:
    """--opcua-* flags (and OPCUA_PORT / OPCUA_SECURITY) -> the OPC UA adapter's settings, checked now."""
    from plc_emulator.opcua.security import ConfigError, Role, SecurityConfig, load_users, parse_policies

    port = _port(env_or(getattr(args, "opcua_port", None), "OPCUA_PORT", tagmap.opcua.port), "opcua port")
    try:
        policies = parse_policies(str(env_or(getattr(args, "opcua_security", None), "OPCUA_SECURITY", "all")))
        users_file = getattr(args, "opcua_users", None)
        users = load_users(users_file) if users_file else {}
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    anonymous = not getattr(args, "opcua_no_anonymous", False)
    if not anonymous and not users:
        raise BadInput("--opcua-no-anonymous needs --opcua-users FILE (otherwise nobody could log in)")
    pki = Path(getattr(args, "opcua_pki", None) or data_dir / "pki")
    security = SecurityConfig(policies=policies, anonymous=anonymous, users=users, pki_dir=pki,
                              trust_all=bool(getattr(args, "opcua_trust_all", False)),
                              anonymous_role=Role.parse(getattr(args, "opcua_anonymous_role", None) or "operator"))
    return {"opcua": {"port": port, "security": security}}


def handler(args: argparse.Namespace) -> int:
    from plc_emulator.runtime.app import AppConfig, serve
    from plc_emulator.runtime.config import RuntimeConfig
    from plc_emulator.runtime.logs import configure_logging
    from plc_emulator.tagmap import load

    level = str(env_or(args.log_level, "LOG_LEVEL", "info"))
    try:
        configure_logging(level)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    from plc_emulator.modbus.options import parse as parse_modbus

    modbus_cfg = parse_modbus(args)  # checked before the tag map is loaded: bad flags fail fast
    if not Path(args.tagmap).is_file():
        raise BadInput(f"tag map not found: {args.tagmap}")
    tagmap = load(args.tagmap)
    period = _scan_period(tagmap.scan_period)
    if period != tagmap.scan_period:
        tagmap = dataclasses.replace(tagmap, scan_period=period)
    modbus_port = _port(env_or(args.modbus_port, "MODBUS_PORT", tagmap.modbus.port), "modbus port")
    http_port = _port(env_or(args.http_port, "API_PORT", 8080), "http port")
    host = str(env_or(args.host, "BIND_HOST", "0.0.0.0"))
    data_dir = Path(str(env_or(args.data_dir, "DATA_DIR", "data")))
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create data dir {data_dir}: {exc.strerror or exc}") from None
    schedule: dict[int, list[Command]] = {}
    seed = args.seed
    if args.scenario:
        schedule, scenario_seed = _load_scenario(args.scenario, tagmap)
        if seed is None:  # --seed > the scenario's seed > the tag map's
            seed = scenario_seed
    stop_at = None
    if args.duration is not None:
        if args.duration <= 0:
            raise BadInput(f"--duration must be > 0 (got {args.duration:g} s)")
        stop_at = max(1, round(args.duration / tagmap.scan_period))
    runtime = RuntimeConfig(speed=args.speed, paused=args.paused, seed=seed, journal=args.journal,
                            schedule=schedule, stop_at_tick=stop_at)
    extras = _historian_extras(args)
    extras.update(_opcua_extras(args, tagmap, data_dir))
    extras["modbus"] = modbus_cfg
    config = AppConfig(host=host, modbus_port=modbus_port, http_port=http_port, data_dir=data_dir,
                       runtime=runtime, extras=extras, upstream=upstream_options(args))
    try:
        snap = asyncio.run(serve(tagmap, config))
    except OSError as exc:  # e.g. the journal cannot be written
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"plc-emulator: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    print(f"digest: {snap.digest}", flush=True)
    return 0
