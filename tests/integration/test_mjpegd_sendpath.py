#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd --send auto|splice|sendfile|copy: the same bytes on the wire, the path in /state and
/metrics, and stuck viewers that still skip to the newest frame on every path. Hostile viewers
(issue 11 review): stalled then byte by byte with a tiny buffer, resets mid-part, requests
pipelined ahead of /stream, viewers at the fd limit (memfds refused: parts go by copy); and no
part (no memfd) made for a source nobody streams."""
import os
import re
import tempfile
import threading
import time

from harness import check, check_eq, main, test, wait_for
from mjpegd_fixture import BOUNDARY, Mjpegd, PartParser, close_all, ffprobe, read_streams

PATHS = {"auto": "splice", "splice": "splice", "sendfile": "sendfile", "copy": "copy"}
PART_HEAD_RE = re.compile(rb"Content-Type: image/jpeg\r\nContent-Length: (\d+)\r\n"
                          rb"X-Timestamp: \d+\.\d{6}\r\n\r\n")


def raw_stream(srv, parts):
    """The response head and the raw bytes of the first `parts` parts of /stream."""
    c, r = srv.open_stream()
    try:
        check_eq(r.status, 200, "stream status")
        body = bytearray()
        # Every part is head + JPEG + CRLF + boundary line: count boundary lines read.
        first = c.read_until(b"\r\n")
        check_eq(first, b"--" + BOUNDARY + b"\r\n", "the first boundary line after the head")
        for _ in range(parts):
            head = c.read_until(b"\r\n\r\n", limit=4096)
            m = PART_HEAD_RE.fullmatch(head)
            check(m is not None, f"part head not in the wire format: {head!r}")
            data = c.read_exact(int(m.group(1)))
            tail = c.read_exact(len(b"\r\n--" + BOUNDARY + b"\r\n"))
            check_eq(tail, b"\r\n--" + BOUNDARY + b"\r\n", "the boundary after the frame")
            body += head + data + tail
        return r, bytes(body)
    finally:
        c.close()


def split_parts(body):
    """(head, jpeg) of each part of raw_stream's body."""
    out, pos = [], 0
    tail = b"\r\n--" + BOUNDARY + b"\r\n"
    while pos < len(body):
        m = PART_HEAD_RE.match(body, pos)
        n = int(m.group(1))
        start = m.end()
        out.append((body[pos:start], body[start:start + n]))
        pos = start + n + len(tail)
    return out


def metric(text, name, path):
    m = re.search(rf'^{name}{{path="{path}"}} (\d+)$', text, re.M)
    check(m is not None, f"no {name} for path {path} in /metrics")
    return int(m.group(1))


@test(timeout=180)
def test_every_send_path_sends_the_same_wire_format():
    heads = {}
    shapes = {}
    for opt, path in PATHS.items():
        with Mjpegd("--send", opt) as srv:
            check_eq(srv.state()["send_path"], path, f"/state send_path with --send {opt}")
            r, body = raw_stream(srv, 5)
            parts = split_parts(body)
            check_eq(len(parts), 5, "parts read")
            for _, jpeg in parts:
                st = ffprobe(jpeg)
                check_eq((st["codec_name"], st["width"], st["height"]), ("mjpeg", 320, 240),
                         f"a part's JPEG with --send {opt}")
            # The stream's response head, but for Date, is byte for byte the same on every path.
            heads[opt] = sorted((k, v) for k, v in r.headers if k.lower() != "date")
            # Each part's head has the same keys in the same order, and its length is right.
            shapes[opt] = [re.sub(rb"\d", b"0", h) for h, _ in parts]
            # A loop's sender adds to its counters after its send call returns, which may be
            # after this client has read the bytes and asked another loop: wait for the count.
            def counted():
                text = srv.get("/metrics").body.decode()
                return text if (metric(text, "mjpegd_send_parts_total", path) >= 5 and
                                metric(text, "mjpegd_send_bytes_total", path) >= len(body)) else None
            m = wait_for(counted, 10)
            m = m or srv.get("/metrics").body.decode()
            check(metric(m, "mjpegd_send_parts_total", path) >= 5,
                  f"/metrics counts no {path} parts with --send {opt}")
            check(metric(m, "mjpegd_send_bytes_total", path) >= len(body),
                  f"/metrics counts too few {path} bytes with --send {opt}")
            if path != "copy":
                check_eq(metric(m, "mjpegd_send_bytes_total", "copy"), 0,
                         f"copied stream bytes with --send {opt}")
            # /state says what ran too: whole parts by path, as /metrics counts them.
            sp = srv.state()["send_parts"]
            check_eq(sorted(sp), ["copy", "sendfile", "splice"], "/state send_parts keys")
            check(sp[path] >= 5, f"/state send_parts with --send {opt}: {sp}")
            check(all(v == 0 for k, v in sp.items() if k != path and k != "sendfile"),
                  f"/state send_parts with --send {opt}: {sp}")
            srv.check_fds()
    for opt in PATHS:
        check_eq(heads[opt], heads["copy"], f"response head with --send {opt} vs copy")
        check_eq(len(shapes[opt]), len(shapes["copy"]), "part count")


