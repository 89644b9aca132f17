#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd playback of recordings: GET /recordings (the catalogs' segments per source) and
GET /recordings/SEGMENT[?at=TIME] (a multipart stream paced at the recorded rate, then the end).
Segments are written by tests/integration/rec_writer.py per the recording contract, from
snapshots of the server's own test source; hostile names, the playback cap, a client that stalls
mid-playback. No wall-clock asserts: pacing is checked against the recorded gaps with slack in
one direction only (a playback never runs faster than recorded)."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, PartParser, ffprobe_count_frames
import rec_writer

GAP_US = 40000  # 25 fps as recorded


def snapshots(srv, n):
    """n distinct JPEGs from the server's test source."""
    out = []
    last = None
    while len(out) < n:
        r = srv.get("/snapshot")
        check_eq(r.status, 200, "snapshot")
        if r.body != last:
            out.append(r.body)
            last = r.body
    return out


def frames_at(start_us, jpegs, gap_us=GAP_US):
    return [(start_us + i * gap_us, j) for i, j in enumerate(jpegs)]


def play(srv, path, timeout=60):
    """GETs a playback to its end; returns (status, parser with kept frames)."""
    c = srv.connect(timeout=timeout * MULT)
    try:
        p = PartParser(keep=True)
        p.asked = time.monotonic()  # the server cannot start pacing before the request
        c.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        while True:
            data = c.sock.recv(65536)
            if not data:
                break
            p.feed(data, time.monotonic())
        return p.status, p
    finally:
        c.close()


def listing(srv):
    r = srv.get("/recordings")
    check_eq(r.status, 200, "/recordings")
    check_eq(r.header("content-type"), "application/json", "content type")
    return json.loads(r.body)


@test(timeout=120)
def test_list_and_play_a_segment():
    with tempfile.TemporaryDirectory() as d, Mjpegd("--recordings", d) as srv:
        check_eq(listing(srv), {"sources": []}, "no catalog yet")
        jpegs = snapshots(srv, 12)
        t0 = 1764754567_000000
        a = rec_writer.write_segment(d, "0", frames_at(t0, jpegs[:6]), seq=1)
        b = rec_writer.write_segment(d, "0", frames_at(t0 + 60_000000, jpegs[6:]), seq=7,
                                     index_offset="data")
        c = rec_writer.write_segment(d, "cam1", frames_at(t0 + 5_000000, jpegs[:3]), seq=1,
                                     index_offset=0)  # no usable index_offset: the tar walk
        js = listing(srv)
        check_eq([s["name"] for s in js["sources"]], ["0", "cam1"], "sources by name")
        segs = js["sources"][0]["segments"]
        check_eq([s["name"] for s in segs], [a, b], "segments by start")
        check_eq(segs[0]["frames"], 6, "frames")
        check_eq(segs[0]["start"], t0 / 1e6, "start")
        check_eq(segs[0]["end"], (t0 + 5 * GAP_US) / 1e6, "end")
        check_eq(segs[0]["bytes"], os.path.getsize(os.path.join(d, "0", a)), "bytes")
        check_eq(segs[0]["reason"], "always", "reason")
        rec_writer.write_segment(d, "cam1", frames_at(t0 + 9_000000, jpegs[:2]), seq=5,
                                 reason="motion")
        check_eq([s["reason"] for s in listing(srv)["sources"][1]["segments"]],
                 ["always", "motion"], "reason per segment")
        for name, want in ((a, jpegs[:6]), (b, jpegs[6:]), (c, jpegs[:3])):
            status, p = play(srv, f"/recordings/{name}")
            check_eq(status, 200, f"play {name}")
            check(p.eof or True, "")
            check_eq([bytes(x) for x in p.datas], want, f"{name}: the recorded frames, in order")
            stamps = [float(t) for t in p.timestamps]
            check_eq(len(stamps), len(want), "one X-Timestamp per frame")
            check(all(x < y for x, y in zip(stamps, stamps[1:])), f"timestamps in order {stamps}")
        # Paced: never faster than recorded (5 gaps of 40 ms between the first and last part).
        status, p = play(srv, f"/recordings/{a}")
        # (From the request: a client scheduled late would see the first parts bunched up.)
        took = p.recv_times[-1] - p.asked
        check(took >= 5 * GAP_US / 1e6 - 0.01, f"6 frames 40 ms apart played in {took:.3f} s")
        srv.check_fds()


