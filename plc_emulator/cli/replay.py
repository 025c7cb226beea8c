"""``plc-emulator replay TAGMAP JOURNAL``: re-run a journaled run headless and print its digest.

Uses the journal header's seed and scan period, applies each command at its tick and runs up to
``end_tick`` as fast as possible through the same :class:`~plc_emulator.scan.ScanCycle` as the live
scan thread, so the printed ``digest: <sha256>`` equals the live run's final snapshot digest.
Exit 2 if the journal was written for a different tag map (sha256 mismatch), 1 if a line is
corrupt (the message names the line).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from plc_emulator.cli._common import BadInput

__all__ = ["handler", "register", "replay"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("replay", help="replay a command journal headless and print the run digest",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("tagmap", metavar="TAGMAP", help="the tag map the journal was recorded with")
    p.add_argument("journal", metavar="JOURNAL", help="journal written by `plc-emulator run --journal`")
    p.set_defaults(func=handler)


def replay(tagmap: Any, journal: Any) -> Any:
    """Run a :class:`~plc_emulator.runtime.journal.Journal` on ``tagmap``; return the last Snapshot."""
    from plc_emulator.scan import ScanCycle

    if journal.header.dt != tagmap.scan_period:
        tagmap = dataclasses.replace(tagmap, scan_period=journal.header.dt)
    cycle = ScanCycle(tagmap, seed=journal.header.seed)
    return cycle.run(journal.last_tick, schedule=journal.schedule)


def handler(args: argparse.Namespace) -> int:
    from plc_emulator.runtime.journal import read_journal
    from plc_emulator.tagmap import load

    if not Path(args.tagmap).is_file():
        raise BadInput(f"tag map not found: {args.tagmap}")
    tagmap = load(args.tagmap)
    journal = read_journal(args.journal)  # JournalError (an EmulatorError) -> exit 1 naming the line
    if journal.header.tagmap_sha256 != tagmap.sha256:
        raise BadInput(f"{args.journal} was recorded with a different tag map (journal: sha256 "
                       f"{journal.header.tagmap_sha256[:16]}..., {args.tagmap}: sha256 "
                       f"{tagmap.sha256[:16]}...)")
    if journal.end_tick is None:
        print(f"plc-emulator: warning: {args.journal} has no end_tick (the run did not stop cleanly); "
              f"replaying to the last command, tick {journal.last_tick}", file=sys.stderr)
    snap = replay(tagmap, journal)
    print(f"digest: {snap.digest}", flush=True)
    print(f"tick: {snap.tick}", flush=True)
    return 0
