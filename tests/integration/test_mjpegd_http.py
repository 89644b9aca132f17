#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd HTTP details that real clients trip on (issue 7): idle keep-alive, HEAD errors, Date,
mjpg-streamer URLs, CORS, /state."""
import email.utils
import http.client
import json
import re
import subprocess
import time

from harness import MULT, binary, check, check_eq, main, test
from mjpegd_fixture import Mjpegd, basic


def head_and_rest(c):
    """Reads a response head, then everything until the server closes; returns both."""
    r = c.read_head()
    check(c.closed_within(10), "the server did not close the connection")
    return r, bytes(c.buf)


# ---- fault 3: an idle keep-alive connection is closed quietly ------------------------------

@test(timeout=60)
def test_idle_keepalive_is_closed_without_a_408():
    with Mjpegd("--header-timeout", "1") as srv:
        c = srv.connect()
        try:
            c.send("GET /state HTTP/1.1\r\nHost: t\r\n\r\n")
            r = c.read_response()
            check_eq(r.status, 200, "first request")
            check(c.closed_within(6), "the idle keep-alive connection was never closed")
            check_eq(bytes(c.buf), b"", "bytes sent unasked on an idle keep-alive connection")
        finally:
            c.close()
        # A request that was started and not finished still gets its 408.
        c = srv.connect()
        try:
            c.send("GET /state HTTP/1.1\r\nHost: t\r\n\r\nGET /state HTTP/1.1\r\n")
            check_eq(c.read_response().status, 200, "first request")
            check(c.closed_within(6), "the unfinished request was never timed out")
            check(bytes(c.buf).startswith(b"HTTP/1.1 408 "), f"answer to it: {bytes(c.buf)[:60]!r}")
        finally:
            c.close()
        srv.check_fds()


@test(timeout=60)
def test_pooled_http_client_never_reads_a_408_as_its_answer():
    """Python's http.client reuses the connection: its next request must not get an old 408."""
    with Mjpegd("--header-timeout", "1") as srv:
        hc = http.client.HTTPConnection(srv.host, srv.port, timeout=10 * MULT)
        try:
            hc.request("GET", "/state")
            r = hc.getresponse()
            check_eq(r.status, 200, "first request")
            r.read()
            time.sleep(2.0)  # past the header timeout: the server has closed the idle connection
            try:
                hc.request("GET", "/state")
                status = hc.getresponse().status
            except (http.client.RemoteDisconnected, ConnectionError):
                status = None  # closed quietly: a pooled client retries on a new connection
            check(status != 408, "the pooled connection's next request was answered 408")
        finally:
            hc.close()


# ---- fault 4: HEAD never gets a body, errors included --------------------------------------

