#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd request limits and malformed requests: a table of raw requests and expected statuses."""
import socket
import time

from harness import MULT, check, check_eq, main, test
from mjpegd_fixture import HttpError, Mjpegd

H = "Host: t\r\n"


def req(line, headers=H, body=""):
    return (line + "\r\n" + headers + "\r\n" + body).encode("latin-1")


def many_headers(n, size=10):
    return "".join(f"X-H{i}: {'v' * size}\r\n" for i in range(n))


# (name, raw request bytes, set of acceptable statuses). The positive controls (2xx) prove the
# parser is not simply rejecting everything near a limit.
CASES = [
    # --- positive controls ---
    ("control: plain GET", req("GET /state HTTP/1.1"), {200}),
    ("control: HTTP/1.0 without Host", b"GET /state HTTP/1.0\r\n\r\n", {200}),
    ("control: 50 header lines", req("GET /state HTTP/1.1", H + many_headers(49)), {200}),
    ("control: 12 KB of headers", req("GET /state HTTP/1.1", H + many_headers(12, 1000)), {200}),
    ("control: request line just under 8 KB", req("GET /x" + "a" * 8000 + " HTTP/1.1"), {404}),
    ("control: query string on /state", req("GET /state?x=1 HTTP/1.1"), {200}),
    ("control: header value with tab and spaces", req("GET /state HTTP/1.1", H + "X-A: \t a b \t\r\n"), {200}),
    ("control: Content-Length: 0", req("GET /state HTTP/1.1", H + "Content-Length: 0\r\n"), {200, 400}),
    # --- size limits ---
    ("request line over 8 KB", req("GET /" + "a" * 9000 + " HTTP/1.1"), {414}),
    ("request line of 64 KB", req("GET /" + "a" * 65536 + " HTTP/1.1"), {414}),
    ("8 KB+ request line without any newline", b"GET /" + b"a" * 9000, {414}),
    ("headers over 16 KB", req("GET /state HTTP/1.1", H + many_headers(20, 1000)), {431}),
    ("one 20 KB header", req("GET /state HTTP/1.1", H + "X-Big: " + "b" * 20000 + "\r\n"), {431}),
    ("120 header lines", req("GET /state HTTP/1.1", H + many_headers(120)), {431}),
    ("1000 tiny header lines", req("GET /state HTTP/1.1", H + "A: b\r\n" * 1000), {431}),
    # --- request-line syntax ---
    ("garbage line", b"GARBAGE\r\n\r\n", {400}),
    ("method only", b"GET\r\n\r\n", {400}),
    ("no version (HTTP/0.9 style)", b"GET /state\r\n\r\n", {400, 505}),
    ("extra token in request line", req("GET /state HTTP/1.1 extra"), {400}),
    ("double space in request line", req("GET  /state HTTP/1.1"), {400}),
    ("bad version token", req("GET /state HTTP/1.x"), {400}),
    ("not HTTP protocol", req("GET /state FOO/1.1"), {400}),
    ("target without leading slash", req("GET state HTTP/1.1"), {400}),
    ("NUL in request line", req("GET /st\x00ate HTTP/1.1"), {400}),
    ("empty request line then garbage", b"\r\n\r\n\r\nxx\r\n\r\n", {400}),
    # --- headers ---
    ("NUL in header value", req("GET /state HTTP/1.1", H + "X-A: a\x00b\r\n"), {400}),
    ("NUL in header name", req("GET /state HTTP/1.1", H + "X\x00A: b\r\n"), {400}),
    ("bare CR in header value", req("GET /state HTTP/1.1", H + "X-A: a\rb\r\n"), {400}),
    ("obs-fold continuation line", req("GET /state HTTP/1.1", H + "X-A: a\r\n b\r\n"), {400}),
    ("obs-fold with tab", req("GET /state HTTP/1.1", H + "X-A: a\r\n\tb\r\n"), {400}),
    ("space before colon", req("GET /state HTTP/1.1", "Host : t\r\n"), {400}),
    ("space before colon in other header", req("GET /state HTTP/1.1", H + "X-A : b\r\n"), {400}),
    ("header without colon", req("GET /state HTTP/1.1", H + "NoColonHere\r\n"), {400}),
    ("empty header name", req("GET /state HTTP/1.1", H + ": value\r\n"), {400}),
    ("invalid char in header name", req("GET /state HTTP/1.1", H + "X(A): b\r\n"), {400}),
    ("missing Host on HTTP/1.1", req("GET /state HTTP/1.1", ""), {400}),
    ("duplicate Host", req("GET /state HTTP/1.1", "Host: a\r\nHost: b\r\n"), {400}),
    ("duplicate Host, case differs", req("GET /state HTTP/1.1", "Host: a\r\nhOST: a\r\n"), {400}),
    # --- percent-encoding ---
    ("bad percent-encoding %zz", req("GET /state%zz HTTP/1.1"), {400}),
    ("truncated percent-encoding", req("GET /state%2 HTTP/1.1"), {400}),
    ("lone percent", req("GET /% HTTP/1.1"), {400}),
    ("encoded NUL", req("GET /state%00 HTTP/1.1"), {400, 404}),
    # --- methods and versions ---
    ("unknown method", req("BREW /state HTTP/1.1"), {501}),
    ("lowercase method", req("get /state HTTP/1.1"), {400, 501}),
    ("POST", req("POST /state HTTP/1.1"), {405}),
    ("PUT", req("PUT /snapshot HTTP/1.1"), {405}),
    ("DELETE", req("DELETE /stream HTTP/1.1"), {405}),
    ("HTTP/2.0", req("GET /state HTTP/2.0"), {505}),
    ("HTTP/3.0", req("GET /state HTTP/3.0"), {505}),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 501, 505}),
    # --- bodies ---
    ("GET with a body", req("GET /state HTTP/1.1", H + "Content-Length: 10\r\n", "0123456789"), {400, 413}),
    ("GET with a huge Content-Length", req("GET /state HTTP/1.1", H + "Content-Length: 1000000000\r\n"),
     {400, 413}),
    ("Transfer-Encoding: chunked", req("GET /state HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "0\r\n\r\n"),
     {400, 413}),
    ("non-numeric Content-Length", req("GET /state HTTP/1.1", H + "Content-Length: abc\r\n"), {400}),
    ("negative Content-Length", req("GET /state HTTP/1.1", H + "Content-Length: -1\r\n"), {400}),
    ("conflicting Content-Lengths", req("GET /state HTTP/1.1", H + "Content-Length: 1\r\nContent-Length: 2\r\n", "ab"),
     {400, 413}),
    # --- paths ---
    ("unknown path", req("GET /nope HTTP/1.1"), {404}),
    ("unknown action", req("GET /?action=nope HTTP/1.1"), {404, 400}),
    ("dot-dot raw", req("GET /../../../../etc/passwd HTTP/1.1"), {400, 404}),
    ("dot-dot after a segment", req("GET /stream/../../etc/passwd HTTP/1.1"), {400, 404}),
    ("dot-dot percent-encoded", req("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1"), {400, 404}),
    ("dot-dot mixed case encoding", req("GET /%2E%2e/%2e%2E/etc/passwd HTTP/1.1"), {400, 404}),
    ("dot-dot half encoded", req("GET /.%2e/.%2E/etc/passwd HTTP/1.1"), {400, 404}),
    ("encoded slashes", req("GET /..%2f..%2fetc%2fpasswd HTTP/1.1"), {400, 404}),
    ("double-encoded dot-dot", req("GET /%252e%252e/etc/passwd HTTP/1.1"), {400, 404}),
    ("backslashes", req("GET /..\\..\\etc\\passwd HTTP/1.1"), {400, 404}),
    ("absolute file path", req("GET //etc/passwd HTTP/1.1"), {400, 404}),
]