def stuck_then_read(opt):
    with Mjpegd("--size", "1280x720", "--fps", "30", "--send-timeout", "60", "--send", opt,
                small=False) as srv:
        c = srv.connect(rcvbuf=2048)
        c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        try:
            # Not reading while the source publishes 150 more frames (5 s at 30 fps): more
            # than the kernel's socket buffers (MBs on loopback) hold, so frames must be skipped.
            p0 = srv.state()["frames_published"]
            check(wait_for(lambda: srv.state()["frames_published"] >= p0 + 150, 60),
                  "the source did not publish 150 frames")
            r = c.read_head()
            check_eq(r.status, 200, "status")
            stamps = []
            gap_at = None
            for _ in range(200):
                hdrs, _ = c.read_part()
                stamps.append(float(hdrs["x-timestamp"]))
                if len(stamps) > 1 and stamps[-1] - stamps[-2] >= 0.5:
                    gap_at = len(stamps) - 1
                    break
                if time.time() - stamps[-1] < 0.3:
                    break
            check(gap_at is not None,
                  f"--send {opt}: no skip in {len(stamps)} parts after the stall (a backlog)")
        finally:
            c.close()
        srv.check_fds()


@test(timeout=120)
def test_stuck_viewer_skips_to_a_recent_frame_with_splice():
    stuck_then_read("splice")


@test(timeout=120)
def test_stuck_viewer_skips_to_a_recent_frame_with_sendfile():
    stuck_then_read("sendfile")


@test(timeout=120)
def test_stuck_viewer_skips_to_a_recent_frame_with_copy():
    stuck_then_read("copy")


TAIL = b"\r\n--" + BOUNDARY + b"\r\n"


def check_wire(data, what, complete=False):
    """Checks bytes of a stream body (after the first boundary line) part by part: the head's
    Content-Length is the JPEG's length, the JPEG starts with SOI and ends with EOI, the boundary
    line follows. Returns the number of whole parts; with complete, nothing may be left over."""
    pos, n = 0, 0
    while True:
        m = PART_HEAD_RE.match(data, pos)
        if m is None:
            rest = data[pos:]
            # What is left must be the beginning of a part head, nothing else.
            lead = b"Content-Type: image/jpeg\r\nContent-Length: "
            check(not complete and b"\r\n\r\n" not in rest and
                  (lead.startswith(rest) or rest.startswith(lead)),
                  f"{what}: part {n} does not start with a part head: {rest[:80]!r}")
            return n
        length = int(m.group(1))
        end = m.end() + length
        if end + len(TAIL) > len(data):
            check(not complete, f"{what}: part {n} cut short")
            return n
        jpeg = data[m.end():end]
        check(jpeg[:2] == b"\xff\xd8", f"{what}: part {n} has no SOI: {jpeg[:4]!r}")
        check(jpeg[-2:] == b"\xff\xd9", f"{what}: part {n} does not end with EOI: {jpeg[-4:]!r}"
                                         f" (Content-Length {length})")
        check_eq(data[end:end + len(TAIL)], TAIL, f"{what}: the boundary after part {n}")
        pos = end + len(TAIL)
        n += 1


def metrics_by_path(srv, name):
    text = srv.get("/metrics").body.decode()
    return {p: metric(text, name, p) for p in ("splice", "sendfile", "copy")}


