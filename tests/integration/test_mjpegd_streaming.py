#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd streaming: 100 viewers, stuck viewers, send timeout, disconnects mid-frame, client limits."""
import socket
import time

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, close_all, raise_nofile, read_frames, read_streams


def open_streams(srv, n, path="/stream", source=None):
    conns = []
    try:
        for _ in range(n):
            c = srv.connect(source=source)
            c.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
            conns.append(c)
    except BaseException:
        close_all(conns)
        raise
    return conns


def clients_now(srv):
    return srv.state()["clients"]


@test(timeout=120)
def test_100_concurrent_viewers_all_receive_frames():
    raise_nofile(4096)
    with Mjpegd() as srv:
        base_clients = clients_now(srv)
        conns = open_streams(srv, 100)
        try:
            # 3 s in every build: under TSan on loaded cores the slowest of the 100 still got
            # 72 to 85 parts in 3 s (the check asks for 18), as in the plain build.
            seconds = 3.0
            ps = read_streams(conns, seconds)
            statuses = sorted({p.status for p in ps}, key=str)
            check_eq(statuses, [200], "statuses of the 100 viewers")
            counts = sorted(p.frames for p in ps)
            check(all(not p.eof for p in ps), f"{sum(p.eof for p in ps)} viewers were disconnected")
            # 30 fps for 3 s is 90 frames; ask for a fifth of that from the slowest viewer.
            check(counts[0] >= 18, f"slowest viewer got {counts[0]} frames in {seconds:.0f} s "
                  f"(median {counts[50]}, max {counts[-1]})")
            check(counts[0] * 3 >= counts[-1], f"uneven service: min {counts[0]}, max {counts[-1]}")
            check_eq(clients_now(srv), base_clients + 100, "clients in /state with 100 viewers")
            # Frames go out in order and never twice to the same viewer.
            for i, p in enumerate(ps):
                ts = p.timestamps[:p.frames]
                bad = [(a, b) for a, b in zip(ts, ts[1:]) if a is None or b is None or b <= a]
                check(not bad, f"viewer {i}: X-Timestamps not strictly increasing: {bad[:3]}")
        finally:
            close_all(conns)
        check(wait_for(lambda: clients_now(srv) == base_clients, 5),
              f"clients stayed at {clients_now(srv)} after all viewers left (baseline {base_clients})")
        srv.check_fds()


def stuck_viewer(srv, path="/stream"):
    """A viewer with a tiny receive buffer that sends its request and never reads."""
    c = srv.connect(rcvbuf=2048)
    c.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
    return c


@test(timeout=120)
def test_stuck_viewers_do_not_slow_the_others():
    # Bigger frames than the other tests so that a stuck socket fills after a frame or two.
    with Mjpegd("--size", "640x480", "--fps", "30", "--send-timeout", "60", small=False) as srv:
        base_clients = clients_now(srv)
        readers = open_streams(srv, 3)
        stuck = []
        try:
            # Two equal windows, not scaled: the rate they compare is a property of the server,
            # and under TSan on two loaded cores the readers still get 30 fps (90 and 86 parts
            # per 3 s window measured at load 18), as in the plain build. The warm-ups stay
            # scaled: the stuck sockets must be full before the second window.
            seconds = 3.0
            ps = read_streams(readers, 1.0 * MULT)  # warm up
            mark = [p.frames for p in ps]
            read_streams(readers, seconds, parsers=ps)
            before = [p.frames - m for p, m in zip(ps, mark)]
            check(min(before) > 0, f"no frames before the stuck viewers: {before}")
            stuck = [stuck_viewer(srv) for _ in range(3)]
            read_streams(readers, 1.0 * MULT, parsers=ps)  # the stuck sockets fill meanwhile
            mark = [p.frames for p in ps]
            read_streams(readers, seconds, parsers=ps)
            during = [p.frames - m for p, m in zip(ps, mark)]
            check(all(not p.eof for p in ps), "a reading viewer was disconnected")
            # Over equal windows, each reader keeps at least half of its earlier frame count
            # (the original Python server fell from 30 to about 5 fps here).
            check(min(during) * 2 >= min(before),
                  f"with 3 stuck viewers the readers got {during} frames in {seconds:.0f} s; "
                  f"before them, {before}")
            check(clients_now(srv) == base_clients + 6,
                  f"clients = {clients_now(srv)}, want {base_clients + 6}: stuck viewers dropped early?")
            # A stuck viewer that starts reading gets a well-formed stream (whole parts only).
            ps2 = read_frames([stuck[0]], 3, 2.0 * MULT)
            check_eq(ps2[0].status, 200, "stuck viewer status")
            check(ps2[0].frames >= 3, f"the unstuck viewer got {ps2[0].frames} parts")
        finally:
            close_all(readers)
            close_all(stuck)
        srv.check_fds()


