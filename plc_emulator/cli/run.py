"""``plc-emulator run TAGMAP``: serve the PLC over Modbus TCP (+ OPC UA) with /health and /metrics.

Configuration precedence: flag > environment variable > tag map > built-in default.
Environment: LOG_LEVEL, EVENT_LOOP, POLL_INTERVAL_MS (scan period), MODBUS_PORT, OPCUA_PORT, OPCUA_SECURITY,
API_PORT (HTTP), DATA_DIR, BIND_HOST (listen address). Prints ``ready modbus=HOST:PORT
http=HOST:PORT ...`` on stdout when serving and ``digest: <sha256>`` when it stops; logs go to
stderr. Exit status 0 after SIGTERM / Ctrl-C or ``--duration``, 2 for bad arguments or a bad tag
map, 1 otherwise (e.g. a port in use).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plc_emulator.cli._common import BadInput, check_text_file, check_ticks, duration_arg, env_or
from plc_emulator.cli._upstream import add_upstream_arguments, upstream_options
from plc_emulator.commands import Command

if TYPE_CHECKING:
    from plc_emulator.runtime.config import HistorianOptions, OpcUaOptions

START_MODES = ("cold", "warm", "hot")  # plc_emulator.runtime.checkpoint.StartMode values
CHECKPOINT_NAME = "plc.checkpoint"

__all__ = ["CHECKPOINT_NAME", "handler", "parse_speed", "register"]


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
    p.add_argument("--event-loop", default=None, metavar="uvloop|asyncio",
                   help="event loop (env EVENT_LOOP; default uvloop when installed, else asyncio)")
    add_upstream_arguments(p)
    rs = p.add_argument_group("time and restarts (docs/runtime.md)")
    rs.add_argument("--epoch", default=None, metavar="ISO|now",
                    help="pin simulated time of tick 0 (default: the tag map's epoch: if set, else the wall "
                         "clock at the first scan, so at speed 1 simulated time is UTC)")
    rs.add_argument("--start", choices=START_MODES, default=None,
                    help="PLC memory after a restart: cold (initial values), warm (retained points kept; the "
                         "default when DATA_DIR has a checkpoint), hot (everything, alarm states too)")
    rs.add_argument("--reset-plant", action="store_true",
                    help="start a fresh plant instead of continuing from DATA_DIR's checkpoint")
    rs.add_argument("--checkpoint-interval", type=duration_arg, default=10.0,
                    help="wall time between checkpoints (default 10s; one more on SIGTERM); 0 = none")
    rs.add_argument("--repair", action="store_true",
                    help="move a damaged historian.db aside (historian.db.damaged-TIME) and start a new one")
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
    if not math.isfinite(ms) or not 1 <= ms <= 10_000:
        raise BadInput(f"POLL_INTERVAL_MS must be 1 to 10000 milliseconds (got {raw!r})")
    return ms / 1000.0


def _load_scenario(path: str, tagmap: Any, seed: int | None) -> tuple[dict[int, list[Command]], int | None]:
    """Scenario file -> (``{tick: [Command]}``, its seed or None); ScenarioError exits 2. Its
    distributions are drawn from the run seed (``seed`` = --seed, else the scenario's, else the map's)."""
    from plc_emulator.scenario import load_scenario

    if not Path(path).is_file():
        raise BadInput(f"scenario file not found: {path}")
    scenario = load_scenario(path, tagmap, seed=seed)
    return {int(k): list(v) for k, v in scenario.schedule.items()}, scenario.seed


def _historian_options(args: argparse.Namespace) -> HistorianOptions:
    """--cleanup-hours / CLEANUP_HOURS and --repair, checked before anything starts."""
    from plc_emulator.runtime.config import HistorianOptions

    retention: float | None = None
    hours = env_or(getattr(args, "cleanup_hours", None), "CLEANUP_HOURS", None)
    if hours is not None:
        try:
            retention = float(str(hours))
        except ValueError:
            raise BadInput(f"CLEANUP_HOURS must be a number of hours > 0 (got {hours!r})") from None
        if not math.isfinite(retention) or retention <= 0:
            raise BadInput(f"CLEANUP_HOURS must be a number of hours > 0 (got {hours!r})")
    return HistorianOptions(retention_hours=retention, repair=bool(getattr(args, "repair", False)))


def _opcua_options(args: argparse.Namespace, tagmap: Any, data_dir: Path) -> OpcUaOptions:
    """--opcua-* flags (and OPCUA_PORT / OPCUA_SECURITY) -> the OPC UA adapter's settings, checked now."""
    from plc_emulator.opcua.security import ConfigError, Role, SecurityConfig, load_users, parse_policies

    port = _port(env_or(getattr(args, "opcua_port", None), "OPCUA_PORT", tagmap.opcua.port), "opcua port")
    try:
        policies = parse_policies(str(env_or(getattr(args, "opcua_security", None), "OPCUA_SECURITY", "all")))
        users_file = getattr(args, "opcua_users", None)
        if users_file:
            check_text_file(users_file, "users file")
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
    from plc_emulator.runtime.config import OpcUaOptions

    return OpcUaOptions(port=port, security=security)


