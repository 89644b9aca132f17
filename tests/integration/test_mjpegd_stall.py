#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd --source-timeout: a self-paced source that stays open but goes silent (a FIFO whose
writer stops sending) counts as failed after the timeout: status retrying with last_error
"no frame for N s", reopened through the supervision path, ok again once frames come back.
Sources that are not self-paced (test) and sleeping --on-demand sources never trip it."""
import os
import subprocess
import tempfile

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd


def source(srv, i):
    return srv.state()["sources"][i]


def jpegs(n):
    out = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                          "testsrc2=size=160x96:rate=10", "-frames:v", str(n), "-q:v", "5",
                          "-f", "mjpeg", "-"], capture_output=True, timeout=60 * MULT,
                         check=True).stdout
    check(len(out) < 48 * 1024, f"{n} frames do not fit in a pipe buffer: {len(out)} bytes")
    return out


@test(timeout=180)
def test_silent_fifo_writer_trips_the_stall_timeout_and_recovers():
    frames = jpegs(5)
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "cam.fifo")
        os.mkfifo(fifo)
        # O_RDWR: never blocks, and the FIFO keeps a reader, so writes made while the server
        # has closed it (between the stall and the reopen) wait in the pipe buffer.
        wfd = os.open(fifo, os.O_RDWR)
        try:
            os.write(wfd, frames)
            with Mjpegd("--source", "test", "--source", f"pipe:{fifo}", "--source-timeout",
                        "1", start_timeout=60) as srv:
                check(wait_for(lambda: source(srv, 1)["frames_published"] >= 1, 30),
                      f"the pipe published nothing: {source(srv, 1)}")
                # The writer is silent now: the source is failed after the timeout.
                check(wait_for(lambda: source(srv, 1)["status"] == "retrying", 60),
                      f"a silent pipe was never timed out: {source(srv, 1)}")
                st = source(srv, 1)
                check_eq(st["last_error"], "no frame for 1 s", "last_error")
                check_eq(source(srv, 0)["status"], "ok", "the test source is never timed out")
                # The no-signal frame is what a snapshot shows meanwhile.
                check_eq(srv.get("/1/snapshot").status, 200, "snapshot while retrying")
                # Frames again: reopened and ok, one restart or more. The writer keeps sending
                # (a frame per poll) until ok is seen, so that a second stall cannot hide it.
                parts = [b"\xff\xd8" + p for p in frames.split(b"\xff\xd8")[1:]]
                sent = [0]

                def feed_and_check():
                    os.write(wfd, parts[sent[0] % len(parts)])
                    sent[0] += 1
                    return source(srv, 1)["status"] == "ok"

                check(wait_for(feed_and_check, 60), f"the pipe did not come back: {source(srv, 1)}")
                check(source(srv, 1)["restarts"] >= 1, f"no restart counted: {source(srv, 1)}")
                # last_error is the last one seen: it stays once the source is ok again.
                check_eq(source(srv, 1)["last_error"], "no frame for 1 s", "last_error once ok")
        finally:
            os.close(wfd)


@test(timeout=120)
def test_pipe_waiting_for_its_first_frame_and_sleeping_source_do_not_trip_it():
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "silent.fifo")
        os.mkfifo(fifo)
        wfd = os.open(fifo, os.O_RDWR)
        try:
            with Mjpegd("--source-timeout", "0.5", "--source", "test", "--source", "test",
                        "--on-demand", "1", "--source", f"pipe:{fifo}", start_timeout=60) as srv:
                check(wait_for(lambda: source(srv, 1)["status"] == "idle", 30),
                      f"source 1 never slept: {source(srv, 1)}")
                # Many timeouts later: the sleeping source is still idle, the pipe that never
                # sent a frame is still waiting for its first one, nothing was restarted.
                f0 = source(srv, 0)["frames_published"]
                check(wait_for(lambda: source(srv, 0)["frames_published"] >= f0 + 60, 60),
                      "source 0 stalled")
                st = srv.state()["sources"]
                check_eq([s["status"] for s in st], ["ok", "idle", "starting"], "statuses")
                check_eq([s["restarts"] for s in st], [0, 0, 0], "restarts")
        finally:
            os.close(wfd)


if __name__ == "__main__":
    main()
