#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd http:// relay against hostile upstreams on 127.0.0.1 (see also test_mjpegd_relay.py):
a boundary without "--", garbage between parts, a part cut short without Content-Length, a
part that is not a JPEG, a boundary that changes mid-stream, a stall in the middle of a part,
an endless part header line, an endless HTTP header line, an upstream that closes and comes
back, and an upstream behind --auth with a wrong password. The relay passes only whole JPEGs,
counts what it drops (frames_dropped_by.invalid), keeps its viewers with the no-signal frame
while the upstream is unusable, recovers alone, and its memory stays bounded."""
import os
import socket
import subprocess
import tempfile
import threading

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, ffprobe, read_relayed_frames


def make_jpegs(n, size="320x240"):
    """n JPEGs made by ffmpeg from testsrc2, as bytes."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                        f"testsrc2=size={size}:rate=10", "-frames:v", str(n),
                        os.path.join(d, "f%03d.jpg")], check=True, timeout=60 * MULT)
        out = []
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                out.append(f.read())
        return out


FILES = make_jpegs(4)


def head(boundary):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=" + boundary +
            b"\r\n\r\n")


def part(boundary, jpeg, length=True):
    hdr = b"--" + boundary + b"\r\nContent-Type: image/jpeg\r\n"
    if length:
        hdr += b"Content-Length: %d\r\n" % len(jpeg)
    return hdr + b"\r\n" + jpeg + b"\r\n"


class HostileCamera:
    """A camera on 127.0.0.1 whose connection number n (0, 1, ...) is served by
    script(self, n, conn); a script returns when it is done (the connection is closed) and
    should wait on self.stop between sends."""

    def __init__(self, script):
        self.script = script
        self.stop = threading.Event()
        self.go = threading.Event()  # for scripts that wait for the test
        self.conns = 0
        self.sent = {}  # connection number -> bytes sent
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            n = self.conns
            self.conns += 1
            threading.Thread(target=self.talk, args=(n, conn), daemon=True).start()

    def talk(self, n, conn):
        try:
            conn.recv(4096)
            self.script(self, n, conn)
        except OSError:
            pass
        finally:
            conn.close()

    def send(self, n, conn, data):
        conn.sendall(data)
        self.sent[n] = self.sent.get(n, 0) + len(data)

    def good_frames(self, n, conn, boundary=b"frame", count=None):
        """Whole parts, every framing a camera uses, 50 a second, count of them or for ever."""
        i = 0
        while not self.stop.is_set() and (count is None or i < count):
            self.send(n, conn, part(boundary, FILES[i % len(FILES)], length=i % 2 == 0))
            i += 1
            self.stop.wait(0.02)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def source(srv, i):
    st = srv.state()
    return st["sources"][i] if "sources" in st else st


