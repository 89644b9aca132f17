#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd --send auto|splice|sendfile|copy: the same bytes on the wire, the path in /state and
/metrics, and stuck viewers that still skip to the newest frame on every path."""
import re
import time

from harness import check, check_eq, main, test, wait_for
from mjpegd_fixture import BOUNDARY, Mjpegd, ffprobe

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


@test(timeout=30)
def test_send_rejects_an_unknown_path():
    import subprocess
    from harness import binary
    r = subprocess.run([binary("mjpegd"), "--send", "zerocopy"], capture_output=True, timeout=10)
    check_eq(r.returncode, 2, "exit status of a bad --send")
    check(b"--send" in r.stderr, f"the error names the option: {r.stderr!r}")


if __name__ == "__main__":
    main()
