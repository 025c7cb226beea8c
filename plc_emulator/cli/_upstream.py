"""``plc-emulator run`` MQTT flags -> :class:`~plc_emulator.runtime.upstream.UpstreamOptions`.

Flag > environment variable > default. Secrets: the password comes from ``--mqtt-password-file``
(first line) or the ``MQTT_PASSWORD`` environment variable, never from a flag or the URL, so it does
not show in ``ps`` or in logs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plc_emulator.cli._common import BadInput, duration_arg, env_or, parse_duration
from plc_emulator.runtime.upstream import JsonSinkOptions, SinkOptions, SparkplugOptions, UpstreamOptions

if TYPE_CHECKING:
    from historian import MqttEndpoint

__all__ = ["add_upstream_arguments", "upstream_options"]


def add_upstream_arguments(p: Any) -> None:
    g = p.add_argument_group("MQTT upstream (docs/historian.md)")
    g.add_argument("--mqtt-url", default=None, metavar="URL",
                   help="forward the historian as JSON to this broker, mqtt://host:port or mqtts://host:port "
                        "(env MQTT_URL)")
    g.add_argument("--sparkplug-url", default=None, metavar="URL",
                   help="also (or only) run a Sparkplug B edge node on this broker (env SPARKPLUG_URL); the "
                        "--mqtt-ca/-cert/-key/-username/-password-file settings apply to both")
    g.add_argument("--sparkplug-group", default=None, metavar="ID", help="group id (default: tag map plant)")
    g.add_argument("--sparkplug-node", default=None, metavar="ID", help="edge node id (default: tag map name)")
    g.add_argument("--sparkplug-host-id", default=None, metavar="ID",
                   help="primary host application id: keep data in the historian while "
                        "spBv1.0/STATE/ID is offline, replay it as historical when it comes back")
    g.add_argument("--mqtt-ca", default=None, metavar="FILE",
                   help="CA certificate(s) to trust for mqtts:// (env MQTT_CA; default: system store)")
    g.add_argument("--mqtt-cert", default=None, metavar="FILE", help="client certificate (env MQTT_CERT)")
    g.add_argument("--mqtt-key", default=None, metavar="FILE", help="client private key (env MQTT_KEY)")
    g.add_argument("--mqtt-username", default=None, metavar="NAME", help="username (env MQTT_USERNAME)")
    g.add_argument("--mqtt-password-file", default=None, metavar="FILE",
                   help="file whose first line is the password (env MQTT_PASSWORD_FILE, or the password "
                        "itself in env MQTT_PASSWORD)")
    g.add_argument("--mqtt-no-verify-hostname", action="store_true",
                   help="do not check the broker's host name against its certificate (not recommended)")
    g.add_argument("--mqtt-max-backlog-age", type=duration_arg, default=None, metavar="DURATION",
                   help="/health fails while the oldest unforwarded sample is older than this (default 5min)")


def _password(args: argparse.Namespace) -> str | None:
    path = env_or(getattr(args, "mqtt_password_file", None), "MQTT_PASSWORD_FILE", None)
    if path is not None:
        try:
            lines = Path(str(path)).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise BadInput(f"cannot read MQTT password file {path}: {exc.strerror or exc}") from None
        if not lines or not lines[0]:
            raise BadInput(f"MQTT password file {path} is empty")
        return lines[0]
    return os.environ.get("MQTT_PASSWORD") or None


def upstream_options(args: argparse.Namespace) -> UpstreamOptions:
    """Check every MQTT setting now (exit 2 with one line), before anything starts."""
    from historian import HistorianError, mqtt_endpoint

    url = env_or(getattr(args, "mqtt_url", None), "MQTT_URL", None)
    spb_url = env_or(getattr(args, "sparkplug_url", None), "SPARKPLUG_URL", None)
    age_raw = env_or(getattr(args, "mqtt_max_backlog_age", None), "MQTT_MAX_BACKLOG_AGE", 300.0)
    age = parse_duration(age_raw if isinstance(age_raw, int | float | str) else str(age_raw))
    if age <= 0:
        raise BadInput(f"--mqtt-max-backlog-age must be > 0 (got {age:g} s)")
    if url is None and spb_url is None:
        return UpstreamOptions(max_backlog_age=age)

    def opt(flag: str, env: str) -> str | None:
        v = env_or(getattr(args, flag, None), env, None)
        return None if v is None else str(v)

    password = _password(args)

    def endpoint(u: object) -> MqttEndpoint:
        return mqtt_endpoint(
            str(u), ca_file=opt("mqtt_ca", "MQTT_CA"), cert_file=opt("mqtt_cert", "MQTT_CERT"),
            key_file=opt("mqtt_key", "MQTT_KEY"), username=opt("mqtt_username", "MQTT_USERNAME"),
            password=password, verify_hostname=not getattr(args, "mqtt_no_verify_hostname", False),
        )

    try:
        json_ep = endpoint(url) if url is not None else None
        spb = None if spb_url is None else SparkplugOptions(
            endpoint=endpoint(spb_url), group=opt("sparkplug_group", "SPARKPLUG_GROUP"),
            edge_node=opt("sparkplug_node", "SPARKPLUG_NODE"), host_id=opt("sparkplug_host_id", "SPARKPLUG_HOST_ID"),
        )
    except HistorianError as exc:
        raise BadInput(str(exc)) from None
    ids = {} if spb is None else {"group": spb.group, "node": spb.edge_node, "host id": spb.host_id}
    for what, value in ids.items():
        if value is not None and any(c in value for c in "+#/"):
            raise BadInput(f"Sparkplug {what} must not contain '+', '#' or '/' (got {value!r})")
    sinks: list[SinkOptions] = []
    if json_ep is not None:
        sinks.append(JsonSinkOptions(endpoint=json_ep))
    if spb is not None:
        sinks.append(spb)
    return UpstreamOptions(sinks=tuple(sinks), max_backlog_age=age)