@test(timeout=120)
def test_at_starts_from_a_moment():
    with tempfile.TemporaryDirectory() as d, Mjpegd("--recordings", d) as srv:
        jpegs = snapshots(srv, 10)
        t0 = 1764754567_000000  # 2025-12-03T09:36:07Z
        name = rec_writer.write_segment(d, "0", frames_at(t0, jpegs, gap_us=100000))
        cases = {
            f"{(t0 + 400000) / 1e6:.6f}": 4,        # unix seconds, on a frame
            f"{(t0 + 350000) / 1e6:.3f}": 4,        # between frames: the next one
            "2025-12-03T09:36:07.5Z": 5,            # ISO 8601
            "2025-12-03T10:36:07.7%2B01:00": 7,     # with a zone (+ escaped)
            "2025-12-03T10:36:07.7+01:00": 7,       # a raw '+' decodes to a space: still +
            "20251203T093607.2Z": 2,                # the basic form
            "2025-12-03T09:00:00Z": 0,              # before the segment: from its start
        }
        for at, first in cases.items():
            status, p = play(srv, f"/recordings/{name}?at={at}")
            check_eq(status, 200, f"?at={at}")
            check_eq([bytes(x) for x in p.datas], jpegs[first:], f"?at={at}: from frame {first}")
        check_eq(play(srv, f"/recordings/{name}?at=2025-12-03T09:37:00Z")[0], 416, "after the end")
        for bad in ("yesterday", "2025-13-03T00:00:00Z", "2025-02-30T00:00:00Z", "12x", ""):
            check_eq(srv.get(f"/recordings/{name}?at={bad}").status, 400, f"?at={bad!r}")
        srv.check_fds()


@test(timeout=120)
def test_hostile_names():
    with tempfile.TemporaryDirectory() as d, Mjpegd("--recordings", d) as srv:
        jpegs = snapshots(srv, 2)
        name = rec_writer.write_segment(d, "0", frames_at(1764754567_000000, jpegs))
        # A file next to the catalog that is not in it is never served.
        with open(os.path.join(d, "0", "stray.tar"), "wb") as f:
            f.write(open(os.path.join(d, "0", name), "rb").read())
        cases = {
            "/recordings/nope.tar": 404,
            "/recordings/stray.tar": 404,
            "/recordings/../recordings.sqlite": 404,
            "/recordings/%2e%2e%2f%2e%2e%2fetc%2fpasswd": 400,
            "/recordings/..%2Frecordings.sqlite": 404,  # /recordings.sqlite: no such page
            "/recordings/0%2F" + name: 400,
            "/recordings/.hidden": 400,
            "/recordings/a%00b": 400,
            "/recordings/" + "x" * 200: 400,
            "/recordings/a b": 400,
        }
        for path, want in cases.items():
            check_eq(srv.get(path.replace(" ", "%20")).status, want, path)
        # ".." is normalised away: /recordings/.. is the viewer page, not a file.
        r = srv.get("/recordings/..")
        check_eq((r.status, r.header("content-type")), (200, "text/html; charset=utf-8"), "..")
        # Odd rows from whatever wrote the catalog still make valid JSON.
        rec_writer.add_row(d, "neg.tar", "odd\"src\\\x01", -1500000, -2**63, 0, -1, 0, "x\ny")
        js = listing(srv)
        odd = [s for s in js["sources"] if s["name"] == "odd\"src\\\x01"]
        check_eq(len(odd), 1, f"the odd source listed: {js}")
        check_eq((odd[0]["segments"][0]["start"], odd[0]["segments"][0]["end"],
                  odd[0]["segments"][0]["reason"]), (-1.5, -9223372036854.775808, "x\ny"),
                 "negative times, escaped text")
        check_eq(srv.get("/recordings/neg.tar").status, 404, "a row naming an impossible source")
        # A catalog row whose source would climb out of the folder is refused, not followed.
        rec_writer.add_row(d, "evil.tar", "..", 1, 2, 1, 10, 0)
        check_eq(srv.get("/recordings/evil.tar").status, 404, "a row with source ..")
        check_eq(srv.get("/recordings/" + name).status, 200, "the real one still plays")
        check(srv.alive(), "server died")
        srv.check_fds()


