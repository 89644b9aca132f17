#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd with several sources (/N/stream, ?action=stream_N, /state sources) and --on-demand."""
import re
import time

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, PartParser, ffprobe

TWO = ("--source", "test", "--size", "320x240", "--source", "test", "--size", "160x96", "--fps", "10")


def frames_from(srv, path, n=2, timeout=20.0):
    """Reads n whole frames of the stream at path; returns them."""
    c, r = srv.open_stream(path)
    try:
        check_eq(r.status, 200, f"{path} status")
        p = PartParser(keep=True, status=200)
        p.feed(bytes(c.buf))
        c.buf.clear()
        deadline = time.monotonic() + timeout * MULT
        while p.frames < n:
            check(time.monotonic() < deadline, f"{path}: only {p.frames} frames")
            data = c.sock.recv(65536)
            check(data, f"{path}: closed after {p.frames} frames")
            p.feed(data)
        return p.datas
    finally:
        c.close()


@test(timeout=90)
def test_two_sources_each_at_its_urls_and_size():
    with Mjpegd(*TWO, small=False) as srv:
        for path, size in (("/stream", (320, 240)), ("/1/stream", (160, 96)),
                           ("/?action=stream_1", (160, 96)), ("/?action=stream_0", (320, 240))):
            data = frames_from(srv, path)[0]
            info = ffprobe(data)
            check_eq((info["width"], info["height"]), size, f"{path} size")
        for path, size in (("/snapshot", (320, 240)), ("/1/snapshot", (160, 96)),
                           ("/?action=snapshot_1", (160, 96))):
            r = srv.get(path)
            check_eq(r.status, 200, f"{path} status")
            info = ffprobe(r.body)
            check_eq((info["width"], info["height"]), size, f"{path} size")
        for path in ("/2/stream", "/2/snapshot", "/?action=stream_2", "/?action=snapshot_2"):
            check_eq(srv.get(path).status, 404, f"{path} status")


@test(timeout=90)
def test_state_lists_every_source_per_the_contract():
    with Mjpegd(*TWO, small=False) as srv:
        c, r = srv.open_stream("/1/stream")
        try:
            check_eq(r.status, 200, "stream status")
            c.sock.recv(1000)

            def one_client():
                s = srv.state()
                return s["sources"][1]["clients"] == 1 and s["sources"][0]["clients"] == 0
            check(wait_for(one_client, timeout=10), f"clients per source: {srv.state()}")
            st = srv.state()
            check_eq(st["width"], 320, "top-level width is source 0's")
            srcs = st["sources"]
            check_eq(len(srcs), 2, "sources")
            for i, s in enumerate(srcs):
                for key in ("index", "source", "stream", "snapshot", "width", "height", "fps",
                            "target_fps", "clients", "status", "last_error"):
                    check(key in s, f"source {i} has no {key}: {s}")
                check_eq(s["index"], i, "index")
                check_eq(s["source"], "test", "source spec")
                check(s["last_error"] is None, f"last_error {s['last_error']!r}")
            check_eq((srcs[0]["stream"], srcs[0]["snapshot"]), ("/stream", "/snapshot"), "paths 0")
            check_eq((srcs[1]["stream"], srcs[1]["snapshot"]), ("/1/stream", "/1/snapshot"), "paths 1")
            check_eq((srcs[1]["width"], srcs[1]["height"], srcs[1]["target_fps"]), (160, 96, 10),
                     "source 1 size and rate")
            check(wait_for(lambda: srv.state()["sources"][1]["status"] == "ok", timeout=10),
                  "source 1 status")
            m = srv.get("/metrics").body.decode()
            check(re.search(r'^mjpegd_frames_captured_total\{source="1"\} \d+$', m, re.M),
                  f"no per-source metric with a source label: {m[:2000]}")
        finally:
            c.close()


@test(timeout=60)
def test_more_sources_than_the_cap_is_a_usage_error():
    import subprocess
    from harness import binary
    args = [binary("mjpegd")]
    for _ in range(17):
        args += ["--source", "test"]
    r = subprocess.run(args, capture_output=True, timeout=20)
    check_eq(r.returncode, 2, f"17 sources: {r.stderr!r}")


def captured(srv, i):
    s = srv.state()
    return s["sources"][i]["frames_captured"], s["sources"][i]["status"]


@test(timeout=120)
def test_on_demand_sleeps_wakes_and_sleeps_again():
    with Mjpegd("--source", "test", "--source", "test", "--on-demand", "1", "--size", "160x96",
                small=False) as srv:
        # Source 1 has no viewer: it goes to sleep after its linger time.
        check(wait_for(lambda: captured(srv, 1)[1] == "idle", timeout=20),
              f"source 1 never slept: {srv.state()}")
        check(captured(srv, 0)[1] == "ok", "source 0 (no --on-demand) stays open")
        # Asleep, it captures nothing: the counter holds still across two reads of /state
        # with source 0's frames moving in between.
        n1, _ = captured(srv, 1)
        f0 = captured(srv, 0)[0]
        check(wait_for(lambda: captured(srv, 0)[0] > f0 + 5, timeout=20), "source 0 runs")
        n2, st = captured(srv, 1)
        check_eq((n2, st), (n1, "idle"), "a sleeping source captured frames")
        # A viewer wakes it; frames arrive.
        data = frames_from(srv, "/1/stream", n=3)
        info = ffprobe(data[-1])
        check_eq((info["width"], info["height"]), (160, 96), "woken source size")
        # The viewer has left: it sleeps again.
        check(wait_for(lambda: captured(srv, 1)[1] == "idle", timeout=20),
              f"source 1 did not sleep again: {srv.state()}")
        check(captured(srv, 1)[0] > n2, "the woken source captured frames")
        # A snapshot wakes it too (and waits for the fresh frame: test_mjpegd_snapwait.py);
        # a 503 (past --snapshot-timeout on a very slow machine) is asked again.
        deadline = time.monotonic() + 20 * MULT
        r = srv.get("/1/snapshot")
        while r.status == 503 and time.monotonic() < deadline:
            check(r.header("retry-after") is not None, "503 without Retry-After")
            time.sleep(0.2)
            r = srv.get("/1/snapshot")
        check_eq(r.status, 200, "snapshot of a sleeping source")
        check_eq((ffprobe(r.body)["width"]), 160, "snapshot size")


@test(timeout=120)
def test_end_of_one_pipe_ends_only_that_source():
    import os
    import subprocess
    import tempfile
    import threading
    mjpeg = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                            "testsrc2=size=160x96:rate=10", "-frames:v", "20", "-q:v", "5",
                            "-f", "mjpeg", "-"], capture_output=True, timeout=60 * MULT,
                           check=True).stdout
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "cam.mjpeg")
        os.mkfifo(fifo)

        def writer():
            with open(fifo, "wb") as f:  # blocks until the server opens the FIFO
                f.write(mjpeg)
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        with Mjpegd("--source", "test", "--source", f"pipe:{fifo}", small=False) as srv:
            t.join(timeout=30 * MULT)
            check(wait_for(lambda: srv.state()["sources"][1]["status"] == "ended", timeout=30),
                  f"the ended pipe source: {srv.state()}")
            s1 = srv.state()["sources"][1]
            check_eq(s1["last_error"], "end of input", "last_error")
            check(s1["frames_published"] >= 1, f"the pipe published nothing: {s1}")
            check(srv.alive(), "the server exited with the pipe")
            frames_from(srv, "/stream", n=3)  # source 0 goes on
            check_eq(srv.get("/1/snapshot").status, 200, "the last frame of the ended source")


if __name__ == "__main__":
    main()