def run_case(srv, raw, timeout=2.0):
    """Sends raw on a fresh connection and returns (status or None, response head or error)."""
    c = srv.connect(timeout=timeout)
    try:
        c.send_tolerant(raw)
        try:
            r = c.read_response()
        except (HttpError, socket.timeout, OSError) as e:
            return None, f"no response: {type(e).__name__}: {e}"
        return r, None
    finally:
        c.close()


@test(timeout=180)
def test_malformed_requests_table():
    check(len(CASES) >= 30, "the table needs at least 30 cases")
    with Mjpegd() as srv:
        mismatches = []
        for name, raw, want in CASES:
            r, err = run_case(srv, raw)
            if r is None:
                mismatches.append(f"{name}: expected {sorted(want)}, got {err}")
                continue
            if r.status not in want:
                mismatches.append(f"{name}: expected {sorted(want)}, got {r.status} {r.reason}")
            if b"root:" in r.body:
                mismatches.append(f"{name}: the response contains /etc/passwd!")
            if r.status == 405 and not r.header("allow"):
                mismatches.append(f"{name}: 405 without an Allow header")
            if not srv.alive():
                mismatches.append(f"{name}: the server died (status {srv.proc.poll()})")
                break
        check(srv.alive(), f"server died; stderr: {srv.stderr_text()[-2000:]}")
        check_eq(srv.get("/state").status, 200, "server still answers after the table")
        srv.check_fds()
        check(not mismatches, f"{len(mismatches)} of {len(CASES)} cases mismatched:\n  " + "\n  ".join(mismatches))


