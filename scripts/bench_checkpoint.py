#!/usr/bin/env python3
"""Checkpoint cost: serialisation on the scan thread, write (encode + fsync + rename) off it, size, and
scan jitter with and without checkpoints, for 1 plant and for 1,000 plants in one batch, in ONE run.

    .venv/bin/python scripts/bench_checkpoint.py [--seconds 20] [--interval 1] [--plants 1000]

Serialisation = ``runtime.checkpoint.capture`` (array copies + header), as the scan thread does it.
Write = ``encode`` + ``write_atomic`` (temp file, fsync, rename, fsync of the directory) on a
:class:`CheckpointWriter` thread, into a temporary directory on the same disk as the repository.
Jitter: a paced loop steps the plant(s) every 100 ms on real time for ``--seconds`` without
checkpoints, then as long with a checkpoint every ``--interval`` seconds (10x the default rate);
jitter = |actual - planned| start of each step. Markdown to stdout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plc_emulator.alarms import AlarmSystem  # noqa: E402
from plc_emulator.engine import Engine  # noqa: E402
from plc_emulator.runtime.checkpoint import CheckpointWriter, capture, encode, write_atomic  # noqa: E402
from plc_emulator.scan import ScanCycle  # noqa: E402
from plc_emulator.tagmap import load  # noqa: E402

DT = 0.1


@dataclass
class Batch:
    """What ``capture`` reads from a ScanCycle, for N plants stepped by the engine directly."""

    tagmap: Any
    engine: Engine
    state: Any
    alarms: AlarmSystem
    seed: int

    @property
    def dt(self) -> float:
        return DT

    @property
    def tick(self) -> int:
        return int(self.state.tick)

    @property
    def sim_time(self) -> float:
        return float(self.tagmap.epoch + self.tick * DT)

    def step(self) -> None:
        self.state, _ = self.engine.step(self.state, [])
        out = self.engine.outputs(self.state)
        self.alarms.step(out.values, out.status, tick=self.tick)


def make(tagmap: Any, plants: int) -> Any:
    if plants == 1:
        cycle = ScanCycle(tagmap)
        cycle.run(10)
        return cycle
    eng = Engine(tagmap.plant_params, dt=DT, seed=tagmap.seed, n=plants, epoch=tagmap.epoch)
    b = Batch(tagmap=tagmap, engine=eng, state=eng.initial_state(), alarms=AlarmSystem(tagmap, dt=DT, n=plants),
              seed=tagmap.seed)
    for _ in range(10):
        b.step()
    return b


def step(obj: Any) -> None:
    obj.step()


def q(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def costs(obj: Any, where: Path, reps: int) -> dict[str, float]:
    caps, writes = [], []
    size = 0
    for _ in range(reps):
        t0 = time.perf_counter()
        cap = capture(obj, wall_time=time.time(), memory={})
        caps.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        data = encode(cap)
        write_atomic(where / "bench.checkpoint", data)
        writes.append(time.perf_counter() - t0)
        size = len(data)
    return {"cap_p50": statistics.median(caps), "cap_p99": q(caps, 0.99), "write_p50": statistics.median(writes),
            "write_p99": q(writes, 0.99), "bytes": size}


def paced(obj: Any, seconds: float, writer: CheckpointWriter | None, interval: float) -> dict[str, float]:
    jit: list[float] = []
    steps: list[float] = []
    t0 = time.perf_counter()
    n = int(seconds / DT)
    next_ck = t0 + interval
    for k in range(1, n + 1):
        planned = t0 + k * DT
        now = time.perf_counter()
        if planned > now:
            time.sleep(planned - now)
        start = time.perf_counter()
        jit.append(abs(start - planned))
        step(obj)
        if writer is not None and start >= next_ck:
            next_ck = start + interval
            writer.submit(capture(obj, wall_time=time.time(), memory={}))
        steps.append(time.perf_counter() - start)
    return {"jit_p50": statistics.median(jit), "jit_p99": q(jit, 0.99), "jit_max": max(jit),
            "overruns": sum(1 for s in steps if s > DT)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--plants", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=50)
    args = ap.parse_args()
    tagmap = load(str(ROOT / "tag_maps" / "separation_train.yaml"))
    ms = 1000.0
    print(f"Checkpoints, {args.seconds:g} s paced at 100 ms per phase, checkpoint every {args.interval:g} s\n")
    print("| plants | capture p50 / p99 (ms, scan thread) | encode+write+fsync p50 / p99 (ms) | size (kB) "
          "| jitter p50 / p99 / max without (ms) | with checkpoints (ms) | overruns without / with |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        where = Path(tmp)
        for plants in (1, args.plants):
            obj = make(tagmap, plants)
            c = costs(obj, where, args.reps if plants == 1 else max(5, args.reps // 5))
            off = paced(obj, args.seconds, None, args.interval)
            writer = CheckpointWriter(where / "paced.checkpoint")
            on = paced(obj, args.seconds, writer, args.interval)
            writer.close()
            print(f"| {plants} | {c['cap_p50'] * ms:.3f} / {c['cap_p99'] * ms:.3f} | {c['write_p50'] * ms:.1f} / "
                  f"{c['write_p99'] * ms:.1f} | {c['bytes'] / 1024:.0f} | {off['jit_p50'] * ms:.2f} / "
                  f"{off['jit_p99'] * ms:.2f} / {off['jit_max'] * ms:.2f} | {on['jit_p50'] * ms:.2f} / "
                  f"{on['jit_p99'] * ms:.2f} / {on['jit_max'] * ms:.2f} | "
                  f"{off['overruns']:.0f} / {on['overruns']:.0f} |",
                  flush=True)
            print(f"<!-- {plants} plants: {writer.stats.written} checkpoints written during the paced phase -->")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
