#!/usr/bin/env python3
"""Closed-loop Modbus FC 3 load over plain TCP, RTU-over-TCP or TLS, one process per connection.

    pyload.py HOST PORT CONNS REGS SECONDS {tcp,rtu,tls} [CA CERT KEY]

Each process keeps one request in flight on its own blocking socket (so the generator is not
limited by one interpreter's GIL) and counts answers and latencies. Prints one JSON object like
mbload.c: rps, p50_us, p99_us, errors, elapsed_s. Used by scripts/bench_modbus.py to compare the
emulator's links with the same client in the same run.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import socket
import ssl
import struct
import sys
import time


def _crc16(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def worker(args: tuple[str, int, int, float, str, list[str]], q: mp.Queue) -> None:  # type: ignore[type-arg]
    host, port, regs, seconds, mode, pki = args
    raw = socket.create_connection((host, port), timeout=5)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s: socket.socket = raw
    if mode == "tls":
        ctx = ssl.create_default_context(cafile=pki[0])
        ctx.load_cert_chain(pki[1], pki[2])
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    pdu = struct.pack(">BHH", 3, 0, regs)
    lat: list[float] = []
    errors = 0
    tid = 0
    want_rtu = 1 + 2 + 2 * regs + 2
    end = time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        if t0 >= end:
            break
        try:
            if mode == "rtu":
                body = b"\x01" + pdu
                s.sendall(body + _crc16(body).to_bytes(2, "little"))
                resp = _recv_exactly(s, want_rtu)
                ok = resp[1] == 3
            else:
                tid = (tid + 1) & 0xFFFF
                s.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, 1) + pdu)
                head = _recv_exactly(s, 7)
                resp = _recv_exactly(s, struct.unpack(">H", head[4:6])[0] - 1)
                ok = resp[0] == 3
        except (OSError, ConnectionError):
            errors += 1
            break
        lat.append(time.perf_counter() - t0)
        if not ok:
            errors += 1
    s.close()
    q.put((lat, errors))


def main() -> int:
    host, port, conns, regs, seconds, mode = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                                             float(sys.argv[5]), sys.argv[6])
    pki = sys.argv[7:10]
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    procs = [mp.Process(target=worker, args=((host, port, regs, seconds, mode, pki), q)) for _ in range(conns)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [q.get(timeout=seconds + 30) for _ in procs]
    for p in procs:
        p.join(10)
    elapsed = time.perf_counter() - t0
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    n = len(lat)
    print(json.dumps({"rps": n / seconds, "p50_us": lat[n // 2] * 1e6 if n else 0.0,
                      "p99_us": lat[min(n - 1, int(n * 0.99))] * 1e6 if n else 0.0,
                      "errors": errors, "elapsed_s": elapsed}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
