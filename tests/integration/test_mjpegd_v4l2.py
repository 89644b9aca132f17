#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The mjpegd binary's v4l2 source against a camera emulated by an LD_PRELOAD shim
(tests/integration/fake_v4l2_shim.c, built as build/tests/libfake_v4l2.so): the real
open/ioctl/mmap/poll path of src/mjpegd/sources/v4l2.c, end to end through /snapshot and /stream."""
import os
import subprocess
import tempfile
import time

from harness import MULT, VARIANT, binary, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, ffprobe, gray_pixels, mirror_diff

DEVICE = "/dev/video-mjpegd-fake0"


def shim():
    build = os.path.dirname(binary("mjpegd"))
    return os.path.join(build, "tests", "libfake_v4l2.so")


def make_jpeg(path, size="320x240"):
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10",
                    "-frames:v", "1", "-f", "image2", path], check=True, timeout=60 * MULT)
    with open(path, "rb") as f:
        return f.read()


def strip_dht(jpeg):
    """The JPEG without its DHT segments before the first SOS (what most UVC webcams send)."""
    out = bytearray(jpeg[:2])
    p = 2
    while p + 4 <= len(jpeg) and not (jpeg[p] == 0xFF and jpeg[p + 1] == 0xDA):
        seg = 2 + (jpeg[p + 2] << 8 | jpeg[p + 3])
        if jpeg[p + 1] != 0xC4:
            out += jpeg[p:p + seg]
        p += seg
    return bytes(out + jpeg[p:])


class FakeCamera:
    """Sets the environment the shim reads for the servers started inside the block."""

    def __init__(self, **env):
        self.env = {"LD_PRELOAD": shim(), "MJPEGD_FAKE_V4L2": DEVICE}
        if VARIANT != "default":
            # The shim is loaded before the sanitizer runtime; ASan would refuse to start.
            self.env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
        self.env.update({f"MJPEGD_FAKE_V4L2_{k.upper()}": str(v) for k, v in env.items()})
        self.saved = {}

    def __enter__(self):
        check(os.path.exists(shim()), f"{shim()} is not built (make test-bins)")
        for k, v in self.env.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v
        return self

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class started:
    """A server started while the shim's environment is set; stopped (and checked for sanitizer
    reports) at the end of the block."""

    def __init__(self, camera, *args):
        self.camera = camera
        self.srv = Mjpegd("--source", f"v4l2:{DEVICE}", *args)

    def __enter__(self):
        with self.camera:
            self.srv.start()
        return self.srv

    def __exit__(self, exc_type, exc, tb):
        self.srv.stop()
        if exc_type is None:
            self.srv.check_no_sanitizer_report()
        return False


@test(timeout=120)
def test_v4l2_mjpeg_passed_through_byte_for_byte():
    with tempfile.TemporaryDirectory() as d:
        jpeg = make_jpeg(os.path.join(d, "f.jpg"))
        with started(FakeCamera(jpeg=os.path.join(d, "f.jpg"))) as srv:
            st = srv.state()
            check_eq(st["source"], "v4l2", "source kind")
            check_eq((st["width"], st["height"]), (320, 240), "granted size")
            r = srv.get("/snapshot")
            body = r.body
            check_eq(r.status, 200, "snapshot status")
            check(body == jpeg, f"the snapshot ({len(body)} bytes) is not the camera's JPEG ({len(jpeg)})")
            c, r = srv.open_stream()
            check_eq(r.status, 200, "stream status")
            for _ in range(3):
                _, data = c.read_part()
                check(data == jpeg, "a stream part differs from the camera's JPEG")
            c.close()
            srv.stop()
            check("streaming 320x240 MJPEG" in srv.stderr_text(), "no 'streaming' log line")


@test(timeout=120)
def test_v4l2_mjpeg_without_huffman_tables_gets_them():
    with tempfile.TemporaryDirectory() as d:
        jpeg = make_jpeg(os.path.join(d, "f.jpg"))
        bare = strip_dht(jpeg)
        check(len(bare) < len(jpeg), "ffmpeg's JPEG had no DHT to strip")
        with open(os.path.join(d, "bare.jpg"), "wb") as f:
            f.write(bare)
        with started(FakeCamera(jpeg=os.path.join(d, "bare.jpg"))) as srv:
            r = srv.get("/snapshot")
            body = r.body
            check_eq(r.status, 200, "snapshot status")
            check_eq(len(body), len(bare) + 420, "one standard DHT segment inserted")
            check(b"\xff\xc4" in body[:body.index(b"\xff\xda")], "no DHT before the first SOS")
            info = ffprobe(body)
            check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 320, 240), "ffprobe")


@test(timeout=120)
def test_v4l2_flip_without_hflip_vflip_is_done_in_software():
    with tempfile.TemporaryDirectory() as d:
        jpeg = make_jpeg(os.path.join(d, "f.jpg"))
        with started(FakeCamera(jpeg=os.path.join(d, "f.jpg")), "--flip", "v") as srv:
            # Set by the capture thread at the first frame, so polled.
            check(wait_for(lambda: srv.state()["flip"] == "software", 10.0),
                  f"/state flip is {srv.state()['flip']!r}, not 'software'")
            r = srv.get("/snapshot")
            check_eq(r.status, 200, "snapshot status")
            w, h, a = gray_pixels(jpeg)
            fw, fh, b = gray_pixels(r.body)
            check_eq((fw, fh), (w, h), "flipped size")
            mirrored = mirror_diff(b, a, w, h, "v")
            check(mirrored < 0.6, f"mean diff {mirrored:.2f} to the camera's picture mirrored")
            check(mirror_diff(b, a, w, h, "") > 4 * mirrored + 5, "the picture is not flipped")
            srv.stop()
            log = srv.stderr_text()
            check("cannot flip vertically in hardware; flipping in software" in log,
                  "no warning that the camera cannot flip")
            check("--flip v in software" in log, "the log does not say software")


@test(timeout=120)
def test_v4l2_flip_with_hflip_vflip_is_left_to_the_camera():
    with tempfile.TemporaryDirectory() as d:
        jpeg = make_jpeg(os.path.join(d, "f.jpg"))
        with started(FakeCamera(jpeg=os.path.join(d, "f.jpg"), flip=1), "--flip", "hv") as srv:
            check(wait_for(lambda: srv.state()["flip"] == "hardware", 10.0),
                  f"/state flip is {srv.state()['flip']!r}, not 'hardware'")
            r = srv.get("/snapshot")
            # The fake takes the controls without flipping: a second flip in software would
            # show here as a changed picture.
            check(r.body == jpeg, "the camera's JPEG was not passed through as it is")
            srv.stop()
            check("--flip hv in hardware" in srv.stderr_text(), "the log does not say hardware")


@test(timeout=120)
def test_v4l2_yuyv_camera_granting_a_smaller_size_is_encoded_at_that_size():
    with started(FakeCamera(max="160x120"), "--size", "640x480") as srv:
        st = srv.state()
        check_eq((st["width"], st["height"]), (160, 120), "the size the driver granted")
        r = srv.get("/snapshot")
        body = r.body
        check_eq(r.status, 200, "snapshot status")
        info = ffprobe(body)
        check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 160, 120), "ffprobe")
        srv.stop()
        check("asked 640x480 YUYV, the driver granted 160x120 YUYV" in srv.stderr_text(),
              "the granted size is not logged")


@test(timeout=120)
def test_v4l2_multi_planar_nv12m_camera_is_encoded():
    """A camera with only the multi-planar API (an SoC pipeline, an HDMI bridge) sending NV12M:
    two planes per buffer, lines padded, each plane's data 4096 bytes in."""
    cam = FakeCamera(mplane=1, format="nv12m", pad=32, data_offset=4096)
    with started(cam, "--size", "320x240") as srv:
        st = srv.state()
        check_eq((st["width"], st["height"]), (320, 240), "the granted size")
        r = srv.get("/snapshot")
        check_eq(r.status, 200, "snapshot status")
        info = ffprobe(r.body)
        check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 320, 240), "ffprobe")
        # The Y plane is a left-to-right ramp (16 to 216): its columns read as such.
        gray = subprocess.run(["ffmpeg", "-v", "error", "-f", "mjpeg", "-i", "-", "-f", "rawvideo",
                               "-pix_fmt", "gray", "-"], input=r.body, capture_output=True,
                              check=True, timeout=60 * MULT).stdout
        check_eq(len(gray), 320 * 240, "decoded luma bytes")
        left = sum(gray[y * 320 + x] for y in range(240) for x in range(8)) / (240 * 8)
        right = sum(gray[y * 320 + x] for y in range(240) for x in range(312, 320)) / (240 * 8)
        check(left < 40 and right > 190, f"the luma ramp came out {left:.0f} .. {right:.0f}")
        c, r = srv.open_stream()
        check_eq(r.status, 200, "stream status")
        for _ in range(3):
            _, data = c.read_part()
            check_eq(ffprobe(data)["width"], 320, "a stream part's width")
        c.close()
        srv.stop()
        log = srv.stderr_text()
        check("streaming 320x240 NV12M with 4 buffers (multi-planar)" in log,
              f"no multi-planar 'streaming' line: {log[-2000:]!r}")


