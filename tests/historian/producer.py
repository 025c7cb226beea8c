"""Crash-test producer: records samples into the historian as fast as it can until killed.

Each sample's value is its own seq (``value == seq``), so a reader can check every stored row. After
each commit it prints ``committed <seq>`` (line-buffered): the test kills it with SIGKILL and then
checks that everything up to the last printed seq is still in the database.

    python -m tests.historian.producer DB [--commit-interval 0.05]
"""

from __future__ import annotations

import argparse
import sys

import structlog

from historian import Historian, HistorianConfig


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("db")
    p.add_argument("--commit-interval", type=float, default=0.05)
    p.add_argument("--queue-size", type=int, default=20_000)
    p.add_argument("--max-rows", type=int, default=10**12, help="stop after this many samples (bound)")
    a = p.parse_args()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))  # stdout is the protocol
    # Retention off (in effect): under a loaded machine the producer can cover more than a day of
    # sample time before the test has seen enough commits, and retention deletes are not gaps.
    cfg = HistorianConfig(commit_interval=a.commit_interval, batch_size=2000, queue_size=a.queue_size,
                          retention_hours=1e9)
    h = Historian(a.db, cfg)
    print(f"start {h.next_seq}", flush=True)
    tags = [f"DEV{k % 5}.tag{k}" for k in range(50)]
    reported = 0
    seq = h.next_seq
    end = seq + a.max_rows
    t = 0.0
    while seq < end:
        rows = []
        for k in range(50):
            rows.append((tags[k], t, float(seq), 0))
            seq += 1
        h.record_many(rows)
        t += 0.1
        c = h.metrics().committed_seq
        if c > reported:
            reported = c
            print(f"committed {c}", flush=True)
    h.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
