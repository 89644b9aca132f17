# SPDX-License-Identifier: MIT
"""A fault-injecting HTTP server on 127.0.0.1 for the quotepack tests (standard library only).

The behaviour comes from the symbol's prefix in GET /q/<symbol>:
  OK...      200 with a generated CSV (Yahoo layout, newest first)
  E404...    404 every time                  E500X...  500 every time
  E500...    500 on the first request, then the CSV
  R429...    429 with "Retry-After: 1" first, then the CSV
  R429D...   as R429 with Retry-After as an HTTP date two seconds ahead
  TRUNC...   Content-Length larger than what is sent, then close (every time)
  TRUNC1...  truncated on the first request only, then the CSV
  RESET...   half the body then a TCP reset (every time); RESET1... only the first time
  HANG...    sends nothing for `hang` seconds (past the client's timeout)
  HTML...    200 with an HTML page             EMPTY...  200 with an empty body
  SLOW...    the CSV a byte at a time, 0.1 s apart, until `release` is set, then the rest
  BAR...     waits (up to `barrier_wait` s) until `barrier` BAR requests are in at once, then
             the CSV; `barrier_met` counts the requests that saw the barrier reached
  TRICKLE... the CSV in 20 pieces spread over `trickle` seconds (a steady, slow body)
  R429H...   429 with "Retry-After: `retry_after`" on the first request, then the CSV
Every request is recorded in `hits[symbol]` (monotonic times) and its headers in
`headers[symbol]`; `starts` lists (time, symbol) in arrival order. Optional `delay` seconds
before each response slow a run down for the kill tests. tls=(certfile, keyfile) serves https.
"""
import email.utils
import importlib.machinery
import os
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
gen = importlib.machinery.SourceFileLoader(
    "gen_quotes", os.path.join(ROOT, "scripts", "gen-quotes")).load_module()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    def _send(self, code, body, ctype="text/csv", extra=None, length=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        fx = self.server.fixture
        if not self.path.startswith("/q/"):
            self._send(404, b"no such path\n", "text/plain")
            return
        sym = self.path[3:]
        with fx.lock:
            now = time.monotonic()
            fx.hits.setdefault(sym, []).append(now)
            fx.starts.append((now, sym))
            fx.headers[sym] = {k.lower(): v for k, v in self.headers.items()}
            fx.peers.add(self.client_address)
            n = len(fx.hits[sym])
        if fx.delay:
            time.sleep(fx.delay)
        csv = gen.make_csv(sym, fx.rows).encode()
        if sym.startswith("SLOW"):
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(csv)))
            self.end_headers()
            i = 0
            while not fx.release.is_set() and i < len(csv) - 1 and not fx.stop_event.is_set():
                self.wfile.write(csv[i:i + 1])
                self.wfile.flush()
                i += 1
                fx.release.wait(0.1)
            self.wfile.write(csv[i:])
            return
        if sym.startswith("BAR"):
            with fx.cond:
                fx.inside += 1
                fx.max_inside = max(fx.max_inside, fx.inside)
                fx.cond.notify_all()
                met = fx.cond.wait_for(lambda: fx.max_inside >= fx.barrier, fx.barrier_wait)
                if met:
                    fx.barrier_met += 1
            self._send(200, csv)
            with fx.cond:
                fx.inside -= 1
            return
        if sym.startswith("TRICKLE"):
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(csv)))
            self.end_headers()
            step = (len(csv) + 19) // 20
            for i in range(0, len(csv), step):
                self.wfile.write(csv[i:i + step])
                self.wfile.flush()
                time.sleep(fx.trickle / 20)
            return
        if sym.startswith("R429H") and n == 1:
            self._send(429, b"slow down\n", "text/plain", {"Retry-After": str(fx.retry_after)})
            return
        if sym.startswith("E404"):
            self._send(404, b"not found\n", "text/plain")
        elif sym.startswith("E500X") or (sym.startswith("E500") and n == 1):
            self._send(500, b"server error\n", "text/plain")
        elif sym.startswith("R429D") and n == 1:
            when = email.utils.formatdate(time.time() + 2, usegmt=True)
            self._send(429, b"slow down\n", "text/plain", {"Retry-After": when})
        elif sym.startswith("R429") and not sym.startswith("R429D") and n == 1:
            self._send(429, b"slow down\n", "text/plain", {"Retry-After": "1"})
        elif (sym.startswith("TRUNC1") and n == 1) or (sym.startswith("TRUNC") and not sym.startswith("TRUNC1")):
            self._send(200, csv[: len(csv) // 2], length=len(csv))
            self.close_connection = True
        elif (sym.startswith("RESET1") and n == 1) or (sym.startswith("RESET") and not sym.startswith("RESET1")):
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(csv)))
            self.end_headers()
            self.wfile.write(csv[: len(csv) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
        elif sym.startswith("HANG"):
            fx.stop_event.wait(fx.hang)
            self.close_connection = True
        elif sym.startswith("HTML"):
            self._send(200, b"<!DOCTYPE html>\n<html><body>Sorry, no quotes</body></html>\n",
                       "text/html")
        elif sym.startswith("EMPTY"):
            self._send(200, b"")
        else:
            self._send(200, csv)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients killed or resetting mid-request are the point of these tests


class Fixture:
    """with Fixture(rows=50) as fx: url = fx.template  (http://127.0.0.1:PORT/q/{symbol})"""

    def __init__(self, rows=50, delay=0.0, hang=10.0, barrier=0, barrier_wait=10.0, trickle=4.0,
                 retry_after=2, tls=None):
        self.rows = rows
        self.delay = delay
        self.hang = hang
        self.barrier = barrier
        self.barrier_wait = barrier_wait
        self.trickle = trickle
        self.retry_after = retry_after
        self.inside = 0
        self.max_inside = 0
        self.barrier_met = 0
        self.cond = threading.Condition()
        self.release = threading.Event()
        self.starts = []
        self.headers = {}
        self.hits = {}
        self.peers = set()  # distinct client (address, port): one per TCP connection
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fixture = self
        self.port = self.server.server_address[1]
        scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.template = f"{scheme}://127.0.0.1:{self.port}/q/{{symbol}}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        return False


# ---- helpers shared by the quotepack tests ----------------------------------------------------
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tarfile  # noqa: E402

from harness import MULT, binary  # noqa: E402


def run_qp(*args, env=None, timeout=120):
    """Runs quotepack to completion; returns the CompletedProcess (text mode)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([binary("quotepack"), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout * MULT, env=e)


def catalog(out):
    """{symbol: row dict} read from out/catalog.sqlite."""
    db = sqlite3.connect(f"file:{os.path.join(out, 'catalog.sqlite')}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return {r["symbol"]: dict(r) for r in db.execute("SELECT * FROM symbols")}
    finally:
        db.close()


MANIFEST = "MANIFEST.tsv"  # every archive's first member (docs/quotepack.md, "Archive manifest")


def archives(out):
    """{archive name: [member names]} for every .tgz in out (read with Python's tarfile),
    without the manifest member."""
    res = {}
    for n in sorted(os.listdir(out)):
        if n.startswith("quotes-") and n.endswith(".tgz"):
            with tarfile.open(os.path.join(out, n), "r:gz") as t:
                res[n] = [m for m in t.getnames() if m != MANIFEST]
    return res


def member_data(out, archive, member):
    with tarfile.open(os.path.join(out, archive), "r:gz") as t:
        return t.extractfile(member).read()


def leftovers(out):
    """Files in out that a finished run should not leave: temp files, spool, stray XML."""
    allowed = ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", ".lock")
    bad = []
    for n in os.listdir(out):
        if n in allowed or (n.startswith("quotes-") and (n.endswith(".tgz") or n.endswith(".tar.zst"))):
            continue
        bad.append(n)
    return sorted(bad)


def write_symbols(path, names):
    with open(path, "w") as f:
        f.write("".join(n + "\n" for n in names))
    return path