@test(timeout=60)
def test_head_errors_have_no_body():
    cases = [
        ("HEAD / HTTP/1.1\r\n\r\n", 400),  # no Host
        ("HEAD / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 413),
        ("HEAD /" + "a" * 9000 + " HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        ("HEAD / HTTP/1.1\r\nHost: t\r\nX: " + "b" * 17000 + "\r\n\r\n", 431),
        ("HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\n", 404),
        ("HEAD /%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ]
    with Mjpegd() as srv:
        bad = []
        for req, status in cases:
            c = srv.connect()
            try:
                c.send_tolerant(req)
                r, rest = head_and_rest(c)
                if r.status != status or rest != b"":
                    bad.append(f"{req[:40]!r}: {r.status} with {len(rest)} body bytes {rest[:30]!r}")
            finally:
                c.close()
        check(not bad, "HEAD answers:\n  " + "\n  ".join(bad))
        srv.check_fds()


# ---- fault 5: every response has a Date ------------------------------------------------------

def check_date(what, value):
    check(value is not None, f"{what}: no Date header")
    check(value.endswith(" GMT"), f"{what}: Date {value!r} is not an IMF-fixdate")
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError) as e:
        raise AssertionError(f"{what}: Date {value!r} does not parse: {e}")


@test(timeout=60)
def test_every_response_has_a_date():
    with Mjpegd("--header-timeout", "1") as srv:
        for method, path in (("GET", "/state"), ("GET", "/metrics"), ("GET", "/"), ("GET", "/snapshot"),
                             ("HEAD", "/snapshot"), ("GET", "/nope"), ("GET", "/%zz"), ("POST", "/"),
                             ("HEAD", "/stream")):
            r = srv.get(path, method=method)
            check_date(f"{method} {path} ({r.status})", r.header("date"))
        c, r = srv.open_stream()
        try:
            check_date("the stream", r.header("date"))
        finally:
            c.close()
        c = srv.connect()
        try:
            c.send("GET /state HTTP/1.1\r\n")
            r = c.read_head()
            check_eq(r.status, 408, "an unfinished request")
            check_date("the 408", r.header("date"))
        finally:
            c.close()


# ---- fault 8: mjpg-streamer's numbered URLs; unknown parameters ignored ----------------------

@test(timeout=60)
def test_mjpg_streamer_numbered_urls_and_cache_busters():
    with Mjpegd() as srv:
        bad = []
        for path in ("/?action=snapshot_0", "/?action=snapshot&1683812", "/?action=snapshot&timestamp=",
                     "/snapshot?fps=abc", "/snapshot?_=1&x", "/state?1234"):
            r = srv.get(path)
            if r.status != 200:
                bad.append(f"{path}: {r.status}")
        for path in ("/?action=snapshot_0", "/snapshot?fps=abc"):
            r = srv.get(path)
            if r.header("content-type") != "image/jpeg" or not r.body.startswith(b"\xff\xd8"):
                bad.append(f"{path}: not a JPEG ({r.header('content-type')})")
        for path in ("/?action=stream_0", "/?action=stream&timestamp=1683812", "/stream?1683812",
                     "/?action=stream_0&fps=5"):
            c, r = srv.open_stream(path)
            try:
                if r.status != 200:
                    bad.append(f"{path}: {r.status}")
                else:
                    c.read_part()
            finally:
                c.close()
        # There is one source: input 1 does not exist.
        for path in ("/?action=snapshot_1", "/?action=stream_1"):
            c, r = srv.open_stream(path) if "stream" in path else (None, srv.get(path))
            if c is not None:
                c.close()
            if r.status != 404:
                bad.append(f"{path}: {r.status}, want 404")
        check(not bad, "\n  ".join(bad))
        srv.check_fds()


# ---- fault 11: each frame counted once; metric families that do not clash ------------------

def metric_samples(text):
    out = {}
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            name, _, value = ln.rpartition(" ")
            out[name] = float(value)
    return out


@test(timeout=60)
def test_frame_counters_add_up_and_families_do_not_clash():
    # One encoder at a high rate, so that some frames are dropped as busy.
    with Mjpegd("--size", "1280x720", "--fps", "120", "--encoders", "1", small=False) as srv:
        time.sleep(1.0)
        for _ in range(5):
            st = json.loads(srv.get("/state").body)
            check_eq(sum(st["frames_dropped_by"].values()), st["frames_dropped"], f"drops by reason: {st}")
            check_eq(st["frames_captured"], st["frames_published"] + st["frames_dropped"] + st["frames_in_flight"],
                     f"captured = published + dropped + in flight: {st}")
            check(st["frames_in_flight"] <= 3, f"more frames in flight than buffers: {st}")
            text = srv.get("/metrics").body.decode()
            m = metric_samples(text)
            drops = {k: v for k, v in m.items() if k.startswith("mjpegd_frames_dropped_total{")}
            check_eq(sorted(drops), ['mjpegd_frames_dropped_total{reason="busy"}',
                                     'mjpegd_frames_dropped_total{reason="error"}',
                                     'mjpegd_frames_dropped_total{reason="invalid"}',
                                     'mjpegd_frames_dropped_total{reason="same"}',
                                     'mjpegd_frames_dropped_total{reason="stale"}'], "drop reasons")
            check_eq(m["mjpegd_frames_captured_total"],
                     m["mjpegd_frames_published_total"] + sum(drops.values()) + m["mjpegd_frames_in_flight"],
                     "captured = published + dropped + in flight in /metrics")
        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        for name, kind in types.items():
            if kind == "counter":
                check(name.endswith("_total"), f"counter {name} does not end in _total")
                check(name[:-len("_total")] not in types,
                      f"{name} and {name[:-len('_total')]} are one family under OpenMetrics")


# ---- fault 12: CORS with --allow-origin ------------------------------------------------------

ORIGIN = "https://mainsail.example"


def preflight(srv, path, headers=""):
    c = srv.connect()
    try:
        c.send(f"OPTIONS {path} HTTP/1.1\r\nHost: t\r\nOrigin: {ORIGIN}\r\n"
               f"Access-Control-Request-Method: GET\r\n{headers}Connection: close\r\n\r\n")
        return head_and_rest(c)
    finally:
        c.close()


@test(timeout=60)
def test_cors_off_by_default():
    with Mjpegd() as srv:
        r = srv.get("/snapshot", headers={"Origin": ORIGIN})
        check_eq(r.status, 200, "snapshot")
        check(r.header("access-control-allow-origin") is None, "CORS header without --allow-origin")
        r, _ = preflight(srv, "/stream")
        check_eq(r.status, 405, "OPTIONS without --allow-origin")


@test(timeout=60)
def test_allow_origin_answers_fetch_and_preflight():
    with Mjpegd("--allow-origin", ORIGIN, "--auth", "u:p") as srv:
        # A preflight carries no credentials: answered anyway, with what a fetch() may send.
        r, rest = preflight(srv, "/stream", "Access-Control-Request-Headers: authorization\r\n")
        check_eq(r.status, 204, "preflight status")
        check_eq(rest, b"", "preflight body")
        check_eq(r.header("access-control-allow-origin"), ORIGIN, "preflight ACAO")
        check("GET" in (r.header("access-control-allow-methods") or ""), f"methods: {r.headers}")
        check_eq((r.header("access-control-allow-headers") or "").lower(), "authorization", "ACAH")
        check(r.header("content-length") is None, "Content-Length on a 204")
        auth = {"Authorization": basic("u", "p"), "Origin": ORIGIN}
        for path in ("/snapshot", "/?action=snapshot", "/state"):
            r = srv.get(path, headers=auth)
            check_eq(r.status, 200, path)
            check_eq(r.header("access-control-allow-origin"), ORIGIN, f"{path} ACAO")
            check_eq(r.header("vary"), "Origin", f"{path} Vary")
            check_eq(r.header("access-control-allow-credentials"), "true", f"{path} credentials")
        # The 401 too, so that the page can tell why.
        r = srv.get("/snapshot", headers={"Origin": ORIGIN})
        check_eq(r.status, 401, "no credentials")
        check_eq(r.header("access-control-allow-origin"), ORIGIN, "401 ACAO")
        c = srv.connect()
        try:
            c.send(f"GET /stream HTTP/1.1\r\nHost: t\r\nOrigin: {ORIGIN}\r\n"
                   f"Authorization: {basic('u', 'p')}\r\n\r\n")
            r = c.read_head()
            check_eq(r.status, 200, "stream")
            check_eq(r.header("access-control-allow-origin"), ORIGIN, "stream ACAO")
        finally:
            c.close()
    with Mjpegd("--allow-origin", "*") as srv:
        r = srv.get("/snapshot")
        check_eq(r.header("access-control-allow-origin"), "*", "ACAO *")
        check(r.header("vary") is None, "Vary with *")
    for bad in ("a b", "https://x,https://y", "no-scheme"):
        r = subprocess.run([binary("mjpegd"), "--allow-origin", bad], capture_output=True, timeout=30 * MULT)
        check_eq(r.returncode, 2, f"--allow-origin {bad!r}")


# ---- fault 13: /state gives the version, the last frame's age, bytes sent, pending -----------

@test(timeout=60)
def test_state_has_version_age_bytes_and_pending():
    with Mjpegd() as srv:
        idle = srv.connect()  # pending: no request head yet
        try:
            ok = wait_for_state(srv, lambda st: st.get("pending", 0) >= 1)
            check(ok is not None, "pending never counted the idle connection")
            st = ok
            version = subprocess.run([binary("mjpegd"), "--version"], capture_output=True, text=True,
                                     timeout=30 * MULT).stdout.split()[-1]
            check_eq(st.get("version"), version, "version")
            age = st.get("last_frame_age")
            check(isinstance(age, (int, float)) and 0 <= age < 5 * MULT, f"last_frame_age {age!r}")
            b1 = st.get("bytes_sent")
            check(isinstance(b1, int), f"bytes_sent {b1!r}")
            snap = srv.get("/snapshot")
            # The loop that sent the snapshot adds to its counter after its send call returns,
            # which may be after this client has read the bytes and asked another loop: wait.
            st2 = wait_for_state(srv, lambda st: st["bytes_sent"] >= b1 + len(snap.body))
            check(st2 is not None, f"bytes_sent never counted the snapshot ({b1} + {len(snap.body)})")
        finally:
            idle.close()


def wait_for_state(srv, pred):
    deadline = time.monotonic() + 5 * MULT
    while time.monotonic() < deadline:
        st = json.loads(srv.get("/state").body)
        if pred(st):
            return st
        time.sleep(0.05)
    return None


if __name__ == "__main__":
    main()
