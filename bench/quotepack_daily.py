#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The daily refresh (issue 15): `quotepack update DIR` after one new row per symbol, against a
full refetch of the same symbols, both from a loopback fixture server.

The fixture server (this script with --serve, its own process so that its Python does not
share a GIL with the measuring) serves GET /q/<symbol>[?from=YYYY-MM-DD]: a history of
ROWS + day rows, oldest first, one row a day; with ?from= only the rows from that date. It
sends an ETag ("<symbol>-<rows>") and a Last-Modified and answers If-None-Match with 304,
unless started with --ignore-validators (then neither is sent or honoured). It counts
requests, 304s and body bytes sent; GET /_stats returns and resets them, GET /_day?n=N sets
the day. Everything is generated once at its start, so serving costs a join and a write.

Scenarios, each timed (wall, CPU of quotepack) and counted at the server:
  day 0      the first run into DIR (reference)
  day 1      full refetch: a fresh run of the same symbols into a new directory
  day 1      `quotepack update DIR` (one new row per symbol)
  day 1      `quotepack update DIR` again (nothing new: every answer a 304)
With a quotepack that has no `update` command the update rows are reported as not run.

usage: bench/quotepack_daily.py [--quotepack build/quotepack] [--symbols 5000] [--rows 250]
                                [--ignore-validators] [--from-template] [--keep DIR]
--from-template fetches with http://.../q/{symbol}?from={from} (for a quotepack whose update
fills {from} with the day after the last archived row). Every process started here is
stopped before exit; nothing leaves loopback.
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEADER = "Date,Open,High,Low,Close,Volume\n"
START = datetime.date(2015, 1, 1)


# ---- the fixture server ------------------------------------------------------------------------

