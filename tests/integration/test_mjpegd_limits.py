#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd connection limits: header deadline (slowloris, idle), the pending-connection cap."""
import time

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import HttpError, Mjpegd, close_all, help_text, open_idle, raise_nofile, read_frames, read_streams


def time_to_close(c, limit, trickle=None):
    """Seconds until the server closes c (trickling bytes if given), or None after `limit`."""
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < limit:
        if trickle is not None:
            if not c.send_tolerant(trickle[i % len(trickle)]):
                return time.monotonic() - t0
            i += 1
        if c.closed_within(0.2 / MULT):
            return time.monotonic() - t0
    return None


@test(timeout=60)
def test_slowloris_closed_at_header_deadline():
    """One header byte every 0.2 s never completes the request: closed at the total deadline."""
    with Mjpegd("--header-timeout", "1") as srv:
        c = srv.connect()
        try:
            c.send("GET /stream HTTP/1.1\r\nHost: t\r\n")
            t = time_to_close(c, 6 * MULT, trickle=[b"X", b"-", b"a", b":", b" ", b"b", b"\r\n"])
            check(t is not None, f"a slowloris connection was still open after {6 * MULT} s "
                                 "with --header-timeout 1 (a per-read timeout instead of a deadline?)")
            check(t >= 0.5, f"closed after {t:.2f} s, before the 1 s deadline")
            got = bytes(c.buf)
            check(got == b"" or got.startswith(b"HTTP/1.1 408") or got.startswith(b"HTTP/1.0 408"),
                  f"answer to a timed-out request: {got[:80]!r}")
        finally:
            c.close()
        check_eq(srv.get("/state").status, 200, "server answers after the slowloris")
        srv.check_fds()


@test(timeout=60)
def test_idle_connections_closed_at_header_deadline():
    with Mjpegd("--header-timeout", "1") as srv:
        idle = open_idle(srv, 20)
        partial = open_idle(srv, 20, b"GET /snapshot HTTP/1.1\r\n")
        try:
            t0 = time.monotonic()
            still = [c for c in idle + partial if not c.closed_within(max(0.0, 6 * MULT - (time.monotonic() - t0)))]
            check(not still, f"{len(still)} of 40 idle connections still open {6 * MULT} s after "
                             "a 1 s header timeout")
        finally:
            close_all(idle + partial)
        srv.check_fds()


@test(timeout=60)
def test_header_deadline_does_not_cut_streams_or_keepalive():
    """The header deadline covers the request head only, not a stream that lasts longer."""
    with Mjpegd("--header-timeout", "1") as srv:
        c, r = srv.open_stream()
        try:
            check_eq(r.status, 200, "stream status")
            # 2.5 s in every build: past the 1 s deadline (the server's clock, not scaled) with
            # room to spare, so a deadline that cut streams would have fired inside the window.
            ps = read_streams([c], 2.5)
            check(not ps[0].eof, "the stream was closed by the header deadline")
            check(ps[0].frames >= 5, f"only {ps[0].frames} frames")
        finally:
            c.close()
        srv.check_fds()


def has_max_pending():
    return "--max-pending" in help_text()


@test(timeout=120)
def test_pending_cap_evicts_the_oldest():
    """With the pending cap full, a newcomer is admitted and the oldest pending one is closed."""
    if not has_max_pending():
        # Without a --max-pending option the cap is internal; a flood must still not lock out.
        return _flood_does_not_lock_out(1500)
    cap = 8
    with Mjpegd("--max-pending", str(cap), "--header-timeout", "30") as srv:
        pending = []
        try:
            for _ in range(cap):
                pending.append(open_idle(srv, 1, b"GET /stream HTTP/1.1\r\n")[0])
                time.sleep(0.02)  # distinct ages
            time.sleep(0.2)
            check(all(c.is_open_now() for c in pending), "pending connections closed below the cap")
            # The newcomer is pending too (half a head), so admitting it must evict the oldest.
            c = srv.connect()
            try:
                c.send("GET /stream HTTP/1.1\r\n")
                check(pending[0].closed_within(3), "the oldest pending connection was not closed")
                check(pending[-1].is_open_now(), "the newest pending connection was closed instead")
                check(c.is_open_now(), "the newcomer was closed")
                c.send("Host: t\r\n\r\n")
                r = c.read_head()
                check_eq(r.status, 200, "newcomer while the pending cap is full")
                ps = read_frames([c], 1, 1.0 * MULT)
                check(ps[0].frames >= 1, "the newcomer got no frame")
            finally:
                c.close()
            # Another round: more idle newcomers push out older ones, never the streaming viewers.
            viewer, r = srv.open_stream()
            try:
                check_eq(r.status, 200, "viewer status")
                more = []
                for _ in range(cap * 3):
                    more += open_idle(srv, 1, b"GET / HTTP/1.1\r\n")
                    pending.append(more[-1])
                    time.sleep(0.02)  # distinct ages, whichever loop accepts each one
                check(wait_for(lambda: sum(c.is_open_now() for c in pending) <= cap, 3),
                      f"{sum(c.is_open_now() for c in pending)} pending connections open, cap {cap}")
                check(all(c.is_open_now() for c in more[-cap // 2:]), "one of the newest pending connections was evicted")
                ps = read_streams([viewer], 1.0 * MULT)
                check(not ps[0].eof and ps[0].frames >= 1, "a streaming viewer was evicted as 'pending'")
            finally:
                viewer.close()
        finally:
            close_all(pending)
        srv.check_fds()


@test(timeout=60)
def test_complete_requests_are_not_evicted_as_pending():
    """A burst of clients that each send a whole request at once: all get an answer.

    Their heads are complete (in the socket buffer) when the server accepts them, so they are
    not "connections that have not sent full headers"; evicting them as pending would drop
    legitimate viewers whenever more than --max-pending of them connect together.
    """
    with Mjpegd("--max-pending", "4") as srv:
        conns = []
        try:
            for _ in range(40):
                c = srv.connect()
                # Connection: close, so that an answered connection does not wait as a pending
                # keep-alive one (which the cap may rightly evict).
                c.send("GET /state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                conns.append(c)
            got = []
            for c in conns:
                try:
                    got.append(c.read_response().status)
                except (OSError, HttpError) as e:
                    got.append(type(e).__name__)
            bad = [(i, g) for i, g in enumerate(got) if g != 200]
            check(not bad, f"{len(bad)} of 40 complete requests got no 200 with --max-pending 4: {bad}")
        finally:
            close_all(conns)
        srv.check_fds()


def _flood_does_not_lock_out(n):
    raise_nofile(n + 500)
    with Mjpegd("--header-timeout", "30") as srv:
        flood = []
        try:
            flood = open_idle(srv, n, b"GET /stream HTTP/1.1\r\n")
            c, r = srv.open_stream()
            try:
                check_eq(r.status, 200, f"viewer after {n} idle connections")
                ps = read_frames([c], 1, 1.0 * MULT)
                check(ps[0].frames >= 1, "the viewer got no frame")
            finally:
                c.close()
        finally:
            close_all(flood)
        srv.check_fds(timeout=10)


@test(timeout=180)
def test_idle_flood_does_not_lock_out_viewers():
    _flood_does_not_lock_out(1500)


if __name__ == "__main__":
    main()