@test(timeout=120)
def test_slow_viewer_skips_to_the_newest_frame():
    """After a 5 s stall a viewer jumps to a fresh frame instead of replaying every frame.

    The kernel's send buffer (MBs on loopback) still holds a backlog, so the check is on the
    X-Timestamps: without skipping, consecutive parts would all be one frame period apart.
    """
    with Mjpegd("--size", "1280x720", "--fps", "30", "--send-timeout", "60", small=False) as srv:
        c = stuck_viewer(srv)
        try:
            time.sleep(5.0)
            r = c.read_head()
            check_eq(r.status, 200, "status")
            stamps, ages = [], []
            gap_at = None
            for _ in range(400):
                hdrs, _ = c.read_part()
                stamps.append(float(hdrs["x-timestamp"]))
                ages.append(time.time() - stamps[-1])
                if len(stamps) > 1 and stamps[-1] - stamps[-2] >= 0.5:
                    gap_at = len(stamps) - 1
                    break
                if ages[-1] < 0.3:
                    break  # caught up with the live edge without ever skipping
            gaps = [b - a for a, b in zip(stamps, stamps[1:])]
            check(gap_at is not None,
                  f"no skip: {len(stamps)} parts after the stall, largest timestamp gap "
                  f"{max(gaps) if gaps else 0:.3f} s, ages {ages[0]:.2f} .. {ages[-1]:.2f} s")
            # The part after the jump is recent: at most half the stall old, whatever the build.
            check(ages[gap_at] < 2.5, f"the part after the skip is {ages[gap_at]:.2f} s old")
        finally:
            c.close()
        srv.check_fds()


@test(timeout=90)
def test_send_timeout_drops_a_stuck_viewer():
    with Mjpegd("--size", "640x480", "--fps", "30", "--send-timeout", "1", small=False) as srv:
        base = clients_now(srv)
        reader = open_streams(srv, 1)
        stuck = stuck_viewer(srv)
        try:
            ps = read_streams(reader, 0.5 * MULT)
            check(wait_for(lambda: clients_now(srv) == base + 2, 3), "the two viewers are not both counted")
            t0 = time.monotonic()
            # The reader keeps reading (so it makes progress); the stuck one must go.
            while time.monotonic() - t0 < 8 * MULT and clients_now(srv) != base + 1:
                read_streams(reader, 0.2, parsers=ps)
            check_eq(clients_now(srv), base + 1, "clients after --send-timeout 1 with one stuck viewer")
            check(time.monotonic() - t0 >= 0.5, "the stuck viewer was dropped before its send timeout")
            check(not ps[0].eof, "the reading viewer was dropped too")
            # The stuck viewer sees the close once it drains what was in flight.
            check(stuck.closed_within(10), "the stuck viewer's connection is still open")
        finally:
            close_all(reader)
            stuck.close()
        srv.check_fds()


@test(timeout=90)
def test_send_timeout_spares_a_slow_but_moving_viewer():
    """--send-timeout drops a viewer that makes no progress, not one that is merely slow."""
    # 720p fills the loopback send buffer (a few MB) within 2 s, so the server really waits on
    # this viewer for most of the 6 s.
    with Mjpegd("--size", "1280x720", "--fps", "30", "--send-timeout", "1", small=False) as srv:
        base = clients_now(srv)
        c = srv.connect()
        try:
            c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            got = 0  # about 256 KB/s: slower than the 1.5 MB/s stream, but steadily moving
            t0 = time.monotonic()
            while time.monotonic() - t0 < 6.0:
                time.sleep(0.25)  # well under the 1 s timeout between reads
                try:
                    d = c.sock.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    d = b""
                check(d, f"the slow viewer was dropped after {time.monotonic() - t0:.1f} s "
                         f"having read {got} bytes")
                got += len(d)
                check(clients_now(srv) == base + 1,
                      f"the server dropped the slow viewer after {time.monotonic() - t0:.1f} s although it "
                      f"read {got} bytes at a steady pace (the kernel buffers still held data)")
        finally:
            c.close()
        srv.check_fds()