@test(timeout=120)
def test_v4l2_multi_planar_mjpeg_passed_through_byte_for_byte():
    with tempfile.TemporaryDirectory() as d:
        jpeg = make_jpeg(os.path.join(d, "f.jpg"))
        with started(FakeCamera(jpeg=os.path.join(d, "f.jpg"), mplane=1, data_offset=100)) as srv:
            r = srv.get("/snapshot")
            check_eq(r.status, 200, "snapshot status")
            check(r.body == jpeg, f"the snapshot ({len(r.body)} bytes) is not the camera's JPEG")


@test(timeout=120)
def test_v4l2_unplugged_camera_is_a_source_failure_not_a_crash():
    """After 10 frames the camera's DQBUF fails with ENODEV: the server stays up, viewers still
    get answers, and the failure is logged once by the source (not once per retry)."""
    with tempfile.TemporaryDirectory() as d:
        make_jpeg(os.path.join(d, "f.jpg"))
        with started(FakeCamera(jpeg=os.path.join(d, "f.jpg"), unplug_after=10)) as srv:
            check(wait_for(lambda: "VIDIOC_DQBUF: No such device" in srv.stderr_text(), 10.0),
                  f"the unplug is not logged: {srv.stderr_text()[-2000:]!r}")
            time.sleep(0.5)  # let the capture thread retry a few times (not a synchronisation)
            check(srv.alive(), "the server died with its camera")
            r = srv.get("/snapshot")
            check(r.status in (200, 503), f"/snapshot answered {r.status}")
            check(srv.state()["source"] == "v4l2", "/state lost the source")
            check_eq(srv.stderr_text().count("VIDIOC_DQBUF: No such device"), 1,
                     "the source's failure log lines")


