"""Split a fleet over K shards (worker processes, or StatefulSet pods by ordinal).

What must stay together is one *placement*: a gateway port (one client connection carries all its
unit ids, so the kernel cannot split it) or a single RTU on its own port. Each placement goes to the
shard with the highest ``sha256(placement | shard)`` (rendezvous hashing): every shard computes its
own part from the fleet file alone, with no coordinator; adding RTUs moves none of the others, and
going from K to K+1 shards moves only about 1/(K+1) of them, so most RTUs keep the checkpoints in
their pod's volume. The price is balance: shards differ by a few placements, more so with few large
gateways (see docs/fleet.md).
"""

from __future__ import annotations

import hashlib

from plc_emulator.fleet.model import Fleet, RtuSpec

__all__ = ["MAX_SHARDS", "parse_shard", "shard_of", "shard_rtus"]

MAX_SHARDS = 4096


def shard_of(placement: str, count: int) -> int:
    """The shard (0..count-1) that serves ``placement`` (``RtuSpec.placement``)."""
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"shard count must be 1..{MAX_SHARDS} (got {count})")

    def weight(shard: int) -> bytes:
        return hashlib.sha256(f"{placement}|{shard}".encode()).digest()

    return max(range(count), key=weight)


def shard_rtus(fleet: Fleet, index: int, count: int) -> tuple[RtuSpec, ...]:
    """The RTUs shard ``index`` of ``count`` serves, in file order; shards are disjoint and cover the fleet."""
    if not 0 <= index < count:
        raise ValueError(f"shard {index} does not exist in {count} shards (0..{count - 1})")
    memo: dict[str, int] = {}
    out = []
    for rtu in fleet.rtus:
        p = rtu.placement
        if p not in memo:
            memo[p] = shard_of(p, count)
        if memo[p] == index:
            out.append(rtu)
    return tuple(out)


def parse_shard(text: str) -> tuple[int, int]:
    """``I/K`` (shard I of K, 0-based, as a StatefulSet ordinal) -> (I, K); ValueError with one line."""
    left, sep, right = text.partition("/")
    try:
        index, count = int(left), int(right)
    except ValueError:
        raise ValueError(f"shard must be I/K, e.g. 0/3 (got {text!r})") from None
    if not sep or not 1 <= count <= MAX_SHARDS or not 0 <= index < count:
        raise ValueError(f"shard must be I/K with 0 <= I < K <= {MAX_SHARDS} (got {text!r})")
    return index, count