@test(timeout=90)
def test_disconnects_mid_frame_and_mid_request():
    with Mjpegd() as srv:
        keep = open_streams(srv, 2)
        try:
            ps = read_streams(keep, 0.5 * MULT)
            for i in range(20):
                c, r = srv.open_stream()
                check_eq(r.status, 200, "stream status")
                line = c.read_until(b"\r\n\r\n")  # the first part's headers
                check(b"Content-Length" in line or b"content-length" in line.lower(), f"part head {line!r}")
                c.read_exact(100)  # part of the frame
                c.close(reset=(i % 2 == 0))  # half with RST, half with FIN
            for i in range(10):
                c = srv.connect()
                c.send("GET /stream HTTP/1.1\r\nHo")
                c.close(reset=(i % 2 == 0))
            for i in range(10):
                c = srv.connect()
                c.send("GET /snapshot HTTP/1.1\r\nHost: t\r\n\r\n")
                c.close(reset=True)  # before reading the response
            before = [p.frames for p in ps]
            read_streams(keep, 1.0 * MULT, parsers=ps)
            check(all(p.frames > b for p, b in zip(ps, before)), "the other viewers stopped receiving")
            check(all(not p.eof for p in ps), "the other viewers were disconnected")
            check(srv.alive(), "server died")
            check_eq(srv.get("/snapshot").status, 200, "snapshot after the disconnects")
        finally:
            close_all(keep)
        srv.check_fds()


@test(timeout=90)
def test_max_clients_503_with_retry_after():
    with Mjpegd("--max-clients", "3") as srv:
        conns = open_streams(srv, 3)
        try:
            ps = read_frames(conns, 1, 1.0 * MULT)
            check_eq([p.status for p in ps], [200] * 3, "the first three viewers")
            check(all(p.frames >= 1 for p in ps), f"frames: {[p.frames for p in ps]}")
            for path in ("/stream", "/?action=stream"):
                c, r = srv.open_stream(path)
                try:
                    check_eq(r.status, 503, f"{path} past --max-clients")
                    ra = r.header("retry-after")
                    check(ra is not None and ra.strip().isdigit(), f"Retry-After: {ra!r}")
                    check(c.closed_within(5), "the refused connection stayed open")
                finally:
                    c.close()
            # Non-streaming requests are not counted against --max-clients.
            check_eq(srv.get("/snapshot").status, 200, "snapshot while streams are full")
            check_eq(srv.get("/state").status, 200, "state while streams are full")
            conns.pop().close()
            ok = wait_for(lambda: _stream_status(srv) == 200, 5)
            check(ok, "a viewer is still refused after one of the three left")
        finally:
            close_all(conns)
        srv.check_fds()


def _stream_status(srv, source=None):
    c, r = srv.open_stream(source=source)
    c.close()
    return r.status


@test(timeout=90)
def test_max_clients_per_ip():
    with Mjpegd("--max-clients-per-ip", "2") as srv:
        conns = open_streams(srv, 2)
        try:
            ps = read_streams(conns, 0.5 * MULT)
            check_eq([p.status for p in ps], [200, 200], "the first two viewers")
            c, r = srv.open_stream()
            try:
                check_eq(r.status, 503, "third viewer from 127.0.0.1")
                check(r.header("retry-after") is not None, "503 without Retry-After")
                check(c.closed_within(5), "the refused connection stayed open")
            finally:
                c.close()
            # Another loopback source address is another IP.
            try:
                other = _stream_status(srv, source="127.0.0.2")
            except OSError as e:
                other = f"cannot bind 127.0.0.2: {e}"
            check_eq(other, 200, "a viewer from 127.0.0.2 while 127.0.0.1 is at its limit")
            conns.pop().close()
            check(wait_for(lambda: _stream_status(srv) == 200, 5), "refused after one viewer left")
        finally:
            close_all(conns)
        srv.check_fds()


@test(timeout=60)
def test_reset_right_after_request_many_times():
    """Connect, request a stream, reset at once, 300 times: nothing leaks."""
    with Mjpegd() as srv:
        base = clients_now(srv)
        for _ in range(300):
            s = socket.create_connection((srv.host, srv.port))
            s.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        check(srv.alive(), "server died")
        check(wait_for(lambda: srv.state()["clients"] == base, 5), f"clients = {srv.state()['clients']}, want {base}")
        srv.check_fds()


if __name__ == "__main__":
    main()