def open_playback(srv, path, rcvbuf=None):
    c = srv.connect(rcvbuf=rcvbuf)
    c.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return c


@test(timeout=180)
def test_playbacks_are_capped_and_a_stalled_one_does_not_hold_the_loop():
    with tempfile.TemporaryDirectory() as d, \
            Mjpegd("--recordings", d, "--max-playbacks", "2", "--workers", "1",
                   "--send-timeout", "8", "--log-level", "debug") as srv:
        jpegs = snapshots(srv, 4)
        # A long segment of 40 frames 0.5 s apart: each playback of it lasts 20 s.
        t0 = 1764754567_000000
        name = rec_writer.write_segment(d, "0", [(t0 + i * 500000, jpegs[i % 4])
                                                 for i in range(40)])
        last = f"/recordings/{name}?at={(t0 + 39 * 500000) / 1e6}"  # its last frame only
        held = [open_playback(srv, f"/recordings/{name}") for _ in range(2)]
        for c in held:
            check_eq(c.read_head().status, 200, "a playback within the cap")
        r = srv.get(f"/recordings/{name}")
        check_eq(r.status, 503, "past --max-playbacks")
        check(r.header("retry-after") is not None, "Retry-After")
        check_eq(srv.get("/recordings").status, 503, "a listing counts too")
        for c in held:
            c.close()
        check(wait_for(lambda: srv.get(last).status == 200, timeout=20),
              "slots freed when the playbacks left")
        # A client that reads nothing, with a tiny receive buffer, on the only loop; 60 frames
        # of 256 KiB 1 ms apart: far more than the socket buffers hold.
        fat = [(t0 + i * 1000, os.urandom(256 * 1024)) for i in range(60)]
        fname = rec_writer.write_segment(d, "0", fat, seq=99)
        stalled = open_playback(srv, f"/recordings/{fname}", rcvbuf=4096)
        check_eq(stalled.read_head().status, 200, "the stalled one plays (holds a slot)")
        # Another playback on the same loop goes on at its pace meanwhile, and so do the rest.
        c = open_playback(srv, f"/recordings/{name}")
        check_eq(c.read_head().status, 200, "a playback beside a stalled one")
        # The stalled one holds its slot (until --send-timeout, 8 s without progress).
        check_eq(srv.get(last).status, 503, "both slots are taken")
        for i in range(3):
            hdrs, data = c.read_part()
            check_eq(data, jpegs[i % 4], f"frame {i} beside a stalled playback")
        check_eq(srv.get("/state").status, 200, "/state beside a stalled playback")
        live, head = srv.open_stream()
        check_eq(head.status, 200, "live stream beside a stalled playback")
        live.read_part()
        live.close()
        # --send-timeout ends the stalled one: then its slot is back too.
        c.close()
        check(wait_for(lambda: srv.get(last).status == 200, timeout=20), "c's slot came back")
        # (Two 20 s playbacks at once: a 1-frame one could end before the second asks.)
        check(wait_for(lambda: slots_free(srv, f"/recordings/{name}", 2), timeout=30),
              "the stalled playback kept its slot")
        # It was cut off, not played to its end: what it gets before EOF is short of it.
        check(stalled.closed_within(30), "no EOF on the stalled playback")
        got = len(stalled.buf)
        check(got < 60 * 256 * 1024, f"the stalled client got the whole segment ({got} bytes)")
        check("send timeout" in srv.stderr_text(), "closed by --send-timeout")
        stalled.close()
        srv.check_fds()


def slots_free(srv, path, n):
    """Whether n playbacks of path can run at once now."""
    conns = [open_playback(srv, path) for _ in range(n)]
    try:
        return all(c.read_head().status == 200 for c in conns)
    finally:
        for c in conns:
            c.close()


