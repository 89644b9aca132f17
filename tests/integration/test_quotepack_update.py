#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 15 groundwork: every archived symbol keeps the validators of the body it came from.

The fixture server serves a history that grows by one row per "day" (under the test's
control), sends ETag and Last-Modified or neither, honours If-None-Match / If-Modified-Since
or ignores them, and counts requests, body bytes and 304s per symbol.
"""
import hashlib
import os
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import check, check_eq, main, test
from qp_fixture import archives, catalog, run_qp, write_symbols

LAST_MODIFIED = "Tue, 01 Jul 2025 00:00:00 GMT"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        fx = self.server.fixture
        sym = self.path.rsplit("/", 1)[-1]
        body, etag = fx.body(sym)
        with fx.lock:
            fx.requests[sym] = fx.requests.get(sym, 0) + 1
        if fx.validators and fx.honour and self.headers.get("If-None-Match") == etag:
            with fx.lock:
                fx.not_modified[sym] = fx.not_modified.get(sym, 0) + 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        if fx.validators:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
        self.end_headers()
        self.wfile.write(body)
        with fx.lock:
            fx.bytes_sent += len(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class History:
    """with History(validators=True, honour=True) as h: h.template; h.next_day("A")"""

    def __init__(self, validators=True, honour=True, rows=5):
        self.validators = validators
        self.honour = honour
        self.rows = rows
        self.days = {}  # symbol -> extra rows added by next_day
        self.requests = {}
        self.not_modified = {}
        self.bytes_sent = 0
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fixture = self
        port = self.server.server_address[1]
        self.template = f"http://127.0.0.1:{port}/q/{{symbol}}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def body(self, sym):
        with self.lock:
            n = self.rows + self.days.get(sym, 0)
        lines = ["Date,Open,High,Low,Close,Volume"]
        for i in range(n):
            lines.append(f"2025-01-{1 + i % 28:02d},{10 + i}.0,{11 + i}.0,{9 + i}.5,{10 + i}.5,"
                         f"{1000 + i}")
        data = ("\n".join(lines) + "\n").encode()
        return data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"'

    def next_day(self, sym):
        with self.lock:
            self.days[sym] = self.days.get(sym, 0) + 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        return False


SYMS = ["AAA", "BBB", "CCC"]


def first_run(h, tmp):
    out = os.path.join(tmp, "out")
    lst = write_symbols(os.path.join(tmp, "symbols.txt"), SYMS)
    r = run_qp("--source", h.template, "--out", out, "--symbols", lst)
    check_eq(r.returncode, 0, "first run: " + r.stderr)
    return out


@test(timeout=60)
def test_archived_symbols_keep_the_servers_validators_and_the_body_checksum():
    with tempfile.TemporaryDirectory() as tmp, History(validators=True) as h:
        out = first_run(h, tmp)
        cat = catalog(out)
        for s in SYMS:
            body, etag = h.body(s)
            check_eq(cat[s]["state"], "archived", s)
            check_eq(cat[s]["etag"], etag, f"{s} etag")
            check_eq(cat[s]["last_modified"], LAST_MODIFIED, f"{s} last_modified")
            check_eq(cat[s]["body_sha256"], hashlib.sha256(body).hexdigest(), f"{s} sha256")
        check_eq(sum(h.requests.values()), len(SYMS), "requests")
        v = run_qp("verify", out)
        check_eq(v.returncode, 0, "verify: " + v.stdout + v.stderr)


@test(timeout=60)
def test_a_server_without_validators_leaves_only_the_body_checksum():
    with tempfile.TemporaryDirectory() as tmp, History(validators=False) as h:
        out = first_run(h, tmp)
        cat = catalog(out)
        for s in SYMS:
            body, _ = h.body(s)
            check_eq(cat[s]["etag"], None, f"{s} etag")
            check_eq(cat[s]["last_modified"], None, f"{s} last_modified")
            check_eq(cat[s]["body_sha256"], hashlib.sha256(body).hexdigest(), f"{s} sha256")
        members = sorted(m for ms in archives(out).values() for m in ms)
        check_eq(members, sorted(s + ".xml" for s in SYMS), "archive members")


@test(timeout=60)
def test_a_rerun_keeps_the_validators_of_archived_symbols():
    with tempfile.TemporaryDirectory() as tmp, History(validators=True) as h:
        out = first_run(h, tmp)
        before = catalog(out)
        r = run_qp("--source", h.template, "--out", out, "--symbols",
                   os.path.join(tmp, "symbols.txt"))
        check_eq(r.returncode, 0, "rerun: " + r.stderr)
        after = catalog(out)
        for s in SYMS:
            for k in ("etag", "last_modified", "body_sha256"):
                check_eq(after[s][k], before[s][k], f"{s} {k} after a rerun")
        check_eq(sum(h.requests.values()), len(SYMS), "a rerun fetches nothing archived")


if __name__ == "__main__":
    main()
