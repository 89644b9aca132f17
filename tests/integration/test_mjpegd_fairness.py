#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd fairness: one greedy client cannot starve its loop, and running out of fds backs off
instead of spinning (issue 7, faults 1 and 2)."""
import json
import os
import select
import socket
import struct
import threading
import time

from harness import MULT, check, check_eq, fd_count, main, test, wait_for
from mjpegd_fixture import Mjpegd, PartParser, close_all

BATCH = b"GET /state HTTP/1.1\r\nHost: t\r\n\r\n" * 200


class Greedy:
    """Pipelines GET /state as fast as the server answers: one thread writes batches of 200
    requests, another reads and counts the answers, so the server always has input to parse
    and room to write."""

    def __init__(self, srv):
        self.sock = socket.create_connection((srv.host, srv.port))
        self.answers = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._write, daemon=True),
                        threading.Thread(target=self._read, daemon=True)]
        for t in self.threads:
            t.start()

    def _write(self):
        try:
            while not self.stop.is_set():
                self.sock.sendall(BATCH)
        except OSError:
            pass

    def _read(self):
        tail = b""
        try:
            while not self.stop.is_set():
                d = self.sock.recv(1 << 20)
                if not d:
                    return
                d = tail + d
                self.answers += d.count(b"HTTP/1.1 200 ")
                tail = d[-16:]
                self.answers -= tail.count(b"HTTP/1.1 200 ")
        except OSError:
            pass

    def close(self):
        self.stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for t in self.threads:
            t.join(10 * MULT)
        # A reset, so the server drops what is still queued instead of answering it.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def count_frames(conn, parser, seconds):
    """Reads conn for `seconds` (not scaled: a counting window, nothing is asserted on time)."""
    deadline = time.monotonic() + seconds
    if conn.buf:
        parser.feed(bytes(conn.buf))
        conn.buf.clear()
    conn.sock.setblocking(False)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([conn.sock], [], [], min(left, 0.2))
            if r:
                try:
                    d = conn.sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                check(d != b"", "the viewer was disconnected")
                parser.feed(d)
    finally:
        conn.sock.setblocking(True)


def captured(srv):
    return json.loads(srv.get("/state").body)["frames_captured"]


@test(timeout=120)
def test_greedy_pipelining_client_does_not_starve_a_viewer():
    """With one loop, a viewer keeps getting frames while a client pipelines requests flat out.

    Counted in one window: the viewer's frames against the frames the source captured in it,
    and the greedy client's answers (it must be served too). Before the fix the loop answered
    the greedy client until its input ran dry, so the viewer got a few frames in seconds."""
    with Mjpegd("--workers", "1", "--fps", "30") as srv:
        viewer, head = srv.open_stream()
        check(head.status == 200, f"stream answered {head.status}")
        parser = PartParser(status=200)
        count_frames(viewer, parser, 1.0)
        check(parser.frames >= 1, "no frame before the greedy client started")
        greedy = Greedy(srv)
        try:
            # Let it fill the pipe first (reading the viewer meanwhile), then count.
            count_frames(viewer, parser, 0.5)
            c0, a0, f0 = captured(srv), greedy.answers, parser.frames
            count_frames(viewer, parser, 3.0)
            a1, f1 = greedy.answers, parser.frames
        finally:
            greedy.close()
        c1 = captured(srv)
        frames, caught, answers = f1 - f0, c1 - c0, a1 - a0
        print(f"# window: viewer {frames} frames, source {caught} frames, greedy {answers} answers")
        check(caught >= 15, f"only {caught} frames were captured in the window: inconclusive")
        check(answers >= 300, f"the greedy client got only {answers} answers: it was not served")
        check(frames * 3 >= caught, f"the viewer got {frames} of {caught} frames while a greedy "
                                    f"client shared its loop ({answers} answers)")
        viewer.close()


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@test(timeout=120)
def test_fd_exhaustion_backs_off_instead_of_spinning():
    """At 40 fds, 45 viewers: accept fails with EMFILE and nothing can be shed.

    Counted over a window: the server's warnings and its CPU time. Before the fix the
    level-triggered listener fired again at once: a full core and ~150,000 lines a second."""
    srv = Mjpegd("--workers", "1", "--fps", "5", "--send-timeout", "600")
    srv.args = ["prlimit", "--nofile=40:40", "--"] + srv.args
    with srv:
        conns = []
        try:
            for _ in range(45):
                c = srv.connect()
                c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
                conns.append(c)
            # Until the server has run out of fds (its count stops at the limit). Every fd
            # counts against the limit, the frames' part memfds too, which srv.fds() leaves
            # out: it read 38 for 10 s once on a loaded machine (plain build, a CPU hog).
            check(wait_for(lambda: fd_count(srv.pid) >= 39, 10),
                  f"only {fd_count(srv.pid)} fds in use ({srv.fds()} but the part memfds)")
            time.sleep(0.5)
            lines0, cpu0, t0 = len(srv.stderr_lines), cpu_seconds(srv.pid), time.monotonic()
            time.sleep(3.0)
            lines1, cpu1, t1 = len(srv.stderr_lines), cpu_seconds(srv.pid), time.monotonic()
            logged = srv.stderr_lines[lines0:lines1]
            ratio = (cpu1 - cpu0) / (t1 - t0)
            print(f"# window {t1 - t0:.1f} s: {len(logged)} lines, CPU {ratio:.2f} of a core")
            check(len(logged) <= 10, f"{len(logged)} log lines in {t1 - t0:.1f} s at EMFILE: "
                                     f"{logged[:3]}")
            check("out of file descriptors" in srv.stderr_text(), "no warning about the fds")
            check(ratio < 0.6, f"the server used {ratio:.2f} of a core while out of fds")
            # Once fds free, the waiting connections get in (30: each loop's part sender holds
            # 5 fds of the 40, so more viewers wait in the backlog ahead of this request).
            close_all(conns[:30])
            del conns[:30]
            check_eq(srv.get("/state").status, 200, "a request once fds were free again")
        finally:
            close_all(conns)
        srv.check_fds()


if __name__ == "__main__":
    main()
