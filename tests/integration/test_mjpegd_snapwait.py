#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd /snapshot of a source with no fresh frame (asleep with --on-demand, or not producing
yet): the request is parked until the first frame published after it, or 503 at
--snapshot-timeout; a parked client holds a client slot and is freed when it leaves."""
import os
import tempfile
import time

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, ffprobe


def source(srv, i):
    return srv.state()["sources"][i]


def snapshot_metrics(srv):
    """(mjpegd_snapshots_waiting, mjpegd_snapshot_timeouts_total) from /metrics."""
    r = srv.get("/metrics")
    check_eq(r.status, 200, "/metrics")
    vals = dict(ln.split(" ", 1) for ln in r.body.decode().splitlines()
                if ln.startswith("mjpegd_snapshot"))
    return int(vals["mjpegd_snapshots_waiting"]), int(vals["mjpegd_snapshot_timeouts_total"])


@test(timeout=120)
def test_snapshot_of_a_sleeping_source_waits_for_a_fresh_frame():
    with Mjpegd("--source", "test", "--source", "test", "--on-demand", "1", "--size", "160x96",
                "--snapshot-timeout", "60", small=False) as srv:
        check(wait_for(lambda: source(srv, 1)["status"] == "idle", timeout=30),
              f"source 1 never slept: {srv.state()}")
        before = source(srv, 1)["frames_captured"]
        for path in ("/1/snapshot", "/?action=snapshot_1"):
            check(wait_for(lambda: source(srv, 1)["status"] == "idle", timeout=30),
                  f"source 1 did not sleep: {srv.state()}")
            asked = time.time()
            r = srv.get(path)
            check_eq(r.status, 200, f"{path} of a sleeping source")
            # A fresh frame, captured after the request: the stale one is from before the
            # source slept, a linger time (1 s) at least before the request. The 0.5 s slack
            # only tells the two apart; no speed is asserted.
            stamp = float(r.header("x-timestamp"))
            check(stamp > asked - 0.5, f"{path}: a stale frame ({stamp} < {asked})")
            check_eq(r.header("content-type"), "image/jpeg", "content type")
            info = ffprobe(r.body)
            check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 160, 96),
                     "ffprobe of the snapshot")
        st = source(srv, 1)
        check(st["frames_captured"] > before, f"the snapshot did not wake the source: {st}")
        check(st["status"] in ("ok", "idle"), f"status after the wake: {st}")
        # Nobody holds a slot once answered, and the source sleeps again.
        check(wait_for(lambda: srv.state()["clients"] == 0, timeout=20), "a slot was kept")
        check_eq(srv.state()["snapshots"], {"waiting": 0, "timeouts": 0},
                 "answered by a frame: not waiting, no timeout")
        check(wait_for(lambda: source(srv, 1)["status"] == "idle", timeout=30),
              f"source 1 did not sleep again: {srv.state()}")
        # A source that is up answers at once, as before.
        check_eq(srv.get("/snapshot").status, 200, "snapshot of source 0")
        srv.check_fds()


def silent_fifo(d):
    """A FIFO with a writer end held open (O_RDWR never blocks) that sends nothing. The server
    starts slowly on it: the pipe source waits 10 s for a first frame to learn the size, then
    the listening line waits up to 5 s for every source's first frame."""
    fifo = os.path.join(d, "silent.fifo")
    os.mkfifo(fifo)
    return fifo, os.open(fifo, os.O_RDWR)


@test(timeout=120)
def test_snapshot_of_a_source_that_never_produces_gets_503_at_the_deadline():
    with tempfile.TemporaryDirectory() as d:
        fifo, wfd = silent_fifo(d)
        try:
            with Mjpegd("--source", "test", "--source", f"pipe:{fifo}", "--snapshot-timeout",
                        "0.5", start_timeout=60) as srv:
                check_eq(srv.state()["snapshots"], {"waiting": 0, "timeouts": 0}, "none yet")
                for path in ("/1/snapshot", "/?action=snapshot_1"):
                    r = srv.get(path)
                    check_eq(r.status, 503, f"{path} of a silent source")
                    check_eq(r.header("retry-after"), "1", "Retry-After")
                # Each 503 at the deadline is a timeout; neither waits any more.
                check_eq(srv.state()["snapshots"], {"waiting": 0, "timeouts": 2},
                         "/state after two timeouts")
                check_eq(snapshot_metrics(srv), (0, 2), "/metrics after two timeouts")
                check_eq(srv.get("/snapshot").status, 200, "source 0 still answers at once")
                check(wait_for(lambda: srv.state()["clients"] == 0, timeout=20), "a slot kept")
                srv.check_fds()
        finally:
            os.close(wfd)


@test(timeout=120)
def test_parked_snapshot_that_leaves_or_is_there_at_shutdown_is_freed():
    with tempfile.TemporaryDirectory() as d:
        fifo, wfd = silent_fifo(d)
        try:
            with Mjpegd("--source", "test", "--source", f"pipe:{fifo}", "--snapshot-timeout",
                        "600", "--max-clients", "1", start_timeout=60) as srv:
                c = srv.connect()
                c.send(b"GET /1/snapshot HTTP/1.1\r\nHost: x\r\n\r\n")
                check(wait_for(lambda: srv.state()["clients"] == 1, timeout=20),
                      f"the snapshot was not parked: {srv.state()}")
                check(c.is_open_now(), "a parked snapshot was answered")
                # (The slot is taken just before the loop counts it as waiting: poll.)
                check(wait_for(lambda: srv.state()["snapshots"] == {"waiting": 1, "timeouts": 0},
                               timeout=20), f"/state with one parked: {srv.state()}")
                check_eq(snapshot_metrics(srv), (1, 0), "/metrics with one parked")
                # It holds the only client slot: a stream is refused meanwhile.
                s, head = srv.open_stream()
                check_eq(head.status, 503, "a stream past --max-clients")
                s.close()
                c.close()
                check(wait_for(lambda: srv.state()["clients"] == 0, timeout=20),
                      "the slot of a parked snapshot that left was not given back")
                check_eq(srv.state()["snapshots"], {"waiting": 0, "timeouts": 0},
                         "one that left neither waits nor timed out")
                check_eq(snapshot_metrics(srv), (0, 0), "/metrics once it left")
                srv.check_fds()
                # One parked at shutdown: closed and freed, the server exits 0.
                c = srv.connect()
                c.send(b"GET /1/snapshot HTTP/1.1\r\nHost: x\r\n\r\n")
                check(wait_for(lambda: srv.state()["clients"] == 1, timeout=20), "not parked")
                srv.stop()
                check_eq(srv.proc.returncode, 0, "exit status with a parked snapshot")
                check(c.closed_within(10 * MULT), "the parked client was not closed at shutdown")
                c.close()
        finally:
            os.close(wfd)


if __name__ == "__main__":
    main()
