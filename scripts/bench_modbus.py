#!/usr/bin/env python3
"""Modbus TCP throughput: bare pymodbus 3.16 vs the emulator's adapter, same load, same run.

    .venv/bin/python scripts/bench_modbus.py [--seconds 5] [--connections 1,10] [--registers 10,125]

For every (connections, registers) case it starts, one after the other, (a) a bare pymodbus
``ModbusTcpServer`` holding as many registers as the tag map's holding table, on asyncio's own event
loop as pymodbus users run it, and (b) the emulator: ``PlcRuntime`` scanning the default tag map at
its 100 ms period in real time plus ``ModbusAdapter``, on the event loop ``plc-emulator run`` uses
(uvloop), and (c) the same emulator on asyncio's loop, to show what the loop and what the adapter
contribute. Each is loaded for ``--seconds`` by the same independent load generator, ``scripts/loadgen/mbload.c``
(libmodbus, one thread per connection, FC 3 back to back), built here with ``cc`` (the script runs
``apt-get install -y libmodbus-dev`` when it is missing and it is root). On a machine with two or more
cores the server is pinned to core 0 and the load generator to core 1, so the generator's own CPU use
(reported) shows it is not the bottleneck. Reported: requests/s, p50/p99 latency, the ratio ours /
bare, and for the emulator the scan jitter p99 (|actual - planned| scan start) and overruns while
loaded. Markdown to stdout.

A second table compares the emulator's links in the same run: plain Modbus TCP, RTU-over-TCP and
Modbus/TCP Security (TLS 1.3 with client certificates), all on one adapter, each loaded by the same
Python client (``scripts/loadgen/pyload.py``, one process per connection, raw frames), because the
libmodbus generator speaks neither RTU-over-TCP nor TLS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LOADGEN_SRC = ROOT / "scripts" / "loadgen" / "mbload.c"
PYLOAD = ROOT / "scripts" / "loadgen" / "pyload.py"
DEFAULT_TAGMAP = ROOT / "tag_maps" / "separation_train.yaml"


# ------------------------------------------------------------------------------------------ servers


def _pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


async def _serve_bare(tagmap_path: Path) -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    from plc_emulator.image.codec import RegisterImage
    from plc_emulator.tagmap import load
    from plc_emulator.tagmap.model import Table

    sizes = RegisterImage(load(tagmap_path)).sizes
    n_hold = max(sizes[Table.HOLDING_REGISTER], 125)
    device = SimDevice(id=1, simdata=(
        [SimData(0, count=max(sizes[Table.COIL], 1), values=False, datatype=DataType.BITS)],
        [SimData(0, count=max(sizes[Table.DISCRETE_INPUT], 1), values=False, datatype=DataType.BITS)],
        [SimData(0, count=n_hold, values=1234, datatype=DataType.REGISTERS)],
        [SimData(0, count=max(sizes[Table.INPUT_REGISTER], 1), values=0, datatype=DataType.REGISTERS)],
    ))
    port = _free_port()
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    print(f"ready {port}", flush=True)
    await _wait_stdin_eof()
    await server.shutdown()


async def _serve_ours(tagmap_path: Path, pki: Path | None = None, loop_name: str = "") -> None:
    from plc_emulator.image.snapshot import Snapshot
    from plc_emulator.modbus.config import ModbusConfig
    from plc_emulator.modbus.links import build_adapter
    from plc_emulator.modbus.tls import TlsConfig
    from plc_emulator.runtime.config import RuntimeConfig
    from plc_emulator.runtime.plc import PlcRuntime
    from plc_emulator.tagmap import load

    tagmap = load(tagmap_path)
    cols = [i for i, t in enumerate(tagmap.tags) if t.signal == "runtime.jitter_ms"]
    jitter: dict[int, float] = {}
    lock = threading.Lock()

    async with PlcRuntime(tagmap, RuntimeConfig(speed=1.0)) as plc:
        def on_snapshot(snap: Snapshot) -> None:
            j = float(snap.values[cols[0]]) if cols else plc.stats.last_jitter * 1000.0
            with lock:
                jitter[snap.tick] = j

        plc.on_snapshot(on_snapshot)
        cfg = ModbusConfig()
        if pki is not None:  # the links table: RTU-over-TCP and TLS beside plain TCP
            cfg = ModbusConfig(rtu_tcp_port=0, tls=TlsConfig(port=0, cert=pki / "plc.crt", key=pki / "plc.key",
                                                             ca=pki / "ca.crt"))
        async with build_adapter(tagmap, plc, "127.0.0.1", 0, cfg) as mb:
            ports = " ".join(str(p) for _, p in mb.endpoints())
            loop = asyncio.get_running_loop()
            if loop_name and loop_name not in type(loop).__module__:
                raise SystemExit(f"bench_modbus: asked for {loop_name}, running on {type(loop).__module__}")
            print(f"ready {ports}", flush=True)
            mark = (0, 0)
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    break
                if line.strip() in ("pause", "resume"):  # idle between the load slices of a case
                    if line.strip() == "pause":
                        plc.pause()
                    else:
                        plc.resume()
                    print(f"{line.strip()}d", flush=True)
                elif line.strip() == "mark":
                    with lock:
                        jitter.clear()
                    mark = (plc.stats.overruns, plc.stats.ticks)
                    print("marked", flush=True)
                elif line.strip() == "stats":
                    with lock:
                        js = sorted(jitter.values())
                    p99 = js[min(len(js) - 1, int(len(js) * 0.99))] if js else float("nan")
                    p50 = js[len(js) // 2] if js else float("nan")
                    print(json.dumps({"jitter_p50_ms": p50, "jitter_p99_ms": p99,
                                      "jitter_max_ms": js[-1] if js else float("nan"),
                                      "scans": plc.stats.ticks - mark[1],
                                      "overruns": plc.stats.overruns - mark[0],
                                      "requests": sum(mb.stats.requests.values())}), flush=True)


async def _wait_stdin_eof() -> None:
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        pass


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------ driver


SERVERS = {  # kind -> (--serve, event loop): bare pymodbus on asyncio's loop, ours on run's and on asyncio's
    "bare": ("bare", "asyncio"),
    "ours": ("ours", "uvloop"),
    "ours-asyncio": ("ours", "asyncio"),
}


class Server:
    def __init__(self, kind: str, tagmap: Path, cpu: int | None, switch_ms: float | None = None,
                 pki: Path | None = None) -> None:
        serve, loop = SERVERS[kind]
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", serve, "--loop", loop,
               "--tagmap", str(tagmap)]
        if pki is not None:
            cmd += ["--pki", str(pki)]
        if cpu is not None:
            cmd += ["--cpu", str(cpu)]
        if switch_ms:
            cmd += ["--switch-interval", str(switch_ms)]
        env = {**os.environ, "LOG_LEVEL": "warning"}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            line = self._expect(("ready ",), 60.0)
        except TimeoutError:
            self.close()
            raise
        self.ports = [int(x) for x in line.split()[1:]]
        self.port = self.ports[0]

    def _expect(self, prefixes: tuple[str, ...], timeout: float) -> str:
        """The next stdout line starting with one of ``prefixes`` (log lines are skipped)."""
        stdout = self.proc.stdout
        assert stdout is not None
        found: list[str] = []

        def reader() -> None:
            for raw in stdout:
                if raw.startswith(prefixes):
                    found.append(raw.strip())
                    return

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        if not found:
            raise TimeoutError(f"server gave no line starting with {prefixes}")
        return found[0]

    def ask(self, what: str, prefixes: tuple[str, ...]) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        return self._expect(prefixes, 10.0)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def build_loadgen(workdir: Path) -> Path:
    if not Path("/usr/include/modbus/modbus.h").exists():
        if os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run(["apt-get", "install", "-y", "-qq", "libmodbus-dev"], check=True,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
        else:
            raise SystemExit("bench_modbus: libmodbus-dev is missing (apt-get install libmodbus-dev)")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmodbus"], check=True, capture_output=True,
                           text=True).stdout.split()
    out = workdir / "mbload"
    subprocess.run(["cc", "-O2", "-o", str(out), str(LOADGEN_SRC), *flags, "-lpthread"], check=True)
    return out


def load(loadgen: Path, port: int, conns: int, regs: int, *, seconds: float,
         cpu: int | None) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [str(loadgen), "127.0.0.1", str(port), str(conns), str(regs), str(seconds)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False,
                         preexec_fn=(lambda: _pin(cpu)) if cpu is not None else None)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(f"load generator failed: {res.stderr.strip()}")
    out: dict[str, Any] = json.loads(res.stdout)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out["loadgen_cpu"] = cpu_s / max(out["elapsed_s"], 1e-9)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=5.0, help="load per case and server (5)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="slices each case's load is cut into, alternating between the servers (5)")
    ap.add_argument("--connections", default="1,10")
    ap.add_argument("--registers", default="10,125")
    ap.add_argument("--tagmap", type=Path, default=DEFAULT_TAGMAP)
    ap.add_argument("--no-pin", action="store_true", help="do not pin server and load generator to cores")
    ap.add_argument("--switch-interval", type=float, metavar="MS",
                    help="set sys.setswitchinterval in both servers (default: Python's 5 ms)")
    ap.add_argument("--serve", choices=("bare", "ours"), help=argparse.SUPPRESS)
    ap.add_argument("--loop", choices=("uvloop", "asyncio"), default="asyncio", help=argparse.SUPPRESS)
    ap.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--pki", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--link-connections", default="1,4", help="connections per link case (1,4)")
    args = ap.parse_args()

    if args.serve:
        _pin(args.cpu)
        if args.switch_interval:
            sys.setswitchinterval(args.switch_interval / 1000.0)
        from plc_emulator.runtime.eventloop import EventLoop, run

        coro = _serve_bare(args.tagmap) if args.serve == "bare" else _serve_ours(args.tagmap, args.pki, args.loop)
        run(coro, EventLoop(args.loop))
        return 0

    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    pin = not args.no_pin and ncpu >= 2
    cpus = sorted(os.sched_getaffinity(0)) if pin else []
    server_cpu, load_cpu = (cpus[0], cpus[1]) if pin else (None, None)
    conns_list = [int(x) for x in args.connections.split(",")]
    regs_list = [int(x) for x in args.registers.split(",")]

    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench_modbus_") as tmp:
        loadgen = build_loadgen(Path(tmp))
        # baseline: the emulator with no client, to tell load-induced jitter from the machine's own
        srv = Server("ours", args.tagmap, server_cpu, args.switch_interval)
        try:
            srv.ask("mark", ("marked",))
            time.sleep(args.seconds)  # the scan runs on its own for the same time as a loaded case
            idle = json.loads(srv.ask("stats", ("{",)))
        finally:
            srv.close()
        for conns in conns_list:
            for regs in regs_list:
                res, scan = _case(loadgen, args, conns, regs, server_cpu=server_cpu, load_cpu=load_cpu)
                b, o, a = res["bare"], res["ours"], res["ours-asyncio"]
                ratio = o["rps"] / b["rps"] if b["rps"] else float("nan")
                ratio_a = a["rps"] / b["rps"] if b["rps"] else float("nan")
                rows.append(
                    f"| {conns} | {regs} | {b['rps']:,.0f} | {o['rps']:,.0f} | **{ratio:.2f}x** | "
                    f"{a['rps']:,.0f} ({ratio_a:.2f}x) | "
                    f"{b['p50_us'] / 1000:.2f} / {b['p99_us'] / 1000:.2f} | "
                    f"{o['p50_us'] / 1000:.2f} / {o['p99_us'] / 1000:.2f} | "
                    f"{scan['jitter_p50_ms']:.2f} / {scan['jitter_p99_ms']:.2f} | "
                    f"{scan.get('overruns', '?')} "
                    f"({scan.get('scans', '?')} scans) | {b['errors'] + o['errors'] + a['errors']} | "
                    f"{100 * b['loadgen_cpu']:.0f}% / {100 * o['loadgen_cpu']:.0f}% |")
                print(f"# case conns={conns} regs={regs}: bare {b['rps']:.0f}/s, ours {o['rps']:.0f}/s "
                      f"({ratio:.2f}x), ours on asyncio {a['rps']:.0f}/s ({ratio_a:.2f}x)", file=sys.stderr, flush=True)

        links = _links(Path(tmp), args, server_cpu, load_cpu)

    pinning = f"server on core {server_cpu}, load generator on core {load_cpu}" if pin else "no pinning"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"Modbus TCP FC 3, {args.seconds:g} s per case and server in {args.rounds} alternating slices, {pinning}, "
          f"load generator scripts/loadgen/mbload.c (libmodbus), {when}. Bare pymodbus runs on asyncio's "
          f"event loop, ours on uvloop (what plc-emulator run uses) and, for comparison, on asyncio's loop.")
    print()
    print("| conns | regs | bare pymodbus req/s | ours req/s | ours/bare | ours on asyncio's loop req/s (/bare) "
          "| bare p50/p99 ms | ours p50/p99 ms | our scan jitter p50/p99 ms | our overruns | errors "
          "| load-gen CPU bare/ours |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    print()
    print(f"Same emulator with no client for {args.seconds:g} s: "
          f"scan jitter p50 {idle['jitter_p50_ms']:.2f} ms, "
          f"p99 {idle['jitter_p99_ms']:.2f} ms, max {idle['jitter_max_ms']:.2f} ms, "
          f"{idle['overruns']} overruns in {idle['scans']} scans.")
    print()
    print(f"Links of one adapter, FC 3 x 10 registers, {args.seconds:g} s per case, same Python client "
          f"(scripts/loadgen/pyload.py, one process per connection) for all three:")
    print()
    print("| conns | link | req/s | vs plain TCP | p50/p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    for r in links:
        print(r)
    return 0


def _case(loadgen: Path, args: argparse.Namespace, conns: int, regs: int, *, server_cpu: int | None,
          load_cpu: int | None) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Load the three servers in alternating slices (``--rounds``), so that each sees the same machine.

    All three are started, pinned to the same core; an emulator not being loaded is paused (no scans),
    so the server being loaded has that core to itself as in a run of its own. Per server: requests and
    time summed over its slices, p50 the median of the slices' p50, p99 the largest slice p99."""
    servers: dict[str, Server] = {}
    slices: dict[str, list[dict[str, Any]]] = {kind: [] for kind in SERVERS}
    try:
        for kind in SERVERS:
            servers[kind] = Server(kind, args.tagmap, server_cpu, args.switch_interval)
            if kind != "bare":
                servers[kind].ask("pause", ("paused",))
        servers["ours"].ask("mark", ("marked",))
        kinds = list(SERVERS)
        for r in range(args.rounds):
            for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:  # each goes first once in 3 rounds
                srv = servers[kind]
                if kind != "bare":
                    srv.ask("resume", ("resumed",))
                slices[kind].append(load(loadgen, srv.port, conns, regs, seconds=args.seconds / args.rounds,
                                         cpu=load_cpu))
                if kind != "bare":
                    srv.ask("pause", ("paused",))
        scan: dict[str, Any] = json.loads(servers["ours"].ask("stats", ("{",)))
    finally:
        for srv in servers.values():
            srv.close()
    res: dict[str, dict[str, Any]] = {}
    for kind, parts in slices.items():
        requests = sum(p["requests"] for p in parts)
        elapsed = sum(p["elapsed_s"] for p in parts)
        p50s = sorted(p["p50_us"] for p in parts)
        res[kind] = {"requests": requests, "elapsed_s": elapsed, "rps": requests / elapsed if elapsed else 0.0,
                     "p50_us": p50s[len(p50s) // 2], "p99_us": max(p["p99_us"] for p in parts),
                     "errors": sum(p["errors"] for p in parts),
                     "loadgen_cpu": sum(p["loadgen_cpu"] * p["elapsed_s"] for p in parts) / max(elapsed, 1e-9)}
    return res, scan


def _links(tmp: Path, args: argparse.Namespace, server_cpu: int | None, load_cpu: int | None) -> list[str]:
    """Plain TCP, RTU-over-TCP and TLS on one emulator, loaded in turn by the same client."""
    from tests.modbus.certs import Pki

    pki = Pki(tmp / "pki")
    pki.issue("plc", server=True)
    client = pki.issue("bench", role="Operator")
    rows: list[str] = []
    srv = Server("ours", args.tagmap, server_cpu, args.switch_interval, pki=tmp / "pki")
    try:
        tcp, rtu, tls = srv.ports
        for conns in [int(x) for x in args.link_connections.split(",")]:
            base = 0.0
            for name, port, mode in (("TCP", tcp, "tcp"), ("RTU over TCP", rtu, "rtu"), ("TLS", tls, "tls")):
                cmd = [sys.executable, str(PYLOAD), "127.0.0.1", str(port), str(conns), "10", str(args.seconds), mode,
                       str(pki.ca), str(client[0]), str(client[1])]
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 60, check=False,
                                     preexec_fn=(lambda: _pin(load_cpu)) if load_cpu is not None else None)
                if res.returncode != 0:
                    raise RuntimeError(f"pyload {mode} failed: {res.stderr.strip()[-500:]}")
                o = json.loads(res.stdout)
                base = base or o["rps"]
                rows.append(f"| {conns} | {name} | {o['rps']:,.0f} | {o['rps'] / base:.2f}x | "
                            f"{o['p50_us'] / 1000:.2f} / {o['p99_us'] / 1000:.2f} | {o['errors']} |")
                print(f"# link {name} conns={conns}: {o['rps']:.0f}/s", file=sys.stderr, flush=True)
    finally:
        srv.close()
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
