"""Alarm limits and historian settings of one tag."""

from __future__ import annotations

import itertools

from yaml.nodes import Node

from plc_emulator.tagmap._reader import Reader
from plc_emulator.tagmap.model import AlarmLimits, HistorianPoint, TagKind

__all__ = ["ALARM_KEYS", "HISTORIAN_KEYS", "PRIORITY_KEYS", "parse_alarms", "parse_historian"]

ALARM_KEYS = (
    "hihi",
    "hi",
    "lo",
    "lolo",
    "deadband",
    "on_delay",
    "off_delay",
    "priority",
    "priorities",
    "roc_limit",
    "roc_window",
    "bad_quality",
    "discrete_alarm_state",
)
PRIORITY_KEYS = ("hihi", "hi", "lo", "lolo", "roc", "bad_quality", "discrete")
HISTORIAN_KEYS = ("enabled", "deadband", "max_interval")
_LIMITS = ("lolo", "lo", "hi", "hihi")


def parse_alarms(
    r: Reader,
    node: Node,
    path: str,
    *,
    kind: TagKind | None,
    rng: tuple[float, float] | None,
    states: tuple[str, ...] | None,
) -> AlarmLimits | None:
    a = r.fields(node, path, allowed=ALARM_KEYS)
    if not a.ok:
        return None
    ok = True
    limits: dict[str, float] = {}
    for k in _LIMITS:
        if k in a:
            v = r.number(a.values[k], a.at(k))
            ok = ok and v is not None
            if v is not None:
                limits[k] = v
                if rng is not None and not rng[0] <= v <= rng[1]:
                    r.err(a.values[k], a.at(k), f"outside the EU range [{rng[0]:g}, {rng[1]:g}] (got {v:g})")
                    ok = False
    if limits and kind is not None and kind is not TagKind.ANALOG:
        first = next(k for k in _LIMITS if k in limits)
        r.err(
            a.keys[first],
            a.at(first),
            f"limit alarms apply to analog tags (got kind {kind.value}); use discrete_alarm_state",
        )
        ok = False
    given = [k for k in _LIMITS if k in limits]
    for lower, upper in itertools.pairwise(given):
        bad = (
            limits[lower] >= limits[upper]
            if (lower, upper) == ("lo", "hi")
            else limits[lower] > limits[upper]
        )
        if bad:
            r.err(
                a.values[upper],
                a.at(upper),
                f"limits out of order: need lolo <= lo < hi <= hihi "
                f"(got {lower}={limits[lower]:g}, {upper}={limits[upper]:g})",
            )
            ok = False
    values: dict[str, float] = {}
    for k, lo in (("deadband", 0.0), ("on_delay", 0.0), ("off_delay", 0.0), ("roc_window", 0.0)):
        if k in a:
            v = (
                r.number(a.values[k], a.at(k), lo=lo)
                if k == "deadband"
                else r.duration(a.values[k], a.at(k), positive=k == "roc_window")
            )
            ok = ok and v is not None
            if v is not None:
                values[k] = v
    roc: float | None = None
    if "roc_limit" in a:
        roc = r.number(a.values["roc_limit"], a.at("roc_limit"))
        if roc is not None and roc <= 0:
            r.err(a.values["roc_limit"], a.at("roc_limit"), f"must be > 0 (got {roc:g})")
            roc = None
        ok = ok and roc is not None
    priority = 2
    if "priority" in a:
        got = r.integer(a.values["priority"], a.at("priority"), lo=1, hi=4)
        ok = ok and got is not None
        priority = got or priority
    priorities: dict[str, int] = {}
    if "priorities" in a:
        p = r.fields(a.values["priorities"], a.at("priorities"), allowed=PRIORITY_KEYS)
        ok = ok and p.ok
        for k, v_node in p.values.items():
            got = r.integer(v_node, p.at(k), lo=1, hi=4)
            ok = ok and got is not None
            if got is not None:
                priorities[k] = got
    bad_quality = True
    if "bad_quality" in a:
        bq = r.boolean(a.values["bad_quality"], a.at("bad_quality"))
        ok = ok and bq is not None
        bad_quality = True if bq is None else bq
    state: int | None = None
    if "discrete_alarm_state" in a:
        n = len(states) if states else 2
        state = r.integer(a.values["discrete_alarm_state"], a.at("discrete_alarm_state"), lo=0, hi=n - 1)
        ok = ok and state is not None
        if kind is not None and kind not in (TagKind.DISCRETE, TagKind.MULTISTATE):
            r.err(
                a.values["discrete_alarm_state"],
                a.at("discrete_alarm_state"),
                f"applies to discrete and multistate tags only (got kind {kind.value})",
            )
            ok = False
    if not ok:
        return None
    return AlarmLimits(
        hihi=limits.get("hihi"),
        hi=limits.get("hi"),
        lo=limits.get("lo"),
        lolo=limits.get("lolo"),
        deadband=values.get("deadband", 0.0),
        on_delay=values.get("on_delay", 0.0),
        off_delay=values.get("off_delay", 0.0),
        priority=priority,
        priorities=priorities,
        roc_limit=roc,
        roc_window=values.get("roc_window", 10.0),
        bad_quality=bad_quality,
        discrete_alarm_state=state,
    )


def parse_historian(r: Reader, node: Node, path: str) -> HistorianPoint | None:
    h = r.fields(node, path, allowed=HISTORIAN_KEYS)
    if not h.ok:
        return None
    enabled, deadband, max_interval = True, 0.0, 60.0
    ok = True
    if "enabled" in h:
        got_b = r.boolean(h.values["enabled"], h.at("enabled"))
        ok = got_b is not None
        enabled = bool(got_b)
    if "deadband" in h:
        got = r.number(h.values["deadband"], h.at("deadband"), lo=0)
        ok = ok and got is not None
        deadband = got if got is not None else deadband
    if "max_interval" in h:
        got = r.duration(h.values["max_interval"], h.at("max_interval"), positive=True)
        ok = ok and got is not None
        max_interval = got if got is not None else max_interval
    return HistorianPoint(enabled=enabled, deadband=deadband, max_interval=max_interval) if ok else None