@test(timeout=120)
def test_v4l2_unplugged_camera_comes_back_without_a_restart():
    """The camera fails after 10 frames and streams again on the next open (the shim's replug):
    the capture thread reopens it, /state goes retrying with the error, then ok with one restart,
    and frames are published again."""
    with tempfile.TemporaryDirectory() as d:
        make_jpeg(os.path.join(d, "f.jpg"))
        with started(FakeCamera(jpeg=os.path.join(d, "f.jpg"), unplug_after=10)) as srv:
            seen = {}

            def came_back():
                st = srv.state()
                if st["status"] == "retrying" or st["last_error"] is not None:
                    seen["error"] = st["last_error"]
                return st["restarts"] >= 1 and st["status"] == "ok"

            check(wait_for(came_back, 30.0 * MULT), f"the camera did not come back: {srv.state()}")
            check("error" not in seen or seen["error"] is None or "device" in seen["error"].lower(),
                  f"last_error does not say what failed: {seen}")
            p0 = srv.state()["frames_published"]
            check(wait_for(lambda: srv.state()["frames_published"] > p0 + 5, 30.0 * MULT),
                  "no frames after the camera came back")
            r = srv.get("/snapshot")
            check_eq(r.status, 200, "snapshot after the camera came back")
            check(srv.alive(), "the server died")


