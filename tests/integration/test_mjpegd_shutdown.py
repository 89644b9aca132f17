#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mjpegd shutdown: SIGTERM/SIGINT with clients attached exits 0 promptly and closes them."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

from harness import MULT, binary, check, check_eq, main, test, wait_for
from mjpegd_fixture import SANITIZER_RE, Mjpegd, close_all, open_idle, read_frames


def shutdown_with_clients(sig):
    srv = Mjpegd("--size", "640x480", "--fps", "30", small=False).start()
    conns = []
    try:
        viewers = []
        for path in ("/stream", "/stream", "/?action=stream", "/stream?fps=5"):
            c, r = srv.open_stream(path)
            viewers.append(c)
            conns.append(c)
            check_eq(r.status, 200, "viewer status")
        ps = read_frames(viewers, 1, 0.5 * MULT)
        check(all(p.frames >= 1 for p in ps), f"frames before shutdown: {[p.frames for p in ps]}")
        stuck = srv.connect(rcvbuf=2048)
        stuck.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        conns.append(stuck)
        conns += open_idle(srv, 3)  # idle before headers
        conns += open_idle(srv, 2, b"GET /snapshot HTTP/1.1\r\n")  # partial headers
        ka = srv.connect()
        conns.append(ka)
        check_eq(ka.request("GET /state HTTP/1.1\r\nHost: t\r\n\r\n").status, 200, "keep-alive request")
        time.sleep(0.5 * MULT)  # the stuck viewer's buffers fill
        t0 = time.monotonic()
        srv.proc.send_signal(sig)
        try:
            rc = srv.proc.wait(5 * MULT)
        except subprocess.TimeoutExpired:
            rc = None
        elapsed = time.monotonic() - t0
        check(rc is not None, f"still running {5 * MULT} s after {sig.name} with clients attached")
        check_eq(rc, 0, f"exit status after {sig.name}")
        # Every client sees its connection closed.
        for i, c in enumerate(viewers + [ka]):
            check(c.closed_within(2), f"client {i} still open after the server exited")
        srv.stop()
        srv.check_no_sanitizer_report()
        return elapsed
    finally:
        srv.stop(signal.SIGKILL)
        close_all(conns)


@test(timeout=60)
def test_sigterm_with_clients_attached_exits_0():
    shutdown_with_clients(signal.SIGTERM)


@test(timeout=60)
def test_sigint_with_clients_attached_exits_0():
    shutdown_with_clients(signal.SIGINT)


@test(timeout=60)
def test_sigterm_idle_exits_0():
    srv = Mjpegd().start()
    try:
        srv.proc.send_signal(signal.SIGTERM)
        try:
            rc = srv.proc.wait(5 * MULT)
        except subprocess.TimeoutExpired:
            rc = None
        check_eq(rc, 0, "exit status after SIGTERM with no client")
        srv.stop()
        srv.check_no_sanitizer_report()
    finally:
        srv.stop(signal.SIGKILL)


@test(timeout=60)
def test_sigterm_during_client_churn_exits_0():
    """Signal while clients connect and disconnect in a loop."""
    srv = Mjpegd().start()
    conns = []
    try:
        deadline = time.monotonic() + 1.0 * MULT
        while time.monotonic() < deadline:
            c = srv.connect()
            c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            conns.append(c)
            if len(conns) > 20:
                conns.pop(0).close(reset=True)
        srv.proc.send_signal(signal.SIGTERM)
        for _ in range(20):  # keep knocking while it shuts down
            try:
                c = srv.connect(timeout=0.5)
                c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
                conns.append(c)
            except OSError:
                break
        try:
            rc = srv.proc.wait(5 * MULT)
        except subprocess.TimeoutExpired:
            rc = None
        check_eq(rc, 0, "exit status after SIGTERM during churn")
        srv.stop()
        srv.check_no_sanitizer_report()
    finally:
        srv.stop(signal.SIGKILL)
        close_all(conns)


@test(timeout=60)
def test_listen_port_in_use_fails_cleanly():
    with Mjpegd() as srv:
        r = subprocess.run([binary("mjpegd"), "--size", "320x240", "--listen", f"127.0.0.1:{srv.port}"],
                           capture_output=True, timeout=10 * MULT)
        check(r.returncode != 0, "a second server on the same port did not fail")
        check(r.stderr, "no error message for a port in use")
        check_eq(srv.get("/state").status, 200, "the first server is unaffected")


@test(timeout=60)
def test_sighup_without_a_log_file_does_not_kill():
    with Mjpegd() as srv:
        srv.proc.send_signal(signal.SIGHUP)
        check(wait_for(lambda: "SIGHUP" in srv.stderr_text() or not srv.alive(), 10),
              "no word about the SIGHUP")
        check(srv.alive(), f"SIGHUP killed the server (status {srv.proc.poll()})")
        check_eq(srv.get("/state").status, 200, "a request after SIGHUP")


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


@test(timeout=60)
def test_sighup_reopens_the_log_file():
    """As logrotate does: move the log away, SIGHUP, and the server writes a new one."""
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "mjpegd.log")
        proc = subprocess.Popen([binary("mjpegd"), "--size", "320x240", "--listen", "127.0.0.1:0",
                                 "--log-file", log], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            check(wait_for(lambda: "listening on" in read_text(log) or proc.poll() is not None, 10),
                  f"no 'listening on' line in the log file: {read_text(log)!r}")
            check(proc.poll() is None, f"the server exited: {proc.stderr.read()!r}")
            port = int(re.search(r"listening on \S+:(\d+)", read_text(log)).group(1))
            os.rename(log, log + ".1")
            proc.send_signal(signal.SIGHUP)
            check(wait_for(lambda: "reopened" in read_text(log) or proc.poll() is not None, 10),
                  f"no new log file after SIGHUP (rotated one: {read_text(log + '.1')[-300:]!r})")
            check(proc.poll() is None, "SIGHUP killed the server")
            s = socket.create_connection(("127.0.0.1", port), timeout=10 * MULT)
            s.sendall(b"GET /state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            check(s.recv(64).startswith(b"HTTP/1.1 200 "), "no answer after the reopen")
            s.close()
            proc.send_signal(signal.SIGTERM)
            check_eq(proc.wait(10 * MULT), 0, "exit status after SIGTERM")
            check("shutting down" in read_text(log), "the shutdown was not logged to the new file")
            check("shutting down" not in read_text(log + ".1"), "logged to the rotated file")
            check(not SANITIZER_RE.search(read_text(log) + read_text(log + ".1")),
                  "a sanitizer report in the log")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()


if __name__ == "__main__":
    main()