def hwm_kb(pid):
    """Peak resident set (VmHWM) of pid in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1])
    return 0


def viewer_sees_no_signal_then_live(c, limit=600):
    """Reads parts of c until one that is not a camera frame (the no-signal picture), then one
    that is; returns the no-signal part."""
    nosignal = None
    for _ in range(limit):
        data = c.read_part()[1]
        if nosignal is None and data not in FILES:
            nosignal = data
        elif nosignal is not None and data in FILES:
            return nosignal
    raise AssertionError(f"in {limit} parts: no-signal {nosignal is not None}, then no live one")


@test(timeout=180)
def test_odd_framing_relays_whole_jpegs_and_counts_what_it_drops():
    def script(cam, n, conn):
        b = b"frame"  # Content-Type without the leading "--"
        cam.send(n, conn, head(b))
        i = 0
        while not cam.stop.is_set():
            f = FILES[i % len(FILES)]
            kind = i % 5
            if kind == 0:  # garbage after a part with Content-Length, before the next delimiter
                cam.send(n, conn, part(b, f) + b"garbage\r\n\xff\xd8\xff junk\r\n")
            elif kind == 1:  # no Content-Length
                cam.send(n, conn, part(b, f, length=False))
            elif kind == 2:  # cut short, no Content-Length: only the JPEG check can tell
                cam.send(n, conn, part(b, f[:len(f) // 2], length=False))
            elif kind == 3:  # not a JPEG at all
                cam.send(n, conn, part(b, b"<html>error</html>"))
            else:  # ESP32: LF-only lines, blank lines around the delimiter
                cam.send(n, conn, b"\n\n--" + b + b"\nContent-Type: image/jpeg\n\n" + f + b"\n\n")
            i += 1
            cam.stop.wait(0.02)

    cam = HostileCamera(script)
    try:
        with Mjpegd("--source", f"http://127.0.0.1:{cam.port}/video") as relay:
            read_relayed_frames(relay, FILES)
            check(wait_for(lambda: relay.state()["frames_dropped_by"]["invalid"] >= 4, 30 * MULT),
                  f"the cut and non-JPEG parts are not counted: {relay.state()}")
            st = relay.state()
            check_eq((st["status"], st["restarts"]), ("ok", 0), "a healthy relay")
            check(st["frames_captured"] >= st["frames_published"] + st["frames_dropped"],
                  f"captured < published + dropped: {st}")
            m = relay.get("/metrics").body.decode()
            check('mjpegd_frames_dropped_total{reason="invalid"}' in m, "no invalid reason")
    finally:
        cam.close()


@test(timeout=300)
def test_boundary_change_and_mid_part_stall_show_no_signal_then_recover():
    def script(cam, n, conn):
        cam.send(n, conn, head(b"frame"))
        cam.good_frames(n, conn, count=5)
        if n == 0:  # the boundary changes: nothing the parser can split any more
            cam.good_frames(n, conn, boundary=b"other")
        elif n == 1:  # a part header and half its body, then silence for ever
            f = FILES[0]
            cam.send(n, conn, b"--frame\r\nContent-Length: %d\r\n\r\n" % len(f) + f[:100])
            cam.stop.wait()
        else:
            cam.good_frames(n, conn)

    cam = HostileCamera(script)
    try:
        with Mjpegd("--source", f"http://127.0.0.1:{cam.port}/video",
                    "--source-timeout", "1") as relay:
            c, h = relay.open_stream()
            check_eq(h.status, 200, "stream status")
            ns1 = viewer_sees_no_signal_then_live(c)  # the boundary change, then connection 1
            check(cam.conns >= 2, f"no reconnect after the boundary change: {cam.conns}")
            ns2 = viewer_sees_no_signal_then_live(c)  # the stall, then connection 2
            check(cam.conns >= 3, f"no reconnect after the stall: {cam.conns}")
            for ns in (ns1, ns2):
                check_eq((ffprobe(ns)["width"], ffprobe(ns)["height"]), (320, 240), "no signal")
            check(wait_for(lambda: relay.state()["status"] == "ok", 30 * MULT), "not ok again")
            st = relay.state()
            check(st["restarts"] >= 2, f"restarts: {st}")
            check_eq(st["last_error"], "no frame for 1 s", "last_error after the stall")
            c.close()
    finally:
        cam.close()


@test(timeout=300)
def test_endless_header_lines_keep_memory_bounded_and_the_relay_recovers():
    flood = 64 << 20

    def script(cam, n, conn):
        if n == 1:  # an HTTP header line that never ends (libcurl's header cap ends it)
            cam.send(n, conn, b"HTTP/1.1 200 OK\r\nX-Junk: ")
            chunk = b"a" * 65536
            while not cam.stop.is_set() and cam.sent.get(n, 0) < flood:
                cam.send(n, conn, chunk)
            return
        cam.send(n, conn, head(b"frame"))
        cam.good_frames(n, conn, count=10)
        if n == 0:  # a part header line that never ends, then frames again, then close
            cam.go.wait()  # once the test has the relay's peak RSS before the junk
            cam.send(n, conn, b"--frame\r\nX-Junk: ")
            chunk = b"b" * 65536
            while not cam.stop.is_set() and cam.sent.get(n, 0) < flood:
                cam.send(n, conn, chunk)
            cam.send(n, conn, b"\r\n\r\n")
            cam.good_frames(n, conn, count=20)
            return  # closes: the relay reconnects
        cam.good_frames(n, conn)

    cam = HostileCamera(script)
    try:
        # No --source-timeout: the wait for go and a slow flood (sanitizers) must not trip it.
        with Mjpegd("--source", f"http://127.0.0.1:{cam.port}/video",
                    "--source-timeout", "0") as relay:
            base = hwm_kb(relay.pid)
            cam.go.set()
            check(wait_for(lambda: cam.conns >= 3 and relay.state()["status"] == "ok",
                           120 * MULT),
                  f"the relay did not reach a third connection: {cam.conns} {relay.state()}")
            check(cam.sent.get(0, 0) >= flood, f"connection 0 sent {cam.sent.get(0)}")
            st = relay.state()
            check(st["frames_dropped_by"]["invalid"] >= 1, f"the long header is not counted: {st}")
            # Connection 1 never opened (a failed reopen is no restart), connection 2 did.
            check(st["restarts"] >= 1, f"restarts: {st}")
            grown = hwm_kb(relay.pid) - base
            check(grown < 32 * 1024, f"peak RSS grew by {grown} KiB over {flood >> 20} MiB of junk")
            check("X-Junk" not in relay.stderr_text(), "junk echoed into the log")
            c, h = relay.open_stream()
            check(c.read_part()[1] in FILES, "a camera frame after it all")
            c.close()
    finally:
        cam.close()


@test(timeout=180)
def test_relay_of_an_mjpegd_with_auth_and_a_wrong_password_says_so_and_hides_both():
    with Mjpegd("--auth", "user:secret") as up:
        u = f"127.0.0.1:{up.port}/stream"
        with Mjpegd("--source", f"http://user:secret@{u}",
                    "--source", f"http://user:wrong@{u}") as relay:
            check(wait_for(lambda: source(relay, 0)["status"] == "ok", 30 * MULT),
                  f"the right password: {relay.state()}")
            check(wait_for(lambda: source(relay, 1)["last_error"] is not None, 30 * MULT),
                  f"no error for the wrong one: {relay.state()}")
            st = source(relay, 1)
            check_eq((st["status"], st["last_error"]), ("retrying", "Permission denied"),
                     "the wrong password")
            check("HTTP 401" in relay.stderr_text(), "the log does not say 401")
            # The upstream's password is nowhere a viewer or another user could read it.
            specs = [x["source"] for x in relay.state()["sources"]]
            check_eq(specs, [f"http://user:***@{u}"] * 2, "/state shows the specs without it")
            for where, text in (("/state", relay.get("/state").body.decode()),
                                ("/metrics", relay.get("/metrics").body.decode()),
                                ("the log", relay.stderr_text())):
                check(":secret@" not in text and ":wrong@" not in text, f"a password in {where}")
            with open(f"/proc/{relay.pid}/cmdline", "rb") as f:
                check(b"secret" not in f.read(), "the password in the process's argv (ps)")
            c, h = relay.open_stream("/stream")
            check_eq(ffprobe(c.read_part()[1])["codec_name"], "mjpeg", "relayed through auth")
            c.close()


@test(timeout=180)
def test_a_redirecting_upstream_is_named_as_such_and_its_location_not_logged():
    """An upstream that answers 302 (with an HTML body or none): redirects are not followed, the
    log says so (not curl's "Failed writing received data" nor "upstream closed the stream"),
    /state says Protocol error (not Connection reset by peer), and the Location, which may be
    relative to a URL with a password, is not logged."""
    def script(cam, n, conn):
        body = b"<html>moved</html>" if n % 2 else b""
        cam.send(n, conn, b"HTTP/1.1 302 Found\r\nLocation: /elsewhere-xyz\r\n"
                 b"Content-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    cam = HostileCamera(script)
    try:
        with Mjpegd("--source", f"http://user:pw@127.0.0.1:{cam.port}/video",
                    "--source", "test") as relay:
            check(wait_for(lambda: cam.conns >= 2 and source(relay, 0)["last_error"] is not None,
                           30 * MULT), f"no error: {relay.state()}")
            st = source(relay, 0)
            check_eq((st["status"], st["last_error"]), ("retrying", "Protocol error"), "a 302")
            log = relay.stderr_text()
            check("HTTP 302, a redirect" in log, f"the log does not name the redirect: {log}")
            check("Failed writing" not in log and "not a multipart" not in log,
                  f"curl's or the multipart check's words about a redirect: {log}")
            check("elsewhere-xyz" not in log and ":pw@" not in log, f"a Location in: {log}")
    finally:
        cam.close()


if __name__ == "__main__":
    main()