@test(timeout=240)
def test_a_stalled_then_byte_by_byte_viewer_gets_only_whole_parts():
    """A viewer with a tiny receive buffer reads nothing until the server's socket is full (parts
    taken in part, resumed at their offset), then one byte at a time, then normally: every part
    the server started it finished before a newer one, each whole (Content-Length = the JPEG,
    SOI to EOI, the boundary after it)."""
    for opt in ("auto", "sendfile", "copy"):
        with Mjpegd("--size", "1280x720", "--fps", "30", "--send-timeout", "60", "--send", opt,
                    small=False) as srv:
            c = srv.connect(rcvbuf=1024)
            try:
                c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
                # As the stuck viewers' tests: more than the socket buffers hold is published.
                p0 = srv.state()["frames_published"]
                check(wait_for(lambda: srv.state()["frames_published"] >= p0 + 150, 60),
                      "the source did not publish 150 frames")
                r = c.read_head()
                check_eq(r.status, 200, "status")
                check_eq(c.read_until(b"\r\n"), b"--" + BOUNDARY + b"\r\n", "first boundary")
                data = bytearray(c.buf)
                c.buf.clear()
                while len(data) < 200000:
                    b = c.sock.recv(1)
                    check(b != b"", f"--send {opt}: the server closed the stream")
                    data += b
                t_end = time.monotonic() + 2.0
                while time.monotonic() < t_end:
                    data += c.sock.recv(65536)
                n = check_wire(bytes(data), f"--send {opt}")
                check(n >= 5, f"--send {opt}: only {n} whole parts in {len(data)} bytes")
            finally:
                c.close()
            m = metrics_by_path(srv, "mjpegd_send_bytes_total")
            print(f"# --send {opt}: stream bytes by path {m}")
            srv.check_fds()


