"""``plc-emulator historian``: inspect the store and manage the forward quarantine.

    plc-emulator historian info [--db FILE]
    plc-emulator historian quarantine list [--db FILE] [--json]
    plc-emulator historian quarantine retry ID|--all [--db FILE]
    plc-emulator historian quarantine drop ID|--all [--db FILE]

The database defaults to ``$DATA_DIR/historian.db`` (``./data/historian.db``). ``retry`` marks entries
for the running forwarder, which re-sends them within about a second and deletes them once the
broker acknowledged; ``drop`` deletes them for good and adds their rows to ``quarantine_dropped``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from plc_emulator.cli._common import BadInput, add_db_arg, db_path

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "historian",
        help="inspect the historian store, manage the forward quarantine",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    sub = p.add_subparsers(dest="historian_command", metavar="COMMAND", parser_class=type(p))
    sub.required = True

    info = sub.add_parser("info", help="rows, sequence range, drops, gaps and forward cursors")
    _db_arg(info)
    info.set_defaults(func=_info)

    q = sub.add_parser("quarantine", help="list, retry or drop batches the forwarder gave up on")
    qsub = q.add_subparsers(dest="quarantine_command", metavar="ACTION", parser_class=type(p))
    qsub.required = True
    ls = qsub.add_parser("list", help="list quarantined batches")
    _db_arg(ls)
    ls.add_argument("--json", action="store_true", help="print entries (with their samples) as JSON")
    ls.set_defaults(func=_list)
    for name, helptext in (
        ("retry", "send again (the running forwarder picks them up)"),
        ("drop", "delete for good (counted)"),
    ):
        a = qsub.add_parser(name, help=helptext)
        _db_arg(a)
        a.add_argument("id", nargs="?", type=int, help="entry id (see list)")
        a.add_argument("--all", action="store_true", help="every entry")
        a.set_defaults(func=_retry if name == "retry" else _drop)


def _db_arg(p: argparse.ArgumentParser) -> None:
    add_db_arg(p)  # the same --db (and default) as ``trend``


def _open(args: argparse.Namespace) -> Any:
    from historian import HistorianError, Store

    path = db_path(args.db)
    if not path.is_file():
        raise BadInput(f"historian database not found: {path}")
    try:
        return Store(path)
    except HistorianError as exc:
        raise BadInput(str(exc)) from None


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _info(args: argparse.Namespace) -> int:
    with _open(args) as st:
        n = st.count_samples()
        print(f"samples: {n} (seq {st.min_seq()}..{st.max_seq()})")
        for key in ("queue_dropped", "size_cap_dropped", "retention_deleted", "quarantine_dropped"):
            print(f"{key}: {st.meta_int(key)}")
        for g in st.gaps():
            print(f"gap: seq {g.first_seq}..{g.last_seq} ({g.count} rows, {g.reason})")
        head = st.max_seq()
        for c in st.cursors():
            extra = (
                f", live stream from {c.live_from} acked {c.live_acked}" if c.live_from is not None else ""
            )
            print(f"sink {c.sink}: acked {c.acked}, backlog {max(0, head - c.head)}{extra}")
        print(f"quarantined batches: {len(st.quarantine_list())}")
        for key in ("tagmap", "tagmap_sha256", "seed", "plant"):
            value = st.get_meta(key)
            if value is not None:
                print(f"{key}: {value}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with _open(args) as st:
        entries = st.quarantine_list()
        if args.json:
            out = [
                {
                    "id": e.id,
                    "sink": e.sink,
                    "first_seq": e.first_seq,
                    "last_seq": e.last_seq,
                    "rows": e.rows,
                    "attempts": e.attempts,
                    "error": e.error,
                    "state": e.state,
                    "created": e.created,
                    "samples": st.quarantine_payload(e.id),
                }
                for e in entries
            ]
            json.dump(out, sys.stdout, indent=1)
            print()
            return 0
        if not entries:
            print("quarantine is empty")
            return 0
        print(f"{'id':>5} {'state':<6} {'sink':<28} {'seq':<23} {'rows':>6} {'tries':>5}  created / error")
        for e in entries:
            print(
                f"{e.id:>5} {e.state:<6} {e.sink:<28} {f'{e.first_seq}..{e.last_seq}':<23} {e.rows:>6} "
                f"{e.attempts:>5}  {_iso(e.created)} {e.error}"
            )
    return 0


def _selected(st: Any, args: argparse.Namespace) -> list[Any]:
    entries = st.quarantine_list()
    if args.all:
        return list(entries)
    if args.id is None:
        raise BadInput("give an entry id or --all")
    chosen = [e for e in entries if e.id == args.id]
    if not chosen:
        raise BadInput(f"no quarantine entry {args.id} (see: plc-emulator historian quarantine list)")
    return chosen


def _retry(args: argparse.Namespace) -> int:
    with _open(args) as st:
        chosen = _selected(st, args)
        for e in chosen:
            st.quarantine_set(e.id, state="retry")
        print(f"marked {len(chosen)} batch(es) for retry ({sum(e.rows for e in chosen)} rows)")
    return 0


def _drop(args: argparse.Namespace) -> int:
    with _open(args) as st:
        chosen = _selected(st, args)
        for e in chosen:
            st.quarantine_drop(e.id)
        print(f"dropped {len(chosen)} batch(es) ({sum(e.rows for e in chosen)} rows)")
    return 0