def history(i, n):
    """n rows of symbol number i, oldest first (a cheap deterministic walk)."""
    x = (i * 2654435761 + 12345) & 0xFFFFFFFF
    price = 5000 + x % 40000  # cents
    out = []
    for d in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        o = price
        c = max(100, o + (x % 401) - 200)
        h = max(o, c) + x % 37
        lo = min(o, c) - x % 29
        day = START + datetime.timedelta(days=d)
        out.append(f"{day.isoformat()},{o // 100}.{o % 100:02d},{h // 100}.{h % 100:02d},"
                   f"{lo // 100}.{lo % 100:02d},{c // 100}.{c % 100:02d},{10000 + x % 5000000}\n")
        price = c
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go in two writes: without TCP_NODELAY each response can wait for the
    # client's delayed ACK (40 ms), seconds over 5,000 responses.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _send(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        st = self.server.st
        path, _, query = self.path.partition("?")
        if path == "/_stats":
            with st["lock"]:
                out = {k: st[k] for k in ("requests", "not_modified", "bytes")}
                now = time.process_time()
                out["cpu"] = now - st["cpu"]
                st.update(requests=0, not_modified=0, bytes=0, cpu=now)
            self._send(200, json.dumps(out).encode(), {"Content-Type": "application/json"})
            return
        if path == "/_day":
            st["day"] = int(query.split("=", 1)[1])
            self._send(200, b"ok\n")
            return
        sym = path.rsplit("/", 1)[-1]
        idx = st["index"].get(sym)
        if not path.startswith("/q/") or idx is None:
            self._send(404, b"no such symbol\n")
            return
        n = st["rows"] + st["day"]
        etag = f'"{sym}-{n}"'
        modified = (START + datetime.timedelta(days=n)).strftime("%a, %d %b %Y 00:00:00 GMT")
        with st["lock"]:
            st["requests"] += 1
        validators = {} if st["ignore"] else {"ETag": etag, "Last-Modified": modified}
        if not st["ignore"] and self.headers.get("If-None-Match") == etag:
            with st["lock"]:
                st["not_modified"] += 1
            self._send(304, b"", validators)
            return
        lines = st["lines"][idx][:n]
        if query.startswith("from="):
            since = query[5:].split("&", 1)[0]
            lines = [ln for ln in lines if ln[:10] >= since] if since else lines
        body = (HEADER + "".join(lines)).encode()
        with st["lock"]:
            st["bytes"] += len(body)
        self._send(200, body, dict(validators, **{"Content-Type": "text/csv"}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default listen backlog (5) drops SYNs when quotepack opens its connections at once,
    # and the client's retransmission (1 s, 3 s...) then shows up as seconds of wall time.
    request_queue_size = 1024


def serve(args):
    import threading
    names = [f"S{i:05d}" for i in range(args.symbols)]
    st = {
        "lock": threading.Lock(), "requests": 0, "not_modified": 0, "bytes": 0, "day": 0,
        "cpu": time.process_time(),
        "rows": args.rows, "ignore": args.ignore_validators,
        "index": {s: i for i, s in enumerate(names)},
        "lines": [history(i, args.rows + args.days) for i in range(args.symbols)],
    }
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.st = st
    print(srv.server_address[1], flush=True)  # the port, for the parent
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    srv.serve_forever()


# ---- the bench --------------------------------------------------------------------------------

def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return r.read()


def timed(cmd):
    """(wall s, CPU s, exit status, stderr) of cmd."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.stderr.close()
    return (time.monotonic() - t0, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status),
            err.decode(errors="replace"))


def archives(d):
    return sorted(n for n in os.listdir(d) if n.startswith("quotes-"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quotepack", default=os.path.join("build", "quotepack"))
    ap.add_argument("--symbols", type=int, default=5000)
    ap.add_argument("--rows", type=int, default=250)
    ap.add_argument("--days", type=int, default=4, help="rows the server can add (serve)")
    ap.add_argument("--ignore-validators", action="store_true")
    ap.add_argument("--from-template", action="store_true")
    ap.add_argument("--keep", help="work directory to keep (default: a temporary one)")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args)
        return 0
    qp = os.path.abspath(args.quotepack)
    work = args.keep or tempfile.mkdtemp(prefix="qp-daily-")
    os.makedirs(work, exist_ok=True)
    cmd = [sys.executable, os.path.abspath(__file__), "--serve", "--symbols", str(args.symbols),
           "--rows", str(args.rows), "--days", str(args.days)]
    if args.ignore_validators:
        cmd.append("--ignore-validators")
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    try:
        port = int(server.stdout.readline())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        tmpl = f"http://127.0.0.1:{port}/q/{{symbol}}" + ("?from={from}" if args.from_template else "")
        syms = os.path.join(work, "symbols.txt")
        with open(syms, "w") as f:
            f.write("".join(f"S{i:05d}\n" for i in range(args.symbols)))
        has_update = subprocess.run([qp, "update", "--help"], capture_output=True).returncode == 0
        rows = []

        def run(label, argv, d):
            get(port, "/_stats")
            before = set(archives(d)) if os.path.isdir(d) else set()
            wall, cpu, rc, err = timed(argv)
            st = json.loads(get(port, "/_stats"))
            new = len(set(archives(d)) - before) if os.path.isdir(d) else 0
            if rc != 0:
                print(f"# {label}: exit {rc}: {err.strip()[-500:]}", file=sys.stderr)
            rows.append((label, wall, cpu, st["cpu"], st["requests"], st["not_modified"], st["bytes"],
                         new, rc))

        daily = os.path.join(work, "daily")
        full = os.path.join(work, "full")
        for d in (daily, full):
            shutil.rmtree(d, ignore_errors=True)
        get(port, "/_day?n=0")
        run("day 0: first run", [qp, "--source", tmpl, "--out", daily, "--symbols", syms], daily)
        get(port, "/_day?n=1")
        run("day 1: full refetch (fresh directory)",
            [qp, "--source", tmpl, "--out", full, "--symbols", syms], full)
        if has_update:
            run("day 1: `quotepack update DIR`", [qp, "update", daily], daily)
            run("day 1: `quotepack update DIR` again (nothing new)", [qp, "update", daily], daily)
            v = subprocess.run([qp, "verify", daily], capture_output=True, text=True)
            print(f"# verify {daily}: {v.stdout.strip().splitlines()[-1] if v.stdout else v.stderr}")
        mode = "ignores validators" if args.ignore_validators else "ETag / If-None-Match honoured"
        print(f"\n{args.symbols} symbols x {args.rows} rows (+1 a day), fixture server on loopback "
              f"({mode}){', template with {from}' if args.from_template else ''}")
        print("\n| run | wall s | quotepack CPU s | server CPU s | requests | 304s | "
              "body bytes fetched | archives written | exit |")
        print("|---|---|---|---|---|---|---|---|---|")
        for label, wall, cpu, scpu, req, nm, by, new, rc in rows:
            print(f"| {label} | {wall:.2f} | {cpu:.2f} | {scpu:.2f} | {req} | {nm} | {by:,} | {new} "
                  f"| {rc} |")
        if not has_update:
            print(f"| day 1: `quotepack update DIR` | not run: {qp} has no update command "
                  "| | | | | | | |")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
