#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd sources: file: folders, pipe:- streams, http:// relays, failure supervision."""
import os
import socket
import subprocess
import tempfile
import threading

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, ServerDied, ffprobe


def make_jpegs(folder, n, size="320x240"):
    """n JPEG files f000.jpg.. made by ffmpeg from testsrc2; returns their bytes in name order."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate=10", "-frames:v", str(n),
                    os.path.join(folder, "f%03d.jpg")], check=True, timeout=60 * MULT)
    names = sorted(x for x in os.listdir(folder) if x.endswith(".jpg"))
    check_eq(len(names), n, "files written by ffmpeg")
    out = []
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            out.append(f.read())
    return out


def mjpeg_bytes(n, size="320x240"):
    r = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                        f"testsrc2=size={size}:rate=25", "-frames:v", str(n), "-f", "mjpeg", "-"],
                       check=True, capture_output=True, timeout=60 * MULT)
    return r.stdout


@test(timeout=90)
def test_file_folder_streams_each_file_byte_for_byte_in_name_order():
    with tempfile.TemporaryDirectory() as d:
        files = make_jpegs(d, 5)
        with open(os.path.join(d, "zz-notes.jpg"), "wb") as f:
            f.write(b"not a jpeg at all\n")
        with open(os.path.join(d, "readme.txt"), "wb") as f:
            f.write(b"ignored: not *.jpg\n")
        with Mjpegd("--source", f"file:{d}") as srv:
            st = srv.state()
            check_eq((st["source"], st["width"], st["height"]), ("file", 320, 240), "/state")
            c, head = srv.open_stream()
            check_eq(head.status, 200, "stream status")
            got = [c.read_part()[1] for _ in range(12)]
            c.close()
            idx = []
            for i, data in enumerate(got):
                check(data in files, f"part {i} ({len(data)} bytes) is not one of the files")
                idx.append(files.index(data))
            check(len(set(idx)) >= 3, f"only files {sorted(set(idx))} were sent: {idx}")
            info = ffprobe(got[-1])
            check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 320, 240),
                     "ffprobe of a part")
            check(wait_for(lambda: "zz-notes.jpg: not a JPEG" in srv.stderr_text(), 10),
                  "the non-JPEG file was not logged")
            check_eq(srv.stderr_text().count("zz-notes.jpg"), 1, "times the bad file was logged")


@test(timeout=60)
def test_file_single_jpeg_and_errors():
    with tempfile.TemporaryDirectory() as d:
        files = make_jpegs(d, 1, size="160x120")
        with Mjpegd("--source", f"file:{d}/f001.jpg") as srv:
            check_eq(srv.get("/snapshot").body, files[0], "snapshot of a one-file source")
            check_eq(srv.state()["width"], 160, "width from the SOF")
        empty = os.path.join(d, "empty")
        os.mkdir(empty)
        for spec, needle in ((f"file:{empty}", "no JPEG file"), (f"file:{d}/missing.jpg", "missing")):
            srv = Mjpegd("--source", spec, start_timeout=10)
            try:
                srv.start()
                check(False, f"{spec}: the server started")
            except ServerDied:
                pass
            finally:
                srv.stop()
            check(srv.returncode not in (0, None), f"{spec}: exit status {srv.returncode}")
            check(needle in srv.stderr_text(), f"{spec}: no '{needle}' in {srv.stderr_text()!r}")


@test(timeout=120)
def test_pipe_stdin_ffmpeg_mjpeg_split_and_clean_end():
    stream = mjpeg_bytes(40)
    soi = [i for i in range(len(stream) - 1) if stream[i:i + 3] == b"\xff\xd8\xff"]
    frames = [stream[a:b] for a, b in zip(soi, soi[1:] + [len(stream)])]
    check_eq(len(frames), 40, "frames in ffmpeg's output")
    rfd, wfd = os.pipe()
    w = os.fdopen(wfd, "wb", buffering=0)
    # The first frame is in the pipe before the server starts: it learns the size from it.
    w.write(b"garbage before the first frame\r\n" + frames[0])
    srv = Mjpegd("--source", "pipe:-", stdin=rfd)
    try:
        srv.start()
        os.close(rfd)
        st = srv.state()
        check_eq((st["source"], st["width"], st["height"]), ("pipe", 320, 240), "/state")
        c, head = srv.open_stream()
        check_eq(head.status, 200, "stream status")
        parts = []
        reader_error = []

        def read_all():
            try:
                while True:
                    parts.append(c.read_part()[1])
            except Exception as e:  # the end of the stream
                reader_error.append(e)

        t = threading.Thread(target=read_all, daemon=True)
        t.start()
        check(wait_for(lambda: len(parts) >= 1, 10), "no part from the first frame")
        # The rest in odd-sized chunks, so frames are cut everywhere.
        rest = b"".join(frames[1:])
        for off in range(0, len(rest), 1777):
            w.write(rest[off:off + 1777])
        w.close()
        check(wait_for(lambda: srv.proc.poll() is not None, 20), "the server did not end at EOF")
        check_eq(srv.stop(), 0, "exit status at the end of input")
        t.join(10 * MULT)
        check("source ended" in srv.stderr_text(), "no 'source ended' log line")
        check(len(parts) >= 1, "no parts")
        for i, p in enumerate(parts):
            check(p in frames, f"part {i} ({len(p)} bytes) is not one of ffmpeg's frames")
        info = ffprobe(parts[-1])
        check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 320, 240),
                 "ffprobe of a part")
    finally:
        srv.stop()
        try:
            w.close()
        except OSError:
            pass


@test(timeout=60)
def test_pipe_end_before_any_frame_is_a_startup_error():
    rfd, wfd = os.pipe()
    os.write(wfd, b"no jpeg here")
    os.close(wfd)
    srv = Mjpegd("--source", "pipe:-", stdin=rfd)
    try:
        srv.start()
        check(False, "the server started")
    except ServerDied:
        pass
    finally:
        os.close(rfd)
        srv.stop()
    check(srv.returncode not in (0, None), f"exit status {srv.returncode}")
    check("end of input before the first frame" in srv.stderr_text(), srv.stderr_text())


@test(timeout=120)
def test_source_loss_shows_no_signal_and_recovers_with_viewer_connected():
    import shutil
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "cam")
        os.mkdir(src)
        files = make_jpegs(src, 3)
        with Mjpegd("--source", f"file:{src}", "--fps", "10") as srv:
            c, head = srv.open_stream()
            check_eq(head.status, 200, "stream status")
            check(c.read_part()[1] in files, "first part is not a file")
            check(wait_for(lambda: srv.state()["status"] == "ok", 10), "status never ok")
            hold = os.path.join(d, "hold")
            shutil.move(src, hold)  # the source vanishes: every read fails
            check(wait_for(lambda: srv.state()["status"] == "no_signal", 20),
                  f"status never no_signal: {srv.state()}")
            st = srv.state()
            check(st["last_error"] is not None and "failed" in st["last_error"], f"{st}")
            # The viewer stays connected and gets the no-signal frame (a JPEG of the same size).
            nosignal = None
            for _ in range(400):
                data = c.read_part()[1]
                if data not in files:
                    nosignal = data
                    break
            check(nosignal is not None, "no no-signal frame reached the viewer")
            info = ffprobe(nosignal)
            check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 320, 240),
                     "ffprobe of the no-signal frame")
            m = srv.get("/metrics").body.decode()
            check("mjpegd_source_up 0" in m, "mjpegd_source_up is not 0 during the outage")
            shutil.move(hold, src)  # back: the backoff reopens it
            check(wait_for(lambda: srv.state()["status"] == "ok", 30),
                  f"status never ok again: {srv.state()}")
            got_real = False
            for _ in range(400):
                if c.read_part()[1] in files:
                    got_real = True
                    break
            check(got_real, "the viewer got no real frame after recovery")
            check(srv.state()["restarts"] >= 1, f"restarts: {srv.state()}")
            m = srv.get("/metrics").body.decode()
            check("mjpegd_source_up 1" in m, "mjpegd_source_up is not 1 after recovery")
            check("mjpegd_source_restarts_total 1" in m or "mjpegd_source_restarts_total 2" in m,
                  "restarts metric")
            c.close()
        check_eq(srv.returncode, 0, "exit status after SIGTERM")


@test(timeout=60)
def test_drop_same_frames_skips_repeats_up_to_n():
    with tempfile.TemporaryDirectory() as d:
        files = make_jpegs(d, 1)
        with Mjpegd("--source", f"file:{d}", "--fps", "30", "--drop-same-frames", "5") as srv:
            check(wait_for(lambda: srv.state()["frames_dropped_by"]["same"] >= 10, 20),
                  f"no same-frame drops: {srv.state()}")
            st = srv.state()
            # Every sixth frame goes out: at most 5 skipped in a row.
            check(st["frames_published"] * 5 + 5 >= st["frames_dropped_by"]["same"],
                  f"more than 5 skipped per published frame: {st}")
            check(st["frames_published"] >= 2, f"{st}")
            check_eq(srv.get("/snapshot").body, files[0], "snapshot")
        with Mjpegd("--source", f"file:{d}", "--fps", "30") as srv:
            check(wait_for(lambda: srv.state()["frames_published"] >= 10, 20), "no frames")
            check_eq(srv.state()["frames_dropped_by"]["same"], 0, "drops with the option off")


def read_parts_until(c, pred, limit=2000):
    """Reads parts until pred(data) is true; returns that part, or None after limit parts."""
    for _ in range(limit):
        data = c.read_part()[1]
        if pred(data):
            return data
    return None


@test(timeout=180)
def test_relay_of_a_second_mjpegd_survives_upstream_loss_and_restart():
    with Mjpegd("--fps", "15") as up:
        port = up.port
        with Mjpegd("--source", f"http://127.0.0.1:{port}/stream") as relay:
            st = relay.state()
            check_eq((st["source"], st["width"], st["height"], st["status"]),
                     ("http", 320, 240, "ok"), "relay /state")
            c, head = relay.open_stream()
            check_eq(head.status, 200, "relay stream status")
            data = c.read_part()[1]
            info = ffprobe(data)
            check_eq((info["codec_name"], info["width"]), ("mjpeg", 320), "ffprobe relayed part")
            snap = up.get("/snapshot").body
            check(snap[:2] == b"\xff\xd8", "upstream snapshot")
            up.stop()
            check(wait_for(lambda: relay.state()["status"] == "no_signal", 30),
                  f"relay status never no_signal: {relay.state()}")
            check(relay.state()["last_error"] is not None, "no last_error")
            # Still connected: no-signal frames arrive (grey, decodable).
            ns = c.read_part()[1]
            check_eq(ffprobe(ns)["codec_name"], "mjpeg", "no-signal frame")
            with Mjpegd("--fps", "15", listen=f"127.0.0.1:{port}") as up2:
                check(wait_for(lambda: relay.state()["status"] == "ok", 60),
                      f"relay never recovered: {relay.state()}")
                real = read_parts_until(c, lambda d: d != ns)
                check(real is not None, "no real frame after recovery")
                check(relay.state()["restarts"] >= 1, "restarts not counted")
            c.close()
        check_eq(relay.returncode, 0, "relay exit status")


class CameraFixture:
    """A bad camera on 127.0.0.1: boundary with leading --, parts with and without
    Content-Length, a truncated part, an oversized part, ESP32-style CRLFs."""

    def __init__(self, frames):
        self.frames = frames
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self.talk, args=(conn,), daemon=True).start()

    def talk(self, conn):
        b = b"--123456789000000000000987654321"
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;"
                         b"boundary=" + b + b"\r\n\r\n")
            i = 0
            while not self.stop.is_set():
                f = self.frames[i % len(self.frames)]
                kind = i % 4
                if kind == 0:  # ESP32: extra CRLFs, lowercase headers
                    part = (b"\r\n" + b + b"\r\ncontent-type: image/jpeg\r\ncontent-length: %d"
                            b"\r\n\r\n" % len(f) + f + b"\r\n\r\n")
                elif kind == 1:  # no Content-Length
                    part = b + b"\r\nContent-Type: image/jpeg\r\n\r\n" + f + b"\r\n"
                elif kind == 2:  # truncated: announces more than it sends
                    part = (b + b"\r\nContent-Length: %d\r\n\r\n" % (len(f) + 500) +
                            f[:len(f) // 2] + b"\r\n")
                else:  # oversized (over the 8 MiB cap), then a normal one
                    big = 9 << 20
                    part = (b + b"\r\nContent-Length: %d\r\n\r\n" % big + b"\0" * big + b"\r\n" +
                            b + b"\r\nContent-Length: %d\r\n\r\n" % len(f) + f + b"\r\n")
                conn.sendall(part)
                i += 1
                self.stop.wait(0.02)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@test(timeout=180)
def test_relay_of_a_camera_with_odd_framing_passes_only_whole_jpegs():
    with tempfile.TemporaryDirectory() as d:
        files = make_jpegs(d, 4)
    cam = CameraFixture(files)
    try:
        with Mjpegd("--source", f"http://user:pw@127.0.0.1:{cam.port}/video") as relay:
            c, head = relay.open_stream()
            check_eq(head.status, 200, "stream status")
            seen = set()
            for i in range(40):
                data = c.read_part()[1]
                check(data in files, f"part {i} ({len(data)} bytes) is not a whole camera frame")
                seen.add(files.index(data))
            check(len(seen) >= 2, f"only frames {seen} came through")
            c.close()
    finally:
        cam.close()


if __name__ == "__main__":
    main()