@test(timeout=120)
def test_ffprobe_decodes_a_playback():
    with tempfile.TemporaryDirectory() as d, Mjpegd("--recordings", d) as srv:
        jpegs = snapshots(srv, 8)
        name = rec_writer.write_segment(d, "0", frames_at(1764754567_000000, jpegs))
        status, p = play(srv, f"/recordings/{name}")
        check_eq(status, 200, "play")
        # The body as recorded by a client (from the first boundary on).
        c = srv.connect()
        c.send(f"GET /recordings/{name} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        c.read_head()
        body = c.read_to_eof()
        c.close()
        info = ffprobe_count_frames(body, "mpjpeg")
        check_eq(info["codec_name"], "mjpeg", "codec")
        check_eq(int(info["nb_read_frames"]), 8, "every frame decodes")
        # And straight from the server, as an http input, with timestamps in order.
        url = f"http://127.0.0.1:{srv.port}/recordings/{name}"
        r = subprocess.run(["ffprobe", "-v", "error", "-f", "mpjpeg", "-show_entries",
                            "packet=pts_time", "-of", "json", url],
                           capture_output=True, timeout=60 * MULT)
        check_eq(r.returncode, 0, f"ffprobe http: {r.stderr.decode(errors='replace')}")
        pk = json.loads(r.stdout).get("packets", [])
        check_eq(len(pk), 8, f"packets over http: {pk}")
        srv.check_fds()


@test(timeout=240)
def test_end_to_end_record_then_play():
    """The real recorder (--record, a short --segment) and playback in one server: listed while
    it records, each segment played whole with its timestamps in order, ?at= mid-segment,
    ffprobe over HTTP."""
    with tempfile.TemporaryDirectory() as d, \
            Mjpegd("--size", "160x120", "--fps", "20", "--record", d, "--segment", "1",
                   small=False) as srv:
        def committed():
            js = listing(srv)
            segs = js["sources"][0]["segments"] if js["sources"] else []
            # Two segments, one of 5 frames at least (a loaded machine may capture fewer).
            return segs if len(segs) >= 2 and any(s["frames"] >= 5 for s in segs) else None
        segs = wait_for(committed, timeout=60)
        check(segs, f"no two committed segments in /recordings: {listing(srv)}")
        check_eq(listing(srv)["sources"][0]["name"], "0", "the source's name")
        check(all(a["start"] <= a["end"] <= b["start"] for a, b in zip(segs, segs[1:])),
              f"segments' ranges in order, apart: {segs}")
        seg = next(s for s in segs if s["frames"] >= 5)
        status, p = play(srv, f"/recordings/{seg['name']}")
        check_eq(status, 200, "play a recorded segment")
        check_eq(len(p.datas), seg["frames"], "every recorded frame played")
        stamps = [float(t) for t in p.timestamps]
        check(all(x < y for x, y in zip(stamps, stamps[1:])), f"timestamps in order: {stamps}")
        check(abs(stamps[0] - seg["start"]) < 1e-5 and abs(stamps[-1] - seg["end"]) < 1e-5,
              f"timestamps {stamps[0]}..{stamps[-1]} vs the catalog's {seg}")
        check(all(bytes(x[:2]) == b"\xff\xd8" for x in p.datas), "JPEGs")
        # Paced as recorded: never faster than the capture gaps (1 ms of slack for rounding).
        took = p.recv_times[-1] - p.asked
        check(took >= stamps[-1] - stamps[0] - 0.01, f"played in {took:.3f} s, recorded over "
              f"{stamps[-1] - stamps[0]:.3f} s")
        # ?at= mid-segment: from the first frame at or after that moment.
        mid = stamps[len(stamps) // 2]
        sec, frac = f"{mid:.6f}".split(".")  # X-Timestamp has exactly microseconds
        for at in (f"{mid:.6f}",
                   time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(sec))) + f".{frac}Z"):
            status, q = play(srv, f"/recordings/{seg['name']}?at={at}")
            check_eq(status, 200, f"?at={at}")
            got = [float(t) for t in q.timestamps]
            check_eq(got, [t for t in stamps if t >= float(f"{mid:.6f}") - 1e-7],
                     f"?at={at}: the frames from the middle on")
        # ffprobe reads it straight from the server and decodes every frame.
        url = f"http://127.0.0.1:{srv.port}/recordings/{seg['name']}"
        r = subprocess.run(["ffprobe", "-v", "error", "-f", "mpjpeg", "-count_frames",
                            "-select_streams", "v:0", "-show_entries",
                            "stream=codec_name,width,height,nb_read_frames", "-of", "json", url],
                           capture_output=True, timeout=60 * MULT)
        check_eq(r.returncode, 0, f"ffprobe: {r.stderr.decode(errors='replace')}")
        st = json.loads(r.stdout)["streams"][0]
        check_eq((st["codec_name"], st["width"], st["height"], int(st["nb_read_frames"])),
                 ("mjpeg", 160, 120, seg["frames"]), "ffprobe of a recorded segment")
        # The hostile cases against the real catalog.
        check_eq(srv.get("/recordings/" + seg["name"][:-4] + "x.tar").status, 404, "unknown")
        check_eq(srv.get("/recordings/..%2F..%2Fetc%2Fpasswd").status, 400, "../ name")
        check_eq(srv.get("/recordings/0%2F" + seg["name"]).status, 400, "a path")
        check(srv.alive(), "server died")