@test(timeout=120)
def test_v4l2_truncated_frames_are_dropped_and_counted_in_state_and_metrics():
    """A camera whose every MJPEG frame is cut short: nothing is published, and each drop is
    counted as captured and dropped (invalid), so a user sees why the picture is missing."""
    with tempfile.TemporaryDirectory() as d:
        jpeg = make_jpeg(os.path.join(d, "f.jpg"))
        cut = os.path.join(d, "cut.jpg")
        with open(cut, "wb") as f:
            f.write(jpeg[:len(jpeg) // 2])
        with started(FakeCamera(jpeg=cut)) as srv:
            check(wait_for(lambda: srv.state()["frames_dropped_by"]["invalid"] >= 5, 30 * MULT),
                  f"cut frames not counted: {srv.state()}")
            st = srv.state()
            check_eq((st["frames_published"], st["status"]), (0, "starting"), "nothing shown")
            check(st["frames_captured"] >= st["frames_dropped_by"]["invalid"], f"captured: {st}")
            m = srv.get("/metrics").body.decode()
            check('mjpegd_frames_dropped_total{reason="invalid"}' in m, "no invalid reason")
            check("not one complete JPEG" in srv.stderr_text(), "the drop is not logged")


@test(timeout=120)
def test_v4l2_controls_and_flip_reach_the_camera_by_name():
    """--control and --flip through the binary: set by the names v4l2-ctl uses, clamped to the
    camera's range, an unknown name listed with the camera's names, and the camera streams."""
    with tempfile.TemporaryDirectory() as d:
        make_jpeg(os.path.join(d, "f.jpg"))
        with started(FakeCamera(jpeg=os.path.join(d, "f.jpg"), controls=1), "--control",
                     "brightness=300", "--control", "no_such=1", "--flip", "h") as srv:
            log = srv.stderr_text()
            for want in ("brightness=300 is outside 0..255; using 255", "brightness=255",
                         "horizontal_flip=1", "vertical_flip=0",
                         "has no control 'no_such'; its controls: brightness, horizontal_flip, "
                         "vertical_flip"):
                check(want in log, f"{want!r} not in the log: {log}")
            check_eq(srv.get("/snapshot").status, 200, "the camera streams")


@test(timeout=60)
def test_v4l2_missing_device_is_a_startup_error():
    r = subprocess.run([binary("mjpegd"), "--source", "v4l2:/dev/no-such-video-device",
                        "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=30 * MULT)
    check(r.returncode != 0, "mjpegd started without its camera")
    check("/dev/no-such-video-device" in r.stderr, f"the error does not name the device: {r.stderr!r}")


def read_until_part(conn, want, deadline_s):
    """Reads stream parts from conn until one is want (bytes) or deadline_s (scaled) passed;
    returns whether it came. A part every second at least (live, or the no-signal one)."""
    deadline = time.monotonic() + deadline_s * MULT
    while time.monotonic() < deadline:
        if conn.read_part()[1] == want:
            return True
    return False


@test(timeout=180)
def test_v4l2_camera_plugged_in_after_start_is_waited_for_with_wait_for_source():
    """--wait-for-source with one camera that is absent at start (open fails with ENOENT, the
    shim's PRESENT_IF): the server listens at once, /state says retrying with the error,
    /snapshot and a viewer get the no-signal JPEG; once the camera is plugged in, that same
    viewer gets the camera's frames without reconnecting and /state says ok."""
    with tempfile.TemporaryDirectory() as d:
        jpeg = make_jpeg(os.path.join(d, "f.jpg"))
        plug = os.path.join(d, "plugged")
        cam = FakeCamera(jpeg=os.path.join(d, "f.jpg"), present_if=plug)
        with started(cam, "--wait-for-source") as srv:
            st = srv.state()
            check_eq(st["status"], "retrying", f"status while the camera is absent: {st}")
            check(isinstance(st["last_error"], str) and "no such file" in st["last_error"].lower(),
                  f"last_error does not say the device is missing: {st}")
            check_eq(st["source"], "v4l2", "source kind while absent")
            snap = srv.get("/snapshot")
            check_eq(snap.status, 200, "snapshot while the camera is absent")
            nosignal = snap.body
            check(nosignal[:2] == b"\xff\xd8" and nosignal != jpeg, "the no-signal snapshot")
            info = ffprobe(nosignal)
            check_eq((info["width"], info["height"]), (320, 240), "no-signal frame at --size")
            c, r = srv.open_stream()
            check_eq(r.status, 200, "stream status while absent")
            check(read_until_part(c, nosignal, 30), "the viewer got no no-signal part")
            # Retried more than once while absent: the same backoff as a later failure.
            check(wait_for(lambda: "cannot reopen" in srv.stderr_text(), 30),
                  f"no retry logged: {srv.stderr_text()[-2000:]!r}")
            check(srv.alive(), "the server died waiting for its camera")
            with open(plug, "w"):
                pass
            check(read_until_part(c, jpeg, 60), "the viewer connected before never got a camera frame")
            c.close()
            check(wait_for(lambda: srv.state()["status"] == "ok", 30),
                  f"not ok once plugged in: {srv.state()}")
            r = srv.get("/snapshot")
            check(r.status == 200 and r.body == jpeg, "the snapshot is not the camera's frame")
            srv.stop()
            check("serving no signal and retrying it" in srv.stderr_text(),
                  "the start-up failure is not logged as waited for")


@test(timeout=60)
def test_v4l2_camera_absent_at_start_without_the_flag_still_exits():
    """The default stays: the only source that cannot be opened ends the process at once."""
    with tempfile.TemporaryDirectory() as d:
        with FakeCamera(present_if=os.path.join(d, "never")):
            r = subprocess.run([binary("mjpegd"), "--source", f"v4l2:{DEVICE}",
                                "--listen", "127.0.0.1:0"],
                               capture_output=True, text=True, timeout=30 * MULT)
    check_eq(r.returncode, 1, f"exit status; stderr {r.stderr!r}")
    check(DEVICE in r.stderr and "listening on" not in r.stderr,
          f"not a start-up error naming the device: {r.stderr!r}")


if __name__ == "__main__":
    main()