@test(timeout=60)
def test_body_is_not_read_and_connection_closes():
    """A request announcing a large body gets its answer without the server waiting for it."""
    with Mjpegd() as srv:
        c = srv.connect()
        try:
            c.send(req("GET /state HTTP/1.1", H + "Content-Length: 100000000\r\n"))
            r = c.read_head()
            check(r.status in (400, 413), f"got {r.status}")
            check(c.closed_within(5), "the connection stayed open after refusing a body")
        finally:
            c.close()
        srv.check_fds()


@test(timeout=60)
def test_error_responses_close_after_bad_syntax():
    """After a 400 the server closes the connection (pipelined requests behind it are not run)."""
    with Mjpegd() as srv:
        c = srv.connect()
        try:
            c.send(b"GARBAGE\r\n\r\nGET /state HTTP/1.1\r\nHost: t\r\n\r\n")
            r = c.read_response()
            check_eq(r.status, 400, "status")
            check(c.closed_within(5), "connection stayed open after 400")
            check(b"HTTP/1.1 200" not in bytes(c.buf), "a request after a malformed one was served")
        finally:
            c.close()
        srv.check_fds()


@test(timeout=60)
def test_405_lists_allowed_methods():
    with Mjpegd() as srv:
        for m in ("POST", "PUT", "DELETE"):
            r = srv.get("/snapshot", method=m)
            check_eq(r.status, 405, f"{m} status")
            allow = [a.strip().upper() for a in (r.header("allow") or "").split(",")]
            check("GET" in allow and "HEAD" in allow, f"{m}: Allow {r.header('allow')!r}")
            check(m not in allow, f"{m}: Allow lists {m}")


@test(timeout=60)
def test_oversized_requests_do_not_grow_memory():
    """Many 64 KB requests: each is refused at its limit and the RSS stays bounded."""
    def rss_kb(pid):
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
        return 0

    with Mjpegd() as srv:
        srv.get("/snapshot")
        before = rss_kb(srv.pid)
        junk = b"GET /" + b"a" * (1 << 20)
        for _ in range(20):
            c = srv.connect()
            try:
                c.send_tolerant(junk)
                try:
                    r = c.read_head()
                    check(r.status in (400, 414), f"1 MB request line got {r.status}")
                except (HttpError, OSError):
                    pass  # closed without an answer after the limit is acceptable here
            finally:
                c.close()
        time.sleep(0.2)
        after = rss_kb(srv.pid)
        # 20 MB sent in total; buffering even a fraction of it would show. Sanitizers add slack.
        check(after - before < 8000 * MULT, f"RSS grew from {before} to {after} KB")
        srv.check_fds()


if __name__ == "__main__":
    main()