@test(timeout=180)
def test_viewers_that_reset_mid_part_are_dropped_and_the_others_stream_on():
    with Mjpegd("--size", "640x480", "--fps", "30", "--workers", "1", small=False) as srv:
        keep, head = srv.open_stream()
        check_eq(head.status, 200, "the viewer that stays")
        parser = PartParser(status=200, keep=True)
        for _ in range(20):
            # A small receive buffer so that the server is mid-part when the reset comes.
            c, h = srv.open_stream(rcvbuf=2048)
            check_eq(h.status, 200, "a viewer that resets")
            c.read_exact(3000)  # the head's first boundary and some of the first part
            c.close(reset=True)
            read_streams([keep], 0.05, [parser])
        read_streams([keep], 1.0, [parser])
        check(not parser.eof, "the viewer that stayed was dropped")
        check(parser.frames >= 10, f"the viewer that stayed got only {parser.frames} frames")
        for i, jpeg in enumerate(parser.datas):
            check(jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9", f"part {i} is no JPEG")
        keep.close()
        check(wait_for(lambda: srv.state()["clients"] == 0, 10), "clients left behind")
        srv.check_fds()


@test(timeout=120)
def test_requests_pipelined_ahead_of_a_stream_are_answered_first():
    with Mjpegd() as srv:
        c = srv.connect()
        try:
            # Requests behind the stream's are never answered: the stream reads nothing more.
            c.send("GET /state HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /snapshot HTTP/1.1\r\nHost: t\r\n\r\n"
                   "HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /state HTTP/1.1\r\nHost: t\r\n\r\n")
            r1 = c.read_response()
            check_eq(r1.status, 200, "/state")
            check_eq(r1.header("content-type"), "application/json", "/state type")
            r2 = c.read_response()
            check_eq(r2.status, 200, "/snapshot")
            check(r2.body[:2] == b"\xff\xd8" and r2.body[-2:] == b"\xff\xd9", "/snapshot JPEG")
            # HEAD of a stream is its head alone, and closes: what follows is not answered.
            r3 = c.read_response("HEAD")
            check_eq(r3.status, 200, "HEAD /stream")
            check(r3.header("content-type", "").startswith("multipart/x-mixed-replace"),
                  "HEAD /stream type")
            rest = c.read_to_eof()
            check_eq(rest, b"", "bytes after HEAD /stream")
        finally:
            c.close()
        c = srv.connect()
        try:
            c.send("GET /state HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /snapshot HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /state HTTP/1.1\r\nHost: t\r\n\r\n")
            check_eq(c.read_response().status, 200, "/state")
            check_eq(c.read_response().status, 200, "/snapshot")
            r = c.read_head()
            check_eq(r.status, 200, "/stream")
            check_eq(c.read_until(b"\r\n"), b"--" + BOUNDARY + b"\r\n", "first boundary")
            data = bytearray(c.buf)
            c.buf.clear()
            while check_wire(bytes(data), "pipelined stream") < 5:
                d = c.sock.recv(65536)
                check(d != b"", "the stream closed")
                data += d
        finally:
            c.close()
        srv.check_fds()


@test(timeout=180)
def test_viewers_at_the_fd_limit_get_whole_parts():
    """At 48 fds, 60 viewers: some wait in the backlog, frames' memfds fail now and then
    (EMFILE: those parts go by copy); every viewer let in gets only whole parts."""
    srv = Mjpegd("--workers", "1", "--send-timeout", "600")
    srv.args = ["prlimit", "--nofile=48:48", "--"] + srv.args
    with srv:
        conns = []
        try:
            for _ in range(60):
                c = srv.connect()
                c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
                conns.append(c)
            check(wait_for(lambda: any("out of file descriptors" in ln for ln in srv.stderr_lines),
                           30), f"no EMFILE warning; {srv.fds()} fds in use")
            parsers = [PartParser(keep=True) for _ in conns]
            read_streams(conns, 3.0, parsers)
            served = [p for p in parsers if p.status == 200]
            check(len(served) >= 20, f"only {len(served)} viewers were let in")
            for i, p in enumerate(served):
                check(p.frames >= 5, f"viewer {i} got only {p.frames} frames at the fd limit")
                for k, jpeg in enumerate(p.datas):
                    check(jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9",
                          f"viewer {i} part {k} is no JPEG")
        finally:
            close_all(conns)
        m = metrics_by_path(srv, "mjpegd_send_parts_total")
        print(f"# parts by path at the fd limit: {m}")
        srv.check_fds()


def part_memfds(srv):
    """How many frame part memfds the server holds open."""
    n = 0
    for f in os.listdir(f"/proc/{srv.pid}/fd"):
        try:
            n += os.readlink(f"/proc/{srv.pid}/fd/{f}").startswith("/memfd:mjpegd-part")
        except OSError:
            pass
    return n


@test(timeout=120)
def test_no_part_is_made_until_someone_streams_and_a_late_viewer_gets_the_frame():
    """A source nobody streams costs no memfd per frame; a viewer who comes after the one frame
    a source published gets that frame (its part made when asked for)."""
    with Mjpegd() as pattern:
        jpeg = pattern.get("/snapshot").body
    check(jpeg[:2] == b"\xff\xd8", "no JPEG to feed")
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "in.fifo")
        os.mkfifo(fifo)

        def writer():
            # One frame, then the input stays open and silent (no newer frame ever comes).
            with open(fifo, "wb") as f:
                f.write(jpeg)
                f.flush()
                stop.wait(60)

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        try:
            with Mjpegd("--source", f"pipe:{fifo}") as srv:
                check(wait_for(lambda: srv.state()["frames_published"] >= 1, 20), "no frame published")
                check_eq(srv.get("/snapshot").body, jpeg, "the snapshot")
                check_eq(part_memfds(srv), 0, "part memfds with no viewer")
                c, r = srv.open_stream()
                try:
                    check_eq(r.status, 200, "stream status")
                    _, data = c.read_part()
                    check_eq(data, jpeg, "the one frame, to a viewer who came after it")
                    check(part_memfds(srv) >= 1, "no memfd for the part that was sent")
                finally:
                    c.close()
                check_eq(srv.state()["frames_published"], 1, "frames published")
        finally:
            stop.set()
            t.join(30)


@test(timeout=30)
def test_send_rejects_an_unknown_path():
    import subprocess
    from harness import binary
    r = subprocess.run([binary("mjpegd"), "--send", "zerocopy"], capture_output=True, timeout=10)
    check_eq(r.returncode, 2, "exit status of a bad --send")
    check(b"--send" in r.stderr, f"the error names the option: {r.stderr!r}")


if __name__ == "__main__":
    main()
