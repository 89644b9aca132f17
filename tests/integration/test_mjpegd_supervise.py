#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd source supervision: a source that fails is retried with backoff while viewers stay
connected and get the "no signal" frame; /state and /metrics say so; it comes back alone."""
import socket
import subprocess

from harness import MULT, binary, check, check_eq, main, test, wait_for
from mjpegd_fixture import Mjpegd, ffprobe


def metric(srv, line_start):
    """The value of the first /metrics sample whose line starts with line_start, or None."""
    for ln in srv.get("/metrics").body.decode().splitlines():
        if ln.startswith(line_start + " "):
            return float(ln.split()[-1])
    return None


def status(srv, i=None):
    st = srv.state()
    return st if i is None else st["sources"][i]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@test(timeout=300)
def test_relay_outage_shows_no_signal_to_connected_viewers_and_recovers():
    with Mjpegd("--fps", "15") as up:
        port = up.port
        with Mjpegd("--source", f"http://127.0.0.1:{port}/stream") as relay:
            check(wait_for(lambda: status(relay)["status"] == "ok", 30),
                  f"relay not ok: {status(relay)}")
            st = status(relay)
            check_eq((st["last_error"], st["restarts"]), (None, 0), "a fresh source")
            check_eq(metric(relay, "mjpegd_source_up"), 1.0, "source_up before the outage")
            check_eq(metric(relay, "mjpegd_source_restarts_total"), 0.0, "restarts before")
            c, head = relay.open_stream()
            check_eq(head.status, 200, "stream status")
            live = c.read_part()[1]
            up.stop()
            check(wait_for(lambda: status(relay)["status"] == "retrying", 60),
                  f"the relay never said retrying: {status(relay)}")
            st = status(relay)
            check(isinstance(st["last_error"], str) and st["last_error"],
                  f"no last_error while retrying: {st}")
            check_eq(metric(relay, "mjpegd_source_up"), 0.0, "source_up during the outage")
            # The viewer is still connected and parts keep coming: the no-signal frame, once a
            # second, one picture for the whole outage (what /snapshot shows too). Live parts
            # still in the socket buffers come first.
            snap = relay.get("/snapshot")
            check_eq(snap.status, 200, "snapshot while down")
            nosignal = snap.body
            check(nosignal[:2] == b"\xff\xd8" and nosignal != live, "the no-signal snapshot")
            for i in range(int(500 * MULT)):
                if c.read_part()[1] == nosignal:
                    break
            else:
                check(False, "the viewer never got the no-signal frame")
            for i in range(2):
                check(c.read_part()[1] == nosignal, f"part {i} after the first no-signal one")
            info = ffprobe(nosignal)
            check_eq((info["codec_name"], info["width"], info["height"]), ("mjpeg", 320, 240),
                     "ffprobe of the no-signal frame (the source's size)")
            with Mjpegd("--fps", "15", listen=f"127.0.0.1:{port}"):
                check(wait_for(lambda: status(relay)["status"] == "ok", 60),
                      f"the relay never recovered: {status(relay)}")
                st = status(relay)
                check(st["restarts"] >= 1, f"restarts not counted: {st}")
                check(isinstance(st["last_error"], str), f"last_error forgotten: {st}")
                check_eq(metric(relay, "mjpegd_source_up"), 1.0, "source_up after recovery")
                check(metric(relay, "mjpegd_source_restarts_total") >= 1, "restarts_total")
                # The same viewer gets live frames again.
                got_live = False
                for _ in range(int(200 * MULT)):
                    if c.read_part()[1] != nosignal:
                        got_live = True
                        break
                check(got_live, "the viewer kept getting the no-signal frame")
            c.close()
        check_eq(relay.returncode, 0, "relay exit status")


@test(timeout=300)
def test_second_source_down_at_start_is_retried_while_the_first_serves():
    port = free_port()
    with Mjpegd("--source", "test", "--source", f"http://127.0.0.1:{port}/stream") as srv:
        # The listening line waits for each source's first frame (here the no-signal one, which
        # comes after the status is set), but 5 s at most, which a loaded machine may overrun.
        check(wait_for(lambda: status(srv, 1)["status"] == "retrying", 30),
              f"source 1 at start: {status(srv, 1)}")
        s1 = status(srv, 1)
        check(s1["last_error"], f"no last_error: {s1}")
        check(wait_for(lambda: status(srv, 0)["status"] == "ok", 30), "source 0 does not serve")
        c, head = srv.open_stream("/1/stream")
        check_eq(head.status, 200, "stream of the down source")
        data = c.read_part()[1]
        check_eq(ffprobe(data)["width"], 320, "no-signal frame at --size")
        check_eq(metric(srv, 'mjpegd_source_up{source="1"}'), 0.0, "source_up of source 1")
        check_eq(metric(srv, 'mjpegd_source_up{source="0"}'), 1.0, "source_up of source 0")
        with Mjpegd("--fps", "15", listen=f"127.0.0.1:{port}"):
            check(wait_for(lambda: status(srv, 1)["status"] == "ok", 60),
                  f"source 1 never came up: {status(srv, 1)}")
            check(status(srv, 1)["restarts"] >= 1, "restarts of source 1")
        c.close()
    check_eq(srv.returncode, 0, "exit status")


@test(timeout=300)
def test_on_demand_source_that_is_down_sleeps_while_nobody_watches():
    port = free_port()
    with Mjpegd("--source", "test", "--source", f"http://127.0.0.1:{port}/stream",
                "--on-demand", "1") as srv:
        # Down at start and nobody watches: not retried for ever, it sleeps like an idle one.
        check(wait_for(lambda: status(srv, 1)["status"] == "idle", 60),
              f"the down source never slept: {status(srv, 1)}")
        # A viewer wakes it: the reopen fails, so it is retried and the viewer sees no signal.
        c, head = srv.open_stream("/1/stream")
        check_eq(head.status, 200, "stream of the sleeping source")
        data = c.read_part()[1]
        check_eq(ffprobe(data)["width"], 320, "the no-signal frame")
        check(wait_for(lambda: status(srv, 1)["status"] == "retrying", 60),
              f"not retrying with a viewer: {status(srv, 1)}")
        with Mjpegd("--fps", "15", listen=f"127.0.0.1:{port}"):
            check(wait_for(lambda: status(srv, 1)["status"] == "ok", 60),
                  f"source 1 never came up: {status(srv, 1)}")
            c.close()
            # The viewer left: closed again after the linger time.
            check(wait_for(lambda: status(srv, 1)["status"] == "idle", 60),
                  f"source 1 not closed once nobody watched: {status(srv, 1)}")
    check_eq(srv.returncode, 0, "exit status")


@test(timeout=120)
def test_one_source_that_cannot_open_is_still_a_startup_error():
    port = free_port()
    r = subprocess.run([binary("mjpegd"), "--source", f"http://127.0.0.1:{port}/x",
                        "--listen", "127.0.0.1:0"], capture_output=True, timeout=60 * MULT)
    check_eq(r.returncode, 1, f"exit status; stderr {r.stderr[-300:]!r}")
    check(b"cannot open source" in r.stderr, f"no clear error: {r.stderr[-300:]!r}")


@test(timeout=300)
def test_relay_of_an_upstream_started_later_is_waited_for_with_wait_for_source():
    """--wait-for-source, one http source whose upstream is not up yet (an IP camera booting
    after the server): the server listens at once, /state says retrying with the error and
    /snapshot gives the no-signal frame; once the upstream mjpegd starts, a viewer connected
    before gets its frames without reconnecting."""
    port = free_port()
    with Mjpegd("--wait-for-source", "--source", f"http://127.0.0.1:{port}/stream") as relay:
        st = status(relay)
        check_eq(st["status"], "retrying", f"status before the upstream is up: {st}")
        check(isinstance(st["last_error"], str) and st["last_error"],
              f"no last_error while waiting: {st}")
        check_eq(metric(relay, "mjpegd_source_up"), 0.0, "source_up while waiting")
        snap = relay.get("/snapshot")
        check_eq(snap.status, 200, "snapshot while waiting")
        nosignal = snap.body
        check_eq(ffprobe(nosignal)["width"], 320, "the no-signal frame at --size")
        c, head = relay.open_stream()
        check_eq(head.status, 200, "stream status while waiting")
        check_eq(c.read_part()[1], nosignal, "the first part while waiting")
        with Mjpegd("--fps", "15", listen=f"127.0.0.1:{port}"):
            got_live = False
            for _ in range(int(120 * MULT)):  # a part a second at least: 2 min at most
                if c.read_part()[1] != nosignal:
                    got_live = True
                    break
            check(got_live, "the viewer connected before never got an upstream frame")
            check(wait_for(lambda: status(relay)["status"] == "ok", 60),
                  f"not ok once the upstream is up: {status(relay)}")
            check_eq(metric(relay, "mjpegd_source_up"), 1.0, "source_up once it is up")
            c.close()
        relay.stop()
    check_eq(relay.returncode, 0, "exit status")


@test(timeout=300)
def test_state_shows_the_size_a_source_opened_at_after_start_up():
    """--wait-for-source, an upstream at another size than --size that comes up later: /state
    said --size while waiting, and says the upstream's size once the relay opened it (it kept
    saying --size over frames of another size)."""
    port = free_port()
    with Mjpegd("--wait-for-source", "--source", f"http://127.0.0.1:{port}/stream") as relay:
        st = status(relay)
        check_eq((st["width"], st["height"]), (320, 240), f"size while waiting: {st}")
        with Mjpegd("--size", "160x120", "--fps", "15", listen=f"127.0.0.1:{port}"):
            check(wait_for(lambda: status(relay)["status"] == "ok", 60),
                  f"not ok once the upstream is up: {status(relay)}")
            check_eq(ffprobe(relay.get("/snapshot").body)["width"], 160, "the relayed frame")
            st = status(relay)
            check_eq((st["width"], st["height"]), (160, 120), f"top-level size: {st}")
            s0 = st["sources"][0] if "sources" in st else st
            check_eq((s0["width"], s0["height"]), (160, 120), f"source size: {s0}")
        relay.stop()
    check_eq(relay.returncode, 0, "exit status")


@test(timeout=60)
def test_malformed_url_with_wait_for_source_is_still_a_startup_error():
    """A bad spec (EINVAL) is a configuration error: waiting would never mend it."""
    r = subprocess.run([binary("mjpegd"), "--wait-for-source", "--source", "http:/no-slashes",
                        "--listen", "127.0.0.1:0"], capture_output=True, timeout=30 * MULT)
    check_eq(r.returncode, 1, f"exit status; stderr {r.stderr[-300:]!r}")
    check(b"Invalid argument" in r.stderr and b"listening on" not in r.stderr,
          f"no clear error: {r.stderr[-300:]!r}")


if __name__ == "__main__":
    main()
