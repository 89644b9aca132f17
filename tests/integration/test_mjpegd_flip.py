#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""--flip in software (src/mjpegd/flip.c) through the real binary: a file: source flipped
losslessly (and re-encoded when its size is not whole MCUs) and the test source flipped in its
planes, each against the same source unflipped in the same server; an http:// relay and a
pipe flipped against the JPEG they carry; through /snapshot and /state. The v4l2 cases (a
camera with and without HFLIP/VFLIP) are in test_mjpegd_v4l2.py."""
import os
import subprocess
import tempfile

from harness import MULT, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, gray_pixels, mirror_diff


def make_jpeg(path, size):
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10",
                    "-frames:v", "1", "-q:v", "3", "-f", "image2", path], check=True, timeout=60 * MULT)


def snapshots(srv):
    """The newest frame of sources 0 and 1, once both have published (the capture thread sets
    /state's flip at its first frame)."""
    check(wait_for(lambda: all(s["frames_published"] > 0 for s in srv.state()["sources"]), 10.0),
          "a source published nothing")
    a, b = srv.get("/snapshot"), srv.get("/1/snapshot")
    check_eq((a.status, b.status), (200, 200), "snapshot status")
    return a.body, b.body


def check_file_flip(size, flip, lossless):
    with tempfile.TemporaryDirectory() as d:
        make_jpeg(os.path.join(d, "f001.jpg"), size)
        with Mjpegd("--source", f"file:{d}", "--fps", "5",
                    "--source", f"file:{d}", "--fps", "5", "--flip", flip) as srv:
            plain, flipped = snapshots(srv)  # after the first frames: /state knows the flip
            st = srv.state()["sources"]
            check_eq((st[0]["flip"], st[1]["flip"]), ("none", "software"), "/state flip")
            w, h, a = gray_pixels(plain)
            fw, fh, b = gray_pixels(flipped)
            check_eq((fw, fh), (w, h), "flipped size (never cropped)")
            check_eq(f"{w}x{h}", size, "decoded size")
            mirrored = mirror_diff(b, a, w, h, flip)
            same = mirror_diff(b, a, w, h, "")
            # Lossless: the coefficients moved, the picture is the mirror (IDCT rounding aside);
            # re-encoded at --quality 75: close to it.
            check(mirrored < (0.6 if lossless else 3.0), f"{size} --flip {flip}: mean diff "
                  f"{mirrored:.2f} to the mirrored original")
            check(same > 4 * mirrored + 5, f"{size} --flip {flip}: not flipped ({same:.2f} unflipped "
                  f"against {mirrored:.2f} mirrored)")
            srv.stop()
            log = srv.stderr_text()
            want = "losslessly" if lossless else "decoding and encoding again at quality 75"
            check(want in log, f"the log does not say how it flips ({want!r})")
            check(f"--flip {flip} in software" in log, "the log does not say software")


@test(timeout=120)
def test_file_source_flip_v_lossless():
    check_file_flip("320x240", "v", lossless=True)  # 240 rows: 15 MCUs of 16


@test(timeout=120)
def test_file_source_flip_v_partial_mcu_row_is_reencoded_at_full_size():
    check_file_flip("320x232", "v", lossless=False)  # 232 rows: 14.5 MCUs, as 1080 is 67.5


@test(timeout=120)
def test_file_source_flip_hv():
    check_file_flip("320x240", "hv", lossless=True)


@test(timeout=120)
def test_test_source_flip_h_in_its_planes():
    # The pattern holds still (move=1: the first position for ever), so the two sources draw
    # the same picture but for the frame number and time in the band at the top.
    spec = "test:move=1,still=1000000"
    with Mjpegd("--source", spec, "--source", spec, "--flip", "h") as srv:
        plain, flipped = snapshots(srv)
        st = srv.state()["sources"]
        check_eq((st[0]["flip"], st[1]["flip"]), ("none", "software"), "/state flip")
        w, h, a = gray_pixels(plain)
        fw, fh, b = gray_pixels(flipped)
        check_eq((fw, fh, w, h), (320, 240, 320, 240), "sizes")
        rows = range(16, h)  # below the text band (13 rows at this width)
        mirrored = mirror_diff(b, a, w, h, "h", rows)
        same = mirror_diff(b, a, w, h, "", rows)
        check(mirrored < 3.0, f"mean diff {mirrored:.2f} to the mirrored unflipped source")
        check(same > 20, f"not flipped: {same:.2f} against the unflipped source")
        # The colour bars run white to black left to right; flipped, the left edge is dark.
        left = sum(b[y * w + x] for y in rows for x in range(24, 36))
        right = sum(b[y * w + x] for y in rows for x in range(w - 36, w - 24))
        check(left < right, "the flipped picture's left edge is not the darker one")


def check_mirrored(plain, flipped, flip, what):
    w, h, a = gray_pixels(plain)
    fw, fh, b = gray_pixels(flipped)
    check_eq((fw, fh), (w, h), f"{what}: flipped size")
    mirrored = mirror_diff(b, a, w, h, flip)
    check(mirrored < 0.6, f"{what}: mean diff {mirrored:.2f} to the mirrored original")
    check(mirror_diff(b, a, w, h, "") > 4 * mirrored + 5, f"{what}: not flipped")


def wait_software(srv):
    check(wait_for(lambda: srv.state()["frames_published"] > 0 and srv.state()["flip"] == "software",
                   10.0), f"/state: {srv.state()}")


@test(timeout=120)
def test_http_relay_flip_v():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f001.jpg")
        make_jpeg(path, "320x240")
        with open(path, "rb") as f:
            jpeg = f.read()
        with Mjpegd("--source", f"file:{d}", "--fps", "10") as up:
            with Mjpegd("--source", f"http://127.0.0.1:{up.port}/stream", "--flip", "v") as relay:
                wait_software(relay)
                r = relay.get("/snapshot")
                check_eq(r.status, 200, "relay snapshot")
                check_mirrored(jpeg, r.body, "v", "http relay")


@test(timeout=120)
def test_pipe_flip_hv():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.jpg")
        make_jpeg(path, "320x240")
        with open(path, "rb") as f:
            jpeg = f.read()
        # Written before the start: the pipe source reads its first frame to learn the size.
        rfd, wfd = os.pipe()
        try:
            check(len(jpeg) < 60000, f"{len(jpeg)} bytes would not fit the pipe's buffer")
            os.write(wfd, jpeg)
            with Mjpegd("--source", "pipe:-", "--flip", "hv", stdin=rfd) as srv:
                wait_software(srv)
                r = srv.get("/snapshot")
                check_eq(r.status, 200, "pipe snapshot")
                check_mirrored(jpeg, r.body, "hv", "pipe")
                srv.stop()  # before the pipe's end, which would end the server by itself
        finally:
            os.close(rfd)
            os.close(wfd)


@test(timeout=60)
def test_flip_state_is_none_without_flip():
    with Mjpegd("--source", "test") as srv:
        check_eq(srv.state()["flip"], "none", "/state flip")


if __name__ == "__main__":
    main()