@test(timeout=240)
def test_two_sources_recorded_into_one_folder_are_listed_and_played_apart():
    with tempfile.TemporaryDirectory() as d, \
            Mjpegd("--fps", "20", "--record", d, "--segment", "1", "--source", "test",
                   "--size", "160x120", "--source", "test", "--size", "96x64",
                   small=False) as srv:
        def both():
            js = listing(srv)
            names = [s["name"] for s in js["sources"]]
            return js if names == ["0", "1"] and all(s["segments"] for s in js["sources"]) \
                else None
        js = wait_for(both, timeout=60)
        check(js, f"both sources listed: {listing(srv)}")
        for src, size in zip(js["sources"], ((160, 120), (96, 64))):
            seg = src["segments"][0]
            url = f"http://127.0.0.1:{srv.port}/recordings/{seg['name']}"
            r = subprocess.run(["ffprobe", "-v", "error", "-f", "mpjpeg", "-show_entries",
                                "stream=width,height", "-of", "json", url],
                               capture_output=True, timeout=60 * MULT)
            check_eq(r.returncode, 0, f"ffprobe: {r.stderr.decode(errors='replace')}")
            st = json.loads(r.stdout)["streams"][0]
            check_eq((st["width"], st["height"]), size, f"source {src['name']}'s own frames")


def traced(pid):
    """Whether every thread of pid has a tracer (strace's attach is complete)."""
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                if "TracerPid:\t0\n" in f.read():
                    return False
    except FileNotFoundError:
        return False
    return True