def _restart(args: argparse.Namespace, tagmap: Any, data_dir: Path) -> dict[str, Any]:
    """Epoch plan, checkpoint to continue from, start mode and checkpoint settings (RuntimeConfig fields)."""
    import time

    from historian import HistorianError, newest_time
    from plc_emulator.runtime.checkpoint import CheckpointError, StartMode, read_checkpoint
    from plc_emulator.runtime.epoch import EpochPlan, parse_epoch

    pinned: float | None = tagmap.epoch if tagmap.epoch_pinned else None
    if args.epoch is not None:
        try:
            pinned = parse_epoch(args.epoch, math.floor(time.time() / tagmap.scan_period) * tagmap.scan_period)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
    interval = float(args.checkpoint_interval)
    if not math.isfinite(interval) or interval < 0:
        raise BadInput(f"--checkpoint-interval must be >= 0 (got {args.checkpoint_interval!r})")
    path = data_dir / CHECKPOINT_NAME
    restore = None
    if path.exists() and not args.reset_plant:
        try:
            restore = read_checkpoint(path)
        except CheckpointError as exc:
            raise BadInput(str(exc)) from None
    if args.start is not None and restore is None and args.start != "cold":
        print(f"plc-emulator: note: no checkpoint in {data_dir}: --start {args.start} starts a fresh plant",
              file=sys.stderr)
    db = data_dir / "historian.db"
    try:
        floor = newest_time(db) if db.exists() and not args.repair else None
    except HistorianError as exc:  # a damaged file: exit 1 like any historian start-up failure
        from plc_emulator.runtime.app import StartupError

        raise StartupError(f"historian: {exc}") from None
    start_tick = restore.tick if restore is not None else 0
    if pinned is not None and floor is not None and pinned + (start_tick + 1) * tagmap.scan_period <= floor:
        raise BadInput(f"pinned epoch {_iso(pinned)} puts tick {start_tick + 1} at or before the newest sample in "
                       f"{db} ({_iso(floor)}); time in the store never goes backwards: pin a later --epoch, "
                       f"use another --data-dir, or drop the pin (wall clock)")
    return {
        "epoch": EpochPlan(pinned=pinned, floor=floor if floor is not None else -math.inf),
        "restore": restore,
        "start_mode": StartMode(args.start or "warm"),
        "checkpoint_path": path if interval > 0 else None,
        "checkpoint_interval": interval if interval > 0 else 10.0,
    }


def _iso(t: float) -> str:
    import datetime as _dt

    return _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat().replace("+00:00", "Z")


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
    from plc_emulator.runtime import eventloop

    try:
        loop_kind = eventloop.parse_loop(str(env_or(args.event_loop, "EVENT_LOOP", eventloop.default_loop())))
    except ValueError as exc:
        raise BadInput(str(exc)) from None
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
        schedule, scenario_seed = _load_scenario(args.scenario, tagmap, seed)
        if seed is None:  # --seed > the scenario's seed > the tag map's
            seed = scenario_seed
    stop_at = None
    if args.duration is not None:
        if args.duration <= 0:
            raise BadInput(f"--duration must be > 0 (got {args.duration:g} s)")
        stop_at = max(1, round(check_ticks(args.duration / tagmap.scan_period, tagmap.scan_period, "--duration")))
    if args.journal is not None and Path(args.journal).is_dir():
        raise BadInput(f"--journal {args.journal} is a directory")
    restart = _restart(args, tagmap, data_dir)
    if stop_at is not None and restart.get("restore") is not None:
        stop_at += restart["restore"].tick  # --duration counts from the restart
    runtime = RuntimeConfig(speed=args.speed, paused=args.paused, seed=seed, journal=args.journal,
                            schedule=schedule, stop_at_tick=stop_at, **restart)
    config = AppConfig(host=host, modbus_port=modbus_port, http_port=http_port, data_dir=data_dir,
                       runtime=runtime, modbus=modbus_cfg, opcua=_opcua_options(args, tagmap, data_dir),
                       historian=_historian_options(args), upstream=upstream_options(args))
    try:
        snap = eventloop.run(serve(tagmap, config), loop_kind)
    except OSError as exc:  # e.g. the journal cannot be written
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"plc-emulator: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    print(f"digest: {snap.digest}", flush=True)
    return 0
