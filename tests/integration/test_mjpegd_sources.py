#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd file: and pipe: sources end to end through /stream, decoded by ffprobe."""
import os
import subprocess
import tempfile
import threading
import time

from harness import MULT, binary, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, ffprobe


def make_jpegs(folder, count, size="320x240"):
    """count JPEG files f001.jpg... from ffmpeg's testsrc2; returns their bytes in name order."""
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10",
                    "-frames:v", str(count), "-f", "image2", os.path.join(folder, "f%03d.jpg")],
                   check=True, timeout=60 * MULT)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".jpg"))
    check_eq(len(names), count, "JPEG files made")
    return [open(os.path.join(folder, n), "rb").read() for n in names]


def make_mjpeg_stream(seconds=3):
    """What `ffmpeg -f lavfi -i testsrc2=size=320x240:rate=10 -t 3 -f mjpeg -` writes."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10",
                        "-t", str(seconds), "-f", "mjpeg", "-"], capture_output=True, check=True,
                       timeout=60 * MULT)
    return r.stdout


@test(timeout=120)
def test_file_folder_streams_the_files_byte_for_byte():
    with tempfile.TemporaryDirectory() as d:
        files = make_jpegs(d, 5)
        with open(os.path.join(d, "zz_broken.jpg"), "wb") as f:
            f.write(b"this is not a JPEG")
        with Mjpegd("--source", f"file:{d}", "--fps", "20") as srv:
            st = srv.state()
            check_eq(st["source"], "file", "source kind")
            check_eq((st["width"], st["height"]), (320, 240), "size from the first file's SOF")
            c, r = srv.open_stream()
            check_eq(r.status, 200, "stream status")
            seen = set()
            for _ in range(12):
                _, data = c.read_part()
                check(data in files, f"a part ({len(data)} bytes) is not one of the files")
                seen.add(files.index(data))
            check(len(seen) >= 2, f"the folder is not looped: only {seen}")
            info = ffprobe(data)
            check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 320, 240), "ffprobe")
            c.close()
            srv.stop()
            check("zz_broken.jpg" in srv.stderr_text(), "the non-JPEG file is not logged")
            check_eq(srv.stderr_text().count("zz_broken.jpg"), 1, "the non-JPEG file is logged once")


@test(timeout=60)
def test_file_empty_folder_is_a_startup_error():
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([binary("mjpegd"), "--source", f"file:{d}", "--listen", "127.0.0.1:0"],
                           capture_output=True, timeout=30 * MULT)
        check(r.returncode != 0, "mjpegd started on an empty folder")
        check(b"no *.jpg or *.jpeg file" in r.stderr, f"no clear error: {r.stderr[-500:]!r}")


@test(timeout=120)
def test_pipe_fifo_stream_then_end_of_input_exits_0():
    stream = make_mjpeg_stream()
    frames = [b"\xff\xd8" + p for p in stream.split(b"\xff\xd8")[1:]]
    check(len(frames) >= 20, f"ffmpeg wrote {len(frames)} frames")
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "in.fifo")
        os.mkfifo(fifo)

        def writer():
            # Garbage first, then the MJPEG stream in odd-sized writes, looped until told to stop;
            # the pause only keeps the load low, nothing waits on it.
            with open(fifo, "wb") as f:
                f.write(b"garbage\r\n")
                while not stop.is_set():
                    for i in range(0, len(stream), 5000):
                        f.write(stream[i:i + 5000])
                        f.flush()
                        time.sleep(0.01)
                        if stop.is_set():
                            break

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        with Mjpegd("--source", f"pipe:{fifo}") as srv:
            st = srv.state()
            check_eq(st["source"], "pipe", "source kind")
            check_eq((st["width"], st["height"]), (320, 240), "size from the first frame")
            c, r = srv.open_stream()
            check_eq(r.status, 200, "stream status")
            for _ in range(5):
                _, data = c.read_part()
                check(data in frames, f"a part ({len(data)} bytes) is not one of ffmpeg's frames")
            info = ffprobe(data)
            check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 320, 240), "ffprobe")
            stop.set()
            t.join(30 * MULT)
            check(not t.is_alive(), "writer did not finish")
            srv.proc.wait(30 * MULT)
            check_eq(srv.proc.returncode, 0, "exit status after end of input")
            check("end of input" in srv.stderr_text(), "end of input not logged")
            c.close()


@test(timeout=120)
def test_pipe_stdin_from_ffmpeg():
    stream = make_mjpeg_stream()
    frames = [b"\xff\xd8" + p for p in stream.split(b"\xff\xd8")[1:]]
    ff = subprocess.Popen(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10",
                           "-t", "3", "-f", "mjpeg", "-"], stdout=subprocess.PIPE)
    try:
        p = subprocess.run([binary("mjpegd"), "--source", "pipe:-", "--listen", "127.0.0.1:0"],
                           stdin=ff.stdout, capture_output=True, timeout=60 * MULT)
        ff.stdout.close()
        check_eq(p.returncode, 0, f"exit status at end of input; stderr {p.stderr[-500:]!r}")
        check(b"capturing from pipe source at 320x240" in p.stderr, f"size not learnt: {p.stderr[-500:]!r}")
        check(b"end of input" in p.stderr, "end of input not logged")
    finally:
        ff.wait(30 * MULT)
    check(len(frames) >= 20, "ffmpeg frames")


@test(timeout=120)
def test_drop_same_frames_with_identical_files():
    with tempfile.TemporaryDirectory() as d:
        files = make_jpegs(d, 1)
        for i in range(2, 5):
            with open(os.path.join(d, f"f{i:03d}.jpg"), "wb") as f:
                f.write(files[0])
        with Mjpegd("--source", f"file:{d}", "--fps", "30", "--drop-same-frames", "5") as srv:
            c, r = srv.open_stream()
            check_eq(r.status, 200, "stream status")
            _, data = c.read_part()
            check_eq(data, files[0], "the file")
            wait_for(lambda: srv.state()["frames_dropped_by"]["same"] >= 30, timeout=30 * MULT)
            st = srv.state()
            # Every 6th frame is published anyway (5 skipped in a row at most); the two counters
            # are read one after the other, so allow two cycles of slack either way.
            same, pub = st["frames_dropped_by"]["same"], st["frames_published"]
            check(same <= 5 * (pub + 2), f"more than 5 skipped in a row: {st}")
            check(same >= 5 * (pub - 2), f"identical frames not skipped: {st}")
            m = srv.get("/metrics").body.decode()
            check('mjpegd_frames_dropped_total{reason="same"}' in m, "no same reason in /metrics")
            c.close()


if __name__ == "__main__":
    main()
