#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd http:// relay source: a second mjpegd (lost and restarted), an odd camera fixture."""
import os
import socket
import subprocess
import tempfile
import threading

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, ffprobe, read_relayed_frames


def make_jpegs(folder, n, size="320x240"):
    """n JPEG files made by ffmpeg from testsrc2; returns their bytes in name order."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate=10", "-frames:v", str(n),
                    os.path.join(folder, "f%03d.jpg")], check=True, timeout=60 * MULT)
    out = []
    for name in sorted(x for x in os.listdir(folder) if x.endswith(".jpg")):
        with open(os.path.join(folder, name), "rb") as f:
            out.append(f.read())
    return out


@test(timeout=180)
def test_relay_of_a_second_mjpegd_survives_upstream_loss_and_restart():
    with Mjpegd("--fps", "15") as up:
        port = up.port
        with Mjpegd("--source", f"http://127.0.0.1:{port}/stream") as relay:
            st = relay.state()
            check_eq((st["source"], st["width"], st["height"]), ("http", 320, 240),
                     "relay /state")
            c, head = relay.open_stream()
            check_eq(head.status, 200, "relay stream status")
            data = c.read_part()[1]
            info = ffprobe(data)
            check_eq((info["codec_name"], info["width"]), ("mjpeg", 320), "ffprobe relayed part")
            snap = up.get("/snapshot").body
            check(snap[:2] == b"\xff\xd8", "upstream snapshot")
            up.stop()
            check(wait_for(lambda: "transfer ended" in relay.stderr_text(), 30),
                  "the relay did not notice the upstream loss")
            with Mjpegd("--fps", "15", listen=f"127.0.0.1:{port}") as up2:
                before = relay.state()["frames_published"]
                check(wait_for(lambda: relay.state()["frames_published"] > before + 5, 60),
                      f"relay never recovered: {relay.state()}")
                real = c.read_part()[1]
                check_eq(ffprobe(real)["codec_name"], "mjpeg", "a frame after recovery")
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
            read_relayed_frames(relay, files)
    finally:
        cam.close()


if __name__ == "__main__":
    main()