@test(timeout=240)
def test_a_slow_disk_never_slows_the_loop():
    """Every pread64 of the server takes 0.5 s (strace -e inject=...:delay_enter; SQLite's reads
    too): a playback on the only loop creeps, while a live stream on that loop goes on."""
    if shutil.which("strace") is None:
        print("# test_a_slow_disk_never_slows_the_loop: SKIP strace is not installed", flush=True)
        return
    with tempfile.TemporaryDirectory() as d, Mjpegd("--recordings", d, "--workers", "1") as srv:
        jpegs = snapshots(srv, 6)
        name = rec_writer.write_segment(d, "0", frames_at(1764754567_000000, jpegs))
        st = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=pread64",
                               "-e", "inject=pread64:delay_enter=500000", "-p", str(srv.pid)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        try:
            if not wait_for(lambda: traced(srv.pid) or st.poll() is not None, 10) or \
                    not traced(srv.pid):
                print("# test_a_slow_disk_never_slows_the_loop: SKIP strace cannot attach: "
                      f"{st.stderr.read(500)!r}", flush=True)
                return
            pb = srv.connect(timeout=120 * MULT)
            pb.send(f"GET /recordings/{name} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            parser = PartParser(keep=True)
            # The catalog lookup, the index and 6 frames take 8+ preads: 4+ s, against 0.7 s
            # for 20 live parts at 30 fps (TSan on loaded cores streams 30 fps too). Meanwhile
            # the loop that will send them serves the live stream and /state as usual; a loop
            # that read the disk itself would have sent the whole playback first.
            live, head = srv.open_stream()
            check_eq(head.status, 200, "live stream")
            for _ in range(20):
                live.read_part()
            live.close()
            check_eq(srv.get("/state").status, 200, "/state during slow reads")
            pb.sock.setblocking(False)
            try:
                parser.feed(pb.sock.recv(1 << 20))
            except BlockingIOError:
                pass
            check(parser.frames < len(jpegs), f"the playback did not wait for the disk: "
                  f"{parser.frames} frames already")
            pb.sock.settimeout(120 * MULT)
            while True:
                data = pb.sock.recv(1 << 20)
                if not data:
                    break
                parser.feed(data)
            check_eq(parser.status, 200, "the slow playback")
            check_eq([bytes(x) for x in parser.datas], jpegs, "every frame, in order, at last")
            pb.close()
        finally:
            if st.poll() is None:
                st.send_signal(signal.SIGINT)  # detaches; the server carries on
                try:
                    st.wait(10 * MULT)
                except subprocess.TimeoutExpired:
                    st.kill()
                    st.wait()
            st.stderr.close()
        check(srv.alive(), "server died")


@test(timeout=120)
def test_a_segment_deleted_mid_playback_plays_to_its_end():
    """Retention deletes the catalog row, then the file, maybe while someone watches it: the
    reader holds the file open, so the playback goes on; a new request is 404."""
    import sqlite3
    with tempfile.TemporaryDirectory() as d, Mjpegd("--recordings", d) as srv:
        jpegs = snapshots(srv, 10)
        name = rec_writer.write_segment(d, "0", frames_at(1764754567_000000, jpegs, 200000))
        c = open_playback(srv, f"/recordings/{name}")
        check_eq(c.read_head().status, 200, "playing")
        first = c.read_part()[1]
        db = sqlite3.connect(os.path.join(d, "recordings.sqlite"))
        db.execute("DELETE FROM segments WHERE name = ?", (name,))
        db.commit()
        db.close()
        os.unlink(os.path.join(d, "0", name))
        rest = [c.read_part()[1] for _ in range(len(jpegs) - 1)]
        check_eq([first] + rest, jpegs, "every frame of the deleted segment")
        check(c.closed_within(30), "the playback ends")
        c.close()
        check_eq(srv.get(f"/recordings/{name}").status, 404, "gone for new requests")
        check_eq(listing(srv), {"sources": []}, "and from the listing")
        srv.check_fds()


@test(timeout=60)
def test_a_broken_catalog_is_skipped():
    with tempfile.TemporaryDirectory() as good, tempfile.TemporaryDirectory() as bad, \
            Mjpegd("--recordings", bad, "--recordings", good) as srv:
        with open(os.path.join(bad, "recordings.sqlite"), "wb") as f:
            f.write(b"not a database" * 100)
        jpegs = snapshots(srv, 2)
        name = rec_writer.write_segment(good, "0", frames_at(1764754567_000000, jpegs))
        check_eq([s["name"] for s in listing(srv)["sources"][0]["segments"]], [name],
                 "the good catalog listed past the broken one")
        status, p = play(srv, f"/recordings/{name}")
        check_eq((status, len(p.datas)), (200, 2), "and played")
        check("recordings:" in srv.stderr_text(), "the broken catalog is logged")
        srv.check_fds()


@test(timeout=60)
def test_no_recordings_configured():
    with Mjpegd() as srv:
        check_eq(listing(srv), {"sources": []}, "no --recordings")
        check_eq(srv.get("/recordings/20251203T093607Z-1.tar").status, 404, "nothing to play")
        r = srv.get("/recordings", method="HEAD")
        check_eq(r.status, 200, "HEAD /recordings")


def metrics(srv):
    """The unlabelled samples of /metrics, by name."""
    r = srv.get("/metrics")
    check_eq(r.status, 200, "/metrics")
    out = {}
    for ln in r.body.decode().splitlines():
        m = re.match(r"^([a-z_]+) (\S+)$", ln)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


@test(timeout=120)
def test_a_listing_keeps_the_connection_alive():
    """/recordings is an ordinary response: pipelined requests behind it are answered in
    order on the same connection, a keep-alive client reuses it, Connection: close and
    HTTP/1.0 close it as for /state."""
    with tempfile.TemporaryDirectory() as d, Mjpegd("--recordings", d) as srv:
        jpegs = snapshots(srv, 3)
        name = rec_writer.write_segment(d, "0", frames_at(1764754567_000000, jpegs))
        want = listing(srv)
        check_eq(want["sources"][0]["segments"][0]["name"], name, "the segment is listed")
        c = srv.connect()
        req = "GET {} HTTP/1.1\r\nHost: t\r\n\r\n"
        c.send(req.format("/recordings") + req.format("/state") + req.format("/recordings"))
        got = [c.read_response() for _ in range(3)]
        check_eq([r.status for r in got], [200, 200, 200], "three pipelined answers")
        check_eq([r.header("connection") for r in got], ["keep-alive"] * 3, "kept alive")
        check_eq(json.loads(got[0].body), want, "first answer: the listing")
        check("playbacks" in json.loads(got[1].body), "second answer: /state")
        check_eq(json.loads(got[2].body), want, "third answer: the listing again")
        check(c.is_open_now(), "the connection is still open after the listing")
        # HEAD, then a listing that asks to close: answered, then EOF.
        c.send("HEAD /recordings HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /recordings HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        h = c.read_response(method="HEAD")
        check_eq((h.status, h.header("connection")), (200, "keep-alive"), "HEAD /recordings")
        check_eq(int(h.header("content-length")), len(got[0].body), "HEAD's Content-Length")
        r = c.read_response()
        check_eq((r.status, r.header("connection")), (200, "close"), "Connection: close")
        check_eq(json.loads(r.body), want, "the listing before the close")
        check(c.closed_within(10), "not closed after Connection: close")
        c.close()
        # HTTP/1.0 without keep-alive closes, as for /state.
        c = srv.connect()
        r = c.request("GET /recordings HTTP/1.0\r\n\r\n")
        check_eq((r.status, r.header("connection")), (200, "close"), "HTTP/1.0")
        check(c.closed_within(10), "HTTP/1.0 not closed")
        c.close()
        # A keep-alive client (http.client) reuses one connection for two listings.
        h = http.client.HTTPConnection(srv.host, srv.port, timeout=10 * MULT)
        try:
            socks = []
            for _ in range(2):
                h.request("GET", "/recordings")
                resp = h.getresponse()
                check_eq(resp.status, 200, "http.client /recordings")
                check_eq(json.loads(resp.read()), want, "http.client body")
                check(h.sock is not None, "http.client saw the connection close")
                socks.append(h.sock)
            check(socks[0] is socks[1], "http.client reconnected for the second listing")
        finally:
            h.close()
        check(wait_for(lambda: srv.state()["playbacks"]["active"] == 0, timeout=20),
              "listings still hold slots")
        srv.check_fds()


@test(timeout=120)
def test_playbacks_are_counted_in_state_and_metrics():
    with tempfile.TemporaryDirectory() as d, \
            Mjpegd("--recordings", d, "--max-playbacks", "1") as srv:
        check_eq(srv.state()["playbacks"], {"active": 0, "max": 1, "refused": 0}, "idle")
        m = metrics(srv)
        check_eq((m["mjpegd_playbacks_active"], m["mjpegd_playbacks_refused_total"]), (0, 0),
                 "idle metrics")
        jpegs = snapshots(srv, 4)
        t0 = 1764754567_000000
        # 240 frames 0.5 s apart: the playback lasts 2 min, far longer than the checks below.
        name = rec_writer.write_segment(d, "0", [(t0 + i * 500000, jpegs[i % 4])
                                                 for i in range(240)])
        held = open_playback(srv, f"/recordings/{name}")
        check_eq(held.read_head().status, 200, "the playback within the cap")
        check_eq(srv.state()["playbacks"], {"active": 1, "max": 1, "refused": 0}, "one playing")
        check_eq(srv.get(f"/recordings/{name}").status, 503, "a playback past the cap")
        check_eq(srv.get("/recordings").status, 503, "a listing past the cap")
        check_eq(srv.state()["playbacks"], {"active": 1, "max": 1, "refused": 2}, "two refused")
        m = metrics(srv)
        check_eq((m["mjpegd_playbacks_active"], m["mjpegd_playbacks_refused_total"]), (1, 2),
                 "metrics with one playing, two refused")
        held.close()
        check(wait_for(lambda: srv.state()["playbacks"]["active"] == 0, timeout=20),
              "the slot came back")
        check_eq(metrics(srv)["mjpegd_playbacks_active"], 0, "the gauge came back to 0")
        srv.check_fds()


if __name__ == "__main__":
    main()
