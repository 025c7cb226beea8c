#!/usr/bin/env python3
"""Historian benchmark: ingest, forward to a local mosquitto, bytes per sample, one-hour backlog drain.

    .venv/bin/python scripts/bench_historian.py [--samples 1000000] [--json FILE]

1. Ingest: a producer thread records ``--samples`` samples (scans of 100 tags) into a fresh store
   with the default HistorianConfig; rate = samples committed / (first record .. flush done).
2. Bytes per sample: database file size (after a WAL checkpoint) / rows.
3. Forward: the same rows forwarded, in one run, four ways to a mosquitto started here: the JSON
   MqttSink (QoS 1) over plain TCP and over TLS (client certificate + password, as a hosted broker
   wants), and the Sparkplug B edge node (DDATA by alias, QoS 0 as the specification asks) over
   plain TCP and TLS; rate = rows acknowledged / time until the cursor reached the head. Sparkplug's
   "acknowledged" is "handed to the connection" (QoS 0).
4. One-hour backlog of the default plant: ``tag_maps/separation_train.yaml`` run for one simulated
   hour (36,000 scans at 10 Hz) through the real Recorder (per-tag exception deadband and max
   interval from the tag map), then drained to mosquitto from a cold start with the default
   ForwardConfig (backfill rate 50,000/s). The assumption is stated in the output: historized tags x
   10 Hz x 3600 s before the deadband, and the rows actually left after it.

Goals (issues #5, #17): ingest >= 100,000 samples/s; forward >= 20,000 samples/s, also over TLS;
one-hour backlog < 60 s. Needs mosquitto, mosquitto_passwd and openssl on PATH (mosquitto may be in
/usr/sbin); without them the forward figures are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import structlog  # noqa: E402

from historian import (  # noqa: E402
    DataType,
    DeviceDef,
    ForwardConfig,
    Forwarder,
    Historian,
    HistorianConfig,
    MetricDef,
    MqttSink,
    NodeDef,
    Sink,
    SparkplugSink,
    Store,
    mqtt_endpoint,
)

GOALS = {"ingest_per_s": 100_000.0, "forward_per_s": 20_000.0, "forward_tls_per_s": 20_000.0,
         "backlog_drain_s": 60.0}


def ingest(db: Path, n: int) -> dict[str, float]:
    cfg = HistorianConfig(queue_size=max(n, 100_000))
    tags = [f"DEV{k % 6}.tag{k:03d}" for k in range(100)]
    h = Historian(db, cfg)
    scans = n // len(tags)

    def produce() -> None:
        t = 1_767_225_600.0
        for s in range(scans):
            h.record_many([(tag, t, float(s + k), 0) for k, tag in enumerate(tags)])
            t += 0.1

    t0 = time.perf_counter()
    th = threading.Thread(target=produce)
    th.start()
    th.join()
    assert h.flush(600)
    elapsed = time.perf_counter() - t0
    m = h.metrics()
    h.close()
    with Store(db) as st:
        st.checkpoint()
        st._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        rows = st.count_samples()
        size = db.stat().st_size
    return {
        "ingest_rows": rows,
        "ingest_s": elapsed,
        "ingest_per_s": rows / elapsed,
        "ingest_dropped": m.dropped_queue,
        "bytes_per_sample": size / rows,
    }


def make_pki(root: Path) -> dict[str, Path]:
    """CA, broker certificate (CN/SAN localhost) and client certificate, with openssl."""
    root.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

    def run(*cmd: str) -> None:
        subprocess.run(["openssl", *cmd], check=True, capture_output=True, cwd=root)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Bench CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, ext in (("server", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        (root / f"{name}.ext").write_text(ext + "\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")
    for f in root.iterdir():
        f.chmod(0o644)
    return {k: root / f"{k}" for k in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")}


class Mosquitto:
    """mosquitto on a free port; with ``tls`` also a TLS listener that requires a client certificate
    and a password (user bench / bench-pw), as a hosted broker would."""

    def __init__(self, root: Path, tls: dict[str, Path] | None = None) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(exe):
            raise FileNotFoundError("mosquitto")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        data = root / "mqtt"
        data.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o777)
        os.chmod(data, 0o777)
        conf = root / "mosquitto.conf"
        text = (
            f"per_listener_settings true\nuser root\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {data}/\nmax_inflight_messages 0\nmax_queued_messages 0\n"
        )
        self.tls_port = 0
        if tls is not None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.tls_port = s.getsockname()[1]
            passwd = root / "passwd"
            subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "bench", "bench-pw"], check=True,
                           capture_output=True)
            text += (
                f"listener {self.tls_port} 127.0.0.1\ncafile {tls['ca.crt']}\ncertfile {tls['server.crt']}\n"
                f"keyfile {tls['server.key']}\nrequire_certificate true\nallow_anonymous false\n"
                f"password_file {passwd}\n"
            )
        conf.write_text(text)
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s, socket.socket() as t:
                if s.connect_ex(("127.0.0.1", self.port)) == 0 and (
                    not self.tls_port or t.connect_ex(("127.0.0.1", self.tls_port)) == 0
                ):
                    return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


def bench_node(db: Path) -> NodeDef:
    """A Sparkplug node with one metric per tag of the bench database, one device per tag prefix."""
    with Store(db) as st:
        infos = sorted(st.tag_infos().values(), key=lambda t: t.name)
    devices: dict[str, list[MetricDef]] = {}
    for alias, t in enumerate(infos, start=1):
        dev = t.name.split(".", 1)[0]
        devices.setdefault(dev, []).append(MetricDef(tag=t.name, name=t.name.split(".", 1)[1], alias=alias,
                                                     datatype=DataType.Float, low=0.0, high=1e6))
    return NodeDef(group="bench", edge_node="bench-node",
                   devices=tuple(DeviceDef(name=d, metrics=tuple(m)) for d, m in devices.items()))


def make_sink(kind: str, port: int, name: str, db: Path, tls: dict[str, Path] | None) -> Sink:
    if tls is None:
        ep = mqtt_endpoint(f"mqtt://127.0.0.1:{port}")
    else:
        ep = mqtt_endpoint(f"mqtts://localhost:{port}", ca_file=tls["ca.crt"], cert_file=tls["client.crt"],
                           key_file=tls["client.key"], username="bench", password="bench-pw")
    if kind == "json":
        return MqttSink(ep, plant="bench", client_id=f"bench-{name}", name=name)

    async def no_write(tag: str, value: float, source: str) -> str | None:
        return "read-only benchmark"

    return SparkplugSink(ep, bench_node(db), state_file=db.parent / f"{name}.bdseq", current=dict,
                         device_alive=dict, on_write=no_write, name=name)


async def forward(db: Path, sink: Sink, config: ForwardConfig) -> dict[str, float]:
    with Store(db) as st:
        head = st.max_seq()
        rows_stored = st.count_samples()
    name = sink.name
    fwd = Forwarder(db, sink, config)
    t0 = time.perf_counter()
    task = asyncio.create_task(fwd.run())
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        m = fwd.metrics()
        if m.forwarded_rows >= rows_stored:
            with Store(db) as st:
                if st.cursor(name).acked >= head:
                    break
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - t0
    fwd.stop()
    await asyncio.wait_for(task, 30)
    rows = fwd.metrics().forwarded_rows
    return {"rows": rows, "seconds": elapsed, "per_s": rows / elapsed}


def one_hour_backlog(db: Path) -> dict[str, float]:
    from plc_emulator.runtime.recorder import Recorder
    from plc_emulator.scan import ScanCycle
    from plc_emulator.tagmap import load

    tm = load(ROOT / "tag_maps" / "separation_train.yaml")
    ticks = round(3600 / tm.scan_period)
    cycle = ScanCycle(tm)
    sim_now = [tm.epoch]
    # retention's clock runs on simulated time, as in `plc-emulator run`
    with Historian(db, HistorianConfig(queue_size=1_000_000), clock=lambda: sim_now[0]) as h:
        rec = Recorder(tm, h)
        t0 = time.perf_counter()
        rec.on_snapshot(cycle.snapshot)
        for _ in range(ticks):
            snap = cycle.step()
            sim_now[0] = snap.sim_time
            rec.on_snapshot(snap)
        sim_s = time.perf_counter() - t0
    return {
        "historized_tags": len(rec.names),
        "scans": ticks,
        "raw_samples": len(rec.names) * ticks,
        "after_deadband": rec.recorded,
        "simulate_s": sim_s,
    }


async def main_async(args: argparse.Namespace) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-historian-") as tmp:
        root = Path(tmp)
        print(f"ingest: {args.samples:,} samples ...", flush=True)
        out.update(ingest(root / "ingest.db", args.samples))
        print(
            f"  {out['ingest_per_s']:,.0f} samples/s committed ({out['ingest_s']:.2f} s), "
            f"{out['bytes_per_sample']:.1f} bytes/sample on disk, dropped {out['ingest_dropped']:.0f}",
            flush=True,
        )
        print("one-hour backlog of the default plant: simulating 36,000 scans ...", flush=True)
        out.update(one_hour_backlog(root / "hour.db"))
        print(
            f"  {out['historized_tags']:.0f} historized tags x 10 Hz x 3600 s = {out['raw_samples']:,.0f} "
            f"samples before the deadband, {out['after_deadband']:,.0f} after",
            flush=True,
        )
        try:
            tls = make_pki(root / "pki")
            broker = Mosquitto(root / "broker", tls)
        except (FileNotFoundError, RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"forward: skipped ({exc})")
            return out
        try:
            db = root / "ingest.db"
            for key, kind, label, use_tls in (
                ("forward", "json", "JSON, QoS 1, plain TCP", False),
                ("forward_tls", "json", "JSON, QoS 1, TLS + client certificate + password", True),
                ("forward_sparkplug", "sparkplug", "Sparkplug B DDATA, QoS 0, plain TCP", False),
                ("forward_sparkplug_tls", "sparkplug", "Sparkplug B DDATA, QoS 0, TLS", True),
            ):
                print(f"forward to mosquitto: {label} ...", flush=True)
                port = broker.tls_port if use_tls else broker.port
                sink = make_sink(kind, port, f"bench-{key}", db, tls if use_tls else None)
                f = await forward(db, sink, ForwardConfig(live_split_rows=10**12))
                out.update({f"{key}_rows": f["rows"], f"{key}_s": f["seconds"], f"{key}_per_s": f["per_s"]})
                print(f"  {f['per_s']:,.0f} samples/s ({f['rows']:,.0f} rows in {f['seconds']:.2f} s)", flush=True)
            d = await forward(root / "hour.db", make_sink("json", broker.port, "bench-hour", db, None),
                              ForwardConfig())
            out.update({"backlog_drain_s": d["seconds"], "backlog_drain_per_s": d["per_s"]})
            print(
                f"  one-hour backlog: {d['rows']:,.0f} rows drained in {d['seconds']:.2f} s "
                f"({d['per_s']:,.0f}/s, backfill rate limit {ForwardConfig().backfill_rate:,.0f}/s)"
            )
            worst = out["raw_samples"] / out["forward_per_s"]
            out["backlog_no_deadband_s"] = worst
            print(
                f"  without any deadband ({out['raw_samples']:,.0f} rows) at the measured forward rate: "
                f"{worst:.1f} s"
            )
        finally:
            broker.stop()
    print("\nresult vs goal (ratio >= 1 meets the goal):")
    for key, goal in GOALS.items():
        if key in out:
            ratio = out[key] / goal if key.endswith("_per_s") else goal / out[key]  # >= 1 meets the goal
            print(f"  {key:<18} {out[key]:>14,.1f}  goal {goal:>10,.0f}  ratio {ratio:6.2f}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=1_000_000, help="samples for the ingest/forward runs")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = p.parse_args()
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(30),
    )
    out = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
