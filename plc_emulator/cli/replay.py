"""``plc-emulator replay TAGMAP JOURNAL``: re-run a journaled run headless and print its digest.

Uses the journal header's seed, scan period and epoch (the wall-clock epoch a live run took), applies
each command at its tick and runs up to ``end_tick`` as fast as possible through the same
:class:`~plc_emulator.scan.ScanCycle` as the live scan thread, so the printed ``digest: <sha256>``
equals the live run's final snapshot digest. A run restarted from a checkpoint replays from that
checkpoint (``--checkpoint FILE``, default DATA_DIR's). Every command is checked as a live write
would be before anything runs; a bad line, a journal of another tag map or an end beyond ten years
of simulated time is exit 2 naming FILE:LINE.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from plc_emulator.cli._common import BadInput, check_text_file, check_ticks

__all__ = ["handler", "register", "replay"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("replay", help="replay a command journal headless and print the run digest",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("tagmap", metavar="TAGMAP", help="the tag map the journal was recorded with")
    p.add_argument("journal", metavar="JOURNAL", help="journal written by `plc-emulator run --journal`")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="the checkpoint a restarted run continued from (its sha256 is in the journal header)")
    p.set_defaults(func=handler)


def replay(tagmap: Any, journal: Any, checkpoint: Any = None) -> Any:
    """Run a :class:`~plc_emulator.runtime.journal.Journal` on ``tagmap``; return the last Snapshot."""
    from plc_emulator.runtime.checkpoint import StartMode, restore
    from plc_emulator.scan import ScanCycle

    h = journal.header
    if h.dt != tagmap.scan_period:
        tagmap = dataclasses.replace(tagmap, scan_period=h.dt)
    if h.epoch is not None and h.epoch != tagmap.epoch:
        tagmap = dataclasses.replace(tagmap, epoch=h.epoch)
    cycle = ScanCycle(tagmap, seed=h.seed)
    if checkpoint is not None:  # the restart's memory writes are journaled: only the state is restored
        restore(cycle, checkpoint, StartMode(h.start_mode or "warm"))
    return cycle.run(journal.last_tick - cycle.tick, schedule=journal.schedule)


def _checkpoint(args: argparse.Namespace, journal: Any, tagmap: Any) -> Any:
    from plc_emulator.runtime.checkpoint import CheckpointError, read_checkpoint

    h = journal.header
    if h.start_tick == 0:
        return None
    if args.checkpoint is None:
        raise BadInput(f"{args.journal}:1: the run continued from a checkpoint at tick {h.start_tick}; "
                       f"pass it with --checkpoint FILE (sha256 {str(h.checkpoint_sha256)[:16]}...)")
    try:
        ck = read_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        raise BadInput(str(exc)) from None
    if ck.sha256 != h.checkpoint_sha256:
        raise BadInput(f"{args.checkpoint}: not the checkpoint {args.journal} continued from (sha256 "
                       f"{ck.sha256[:16]}..., journal wants {str(h.checkpoint_sha256)[:16]}...)")
    return ck


def handler(args: argparse.Namespace) -> int:
    from plc_emulator.runtime.checkpoint import CheckpointError
    from plc_emulator.runtime.journal import JournalError, read_journal
    from plc_emulator.runtime.journal_check import check_journal
    from plc_emulator.tagmap import load

    if not Path(args.tagmap).is_file():
        raise BadInput(f"tag map not found: {args.tagmap}")
    tagmap = load(args.tagmap)
    check_text_file(args.journal, "journal")
    try:
        journal = read_journal(args.journal)
    except JournalError as exc:
        raise BadInput(str(exc)) from None
    if journal.header.tagmap_sha256 != tagmap.sha256:
        raise BadInput(f"{args.journal}:1: was recorded with a different tag map (journal: sha256 "
                       f"{journal.header.tagmap_sha256[:16]}..., {args.tagmap}: sha256 "
                       f"{tagmap.sha256[:16]}...)")
    bad = check_journal(journal, tagmap)
    if bad is not None:
        raise BadInput(f"{args.journal}:{bad[0]}: {bad[1]}")
    check_ticks(journal.last_tick - journal.header.start_tick, journal.header.dt, f"{args.journal}: the run")
    ck = _checkpoint(args, journal, tagmap)
    if journal.end_tick is None:
        print(f"plc-emulator: warning: {args.journal} has no end_tick (the run did not stop cleanly); "
              f"replaying to the last command, tick {journal.last_tick}", file=sys.stderr)
    try:
        snap = replay(tagmap, journal, ck)
    except CheckpointError as exc:
        raise BadInput(str(exc)) from None
    print(f"digest: {snap.digest}", flush=True)
    print(f"tick: {snap.tick}", flush=True)
    return 0
